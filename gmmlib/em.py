r"""The EM algorithm for Gaussian mixtures, as plain functions over numpy arrays.

A mixture of :math:`K` Gaussians in :math:`d` dimensions has weights :math:`\pi_k`
(non-negative, summing to one), means :math:`\mu_k` and covariances :math:`\Sigma_k`.
Its density is

.. math:: p(x) = \sum_{k=1}^K \pi_k \, \mathcal N(x \mid \mu_k, \Sigma_k).

EM alternates two steps, each of which cannot lower the log-likelihood
:math:`\frac1N \sum_i \log p(x_i)`:

* :func:`e_step`: the responsibilities
  :math:`r_{ik} = \pi_k \mathcal N(x_i \mid \mu_k, \Sigma_k) / p(x_i)`, the probability that
  component :math:`k` generated :math:`x_i` under the current parameters;
* :func:`m_step`: the weighted maximum-likelihood parameters for those responsibilities,
  :math:`N_k = \sum_i r_{ik}`, :math:`\pi_k = N_k / N`,
  :math:`\mu_k = \frac{1}{N_k}\sum_i r_{ik} x_i`,
  :math:`\Sigma_k = \frac{1}{N_k}\sum_i r_{ik}(x_i - \mu_k)(x_i - \mu_k)^\top`.

:func:`em_iterations` chains the two; :func:`em_history` records the path for pictures.
Everything works in the log domain and with Cholesky factors of precisions (see
:mod:`gmmlib._covariance`); the E-step handles samples in chunks so its scratch memory does
not grow with :math:`N`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ._covariance import log_det_cholesky
from ._covariance import precisions_cholesky as _precisions_cholesky

#: Scratch memory per chunk, in float64 numbers (2**21 numbers = 16 MiB).
_CHUNK_NUMBERS = 2**21

#: Log-responsibilities below this are treated as exactly zero when exponentiated.
#: :math:`e^{-600} \approx 10^{-261}` cannot change any sum of responsibilities in float64,
#: but products of such numbers become subnormal, which slows matrix products ~50-fold.
_LOG_FLOOR = -600.0


def _chunks(n_samples: int, numbers_per_row: int) -> Iterator[slice]:
    """Row slices whose scratch arrays hold about :data:`_CHUNK_NUMBERS` numbers."""
    rows = max(256, _CHUNK_NUMBERS // max(1, numbers_per_row))
    for start in range(0, n_samples, rows):
        yield slice(start, min(start + rows, n_samples))


def _squared_mahalanobis(
    X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, covariance_type: str, out: np.ndarray
) -> None:
    r"""Write :math:`\lVert (x_i - \mu_k) U_k \rVert^2` into ``out`` (shape ``(N, K)``).

    Points and means are first shifted by the centre of the means, which changes no
    distance but keeps the arithmetic accurate for data far from the origin. For ``full``
    all :math:`K` factors are stacked side by side so one matrix product per chunk serves
    every component.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    centre = means.mean(axis=0)
    means = means - centre
    if covariance_type == "full":
        stacked = prec_chol.transpose(1, 0, 2).reshape(n_features, n_components * n_features)
        offsets = np.einsum("kd,kde->ke", means, prec_chol).reshape(-1)
        for rows in _chunks(n_samples, n_components * n_features):
            y = (X[rows] - centre) @ stacked
            y -= offsets
            y *= y
            np.sum(y.reshape(-1, n_components, n_features), axis=2, out=out[rows])
    elif covariance_type == "tied":
        # One whitening product for all components, then exact differences: the expanded
        # form |y|^2 - 2 y.m + |m|^2 would lose digits when the covariance is tiny.
        projected_means = means @ prec_chol
        for rows in _chunks(n_samples, n_components * n_features):
            y = ((X[rows] - centre) @ prec_chol)[:, None, :] - projected_means
            np.einsum("nkd,nkd->nk", y, y, out=out[rows])
    elif covariance_type == "diag":
        precisions = prec_chol**2
        mean_terms = np.sum(means**2 * precisions, axis=1)
        for rows in _chunks(n_samples, n_features + n_components):
            x = X[rows] - centre
            np.matmul(x, -2.0 * (means * precisions).T, out=out[rows])
            out[rows] += (x * x) @ precisions.T + mean_terms
    else:  # spherical
        precisions = prec_chol**2
        mean_norms = np.sum(means**2, axis=1)
        for rows in _chunks(n_samples, n_features + n_components):
            x = X[rows] - centre
            np.matmul(x, -2.0 * means.T, out=out[rows])
            out[rows] += np.sum(x * x, axis=1)[:, None] + mean_norms
            out[rows] *= precisions
    np.maximum(out, 0.0, out=out)  # rounding must not make a squared distance negative


