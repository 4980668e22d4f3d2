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
through a few sums over rows. For a set of rows with sample weights :math:`w_i` (1 without
weights) and reference points :math:`a_k` (:class:`SufficientStatistics`):

.. math::
    N_k = \sum_i w_i r_{ik}, \quad
    s_k = \sum_i w_i r_{ik} (x_i - a_k), \quad
    Q_k = \sum_i w_i r_{ik} (x_i - a_k)(x_i - a_k)^\top, \quad
    \ell = \sum_i w_i \log p(x_i).

The statistics of disjoint sets of rows add up, so EM is a pair of functions:

1. :func:`sufficient_statistics` runs the E-step on a set of rows and returns their
   statistics, in one pass: the rows are cut into cache-sized chunks, the chunks run on
   several threads (``n_jobs``), and their statistics are added in chunk order;
2. :func:`m_step_from_statistics` turns summed statistics into parameters:
   :math:`\bar x_k = a_k + s_k / N_k` and the scatter about it,
   :math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top`; with a conjugate prior
   (:mod:`gmmlib.prior`) the same function adds the prior's pseudo-counts.

Every data path is these two calls: the estimator (:class:`gmmlib.GaussianMixture`),
:func:`em_iterations` and :func:`em_history` in memory, with or without weights, and the Dask
path (:mod:`gmmlib._dask`), which computes the statistics of each block where the block lives
and adds them in a tree. :func:`e_step` and :func:`m_step` are the textbook steps
(responsibilities out, responsibilities in) for reading and teaching; :func:`m_step` is
:func:`responsibility_statistics` followed by the same :func:`m_step_from_statistics`.

**How the sums are computed.** The Gaussian's log-density is linear in the features
:math:`\phi(x) = (x, x x^\top, 1)` (it is an exponential family), so the log-densities of a
chunk are its features times one matrix, and :math:`N_k`, :math:`s_k` and :math:`Q_k` are
one more matrix product, the responsibilities times the features of :math:`x - c`, with
:math:`c` the centre of the current means (the reference :math:`a_k = c`). That form loses
digits for a component that is tight compared with its distance from :math:`c`; a ``full``
component for which it would is evaluated in whitened coordinates instead,
:math:`(x - \mu_k) U_k`, and its sums are about its mean (:math:`a_k = \mu_k`; see
:class:`_Components`). Whatever the reference, the subtraction in :math:`S_k` loses digits
when the means moved far compared with the components' widths; :func:`needs_recentring`
measures the loss, and then the statistics are gathered again about the new means
themselves, from the deviations :math:`x_i - \bar x_k` (:func:`em_loop` does this).

Everything works in the log domain and with Cholesky factors of precisions (see
:mod:`gmmlib._covariance`). float32 data are computed in float32 (twice the speed, half the
memory), with the statistics and the log-likelihood summed in float64; float64 data in
float64.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from scipy.linalg import solve_triangular

from ._covariance import check_covariance_type, log_det_cholesky
from ._covariance import precisions_cholesky as _precisions_cholesky
from ._parallel import effective_n_jobs, one_blas_thread, ordered_map

#: Scratch memory per chunk, in numbers (2**20 float64 numbers = 8 MiB). Large enough that
#: the Python work per chunk is small beside its arithmetic, small enough to stay in cache.
_CHUNK_NUMBERS = 2**20

#: The fewest and the most rows in a chunk. Narrow data reach the most: there, each chunk's
#: few dozen numpy calls (each holding the GIL briefly) are what costs, and raising the most
#: from 8,192 to 32,768 rows made float32 passes over 100,000 x 32 rows on two threads
#: 1.15-1.3x faster, and fits of 1,000,000 x 2 rows 1.5-1.9x.
_MIN_ROWS, _MAX_ROWS = 256, 32768

#: Log-probabilities more than 600 below a row's largest are raised to it before
#: exponentiating: :math:`e^{-600} \approx 10^{-261}` cannot change any sum of
#: responsibilities in float64, whereas the true, smaller values are subnormal numbers,
#: which slow every later matrix product ~50-fold. In float32 the floor is -80
#: (:math:`e^{-80} \approx 10^{-35}`, still a normal float32 number).
_LOG_FLOOR = -600.0
_LOG_FLOOR_32 = -80.0

#: A variance computed as a difference, :math:`Q_{jj} - N (\bar x_j - a_j)^2`, keeps about
#: :math:`\log_{10}(1/\epsilon) - \log_{10}(Q_{jj} / S_{jj})` digits. Where the ratio
#: :math:`Q_{jj}/S_{jj}` exceeds this limit (float64; float32 in the second entry), the
#: statistics are gathered again about the new means (:func:`needs_recentring`).
_CANCELLATION_LIMIT = 1e5
_CANCELLATION_LIMIT_32 = 1e3

#: ``full``: a component takes the exponential-family form when the bound on the rounding
#: error of its log-densities, in nats, stays below this (see :class:`_Components`). The
#: bound holds for the farthest row; measured errors are about 100 times smaller (float64:
#: about 1e-11 nats, so that fits agree with the whitened form to 1e-11 after 20 iterations
#: (``tests/test_weights.py``); float32: below 1e-3, about what float32 whitening gives).
_FAMILY_TOLERANCE = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-1}

#: ``full``: the exponential-family form halves the arithmetic but its features take
#: d + 1 + d(d+1)/2 numbers per row against the whitened form's K d; it is used only when
#: the former are at most this many times the latter (measured on 3,000,000 x 16 points:
#: with 4 components whitening is twice as fast on two cores, with 8 the family form 1.3x).
_FAMILY_MEMORY_RATIO = 1.5

#: ``full``: the whitened points :math:`(x - \mu_k) U_k` come from one product about the
#: centre; a component whose points could be off by more than this is recomputed.
_WHITENING_TOLERANCE = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-3}

#: The diagonal and spherical log-densities are an expanded square; entries whose rounding
#: error could exceed this many nats per nat of their size are recomputed from deviations.
_EXPANSION_TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-3}


def _on_one_blas_thread(function):
    """Run ``function`` with BLAS on one thread (see :func:`gmmlib._parallel.one_blas_thread`):
    the chunks, not BLAS, are spread over the cores, and the small matrices of a pass (a
    triangular solve per component) cost far more than they gain on several BLAS threads."""

    @functools.wraps(function)
    def on_one_thread(*args, **kwargs):
        with one_blas_thread():
            return function(*args, **kwargs)

    return on_one_thread


def _log_floor(dtype: np.dtype) -> float:
    return _LOG_FLOOR_32 if dtype == np.float32 else _LOG_FLOOR


def compute_dtype(X: np.ndarray) -> np.dtype:
    """The float type EM runs in for ``X``: float32 for float32 data, float64 otherwise."""
    return np.dtype(np.float32 if X.dtype == np.float32 else np.float64)


def _as_rows(X) -> np.ndarray:
    X = np.asarray(X)
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


def _rows_per_chunk(numbers_per_row: int, itemsize: int = 8) -> int:
    rows = _CHUNK_NUMBERS * 8 // itemsize // max(1, numbers_per_row)
    return int(min(max(_MIN_ROWS, rows), _MAX_ROWS)) if _CHUNK_NUMBERS > 1 else _MIN_ROWS


#: Chunk counts are rounded up to a multiple of the first of these that keeps chunks at
#: least half their largest size, so that 2, 4 or 8 threads get equal shares of a pass.
_CHUNK_MULTIPLES = (8, 4, 2)


def _chunks(n_samples: int, numbers_per_row: int, itemsize: int = 8) -> Iterator[slice]:
    """Row slices of equal size (within one row) whose scratch arrays take at most about as
    many bytes as :data:`_CHUNK_NUMBERS` float64 numbers (twice as many float32 numbers,
    ``itemsize=4``).

    Their number is a multiple of 8, 4 or 2 where the rows allow (:data:`_CHUNK_MULTIPLES`):
    100,000 rows make 16 chunks, not 12 full ones and a short one, which would leave one
    of two threads idle for the last. They depend only on the data's shape and type,
    never on the number of threads, so the order in which the chunks' results are added,
    and hence every rounding, is the same everywhere.
    """
    largest = _rows_per_chunk(numbers_per_row, itemsize)
    count = -(-n_samples // largest)
    for multiple in _CHUNK_MULTIPLES:
        balanced = -(-count // multiple) * multiple
        if 2 * n_samples >= balanced * largest:
            count = balanced
            break
    for i in range(count):
        yield slice(i * n_samples // count, (i + 1) * n_samples // count)


_scratch = threading.local()


def _buffer(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A scratch array of ``shape``, reused by the calling thread from chunk to chunk.

    Allocating several MiB per chunk costs page faults each time (and, with several
    threads, they wait on each other in the kernel); a buffer that stays makes the chunks
    independent of the memory allocator.
    """
    size = math.prod(shape)
    buffers = _scratch.__dict__.setdefault("buffers", {})
    key = (name, np.dtype(dtype).str)
    flat = buffers.get(key)
    if flat is None or flat.size < size:
        flat = buffers[key] = np.empty(size, dtype=dtype)
    return flat[:size].reshape(shape)


def _quadratic_size(kind: str, n_features: int) -> int:
    """Rows of second-order features: :math:`d(d+1)/2` (``"products"``) or none (``"linear"``)."""
    return n_features * (n_features + 1) // 2 if kind == "products" else 0


def _features(X: np.ndarray, kind: str, centre: np.ndarray) -> np.ndarray:
    r"""The features :math:`\phi(x) = [x - c,\ 1,\ \text{second order}]` of a chunk of rows,
    one feature per row of the result, shape ``(d + 1 + q, rows)`` (``full`` and ``tied``).

    The second-order part is, by ``kind``: ``"products"``, :math:`(x - c)_j (x - c)_l` for
    :math:`j \le l` (the upper triangle row by row: ``full``); ``"linear"``, nothing. The
    Gaussian's log-density is linear in these features (it is an exponential family), so a
    chunk's log-densities are its features times one prepared matrix, and the features
    times the responsibilities are the chunk's :math:`s_k`, :math:`N_k` and :math:`Q_k`
    about :math:`c`, in one product each. (Stored feature by feature, each product of two
    features is one pass over contiguous memory.)
    """
    n_rows, d = X.shape
    features = _buffer(kind, (d + 1 + _quadratic_size(kind, d), n_rows), X.dtype)
    x = np.subtract(X.T, centre.astype(X.dtype)[:, None], out=features[:d])
    features[d] = 1.0
    if kind == "products":
        row = d + 1
        for j in range(d):
            np.multiply(x[j], x[j:], out=features[row : row + d - j])
            row += d - j
    return features


#: Rows of a chunk taken together by :func:`_deviations_and_squares`, so that numpy's loop
#: over a row of :math:`d` numbers runs over this many rows at once.
_ROWS_TOGETHER = 16


def _deviations_and_squares(X: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``diag`` and ``spherical``: the deviations :math:`x - c` and their squares
    :math:`(x - c)^2` of a chunk of rows, each shaped like the chunk, ``(rows, d)``.

    They are the features of these types (the log-density is linear in them, with a
    constant), kept row by row: the products with them then need no transposed copy of
    the chunk, and in float32 the matrix product of rows times a narrow matrix runs about
    twice as fast as the same product laid out feature by feature (measured with
    OpenBLAS 0.3.31 on AMD EPYC; in float64 the two layouts are equally fast).
    """
    n_rows, d = X.shape
    deviations = _buffer("deviations", (n_rows, d), X.dtype)
    centre = centre.astype(X.dtype)
    head = n_rows - n_rows % _ROWS_TOGETHER
    np.subtract(
        X[:head].reshape(-1, _ROWS_TOGETHER * d),
        np.tile(centre, _ROWS_TOGETHER),
        out=deviations[:head].reshape(-1, _ROWS_TOGETHER * d),
    )
    np.subtract(X[head:], centre, out=deviations[head:])
    squares = np.multiply(deviations, deviations, out=_buffer("squares", (n_rows, d), X.dtype))
    return deviations, squares


def _upper_pairs(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The index pairs :math:`(j, l)`, :math:`j \le l`, in the order of ``"products"``."""
    return np.triu_indices(n_features)


def _unpack_upper(packed: np.ndarray, n_features: int) -> np.ndarray:
    """Symmetric matrices from their upper triangles stored row by row, shape (..., d, d)."""
    rows, columns = _upper_pairs(n_features)
    out = np.empty(packed.shape[:-1] + (n_features, n_features))
    out[..., rows, columns] = packed
    out[..., columns, rows] = packed
    return out


class RowBall(NamedTuple):
    """A ball that holds every row of a data set: its ``centre`` (d,) and ``radius``.

    It decides the form of each ``full`` component (:class:`_Components`): statistics
    computed with the same ball have the same reference points, so those of the blocks of
    one data set (Dask) add up. :func:`bounding_ball` finds one.
    """

    centre: np.ndarray
    radius: float

    def radius_about(self, point: np.ndarray) -> float:
        """A radius about ``point`` that holds every row (the triangle inequality); infinite
        for data whose distances overflow (every ``full`` component is then whitened)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.radius + float(np.sqrt(np.sum((np.asarray(point) - self.centre) ** 2)))


def bounding_ball(X: np.ndarray, n_jobs: int | None = None) -> RowBall:
    r"""The ball about the rows' mean :math:`\bar x` of radius :math:`\max_i \lVert x_i -
    \bar x \rVert`, a chunk at a time (two passes)."""
    X = _as_rows(X)
    n_threads = effective_n_jobs(n_jobs)
    slices = list(_chunks(X.shape[0], X.shape[1]))
    sums = ordered_map(lambda rows: X[rows].sum(axis=0, dtype=np.float64), slices, n_threads)
    centre = np.sum(list(sums), axis=0) / max(X.shape[0], 1)

    def farthest(rows: slice) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            x = X[rows] - centre
            return float(np.einsum("ij,ij->i", x, x).max(initial=0.0))

    return RowBall(centre, math.sqrt(max(ordered_map(farthest, slices, n_threads), default=0.0)))


class _Components:
    r"""The parameters of one EM iteration, prepared for evaluating chunks of rows.

    Evaluates :math:`\log \pi_k + \log \mathcal N(x_i \mid \mu_k, \Sigma_k)` a chunk at a time:

    .. math::
        \log \mathcal N(x \mid \mu_k, \Sigma_k) = -\tfrac12 \left( d \log 2\pi
        + \lVert (x - \mu_k) U_k \rVert^2 \right) + \log\det U_k,

    with :math:`U_k` the precision Cholesky factor (:math:`\Sigma_k^{-1} = U_k U_k^\top`).
    Everything that does not depend on :math:`x` is prepared once, so that each chunk costs
    one matrix product: points and means are shifted by the centre :math:`c` of the means
    (no distance changes, but the arithmetic stays accurate for data far from the origin).

    * ``full``, in one of two forms per component. The *exponential-family form*: the
      squared distance :math:`(x - \mu_k)^\top \Lambda_k (x - \mu_k)` is linear in the
      features :math:`\phi(x)` of :math:`x - c` (:func:`_features`, pairwise products), so
      :math:`\phi` times one prepared matrix gives all such components' log-densities, at
      half the arithmetic of whitening. Its rounding error grows like
      :math:`\epsilon\, \lVert \Lambda_k \rVert (\lVert x - c\rVert + \lVert \mu_k - c
      \rVert)^2`, so a component for which that could exceed :data:`_FAMILY_TOLERANCE`
      (tight, and far from :math:`c` compared with its width), or when there are too few
      components for the features to pay (:data:`_FAMILY_MEMORY_RATIO`), takes the
      *whitened form*:
      :math:`[x - c,\ 1]` times the stacked matrix
      :math:`\begin{bmatrix} U_k \\ -(\mu_k - c) U_k \end{bmatrix}` gives its
      :math:`(x - \mu_k) U_k`, whose squared norms follow.
    * ``tied``: one whitening :math:`(x - c) U`, then exact differences to each whitened mean.
    * ``diag`` and ``spherical``: the squared distance expands into terms linear in
      :math:`x - c` and :math:`(x - c)^2`, so the deviations and their squares
      (:func:`_deviations_and_squares`) times two prepared matrices, plus a constant per
      component, are already the weighted log-densities.
    """

    def __init__(
        self,
        weights: np.ndarray,
        means: np.ndarray,
        prec_chol: np.ndarray,
        covariance_type: str,
        dtype: np.dtype,
        radius: float | None = None,
    ) -> None:
        """``radius`` (``full`` only): the largest distance of a row from the centre of the
        means, which decides each component's form (None: every component whitened)."""
        n_components, n_features = means.shape
        self.covariance_type, self.dtype = covariance_type, np.dtype(dtype)
        self.n_components, self.n_features = n_components, n_features
        self.centre = means.mean(axis=0)
        means = means - self.centre
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(weights)
            constant = (
                self.log_weights
                + log_det_cholesky(prec_chol, covariance_type, n_features)
                - 0.5 * n_features * math.log(2 * math.pi)
            )
        self.constant = constant.astype(self.dtype)
        cast = lambda a: np.ascontiguousarray(a, dtype=self.dtype)  # noqa: E731
        self.kind = {"full": "products", "tied": "linear"}.get(covariance_type)
        if covariance_type == "full":
            self.prec_chol, self.means = prec_chol, means
            precisions = prec_chol @ np.swapaxes(prec_chol, 1, 2)
            distances = np.sqrt(np.sum(means**2, axis=1))
            n_terms = n_features + 1 + _quadratic_size(self.kind, n_features)
            error = (
                math.sqrt(n_terms) * np.finfo(self.dtype).eps
                * np.abs(precisions).sum(axis=2).max(axis=1)
                * (0.0 if radius is None else radius + distances) ** 2
            )
            # The features have d + 1 + d(d+1)/2 rows per data row, the whitened points K d:
            # with few components the family form saves arithmetic but moves more memory.
            cheaper = n_terms <= _FAMILY_MEMORY_RATIO * n_components * n_features
            family = (error <= _FAMILY_TOLERANCE[self.dtype]) & (radius is not None) & cheaper
            self.family, self.whitened = np.flatnonzero(family), np.flatnonzero(~family)
            if not self.family.size:
                self.kind = "linear"
            # exponential-family form: log density = phi(x) . h_k
            rows, columns = _upper_pairs(n_features)
            pair_weight = np.where(rows == columns, -0.5, -1.0)
            fam = self.family
            self.family_matrix = cast(
                np.vstack(
                    [
                        np.einsum("kde,ke->dk", precisions[fam], means[fam]),
                        constant[fam]
                        - 0.5 * np.einsum("kd,kde,ke->k", means[fam], precisions[fam], means[fam]),
                        (pair_weight * precisions[fam][:, rows, columns]).T,
                    ]
                )
            )
            # whitened form: [x - c, 1] times [U_k; -(mu_k - c) U_k]
            wh = self.whitened
            stacked = np.empty((n_features + 1, wh.size * n_features))
            stacked[:n_features] = prec_chol[wh].transpose(1, 0, 2).reshape(n_features, -1)
            stacked[n_features] = -np.einsum("kd,kde->ke", means[wh], prec_chol[wh]).reshape(-1)
            self.matrix = cast(stacked)
            # Rounding error of (x - c) U_k - (mu_k - c) U_k, per unit of |x - c| + |mu_k - c|.
            self.whitening_error = (
                np.sqrt(n_features + 1.0) * np.finfo(self.dtype).eps
                * np.sqrt(np.einsum("kij,kij->k", prec_chol[wh], prec_chol[wh]))
            )
            self.mean_distances = distances[wh]
            per_row = wh.size * n_features + 2 * n_components  # whitened points, log_prob, resp
        elif covariance_type == "tied":
            self.matrix = cast(prec_chol)
            self.projected_means = cast(means @ prec_chol)
            per_row = n_components * n_features  # the differences to the whitened means
        else:
            precisions = prec_chol**2
            if covariance_type == "spherical":
                precisions = np.repeat(precisions[:, None], n_features, axis=1)
            # log density = (x - c) . (mu P) - 1/2 (x - c)^2 . P + (constant - 1/2 P . mu^2)
            self.linear, self.quadratic = cast((means * precisions).T), cast(-0.5 * precisions.T)
            self.offset = cast(constant - 0.5 * np.sum(means**2 * precisions, axis=1))
            self.ones = np.ones(n_features, dtype=self.dtype)
            # For the exact recomputation of entries the expansion may get wrong.
            self.means, self.precisions, self.constant64 = means, precisions, constant
            self.mean_norms = np.sum(means**2, axis=1)
            # Rounding error of the expanded sum, per unit of |x - c|^2 + |mu - c|^2.
            self.error_scale = (
                (2 * n_features + 2) * np.finfo(self.dtype).eps * precisions.max(axis=1)
            )
            # squares, log_prob by component and by row, resp; the by-row quadratic terms
            # (K more) are left out of the budget
            per_row = n_features + 3 * n_components
        #: Scratch numbers per row of a chunk: the features and ``per_row`` more.
        self.numbers_per_row = n_features + 1 + _quadratic_size(self.kind, n_features) + per_row

    def log_prob(self, X: np.ndarray) -> tuple[np.ndarray, object]:
        """The weighted log-densities of a chunk ``X``, component by component: shape
        ``(K, rows)``, so that sums and maxima over the components run along whole rows of
        memory. Also returns what the chunk's statistics are computed from: its features
        (:func:`_features` about the centre :math:`c`), and for ``full`` also the whitened
        points of the whitened components, shape ``(K_w, d, rows)``."""
        n_rows, n_features = X.shape
        out = _buffer("log_prob", (self.n_components, n_rows), self.dtype)
        if self.covariance_type in ("diag", "spherical"):
            deviations, squares = _deviations_and_squares(X, self.centre)
            by_row = _buffer("log_prob_by_row", (n_rows, self.n_components), self.dtype)
            quadratic = _buffer("quadratic_by_row", (n_rows, self.n_components), self.dtype)
            np.matmul(deviations, self.linear, out=by_row)
            by_row += np.matmul(squares, self.quadratic, out=quadratic)
            np.add(by_row.T, self.offset[:, None], out=out)
            self._make_exact(out, X, squares @ self.ones)
            return out, (deviations, squares)
        features = _features(X, self.kind, self.centre)
        x = features[:n_features]
        if self.covariance_type == "tied":  # exact differences: |y|^2 - 2 y.m + |m|^2 loses digits
            y = _buffer("whitened", (self.n_components, n_features, n_rows), self.dtype)
            np.subtract((self.matrix.T @ x)[None], self.projected_means[:, :, None], out=y)
            np.einsum("kdn,kdn->kn", y, y, out=out)
            out *= -0.5
            out += self.constant[:, None]
            return out, features
        family, whitened = self.family, self.whitened
        if family.size == self.n_components:
            np.matmul(self.family_matrix.T, features, out=out)
        elif family.size:
            out[family] = self.family_matrix.T @ features
        y = None
        if whitened.size:
            y = _buffer("whitened", (whitened.size, n_features, n_rows), self.dtype)
            np.matmul(self.matrix.T, features[: n_features + 1], out=y.reshape(-1, n_rows))
            self._make_whitening_exact(y, X, x)
            norms = out if whitened.size == self.n_components else np.empty((whitened.size, n_rows), self.dtype)
            np.einsum("kdn,kdn->kn", y, y, out=norms)
            norms *= -0.5
            norms += self.constant[whitened, None]
            if norms is not out:
                out[whitened] = norms
        return out, (features, y)

    def _make_whitening_exact(self, y: np.ndarray, X: np.ndarray, x: np.ndarray) -> None:
        r"""Redo, from the deviations themselves, the whitened points that lost digits.

        One product gives every :math:`y_k = (x - c) U_k - (\mu_k - c) U_k`, with a rounding
        error of about :math:`\epsilon \sqrt{d + 1}\, (\lVert x - c\rVert + \lVert \mu_k -
        c\rVert) \lVert U_k \rVert_F`: for a tight component far from :math:`c` that can
        exceed :data:`_WHITENING_TOLERANCE`, and then that component's :math:`y_k` are
        recomputed as :math:`(x - \mu_k) U_k`; usually there are none.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            radius = math.sqrt(float(np.einsum("dn,dn->n", x, x).max(initial=0.0)))
            error = self.whitening_error * (radius + self.mean_distances)
        for j in np.flatnonzero(error > _WHITENING_TOLERANCE[self.dtype]):
            k = self.whitened[j]
            deviation = (X - self.centre) - self.means[k]
            y[j] = (deviation @ self.prec_chol[k]).T

    def unwhiten(self, sums: np.ndarray, scatters: np.ndarray) -> None:
        r"""``full``, in place for the whitened components: :math:`s_k = (\sum_i r_{ik}
        y_{ik}) U_k^{-1}` and :math:`Q_k = U_k^{-\top} (\sum_i r_{ik} y_{ik} y_{ik}^\top)
        U_k^{-1}`, the sums about :math:`\mu_k` in data coordinates, from those of the
        whitened :math:`y_{ik}`."""
        identity = np.eye(self.n_features)
        for k in self.whitened:
            inverse = solve_triangular(self.prec_chol[k], identity, lower=False)
            sums[k] = sums[k] @ inverse
            scatter = inverse.T @ scatters[k] @ inverse
            scatters[k] = (scatter + scatter.T) / 2

    def references(self) -> np.ndarray:
        r"""The points :math:`a_k` the statistics are about: the centre :math:`c` (exponential
        family form, and every type but ``full``) or the mean :math:`\mu_k` (whitened form)."""
        about = np.broadcast_to(self.centre, (self.n_components, self.n_features)).copy()
        if self.covariance_type == "full":
            about[self.whitened] += self.means[self.whitened]
        return about

    def _make_exact(self, out: np.ndarray, X: np.ndarray, x_norms: np.ndarray) -> None:
        r"""Redo, as a sum of squared differences, the entries the expansion may get wrong.

        The expanded square :math:`P x^2 - 2 P \mu x + P \mu^2` (shifted by the centre
        :math:`c`) costs one matrix product, but its rounding error grows like
        :math:`\epsilon\, P_{\max} (\lVert x - c\rVert^2 + \lVert \mu_k - c\rVert^2)`:
        several nats for a tight component far from :math:`c`. Entries whose error bound
        exceeds :data:`_EXPANSION_TOLERANCE` times :math:`1 + |\cdot|` and that can matter
        (not floored away in the log-sum-exp) are recomputed in float64 as
        :math:`\sum_j P_{kj} (x_j - \mu_{kj})^2`; usually there are none.

        Two checks at :math:`O(\text{rows} + K)` cost settle the usual case first: the
        largest bound of each component against the tolerance itself, then against the
        tolerance relative to its peak: every entry of component :math:`k` is at most its
        value at :math:`x = \mu_k`, the constant :math:`\log \pi_k - \frac12 \log\det(2\pi
        \Sigma_k)`, so where that is negative, no entry is smaller in size.
        """
        tolerance = _EXPANSION_TOLERANCE[self.dtype]
        largest = (x_norms.max(initial=0.0) + self.mean_norms) * self.error_scale
        if largest.max(initial=0.0) <= tolerance:
            return
        if np.all(largest <= tolerance * (1.0 + np.maximum(-self.constant64, 0.0))):
            return
        bound = np.multiply.outer(self.error_scale, x_norms.astype(np.float64))
        bound += (self.mean_norms * self.error_scale)[:, None]
        suspect = bound > tolerance * (1.0 + np.abs(out))
        if not suspect.any():
            return
        guaranteed_max = (out - bound).max(axis=0, keepdims=True)
        suspect &= out + bound >= guaranteed_max + _log_floor(self.dtype)
        components, rows = np.nonzero(suspect)
        for part in _chunks(len(rows), self.n_features):
            r, k = rows[part], components[part]
            difference = (X[r] - self.centre) - self.means[k]
            difference *= difference
            out[k, r] = self.constant64[k] - 0.5 * np.einsum(
                "ij,ij->i", difference, self.precisions[k]
            )


def _normalise_columns(
    weighted_log_prob: np.ndarray,
    log_weights: np.ndarray,
    resp: np.ndarray | None = None,
    *,
    keep_log: bool = True,
) -> np.ndarray:
    r"""Turn :math:`\log \pi_k \mathcal N(x_i\mid\cdot)`, shape ``(K, rows)``, into
    :math:`\log r_{ik}` in place.

    Returns :math:`\log p(x_i) = \log\sum_k \exp(\cdot)` per row, by the log-sum-exp trick:
    subtract each row's maximum over the components before exponentiating so nothing
    overflows (terms are floored at :data:`_LOG_FLOOR` below the maximum). If ``resp`` is
    given, the responsibilities :math:`r_{ik}` themselves are written into it, from the same
    exponentials (``keep_log=False``: only there, and ``weighted_log_prob`` is left as
    scratch).

    A row that is :math:`-\infty` for every component (a point so far from all of them that
    every density underflows) has :math:`\log p(x_i) = -\infty`: the floor is relative to
    a finite maximum and never turns such a row into a finite number. Its responsibilities
    are :math:`0/0`, undefined; they are set to the weights :math:`\pi_k`
    (``log_weights`` = :math:`\log \pi_k`), what is known before seeing the point, so no
    NaN reaches predictions or M-steps.
    """
    row_max = weighted_log_prob.max(axis=0, keepdims=True)
    unexplained = np.flatnonzero(~(row_max[0] > -np.inf))
    row_max[0, unexplained] = 0.0
    shifted = np.subtract(weighted_log_prob, row_max, out=None if keep_log else weighted_log_prob)
    np.maximum(shifted, _log_floor(shifted.dtype), out=shifted)
    terms = np.exp(shifted, out=shifted)
    total = terms.sum(axis=0)
    log_norm = np.log(total) + row_max[0]
    log_norm[unexplained] = -np.inf
    weights = log_weights.astype(weighted_log_prob.dtype)[:, None]
    if keep_log:
        with np.errstate(invalid="ignore"):
            weighted_log_prob -= log_norm
        weighted_log_prob[:, unexplained] = weights
    if resp is not None:
        np.divide(terms, total, out=resp)
        resp[:, unexplained] = np.exp(weights)
    return log_norm


# --------------------------------------------------------------------------- the statistics
@dataclass(frozen=True)
class SufficientStatistics:
    r"""What an M-step needs from a set of rows; those of disjoint sets add up (``+``).

    With :math:`w_i` the sample weights, :math:`r_{ik}` the responsibilities and
    :math:`a_k` the reference points (``about``):

    * ``counts`` (K,): :math:`N_k = \sum_i w_i r_{ik}`;
    * ``sums`` (K, d): :math:`s_k = \sum_i w_i r_{ik} (x_i - a_k)`;
    * ``scatters``: :math:`Q_k = \sum_i w_i r_{ik} (x_i - a_k)(x_i - a_k)^\top`, shaped by
      ``covariance_type``: (K, d, d) ``full``; (d, d) ``tied``, :math:`\sum_k Q_k`;
      (K, d) ``diag`` and ``spherical``, the diagonals;
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
        if self.covariance_type != other.covariance_type or not (
            self.about is other.about or np.array_equal(self.about, other.about)
        ):
            raise ValueError(
                "Only statistics of the same covariance type about the same points add up: "
                "compute every part with the same about=, or (full) the same ball= "
                "(gmmlib.em.bounding_ball of all the rows)."
            )
        return SufficientStatistics(
            self.counts + other.counts,
            self.sums + other.sums,
            self.scatters + other.scatters,
            self.log_likelihood + other.log_likelihood,
            self.total_weight + other.total_weight,
            self.about,
            self.covariance_type,
            self.dtype if self.dtype == other.dtype else "float32",
        )

    @property
    def weighted_means(self) -> np.ndarray:
        r""":math:`\bar x_k = a_k + s_k / N_k`, the responsibility-weighted means."""
        return self.about + self.sums / (self.counts + 10 * np.finfo(float).eps)[:, None]


def _sum_in_order(parts) -> SufficientStatistics:
    """The sum of an iterable of statistics, added left to right (a fixed rounding)."""
    iterator = iter(parts)
    total = next(iterator)
    counts, sums, scatters = total.counts.copy(), total.sums.copy(), total.scatters.copy()
    log_likelihood, total_weight = total.log_likelihood, total.total_weight
    for part in iterator:
        counts += part.counts
        sums += part.sums
        scatters += part.scatters
        log_likelihood += part.log_likelihood
        total_weight += part.total_weight
    return SufficientStatistics(
        counts, sums, scatters, log_likelihood, total_weight, total.about,
        total.covariance_type, total.dtype,
    )


def _moments_about_centre(
    resp: np.ndarray, features, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`N_k`, :math:`s_k`, :math:`Q_k` of a chunk about the centre :math:`c`, in float64.

    ``resp`` is shaped ``(K, rows)``; ``features`` are what :meth:`_Components.log_prob`
    returned: ``tied``, the chunk's :func:`_features`, whose product with
    :math:`R^\top` gives :math:`s_k` and :math:`N_k`, and one more product the pooled
    :math:`\sum_i (\sum_k r_{ik}) (x_i - c)(x_i - c)^\top`; ``diag`` and ``spherical``,
    the deviations and squares of :func:`_deviations_and_squares`, whose products with
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
    resp: np.ndarray, work: tuple, components: _Components
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``full``: :math:`N_k`, :math:`s_k` and :math:`Q_k` of a chunk, in float64.

    Exponential-family components: the features times their responsibilities, about the
    centre :math:`c` (one product). Whitened components: from their whitened deviations
    :math:`y_{ik} = (x_i - \mu_k) U_k` (overwritten), :math:`\sum_i r_{ik} y_{ik}` and
    :math:`\sum_i r_{ik} y_{ik} y_{ik}^\top` in one batched product; in whitened coordinates
    every component is round, so these sums are as accurate as :math:`y_{ik}` however
    elongated the component (:meth:`_Components.unwhiten` brings them back).
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
        scatters[family] = _unpack_upper(products[:, n_features + 1 :], n_features)
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


def _weighted_log_likelihood(log_norm: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """:math:`\\sum_i w_i \\log p(x_i)` in float64; rows of weight 0 do not count."""
    if sample_weight is None:
        return float(np.sum(log_norm, dtype=np.float64))
    counted = sample_weight > 0
    return float(sample_weight[counted] @ log_norm[counted].astype(np.float64))


def _check_sample_weight_shape(sample_weight, n_samples: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}, but X has {n_samples} rows: pass "
            "one weight per row."
        )
    return sample_weight


def _prepare(X, weights, means, prec_chol, covariance_type, n_threads, ball=None) -> _Components:
    """:class:`_Components` for the rows ``X``; for ``full``, a ball holding the rows (found
    here when not given) decides each component's form."""
    radius = None
    if covariance_type == "full":
        ball = bounding_ball(X, n_threads) if ball is None else ball
        radius = ball.radius_about(np.mean(means, axis=0))
    return _Components(weights, means, prec_chol, covariance_type, compute_dtype(X), radius)


@_on_one_blas_thread
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
    covariance_type : ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
    precisions_cholesky : optional, the Cholesky factors of the precisions if already known.
    sample_weight : optional (N,) non-negative weights :math:`w_i` (row :math:`i` counts
        :math:`w_i` times).
    """
    check_covariance_type(covariance_type)
    X = _as_rows(X)
    sample_weight = _check_sample_weight_shape(sample_weight, X.shape[0])
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    dtype = compute_dtype(X)
    n_threads = effective_n_jobs(n_jobs)
    components = _prepare(X, weights, means, precisions_cholesky, covariance_type, n_threads, ball)
    n_components, n_features = np.shape(means)
    exact = about is not None
    reference = np.asarray(about, dtype=np.float64) if exact else components.references()
    if exact and reference.shape != (n_components, n_features):
        raise ValueError(f"about must have shape {(n_components, n_features)}; got {reference.shape}.")

    def chunk(rows: slice) -> SufficientStatistics:
        x = X[rows]
        log_prob, features = components.log_prob(x)
        resp = _buffer("resp", log_prob.shape, log_prob.dtype)  # (K, rows)
        with np.errstate(over="ignore", invalid="ignore"):
            log_norm = _normalise_columns(
                log_prob, components.log_weights, resp=resp, keep_log=False
            )
        weight = None if sample_weight is None else sample_weight[rows]
        if weight is not None:
            resp *= weight.astype(resp.dtype)
        if exact:
            moments = _moments_about_points(x, resp.T, reference, covariance_type)
        elif covariance_type == "full":
            moments = _full_moments(resp, features, components)
        else:
            moments = _moments_about_centre(resp, features, covariance_type)
        total_weight = float(x.shape[0] if weight is None else weight.sum())
        return SufficientStatistics(
            *moments, _weighted_log_likelihood(log_norm, weight), total_weight, reference,
            covariance_type, dtype.name,
        )

    per_row = components.numbers_per_row * (2 if exact else 1)
    slices = _chunks(X.shape[0], per_row, dtype.itemsize)
    total = _sum_in_order(ordered_map(chunk, slices, n_threads))
    if covariance_type == "full" and not exact:
        components.unwhiten(total.sums, total.scatters)
    return total


@_on_one_blas_thread
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
    check_covariance_type(covariance_type)
    X = _as_rows(X)
    dtype = compute_dtype(X)
    resp = np.asarray(resp)
    n_samples, n_features = X.shape
    if resp.ndim != 2 or resp.shape[0] != n_samples:
        raise ValueError(f"resp must have shape (N, K) with N = {n_samples}; got {resp.shape}.")
    sample_weight = _check_sample_weight_shape(sample_weight, n_samples)
    n_components = resp.shape[1]
    n_threads = effective_n_jobs(n_jobs)
    slices = list(_chunks(n_samples, 2 * n_components * n_features))

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
        about = moments[:, 1:] / (moments[:, :1] + 10 * np.finfo(float).eps)
    about = np.asarray(about, dtype=np.float64)

    def chunk(rows: slice) -> SufficientStatistics:
        weight = None if sample_weight is None else sample_weight[rows]
        moments = _moments_about_points(X[rows], weighted(rows), about, covariance_type)
        total = float(rows.stop - rows.start) if weight is None else float(weight.sum())
        return SufficientStatistics(*moments, math.nan, total, about, covariance_type, dtype.name)

    return _sum_in_order(ordered_map(chunk, slices, n_threads))


def _weighted_outer(weights: np.ndarray, vectors: np.ndarray, covariance_type: str) -> np.ndarray:
    r""":math:`w_k v_k v_k^\top`, shaped like the scatters of ``covariance_type``: one matrix
    per component (``full``), their sum (``tied``), or the diagonals :math:`w_k v_k^2`."""
    if covariance_type == "full":
        return weights[:, None, None] * np.einsum("ki,kj->kij", vectors, vectors)
    if covariance_type == "tied":
        return (weights * vectors.T) @ vectors
    return weights[:, None] * vectors**2


def _scatter_about_weighted_means(stats: SufficientStatistics, counts: np.ndarray) -> np.ndarray:
    r""":math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top` (pooled for ``tied``)."""
    shifts = stats.sums / counts[:, None]
    return stats.scatters - _weighted_outer(counts, shifts, stats.covariance_type)


def _diagonal(matrices: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type in ("full", "tied"):
        return np.diagonal(matrices, axis1=-2, axis2=-1)
    return matrices


def needs_recentring(stats: SufficientStatistics) -> bool:
    r"""True when :math:`S_k = Q_k - N_k (\bar x_k - a_k)(\bar x_k - a_k)^\top` loses too many digits.

    The subtraction keeps about :math:`\log_{10}(1/\epsilon) - \log_{10}(Q_{jj}/S_{jj})`
    digits of each variance (and, by the Cauchy-Schwarz inequality, of each covariance):
    when the ratio exceeds :data:`_CANCELLATION_LIMIT` for a component that holds any
    weight, the statistics should be gathered again about :attr:`~SufficientStatistics.weighted_means`
    (:func:`em_loop` does). That happens when a component is tight compared with its
    distance from the reference points, for example right after a start far from the data.
    """
    counts = stats.counts + 10 * np.finfo(float).eps
    within = _diagonal(_scatter_about_weighted_means(stats, counts), stats.covariance_type)
    around = _diagonal(stats.scatters, stats.covariance_type)
    limit = _CANCELLATION_LIMIT_32 if stats.dtype == "float32" else _CANCELLATION_LIMIT
    holding = stats.counts > 1e-6 * max(float(stats.counts.sum()), np.finfo(float).tiny)
    if stats.covariance_type != "tied":
        around, within = around[holding], within[holding]
    elif not holding.any():
        return False
    with np.errstate(invalid="ignore", divide="ignore"):
        return bool(np.any(around > limit * np.maximum(within, 0.0)))


@_on_one_blas_thread
def m_step_from_statistics(
    stats: SufficientStatistics, *, reg_covar: float = 1e-6, prior=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    prior with every pseudo-count zero. A tiny constant is added to :math:`N_k` so an empty
    component does not divide by zero.
    """
    from .prior import pseudo_counts  # the prior module needs nothing from here

    covariance_type = stats.covariance_type
    n_components, n_features = stats.sums.shape
    counts = stats.counts + 10 * np.finfo(float).eps
    weighted_means = stats.about + stats.sums / counts[:, None]
    scatter = _scatter_about_weighted_means(stats, counts)
    pseudo = pseudo_counts(prior, covariance_type, n_components, n_features)

    weights = counts + pseudo.weight
    weights = weights / weights.sum()
    means = weighted_means
    if pseudo.mean_count:  # kappa_p points at mu_p pull each mean, and add to its scatter
        means = (counts[:, None] * weighted_means + pseudo.mean_count * pseudo.mean) / (
            counts + pseudo.mean_count
        )[:, None]
        pull = pseudo.mean_count * counts / (counts + pseudo.mean_count)
        scatter = scatter + _weighted_outer(pull, weighted_means - pseudo.mean, covariance_type)
    if covariance_type == "full":
        covariances = (scatter + pseudo.scatter) / (counts + pseudo.covariance_count)[:, None, None]
        covariances = (covariances + np.swapaxes(covariances, 1, 2)) / 2
        covariances[:, range(n_features), range(n_features)] += reg_covar
    elif covariance_type == "tied":
        covariances = (scatter + pseudo.scatter) / (counts.sum() + pseudo.covariance_count)
        covariances = (covariances + covariances.T) / 2
        covariances.flat[:: n_features + 1] += reg_covar
    elif covariance_type == "diag":
        scatter = np.maximum(scatter, 0.0)  # rounding must not make a variance negative
        covariances = (scatter + pseudo.scatter) / (counts + pseudo.covariance_count)[:, None]
        covariances += reg_covar
    else:
        traces = np.maximum(scatter, 0.0).sum(axis=1)
        covariances = (traces + pseudo.scatter) / (n_features * counts + pseudo.covariance_count)
        covariances += reg_covar
    return weights, means, covariances


