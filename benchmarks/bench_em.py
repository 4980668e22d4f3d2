"""EM speed and memory of gmmlib against scikit-learn, on the same data from the same start.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_em.py``; ``--grid`` adds the
sizes PyCave publishes, ``--quick`` a smaller run). It prints, in one run:

1. the machine: the rate of the matrix product that dominates EM (a 4,096-row chunk times
   a 33 x 512 matrix), on one core and on all cores, in float64 and float32;
2. for each covariance type, on data whose clusters overlap, on separated clusters, and on
   overlapping clusters some of which are very thin (100,000 x 32, 16 components; see
   :data:`DATA`): scikit-learn timed as installed and on one BLAS thread
   (the ratio is against its faster setting), gmmlib on one thread and on all cores, and
   gmmlib on float32 data; all from identical ``weights_init``/``means_init``/
   ``precisions_init`` for the same iterations (``tol=0``); the best of ``--repeats`` times,
   the largest parameter difference from scikit-learn, the float32 fit's log-likelihood
   against the float64 one, gmmlib's arithmetic rate (the flops of its matrix products per
   second) and how many responsibilities are far from zero;
3. the peak memory (``tracemalloc``, which sees numpy's buffers) of one fit on
   1,000,000 x 2 data with 10 components.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import threading
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture
from threadpoolctl import threadpool_limits

from gmmlib import GaussianMixture
from gmmlib.datasets import gaussian_clusters
from gmmlib.mixture import precisions_of_variances
from gmmlib.statistics import effective_n_jobs, whitened_components

#: The data sets, as keyword arguments of gmmlib.datasets.gaussian_clusters: tilted and
#: stretched clusters (covariances of condition number 100) whose centres are close
#: (overlapping) or apart (separated), and clusters as random linear maps of a round one,
#: some of them very thin (condition numbers up to 1e6), overlapping.
DATA = {
    "overlapping": {"separation": 0.5, "condition": 100.0},
    "separated": {"separation": 4.0, "condition": 100.0},
    "thin, overlapping": {"separation": 0.5, "condition": None},
}


def gemm_rate(dtype, n_threads: int, seconds: float = 1.0) -> float:
    """GFLOP/s of (4096 x 33) @ (33 x 512) products, one stream per thread, one BLAS thread."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4096, 33)).astype(dtype)
    b = rng.normal(size=(33, 512)).astype(dtype)
    counts = [0] * n_threads

    def stream(i: int, stop: float) -> None:
        out = np.empty((4096, 512), dtype=dtype)
        while time.perf_counter() < stop:
            np.matmul(a, b, out=out)
            counts[i] += 1

    with threadpool_limits(limits=1, user_api="blas"):
        stream(0, time.perf_counter() + 0.2)  # warm up
        counts[0] = 0
        begin = time.perf_counter()
        stop = begin + seconds
        threads = [threading.Thread(target=stream, args=(i, stop)) for i in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - begin
    return sum(counts) * 2 * 4096 * 33 * 512 / elapsed / 1e9


def same_start(X: np.ndarray, n_components: int, covariance_type: str, seed: int = 0) -> dict:
    """Starting parameters both libraries accept: random data points as means."""
    rng = np.random.RandomState(seed)
    means = X[rng.choice(len(X), n_components, replace=False)]
    precisions = precisions_of_variances(X.var(axis=0), covariance_type, n_components)
    return {
        "weights_init": np.full(n_components, 1 / n_components),
        "means_init": means,
        "precisions_init": precisions,
    }


def timed_fit(cls, X, n_components, covariance_type, n_iter, start, **params):
    model = cls(
        n_components, covariance_type=covariance_type, max_iter=n_iter, tol=0.0, **start, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        begin = time.perf_counter()
        model.fit(X)
        return model, time.perf_counter() - begin


def largest_difference(a, b) -> float:
    return max(
        float(np.max(np.abs(np.asarray(getattr(a, name), dtype=float) - getattr(b, name))))
        for name in ("weights_", "means_", "covariances_")
    )


def pass_flops(model, X) -> float:
    """Flops of the matrix products of one statistics pass of gmmlib with ``model``'s
    parameters (the forms of ``full`` components depend on the parameters)."""
    n, d = X.shape
    k = model.n_components
    if model.covariance_type == "full":
        whitened = whitened_components(X, model.weights_, model.means_, model.covariances_).size
        family = k - whitened
        p = d + 1 + d * (d + 1) // 2
        return 2 * n * p * family * 2 + 2 * n * (d + 1) * d * whitened + 2 * n * d * d * whitened
    if model.covariance_type == "tied":
        return 2 * n * d * d + 2 * n * d * d + 2 * n * (d + 1) * k
    return 2 * n * (2 * d + 1) * k * 2


def compare(X, n_components, covariance_type, n_iter, repeats, rates) -> dict:
    """Time both libraries from the same start; print one line; return the figures."""
    start = same_start(X, n_components, covariance_type)
    X32 = X.astype(np.float32)
    contenders = {
        "scikit-learn": (SklearnMixture, X, None, {}),
        "scikit-learn, 1 thread": (SklearnMixture, X, 1, {}),
        "gmmlib, 1 thread": (GaussianMixture, X, None, {"n_jobs": 1}),
        "gmmlib": (GaussianMixture, X, None, {}),
        "gmmlib float32": (GaussianMixture, X32, None, {}),
    }
    times, models = {}, {}
    for _ in range(repeats):  # interleaved, so a busy moment hurts every contender alike
        for name, (cls, data, threads, params) in contenders.items():
            with threadpool_limits(limits=threads):
                model, seconds = timed_fit(
                    cls, data, n_components, covariance_type, n_iter, start, **params
                )
            models[name] = model
            times[name] = min(times.get(name, np.inf), seconds)
    reference = min(times["scikit-learn"], times["scikit-learn, 1 thread"])
    gmm = models["gmmlib"]
    flops = pass_flops(gmm, X) * (n_iter + 1)
    resp = gmm.predict_proba(X)
    figures = {
        "covariance": covariance_type,
        "sklearn": reference,
        "gmmlib": times["gmmlib"],
        "speed-up": reference / times["gmmlib"],
        "cores": times["gmmlib, 1 thread"] / times["gmmlib"],
        "float32": times["gmmlib"] / times["gmmlib float32"],
        "difference": largest_difference(models["scikit-learn"], gmm),
        "float32 log-likelihood": abs(models["gmmlib float32"].lower_bound_ / gmm.lower_bound_ - 1),
        "GFLOP/s": flops / times["gmmlib"] / 1e9,
        "far from zero": float(np.mean(resp > 1e-3)),
    }
    print(
        f"  {covariance_type:>9}: scikit-learn {times['scikit-learn']:6.2f} s "
        f"(1 thread {times['scikit-learn, 1 thread']:6.2f} s) | gmmlib {times['gmmlib']:6.2f} s "
        f"(1 thread {times['gmmlib, 1 thread']:6.2f} s, "
        f"float32 {times['gmmlib float32']:6.2f} s) | "
        f"speed-up {figures['speed-up']:4.2f}x, 1->{effective_n_jobs()} cores "
        f"{figures['cores']:4.2f}x, float32 {figures['float32']:4.2f}x | "
        f"max |difference| {figures['difference']:.0e}, float32 log-likelihood "
        f"{figures['float32 log-likelihood']:.0e} relative | {figures['GFLOP/s']:5.1f} GFLOP/s "
        f"(GEMM: {rates[np.float64][1]:.0f}) | responsibilities > 1e-3: "
        f"{figures['far from zero']:.0%}"
    )
    return figures


def peak_memory(cls, X, n_components) -> float:
    """Peak traced memory in MiB of one fit (20 iterations, k-means start)."""
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cls(n_components, max_iter=20, tol=0.0, random_state=0).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


#: The sizes PyCave's benchmark publishes (N, d, K).
PYCAVE_GRID = [(10_000, 8, 4), (100_000, 32, 16), (1_000_000, 64, 64)]


def grid(repeats: int, covariance_types=("diag", "full")) -> None:
    """The PyCave sizes, diag and full (those of ``covariance_types``), float64 and float32:
    seconds per EM iteration."""
    print("\nPyCave's sizes (seconds per EM iteration; fewer iterations on the largest):")
    print(
        f"  {'size':>22} {'type':>5} {'dtype':>7} {'scikit-learn':>13} {'gmmlib':>8} "
        f"{'speed-up':>9}"
    )
    for n, d, k in PYCAVE_GRID:
        X64, _ = gaussian_clusters(n, d, k, random_state=2, **DATA["separated"])
        n_iter = 10 if n * d * k < 10**9 else 2
        for covariance_type in [t for t in ("diag", "full") if t in covariance_types]:
            for dtype in (np.float64, np.float32):
                X = X64.astype(dtype)
                start = same_start(X64, k, covariance_type)
                best = {}
                for _ in range(1 if n_iter == 2 else repeats):
                    for name, cls, threads in (
                        ("sklearn", SklearnMixture, None),
                        ("sklearn1", SklearnMixture, 1),
                        ("gmmlib", GaussianMixture, None),
                    ):
                        if name == "sklearn" and n_iter == 2:
                            continue  # the slower setting on this machine; skip at this size
                        with threadpool_limits(limits=threads):
                            _, seconds = timed_fit(cls, X, k, covariance_type, n_iter, start)
                        best[name] = min(best.get(name, np.inf), seconds / (n_iter + 1))
                sk = min(best.get("sklearn", np.inf), best["sklearn1"])
                print(
                    f"  {n:>9,} x {d:>2}, K = {k:>2} {covariance_type:>5} "
                    f"{np.dtype(dtype).name:>7} "
                    f"{sk:13.3f} {best['gmmlib']:8.3f} {sk / best['gmmlib']:8.2f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=32)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--covariance-types", nargs="+", default=["full", "diag", "tied", "spherical"]
    )
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--grid", action="store_true", help="also the PyCave sizes (slow)")
    parser.add_argument("--grid-only", action="store_true", help="only the PyCave sizes")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.repeats = 20_000, 1

    cores = effective_n_jobs()
    print(
        f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {cores} cores "
        f"({os.cpu_count()} CPUs), numpy {np.__version__}"
    )
    rates = {
        dtype: (gemm_rate(dtype, 1), gemm_rate(dtype, cores)) for dtype in (np.float64, np.float32)
    }
    for dtype, (one, every) in rates.items():
        print(
            f"GEMM (4096 x 33) @ (33 x 512), {np.dtype(dtype).name}: {one:.0f} GFLOP/s on 1 core, "
            f"{every:.0f} on {cores}"
        )
    if args.grid_only:
        args.data, args.skip_memory, args.grid = [], True, True
    for label in args.data:
        X, _ = gaussian_clusters(args.n_samples, args.n_features, args.n_components, **DATA[label])
        print(
            f"\nEM on {args.n_samples:,} x {args.n_features} data, {args.n_components} components, "
            f"{label} clusters ({DATA[label]}); {args.n_iter} iterations from the same start, "
            f"best of {args.repeats}:"
        )
        for covariance_type in args.covariance_types:
            compare(X, args.n_components, covariance_type, args.n_iter, args.repeats, rates)

    if not args.skip_memory:
        X, _ = gaussian_clusters(1_000_000, 2, 10, random_state=1)
        print("\nPeak memory of one fit on 1,000,000 x 2 data, 10 components (full):")
        X_mib = X.nbytes / 2**20
        for name, cls in (("scikit-learn", SklearnMixture), ("gmmlib", GaussianMixture)):
            print(
                f"  {name:>12}: {peak_memory(cls, X, 10):7.1f} MiB "
                f"(the data itself: {X_mib:.1f} MiB)"
            )
    if args.grid:
        grid(args.repeats, args.covariance_types)


if __name__ == "__main__":
    main()
