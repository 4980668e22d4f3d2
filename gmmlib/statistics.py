r"""Sufficient statistics: what the M-step needs from a set of rows, and the pass that
computes them.

For rows with sample weights :math:`w_i` (1 without weights), responsibilities
:math:`r_{ik}` and reference points :math:`a_k` (:class:`SufficientStatistics`):

.. math::
    N_k = \sum_i w_i r_{ik}, \quad
    s_k = \sum_i w_i r_{ik} (x_i - a_k), \quad
    Q_k = \sum_i w_i r_{ik} (x_i - a_k)(x_i - a_k)^\top, \quad
    \ell = \sum_i w_i \log p(x_i).

The statistics of disjoint sets of rows add up (:func:`add_in_order`), which is what lets
one EM serve every data path: :func:`sufficient_statistics` runs the E-step on a set of
rows and returns their statistics in one pass (chunks on threads, added in chunk order);
a Dask array's blocks are such sets (:mod:`gmmlib.dask`); :func:`responsibility_statistics`
gives those of responsibilities that are already known (a start, the textbook M-step).

**How the sums are computed.** The Gaussian's log-density is linear in the features
:math:`\phi(x) = (x, x x^\top, 1)` (it is an exponential family), so the log-densities of a
chunk are its features times one matrix, and :math:`N_k`, :math:`s_k` and :math:`Q_k` are
one more matrix product, the responsibilities times the features of :math:`x - c`, with
:math:`c` the centre of the current means (the reference :math:`a_k = c`). That form loses
digits for a component that is tight compared with its distance from :math:`c`; a ``full``
component for which it would is evaluated in whitened coordinates instead,
:math:`(x - \mu_k) U_k`, and its sums are about its mean (:math:`a_k = \mu_k`; see
:class:`gmmlib._kernels.Components`). Whatever the reference, the subtraction
:math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top` loses digits when the means
moved far compared with the components' widths; :func:`needs_recentring` measures the loss,
and then the statistics are gathered again about the new means themselves, from the
deviations :math:`x_i - \bar x_k` (:func:`gmmlib.em.em_loop` does this).

float32 data are computed in float32 (twice the speed, half the memory), with the
statistics and the log-likelihood summed in float64; float64 data in float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ._covariance import precisions_cholesky as _precisions_cholesky
from ._covariance import storage
from ._kernels import (
    Components,
    RowBall,
    bounding_ball,
    chunks,
    normalise_columns,
    prepare_components,
    scratch_buffer,
    unpack_upper,
)
from ._parallel import effective_n_jobs, on_one_blas_thread, one_blas_thread, ordered_map
from ._validation import as_rows, check_sample_weight_shape, compute_dtype

__all__ = [
    "RowBall",
    "effective_n_jobs",
    "one_blas_thread",
    "whitened_components",
    "SufficientStatistics",
    "add_in_order",
    "bounding_ball",
    "divisors",
    "needs_recentring",
    "responsibility_statistics",
    "scatter_about_weighted_means",
    "sufficient_statistics",
    "weighted_outer",
]


def divisors(counts: np.ndarray) -> np.ndarray:
    r"""The counts :math:`N_k` to divide by: themselves where positive, 1 where zero.

    An empty component's sums are zero, so dividing them by 1 gives 0 instead of NaN, and
    no count is changed: the statistics of weights :math:`c\, w_i` give the parameters of
    weights :math:`w_i` for any representable :math:`c` (a constant added to every
    :math:`N_k` would not, once the counts were as small as the constant).
    """
    return np.where(counts > 0, counts, 1.0)


#: A variance computed as a difference, :math:`Q_{jj} - N (\bar x_j - a_j)^2`, keeps about
#: :math:`\log_{10}(1/\epsilon) - \log_{10}(Q_{jj} / S_{jj})` digits. Where the ratio
#: :math:`Q_{jj}/S_{jj}` exceeds this limit (float64; float32 in the second entry), the
#: statistics are gathered again about the new means (:func:`needs_recentring`).
_CANCELLATION_LIMIT = 1e5
_CANCELLATION_LIMIT_32 = 1e3


@dataclass(frozen=True)
class SufficientStatistics:
    r"""What an M-step needs from a set of rows; those of disjoint sets add up (``+``).

    With :math:`w_i` the sample weights, :math:`r_{ik}` the responsibilities and
    :math:`a_k` the reference points (``about``):

    * ``counts`` (K,): :math:`N_k = \sum_i w_i r_{ik}`;
    * ``sums`` (K, d): :math:`s_k = \sum_i w_i r_{ik} (x_i - a_k)`;
    * ``scatters``: :math:`Q_k = \sum_i w_i r_{ik} (x_i - a_k)(x_i - a_k)^\top`, shaped by
      the storage of ``covariance_type`` (:func:`gmmlib._covariance.storage`): (K, d, d)
      ``full``; (d, d) ``tied``, :math:`\sum_k Q_k`; (K, d) ``diag`` and ``spherical``,
      the diagonals (an mclust model reads those of its storage: EII...VVI the diagonals,
      EEE the pooled matrix, the others the matrices);
    * ``log_likelihood``: :math:`\sum_i w_i \log p(x_i)` (NaN when the responsibilities were
      given rather than computed, :func:`responsibility_statistics`);
    * ``total_weight``: :math:`\sum_i w_i`;
    * ``about`` (K, d): the :math:`a_k`; ``dtype``: the float type the sums were computed in.
    """

    counts: np.ndarray
    sums: np.ndarray
    scatters: np.ndarray
    log_likelihood: float
    total_weight: float
    about: np.ndarray
    covariance_type: str
    dtype: str = "float64"

    def __add__(self, other: SufficientStatistics) -> SufficientStatistics:
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        return add_in_order([self, other])

    @property
    def weighted_means(self) -> np.ndarray:
        r""":math:`\bar x_k = a_k + s_k / N_k`, the responsibility-weighted means."""
        return self.about + self.sums / divisors(self.counts)[:, None]


def add_in_order(parts: Iterable[SufficientStatistics]) -> SufficientStatistics:
    """The sum of statistics, added left to right (a fixed rounding): the one way they add,
    used by ``+``, by the chunks of a pass and by the blocks of a Dask array.

    Only statistics of the same covariance type about the same reference points add up; a
    ValueError says how to make them.
    """
    iterator = iter(parts)
    total = next(iterator)
    counts, sums, scatters = total.counts.copy(), total.sums.copy(), total.scatters.copy()
    log_likelihood, total_weight, dtype = total.log_likelihood, total.total_weight, total.dtype
    for part in iterator:
        if part.covariance_type != total.covariance_type or not (
            part.about is total.about or np.array_equal(part.about, total.about)
        ):
            raise ValueError(
                "Only statistics of the same covariance type about the same points add up: "
                "compute every part with the same about=, or (full) the same ball= "
                "(gmmlib.statistics.bounding_ball of all the rows)."
            )
        counts += part.counts
        sums += part.sums
        scatters += part.scatters
        log_likelihood += part.log_likelihood
        total_weight += part.total_weight
        if part.dtype != dtype:
            dtype = "float32"
    return SufficientStatistics(
        counts,
        sums,
        scatters,
        log_likelihood,
        total_weight,
        total.about,
        total.covariance_type,
        dtype,
    )


def _moments_about_centre(
    resp: np.ndarray, features, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`N_k`, :math:`s_k`, :math:`Q_k` of a chunk about the centre :math:`c`, in float64.

    ``resp`` is shaped ``(K, rows)``; ``features`` are what :meth:`Components.log_prob`
    returned: ``tied``, the chunk's :func:`chunk_features`, whose product with
    :math:`R^\top` gives :math:`s_k` and :math:`N_k`, and one more product the pooled
    :math:`\sum_i (\sum_k r_{ik}) (x_i - c)(x_i - c)^\top`; ``diag`` and ``spherical``,
    the deviations and squares of :func:`deviations_and_squares`, whose products with
    :math:`R` are :math:`s_k` and the diagonals of :math:`Q_k`.
    """
    if covariance_type == "tied":
        n_features = features.shape[0] - 1
        products = (features @ resp.T).T.astype(np.float64)
        sums, counts = products[:, :n_features], products[:, n_features]
        x = features[:n_features]
        second = ((x * resp.sum(axis=0)) @ x.T).astype(np.float64)
        return np.ascontiguousarray(counts), np.ascontiguousarray(sums), second
    deviations, squares = features
    counts = resp @ np.ones(resp.shape[1], dtype=resp.dtype)  # BLAS, as the other two
    return (
        counts.astype(np.float64),
        (resp @ deviations).astype(np.float64),
        (resp @ squares).astype(np.float64),
    )


