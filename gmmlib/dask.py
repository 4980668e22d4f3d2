r"""Dask arrays as a data source for EM: the same sufficient statistics as in memory,
summed over blocks.

:class:`gmmlib.GaussianMixture` fits a Dask array through this module (gmmlib imports Dask
only when it is given a Dask array, so it works without Dask installed); nothing here knows
the estimator. One EM iteration is one pass over the data (:func:`em_iterations`):

1. every block of rows :math:`X_b` (with its sample weights :math:`w_b`) is turned into its
   sufficient statistics by :func:`gmmlib.statistics.sufficient_statistics`, on the worker
   that holds (or reads) the block: :math:`N_k`, the weighted sums and scatters and
   :math:`\sum_i w_i \log p(x_i)`;
2. the statistics, a few kilobytes per block whatever the block's size, are added in a tree
   (``split_every`` blocks per node), so no machine ever holds more than a few blocks;
3. the client turns the total into new parameters with :mod:`gmmlib.em`'s M-step.

Because the statistics of a union of blocks are the sums of the blocks' statistics, the
result is the in-memory EM's, up to the order of floating-point additions.

What else a fit needs of the data, each in one pass or less: the weights checked by the
same rules as in memory (:func:`check_weights`), a uniform sample of rows to start from
(:func:`sample_rows`; the estimator's ``init_sample_size``, by default
:data:`INIT_SAMPLE_SIZE`: the one step that does not see all the data), the weighted mean
and covariance for a prior's defaults (:func:`moments`), weighted totals of per-row values
for ``score``, ``bic`` and ``aic`` (:func:`weighted_total`), and a fitted model's
predictions block by block, lazily (:func:`map_rows`).

**Files and clusters:** :func:`from_npy` opens a ``.npy`` file as a Dask array whose tasks
each read their own rows (write one block by block with :func:`gmmlib.datasets.write_npy`),
so the task graph holds a file name, never the data; :func:`local_cluster` starts worker
processes set up for EM (one BLAS thread each, glibc's own memory tuning), and
:func:`peak_resident_mib` measures what a worker held at most.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_random_state

from ._covariance import storage
from ._validation import is_dask_array, sample_weight_problem
from .em import EMState, em_loop
from .prior import weighted_moments
from .statistics import RowBall, SufficientStatistics, add_in_order, sufficient_statistics
from .statistics import bounding_ball as _rows_ball

if TYPE_CHECKING:  # pragma: no cover
    import dask.array as da

__all__ = [
    "INIT_SAMPLE_SIZE",
    "SPLIT_EVERY",
    "WORKER_ENVIRONMENT",
    "bounding_ball",
    "check_weights",
    "em_iterations",
    "from_npy",
    "local_cluster",
    "map_rows",
    "moments",
    "peak_resident_mib",
    "row_blocks",
    "sample_rows",
    "statistics",
    "weight_blocks",
    "weighted_total",
]

#: Rows a start is computed from by default (k-means or k-means++ on a uniform sample).
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
        X,
        weights,
        means,
        covariances,
        covariance_type,
        sample_weight=weight,
        precisions_cholesky=prec_chol,
        about=about,
        ball=ball,
        n_jobs=1,
    )


def _block_ball(X) -> tuple[np.ndarray, float, int]:
    """A block's mean, largest distance from it (:func:`gmmlib.statistics.bounding_ball`) and
    row count."""
    X = np.asarray(X)
    ball = _rows_ball(X, n_jobs=1)
    return ball.centre, ball.radius, X.shape[0]


def bounding_ball(X: da.Array) -> RowBall:
    """A :class:`gmmlib.statistics.RowBall` holding every row of ``X``, in one pass over the blocks:
    about the mean of the rows, the radius :math:`\\max_b (r_b + \\lVert c_b - c \\rVert)`
    over the blocks' own balls."""
    import dask

    X = row_blocks(X)
    parts = dask.compute(*[dask.delayed(_block_ball)(block) for block in X.to_delayed().ravel()])
    parts = [part for part in parts if part[2]]  # an empty block holds no row
    counts = np.array([n for _, _, n in parts], dtype=float)
    centres = np.array([c for c, _, _ in parts]).reshape(len(parts), X.shape[1])
    centre = counts @ centres / max(counts.sum(), 1.0)
    radius = max((r + float(np.linalg.norm(c - centre)) for c, r, n in parts), default=0.0)
    return RowBall(centre, radius)


def _sum_statistics(*parts: SufficientStatistics) -> SufficientStatistics:
    """One node of the tree reduction: its children's statistics, added in a fixed order."""
    return add_in_order(parts)


