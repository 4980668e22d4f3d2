"""gmmlib.em: the textbook E- and M-steps compute the textbook formulas; the EM loop and its
history."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import covariance_matrices as full_matrices
from scipy.stats import multivariate_normal

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture, em


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_e_step_is_bayes_rule_with_scipy_densities(parameters, covariance_type):
    X, weights, means, shapes = parameters
    covariances = shapes[covariance_type]
    matrices = full_matrices(covariances, covariance_type, 3, 3)
    joint = np.column_stack(
        [w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, matrices)]
    )
    log_resp, mean_ll = em.e_step(X, weights, means, covariances, covariance_type)
    np.testing.assert_allclose(
        np.exp(log_resp), joint / joint.sum(axis=1, keepdims=True), rtol=1e-10
    )
    np.testing.assert_allclose(mean_ll, np.log(joint.sum(axis=1)).mean(), rtol=1e-12)
    np.testing.assert_allclose(
        em.log_likelihood(X, weights, means, covariances, covariance_type),
        np.log(joint.sum(axis=1)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_is_the_weighted_maximum_likelihood_estimate(parameters, covariance_type):
    X, *_ = parameters
    resp = np.random.RandomState(0).dirichlet(np.ones(3), size=len(X))
    weights, means, covariances = em.m_step(X, resp, covariance_type, reg_covar=0.0)
    nk = resp.sum(axis=0)
    np.testing.assert_allclose(weights, nk / len(X))
    np.testing.assert_allclose(means, resp.T @ X / nk[:, None])
    scatter = np.array([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(3)])
    expected = {
        "full": scatter / nk[:, None, None],
        "tied": scatter.sum(axis=0) / len(X),
        "diag": np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None],
        "spherical": np.trace(scatter, axis1=1, axis2=2) / (3 * nk),
    }[covariance_type]
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_reg_covar_is_added_to_the_diagonal(parameters, covariance_type):
    X, *_ = parameters
    resp = np.random.RandomState(1).dirichlet(np.ones(3), size=len(X))
    _, _, plain = em.m_step(X, resp, covariance_type, reg_covar=0.0)
    _, _, regularised = em.m_step(X, resp, covariance_type, reg_covar=0.25)
    difference = full_matrices(regularised - plain, covariance_type, 3, 3)
    np.testing.assert_allclose(difference, np.array([0.25 * np.eye(3)] * 3), atol=1e-12)


def test_em_history_starts_at_the_start_and_climbs(parameters):
    X, weights, means, shapes = parameters
    path = em.em_history(X, weights, means, shapes["full"], "full", n_iter=8)
    assert len(path) == 9
    np.testing.assert_array_equal(path[0].means, means)
    lls = [state.mean_log_likelihood for state in path]
    assert all(b >= a - 1e-12 for a, b in zip(lls, lls[1:]))
    with pytest.raises(ValueError, match="n_iter must be a non-negative integer"):
        em.em_history(X, weights, means, shapes["full"], "full", n_iter=-1)


def test_a_singular_covariance_gives_a_value_error_not_linalg_error(parameters):
    X, weights, means, _ = parameters
    singular = np.zeros((3, 3, 3))
    with pytest.raises(ValueError, match="Increase reg_covar"):
        em.e_step(X, weights, means, singular, "full")


@pytest.mark.parametrize("function", ["e_step", "m_step", "log_likelihood", "em_iterations"])
def test_em_functions_refuse_a_misspelt_covariance_type(X, function):
    from gmmlib import em

    model = GaussianMixture(2, random_state=0).fit(X)
    args = {
        "e_step": (X, model.weights_, model.means_, model.covariances_, "Full"),
        "log_likelihood": (X, model.weights_, model.means_, model.covariances_, "Full"),
        "em_iterations": (X, model.weights_, model.means_, model.covariances_, "Full"),
        "m_step": (X, model.predict_proba(X), "Full"),
    }[function]
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        getattr(em, function)(*args)