def _full_moments(
    resp: np.ndarray, work: tuple, components: Components
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``full``: :math:`N_k`, :math:`s_k` and :math:`Q_k` of a chunk, in float64.

    Exponential-family components: the features times their responsibilities, about the
    centre :math:`c` (one product). Whitened components: from their whitened deviations
    :math:`y_{ik} = (x_i - \mu_k) U_k` (overwritten), :math:`\sum_i r_{ik} y_{ik}` and
    :math:`\sum_i r_{ik} y_{ik} y_{ik}^\top` in one batched product; in whitened coordinates
    every component is round, so these sums are as accurate as :math:`y_{ik}` however
    elongated the component (:meth:`Components.unwhiten` brings them back).
    """
    features, y = work
    n_components, n_features = components.n_components, components.n_features
    counts = resp.sum(axis=1, dtype=np.float64)
    sums = np.empty((n_components, n_features))
    scatters = np.empty((n_components, n_features, n_features))
    family, whitened = components.family, components.whitened
    if family.size:
        own = resp if family.size == n_components else resp[family]
        products = (features @ own.T).T.astype(np.float64)
        sums[family] = products[:, :n_features]
        scatters[family] = unpack_upper(products[:, n_features + 1 :], n_features)
    if whitened.size:
        root = np.sqrt(resp if whitened.size == n_components else resp[whitened])
        np.multiply(y, root[:, None, :], out=y)  # (K_w, d, rows)
        scatters[whitened] = np.matmul(y, y.transpose(0, 2, 1))
        sums[whitened] = np.matmul(y, root[:, :, None])[:, :, 0]
    return counts, sums, scatters


def _moments_about_points(
    X: np.ndarray, resp: np.ndarray, about: np.ndarray, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`N_k`, :math:`s_k`, :math:`Q_k` of a chunk about the points :math:`a_k`, from the
    deviations :math:`x_i - a_k` themselves (no subtraction loses digits), in float64."""
    deviations = X[:, None, :] - about.astype(X.dtype)[None]  # (rows, K, d)
    counts = resp.sum(axis=0, dtype=np.float64)
    sums = np.einsum("nk,nkd->kd", resp, deviations).astype(np.float64)
    if covariance_type in ("full", "tied"):
        deviations *= np.sqrt(resp)[:, :, None]
        if covariance_type == "tied":
            flat = deviations.reshape(-1, deviations.shape[2])
            return counts, sums, (flat.T @ flat).astype(np.float64)
        scatters = np.matmul(deviations.transpose(1, 2, 0), deviations.transpose(1, 0, 2))
        return counts, sums, scatters.astype(np.float64)
    deviations *= deviations
    return counts, sums, np.einsum("nk,nkd->kd", resp, deviations).astype(np.float64)


def _weighted_resp(resp: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    if sample_weight is not None:
        resp *= sample_weight.astype(resp.dtype)[:, None]
    return resp


def weighted_log_likelihood(log_norm: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """:math:`\\sum_i w_i \\log p(x_i)` in float64; rows of weight 0 do not count."""
    if sample_weight is None:
        return float(np.sum(log_norm, dtype=np.float64))
    counted = sample_weight > 0
    return float(sample_weight[counted] @ log_norm[counted].astype(np.float64))


@on_one_blas_thread
def sufficient_statistics(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    precisions_cholesky: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    about: np.ndarray | None = None,
    ball: RowBall | None = None,
    n_jobs: int | None = None,
) -> SufficientStatistics:
    r"""The E-step on the rows ``X`` and the :class:`SufficientStatistics` it gives.

    For each chunk of rows: the responsibilities :math:`r_{ik}` under the given parameters,
    then :math:`N_k`, :math:`s_k`, :math:`Q_k` and :math:`\sum_i w_i \log p(x_i)`. Without
    ``about`` the statistics are about the centre :math:`c` of ``means`` (one matrix product
    per chunk, see the module docstring), except for ``full`` components in the whitened
    form, which are about their means :math:`\mu_k` (``stats.about`` says which); with
    ``about`` (K, d) they are about those points, from the deviations themselves. Chunks
    run on ``n_jobs`` threads (None: all cores, or ``OMP_NUM_THREADS``) and are added in
    chunk order, so the result does not depend on ``n_jobs``. float32 ``X`` is computed in
    float32; the sums are float64. ``ball`` (a :class:`RowBall` holding the rows; found from
    ``X`` when None) decides the form of ``full`` components: pass the same ball for every
    block of a data set so that their statistics add up.

    Parameters
    ----------
    X : array of shape (N, d)
    weights, means, covariances : the mixture's parameters (covariances shaped by type).
    covariance_type : one of ``gmmlib.COVARIANCE_TYPES`` (scikit-learn's four or an
        mclust model, computed by the kernel of its storage).
    precisions_cholesky : optional, the Cholesky factors of the precisions if already known.
    sample_weight : optional (N,) non-negative weights :math:`w_i` (row :math:`i` counts
        :math:`w_i` times).
    """
    kernel = storage(covariance_type)  # the statistics of the type's storage
    X = as_rows(X)
    sample_weight = check_sample_weight_shape(sample_weight, X.shape[0])
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    dtype = compute_dtype(X)
    n_threads = effective_n_jobs(n_jobs)
    components = prepare_components(
        X, weights, means, precisions_cholesky, covariance_type, n_threads, ball
    )
    n_components, n_features = np.shape(means)
    exact = about is not None
    reference = np.asarray(about, dtype=np.float64) if exact else components.references()
    if exact and reference.shape != (n_components, n_features):
        raise ValueError(
            f"about must have shape {(n_components, n_features)}; got {reference.shape}."
        )

    def chunk(rows: slice) -> SufficientStatistics:
        x = X[rows]
        log_prob, features = components.log_prob(x)
        resp = scratch_buffer("resp", log_prob.shape, log_prob.dtype)  # (K, rows)
        with np.errstate(over="ignore", invalid="ignore"):
            log_norm = normalise_columns(
                log_prob, components.log_weights, resp=resp, keep_log=False
            )
        weight = None if sample_weight is None else sample_weight[rows]
        if weight is not None:
            resp *= weight.astype(resp.dtype)
        if exact:
            moments = _moments_about_points(x, resp.T, reference, kernel)
        elif kernel == "full":
            moments = _full_moments(resp, features, components)
        else:
            moments = _moments_about_centre(resp, features, kernel)
        total_weight = float(x.shape[0] if weight is None else weight.sum())
        return SufficientStatistics(
            *moments,
            weighted_log_likelihood(log_norm, weight),
            total_weight,
            reference,
            covariance_type,
            dtype.name,
        )

    if X.shape[0] == 0:  # an empty block of a Dask array, say: it adds nothing
        scatters = np.zeros(
            (n_features, n_features)
            if kernel == "tied"
            else (n_components, n_features, n_features)
            if kernel == "full"
            else (n_components, n_features)
        )
        return SufficientStatistics(
            np.zeros(n_components),
            np.zeros((n_components, n_features)),
            scatters,
            0.0,
            0.0,
            reference,
            covariance_type,
            dtype.name,
        )
    per_row = components.numbers_per_row * (2 if exact else 1)
    slices = chunks(X.shape[0], per_row, dtype.itemsize)
    total = add_in_order(ordered_map(chunk, slices, n_threads))
    if kernel == "full" and not exact:
        components.unwhiten(total.sums, total.scatters)
    return total


@on_one_blas_thread
def responsibility_statistics(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
    *,
    sample_weight: np.ndarray | None = None,
    about: np.ndarray | None = None,
    n_jobs: int | None = None,
) -> SufficientStatistics:
    r"""The :class:`SufficientStatistics` of given responsibilities (``sample_weight``
    :math:`w_i` multiplies each row of them).

    Without ``about`` the statistics are taken about the weighted means
    :math:`\bar x_k = \sum_i w_i r_{ik} x_i / N_k` themselves (two passes: the means, then
    the deviations from them), so no digits are lost; ``log_likelihood`` is NaN (no E-step
    ran). ``resp`` may be any float type (a one-hot start in float32 takes half the memory);
    each chunk is converted on its own.
    """
    kernel = storage(covariance_type)
    X = as_rows(X)
    dtype = compute_dtype(X)
    resp = np.asarray(resp)
    n_samples, n_features = X.shape
    if resp.ndim != 2 or resp.shape[0] != n_samples:
        raise ValueError(f"resp must have shape (N, K) with N = {n_samples}; got {resp.shape}.")
    sample_weight = check_sample_weight_shape(sample_weight, n_samples)
    n_components = resp.shape[1]
    n_threads = effective_n_jobs(n_jobs)
    slices = list(chunks(n_samples, 2 * n_components * n_features))

    def weighted(rows: slice) -> np.ndarray:
        weight = None if sample_weight is None else sample_weight[rows]
        return _weighted_resp(resp[rows].astype(dtype), weight)

    if about is None:

        def first_moments(rows: slice) -> np.ndarray:
            r = weighted(rows)
            return np.column_stack(
                [r.sum(axis=0, dtype=np.float64), (r.T @ X[rows]).astype(np.float64)]
            )

        moments = np.sum(list(ordered_map(first_moments, slices, n_threads)), axis=0)
        about = moments[:, 1:] / divisors(moments[:, 0])[:, None]
    about = np.asarray(about, dtype=np.float64)

    def chunk(rows: slice) -> SufficientStatistics:
        weight = None if sample_weight is None else sample_weight[rows]
        moments = _moments_about_points(X[rows], weighted(rows), about, kernel)
        total = float(rows.stop - rows.start) if weight is None else float(weight.sum())
        return SufficientStatistics(*moments, math.nan, total, about, covariance_type, dtype.name)

    return add_in_order(ordered_map(chunk, slices, n_threads))


def weighted_outer(weights: np.ndarray, vectors: np.ndarray, covariance_type: str) -> np.ndarray:
    r""":math:`w_k v_k v_k^\top`, shaped like the scatters of ``covariance_type``: one matrix
    per component (``full``), their sum (``tied``), or the diagonals :math:`w_k v_k^2`
    (by the storage of ``covariance_type``)."""
    covariance_type = storage(covariance_type)
    if covariance_type == "full":
        return weights[:, None, None] * np.einsum("ki,kj->kij", vectors, vectors)
    if covariance_type == "tied":
        return (weights * vectors.T) @ vectors
    return weights[:, None] * vectors**2


def scatter_about_weighted_means(stats: SufficientStatistics, counts: np.ndarray) -> np.ndarray:
    r""":math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top` (pooled for ``tied``),
    with ``counts`` the :math:`N_k` (their :func:`divisors`)."""
    shifts = stats.sums / counts[:, None]
    return stats.scatters - weighted_outer(counts, shifts, stats.covariance_type)


def _diagonal(matrices: np.ndarray, covariance_type: str) -> np.ndarray:
    if storage(covariance_type) in ("full", "tied"):
        return np.diagonal(matrices, axis1=-2, axis2=-1)
    return matrices


def needs_recentring(stats: SufficientStatistics) -> bool:
    r"""True when :math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top` loses too many
    digits.

    The subtraction keeps about :math:`\log_{10}(1/\epsilon) - \log_{10}(Q_{jj}/S_{jj})`
    digits of each variance (and, by the Cauchy-Schwarz inequality, of each covariance):
    when the ratio exceeds :data:`_CANCELLATION_LIMIT` for a component that holds any
    weight, the statistics should be gathered again about
    :attr:`~SufficientStatistics.weighted_means`
    (:func:`gmmlib.em.em_loop` does). That happens when a component is tight compared with its
    distance from the reference points, for example right after a start far from the data.
    """
    within = _diagonal(
        scatter_about_weighted_means(stats, divisors(stats.counts)), stats.covariance_type
    )
    around = _diagonal(stats.scatters, stats.covariance_type)
    limit = _CANCELLATION_LIMIT_32 if stats.dtype == "float32" else _CANCELLATION_LIMIT
    holding = stats.counts > 1e-6 * max(float(stats.counts.sum()), np.finfo(float).tiny)
    if storage(stats.covariance_type) != "tied":
        around, within = around[holding], within[holding]
    elif not holding.any():
        return False
    with np.errstate(invalid="ignore", divide="ignore"):
        return bool(np.any(around > limit * np.maximum(within, 0.0)))


def whitened_components(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    *,
    ball: RowBall | None = None,
) -> np.ndarray:
    """``full``: the indices of the components that :func:`sufficient_statistics` evaluates
    in whitened coordinates (the others take the exponential-family form), for these
    parameters and rows (``ball``: a :class:`RowBall` holding them, found when None).

    The choice depends on each component's rounding bound and on the memory each form moves
    (see :class:`gmmlib._kernels.Components`); benchmarks report it."""
    X = as_rows(X)
    chol = _precisions_cholesky(np.asarray(covariances, dtype=np.float64), "full")
    components = prepare_components(
        X, np.asarray(weights, float), np.asarray(means, float), chol, "full", 1, ball
    )
    return components.whitened.copy()