def row_blocks(X: da.Array) -> da.Array:
    """``X`` with all its columns in one chunk, so that each block is a set of whole rows."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D Dask array of shape (N, d); got {X.ndim} dimensions.")
    if any(math.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            "X has blocks of unknown size (as after boolean indexing, X[X[:, 0] > 0]): "
            "compute them first with X.compute_chunk_sizes() (one pass over the data)."
        )
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def weight_blocks(sample_weight, X: da.Array):
    """Sample weights as a Dask array with ``X``'s row blocks, or None; their shape checked
    (their values by :func:`check_weights`)."""
    if sample_weight is None:
        return None
    import dask.array as da

    if not is_dask_array(sample_weight):
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (X.shape[0],):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; it must be one weight per row "
            f"of X, shape ({X.shape[0]},)."
        )
    if not is_dask_array(sample_weight):
        sample_weight = da.from_array(sample_weight, chunks=(X.chunks[0],))
    return sample_weight.astype(np.float64).rechunk((X.chunks[0],))


def check_weights(sample_weight: da.Array) -> int:
    """Raise the ValueError that :func:`gmmlib._validation.check_sample_weight` raises in
    memory, for weights on Dask; return how many rows have positive weight (one pass: are
    they finite, their smallest value, their sum, the positive ones)."""
    import dask
    import dask.array as da

    finite, minimum, total, positive = dask.compute(
        da.isfinite(sample_weight).all(),
        sample_weight.min(),
        sample_weight.sum(),
        (sample_weight > 0).sum(),
    )
    problem = sample_weight_problem(finite=bool(finite), minimum=float(minimum), total=float(total))
    if problem:
        raise ValueError(problem)
    return int(positive)


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

    Each block's statistics are :func:`gmmlib.statistics.sufficient_statistics` of its rows (about
    ``about``, or the reference points ``ball`` decides), so the sum is what the in-memory
    pass gives. ``full`` needs a ``ball`` holding every row (:func:`bounding_ball`).
    """
    import dask

    if storage(covariance_type) == "full" and ball is None:
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
    m_step_options: dict | None = None,
) -> Iterator[tuple[EMState, SufficientStatistics]]:
    """EM on a Dask array, forever: :func:`gmmlib.em.em_loop` with one pass over the blocks
    (:func:`statistics`) as its source of statistics.

    Yields ``(state, statistics)`` as :func:`gmmlib.em.em_iterations` does; the
    responsibilities stay on the workers.
    """

    ball = bounding_ball(X) if storage(covariance_type) == "full" else None

    def one_pass(weights, means, covariances, prec_chol, about):
        return statistics(
            X, sample_weight, weights, means, covariances, prec_chol, covariance_type, about, ball
        )

    return em_loop(
        one_pass,
        weights,
        means,
        covariances,
        covariance_type,
        reg_covar=reg_covar,
        prior=prior,
        precisions_cholesky=precisions_cholesky,
        m_step_options=m_step_options,
    )


def sample_rows(
    X: da.Array, n_rows: int, random_state, sample_weight: da.Array | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """A uniform random sample of ``n_rows`` distinct rows of ``X`` (all rows if fewer),
    drawn among the rows of positive weight when there are ``sample_weight``.

    Only the blocks that hold sampled rows are read, each once (and, with weights, the
    weights' signs, one byte a row). Returns the rows (in file order) and their weights
    (None without weights).
    """
    rng = check_random_state(random_state)
    if sample_weight is None:
        candidates = np.arange(X.shape[0])
    else:
        candidates = np.flatnonzero(np.asarray((sample_weight > 0).compute()))
    if n_rows >= len(candidates):
        index = candidates
    else:
        index = candidates[np.sort(rng.choice(len(candidates), size=n_rows, replace=False))]
    rows = np.asarray(X[index].compute(), dtype=np.float64)
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight[index].compute(), dtype=np.float64)
    return rows, weight


def moments(X: da.Array, sample_weight: da.Array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows' (weighted) mean and sample covariance in one pass
    (:func:`gmmlib.prior.weighted_moments`), for a prior's data-dependent defaults."""
    import dask
    import dask.array as da

    X = row_blocks(X)
    weight = da.ones(X.shape[0], chunks=(X.chunks[0],)) if sample_weight is None else sample_weight
    mean, variance = dask.compute(*weighted_moments(X, weight))
    return mean, variance


# ------------------------------------------------------------------------- lazy predictions
def map_rows(
    function: Callable[[np.ndarray], np.ndarray],
    X: da.Array,
    *,
    dtype: np.dtype,
    n_columns: int | None = None,
) -> da.Array:
    """``function`` applied to each block of rows of ``X``, lazily: a Dask array with
    ``X``'s row blocks and one value per row (``n_columns=None``) or ``n_columns`` per row.

    For a fitted model's ``predict``, ``score_samples`` or ``predict_proba``; nothing is
    computed until the caller asks.
    """
    X = row_blocks(X)
    if n_columns is None:
        return X.map_blocks(  # type: ignore[call-arg]
            function,  # type: ignore[arg-type]
            drop_axis=1,
            dtype=dtype,
            meta=np.empty((0,), dtype),
        )
    return X.map_blocks(  # type: ignore[call-arg]
        function,  # type: ignore[arg-type]
        chunks=(X.chunks[0], (n_columns,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


def weighted_total(values: da.Array, sample_weight: da.Array | None = None) -> tuple[float, float]:
    r""":math:`\sum_i w_i v_i` over the rows of positive weight, and :math:`\sum_i w_i`,
    in one pass (all :math:`w_i = 1` without weights): a total log-likelihood and its
    :math:`N` for ``score``, ``bic`` and ``aic``. A row of weight 0 does not count, even
    where its value is :math:`-\infty`, as in memory."""
    import dask
    import dask.array as da

    values = values.astype(np.float64)
    if sample_weight is None:
        total, n = dask.compute(values.sum(), values.shape[0])
        return float(total), float(n)
    check_weights(sample_weight)
    counted = da.where(sample_weight > 0, values * sample_weight, 0.0)
    total, n = dask.compute(counted.sum(), sample_weight.sum())
    return float(total), float(n)


# ----------------------------------------------------------------------------------- cluster
#: The environment of every worker process. One BLAS/OpenMP thread (a worker runs one task per
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
        if isinstance(rows, slice) and rows.step in (None, 1) and columns == slice(None):
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
