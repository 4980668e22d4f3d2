r"""The numerical kernels of EM: chunks of rows, scratch buffers, log-densities, log-sum-exp.

Everything here works on one chunk of rows at a time, sized to stay in cache
(:func:`chunks`), with scratch arrays that each thread reuses from chunk to chunk
(:func:`scratch_buffer`):

* :class:`Components` prepares one iteration's parameters so that a chunk's weighted
  log-densities :math:`\log \pi_k + \log \mathcal N(x_i \mid \mu_k, \Sigma_k)` cost one or
  two matrix products, in the exponential-family form or whitened, whichever keeps the
  digits (its docstring says when);
* :func:`normalise_columns` turns them into responsibilities and :math:`\log p(x_i)` by the
  log-sum-exp trick;
* :func:`expectations` is the E-step's loop over chunks, on threads.

:mod:`gmmlib.statistics` builds the sufficient statistics on top of these, and
:mod:`gmmlib.em` the EM algorithm on top of those.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from ._covariance import log_det_cholesky, storage
from ._covariance import precisions_cholesky as _precisions_cholesky
from ._parallel import effective_n_jobs, on_one_blas_thread, ordered_map
from ._validation import as_rows, compute_dtype

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

#: ``full``: a component takes the exponential-family form when the bound on the rounding
#: error of its log-densities, in nats, stays below this (see :class:`Components`). The
#: bound holds for the farthest row; measured errors are about 100 times smaller (float64:
#: about 1e-11 nats, so that fits agree with the whitened form to 1e-11 after 20 iterations
#: (``tests/test_mixture.py``); float32: below 1e-3, about what float32 whitening gives).
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


def log_floor(dtype: np.dtype) -> float:
    return _LOG_FLOOR_32 if dtype == np.float32 else _LOG_FLOOR


def _rows_per_chunk(numbers_per_row: int, itemsize: int = 8) -> int:
    rows = _CHUNK_NUMBERS * 8 // itemsize // max(1, numbers_per_row)
    return int(min(max(_MIN_ROWS, rows), _MAX_ROWS)) if _CHUNK_NUMBERS > 1 else _MIN_ROWS


#: Chunk counts are rounded up to a multiple of the first of these that keeps chunks at
#: least half their largest size, so that 2, 4 or 8 threads get equal shares of a pass.
_CHUNK_MULTIPLES = (8, 4, 2)


def chunks(n_samples: int, numbers_per_row: int, itemsize: int = 8) -> Iterator[slice]:
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


def scratch_buffer(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
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


def chunk_features(X: np.ndarray, kind: str, centre: np.ndarray) -> np.ndarray:
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
    features = scratch_buffer(kind, (d + 1 + _quadratic_size(kind, d), n_rows), X.dtype)
    x = np.subtract(X.T, centre.astype(X.dtype)[:, None], out=features[:d])
    features[d] = 1.0
    if kind == "products":
        row = d + 1
        for j in range(d):
            np.multiply(x[j], x[j:], out=features[row : row + d - j])
            row += d - j
    return features


#: Rows of a chunk taken together by :func:`deviations_and_squares`, so that numpy's loop
#: over a row of :math:`d` numbers runs over this many rows at once.
_ROWS_TOGETHER = 16


def deviations_and_squares(X: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``diag`` and ``spherical``: the deviations :math:`x - c` and their squares
    :math:`(x - c)^2` of a chunk of rows, each shaped like the chunk, ``(rows, d)``.

    They are the features of these types (the log-density is linear in them, with a
    constant), kept row by row: the products with them then need no transposed copy of
    the chunk, and in float32 the matrix product of rows times a narrow matrix runs about
    twice as fast as the same product laid out feature by feature (measured with
    OpenBLAS 0.3.31 on AMD EPYC; in float64 the two layouts are equally fast).
    """
    n_rows, d = X.shape
    deviations = scratch_buffer("deviations", (n_rows, d), X.dtype)
    centre = centre.astype(X.dtype)
    head = n_rows - n_rows % _ROWS_TOGETHER
    np.subtract(
        X[:head].reshape(-1, _ROWS_TOGETHER * d),
        np.tile(centre, _ROWS_TOGETHER),
        out=deviations[:head].reshape(-1, _ROWS_TOGETHER * d),
    )
    np.subtract(X[head:], centre, out=deviations[head:])
    squares = np.multiply(
        deviations, deviations, out=scratch_buffer("squares", (n_rows, d), X.dtype)
    )
    return deviations, squares


