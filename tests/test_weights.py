"""Sample weights: a weight counts how often a row is repeated."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from gmmlib import GaussianMixture
from gmmlib._covariance import COVARIANCE_TYPES, covariance_matrices
from gmmlib.datasets import gaussian_clusters

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("HYPOTHESIS_EXAMPLES", 25)), deadline=None
)
PARAMETERS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def fit(X, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**params).fit(X, sample_weight=sample_weight)


def assert_same_model(a, b, rtol=1e-10):
    """The parameters agree to ``rtol`` of their largest entry. The precisions' Cholesky
    factors are computed from the covariances, which amplifies their rounding by up to the
    condition number (a component on two points in the plane has one of 1e7), so they are
    held to ``rtol`` times it."""
    matrices = covariance_matrices(b.covariances_, b.covariance_type, *b.means_.shape)
    condition = float(np.linalg.cond(matrices).max())
    for name in PARAMETERS:
        expected = getattr(b, name)
        scale = np.abs(expected).max() * (condition if name == "precisions_cholesky_" else 1.0)
        np.testing.assert_allclose(
            getattr(a, name), expected, rtol=0, atol=rtol * scale, err_msg=name
        )
    assert a.n_iter_ == b.n_iter_


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++"]),
)
def test_integer_weights_are_repeated_rows(seed, covariance_type, init_params):
    """From the k-means and k-means++ starts, which weigh the rows; "random" and
    "random_from_data" draw rows, so repeated rows change the draw itself."""
    X = gaussian_clusters(90, 2, 3, random_state=seed)[0]
    counts = np.random.RandomState(seed).randint(1, 4, size=len(X))
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=seed,
        max_iter=20,
        tol=0.0,
    )
    assert_same_model(fit(X, counts, **params), fit(np.repeat(X, counts, axis=0), **params))


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++", "random_from_data"]),
)
def test_zero_weights_remove_rows(seed, covariance_type, init_params):
    X = gaussian_clusters(90, 2, 3, random_state=seed)[0]
    keep = np.random.RandomState(seed).rand(len(X)) < 0.7
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=seed,
        max_iter=20,
        tol=0.0,
    )
    weighted = fit(X, keep.astype(float), **params)
    assert_same_model(weighted, fit(X[keep], **params))
    # the left-out rows are still scored and predicted
    assert weighted.predict(X).shape == (len(X),)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_all_weights_changes_nothing(covariance_type):
    X = gaussian_clusters(120, 2, 3, random_state=1)[0]
    weights = np.random.RandomState(1).uniform(0.2, 3, size=len(X))
    params = dict(
        n_components=3, covariance_type=covariance_type, random_state=0, max_iter=30, tol=0.0
    )
    assert_same_model(fit(X, 7.5 * weights, **params), fit(X, weights, **params), rtol=1e-9)


def test_weights_move_the_fit():
    """Not a no-op: weighting one cluster up raises its component's weight."""
    X, labels = gaussian_clusters(300, 2, 3, random_state=2)
    weights = np.where(labels == 0, 5.0, 1.0)
    plain = fit(X, n_components=3, random_state=0)
    weighted = fit(X, weights, n_components=3, random_state=0)
    component = np.bincount(weighted.predict(X[labels == 0])).argmax()
    assert weighted.weights_[component] > plain.weights_.max()


def test_bic_counts_weights_as_rows():
    X = gaussian_clusters(150, 2, 2, random_state=3)[0]
    counts = np.random.RandomState(3).randint(1, 4, size=len(X))
    model = fit(X, counts, n_components=2, random_state=0)
    repeated = np.repeat(X, counts, axis=0)
    assert model.bic(X, sample_weight=counts) == pytest.approx(model.bic(repeated), rel=1e-12)
    assert model.aic(X, sample_weight=counts) == pytest.approx(model.aic(repeated), rel=1e-12)
    assert model.score(X, sample_weight=counts) == pytest.approx(model.score(repeated), rel=1e-12)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(50), "must not be negative"),
        (np.r_[np.nan, np.ones(49)], "NaN or infinity"),
        (np.ones(49), r"shape \(49,\), but X has 50 rows"),
        (np.zeros(50), "zero everywhere"),
        (
            np.r_[1.0, np.zeros(49)],
            "larger than the number of samples \\(1 with positive weight\\)",
        ),
        ("heavy", "real numbers"),
    ],
)
def test_bad_weights_are_refused_clearly(weights, message):
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(X, sample_weight=weights)


# ------------------------------------------------------- no silent wrong answers (issue 21)
@pytest.fixture(scope="module")
def two_groups() -> np.ndarray:
    """The hostile pass's data: 60 points about the origin and 40 about (4, 4)."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 4])


@pytest.mark.parametrize("scale", [1e-100, 1e-20, 1e-5, 1e20, 1e100])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_every_weight_changes_nothing(two_groups, scale, covariance_type):
    """Weights of 1e-20 used to give means near 0.001: the M-step added 10 eps to each N_k."""
    params = {"n_components": 2, "covariance_type": covariance_type, "random_state": 0}
    unit = fit(two_groups, np.ones(len(two_groups)), **params)
    scaled = fit(two_groups, np.full(len(two_groups), scale), **params)
    assert_same_model(scaled, unit)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_a_zero_weight_row_is_a_removed_row_for_every_start(two_groups, init_params):
    """A far outlier of weight 0 changed the k-means start: it was centred on the
    unweighted mean, and KMeans' tolerance came from the unweighted variance."""
    outlier = np.vstack([two_groups[:30], [[1e12, -1e12]], two_groups[30:]])
    weight = np.ones(len(outlier))
    weight[30] = 0.0
    params = {"n_components": 2, "init_params": init_params, "random_state": 0}
    assert_same_model(fit(outlier, weight, **params), fit(two_groups, **params))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full(100, 1e307), "divide the weights by their largest"),
        (np.ones(100) + 1j, "real numbers"),
        (np.array(["1"] * 100), "real numbers"),
        (np.ma.masked_array(np.ones(100), mask=[True] + [False] * 99), "masked"),
    ],
)
def test_weights_that_cannot_be_used_are_named(two_groups, bad, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, random_state=0).fit(two_groups, sample_weight=bad)


def test_with_a_prior_the_weights_scale_counts_observations(two_groups):
    """Frequency weights: without a prior their scale changes nothing; with one, their sum
    is the number of observations weighed against the prior's pseudo-observations."""
    n = len(two_groups)
    for prior, same in ((None, True), ("default", False)):
        params = {"n_components": 2, "random_state": 0, "prior": prior}
        one, half = (fit(two_groups, np.full(n, w), **params) for w in (1.0, 0.5))
        assert np.allclose(one.covariances_, half.covariances_, rtol=1e-10) == same


def test_bic_refuses_weights_that_sum_to_one_observation(two_groups):
    model = fit(two_groups, n_components=2, random_state=0)
    with pytest.raises(ValueError, match="number of observations N is 1"):
        model.bic(two_groups, sample_weight=np.full(len(two_groups), 1 / len(two_groups)))
