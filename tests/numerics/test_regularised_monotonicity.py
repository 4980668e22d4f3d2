r"""What EM guarantees with ``reg_covar`` > 0, stated exactly and checked with hypothesis.

EM's climb rests on :math:`\ell(\theta') - \ell(\theta) \ge Q(\theta' \mid \theta) -
Q(\theta \mid \theta)`, for any :math:`\theta'`. With ``reg_covar`` :math:`= \epsilon`, the
M-step returns :math:`\Sigma_k = S_k + \epsilon I` instead of the maximiser :math:`S_k`, and
since :math:`Q_k(\Sigma) = -\frac{N_k}{2}(\log|\Sigma| + \operatorname{tr} S_k\Sigma^{-1})`,

.. math::
    Q_k(S_k) - Q_k(S_k + \epsilon I)
    = \frac{N_k}{2} \sum_j f\!\left(\frac{\epsilon}{\lambda_{kj}}\right),
    \qquad f(u) = \log(1+u) - \frac{u}{1+u} \in \left[0, \tfrac{u^2}{2}\right],

with :math:`\lambda_{kj}` the eigenvalues of :math:`S_k` (for ``diag`` its diagonal, for
``spherical`` :math:`d` times :math:`\operatorname{tr} S_k / d`, for ``tied`` the pooled
scatter with :math:`N` in place of :math:`N_k`). So one iteration can lower the mean
log-likelihood by at most :math:`\frac1N \sum_k \frac{N_k}{2}\sum_j f(\epsilon/\lambda_{kj})`:
about :math:`10^{-12}` for components whose spread is :math:`10^{3}\epsilon` wide, but no
bound at all for a component collapsing onto a point, whose :math:`\lambda \to 0`.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import covariance_matrices
from hypothesis import given
from hypothesis import strategies as st

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import em
from gmmlib.datasets import gaussian_clusters

pytestmark = pytest.mark.slow


def largest_possible_loss(state: em.EMState, covariance_type: str, reg_covar: float) -> float:
    """The bound above, for the M-step that produced ``state`` (mean log-likelihood units)."""
    weights = np.asarray(state.weights)
    n_components, n_features = np.shape(state.means)
    matrices = covariance_matrices(state.covariances, covariance_type, n_components, n_features)
    scatter = matrices - reg_covar * np.eye(n_features)
    if covariance_type == "tied":
        scatter, weights = scatter[:1], np.ones(1)
    eigenvalues = np.linalg.eigvalsh(scatter)
    if np.any(eigenvalues <= 0):
        return np.inf  # a collapsed direction: EM promises nothing
    u = reg_covar / eigenvalues
    f = np.log1p(u) - u / (1 + u)
    return float(np.sum(weights / 2 * f.sum(axis=1)))


@given(
    seed=st.integers(0, 2**31 - 1),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    n_components=st.integers(1, 4),
    reg_covar=st.sampled_from([1e-6, 1e-3, 1e-1]),
)
def test_a_regularised_iteration_loses_at_most_the_stated_bound(
    seed, covariance_type, n_components, reg_covar
):
    X = gaussian_clusters(120, 3, 3, random_state=seed)[0]
    rng = np.random.RandomState(seed)
    resp = rng.dirichlet(np.ones(n_components), size=len(X))
    start = em.m_step(X, resp, covariance_type, reg_covar)
    states = em.em_history(X, *start, covariance_type, n_iter=40, reg_covar=reg_covar)
    for before, after in zip(states, states[1:]):
        change = after.mean_log_likelihood - before.mean_log_likelihood
        allowed = largest_possible_loss(after, covariance_type, reg_covar)
        rounding = 1e-12 * max(1.0, abs(before.mean_log_likelihood))
        assert change >= -(allowed + rounding), (change, allowed)


def test_the_bound_is_attained_in_order_of_magnitude():
    """The bound is not vacuous: a large regulariser really lowers the likelihood by
    about what the bound allows when started at the maximum likelihood fit."""
    X = gaussian_clusters(300, 2, 2, random_state=0)[0]
    resp = np.zeros((len(X), 1))
    resp[:, 0] = 1.0
    exact = em.m_step(X, resp, "full", reg_covar=0.0)  # one Gaussian: the ML fit, in one step
    regularised = em.m_step(X, resp, "full", reg_covar=0.5)
    _, ll_exact = em.e_step(X, *exact, "full")
    _, ll_regularised = em.e_step(X, *regularised, "full")
    state = em.EMState(*regularised, ll_regularised)
    loss = ll_exact - ll_regularised
    bound = largest_possible_loss(state, "full", 0.5)
    assert 0 < loss <= bound * (1 + 1e-9)
    assert loss >= 0.5 * bound  # for one component the bound is exact: Q is the likelihood
