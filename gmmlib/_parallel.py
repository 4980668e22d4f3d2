"""Threads over chunks of rows: how many, and a map whose results come back in order.

EM's work is a sum over rows, done a cache-sized chunk at a time (:mod:`gmmlib.em`). numpy and
BLAS release the GIL inside their loops, so chunks can run on several threads of one
process, each calling a single-threaded BLAS. The chunks are always the same (they depend on
the data's shape, never on the number of threads) and their results are added in chunk
order, so a fit is bit-for-bit the same on one thread and on sixteen.

``n_jobs`` follows scikit-learn's estimators that run OpenMP threads (``KMeans``,
``HistGradientBoostingClassifier``): by default all the cores this process may use, or
``OMP_NUM_THREADS`` when it is set; ``-1`` is all cores, a positive number that many
threads, and ``-2`` all but one (joblib's convention for negative numbers).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ._validation import is_integer

T = TypeVar("T")
R = TypeVar("R")

#: Results computed ahead of the one the caller waits for, per thread: bounds the memory
#: held by finished chunks while an earlier one is still running.
_LOOKAHEAD = 2


def available_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask, on Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return max(1, os.cpu_count() or 1)


def check_n_jobs(n_jobs) -> None:
    """Raise a ValueError unless ``n_jobs`` is None or a non-zero integer."""
    if n_jobs is not None and (not is_integer(n_jobs) or n_jobs == 0):
        raise ValueError(
            f"n_jobs must be None (all cores, or OMP_NUM_THREADS), -1 (all cores), a positive "
            f"number of threads or a negative number (all cores but |n_jobs| - 1); got {n_jobs!r}."
        )


def effective_n_jobs(n_jobs: int | None = None) -> int:
    """The number of threads ``n_jobs`` stands for on this machine (at least 1)."""
    check_n_jobs(n_jobs)
    cores = available_cores()
    if n_jobs is None:
        limit = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
        return max(1, int(limit)) if limit.isdigit() else cores
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return int(n_jobs)


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_pools_pid = os.getpid()


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A long-lived pool of ``n_threads`` threads (new in a forked child: threads do not
    survive ``fork``)."""
    global _pools_pid
    with _pools_lock:
        if os.getpid() != _pools_pid:
            _pools.clear()
            _pools_pid = os.getpid()
        if n_threads not in _pools:
            _pools[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="gmmlib")
        return _pools[n_threads]


def ordered_map(function: Callable[[T], R], items: Iterable[T], n_threads: int) -> Iterator[R]:
    """``map(function, items)`` on ``n_threads`` threads, results in the order of ``items``.

    At most ``n_threads * (1 + _LOOKAHEAD)`` items are in flight, so results never pile up.
    With one thread (or from inside one of the pool's own threads) it is the plain ``map``.
    """
    if n_threads <= 1 or threading.current_thread().name.startswith("gmmlib"):
        yield from map(function, items)
        return
    pool = _pool(n_threads)
    pending: deque = deque()
    source = iter(items)
    for item in source:
        pending.append(pool.submit(function, item))
        if len(pending) >= n_threads * (1 + _LOOKAHEAD):
            break
    while pending:
        result = pending.popleft().result()
        for item in source:
            pending.append(pool.submit(function, item))
            break
        yield result


@functools.cache
def _threadpools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_limits_lock = threading.Lock()
#: Per threadpoolctl ``user_api`` ("blas", or None for every pool): how many contexts are
#: open, and the limiter the outermost one set.
_limits: dict[str | None, list] = {"blas": [0, None], None: [0, None]}


@contextlib.contextmanager
def _one_thread(user_api: str | None) -> Iterator[None]:
    """Limit the thread pools of ``user_api`` to one thread; re-entrant, and free when
    already inside (setting a limit costs about half a millisecond: threadpoolctl asks every
    library loaded, as much as a whole EM iteration on small data). The limit is
    process-wide, as the libraries' own settings are."""
    with _limits_lock:
        state = _limits[user_api]
        covered = user_api == "blas" and _limits[None][0] > 0
        if state[0] == 0 and not covered:
            state[1] = _threadpools().limit(limits=1, user_api=user_api)
        state[0] += 1
    try:
        yield
    finally:
        with _limits_lock:
            state[0] -= 1
            if state[0] == 0 and state[1] is not None:
                state[1].restore_original_limits()
                state[1] = None


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """Context in which BLAS runs on one thread (re-entrant; nested contexts cost nothing).

    The chunks are the parallelism (one BLAS thread per chunk, see ``ordered_map``), and
    each chunk's matrix products are too small to split further: splitting them costs more
    than it gains, and far more when the cores are busy (``benchmarks/bench_em.py``).
    """
    return _one_thread("blas")


def single_threaded() -> contextlib.AbstractContextManager[None]:
    """Context in which every thread pool (BLAS and OpenMP, as used by scikit-learn's
    ``KMeans``) runs on one thread: for work that is itself run in parallel, such as
    :func:`gmmlib.select_model`'s candidates (re-entrant, like :func:`one_blas_thread`)."""
    return _one_thread(None)


def on_one_blas_thread(function: Callable[..., R]) -> Callable[..., R]:
    """Run ``function`` inside :func:`one_blas_thread`: for the numerical core's entry points
    (the statistics passes, the E-step, the M-step), whether called by the estimator or by
    a reader of the EM chapter."""

    @functools.wraps(function)
    def on_one_thread(*args, **kwargs):
        with one_blas_thread():
            return function(*args, **kwargs)

    return on_one_thread
