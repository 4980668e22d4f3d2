"""Properties EM must have whatever the data: checked with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import fit_quietly, random_covariances
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture, em
from gmmlib.datasets import gaussian_clusters
from gmmlib.selection import degenerate_components

pytestmark = pytest.mark.slow

covariance_types = st.sampled_from(COVARIANCE_TYPES)
seeds = st.integers(0, 2**31 - 1)


def mixture_data(seed: int, n_samples: int, n_features: int, n_clusters: int) -> np.ndarray:
    """Points around random centres with random shapes and scales."""
    return gaussian_clusters(n_samples, n_features, n_clusters, random_state=seed)[0]


def random_parameters(seed: int, X: np.ndarray, n_components: int, covariance_type: str):
    """Valid mixture parameters of every shape, near the data."""
    rng = np.random.RandomState(seed)
    d = X.shape[1]
    weights = rng.dirichlet(np.ones(n_components))
    means = X[rng.choice(len(X), n_components, replace=False)]
    covariances = random_covariances(rng, n_components, d, covariance_type, ridge=0.1)
    return weights, means, covariances


@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(3, 40), st.integers(1, 4)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
    seed=seeds,
    covariance_type=covariance_types,
    n_components=st.integers(1, 3),
)
def test_responsibilities_sum_to_one(X, seed, covariance_type, n_components):
    weights, means, covariances = random_parameters(seed, X, n_components, covariance_type)
    log_resp, mean_ll = em.e_step(X, weights, means, covariances, covariance_type)
    resp = np.exp(log_resp)
    assert np.all(np.isfinite(log_resp[resp > 0]))
    # log r = log(pi N) - log p(x) loses digits in proportion to |log p(x)|, as in any
    # float64 implementation; the sum is exact to a few ulps of that magnitude.
    log_p = em.log_likelihood(X, weights, means, covariances, covariance_type)
    assert np.all(np.abs(resp.sum(axis=1) - 1.0) <= 1e-14 * np.maximum(1.0, np.abs(log_p)))
    np.testing.assert_allclose(mean_ll, log_p.mean(), rtol=1e-12)


@given(seed=seeds, covariance_type=covariance_types, n_components=st.integers(1, 4))
def test_log_likelihood_never_decreases(seed, covariance_type, n_components):
    """EM's guarantee, for the exact M-step.

    ``reg_covar`` adds a constant to the maximising covariances, so the M-step is then not
    quite the maximiser and late iterations can lose up to about ``reg_covar`` (scikit-learn
    shows the same -8e-9 dips with the default 1e-6); the property is tested with a
    regulariser too small to matter. A component that collapses onto a few points (a
    covariance ~1e-13 in some direction) leaves the likelihood to rounding, so such runs,
    which ``degenerate_components`` flags, are set aside.
    """
    X = mixture_data(seed, 120, 3, 3)
    model = fit_quietly(
        GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            init_params="random",
            max_iter=60,
            tol=0.0,
            reg_covar=1e-13,
            random_state=seed,
        ),
        X,
    )
    assume(not degenerate_components(model, X).any())
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) == 60
    # Up to rounding: a relative slack of 1e-10 of the bound's size.
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]).max())


@given(seed=seeds, covariance_type=covariance_types)
def test_relabelling_components_changes_nothing_else(seed, covariance_type):
    X = mixture_data(seed, 90, 2, 3)
    weights, means, covariances = random_parameters(seed, X, 3, covariance_type)
    order = np.random.RandomState(seed).permutation(3)
    relabelled = covariances if covariance_type == "tied" else covariances[order]
    log_resp, ll = em.e_step(X, weights, means, covariances, covariance_type)
    log_resp_p, ll_p = em.e_step(X, weights[order], means[order], relabelled, covariance_type)
    np.testing.assert_allclose(log_resp_p, log_resp[:, order], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ll_p, ll, rtol=1e-12)

    weights_1, means_1, covariances_1 = em.m_step(X, np.exp(log_resp), covariance_type)
    weights_2, means_2, covariances_2 = em.m_step(X, np.exp(log_resp_p), covariance_type)
    np.testing.assert_allclose(weights_2, weights_1[order], rtol=1e-9)
    np.testing.assert_allclose(means_2, means_1[order], rtol=1e-9, atol=1e-12)
    expected = covariances_1 if covariance_type == "tied" else covariances_1[order]
    np.testing.assert_allclose(covariances_2, expected, rtol=1e-9, atol=1e-12)


@given(seed=seeds, covariance_type=covariance_types)
def test_permuting_samples_changes_nothing(seed, covariance_type):
    X = mixture_data(seed, 100, 2, 3)
    weights, means, covariances = random_parameters(seed, X, 3, covariance_type)
    order = np.random.RandomState(seed + 1).permutation(len(X))
    path = em.em_history(X, weights, means, covariances, covariance_type, n_iter=5)
    path_p = em.em_history(X[order], weights, means, covariances, covariance_type, n_iter=5)
    for state, state_p in zip(path, path_p):
        for value, value_p in zip(state, state_p):
            np.testing.assert_allclose(value_p, value, rtol=1e-8, atol=1e-10)


@given(
    seed=seeds,
    covariance_type=covariance_types,
    shift=hnp.arrays(np.float64, 2, elements=st.floats(-1e4, 1e4)),
)
def test_shifting_the_data_shifts_the_means(seed, covariance_type, shift):
    X = mixture_data(seed, 100, 2, 3)
    weights, means, covariances = random_parameters(seed, X, 3, covariance_type)
    path = em.em_history(X, weights, means, covariances, covariance_type, n_iter=5)
    moved = em.em_history(X + shift, weights, means + shift, covariances, covariance_type, n_iter=5)
    scale = 1 + np.abs(shift).max()
    for state, state_m in zip(path, moved):
        np.testing.assert_allclose(state_m.weights, state.weights, atol=1e-8)
        np.testing.assert_allclose(state_m.means, state.means + shift, atol=1e-8 * scale)
        np.testing.assert_allclose(state_m.covariances, state.covariances, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(
            state_m.mean_log_likelihood, state.mean_log_likelihood, rtol=1e-8
        )


@given(seed=seeds, covariance_type=covariance_types, n_components=st.integers(1, 4))
def test_predict_proba_rows_sum_to_one_after_fit(seed, covariance_type, n_components):
    X = mixture_data(seed, 80, 3, 2)
    model = fit_quietly(
        GaussianMixture(n_components, covariance_type=covariance_type, random_state=seed), X
    )
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(model.weights_.sum(), 1.0, rtol=1e-12)
    assert np.array_equal(model.predict(X), model.fit_predict(X))
