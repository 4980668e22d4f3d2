"""Starts that do not care about units (gmmlib.starts): whitening, k-means, Ward's tree, and
the fits they lead to, which transform with the data."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import model_covariance_matrices
from hypothesis import given
from hypothesis import strategies as st
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SklearnMixture

from gmmlib import SKLEARN_TYPES, GaussianMixture, starts
from gmmlib.mixture import INIT_METHODS
from gmmlib.parsimonious import full_covariances

seeds = st.integers(0, 2**31 - 1)


def clusters(seed: int, n: int = 150, d: int = 3) -> np.ndarray:
    """Three overlapping elongated clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(3, d))
    parts = [c + rng.normal(size=(n // 3, d)) @ rng.normal(size=(d, d)) for c in centres]
    return np.vstack(parts)


def test_whitened_rows_have_zero_mean_and_unit_covariance():
    X = clusters(0) * [1.0, 1e3, 1e-3] + 1e4
    Z = starts.whiten(X)
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-6)  # 1e4 + 1e-3 x: 1e-9 is rounding
    assert np.allclose(Z.T @ Z / len(Z), np.eye(3), atol=1e-6)


def test_whitening_weighs_rows_and_drops_flat_directions():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=50), np.full(50, 7.0)])
    w = rng.uniform(0.5, 2.0, size=50)
    Z = starts.whiten(X, w)
    assert Z.shape == (50, 1)  # the constant column has no spread
    assert np.isclose(np.average(Z[:, 0] ** 2, weights=w), 1.0)
    assert starts.whiten(np.ones((5, 2))).shape == (5, 1)  # every row the same point


def test_whitening_keeps_float32():
    X = clusters(2).astype(np.float32)
    assert starts.whiten(X).dtype == np.float32


UNIT_FREE = [init for init in INIT_METHODS if init not in ("kmeans", "k-means++")]


@given(seed=seeds, init=st.sampled_from(UNIT_FREE))
def test_no_start_depends_on_the_units_or_on_an_invertible_linear_map(seed, init):
    """The starting responsibilities of X @ A + b are those of X, for every init but
    scikit-learn's k-means and k-means++, which cluster the raw columns."""
    rng = np.random.default_rng(seed)
    X = clusters(seed)
    A = rng.normal(size=(3, 3)) * rng.uniform(1e-3, 1e3, size=3)
    Y = X @ A + rng.normal(scale=1e3, size=3)
    model = GaussianMixture(3, init_params=init)
    before = model._initial_resp(X, np.random.RandomState(seed))
    after = model._initial_resp(Y, np.random.RandomState(seed))
    np.testing.assert_allclose(after, before, atol=1e-12)


def test_the_start_ignores_a_column_with_large_numbers():
    """Two groups told apart by the first column only; the second is noise in other units.
    On the raw columns k-means splits the noise; on whitened data it finds the groups."""
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 100)
    X = np.column_stack([labels * 10 + rng.normal(size=200), rng.normal(scale=1e3, size=200)])
    model = GaussianMixture(2, init_params="whitened-kmeans", random_state=0).fit(X)
    assert adjusted_rand_score(labels, model.predict(X)) == 1.0
    for raw in (  # k-means on the raw columns
        SklearnMixture(2, random_state=0).fit(X),
        GaussianMixture(2, init_params="kmeans", random_state=0).fit(X),
    ):
        assert adjusted_rand_score(labels, raw.predict(X)) < 0.5


def fitted(X, covariance_type, init):
    return GaussianMixture(
        3, covariance_type=covariance_type, init_params=init, reg_covar=0.0, random_state=5
    ).fit(X)


def matrices(model) -> np.ndarray:
    """A fitted model's covariances as (K, d, d) matrices, for any covariance type."""
    if model.covariance_type in SKLEARN_TYPES:
        return model_covariance_matrices(model)
    return full_covariances(model.covariance_type, model.covariances_, model.n_components)


