r"""EM on Dask arrays: the same sufficient statistics as in memory, summed over blocks.

:class:`gmmlib.GaussianMixture` hands a Dask array here (it never imports Dask itself, so
``gmmlib`` works without Dask installed). One EM iteration is one pass over the data:

1. every block of rows :math:`X_b` (with its sample weights :math:`w_b`) is turned into its
   sufficient statistics by :func:`gmmlib.em`'s own per-chunk function, on the worker that
   holds (or reads) the block: :math:`N_k`, :math:`\sum_i w_i r_{ik} x_i`, the weighted
   scatter about the current means and :math:`\sum_i w_i \log p(x_i)`;
2. the statistics, a few kilobytes per block whatever the block's size, are added in a tree
   (``split_every`` blocks per node), so no machine ever holds more than a few blocks;
3. the client turns the total into new parameters with :mod:`gmmlib.em`'s M-step.

Because the statistics of a union of blocks are the sums of the blocks' statistics, the result
is the in-memory EM's, up to the order of floating-point additions. The estimator's own loop
decides convergence (``tol``, ``max_iter``, ``verbose``).

**Initialisation** reads a uniform random sample of ``init_sample_size`` rows (default
:data:`INIT_SAMPLE_SIZE`), and runs the estimator's chosen ``init_params`` (k-means,
k-means++, ...) on that sample; user-given ``weights_init``/``means_init``/
``precisions_init`` are used as they are. This is the one step that does not see all data.

**Files and clusters:** :func:`write_npy` streams a large array into a ``.npy`` file block by
block; :func:`from_npy` opens it as a Dask array whose tasks each read their own rows, so the
task graph holds a file name, never the data; :func:`local_cluster` starts worker processes
set up for EM, and :func:`peak_resident_mib` measures a process's peak memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_random_state

from . import _covariance as cov
from ._validation import is_dask_array
from . import em
from .em import EMState, RowBall, SufficientStatistics, em_loop, sufficient_statistics

if TYPE_CHECKING:  # pragma: no cover
    import dask.array as da

#: Rows read for the initialisation (k-means or k-means++ on a uniform sample of rows).
INIT_SAMPLE_SIZE = 100_000

#: Blocks whose statistics are added by one task of the tree reduction.
SPLIT_EVERY = 8


def _block_statistics(X, sample_weight, params, covariance_type, about, ball):
    """Sufficient statistics of one block (runs inside a Dask task, on the worker's thread).

    ``ball`` holds every row of the whole array, so all blocks use the same reference
    points and their statistics add up."""
    weights, means, covariances, prec_chol = params
    X = np.asarray(X)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return sufficient_statistics(
        X, weights, means, covariances, covariance_type,
        sample_weight=weight, precisions_cholesky=prec_chol, about=about, ball=ball, n_jobs=1,
    )


def _block_ball(X) -> tuple[np.ndarray, float, int]:
    """A block's mean, largest distance from it (:func:`gmmlib.em.bounding_ball`) and row
    count."""
    X = np.asarray(X)
    ball = em.bounding_ball(X, n_jobs=1)
    return ball.centre, ball.radius, X.shape[0]


def bounding_ball(X: da.Array) -> RowBall:
    """A :class:`gmmlib.em.RowBall` holding every row of ``X``, in one pass over the blocks:
    about the mean of the rows, the radius :math:`\\max_b (r_b + \\lVert c_b - c \\rVert)`
    over the blocks' own balls."""
    import dask

    X = row_blocks(X)
    parts = dask.compute(*[dask.delayed(_block_ball)(block) for block in X.to_delayed().ravel()])
    counts = np.array([n for _, _, n in parts], dtype=float)
    centres = np.array([c for c, _, _ in parts])
    centre = counts @ centres / counts.sum()
    radius = max(r + float(np.linalg.norm(c - centre)) for c, r, n in parts if n)
    return RowBall(centre, radius)


def _sum_statistics(*parts: SufficientStatistics) -> SufficientStatistics:
    """One node of the tree reduction: its children's statistics, added in a fixed order."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def row_blocks(X: da.Array) -> da.Array:
    """``X`` with all its columns in one chunk, so that each block is a set of whole rows."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D Dask array of shape (N, d); got {X.ndim} dimensions.")
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def weight_blocks(sample_weight, X: da.Array):
    """Sample weights as a Dask array with ``X``'s row blocks, or None."""
    if sample_weight is None:
        return None
    import dask.array as da

    if not is_dask_array(sample_weight):
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; it must be one weight per "
                f"row of X, shape ({X.shape[0]},)."
            )
        return da.from_array(sample_weight, chunks=(X.chunks[0],))
    if sample_weight.shape != (X.shape[0],):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; it must be one weight per row "
            f"of X, shape ({X.shape[0]},)."
        )
    return sample_weight.rechunk((X.chunks[0],))