@functools.cache
def _upper_pairs(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The index pairs :math:`(j, l)`, :math:`j \le l`, in the order of ``"products"``
    (computed once per dimension: every chunk of a pass unpacks its scatters with them)."""
    rows, columns = np.triu_indices(n_features)
    rows.flags.writeable = columns.flags.writeable = False
    return rows, columns


def unpack_upper(packed: np.ndarray, n_features: int) -> np.ndarray:
    """Symmetric matrices from their upper triangles stored row by row, shape (..., d, d)."""
    rows, columns = _upper_pairs(n_features)
    out = np.empty(packed.shape[:-1] + (n_features, n_features))
    out[..., rows, columns] = packed
    out[..., columns, rows] = packed
    return out


class RowBall(NamedTuple):
    """A ball that holds every row of a data set: its ``centre`` (d,) and ``radius``.

    It decides the form of each ``full`` component (the kernels' ``Components``): statistics
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
    X = as_rows(X)
    n_threads = effective_n_jobs(n_jobs)
    slices = list(chunks(X.shape[0], X.shape[1]))
    sums = list(ordered_map(lambda rows: X[rows].sum(axis=0, dtype=np.float64), slices, n_threads))
    centre = (np.sum(sums, axis=0) if sums else np.zeros(X.shape[1])) / max(X.shape[0], 1)

    def farthest(rows: slice) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            x = X[rows] - centre
            return float(np.einsum("ij,ij->i", x, x).max(initial=0.0))

    return RowBall(centre, math.sqrt(max(ordered_map(farthest, slices, n_threads), default=0.0)))


class Components:
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
      features :math:`\phi(x)` of :math:`x - c` (:func:`chunk_features`, pairwise products), so
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
      (:func:`deviations_and_squares`) times two prepared matrices, plus a constant per
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
        # The centre is rounded to the data's float type once, here: the chunks are shifted
        # by it in that type, so the means must be shifted by the same number (float32 data
        # far from the origin were otherwise off by the rounding of the centre).
        self.centre = means.mean(axis=0).astype(self.dtype).astype(np.float64)
        means = means - self.centre
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(weights)
            constant = (
                self.log_weights
                + log_det_cholesky(prec_chol, covariance_type, n_features)
                - 0.5 * n_features * math.log(2 * math.pi)
            )
        self.constant = constant.astype(self.dtype)
        cast = lambda a: np.ascontiguousarray(a, dtype=self.dtype)
        #: The second-order features of the exponential-family form: ``"products"``
        #: (``full``), ``"linear"`` (``tied``, and ``full`` with every component whitened),
        #: or ``""`` (``diag`` and ``spherical``, whose features are row by row).
        self.kind = {"full": "products", "tied": "linear"}.get(covariance_type, "")
        if covariance_type == "full":
            self.prec_chol, self.means = prec_chol, means
            precisions = prec_chol @ np.swapaxes(prec_chol, 1, 2)
            distances = np.sqrt(np.sum(means**2, axis=1))
            n_terms = n_features + 1 + _quadratic_size(self.kind, n_features)
            error = (
                math.sqrt(n_terms)
                * np.finfo(self.dtype).eps
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
                np.sqrt(n_features + 1.0)
                * np.finfo(self.dtype).eps
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

    def log_prob(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """The weighted log-densities of a chunk ``X``, component by component: shape
        ``(K, rows)``, so that sums and maxima over the components run along whole rows of
        memory. Also returns what the chunk's statistics are computed from: its features
        (:func:`chunk_features` about the centre :math:`c`), and for ``full`` also the whitened
        points of the whitened components, shape ``(K_w, d, rows)``."""
        n_rows, n_features = X.shape
        out = scratch_buffer("log_prob", (self.n_components, n_rows), self.dtype)
        if self.covariance_type in ("diag", "spherical"):
            deviations, squares = deviations_and_squares(X, self.centre)
            by_row = scratch_buffer("log_prob_by_row", (n_rows, self.n_components), self.dtype)
            quadratic = scratch_buffer("quadratic_by_row", (n_rows, self.n_components), self.dtype)
            np.matmul(deviations, self.linear, out=by_row)
            by_row += np.matmul(squares, self.quadratic, out=quadratic)
            np.add(by_row.T, self.offset[:, None], out=out)
            self._make_exact(out, X, squares @ self.ones)
            return out, (deviations, squares)
        features = chunk_features(X, self.kind, self.centre)
        x = features[:n_features]
        if self.covariance_type == "tied":  # exact differences: |y|^2 - 2 y.m + |m|^2 loses digits
            z = scratch_buffer("whitened", (self.n_components, n_features, n_rows), self.dtype)
            np.subtract((self.matrix.T @ x)[None], self.projected_means[:, :, None], out=z)
            np.einsum("kdn,kdn->kn", z, z, out=out)
            out *= -0.5
            out += self.constant[:, None]
            return out, features
        family, whitened = self.family, self.whitened
        if family.size == self.n_components:
            np.matmul(self.family_matrix.T, features, out=out)
        elif family.size:
            out[family] = self.family_matrix.T @ features
        y: np.ndarray | None = None
        if whitened.size:
            y = scratch_buffer("whitened", (whitened.size, n_features, n_rows), self.dtype)
            np.matmul(self.matrix.T, features[: n_features + 1], out=y.reshape(-1, n_rows))
            self._make_whitening_exact(y, X, x)
            norms = (
                out
                if whitened.size == self.n_components
                else np.empty((whitened.size, n_rows), self.dtype)
            )
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
        suspect &= out + bound >= guaranteed_max + log_floor(self.dtype)
        components, rows = np.nonzero(suspect)
        for part in chunks(len(rows), self.n_features):
            r, k = rows[part], components[part]
            difference = (X[r] - self.centre) - self.means[k]
            difference *= difference
            out[k, r] = self.constant64[k] - 0.5 * np.einsum(
                "ij,ij->i", difference, self.precisions[k]
            )


def normalise_columns(
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
    np.maximum(shifted, log_floor(shifted.dtype), out=shifted)
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


def prepare_components(
    X, weights, means, prec_chol, covariance_type, n_threads, ball=None
) -> Components:
    """:class:`Components` for the rows ``X``, with the kernel of ``covariance_type``'s
    storage (:func:`gmmlib._covariance.storage`: any of mclust's models is evaluated as
    the scikit-learn type that stores it); for ``full``, a ball holding the rows (found
    here when not given) decides each component's form."""
    radius = None
    covariance_type = storage(covariance_type)
    if covariance_type == "full":
        ball = bounding_ball(X, n_threads) if ball is None else ball
        radius = ball.radius_about(np.mean(means, axis=0))
    return Components(weights, means, prec_chol, covariance_type, compute_dtype(X), radius)


@on_one_blas_thread
def expectations(
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
    X = as_rows(X)
    if precisions_cholesky is None:
        precisions_cholesky = _precisions_cholesky(covariances, covariance_type)
    dtype = compute_dtype(X)
    n_threads = effective_n_jobs(n_jobs)
    components = prepare_components(
        X, weights, means, precisions_cholesky, covariance_type, n_threads
    )
    out = np.empty((X.shape[0], np.shape(means)[0]), dtype=dtype)
    log_norm = np.empty(X.shape[0], dtype=dtype)

    def chunk(rows: slice) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            block, _ = components.log_prob(X[rows])
            if log:
                log_norm[rows] = normalise_columns(block, components.log_weights)
                out[rows] = block.T
            else:
                resp = scratch_buffer("resp", block.shape, block.dtype)
                log_norm[rows] = normalise_columns(
                    block, components.log_weights, resp, keep_log=False
                )
                out[rows] = resp.T

    slices = chunks(X.shape[0], components.numbers_per_row, dtype.itemsize)
    for _ in ordered_map(chunk, slices, n_threads):
        pass
    return out, log_norm
