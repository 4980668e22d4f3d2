"""EM on a file larger than the workers' memory: Dask's distributed scheduler against memory.

Run with ``.venv/bin/python benchmarks/bench_dask.py`` (about two minutes on two cores). It

1. writes a ``.npy`` file of about ``--gigabytes`` GB (points from a random mixture) a block
   at a time, so the script itself never holds the data;
2. starts a ``LocalCluster`` of two worker processes, one thread each, each with a memory
   limit (``--memory-limit``) well below the file's size, and fits the mixture there: every
   task memory-maps the file and copies out its own block of rows, and each iteration is one
   pass over the blocks (:mod:`gmmlib.dask`); progress is printed per iteration;
3. fits the same data, loaded into this process's memory, from the same start for the same
   iterations with the in-memory EM (:func:`gmmlib.em.em_iterations`), on one core and on
   all cores;
4. prints the time per iteration of both, the largest parameter difference between them,
   and the peak resident memory (``VmHWM``) of the client and of each worker (the
   client's peak is taken before it loads the data for step 3).

Pointing the same code at a real cluster changes one line: ``Client("tcp://scheduler:8786")``
instead of the ``LocalCluster`` (and the file on storage every worker can read).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from gmmlib import COVARIANCE_TYPES, GaussianMixture, em
from gmmlib import dask as _dask
from gmmlib.datasets import write_gaussian_clusters
from gmmlib.statistics import effective_n_jobs, one_blas_thread

MiB = 2**20


def starting_parameters(X_lazy, n_components: int, covariance_type: str, seed: int):
    """k-means++ on a sample of rows (the Dask path's own initialisation): one shared start."""
    model = GaussianMixture(
        n_components, covariance_type=covariance_type, init_params="k-means++", random_state=seed
    )
    sample, _ = _dask.sample_rows(X_lazy, 20_000, np.random.RandomState(seed))
    weights, means, covariances, _ = model._initialize(
        sample, np.random.RandomState(seed), None, None, None
    )
    return weights, means, covariances


def timed_iterations(states, n_iter: int, label: str) -> tuple[em.EMState, list[float]]:
    """Advance an EM generator ``n_iter`` times, printing each iteration's time and bound."""
    state, _ = next(states)  # the start's pass: its statistics give the first M-step
    times = []
    for iteration in range(1, n_iter + 1):
        begin = time.perf_counter()
        state, _ = next(states)
        times.append(time.perf_counter() - begin)
        print(
            f"  {label} iteration {iteration}: mean log-likelihood "
            f"{state.mean_log_likelihood:.6f}  ({times[-1]:.2f} s)",
            flush=True,
        )
    return state, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--components", type=int, default=4)
    parser.add_argument("--covariance-type", default="full", choices=COVARIANCE_TYPES)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--rows-per-block", type=int, default=2**18)
    parser.add_argument("--memory-limit", default="600MiB", help="per worker")
    parser.add_argument("--directory", default=None, help="where to write the file")
    parser.add_argument("--skip-in-memory", action="store_true")
    args = parser.parse_args()

    from distributed import Client

    n_features = args.features
    n_samples = int(args.gigabytes * 1e9 / (8 * n_features))
    with tempfile.TemporaryDirectory(dir=args.directory) as directory:
        path = os.path.join(directory, "points.npy")
        begin = time.perf_counter()
        write_gaussian_clusters(path, n_samples, n_features, args.components)
        size = os.path.getsize(path)
        print(
            f"Wrote {n_samples:,} x {n_features} float64 points ({size / 1e9:.2f} GB) in "
            f"{time.perf_counter() - begin:.1f} s to {path}"
        )
        X_lazy = _dask.from_npy(path, rows_per_block=args.rows_per_block)
        print(
            f"{X_lazy.numblocks[0]} blocks of {args.rows_per_block:,} rows "
            f"({args.rows_per_block * n_features * 8 / MiB:.0f} MiB each)"
        )

        with (
            _dask.local_cluster(2, memory_limit=args.memory_limit) as cluster,
            Client(cluster) as client,
        ):
            print(f"LocalCluster: 2 workers, 1 thread and {args.memory_limit} each")
            start = starting_parameters(X_lazy, args.components, args.covariance_type, seed=0)
            states = _dask.em_iterations(X_lazy, *start, args.covariance_type, reg_covar=1e-6)
            lazy_state, lazy_times = timed_iterations(states, args.iterations, "Dask")
            worker_peaks = client.run(_dask.peak_resident_mib)
            client_peak = _dask.peak_resident_mib()

        print(
            f"\nPeak memory (resident): client {client_peak:.0f} MiB; workers "
            + ", ".join(f"{peak:.0f} MiB" for peak in worker_peaks.values())
            + f"; file {size / MiB:.0f} MiB"
        )
        print(f"Dask (2 workers): {np.median(lazy_times):.2f} s per iteration (median)")
        if args.skip_in_memory:
            return
        X = np.load(path)
        cores = effective_n_jobs(-1)
        for n_jobs, label in ((1, "1 core"), (-1, f"{cores} cores")):
            with one_blas_thread():
                states = em.em_iterations(
                    X, *start, args.covariance_type, reg_covar=1e-6, n_jobs=n_jobs
                )
                memory_state, memory_times = timed_iterations(states, args.iterations, "in memory")
            print(
                f"In memory ({label}): {np.median(memory_times):.2f} s per iteration (median); "
                f"process peak {_dask.peak_resident_mib():.0f} MiB"
            )
        difference = max(
            float(np.max(np.abs(a - b))) for a, b in zip(lazy_state[:3], memory_state[:3])
        )
        print(f"Largest parameter difference, Dask vs in memory: {difference:.1e}")


if __name__ == "__main__":
    main()