def assert_transformed(before, after, A, b):
    """``after`` is ``before`` seen through x -> x A + b."""
    np.testing.assert_allclose(after.weights_, before.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(after.means_, before.means_ @ A + b, rtol=1e-6, atol=1e-6)
    expected = np.swapaxes(A, 0, 1) @ matrices(before) @ A
    np.testing.assert_allclose(matrices(after), expected, rtol=1e-6, atol=1e-8)


def affine_map(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=(3, 3)) + 2 * np.eye(3)


def column_scales(rng: np.random.Generator) -> np.ndarray:
    return np.diag(10.0 ** rng.uniform(-3, 3, size=3))


def rotation_and_unit(rng: np.random.Generator) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return 10.0 ** rng.uniform(-3, 3) * Q


#: Which maps each model is closed under: full and tied under any invertible map, the
#: diagonal ones under a rescaling of the columns, constrained shapes or orientations under
#: a rotation and a change of unit. EVE and VVE are left out: their M-step starts its
#: search for the common orientation from D = I, as mclust's does, and so depends on the axes.
EQUIVARIANCE = [
    *[(t, affine_map) for t in ["full", "tied", "VVV", "EEE"]],
    *[(t, column_scales) for t in ["diag", "VVI", "EEI", "VEI", "EVI"]],
    *[(t, rotation_and_unit) for t in ["spherical", "EII", "VEV", "EEV", "EVV"]],
]


# random_from_data starts from single points, whose covariances only reg_covar keeps
# positive definite; the start itself is covered by the test above
@pytest.mark.parametrize(("covariance_type", "draw_map"), EQUIVARIANCE)
@given(seed=seeds, init=st.sampled_from(["whitened-kmeans", "hc"]))
def test_a_fit_of_transformed_data_is_the_transformed_fit(covariance_type, draw_map, seed, init):
    """Fitting X @ A + b gives the fit of X seen through x -> x A + b (reg_covar = 0)."""
    rng = np.random.default_rng(seed)
    X = clusters(seed)
    A = draw_map(rng)
    b = rng.normal(scale=100, size=3)
    before, after = fitted(X, covariance_type, init), fitted(X @ A + b, covariance_type, init)
    assert_transformed(before, after, A, b)


def test_ward_partitions_match_scipy_and_are_nested():
    X = clusters(4)
    partitions = starts.hierarchical_partitions(X, [1, 2, 3, 5, 8])
    reference = linkage(starts.whiten(X), method="ward")
    for k, labels in partitions.items():
        assert sorted(set(labels)) == list(range(k))
        assert adjusted_rand_score(labels, fcluster(reference, k, criterion="maxclust")) == 1.0
    for small, large in [(2, 3), (3, 5), (5, 8)]:  # each cut refines the one before
        pairs = set(zip(partitions[large], partitions[small]))
        assert len({fine for fine, _ in pairs}) == len(pairs)


def test_ward_subsamples_large_data_and_says_which_rows_start():
    X = clusters(5, n=300)
    labels = starts.hierarchical_partitions(X, [3], seed=7, max_rows=100)[3]
    assert (labels >= 0).sum() == 100 and set(labels[labels >= 0]) == {0, 1, 2}
    again = starts.hierarchical_partitions(X, [3], seed=7, max_rows=100)[3]
    np.testing.assert_array_equal(labels, again)
    other = starts.hierarchical_partitions(X, [3], seed=8, max_rows=100)[3]
    assert not np.array_equal(labels >= 0, other >= 0)


def test_ward_sample_follows_the_weights():
    X = clusters(6, n=300)
    w = np.r_[np.full(150, 1e-6), np.ones(150)]
    labels = starts.hierarchical_partitions(X, [2], seed=0, sample_weight=w, max_rows=50)[2]
    assert (labels[150:] >= 0).sum() >= 45


def test_a_cut_into_more_clusters_than_rows_is_refused():
    with pytest.raises(ValueError, match="between 1 and 5"):
        starts.hierarchical_partitions(np.arange(10.0).reshape(5, 2), [6])


def test_hc_start_fits_and_zero_weight_rows_take_no_part():
    X = clusters(7)
    w = np.ones(len(X))
    w[:10] = 0
    model = GaussianMixture(3, init_params="hc", random_state=0).fit(X, sample_weight=w)
    dropped = GaussianMixture(3, init_params="hc", random_state=0).fit(X[10:])
    np.testing.assert_allclose(model.means_, dropped.means_, rtol=1e-10)
