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

from ._covariance import check_covariance_type, log_det_cholesky
from ._covariance import precisions_cholesky as _precisions_cholesky

#: Scratch memory per chunk, in float64 numbers (2**17 numbers = 1 MiB: it stays in cache).
_CHUNK_NUMBERS = 2**17

#: Log-probabilities more than 600 below a row's largest are raised to it before
#: exponentiating: :math:`e^{-600} \approx 10^{-261}` cannot change any sum of
#: responsibilities in float64, whereas the true, smaller values are subnormal numbers,
#: which slow every later matrix product ~50-fold.
_LOG_FLOOR = -600.0

#: Responsibilities at or below this (the floor's own value) count as zero.
_NEGLIGIBLE = 2 * math.exp(_LOG_FLOOR)


def _chunks(n_samples: int, numbers_per_row: int) -> Iterator[slice]:
    """Row slices whose scratch arrays hold about :data:`_CHUNK_NUMBERS` numbers."""
    rows = max(256, _CHUNK_NUMBERS // max(1, numbers_per_row))
    for start in range(0, n_samples, rows):
        yield slice(start, min(start + rows, n_samples))


class _WeightedLogDensity:
    r"""Evaluates :math:`\log \pi_k + \log \mathcal N(x_i \mid \mu_k, \Sigma_k)` a chunk at a time.

    .. math::
        \log \mathcal N(x \mid \mu_k, \Sigma_k) = -\tfrac12 \left( d \log 2\pi
        + \lVert (x - \mu_k) U_k \rVert^2 \right) + \log\det U_k,

    with :math:`U_k` the precision Cholesky factor (:math:`\Sigma_k^{-1} = U_k U_k^\top`).
    Everything that does not depend on :math:`x` is prepared once, so that each chunk costs
    one matrix product: points and means are shifted by the centre :math:`c` of the means
    (no distance changes, but the arithmetic stays accurate for data far from the origin).

    * ``full``: :math:`[x - c,\ 1]` times the stacked matrix
      :math:`\begin{bmatrix} U_1 & \cdots & U_K \\ -(\mu_1 - c) U_1 & \cdots & -(\mu_K - c) U_K \end{bmatrix}`
      gives every :math:`(x - \mu_k) U_k` at once; their squared norms follow.
    * ``tied``: one whitening :math:`(x - c) U`, then exact differences to each whitened mean.
    * ``diag`` and ``spherical``: the squared distance expands into terms linear in
      :math:`x - c` and :math:`(x - c)^2`, so :math:`[x - c,\ (x - c)^2,\ 1]` times one
      prepared matrix is already the weighted log-density.
    """

    def __init__(
        self,
        weights: np.ndarray,
        means: np.ndarray,
        prec_chol: np.ndarray,
        covariance_type: str,
    ) -> None:
        n_components, n_features = means.shape
        self.covariance_type = covariance_type
        self.centre = means.mean(axis=0)
        means = means - self.centre
        with np.errstate(divide="ignore"):
            constant = (
                np.log(weights)
                + log_det_cholesky(prec_chol, covariance_type, n_features)
                - 0.5 * n_features * math.log(2 * math.pi)
            )
        self.constant = constant
        if covariance_type == "full":
            stacked = np.empty((n_features + 1, n_components * n_features))
            stacked[:n_features] = prec_chol.transpose(1, 0, 2).reshape(n_features, -1)
            stacked[n_features] = -np.einsum("kd,kde->ke", means, prec_chol).reshape(-1)
            self.matrix = stacked
            self.numbers_per_row = n_components * n_features
        elif covariance_type == "tied":
            self.matrix = prec_chol
            self.projected_means = means @ prec_chol
            self.numbers_per_row = n_components * n_features
        else:
            precisions = prec_chol**2
            if covariance_type == "spherical":
                precisions = np.repeat(precisions[:, None], n_features, axis=1)
            # log density = (mu P) . x - 1/2 P . x^2 + (constant - 1/2 P . mu^2)
            self.matrix = np.vstack(
                [
                    (means * precisions).T,
                    -0.5 * precisions.T,
                    constant - 0.5 * np.sum(means**2 * precisions, axis=1),
                ]
            )
            self.numbers_per_row = 2 * n_features + 1 + n_components
            # For the exact recomputation of entries the expansion may get wrong.
            self.means, self.precisions = means, precisions
            self.mean_norms = np.sum(means**2, axis=1)
            # Rounding error of the expanded sum, per unit of |x - c|^2 + |mu - c|^2.
            self.error_scale = (
                (2 * n_features + 2) * np.finfo(float).eps * precisions.max(axis=1)
            )

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The ``(rows, K)`` weighted log-densities of the rows of ``X`` (a chunk)."""
        n_rows, n_features = X.shape
        if self.covariance_type in ("diag", "spherical"):
            features = np.empty((n_rows, 2 * n_features + 1))
            x = np.subtract(X, self.centre, out=features[:, :n_features])
            np.multiply(x, x, out=features[:, n_features:-1])
            features[:, -1] = 1.0
            out = features @ self.matrix
            self._make_exact(out, x, features[:, n_features:-1].sum(axis=1))
            return out
        if self.covariance_type == "full":
            features = np.empty((n_rows, n_features + 1))
            np.subtract(X, self.centre, out=features[:, :n_features])
            features[:, -1] = 1.0
            y = (features @ self.matrix).reshape(n_rows, -1, n_features)
        else:  # tied: exact differences, as |y|^2 - 2 y.m + |m|^2 would lose digits
            y = ((X - self.centre) @ self.matrix)[:, None, :] - self.projected_means
        out = np.einsum("nkd,nkd->nk", y, y)
        out *= -0.5
        out += self.constant
        return out

    def _make_exact(self, out: np.ndarray, x: np.ndarray, x_norms: np.ndarray) -> None:
        r"""Redo, as a sum of squared differences, the entries the expansion may get wrong.

        The expanded square :math:`P x^2 - 2 P \mu x + P \mu^2` (shifted by the centre
        :math:`c`) costs one matrix product, but its rounding error grows like
        :math:`\epsilon\, P_{\max} (\lVert x - c\rVert^2 + \lVert \mu_k - c\rVert^2)`:
        several nats for a tight component far from :math:`c`. Entries whose error bound
        exceeds :math:`10^{-10}(1 + |\cdot|)` and that can matter (not floored away in the
        log-sum-exp) are recomputed as :math:`\sum_j P_{kj} (x_j - \mu_{kj})^2`, exactly as
        the ``full`` path computes them; usually there are none.
        """
        largest = x_norms.max(initial=0.0) * self.error_scale + self.mean_norms * self.error_scale
        if largest.max(initial=0.0) <= 1e-10:  # the usual case, at O(rows + K) cost
            return
        bound = np.multiply.outer(x_norms, self.error_scale)
        bound += self.mean_norms * self.error_scale
        suspect = bound > 1e-10 * (1.0 + np.abs(out))
        if not suspect.any():
            return
        guaranteed_max = (out - bound).max(axis=1, keepdims=True)
        suspect &= out + bound >= guaranteed_max + _LOG_FLOOR
        rows, components = np.nonzero(suspect)
        for part in _chunks(len(rows), x.shape[1]):
            r, k = rows[part], components[part]
            difference = x[r] - self.means[k]
            difference *= difference
            out[r, k] = self.constant[k] - 0.5 * np.einsum("ij,ij->i", difference, self.precisions[k])


def _normalise_log(
    weighted_log_prob: np.ndarray,
    log_weights: np.ndarray,
    resp: np.ndarray | None = None,
) -> np.ndarray:
    r"""Turn :math:`\log \pi_k \mathcal N(x_i\mid\cdot)` into :math:`\log r_{ik}` in place.

    Returns :math:`\log p(x_i) = \log\sum_k \exp(\cdot)` per row, by the log-sum-exp trick:
    subtract the row maximum before exponentiating so nothing overflows (terms are floored
    at :data:`_LOG_FLOOR` below the maximum). If ``resp`` is given, the responsibilities
    :math:`r_{ik}` themselves are written into it, from the same exponentials.

    A row that is :math:`-\infty` for every component (a point so far from all of them that
    every density underflows) has :math:`\log p(x_i) = -\infty`: the floor is relative to
    a finite maximum and never turns such a row into a finite number. Its responsibilities
    are :math:`0/0`, undefined; they are set to the weights :math:`\pi_k`
    (``log_weights`` = :math:`\log \pi_k`), what is known before seeing the point, so no
    NaN reaches predictions or M-steps.
    """
    row_max = weighted_log_prob.max(axis=1, keepdims=True)
    unexplained = np.flatnonzero(~(row_max[:, 0] > -np.inf))
    row_max[unexplained] = 0.0
    shifted = weighted_log_prob - row_max
    np.maximum(shifted, _LOG_FLOOR, out=shifted)
    terms = np.exp(shifted, out=shifted)
    total = terms.sum(axis=1)
    log_norm = np.log(total) + row_max[:, 0]
    log_norm[unexplained] = -np.inf
    with np.errstate(invalid="ignore"):
        weighted_log_prob -= log_norm[:, None]
    weighted_log_prob[unexplained] = log_weights
    if resp is not None:
        np.divide(terms, total[:, None], out=resp)
        resp[unexplained] = np.exp(log_weights)
    return log_norm


def _expectations(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    precisions_cholesky: np.ndarray | None,
    *,
    log: bool,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The E-step's chunk loop: each block is normalised while it is still in cache.

    Returns the log-responsibilities (``log=True``) or the responsibilities themselves,
    and the per-sample log-likelihoods :math:`\log p(x_i)`.
    """
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    density = _WeightedLogDensity(weights, means, precisions_cholesky, covariance_type)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    out = np.empty((X.shape[0], means.shape[0]))
    log_norm = np.empty(X.shape[0])
    for rows in _chunks(X.shape[0], density.numbers_per_row):
        with np.errstate(over="ignore", invalid="ignore"):
            block = density(X[rows])
        log_norm[rows] = _normalise_log(block, log_weights, resp=None if log else out[rows])
        if log:
            out[rows] = block
    return out, log_norm


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
    check_covariance_type(covariance_type)
    log_resp, log_norm = _expectations(
        X, weights, means, covariances, covariance_type, precisions_cholesky, log=True
    )
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
    check_covariance_type(covariance_type)
    return _expectations(
        X, weights, means, covariances, covariance_type, precisions_cholesky, log=False
    )[1]


#: A variance computed as a difference of second moments, :math:`E[(x-c)^2] - (\mu-c)^2`,
#: keeps about :math:`16 - \log_{10}(E[(x-c)^2] / \sigma^2)` digits. Where more than this
#: ratio is lost (a tight component far from the data's centre), it is recomputed from
#: the deviations themselves.
_CANCELLATION_LIMIT = 1e5


def _component_scatter(X: np.ndarray, resp_k: np.ndarray, mean_k: np.ndarray) -> np.ndarray:
    r""":math:`\sum_i r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top`, from the deviations themselves.

    A symmetric rank-:math:`N` update of the scaled deviations :math:`\sqrt{r_{ik}}(x_i-\mu_k)`,
    a cache-sized chunk at a time. Points with negligible responsibility add nothing: after
    a few iterations most responsibilities sit at the floor (see :data:`_LOG_FLOOR`), so
    they are skipped.
    """
    n_features = X.shape[1]
    active = np.flatnonzero(resp_k > _NEGLIGIBLE)
    scatter = np.zeros((n_features, n_features))
    for part in _chunks(len(active), n_features):
        rows = active[part]
        deviation = X[rows] - mean_k
        deviation *= np.sqrt(resp_k[rows])[:, None]
        scatter += deviation.T @ deviation
    return scatter


def _estimate_covariances(
    X: np.ndarray,
    resp: np.ndarray,
    nk: np.ndarray,
    means: np.ndarray,
    covariance_type: str,
    reg_covar: float,
) -> np.ndarray:
    r"""Weighted covariances for the M-step, plus ``reg_covar`` on the diagonal.

    ``full`` sums :math:`r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top` per component
    (:func:`_component_scatter`). The other types first use the cheaper
    :math:`\frac{1}{N_k}\sum_i r_{ik} (x_i - c)^2 - (\mu_k - c)^2`, with :math:`c` the
    data's mean (exact algebra; the shift keeps it accurate for data far from the origin),
    and recompute from the deviations any component for which that difference cancels more
    than :data:`_CANCELLATION_LIMIT` allows. ``tied`` pools all components
    (:math:`\Sigma = \frac1N\sum_k\sum_i r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top`) and
    ``spherical`` averages the diagonal over features (:math:`\sigma_k^2 = \frac1d
    \operatorname{tr}\Sigma_k`).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    if covariance_type == "full":
        covariances = np.stack(
            [_component_scatter(X, resp[:, k], means[k]) / nk[k] for k in range(n_components)]
        )
        covariances[:, range(n_features), range(n_features)] += reg_covar
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
        between = (nk * shifted_means.T) @ shifted_means
        within = scatter - between
        if np.any(np.diag(scatter) > _CANCELLATION_LIMIT * np.maximum(np.diag(within), 0)):
            within = sum(_component_scatter(X, resp[:, k], means[k]) for k in range(n_components))
        covariance = within / nk.sum()
        covariance = (covariance + covariance.T) / 2
        covariance.flat[:: n_features + 1] += reg_covar
        return covariance

    second_moments = np.zeros((n_components, n_features))
    for rows in _chunks(n_samples, n_features + n_components):
        x = X[rows] - centre
        second_moments += resp[rows].T @ (x * x)
    second_moments /= nk[:, None]
    variances = second_moments - shifted_means**2
    cancelled = np.any(second_moments > _CANCELLATION_LIMIT * np.maximum(variances, 0), axis=1)
    for k in np.flatnonzero(cancelled):
        variances[k] = np.diag(_component_scatter(X, resp[:, k], means[k])) / nk[k]
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
    check_covariance_type(covariance_type)
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
    sample_weight: np.ndarray | None = None,
) -> Iterator[tuple[EMState, np.ndarray]]:
    r"""Run EM from the given start, forever; the caller decides when to stop.

    Each round is :func:`e_step` then :func:`m_step`. Yields ``(state, resp)`` pairs: first
    the start, then the parameters after each iteration, each with its mean log-likelihood
    and responsibilities :math:`r_{ik}` (both from the next E-step, which EM needs anyway).
    The E-step here hands the M-step :math:`r_{ik}` directly, from the same exponentials
    that normalise them, rather than :math:`\log r_{ik}` to exponentiate again.

    With ``sample_weight`` :math:`w_i`, row :math:`i` counts :math:`w_i` times: the M-step
    receives :math:`w_i r_{ik}` (so :math:`N_k = \sum_i w_i r_{ik}`, and so on), and the
    mean log-likelihood is :math:`\sum_i w_i \log p(x_i) / \sum_i w_i`. Integer weights
    give the fit of the data with each row repeated :math:`w_i` times; a zero weight drops
    the row.

    Raises a ``ValueError`` for an unknown ``covariance_type`` at once, and when the
    log-likelihood is not finite (data too large or too small for floating point).
    """
    check_covariance_type(covariance_type)
    return _em_rounds(
        X, weights, means, covariances, covariance_type, reg_covar, precisions_cholesky,
        sample_weight,
    )


def weighted_mean_log_likelihood(log_norm: np.ndarray, sample_weight: np.ndarray | None) -> float:
    r""":math:`\sum_i w_i \log p(x_i) / \sum_i w_i` (the plain mean without weights).

    A row with weight 0 does not count, even where its :math:`\log p(x_i)` is
    :math:`-\infty`.
    """
    if sample_weight is None:
        return float(np.mean(log_norm))
    counted = sample_weight > 0
    return float(sample_weight[counted] @ log_norm[counted] / sample_weight[counted].sum())


def _em_rounds(
    X, weights, means, covariances, covariance_type, reg_covar, precisions_cholesky, sample_weight
):
    """The generator behind :func:`em_iterations` (which validates its arguments first)."""
    prec_chol = precisions_cholesky
    if prec_chol is None:
        prec_chol = _precisions_cholesky(covariances, covariance_type)
    while True:
        resp, log_norm = _expectations(
            X, weights, means, covariances, covariance_type, prec_chol, log=False
        )
        mean_ll = weighted_mean_log_likelihood(log_norm, sample_weight)
        if not np.isfinite(mean_ll):
            raise ValueError(
                "The log-likelihood is not finite: the data's values are too large or too "
                "small for floating point. Rescale the data (e.g. StandardScaler)."
            )
        yield EMState(weights, means, covariances, mean_ll), resp
        counted = resp if sample_weight is None else resp * sample_weight[:, None]
        weights, means, covariances = m_step(X, counted, covariance_type, reg_covar)
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
    sample_weight: np.ndarray | None = None,
) -> list[EMState]:
    """The parameters of ``n_iter`` EM iterations from a start: entry 0 is the start.

    Meant for pictures and teaching (see :func:`gmmlib.plotting.animate_em`); the
    estimator :class:`gmmlib.GaussianMixture` runs the same :func:`em_iterations`.
    """
    if n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer; got {n_iter}.")
    states = em_iterations(
        X, weights, means, covariances, covariance_type, reg_covar=reg_covar,
        sample_weight=sample_weight,
    )
    return [state for state, _ in (next(states) for _ in range(n_iter + 1))]
