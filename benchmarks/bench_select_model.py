"""Wall time of select_model over 1..10 components and the 4 covariance types on 1,000 points.

    .venv/bin/python benchmarks/bench_select_model.py [n_jobs ...]     (default: None 2)

Prints, for each ``n_jobs``, the time, the chosen model, whether every candidate converged
and whether the log-likelihood column rises with the number of components in every type.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from gmmlib.datasets import gaussian_clusters, stretched_blobs
from gmmlib.selection import select_model


def monotone(table) -> bool:
    return all(
        bool(np.all(np.diff(rows.sort_values("n_components")["log_likelihood"]) >= 0))
        for _, rows in table.groupby("covariance_type")
    )


def main(n_jobs_list: list[int | None]) -> None:
    data = {
        "gaussian_clusters(1000, 2, 4)": gaussian_clusters(1000, 2, 4, random_state=0)[0],
        "stretched_blobs(1000)": stretched_blobs(1000, stretch_seed=15)[0],
    }
    for name, X in data.items():
        for n_jobs in n_jobs_list:
            start = time.perf_counter()
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore")
                result = select_model(X, range(1, 11), random_state=0, n_jobs=n_jobs)
            seconds = time.perf_counter() - start
            table = result.table
            print(
                f"{name}, n_jobs={n_jobs}: {seconds:5.1f} s; best {result.best_params_}; "
                f"converged {int(table['converged'].sum())}/{len(table)}; "
                f"log-likelihood non-decreasing in K: {monotone(table)}"
            )


if __name__ == "__main__":
    main([None if a == "None" else int(a) for a in sys.argv[1:]] or [None, 2])
