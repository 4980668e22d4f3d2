"""gmmlib.datasets: the seeded data sets the chapters use."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons

from gmmlib import datasets


def test_blobs_is_make_blobs_with_columns_swapped():
    X, y = datasets.blobs()
    X_ref, y_ref = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    assert X.shape == (400, 2)
    np.testing.assert_array_equal(X, X_ref[:, ::-1])
    np.testing.assert_array_equal(y, y_ref)


def test_blobs_passes_its_parameters_on():
    X, y = datasets.blobs(150, centers=3, cluster_std=1.5, random_state=7)
    X_ref, y_ref = make_blobs(n_samples=150, centers=3, cluster_std=1.5, random_state=7)
    np.testing.assert_array_equal(X, X_ref[:, ::-1])
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize(("n_samples", "stretch_seed"), [(400, 13), (1250, 15)])
def test_stretched_blobs_maps_blobs_through_the_seeded_matrix(n_samples, stretch_seed):
    X, y = datasets.stretched_blobs(n_samples, stretch_seed=stretch_seed)
    X_blobs, y_blobs = datasets.blobs(n_samples)
    expected = X_blobs @ np.random.RandomState(stretch_seed).randn(2, 2)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y, y_blobs)


def test_stretched_blobs_default_is_the_handbook_example():
    X, _ = datasets.stretched_blobs()
    X_ref, _ = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    np.testing.assert_allclose(X, X_ref[:, ::-1] @ np.random.RandomState(13).randn(2, 2))


def test_moons_is_make_moons():
    X, y = datasets.moons()
    X_ref, y_ref = make_moons(200, noise=0.05, random_state=0)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X2, _ = datasets.moons(50, noise=0.2, random_state=3)
    np.testing.assert_array_equal(X2, make_moons(50, noise=0.2, random_state=3)[0])


@pytest.mark.parametrize("make", [datasets.blobs, datasets.stretched_blobs, datasets.moons])
def test_same_seed_same_data(make):
    X1, y1 = make()
    X2, y2 = make()
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("make", [datasets.blobs, datasets.stretched_blobs, datasets.moons])
@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True])
def test_bad_n_samples_is_refused(make, bad):
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        make(bad)


def test_gaussian_clusters_shapes_and_seed():
    from gmmlib.datasets import gaussian_clusters

    X, y = gaussian_clusters(500, 5, 3, random_state=1)
    assert X.shape == (500, 5) and y.shape == (500,)
    assert set(np.unique(y)) == {0, 1, 2}
    np.testing.assert_array_equal(X, gaussian_clusters(500, 5, 3, random_state=1)[0])
    assert not np.array_equal(X, gaussian_clusters(500, 5, 3, random_state=2)[0])


def test_gaussian_clusters_with_a_set_condition_number():
    from gmmlib.datasets import gaussian_clusters

    X, y = gaussian_clusters(30_000, 6, 2, condition=50.0, separation=0.0, random_state=3)
    for k in range(2):
        eigenvalues = np.linalg.eigvalsh(np.cov(X[y == k], rowvar=False))
        assert 40 < eigenvalues[-1] / eigenvalues[0] < 60  # 50, up to sampling noise
        covariance = np.cov(X[y == k], rowvar=False)
        assert np.abs(covariance - np.diag(np.diag(covariance))).max() > 0.1  # tilted
    with pytest.raises(ValueError, match="condition"):
        gaussian_clusters(10, 2, 2, condition=0.5)
    with pytest.raises(ValueError, match="separation"):
        gaussian_clusters(10, 2, 2, separation=-1.0)
