"""EM speed and memory of gmmlib against scikit-learn, on the same data from the same start.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_em.py``). For each covariance
type it fits both libraries from identical ``weights_init``/``means_init``/``precisions_init``
for the same number of iterations (``tol=0`` so neither stops early), and prints the best of
``--repeats`` wall-clock times, their ratio and the largest difference in the fitted
parameters. Then it reports the peak memory (``tracemalloc``, which sees numpy's buffers) of
one fit on 1,000,000 x 2 data with 10 components.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture
from threadpoolctl import threadpool_limits

from gmmlib import GaussianMixture
from gmmlib._covariance import precisions_of_variances
from gmmlib.datasets import gaussian_clusters


def same_start(X: np.ndarray, n_components: int, covariance_type: str, seed: int = 0) -> dict:
    """Starting parameters both libraries accept: a k-means++-like pick of means."""
    rng = np.random.RandomState(seed)
    means = X[rng.choice(len(X), n_components, replace=False)]
    precisions = precisions_of_variances(X.var(axis=0), covariance_type, n_components)
    return {
        "weights_init": np.full(n_components, 1 / n_components),
        "means_init": means,
        "precisions_init": precisions,
    }


def fit(cls, X, n_components, covariance_type, n_iter, start):
    model = cls(
        n_components,
        covariance_type=covariance_type,
        max_iter=n_iter,
        tol=0.0,
        **start,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        begin = time.perf_counter()
        model.fit(X)
        return model, time.perf_counter() - begin


def largest_difference(a, b) -> float:
    return max(
        float(np.max(np.abs(getattr(a, name) - getattr(b, name))))
        for name in ("weights_", "means_", "covariances_")
    )


def compare(X, n_components, covariance_type, n_iter, repeats) -> None:
    """Time both libraries; scikit-learn both as installed and on one BLAS thread.

    gmmlib runs its EM on one BLAS thread by design (see ``gmmlib.mixture``); on a small
    machine scikit-learn is often fastest that way too, so the fair ratio is against the
    better of its two settings, and both are printed.
    """
    start = same_start(X, n_components, covariance_type)
    contenders = {
        "scikit-learn": (SklearnMixture, None),
        "scikit-learn, 1 thread": (SklearnMixture, 1),
        "gmmlib": (GaussianMixture, None),
    }
    times, models = {}, {}
    for name, (cls, threads) in contenders.items():
        runs = []
        for _ in range(repeats):
            with threadpool_limits(limits=threads):
                runs.append(fit(cls, X, n_components, covariance_type, n_iter, start))
        models[name] = runs[0][0]
        times[name] = min(seconds for _, seconds in runs)
    reference = min(times["scikit-learn"], times["scikit-learn, 1 thread"])
    diff = largest_difference(models["scikit-learn"], models["gmmlib"])
    print(
        f"{covariance_type:>9}: scikit-learn {times['scikit-learn']:7.3f} s "
        f"(1 thread: {times['scikit-learn, 1 thread']:7.3f} s)   gmmlib {times['gmmlib']:7.3f} s   "
        f"speed-up {reference / times['gmmlib']:5.2f}x against scikit-learn's faster setting "
        f"({times['scikit-learn'] / times['gmmlib']:5.2f}x as installed)   "
        f"max |parameter difference| {diff:.1e}"
    )


def peak_memory(cls, X, n_components) -> float:
    """Peak traced memory in MiB of one fit (20 iterations, k-means start)."""
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cls(n_components, max_iter=20, tol=0.0, random_state=0).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


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
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()

    X, _ = gaussian_clusters(args.n_samples, args.n_features, args.n_components)
    print(
        f"EM on {args.n_samples:,} x {args.n_features} data, {args.n_components} components, "
        f"{args.n_iter} iterations from the same start; best of {args.repeats} runs"
    )
    for covariance_type in args.covariance_types:
        compare(X, args.n_components, covariance_type, args.n_iter, args.repeats)

    if not args.skip_memory:
        X, _ = gaussian_clusters(1_000_000, 2, 10, random_state=1)
        print("Peak memory of one fit on 1,000,000 x 2 data, 10 components (full):")
        X_mib = X.nbytes / 2**20
        for name, cls in (("scikit-learn", SklearnMixture), ("gmmlib", GaussianMixture)):
            print(f"  {name:>12}: {peak_memory(cls, X, 10):7.1f} MiB (the data itself: {X_mib:.1f} MiB)")


if __name__ == "__main__":
    main()
