r"""The EM algorithm for Gaussian mixtures, as plain functions over numpy arrays.

A mixture of :math:`K` Gaussians in :math:`d` dimensions has weights :math:`\pi_k`
(non-negative, summing to one), means :math:`\mu_k` and covariances :math:`\Sigma_k`.
Its density is

.. math:: p(x) = \sum_{k=1}^K \pi_k \, \mathcal N(x \mid \mu_k, \Sigma_k).

EM alternates two steps, each of which cannot lower the log-likelihood
:math:`\frac1N \sum_i \log p(x_i)`:

* the E-step: the responsibilities
  :math:`r_{ik} = \pi_k \mathcal N(x_i \mid \mu_k, \Sigma_k) / p(x_i)`, the probability that
  component :math:`k` generated :math:`x_i` under the current parameters;
* the M-step: the weighted maximum-likelihood parameters for those responsibilities,
  :math:`N_k = \sum_i r_{ik}`, :math:`\pi_k = N_k / N`,
  :math:`\mu_k = \frac{1}{N_k}\sum_i r_{ik} x_i`,
  :math:`\Sigma_k = \frac{1}{N_k}\sum_i r_{ik}(x_i - \mu_k)(x_i - \mu_k)^\top`.

**The shape of this module: EM over sufficient statistics.** The M-step reads the data only
through a few sums over rows, the :class:`~gmmlib.statistics.SufficientStatistics` (counts
:math:`N_k`, sums and scatters about reference points :math:`a_k`, the log-likelihood), and
those of disjoint sets of rows add up. So EM is a pair of functions:

1. :func:`gmmlib.statistics.sufficient_statistics` runs the E-step on a set of rows and
   returns their statistics, in one pass;
2. :func:`m_step_from_statistics` turns summed statistics into parameters:
   :math:`\bar x_k = a_k + s_k / N_k` and the scatter about it,
   :math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top`; with a conjugate prior
   (:mod:`gmmlib.prior`) the same function adds the prior's pseudo-counts.

:func:`em_loop` alternates them over any source of statistics: the estimator
(:class:`gmmlib.GaussianMixture`), :func:`em_iterations` and :func:`em_history` in memory,
with or without weights, and a Dask array (:mod:`gmmlib.dask`), whose blocks' statistics are
computed where the blocks live and added in a tree. :func:`e_step` and :func:`m_step` are
the textbook steps (responsibilities out, responsibilities in) for reading and teaching;
:func:`m_step` is :func:`~gmmlib.statistics.responsibility_statistics` followed by the same
:func:`m_step_from_statistics`.

Everything works in the log domain and with Cholesky factors of precisions (see
:mod:`gmmlib._covariance` and :mod:`gmmlib._kernels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal, NamedTuple, overload

import numpy as np

from ._covariance import DegenerateFitError, check_covariance_type, is_mclust_model, storage
from ._covariance import precisions_cholesky as _precisions_cholesky
from ._kernels import expectations
from ._parallel import on_one_blas_thread, one_blas_thread
from ._validation import as_rows, check_sample_weight_shape, is_integer
from .parsimonious import (
    CovarianceEstimate,
    SingularScatterError,
    covariances_from_scatter,
    estimate_from_covariances,
)
from .prior import check_prior, log_prior, pseudo_counts
from .statistics import (
    SufficientStatistics,
    bounding_ball,
    divisors,
    needs_recentring,
    responsibility_statistics,
    scatter_about_weighted_means,
    sufficient_statistics,
    weighted_log_likelihood,
    weighted_outer,
)

__all__ = [
    "EMState",
    "e_step",
    "em_history",
    "em_iterations",
    "em_loop",
    "log_likelihood",
    "m_step",
    "m_step_from_statistics",
    "weighted_mean_log_likelihood",
]


@overload
def m_step_from_statistics(
    stats: SufficientStatistics,
    *,
    reg_covar: float = ...,
    prior=...,
    previous: CovarianceEstimate | None = ...,
    m_step_options: dict | None = ...,
    return_estimate: Literal[False] = ...,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


@overload
def m_step_from_statistics(
    stats: SufficientStatistics,
    *,
    reg_covar: float = ...,
    prior=...,
    previous: CovarianceEstimate | None = ...,
    m_step_options: dict | None = ...,
    return_estimate: Literal[True],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, CovarianceEstimate | None]: ...


@on_one_blas_thread
def m_step_from_statistics(
    stats: SufficientStatistics,
    *,
    reg_covar: float = 1e-6,
    prior=None,
    previous: CovarianceEstimate | None = None,
    m_step_options: dict | None = None,
    return_estimate: bool = False,
):
    r"""The M-step: weights, means and covariances from summed :class:`SufficientStatistics`.

    With :math:`\bar x_k = a_k + s_k/N_k` and :math:`S_k` the scatter about it,
    maximum likelihood (``prior=None``) gives

    .. math::
        \pi_k = \frac{N_k}{\sum_j N_j}, \quad \mu_k = \bar x_k, \quad
        \Sigma_k = \frac{S_k}{N_k} + \epsilon I,

    (``tied``: :math:`\sum_k S_k / \sum_k N_k`; ``diag``: the diagonal; ``spherical``:
    :math:`\operatorname{tr} S_k / (d N_k)`), with :math:`\epsilon` = ``reg_covar``. A
    conjugate ``prior`` (:class:`gmmlib.prior.ConjugatePrior`, complete) adds its
    pseudo-counts (:func:`gmmlib.prior.pseudo_counts`): :math:`\alpha - 1` to each
    :math:`N_k` of the weights, :math:`\kappa_p` points at :math:`\mu_p` to each mean, and
    the scatter :math:`\Psi_p` with :math:`\nu_p + d + 2` counts to each covariance (the
    MAP estimate; see :mod:`gmmlib.prior` for the derivation). Maximum likelihood is the
    prior with every pseudo-count zero. An empty component (:math:`N_k = 0`) keeps its
    weight 0, its reference point as mean and :math:`\epsilon I` (or the prior's) as
    covariance; no count is changed, so scaling every weight by one constant changes
    nothing without a prior.

    **mclust's models** (``stats.covariance_type`` one of
    :data:`gmmlib.parsimonious.MODEL_NAMES`): the weights and means as above, and the
    covariances that minimise

    .. math:: F = \sum_k \bigl[ N_k \log|\Sigma_k| + \operatorname{tr}(\Sigma_k^{-1}
              (S_k + \epsilon N_k I)) \bigr]

    over the model's constraints (:func:`gmmlib.parsimonious.covariances_from_scatter`;
    for ``full``'s VVV this is the formula above, :math:`\epsilon` counting as an extra
    scatter :math:`\epsilon I` per point); with a prior, mclust's MAP rule
    (:data:`gmmlib.prior.MCLUST_MAP`: more counts, a larger scatter). The iterative
    models (VEI, VEE, EVE, VVE, VEV) continue from ``previous``, the
    :class:`~gmmlib.parsimonious.CovarianceEstimate` of the last M-step (None: mclust's
    cold start), so each EM iteration is a generalised EM step;
    ``m_step_options`` (``tol``, ``max_iter``, ``vve``) go to ``covariances_from_scatter``.
    With ``return_estimate=True`` the estimate is returned too, as a fourth value (None
    for scikit-learn's four types), for the next M-step's ``previous``.
    """
    covariance_type = stats.covariance_type
    if is_mclust_model(covariance_type):
        result = _model_m_step(stats, reg_covar, prior, previous, m_step_options or {})
        return result if return_estimate else result[:3]
    n_features = stats.sums.shape[1]
    counts = stats.counts
    weights, means, scatter, pseudo = _weights_and_means(stats, prior)
    if covariance_type == "full":
        divisor = divisors(counts + pseudo.covariance_count)
        covariances = (scatter + pseudo.scatter) / divisor[:, None, None]
        covariances = (covariances + np.swapaxes(covariances, 1, 2)) / 2
        covariances[:, range(n_features), range(n_features)] += reg_covar
    elif covariance_type == "tied":
        covariances = (scatter + pseudo.scatter) / (counts.sum() + pseudo.covariance_count)
        covariances = (covariances + covariances.T) / 2
        covariances.flat[:: n_features + 1] += reg_covar
    elif covariance_type == "diag":
        scatter = np.maximum(scatter, 0.0)  # rounding must not make a variance negative
        divisor = divisors(counts + pseudo.covariance_count)
        covariances = (scatter + pseudo.scatter) / divisor[:, None]
        covariances += reg_covar
    else:
        traces = np.maximum(scatter, 0.0).sum(axis=1)
        divisor = divisors(n_features * counts + pseudo.covariance_count)
        covariances = (traces + pseudo.scatter) / divisor
        covariances += reg_covar
    if return_estimate:
        return weights, means, covariances, None
    return weights, means, covariances


def _weights_and_means(stats: SufficientStatistics, prior):
    """The M-step's weights and means from the summed statistics, the scatter about the
    means (with a prior: about the shrunk means, plus the shrinkage's own scatter), and the
    prior's pseudo-counts (:func:`gmmlib.prior.pseudo_counts`)."""
    n_components, n_features = stats.sums.shape
    counts = stats.counts
    weighted_means = stats.weighted_means
    scatter = scatter_about_weighted_means(stats, divisors(counts))
    pseudo = pseudo_counts(prior, stats.covariance_type, n_components, n_features)
    weights = counts + pseudo.weight
    weights = weights / weights.sum()
    means = weighted_means
    if pseudo.mean_count:  # kappa_p points at mu_p pull each mean, and add to its scatter
        means = (counts[:, None] * weighted_means + pseudo.mean_count * pseudo.mean) / (
            counts + pseudo.mean_count
        )[:, None]
        pull = pseudo.mean_count * counts / (counts + pseudo.mean_count)
        scatter = scatter + weighted_outer(
            pull, weighted_means - pseudo.mean, stats.covariance_type
        )
    return weights, means, scatter, pseudo


def _model_m_step(
    stats: SufficientStatistics,
    reg_covar: float,
    prior,
    previous: CovarianceEstimate | None,
    options: dict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, CovarianceEstimate]:
    """:func:`m_step_from_statistics` for one of mclust's models."""
    model = stats.covariance_type
    n_components = stats.sums.shape[0]
    counts = stats.counts
    weights, means, scatter, pseudo = _weights_and_means(stats, prior)
    if prior is not None:  # the prior's share of the scatter, per component (pooled: all K)
        scatter = scatter + (n_components if storage(model) == "tied" else 1) * pseudo.scatter
    try:
        estimate = covariances_from_scatter(
            model,
            counts + pseudo.covariance_count,
            scatter,
            reg_covar=reg_covar,
            previous=previous,
            **options,
        )
    except SingularScatterError as error:  # a collapse, as for scikit-learn's types
        raise DegenerateFitError(str(error)) from None
    return weights, means, estimate.covariances, estimate


# ----------------------------------------------------------------------- the textbook steps
def e_step(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    precisions_cholesky: np.ndarray | None = None,
    n_jobs: int | None = None,
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
    covariance_type : one of ``gmmlib.COVARIANCE_TYPES``.
    precisions_cholesky : optional, the Cholesky factors of the precisions if already known.
    n_jobs : threads over chunks of rows (None: all cores, or ``OMP_NUM_THREADS``).

    Returns
    -------
    log_resp : array of shape (N, K), :math:`\log r_{ik}`; each row's exponentials sum to 1.
    mean_log_likelihood : float, :math:`\frac1N \sum_i \log p(x_i)`.
    """
    check_covariance_type(covariance_type)
    log_resp, log_norm = expectations(
        X,
        weights,
        means,
        covariances,
        covariance_type,
        precisions_cholesky,
        log=True,
        n_jobs=n_jobs,
    )
    return log_resp, float(np.mean(log_norm, dtype=np.float64))


def log_likelihood(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    precisions_cholesky: np.ndarray | None = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    r"""Per-sample log-likelihood
    :math:`\log p(x_i) = \log\sum_k \pi_k \mathcal N(x_i\mid\mu_k,\Sigma_k)`."""
    check_covariance_type(covariance_type)
    return expectations(
        X,
        weights,
        means,
        covariances,
        covariance_type,
        precisions_cholesky,
        log=False,
        n_jobs=n_jobs,
    )[1]


def m_step(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
    reg_covar: float = 1e-6,
    *,
    prior=None,
    m_step_options: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""M-step: the parameters that maximise the expected complete-data log-likelihood.

    .. math::
        N_k = \sum_i r_{ik}, \quad
        \pi_k = \frac{N_k}{N}, \quad
        \mu_k = \frac{1}{N_k} \sum_i r_{ik} x_i, \quad
        \Sigma_k = \frac{1}{N_k} \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top + \epsilon I,

    with :math:`\epsilon` = ``reg_covar`` keeping every covariance positive definite, and
    the covariance constrained by ``covariance_type``: ``tied`` pools all components
    (:math:`\Sigma = \frac1N\sum_k\sum_i r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top`, each point
    counting with its total responsibility), ``diag`` keeps the diagonal and ``spherical``
    averages it (:math:`\sigma_k^2 = \frac1d \operatorname{tr}\Sigma_k`). It is
    :func:`responsibility_statistics` followed by :func:`m_step_from_statistics` (which also
    takes a conjugate ``prior``, for MAP-EM).

    Parameters
    ----------
    X : array of shape (N, d)
    resp : array of shape (N, K), responsibilities (rows sum to 1; sample weights multiply them).
    covariance_type : one of ``gmmlib.COVARIANCE_TYPES``; an mclust model's
        covariances minimise its constrained objective (:func:`m_step_from_statistics`),
        from mclust's cold start.
    reg_covar : non-negative float added to the covariances' diagonals.

    Returns
    -------
    weights : (K,), means : (K, d), covariances : shaped by ``covariance_type``.
    """
    check_covariance_type(covariance_type)
    stats = responsibility_statistics(X, resp, covariance_type)
    return m_step_from_statistics(
        stats, reg_covar=reg_covar, prior=prior, m_step_options=m_step_options
    )


# --------------------------------------------------------------------------- the EM loop
class EMState(NamedTuple):
    """The parameters at one point of an EM run and their objective.

    ``mean_log_likelihood`` is :math:`\\sum_i w_i \\log p(x_i) / \\sum_i w_i`; with a prior,
    the mean log posterior :math:`(\\sum_i w_i \\log p(x_i) + \\log p(\\theta)) / \\sum_i w_i`.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    mean_log_likelihood: float


#: ``statistics(weights, means, covariances, precisions_cholesky, about)``: one pass over the
#: data (in memory, or over Dask blocks) giving their :class:`SufficientStatistics`.
StatisticsPass = Callable[..., SufficientStatistics]


def em_loop(
    statistics: StatisticsPass,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    reg_covar: float = 1e-6,
    prior=None,
    precisions_cholesky: np.ndarray | None = None,
    m_step_options: dict | None = None,
) -> Iterator[tuple[EMState, SufficientStatistics]]:
    r"""EM from the given start, forever, over any source of statistics: the one EM loop.

    Each round is one ``statistics`` pass (the E-step and the sums) and
    :func:`m_step_from_statistics`; when :func:`needs_recentring` says the sums about the
    centre lost too many digits, a second pass gathers them about the new means. Yields
    ``(state, statistics)``: the start, then the parameters after each iteration, each with
    its objective (:class:`EMState`) from the pass that also feeds the next M-step.

    An iterative mclust model's M-step (VEI, VEE, EVE, VVE, VEV) continues from the last
    one's :class:`~gmmlib.parsimonious.CovarianceEstimate`, the first from the start's
    covariances (:func:`gmmlib.parsimonious.estimate_from_covariances`): every iteration
    is then a generalised EM step, which cannot lower the objective (with
    ``reg_covar=0``). ``m_step_options`` go to every M-step.

    Raises a ValueError when the log-likelihood is not finite (data too large or too small
    for floating point).
    """
    prec_chol = precisions_cholesky
    if prec_chol is None:
        prec_chol = _precisions_cholesky(covariances, covariance_type)
    estimate = (
        estimate_from_covariances(covariance_type, covariances)
        if is_mclust_model(covariance_type)
        else None
    )
    while True:
        stats = statistics(weights, means, covariances, prec_chol, None)
        objective = stats.log_likelihood
        if prior is not None:
            objective += log_prior(weights, means, covariances, prior, covariance_type)
        objective /= stats.total_weight
        if not np.isfinite(stats.log_likelihood / stats.total_weight):
            raise ValueError(
                "The log-likelihood is not finite. Either the data hold NaN or infinity (in "
                "memory they are refused before fitting, a Dask array's blocks are read only "
                "by the passes): np.isfinite(X).all(), or dask.array.isfinite(X).all(), finds "
                "them; or the data's values are too large or too small for floating point: "
                "rescale them (e.g. StandardScaler)."
            )
        yield EMState(weights, means, covariances, float(objective)), stats
        if needs_recentring(stats):
            stats = statistics(weights, means, covariances, prec_chol, stats.weighted_means)
        with one_blas_thread():
            weights, means, covariances, estimate = m_step_from_statistics(
                stats,
                reg_covar=reg_covar,
                prior=prior,
                previous=estimate,
                m_step_options=m_step_options,
                return_estimate=True,
            )
            prec_chol = _precisions_cholesky(covariances, covariance_type)


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
    prior=None,
    n_jobs: int | None = None,
    m_step_options: dict | None = None,
) -> Iterator[tuple[EMState, SufficientStatistics]]:
    r"""Run EM on the rows ``X`` from the given start, forever; the caller decides when to stop.

    :func:`em_loop` with :func:`sufficient_statistics` over ``X`` as its pass. Yields
    ``(state, statistics)`` pairs: first the start, then the parameters after each
    iteration, each with its mean log-likelihood (log posterior with a ``prior``).

    With ``sample_weight`` :math:`w_i`, row :math:`i` counts :math:`w_i` times: the
    statistics are :math:`N_k = \sum_i w_i r_{ik}`, and so on, and the mean log-likelihood
    is :math:`\sum_i w_i \log p(x_i) / \sum_i w_i`. Integer weights give the fit of the data
    with each row repeated :math:`w_i` times; a zero weight drops the row.

    Raises a ``ValueError`` for an unknown ``covariance_type`` at once, and when the
    log-likelihood is not finite (data too large or too small for floating point).
    """
    check_covariance_type(covariance_type)
    X = as_rows(X)
    sample_weight = check_sample_weight_shape(sample_weight, X.shape[0])
    ball = bounding_ball(X, n_jobs) if storage(covariance_type) == "full" else None

    def statistics(weights, means, covariances, prec_chol, about):
        return sufficient_statistics(
            X,
            weights,
            means,
            covariances,
            covariance_type,
            precisions_cholesky=prec_chol,
            sample_weight=sample_weight,
            about=about,
            ball=ball,
            n_jobs=n_jobs,
        )

    return em_loop(
        statistics,
        weights,
        means,
        covariances,
        covariance_type,
        reg_covar=reg_covar,
        prior=prior,
        precisions_cholesky=precisions_cholesky,
        m_step_options=m_step_options,
    )


def weighted_mean_log_likelihood(log_norm: np.ndarray, sample_weight: np.ndarray | None) -> float:
    r""":math:`\sum_i w_i \log p(x_i) / \sum_i w_i` (the plain mean without weights).

    A row with weight 0 does not count, even where its :math:`\log p(x_i)` is
    :math:`-\infty`.
    """
    if sample_weight is None:
        return float(np.mean(log_norm, dtype=np.float64))
    counted = sample_weight > 0
    return weighted_log_likelihood(log_norm, sample_weight) / float(sample_weight[counted].sum())


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
    prior=None,
    m_step_options: dict | None = None,
) -> list[EMState]:
    """The parameters of ``n_iter`` EM iterations from a start: entry 0 is the start.

    Meant for pictures and teaching (see :func:`gmmlib.plotting.animate_em`); the
    estimator :class:`gmmlib.GaussianMixture` runs the same :func:`em_loop`. With a
    complete conjugate ``prior`` it is MAP-EM, and each state's ``mean_log_likelihood`` is
    the mean log posterior, which never decreases when ``reg_covar=0``.
    """
    if not is_integer(n_iter) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer; got {n_iter!r}.")
    if prior is not None:
        prior = check_prior(prior, covariance_type, np.shape(means)[1])
    states = em_iterations(
        X,
        weights,
        means,
        covariances,
        covariance_type,
        reg_covar=reg_covar,
        sample_weight=sample_weight,
        prior=prior,
        m_step_options=m_step_options,
    )
    return [state for state, _ in (next(states) for _ in range(n_iter + 1))]