# ----------------------------------------------------------------------- the textbook steps
@_on_one_blas_thread
def _expectations(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    precisions_cholesky: np.ndarray | None,
    *,
    log: bool,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The E-step's chunk loop: each block is normalised while it is still in cache.

    Returns the log-responsibilities (``log=True``) or the responsibilities themselves,
    and the per-sample log-likelihoods :math:`\log p(x_i)`, in the compute dtype of ``X``.
    """
    X = _as_rows(X)
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    dtype = compute_dtype(X)
    n_threads = effective_n_jobs(n_jobs)
    components = _prepare(X, weights, means, precisions_cholesky, covariance_type, n_threads)
    out = np.empty((X.shape[0], np.shape(means)[0]), dtype=dtype)
    log_norm = np.empty(X.shape[0], dtype=dtype)

    def chunk(rows: slice) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            block, _ = components.log_prob(X[rows])
            resp = None if log else _buffer("resp", block.shape, block.dtype)
            log_norm[rows] = _normalise_columns(block, components.log_weights, resp, keep_log=log)
        out[rows] = (block if log else resp).T

    slices = _chunks(X.shape[0], components.numbers_per_row, dtype.itemsize)
    for _ in ordered_map(chunk, slices, n_threads):
        pass
    return out, log_norm


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
    covariance_type : ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
    precisions_cholesky : optional, the Cholesky factors of the precisions if already known.
    n_jobs : threads over chunks of rows (None: all cores, or ``OMP_NUM_THREADS``).

    Returns
    -------
    log_resp : array of shape (N, K), :math:`\log r_{ik}`; each row's exponentials sum to 1.
    mean_log_likelihood : float, :math:`\frac1N \sum_i \log p(x_i)`.
    """
    check_covariance_type(covariance_type)
    log_resp, log_norm = _expectations(
        X, weights, means, covariances, covariance_type, precisions_cholesky, log=True,
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
    r"""Per-sample log-likelihood :math:`\log p(x_i) = \log\sum_k \pi_k \mathcal N(x_i\mid\mu_k,\Sigma_k)`."""
    check_covariance_type(covariance_type)
    return _expectations(
        X, weights, means, covariances, covariance_type, precisions_cholesky, log=False,
        n_jobs=n_jobs,
    )[1]


def m_step(
    X: np.ndarray, resp: np.ndarray, covariance_type: str, reg_covar: float = 1e-6, *, prior=None
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
    covariance_type : ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
    reg_covar : non-negative float added to the covariances' diagonals.

    Returns
    -------
    weights : (K,), means : (K, d), covariances : shaped by ``covariance_type``.
    """
    check_covariance_type(covariance_type)
    stats = responsibility_statistics(X, resp, covariance_type)
    return m_step_from_statistics(stats, reg_covar=reg_covar, prior=prior)


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
) -> Iterator[tuple[EMState, SufficientStatistics]]:
    r"""EM from the given start, forever, over any source of statistics: the one EM loop.

    Each round is one ``statistics`` pass (the E-step and the sums) and
    :func:`m_step_from_statistics`; when :func:`needs_recentring` says the sums about the
    centre lost too many digits, a second pass gathers them about the new means. Yields
    ``(state, statistics)``: the start, then the parameters after each iteration, each with
    its objective (:class:`EMState`) from the pass that also feeds the next M-step.

    Raises a ValueError when the log-likelihood is not finite (data too large or too small
    for floating point).
    """
    from .prior import log_prior

    prec_chol = precisions_cholesky
    if prec_chol is None:
        prec_chol = _precisions_cholesky(covariances, covariance_type)
    while True:
        stats = statistics(weights, means, covariances, prec_chol, None)
        objective = stats.log_likelihood
        if prior is not None:
            objective += log_prior(weights, means, covariances, prior, covariance_type)
        objective /= stats.total_weight
        if not np.isfinite(stats.log_likelihood / stats.total_weight):
            raise ValueError(
                "The log-likelihood is not finite: the data's values are too large or too "
                "small for floating point. Rescale the data (e.g. StandardScaler)."
            )
        yield EMState(weights, means, covariances, float(objective)), stats
        if needs_recentring(stats):
            stats = statistics(weights, means, covariances, prec_chol, stats.weighted_means)
        with one_blas_thread():
            weights, means, covariances = m_step_from_statistics(stats, reg_covar=reg_covar, prior=prior)
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
    X = _as_rows(X)
    sample_weight = _check_sample_weight_shape(sample_weight, X.shape[0])
    ball = bounding_ball(X, n_jobs) if covariance_type == "full" else None

    def statistics(weights, means, covariances, prec_chol, about):
        return sufficient_statistics(
            X, weights, means, covariances, covariance_type, precisions_cholesky=prec_chol,
            sample_weight=sample_weight, about=about, ball=ball, n_jobs=n_jobs,
        )

    return em_loop(
        statistics, weights, means, covariances, covariance_type, reg_covar=reg_covar,
        prior=prior, precisions_cholesky=precisions_cholesky,
    )


def weighted_mean_log_likelihood(log_norm: np.ndarray, sample_weight: np.ndarray | None) -> float:
    r""":math:`\sum_i w_i \log p(x_i) / \sum_i w_i` (the plain mean without weights).

    A row with weight 0 does not count, even where its :math:`\log p(x_i)` is
    :math:`-\infty`.
    """
    if sample_weight is None:
        return float(np.mean(log_norm, dtype=np.float64))
    counted = sample_weight > 0
    return _weighted_log_likelihood(log_norm, sample_weight) / float(sample_weight[counted].sum())


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
) -> list[EMState]:
    """The parameters of ``n_iter`` EM iterations from a start: entry 0 is the start.

    Meant for pictures and teaching (see :func:`gmmlib.plotting.animate_em`); the
    estimator :class:`gmmlib.GaussianMixture` runs the same :func:`em_loop`. With a
    complete conjugate ``prior`` it is MAP-EM, and each state's ``mean_log_likelihood`` is
    the mean log posterior, which never decreases when ``reg_covar=0``.
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer; got {n_iter!r}.")
    if prior is not None:
        from .prior import check_prior

        prior = check_prior(prior, covariance_type, np.shape(means)[1])
    states = em_iterations(
        X, weights, means, covariances, covariance_type, reg_covar=reg_covar,
        sample_weight=sample_weight, prior=prior,
    )
    return [state for state, _ in (next(states) for _ in range(n_iter + 1))]