def log_gaussian_prob(
    X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, covariance_type: str
) -> np.ndarray:
    r"""Log-densities :math:`\log \mathcal N(x_i \mid \mu_k, \Sigma_k)`, shape ``(N, K)``.

    .. math::
        \log \mathcal N(x \mid \mu_k, \Sigma_k) = -\tfrac12 \left( d \log 2\pi
        + \lVert (x - \mu_k) U_k \rVert^2 \right) + \log\det U_k,

    with :math:`U_k` the precision Cholesky factor (:math:`\Sigma_k^{-1} = U_k U_k^\top`).
    """
    n_samples, n_features = X.shape
    out = np.empty((n_samples, means.shape[0]))
    _squared_mahalanobis(X, means, prec_chol, covariance_type, out)
    out *= -0.5
    out += log_det_cholesky(prec_chol, covariance_type, n_features) - 0.5 * n_features * math.log(
        2 * math.pi
    )
    return out


def _exp_flushed(log_values: np.ndarray) -> np.ndarray:
    """``exp`` in place, with values below :data:`_LOG_FLOOR` flushed to exactly zero."""
    np.putmask(log_values, log_values < _LOG_FLOOR, -np.inf)
    return np.exp(log_values, out=log_values)


def _normalise_log(weighted_log_prob: np.ndarray) -> np.ndarray:
    r"""Turn :math:`\log \pi_k \mathcal N(x_i\mid\cdot)` into :math:`\log r_{ik}` in place.

    Returns :math:`\log p(x_i) = \log\sum_k \exp(\cdot)` per row, by the log-sum-exp trick:
    subtract the row maximum before exponentiating so nothing overflows.
    """
    row_max = weighted_log_prob.max(axis=1, keepdims=True)
    row_max[~np.isfinite(row_max)] = 0.0
    log_norm = np.log(np.sum(_exp_flushed(weighted_log_prob - row_max), axis=1)) + row_max[:, 0]
    with np.errstate(invalid="ignore"):
        weighted_log_prob -= log_norm[:, None]
    return log_norm


