"""plot_decision_regions on a fitted k-means: its regions are the centres' Voronoi cells."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.cluster import KMeans

from gmmlib import plotting
from gmmlib.datasets import stretched_blobs


@pytest.fixture(scope="module")
def fitted():
    X = stretched_blobs()[0]
    return KMeans(4, n_init=1, random_state=0).fit(X), X


def test_kmeans_regions_are_the_voronoi_cells_of_its_centres(fitted):
    kmeans, X = fitted
    _, ax = plt.subplots()
    drawn = plotting.plot_decision_regions(kmeans, X, ax=ax, resolution=40)
    np.testing.assert_allclose(drawn.centres.get_offsets(), kmeans.cluster_centers_)
    np.testing.assert_array_equal(drawn.points.get_array(), kmeans.labels_)
    np.testing.assert_allclose(drawn.regions.levels, np.arange(5) - 0.5)
    np.testing.assert_allclose(drawn.boundaries.levels, [0.5, 1.5, 2.5])
    # The borders drawn lie on the Voronoi edges: each vertex is (to one grid step) as
    # far from its nearest centre as from the second nearest.
    step = np.hypot(*(1.2 * np.ptp(X, axis=0) / 39))
    vertices = np.vstack([path.vertices for path in drawn.boundaries.get_paths()])
    assert len(vertices) > 20
    distances = np.sort(
        np.linalg.norm(vertices[:, None] - kmeans.cluster_centers_, axis=-1), axis=1
    )
    assert np.all(distances[:, 1] - distances[:, 0] <= step)
    plt.close("all")


def test_kmeans_regions_never_fit_the_model(fitted):
    kmeans, X = fitted
    centres = kmeans.cluster_centers_.copy()
    plotting.plot_decision_regions(kmeans, X[:50], resolution=10)
    np.testing.assert_array_equal(kmeans.cluster_centers_, centres)
    plt.close("all")


def test_unfitted_kmeans_is_refused_with_a_clear_message(fitted):
    _, X = fitted
    with pytest.raises(ValueError, match="fit the model before plotting"):
        plotting.plot_decision_regions(KMeans(3), X)


def test_kmeans_on_three_features_is_refused(fitted):
    _, X = fitted
    X3 = np.column_stack([X, X[:, 0]])
    kmeans = KMeans(2, n_init=1, random_state=0).fit(X3)
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_decision_regions(kmeans, X)
