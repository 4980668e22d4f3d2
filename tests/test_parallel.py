"""gmmlib._parallel: how many threads n_jobs means, the ordered map over chunks, and the
one-BLAS-thread limit."""

from __future__ import annotations

from gmmlib._parallel import effective_n_jobs


def test_n_jobs_default_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert effective_n_jobs(None) == 3
    assert effective_n_jobs(5) == 5
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert effective_n_jobs(None) == effective_n_jobs(-1) >= 1
    assert effective_n_jobs(-1000) == 1
