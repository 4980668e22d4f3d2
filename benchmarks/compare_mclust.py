"""gmmlib's select_model against R's Mclust() on real data: choices, fits and times.

Usage:  .venv/bin/python benchmarks/compare_mclust.py [--models all] [--max-k 9]

For each data set both fit every (number of components, model) on the same grid: mclust with
``Mclust(X, G = 1:9, modelNames = ...)`` (its default start, model-based hierarchical
clustering of the SVD-scaled data) and gmmlib with ``select_model`` on one thread and on
the default threads. It prints both choices by BIC, both BICs (gmmlib's sign: lower is
better), the candidates where one log-likelihood is higher by more than a relative 1e-3
(which of the two found the better maximum), and both times (mclust's from R's
``system.time``, without R's start-up). Needs Rscript with mclust (Debian: ``apt-get
install r-base-core r-cran-mclust``); without it, it says so and stops.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from gmmlib import datasets, select_model

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
models <- strsplit(args[2], ",")[[1]]
G <- 1:as.integer(args[3])
fit <- NULL
seconds <- system.time(fit <- Mclust(X, G = G, modelNames = models, verbose = FALSE))[["elapsed"]]
bic <- fit$BIC
n <- nrow(X); d <- ncol(X)
cat("{\"seconds\":", seconds, ",\"choice\":[", fit$G, ",\"", fit$modelName, sep = "")
cat("\"],\"fits\":[", sep = "")
first <- TRUE
for (m in colnames(bic)) for (g in rownames(bic)) {
  value <- bic[g, m]
  if (is.na(value)) next
  p <- nMclustParams(m, d, as.integer(g))
  if (!first) cat(",")
  first <- FALSE
  cat("[", g, ",\"", m, "\",", sprintf("%.10g", (value + p * log(n)) / 2), "]", sep = "")
}
cat("]}\n")
"""


def real_data() -> dict[str, np.ndarray]:
    """The data sets of the comparison, each as a float64 array."""
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    sets = {}
    if hasattr(datasets, "old_faithful"):
        sets["Old Faithful (272 x 2)"] = np.asarray(datasets.old_faithful().X, float)
    sets["iris (150 x 4)"] = load_iris().data
    sets["wine (178 x 13)"] = load_wine().data
    sets["breast cancer, 10 features (569 x 10)"] = load_breast_cancer().data[:, :10]
    return sets


def run_mclust(X: np.ndarray, models: list[str], max_k: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder, "X.csv"), Path(folder, "fit.R")
        np.savetxt(data, X, delimiter=",", fmt="%.17g")
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(data), ",".join(models), str(max_k)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout)


def run_gmmlib(X: np.ndarray, models: list[str], max_k: int, one_thread: bool):
    start = time.perf_counter()
    if one_thread:
        with threadpool_limits(1):
            selection = select_model(X, range(1, max_k + 1), models, random_state=0, n_jobs=1)
    else:
        selection = select_model(X, range(1, max_k + 1), models, random_state=0, n_jobs=-1)
    return selection, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="VII,VVI,EEE,VVV", help="comma-separated, or all")
    parser.add_argument("--max-k", type=int, default=9)
    args = parser.parse_args()
    if shutil.which("Rscript") is None:
        print("Rscript is not installed: apt-get install r-base-core r-cran-mclust")
        return 0
    from gmmlib.parsimonious import MODEL_NAMES

    models = list(MODEL_NAMES) if args.models == "all" else args.models.split(",")
    for name, X in real_data().items():
        reference = run_mclust(X, models, args.max_k)
        selection, seconds = run_gmmlib(X, models, args.max_k, one_thread=True)
        _, seconds_threads = run_gmmlib(X, models, args.max_k, one_thread=False)
        table = selection.table.set_index(["n_components", "covariance_type"])
        ours = {key: row for key, row in table.iterrows() if not row["degenerate"]}
        mclust_ll = {(int(g), m): ll for g, m, ll in reference["fits"]}
        worse, better = [], []
        for key, ll in mclust_ll.items():
            if key not in ours:
                continue
            gap = (ours[key]["log_likelihood"] - ll) / abs(ll)
            if gap < -1e-3:
                worse.append(f"{key[1]}{key[0]} {gap:+.1e}")
            elif gap > 1e-3:
                better.append(f"{key[1]}{key[0]} {gap:+.1e}")
        g, m = reference["choice"]
        best = selection.best_params_
        our_bic = table.loc[(best["n_components"], best["covariance_type"]), "bic"]
        n, d = X.shape
        from gmmlib._covariance import n_parameters

        their_bic = -2 * mclust_ll[(g, m)] + n_parameters(g, d, m) * np.log(n)
        print(f"== {name}")
        print(
            f"  choice  gmmlib {best['covariance_type']}{best['n_components']} (BIC "
            f"{our_bic:.2f})   mclust {m}{g} (BIC {their_bic:.2f})"
        )
        print(
            f"  time    gmmlib {seconds:.2f} s (1 thread), {seconds_threads:.2f} s "
            f"(all cores)   mclust {reference['seconds']:.2f} s"
        )
        print(f"  {len(mclust_ll)} fits compared; gmmlib lower by >1e-3: {worse or 'none'}")
        print(f"  gmmlib higher by >1e-3: {better or 'none'}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