def e_step(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    precisions_cholesky: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    r"""E-step: log-responsibilities and the mean log-likelihood of the current parameters.

    .. math::
        \log r_{ik} = \log \pi_k + \log \mathcal N(x_i \mid \mu_k, \Sigma_k) - \log p(x_i),
        \qquad
        \log p(x_i) = \log \sum_{j} \pi_j \, \mathcal N(x_i \mid \mu_j, \Sigma_j).

    Parameters
    ----------
    X : array of shape (N, d)
    weights, means, covariances : the mixture's parameters (covariances shaped by type).
    covariance_type : ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
    precisions_cholesky : optional, the Cholesky factors of the precisions if already known.

    Returns
    -------
    log_resp : array of shape (N, K), :math:`\log r_{ik}`; each row's exponentials sum to 1.
    mean_log_likelihood : float, :math:`\frac1N \sum_i \log p(x_i)`.
    """
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    log_resp = log_gaussian_prob(X, means, precisions_cholesky, covariance_type)
    with np.errstate(divide="ignore"):
        log_resp += np.log(weights)
    log_norm = _normalise_log(log_resp)
    return log_resp, float(np.mean(log_norm))


def log_likelihood(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    precisions_cholesky: np.ndarray | None = None,
) -> np.ndarray:
    r"""Per-sample log-likelihood :math:`\log p(x_i) = \log\sum_k \pi_k \mathcal N(x_i\mid\mu_k,\Sigma_k)`."""
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    weighted = log_gaussian_prob(X, means, precisions_cholesky, covariance_type)
    with np.errstate(divide="ignore"):
        weighted += np.log(weights)
    return _normalise_log(weighted)


def _estimate_covariances(
    X: np.ndarray,
    resp: np.ndarray,
    nk: np.ndarray,
    means: np.ndarray,
    covariance_type: str,
    reg_covar: float,
) -> np.ndarray:
    r"""Weighted covariances for the M-step, plus ``reg_covar`` on the diagonal.

    ``full`` sums :math:`r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top` per component as a symmetric
    rank-:math:`N` update of the scaled deviations :math:`\sqrt{r_{ik}}(x_i - \mu_k)`.
    The other types use :math:`\frac{1}{N_k}\sum_i r_{ik} (x_i - c)^2 - (\mu_k - c)^2`
    with :math:`c` the data's mean, which is exact algebra and, thanks to the shift,
    accurate when the data sit far from the origin. ``tied`` pools all components
    (:math:`\Sigma = \frac1N\sum_k\sum_i r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top`) and
    ``spherical`` averages the diagonal over features (:math:`\sigma_k^2 = \frac1d
    \operatorname{tr}\Sigma_k`).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    if covariance_type == "full":
        covariances = np.empty((n_components, n_features, n_features))
        root_resp = np.sqrt(resp)
        for k in range(n_components):
            scatter = np.zeros((n_features, n_features))
            for rows in _chunks(n_samples, n_features):
                deviation = X[rows] - means[k]
                deviation *= root_resp[rows, k : k + 1]
                scatter += deviation.T @ deviation
            covariances[k] = scatter / nk[k]
            covariances[k].flat[:: n_features + 1] += reg_covar
        return covariances

    centre = X.mean(axis=0)
    shifted_means = means - centre
    if covariance_type == "tied":
        # Each point counts with its total responsibility (1 when rows sum to one).
        scatter = np.zeros((n_features, n_features))
        row_weights = resp.sum(axis=1)
        for rows in _chunks(n_samples, n_features):
            x = X[rows] - centre
            scatter += (x * row_weights[rows, None]).T @ x
        covariance = (scatter - (nk * shifted_means.T) @ shifted_means) / nk.sum()
        covariance = (covariance + covariance.T) / 2
        covariance.flat[:: n_features + 1] += reg_covar
        return covariance

    second_moments = np.zeros((n_components, n_features))
    for rows in _chunks(n_samples, n_features + n_components):
        x = X[rows] - centre
        second_moments += resp[rows].T @ (x * x)
    variances = second_moments / nk[:, None] - shifted_means**2
    np.maximum(variances, 0.0, out=variances)  # rounding must not make a variance negative
    variances += reg_covar
    return variances if covariance_type == "diag" else variances.mean(axis=1)


def m_step(
    X: np.ndarray, resp: np.ndarray, covariance_type: str, reg_covar: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""M-step: the parameters that maximise the expected complete-data log-likelihood.

    .. math::
        N_k = \sum_i r_{ik}, \quad
        \pi_k = \frac{N_k}{N}, \quad
        \mu_k = \frac{1}{N_k} \sum_i r_{ik} x_i, \quad
        \Sigma_k = \frac{1}{N_k} \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top + \epsilon I,

    with :math:`\epsilon` = ``reg_covar`` keeping every covariance positive definite, and
    the covariance constrained by ``covariance_type`` (see :func:`_estimate_covariances`).
    A tiny constant is added to :math:`N_k` so an empty component does not divide by zero.

    Parameters
    ----------
    X : array of shape (N, d)
    resp : array of shape (N, K), responsibilities (rows sum to 1).
    covariance_type : ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
    reg_covar : non-negative float added to the covariances' diagonals.

    Returns
    -------
    weights : (K,), means : (K, d), covariances : shaped by ``covariance_type``.
    """
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    covariances = _estimate_covariances(X, resp, nk, means, covariance_type, reg_covar)
    return nk / nk.sum(), means, covariances


class EMState(NamedTuple):
    """The parameters at one point of an EM run and their mean log-likelihood."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    mean_log_likelihood: float


def em_iterations(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    reg_covar: float = 1e-6,
    precisions_cholesky: np.ndarray | None = None,
) -> Iterator[tuple[EMState, np.ndarray]]:
    """Run EM from the given start, forever; the caller decides when to stop.

    Yields ``(state, log_resp)`` pairs: first the start, then the parameters after each
    E-step + M-step, each with its mean log-likelihood and log-responsibilities (both
    computed by the next E-step, which is the one EM needs anyway).
    """
    prec_chol = precisions_cholesky
    if prec_chol is None:
        prec_chol = _precisions_cholesky(covariances, covariance_type)
    while True:
        log_resp, mean_ll = e_step(
            X, weights, means, covariances, covariance_type, precisions_cholesky=prec_chol
        )
        if not np.isfinite(mean_ll):
            raise ValueError(
                "The log-likelihood is not finite: the data's values are too large or too "
                "small for floating point. Rescale the data (e.g. StandardScaler)."
            )
        yield EMState(weights, means, covariances, mean_ll), log_resp
        weights, means, covariances = m_step(
            X, _exp_flushed(log_resp), covariance_type, reg_covar
        )
        prec_chol = _precisions_cholesky(covariances, covariance_type)



def em_history(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    n_iter: int,
    reg_covar: float = 1e-6,
) -> list[EMState]:
    """The parameters of ``n_iter`` EM iterations from a start: entry 0 is the start.

    Meant for pictures and teaching (see :func:`gmmlib.plotting.animate_em`); the
    estimator :class:`gmmlib.GaussianMixture` runs the same :func:`em_iterations`.
    """
    if n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer; got {n_iter}.")
    states = em_iterations(
        X, weights, means, covariances, covariance_type, reg_covar=reg_covar
    )
    return [state for state, _ in (next(states) for _ in range(n_iter + 1))]
