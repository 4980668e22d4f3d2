"""gmmlib reaches what scikit-learn reaches from the same start (to 1e-6)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import fit_quietly
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture
from gmmlib.mixture import precisions_of_variances

pytestmark = pytest.mark.slow

TOL = dict(rtol=1e-6, atol=1e-6)


def start(X: np.ndarray, covariance_type: str, n_components: int = 3) -> dict:
    """A deliberately rough start: three data points as means, the data's spread as shape."""
    rng = np.random.RandomState(1)
    precisions = precisions_of_variances(X.var(axis=0), covariance_type, n_components)
    return dict(
        weights_init=np.array([0.2, 0.3, 0.5]),
        means_init=X[rng.choice(len(X), n_components, replace=False)],
        precisions_init=precisions,
    )


def fit_both(X, **params):
    """Both fitted from scikit-learn's start (the default; gmmlib has unit-free ones too)."""
    params = {"init_params": "kmeans", **params}
    return fit_quietly(GaussianMixture(**params), X), fit_quietly(SklearnMixture(**params), X)


def assert_same_model(ours, theirs, X):
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), **TOL, err_msg=name)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), **TOL)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), **TOL)
    np.testing.assert_allclose(ours.score(X), theirs.score(X), **TOL)
    np.testing.assert_allclose(ours.bic(X), theirs.bic(X), **TOL)
    np.testing.assert_allclose(ours.aic(X), theirs.aic(X), **TOL)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("max_iter", [1, 5, 30])
def test_same_start_same_iterations_same_model(blobs, covariance_type, max_iter):
    ours, theirs = fit_both(
        blobs,
        n_components=3,
        covariance_type=covariance_type,
        max_iter=max_iter,
        tol=0.0,
        **start(blobs, covariance_type),
    )
    assert_same_model(ours, theirs, blobs)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, **TOL)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, **TOL)


SEEDED_STARTS = [
    (covariance_type, init_params)
    for covariance_type in COVARIANCE_TYPES
    for init_params in ("kmeans", "k-means++", "random", "random_from_data")
    # Starts from single points (k-means++, random_from_data) with a tied covariance differ
    # by design: scikit-learn's tied M-step assumes every row of responsibilities sums to
    # one and returns the data's total scatter divided by K; gmmlib weighs each point by its
    # responsibility (test_tied_start_from_single_points_is_the_weighted_estimate).
    if not (covariance_type == "tied" and init_params in ("k-means++", "random_from_data"))
]


@pytest.mark.parametrize(("covariance_type", "init_params"), SEEDED_STARTS)
def test_same_seed_same_model_for_every_init(blobs, covariance_type, init_params):
    """Each init method draws the same start from the same random_state as scikit-learn."""
    ours, theirs = fit_both(
        blobs,
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        n_init=2,
        max_iter=40,
        random_state=7,
    )
    assert_same_model(ours, theirs, blobs)
    # scikit-learn's first lower bound uses unnormalised starting weights when the start is
    # a handful of points; from the second iteration on the bounds agree.
    np.testing.assert_allclose(ours.lower_bounds_[1:], theirs.lower_bounds_[1:], **TOL)


def test_partial_user_start_matches(blobs):
    """means_init alone: the rest of the start comes from k-means, as in scikit-learn."""
    ours, theirs = fit_both(
        blobs, n_components=3, means_init=blobs[:3], random_state=0, max_iter=20
    )
    assert_same_model(ours, theirs, blobs)


def test_warm_start_continues_like_sklearn(blobs):
    params = dict(
        n_components=3, warm_start=True, max_iter=2, random_state=0, tol=0.0, init_params="kmeans"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = GaussianMixture(**params), SklearnMixture(**params)
        for _ in range(3):
            ours.fit(blobs)
            theirs.fit(blobs)
    assert_same_model(ours, theirs, blobs)


def test_samples_match_sklearn_draw(blobs):
    ours, theirs = fit_both(blobs, n_components=3, random_state=3)
    for covariance_type in COVARIANCE_TYPES:
        ours.set_params(covariance_type=covariance_type)
        theirs.set_params(covariance_type=covariance_type)
        ours.fit(blobs)
        theirs.fit(blobs)
        X_ours, y_ours = ours.sample(50)
        X_theirs, y_theirs = theirs.sample(50)
        np.testing.assert_allclose(X_ours, X_theirs, **TOL)
        np.testing.assert_array_equal(y_ours, y_theirs)


def test_tied_start_from_single_points_is_the_weighted_estimate(blobs):
    """With one point per component, the weighted tied covariance is just reg_covar * I."""
    model = GaussianMixture(
        3, covariance_type="tied", init_params="k-means++", max_iter=0, random_state=0
    ).fit(blobs)
    np.testing.assert_allclose(model.covariances_, 1e-6 * np.eye(3), rtol=1e-6, atol=1e-12)


def test_max_iter_zero_keeps_the_last_start_like_sklearn(blobs):
    ours, theirs = fit_both(blobs, n_components=3, max_iter=0, n_init=3, random_state=0)
    np.testing.assert_allclose(ours.means_, theirs.means_, **TOL)
    assert ours.lower_bound_ == theirs.lower_bound_ == -np.inf
    assert ours.n_iter_ == theirs.n_iter_ == 0