def statistics(
    X: da.Array,
    sample_weight: da.Array | None,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    prec_chol: np.ndarray,
    covariance_type: str,
    about: np.ndarray | None = None,
    ball: RowBall | None = None,
    *,
    split_every: int = SPLIT_EVERY,
) -> SufficientStatistics:
    """One pass over ``X``: the blocks' sufficient statistics, summed in a tree, computed.

    Each block's statistics are :func:`gmmlib.em.sufficient_statistics` of its rows (about
    ``about``, or the reference points ``ball`` decides), so the sum is what the in-memory
    pass gives. ``full`` needs a ``ball`` holding every row (:func:`bounding_ball`).
    """
    import dask

    if covariance_type == "full" and ball is None:
        ball = bounding_ball(X)

    # Fresh keys each pass (pure=False): a pass never reuses a previous pass's results.
    params = dask.delayed((weights, means, covariances, prec_chol), pure=False, traverse=False)
    blocks = X.to_delayed().ravel()
    weight_parts = (
        [None] * len(blocks) if sample_weight is None else sample_weight.to_delayed().ravel()
    )
    block_stats = dask.delayed(_block_statistics, pure=False)
    add = dask.delayed(_sum_statistics, pure=False)
    parts = [
        block_stats(block, weight, params, covariance_type, about, ball)
        for block, weight in zip(blocks, weight_parts)
    ]
    while len(parts) > 1:
        parts = [add(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    (total,) = dask.compute(parts[0])
    return total


def em_iterations(
    X: da.Array,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    *,
    sample_weight: da.Array | None = None,
    reg_covar: float = 1e-6,
    precisions_cholesky: np.ndarray | None = None,
    prior=None,
) -> Iterator[tuple[EMState, SufficientStatistics]]:
    """EM on a Dask array, forever: :func:`gmmlib.em.em_loop` with one pass over the blocks
    (:func:`statistics`) as its source of statistics.

    Yields ``(state, statistics)`` as :func:`gmmlib.em.em_iterations` does; the
    responsibilities stay on the workers.
    """

    ball = bounding_ball(X) if covariance_type == "full" else None

    def one_pass(weights, means, covariances, prec_chol, about):
        return statistics(
            X, sample_weight, weights, means, covariances, prec_chol, covariance_type, about, ball
        )

    return em_loop(
        one_pass, weights, means, covariances, covariance_type, reg_covar=reg_covar,
        prior=prior, precisions_cholesky=precisions_cholesky,
    )


def sample_rows(
    X: da.Array, n_rows: int, random_state, sample_weight: da.Array | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """A uniform random sample of ``n_rows`` distinct rows of ``X`` (all rows if fewer).

    Only the blocks that hold sampled rows are read, each once. Returns the rows (in file
    order) and their weights (None without weights).
    """
    rng = check_random_state(random_state)
    n_samples = X.shape[0]
    if n_rows >= n_samples:
        index = np.arange(n_samples)
    else:
        index = np.sort(rng.choice(n_samples, size=n_rows, replace=False))
    rows = np.asarray(X[index].compute(), dtype=np.float64)
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight[index].compute(), dtype=np.float64)
    return rows, weight


# ------------------------------------------------------------------------- lazy predictions
def map_method(method: Callable, X: da.Array) -> da.Array:
    """A fitted model's ``predict``, ``predict_proba`` or ``score_samples``, block by block.

    Returns a lazy Dask array with ``X``'s row blocks: one label or log-density per row, or
    ``K`` responsibilities per row. Nothing is computed until the caller asks.
    """
    from sklearn.utils.validation import check_is_fitted

    model = method.__self__
    check_is_fitted(model)
    X = row_blocks(X)
    if method.__name__ == "predict":
        return X.map_blocks(method, drop_axis=1, dtype=np.intp, meta=np.empty((0,), np.intp))
    # float32 only if both the data and the model are, as in memory.
    dtype = np.result_type(X.dtype, model.means_.dtype, np.float32)
    if method.__name__ == "score_samples":
        return X.map_blocks(method, drop_axis=1, dtype=dtype, meta=np.empty((0,), dtype))
    return X.map_blocks(
        method,
        chunks=(X.chunks[0], (model.n_components,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


def total_log_likelihood(model, X: da.Array, sample_weight=None) -> tuple[float, float]:
    """:math:`\\sum_i w_i \\log p(x_i)` and :math:`\\sum_i w_i` of a Dask array, in one pass.

    What ``score``, ``bic`` and ``aic`` need; rows of weight 0 do not count (even at
    :math:`-\\infty`), as in memory.
    """
    import dask
    import dask.array as da

    X = row_blocks(X)
    scores = model.score_samples(X).astype(np.float64)
    weight = weight_blocks(sample_weight, X)
    if weight is None:
        total, n = dask.compute(scores.sum(), X.shape[0])
        return float(total), float(n)
    if not bool(((weight >= 0) & da.isfinite(weight)).all().compute()):
        raise ValueError("sample_weight must be finite and non-negative.")
    counted = da.where(weight > 0, scores * weight, 0.0)
    total, n = dask.compute(counted.sum(), weight.sum())
    if not n > 0:
        raise ValueError("sample_weight is zero everywhere: at least one row must count.")
    return float(total), float(n)


# ----------------------------------------------------------------------------------- cluster
#: Environment of every worker process: one BLAS/OpenMP thread (a worker runs one task per
#: thread, and tasks are the parallelism), and glibc's own malloc tuning. Dask's nanny sets
#: ``MALLOC_TRIM_THRESHOLD_=65536`` so that workers hand freed memory back to the system at
#: once; that also fixes glibc's mmap threshold at 128 KiB, so every scratch buffer of the
#: E-step (about 1 MiB per chunk) is mapped, page-faulted in and unmapped again: measured
#: here, the statistics of a block took 3-5 times as long. ``None`` unsets the variable.
WORKER_ENVIRONMENT = {
    "MALLOC_TRIM_THRESHOLD_": None,
    "OMP_NUM_THREADS": 1,
    "OPENBLAS_NUM_THREADS": 1,
    "MKL_NUM_THREADS": 1,
}


def local_cluster(n_workers: int = 2, *, memory_limit: str | int = "auto", **kwargs):
    """A ``distributed.LocalCluster`` of worker processes, one thread each, set up for EM.

    Each worker gets :data:`WORKER_ENVIRONMENT` and at most ``memory_limit`` (bytes or a
    string such as ``"600MiB"``): above 60% of it a worker spills data to disk, above 80% it
    pauses, above 95% the nanny restarts it. No dashboard, warnings only. Other keywords go
    to ``LocalCluster``. Use it as a context manager, with ``distributed.Client(cluster)``.
    """
    import logging

    import dask
    from distributed import LocalCluster

    options = {
        "n_workers": n_workers,
        "threads_per_worker": 1,
        "processes": True,
        "memory_limit": memory_limit,
        "dashboard_address": None,
        "silence_logs": logging.ERROR,
        **kwargs,
    }
    # Starting the workers also writes these variables into this process's environment
    # (OMP_NUM_THREADS=1 would then make every in-memory fit here use one core): the
    # workers get them from the setting, and this process keeps its own.
    saved = {name: os.environ.get(name) for name in WORKER_ENVIRONMENT}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT}):
            return LocalCluster(**options)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ------------------------------------------------------------------------------------ memory
def peak_resident_mib() -> float:
    """This process's peak resident memory in MiB (Linux's ``VmHWM``).

    Run it on the workers with ``client.run(peak_resident_mib)``. Not ``ru_maxrss``: a worker
    started by forking inherits its parent's.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("No VmHWM in /proc/self/status: peak memory is measured on Linux only.")


# ------------------------------------------------------------------------------------- files
def write_npy(
    path: str | os.PathLike,
    n_samples: int,
    n_features: int,
    make_rows: Callable[[int, int], np.ndarray],
    *,
    rows_per_write: int = 2**18,
) -> str:
    """Write an ``(n_samples, n_features)`` float64 ``.npy`` file a block of rows at a time.

    ``make_rows(start, stop)`` returns rows ``start:stop``; at most ``rows_per_write`` rows
    are in memory at once, so the file may be far larger than memory.
    """
    path = os.fspath(path)
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float64)),
        "fortran_order": False,
        "shape": (n_samples, n_features),
    }
    # Plain writes, not a memory map: a map's dirty pages would count against this process.
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        for start in range(0, n_samples, rows_per_write):
            stop = min(start + rows_per_write, n_samples)
            rows = np.ascontiguousarray(make_rows(start, stop), dtype=np.float64)
            if rows.shape != (stop - start, n_features):
                raise ValueError(
                    f"make_rows({start}, {stop}) returned shape {rows.shape}; expected "
                    f"{(stop - start, n_features)}."
                )
            rows.tofile(file)
    return path


def write_gaussian_clusters(
    path: str | os.PathLike,
    n_samples: int,
    n_features: int,
    n_components: int,
    *,
    random_state: int = 0,
    rows_per_write: int = 2**18,
) -> str:
    r"""A ``.npy`` file of points from a random mixture, written block by block.

    Centres :math:`\mu_k \sim \mathcal N(0, 16 I)` and shapes :math:`A_k` (entries
    :math:`\mathcal N(0, 1/d)`) are drawn once (the distribution of
    :func:`gmmlib.datasets.gaussian_clusters`); each block of ``rows_per_write`` rows draws
    its uniform labels and its points :math:`\mu_k + A_k z`, :math:`z \sim \mathcal N(0, I)`,
    from a seed made of ``random_state`` and its first row, so memory holds one block.
    """
    rng = np.random.default_rng(random_state)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    shapes = rng.normal(size=(n_components, n_features, n_features)) / np.sqrt(n_features)

    def make_rows(start: int, stop: int) -> np.ndarray:
        block_rng = np.random.default_rng([random_state, start])
        labels = block_rng.integers(n_components, size=stop - start)
        rows = block_rng.normal(size=(stop - start, n_features))
        for k in range(n_components):  # one matrix product per component, in place
            mine = labels == k
            rows[mine] = rows[mine] @ shapes[k] + centres[k]
        return rows

    return write_npy(path, n_samples, n_features, make_rows, rows_per_write=rows_per_write)


class _NpyRows:
    """A C-ordered 2-D ``.npy`` file seen as an array; indexing reads only the rows asked for.

    A slice of whole rows is one ``read`` at the right offset (no memory map, whose page
    faults cost more system time than the read); other keys go through a memory map.
    Pickles as its path and header, so Dask ships a file name to the workers, never the data.
    """

    def __init__(self, path: str):
        self.path = path
        array = np.load(path, mmap_mode="r")
        if array.ndim != 2 or not array.flags.c_contiguous:
            raise ValueError(
                f"{path} holds an array of shape {array.shape} (Fortran order: "
                f"{not array.flags.c_contiguous}); expected a C-ordered (N, d) array."
            )
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.offset = array.offset

    def __getitem__(self, key):
        rows, columns = key if isinstance(key, tuple) and len(key) == 2 else (key, slice(None))
        if (
            isinstance(rows, slice)
            and rows.step in (None, 1)
            and columns == slice(None)
        ):
            start, stop, _ = rows.indices(self.shape[0])
            width = self.shape[1] * self.dtype.itemsize
            count = max(stop - start, 0) * self.shape[1]
            flat = np.fromfile(
                self.path, dtype=self.dtype, count=count, offset=self.offset + start * width
            )
            return flat.reshape(-1, self.shape[1])
        return np.array(np.load(self.path, mmap_mode="r")[key])


def from_npy(path: str | os.PathLike, rows_per_block: int) -> da.Array:
    """A Dask array over a 2-D ``.npy`` file; each task reads its own ``rows_per_block`` rows."""
    import dask.array as da

    source = _NpyRows(os.fspath(path))
    return da.from_array(
        source, chunks=(rows_per_block, -1), asarray=False, fancy=False, meta=np.empty((0, 0))
    )


# ------------------------------------------------------------------------------ the estimator
def fit(estimator, X: da.Array, sample_weight=None, *, init_sample_size: int = INIT_SAMPLE_SIZE):
    """Fit ``estimator`` (a :class:`gmmlib.GaussianMixture`) to a Dask array; return it.

    The estimator's parameters mean what they mean in memory; its own loop (``_run``) decides
    convergence. Starts come from a random sample of ``init_sample_size`` rows (see the module
    docstring) unless all of ``weights_init``, ``means_init`` and ``precisions_init`` are given.
    """
    from .mixture import _check_magnitude

    estimator._check_parameters()
    X = row_blocks(X)
    n_samples, n_features = X.shape
    if n_samples < estimator.n_components:
        raise ValueError(
            f"n_components={estimator.n_components} is larger than the number of samples "
            f"({n_samples}); use at most {n_samples} components or more data."
        )
    weight = weight_blocks(sample_weight, X)

    def start_rows(random_state):
        rows, row_weights = sample_rows(
            X, max(init_sample_size, estimator.n_components), random_state, weight
        )
        _check_magnitude(rows)  # on the sample: all rows would cost a pass of their own
        return rows, row_weights

    dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
    estimator.prior_ = _complete_prior(estimator, X, weight)
    iterations = partial(em_iterations, sample_weight=weight, prior=estimator.prior_)
    estimator._fit_starts(X, start_rows, dtype, iterations)
    estimator.n_features_in_ = n_features
    return estimator


def _complete_prior(estimator, X: da.Array, sample_weight: da.Array | None):
    """The estimator's prior with its data-dependent defaults from one pass over ``X``."""
    if estimator.prior is None:
        return None
    import dask
    import dask.array as da

    from .prior import default_prior_from_moments, weighted_moments

    weight = da.ones(X.shape[0], chunks=(X.chunks[0],)) if sample_weight is None else sample_weight
    mean, variance = dask.compute(*weighted_moments(X, weight))
    given = None if isinstance(estimator.prior, str) else estimator.prior
    return default_prior_from_moments(
        mean, variance, estimator.covariance_type, estimator.n_components, given
    )
