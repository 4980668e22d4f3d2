"""gmmlib._parallel: how many threads n_jobs means, the ordered map over chunks, and the
one-BLAS-thread limit."""

from __future__ import annotations

import threading
import time

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from gmmlib._parallel import (
    _LOOKAHEAD,
    available_cores,
    effective_n_jobs,
    on_one_blas_thread,
    one_blas_thread,
    ordered_map,
    single_threaded,
)


def test_n_jobs_default_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert effective_n_jobs(None) == 3
    assert effective_n_jobs(5) == 5
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert effective_n_jobs(None) == effective_n_jobs(-1) >= 1
    assert effective_n_jobs(-1000) == 1


def test_negative_n_jobs_count_back_from_all_cores():
    cores = available_cores()
    assert effective_n_jobs(-1) == cores
    assert effective_n_jobs(-2) == max(1, cores - 1)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "two", True])
def test_n_jobs_that_mean_nothing_are_refused(n_jobs):
    with pytest.raises(ValueError, match="n_jobs must be None .* got"):
        effective_n_jobs(n_jobs)


@pytest.mark.parametrize("n_threads", [1, 2, 5])
def test_ordered_map_returns_results_in_the_order_of_the_items(n_threads):
    """Items that take longer come back in their place, whatever finishes first."""

    def slow_square(i):
        time.sleep(0.002 * (7 - i % 7))
        return i * i

    assert list(ordered_map(slow_square, range(40), n_threads)) == [i * i for i in range(40)]


def test_ordered_map_holds_few_items_in_flight():
    """With 2 threads at most 2 * (1 + lookahead) items are in flight (one more is started as
    the first result is taken), so a long sequence of chunks never piles up results."""
    started = []

    def record(i):
        started.append(i)
        return i

    results = ordered_map(record, range(100), 2)
    assert next(results) == 0
    time.sleep(0.05)
    assert len(started) <= 2 * (1 + _LOOKAHEAD) + 1
    assert list(results) == list(range(1, 100))


def test_ordered_map_inside_its_own_threads_is_the_plain_map():
    """A map started from one of the pool's threads runs there (no pool waits on itself)."""

    def inner(i):
        names = list(ordered_map(lambda _: threading.current_thread().name, range(3), 2))
        return set(names) == {threading.current_thread().name}

    assert all(ordered_map(inner, range(4), 2))


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_the_one_blas_thread_limit_is_reentrant_and_restored():
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        with one_blas_thread():
            assert blas_threads() == {1}
            with one_blas_thread():
                assert blas_threads() == {1}
            assert blas_threads() == {1}  # the inner context leaves the outer's limit
        assert blas_threads() == {2}  # the outermost restores what it found
        with single_threaded():
            with one_blas_thread():  # already covered: sets nothing of its own
                assert blas_threads() == {1}
            assert blas_threads() == {1}
        assert blas_threads() == {2}


def test_on_one_blas_thread_wraps_a_function():
    @on_one_blas_thread
    def threads_inside():
        return blas_threads()

    with threadpool_limits(limits=2, user_api="blas"):
        assert threads_inside() == {1} and blas_threads() == {2}
    assert threads_inside.__name__ == "threads_inside"
