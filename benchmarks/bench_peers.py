"""EM speed of gmmlib beside the other Gaussian-mixture libraries, from one start, in one run.

Run ``python benchmarks/bench_peers.py`` from an environment that has gmmlib and the peers
(below); ``--quick`` runs every workload on a tenth of the rows with one repeat
(``--scale`` divides the rows by any factor), ``--libraries``, ``--workloads`` and
``--threads`` pick a subset. It prints, in one run:

1. the machine: the rate of the (4,096 x 33) @ (33 x 512) matrix product that dominates
   ``full`` EM (:func:`bench_em.gemm_rate`: one stream per thread, one BLAS thread each) on 1
   and 2 threads, float64 and float32, and the memory bandwidth (:func:`bandwidth`: read,
   copy and add over arrays far larger than the last-level cache, 1 and 2 threads);
2. for each workload of :data:`WORKLOADS` (overlapping clusters, as in ``bench_em.py``):
   every library's seconds per EM iteration (a fit of ``--n-iter`` iterations from the
   given start, divided by the iterations; the best of ``--repeats``) on 1 and on 2
   threads, the faster of the two, and the answers' agreement: the mean log-likelihood
   per row of the library's final parameters minus that of gmmlib's, both computed by one
   float64 evaluator (scikit-learn's), on the data the fits were given;
3. a Markdown table of the faster settings (the README's), and for gmmlib the fraction of
   the machine's limit each iteration reaches: ``full`` against the two-thread GEMM rate
   (the textbook count, 4 N K d^2 flops per iteration), ``diag`` and ``spherical`` against
   the two-thread read bandwidth (the data, N d itemsize bytes, must be read once per
   iteration).

Every library is given the same start (weights, means and covariances: random rows as
means, the data's variances on the diagonal, as ``bench_em.py``) and ``reg_covar = 0``,
except where it cannot take one:

* mlpack (its ``gmm_train`` binding) always starts from its own k-means, even with
  ``input_model`` (it calls ``GMM::Train`` with ``useExistingModel = false``). It is timed
  as (fit with ``max_iterations = n + 1``) - (fit with ``max_iterations = 1``), the best
  of ``--repeats`` of each, each fit in a fresh process with the same ``seed`` (which fixes
  the k-means of a process's first fit only), so both have the same start and the
  difference is n EM iterations; the agreement is against gmmlib run from mlpack's own
  start (the ``max_iterations = 1`` model: the k-means start for ``full``, whose EM counts
  the start as its first iteration, one iteration after it for ``diag``). Its ``full`` EM
  changes a covariance only when it is not positive definite; its ``diag`` EM is
  Armadillo's ``gmm_diag`` (variance floor 1e-10).
* pomegranate and mclust add no regularisation (mclust: ``em`` with ``tol = 0`` and
  ``itmax``); pomegranate sums its mixture weights in float32 whatever the data's type,
  which shows in its float64 agreement (about 1e-7).
* GMMX checks that every array is float32: it runs the float32 rows only. mlpack's
  binding and R take float64 only. GMMX's first fit in a process compiles its EM (JAX's
  jit) and is not timed. PyCave's estimator takes initial means only: its own EM (the
  Lightning module its ``fit`` runs after the initialisation) is run on a model whose
  buffers hold the start.

The seconds per iteration include each library's fixed costs of a fit (input checks, a
final E-step where the library does one, PyCave's trainer): 10 iterations make them small.

Threads: each library runs in a process of its own, once with 1 and once with 2 threads
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` set, plus its own
knob: gmmlib ``n_jobs``, scikit-learn ``threadpool_limits``, torch ``set_num_threads``;
XLA has no thread count, so the JAX process is also pinned to that many CPUs, with
``--xla_cpu_multi_thread_eigen=false`` on one). R's mclust is Fortran over R's reference
BLAS and has no setting: it runs once and counts as 1 thread.

Installing the peers (never dependencies of gmmlib: a venv of their own, Python 3.11, from
the repository's root)::

    python3 -m venv /work/peers-venv
    /work/peers-venv/bin/pip install numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 \\
        threadpoolctl -e .
    /work/peers-venv/bin/pip install torch==2.13.0   # first: the CPU wheel, not CUDA
    printf 'torch==2.13.0\\nnumpy==2.4.6\\n' > /tmp/peers-constraints.txt
    /work/peers-venv/bin/pip install -c /tmp/peers-constraints.txt pomegranate mlpack jax gmmx
    # PyCave 3.2.1 (the last release) declares Python < 3.11, numpy < 2, torch < 2 and
    # lightkit 0.5 torch < 1.13: pip refuses it. It runs on torch 2.13 and numpy 2 all the
    # same, installed without its declared requirements, with Lightning 1.x (which needs
    # pkg_resources, gone from setuptools 81) and one shim this script applies
    # (:func:`_patch_pycave`):
    /work/peers-venv/bin/pip install -c /tmp/peers-constraints.txt 'pytorch-lightning>=1.6,<2' \\
        'torchmetrics>=0.6,<0.12' 'setuptools<81'
    /work/peers-venv/bin/pip install --no-deps --ignore-requires-python pycave==3.2.1 \\
        lightkit==0.5.0
    # mclust: R with install.packages("mclust") (6.0.0 on the project machine, system-wide)

then ``/work/peers-venv/bin/python benchmarks/bench_peers.py``. A peer that is not installed
is skipped with a note.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_em import DATA, gemm_rate, same_start


@dataclass(frozen=True)
class Workload:
    name: str
    n_samples: int
    n_features: int
    n_components: int
    covariance_type: str
    dtype: str

    def label(self, n_samples: int) -> str:
        return (
            f"{n_samples:,} x {self.n_features}, K = {self.n_components}, "
            f"{self.covariance_type}, {self.dtype}"
        )


#: The workloads of issue 27's table.
WORKLOADS = [
    Workload("full64", 100_000, 32, 16, "full", "float64"),
    Workload("diag64", 100_000, 32, 16, "diag", "float64"),
    Workload("full32", 100_000, 32, 16, "full", "float32"),
    Workload("diag32", 100_000, 32, 16, "diag", "float32"),
    Workload("wide", 1_000_000, 8, 8, "full", "float64"),
]

#: The libraries, in the order of the table, and the Python module each needs (None: R).
LIBRARIES = {
    "gmmlib": "gmmlib",
    "scikit-learn": "sklearn",
    "mlpack": "mlpack",
    "pomegranate": "pomegranate",
    "PyCave": "pycave",
    "GMMX": "gmmx",
    "mclust": None,
}

#: The float types of the libraries that take only one (the others take both).
ONLY_DTYPE = {"mlpack": "float64", "GMMX": "float32", "mclust": "float64"}


# --------------------------------------------------------------------------- the machine
def bandwidth(n_threads: int, megabytes: int = 256, seconds: float = 1.0) -> dict[str, float]:
    """GB/s of three streaming kernels over float64 arrays of ``megabytes`` each (far larger
    than the cache), split into ``n_threads`` contiguous parts, one thread each (numpy
    releases the GIL in these loops): ``read`` (a sum: bytes read), ``copy`` (b = a: bytes
    read + written, as STREAM counts them) and ``add`` (c = a + b)."""
    n = megabytes * 2**20 // 8
    a, b, c = np.ones(n), np.full(n, 2.0), np.zeros(n)
    parts = [slice(i * n // n_threads, (i + 1) * n // n_threads) for i in range(n_threads)]
    kernels = {
        "read": (lambda s: np.add.reduce(a[s]), 8),
        "copy": (lambda s: np.copyto(b[s], a[s]), 16),
        "add": (lambda s: np.add(a[s], b[s], out=c[s]), 24),
    }
    rates = {}
    for name, (kernel, bytes_per_number) in kernels.items():
        kernel(slice(0, n))  # touch every page first
        best = np.inf
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            threads = [threading.Thread(target=kernel, args=(part,)) for part in parts]
            begin = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            best = min(best, time.perf_counter() - begin)
        rates[name] = n * bytes_per_number / best / 1e9
    return rates


# --------------------------------------------------------------------------- the workers
def _covariances(start: dict, covariance_type: str) -> np.ndarray:
    precisions = start["precisions_init"]
    return np.linalg.inv(precisions) if covariance_type == "full" else 1.0 / precisions


def _fit_gmmlib(X, weights, means, covariances, covariance_type, n_iter, threads, sklearn=False):
    from threadpoolctl import threadpool_limits

    if sklearn:
        from sklearn.mixture import GaussianMixture

        params = {}
    else:
        from gmmlib import GaussianMixture

        params = {"n_jobs": threads}
    precisions = np.linalg.inv(covariances) if covariance_type == "full" else 1.0 / covariances
    model = GaussianMixture(
        len(weights),
        covariance_type=covariance_type,
        max_iter=n_iter,
        tol=0.0,
        reg_covar=0.0,
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
        **params,
    )
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore")
        model.fit(X)
    return model.weights_, model.means_, model.covariances_


def _fit_pomegranate(X, weights, means, covariances, covariance_type, n_iter, threads):
    import torch
    from pomegranate.distributions import Normal
    from pomegranate.gmm import GeneralMixtureModel

    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype)
    model = GeneralMixtureModel(
        [
            Normal(tensor(m), tensor(c), covariance_type=covariance_type)
            for m, c in zip(means, covariances)
        ],
        priors=tensor(weights),
        max_iter=n_iter,
        tol=-np.inf,
    )
    model.fit(torch.as_tensor(X))
    return (
        model.priors.detach().numpy(),
        np.array([d.means.detach().numpy() for d in model.distributions]),
        np.array([d.covs.detach().numpy() for d in model.distributions]),
    )


def _patch_pycave() -> None:
    """PyCave 3.2.1 on torch 2: lightkit's ``RangeBatchSampler`` calls
    ``Sampler.__init__(None)``, which torch 2 no longer accepts; give it an ``__init__``
    that sets the same three attributes without that call."""
    from lightkit.data import sampler

    def __init__(self, inner, batch_size: int, drop_last: bool = False) -> None:
        self.dataset_size, self.batch_size, self.drop_last = len(inner), batch_size, drop_last

    sampler.RangeBatchSampler.__init__ = __init__


def _fit_pycave(X, weights, means, covariances, covariance_type, n_iter, threads):
    """PyCave's own EM (its ``GaussianMixtureLightningModule``, which ``GaussianMixture.fit``
    runs after its initialisation) on a model whose buffers hold the start: the estimator
    itself takes only initial means."""
    import logging

    import pytorch_lightning as pl
    import torch
    from lightkit.data import DataLoader, collate_tensor, dataset_from_tensors
    from pycave.bayes.core import cholesky_precision
    from pycave.bayes.gmm.lightning_module import GaussianMixtureLightningModule
    from pycave.bayes.gmm.model import GaussianMixtureModel, GaussianMixtureModelConfig

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    config = GaussianMixtureModelConfig(
        num_components=len(weights), num_features=X.shape[1], covariance_type=covariance_type
    )
    model = GaussianMixtureModel(config).to(dtype)
    model.component_probs.copy_(torch.as_tensor(weights))
    model.means.copy_(torch.as_tensor(means))
    model.precisions_cholesky.copy_(
        cholesky_precision(torch.as_tensor(covariances, dtype=dtype), covariance_type)
    )
    data = torch.as_tensor(X)
    loader = DataLoader(dataset_from_tensors(data), batch_size=len(data), collate_fn=collate_tensor)
    module = GaussianMixtureLightningModule(
        model, convergence_tolerance=0, covariance_regularization=0
    )
    module.to(dtype)
    for metric in (
        module.prior_aggregator,
        module.mean_aggregator,
        module.covar_aggregator,
        module.metric_nll,
    ):
        metric.set_dtype(dtype)
    trainer = pl.Trainer(
        max_epochs=n_iter,
        accelerator="cpu",
        devices=1,
        enable_progress_bar=False,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, loader)
    if module.current_epoch != n_iter:
        raise RuntimeError(f"PyCave ran {module.current_epoch} iterations, not {n_iter}")
    return (model.component_probs.numpy(), model.means.numpy(), model.covariances.detach().numpy())


def _fit_gmmx(X, weights, means, covariances, covariance_type, n_iter, threads):
    import jax.numpy as jnp
    from gmmx import EMFitter, GaussianMixtureModelJax

    f32 = lambda a: np.asarray(a, dtype=np.float32)
    start = GaussianMixtureModelJax.from_squeezed(
        f32(means), f32(covariances), f32(weights), covariance_type=covariance_type
    )
    result = EMFitter(max_iter=n_iter, tol=-1.0, reg_covar=0.0).fit(jnp.asarray(X), start)
    if int(result.n_iter) != n_iter:
        raise RuntimeError(f"GMMX ran {int(result.n_iter)} iterations, not {n_iter}")
    gmm = result.gmm
    return gmm.weights_numpy, gmm.means_numpy, gmm.covariances.values_numpy


def _mlpack_parameters(model, covariance_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and covariances of an mlpack ``GMMType``, read from its JSON (cereal
    writes every matrix as ``n_rows``, ``n_cols``, then its elements column by column)."""
    import re

    text = model._get_cpp_params().decode()
    blocks = {}
    for name, body in re.findall(r'"(mean|covariance|weights)": \{(.*?)\}', text, flags=re.DOTALL):
        rows = int(re.search(r'"n_rows": "(\d+)"', body).group(1))
        values = np.array([float(v) for v in re.findall(r'"elem": ([-+0-9.eEinfa]+)', body)])
        blocks.setdefault(name, []).append(
            values.reshape(-1, rows).T if name == "covariance" else values
        )
    means = np.array(blocks["mean"])
    covariances = np.array(blocks["covariance"])
    if covariance_type == "diag":
        covariances = np.diagonal(covariances, axis1=1, axis2=2).copy()
    return blocks["weights"][0], means, covariances


def _fit_mlpack(X, n_components, covariance_type, iterations, seed=1):
    """mlpack's ``gmm_train`` from its own k-means start (it takes no other), run for
    ``iterations`` (its full EM counts the start as the first: ``iterations`` - 1 EM
    iterations; Armadillo's diagonal EM runs ``iterations``). The start is made cheap, since
    it is subtracted (:func:`run_mlpack`): one k-means iteration from a refined start on 1%
    of the rows (the default diagonal start, up to 1,000 k-means iterations, costs 20 times
    the EM iterations on 100,000 x 32 rows)."""
    import mlpack

    out = mlpack.gmm_train(
        gaussians=n_components,
        input_=X,
        seed=seed,
        max_iterations=iterations,
        tolerance=0.0,
        diagonal_covariance=covariance_type == "diag",
        kmeans_max_iterations=1,
        refined_start=True,
        samplings=1,
        percentage=0.01,
    )
    return _mlpack_parameters(out["output_model"], covariance_type)


FITS = {
    "gmmlib": _fit_gmmlib,
    "scikit-learn": lambda *args: _fit_gmmlib(*args, sklearn=True),
    "pomegranate": _fit_pomegranate,
    "PyCave": _fit_pycave,
    "GMMX": _fit_gmmx,
}

#: mclust's ``em`` from the given start: VVV (full), VVI (diag), VII (spherical); reads
#: the task written by :func:`_run_mclust` and writes the times and the final parameters.
MCLUST_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
dir <- commandArgs(TRUE)[1]
task <- read.table(file.path(dir, "task.txt"), header = TRUE, stringsAsFactors = FALSE)
n <- task$n; d <- task$d; G <- task$k; model <- task$model
get <- function(name, count) {
  con <- file(file.path(dir, name), "rb"); on.exit(close(con)); readBin(con, "double", count)
}
X <- matrix(get("X.bin", n * d), n, d, byrow = TRUE)
pro <- get("weights.bin", G)
mu <- matrix(get("means.bin", G * d), d, G)              # column k: mean k
v <- matrix(get("variances.bin", G * d * d), d * d, G)    # column k: covariance k
sigma <- array(v, c(d, d, G))
if (model == "VVV") {
  cholsigma <- array(0, c(d, d, G))
  for (k in 1:G) cholsigma[, , k] <- chol(sigma[, , k])
  variance <- list(modelName = model, d = d, G = G, sigma = sigma, cholsigma = cholsigma)
} else {
  diagonals <- sapply(1:G, function(k) diag(sigma[, , k]))
  scale <- apply(diagonals, 2, function(x) exp(mean(log(x))))
  if (model == "VVI") {
    variance <- list(modelName = model, d = d, G = G, sigma = sigma, scale = scale,
                     shape = sweep(diagonals, 2, scale, "/"))
  } else {
    variance <- list(modelName = model, d = d, G = G, sigma = sigma, sigmasq = scale,
                     scale = scale)
  }
}
parameters <- list(pro = pro, mean = mu, variance = variance)
times <- numeric(0)
for (r in 1:task$repeats) {
  begin <- proc.time()[["elapsed"]]
  fit <- em(X, modelName = model, parameters = parameters,
            control = emControl(tol = c(0, 0), itmax = c(task$iterations, task$iterations)))
  times <- c(times, proc.time()[["elapsed"]] - begin)
}
if (is.na(fit$loglik)) stop("mclust em returned NA (a singular covariance?)")
info <- attr(fit, "info")
out <- file(file.path(dir, "out.bin"), "wb")
writeBin(c(times, fit$parameters$pro, as.vector(fit$parameters$mean),
           as.vector(fit$parameters$variance$sigma)), out)
close(out)
cat(abs(info[["iterations"]]), "\n")
"""


def _run_mclust(X, weights, means, covariances, covariance_type, n_iter, repeats):
    directory = Path(tempfile.mkdtemp(prefix="bench_peers_mclust_"))
    try:
        n, d = X.shape
        k = len(weights)
        model = {"full": "VVV", "diag": "VVI", "spherical": "VII"}[covariance_type]
        full = (
            covariances
            if covariance_type == "full"
            else np.array([np.diag(np.broadcast_to(c, (d,))) for c in covariances])
        )
        (directory / "task.txt").write_text(
            f"n d k model iterations repeats\n{n} {d} {k} {model} {n_iter} {repeats}\n"
        )
        np.ascontiguousarray(X, dtype=np.float64).tofile(directory / "X.bin")
        np.asarray(weights, dtype=np.float64).tofile(directory / "weights.bin")
        np.asarray(means, dtype=np.float64).tofile(directory / "means.bin")  # row k = column k in R
        np.asarray(full, dtype=np.float64).tofile(directory / "variances.bin")
        (directory / "mclust.R").write_text(MCLUST_SCRIPT)
        done = subprocess.run(
            ["Rscript", str(directory / "mclust.R"), str(directory)],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
            raise RuntimeError((errors or ["Rscript failed"])[0])
        if int(done.stdout.split()[0]) != n_iter:
            raise RuntimeError(f"mclust ran {done.stdout.split()[0]} iterations, not {n_iter}")
        values = np.fromfile(directory / "out.bin")
        times, values = values[:repeats], values[repeats:]
        weights_out, values = values[:k], values[k:]
        means_out = values[: k * d].reshape(k, d)
        sigma = values[k * d :].reshape(k, d, d)  # R's d x d x G array, read back row-major
        sigma = np.swapaxes(sigma, 1, 2)
        if covariance_type == "diag":
            sigma = np.diagonal(sigma, axis1=1, axis2=2).copy()
        return list(times), (weights_out, means_out, sigma)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


#: The modules each worker imports before it times anything.
PRELOAD = {
    "gmmlib": ("gmmlib", "threadpoolctl"),
    "scikit-learn": ("sklearn.mixture", "threadpoolctl"),
    "mlpack": ("mlpack",),
    "pomegranate": ("torch", "pomegranate.gmm", "pomegranate.distributions"),
    "PyCave": ("torch", "pytorch_lightning", "pycave.bayes.gmm.lightning_module", "lightkit.data"),
    "GMMX": ("jax", "gmmx"),
}


def _set_threads(library: str, threads: int) -> None:
    """In a worker, before the library is imported: its thread count."""
    if library == "GMMX":
        cpus = sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, cpus)
    if library in ("pomegranate", "PyCave"):
        import torch

        torch.set_num_threads(threads)


def worker(task_path: str, out_path: str) -> None:
    """One library at one thread setting on one workload: ``repeats`` fits, written to
    ``out_path`` (times, and the parameters of the last fit)."""
    with open(task_path) as handle:
        task = json.load(handle)
    library, threads = task["library"], task["threads"]
    _set_threads(library, threads)
    for module in PRELOAD.get(library, ()):  # imports are not timed
        importlib.import_module(module)
    arrays = np.load(task["arrays"])
    X = arrays["X"]
    start = [arrays[name] for name in ("weights", "means", "covariances")]
    covariance_type, n_iter, repeats = task["covariance_type"], task["n_iter"], task["repeats"]
    result: dict[str, np.ndarray] = {}
    if library == "mlpack":  # one fit per process: its seed fixes only a process's first
        begin = time.perf_counter()
        end = _fit_mlpack(X, len(start[0]), covariance_type, task["iterations"])
        times = [time.perf_counter() - begin]
    elif library == "mclust":
        times, end = _run_mclust(X, *start, covariance_type, n_iter, repeats)
    else:
        if library == "PyCave":
            _patch_pycave()
        fit = FITS[library]
        if library == "GMMX":  # the first fit compiles (JAX): untimed
            fit(X, *start, covariance_type, n_iter, threads)
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            end = fit(X, *start, covariance_type, n_iter, threads)
            times.append(time.perf_counter() - begin)
    names = ("weights", "means", "covariances")
    result.update({name: np.asarray(a, dtype=np.float64) for name, a in zip(names, end)})
    np.savez(out_path, times=np.array(times), **result)


# --------------------------------------------------------------------------- the driver
_TIMEOUT = 3600


def _version(library: str) -> str:
    if library == "mclust":
        done = subprocess.run(
            ["Rscript", "-e", 'cat(as.character(packageVersion("mclust")))'],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()
    distribution = {"scikit-learn": "scikit-learn", "PyCave": "pycave", "GMMX": "gmmx"}
    return importlib.metadata.version(distribution.get(library, library))


def available(library: str) -> str | None:
    """None when ``library`` can run here, else why not."""
    if library == "mclust":
        if shutil.which("Rscript") is None:
            return "Rscript not found"
        done = subprocess.run(
            ["Rscript", "-e", "library(mclust)"], capture_output=True, text=True, check=False
        )
        return None if done.returncode == 0 else "R package mclust not installed"
    if importlib.util.find_spec(LIBRARIES[library]) is None:
        return f"Python package {LIBRARIES[library]} not installed (see this script's docstring)"
    return None


def run_worker(library, threads, arrays_path, workload, n_iter, repeats, iterations=None):
    """Run one worker process; returns its result (an npz mapping) or raises RuntimeError."""
    with tempfile.TemporaryDirectory(prefix="bench_peers_") as directory:
        task_path, out_path = Path(directory) / "task.json", Path(directory) / "out.npz"
        task_path.write_text(
            json.dumps(
                {
                    "library": library,
                    "threads": threads,
                    "arrays": str(arrays_path),
                    "covariance_type": workload.covariance_type,
                    "n_iter": n_iter,
                    "repeats": repeats,
                    "iterations": iterations,
                }
            )
        )
        env = dict(os.environ)
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
        if library == "GMMX" and threads == 1:
            env["XLA_FLAGS"] = (
                env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                "intra_op_parallelism_threads=1"
            ).strip()
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(task_path), str(out_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise RuntimeError(lines[-1] if lines else f"exit code {done.returncode}")
        with np.load(out_path) as out:
            return {name: out[name] for name in out.files}


def mean_log_likelihood(X, weights, means, covariances, covariance_type) -> float:
    """The mean log-likelihood per row of a mixture on ``X``, in float64 (scikit-learn's
    evaluation, one evaluator for every library's answer)."""
    from sklearn.mixture import GaussianMixture
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

    model = GaussianMixture(len(weights), covariance_type=covariance_type)
    model.weights_ = np.asarray(weights, dtype=np.float64)
    model.means_ = np.asarray(means, dtype=np.float64)
    model.covariances_ = np.asarray(covariances, dtype=np.float64)
    model.precisions_cholesky_ = _compute_precision_cholesky(model.covariances_, covariance_type)
    return float(model.score(np.asarray(X, dtype=np.float64)))


def run_mlpack(threads, arrays_path, workload, n_iter, repeats):
    """mlpack's n EM iterations, timed as the difference of a fit with ``max_iterations =
    n + 1`` and one with ``max_iterations = 1`` (the best of ``repeats`` of each), each in
    a fresh process (mlpack's ``seed``
    fixes the k-means start of a process's first fit only, so both start alike); the first
    fit's model is the start of the second's EM (full: the k-means start; diag: one EM
    iteration after it), which the agreement uses."""
    firsts, lasts = [], []
    for _ in range(repeats):
        first = run_worker("mlpack", threads, arrays_path, workload, n_iter, 1, iterations=1)
        last = run_worker(
            "mlpack", threads, arrays_path, workload, n_iter, 1, iterations=n_iter + 1
        )
        firsts.append(float(first["times"][0]))
        lasts.append(float(last["times"][0]))
    difference = min(lasts) - min(firsts)  # the best of each
    if difference <= 0:
        raise RuntimeError(
            f"the start ({min(firsts):.2f} s) took longer than the start and {n_iter} "
            f"iterations ({min(lasts):.2f} s): timing noise; more --repeats"
        )
    last["times"] = np.array([difference])
    last["start_seconds"] = np.array(min(firsts))
    for name in ("weights", "means", "covariances"):
        last[f"start_{name}"] = first[name]
    return last


def gmmlib_reference(X, start, covariance_type, n_iter):
    """gmmlib's answer from another start (mlpack's), for the agreement of mlpack."""
    return _fit_gmmlib(X, *start, covariance_type, n_iter, threads=None)


def compare_workload(workload, n_samples, libraries, thread_settings, n_iter, repeats, directory):
    """Every library on one workload; prints a block and returns the rows."""
    from gmmlib.datasets import gaussian_clusters

    X64, _ = gaussian_clusters(
        n_samples, workload.n_features, workload.n_components, **DATA["overlapping"]
    )
    X = X64.astype(workload.dtype)
    start = same_start(X64, workload.n_components, workload.covariance_type)
    weights, means = start["weights_init"], start["means_init"]
    covariances = _covariances(start, workload.covariance_type)
    arrays_path = Path(directory) / f"{workload.name}.npz"
    np.savez(arrays_path, X=X, weights=weights, means=means, covariances=covariances)
    print(
        f"\n{workload.label(n_samples)} (overlapping clusters {DATA['overlapping']}): seconds "
        f"per EM iteration, {n_iter} iterations from one start, best of {repeats}"
    )
    print(
        f"  {'library':<13}{'1 thread':>10}{'2 threads':>11}{'best':>9}{'':4}{'/ gmmlib':>10}"
        f"{'log-lik - gmmlib':>18}  notes"
    )
    rows, reference = {}, None
    for library in libraries:
        only = ONLY_DTYPE.get(library, workload.dtype)
        if only != workload.dtype:
            rows[library] = {"skipped": f"{only} only"}
            print(f"  {library:<13}{'-':>10}{'-':>11}  ({only} only)")
            continue
        per_thread, last, notes = {}, None, []
        settings = (1,) if library == "mclust" else thread_settings
        for threads in settings:
            try:
                run = run_mlpack if library == "mlpack" else functools.partial(run_worker, library)
                out = run(threads, arrays_path, workload, n_iter, repeats)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                message = str(error)
                message = message if len(message) <= 90 else message[:90] + "..."
                notes.append(f"{threads} thread{'s' if threads > 1 else ''} failed: {message}")
                continue
            per_thread[threads] = float(np.min(out["times"])) / n_iter
            last = out
        if last is None:
            rows[library] = {"skipped": "failed"}
            print(f"  {library:<13}{'failed':>10}  {'; '.join(notes)}")
            continue
        best_threads = min(per_thread, key=per_thread.get)
        log_lik = mean_log_likelihood(
            X, last["weights"], last["means"], last["covariances"], workload.covariance_type
        )
        row = {
            "times": per_thread,
            "best": per_thread[best_threads],
            "threads": best_threads,
            "log_lik": log_lik,
        }
        if library == "gmmlib":
            reference = log_lik
        if library == "mlpack":
            mlpack_start = [last[f"start_{name}"] for name in ("weights", "means", "covariances")]
            try:
                ours = gmmlib_reference(X, mlpack_start, workload.covariance_type, n_iter)
                ours_log_lik = mean_log_likelihood(X, *ours, workload.covariance_type)
                row["difference"] = log_lik - ours_log_lik
            except ValueError as error:
                notes.append(f"gmmlib from mlpack's start failed: {str(error)[:60]}...")
            notes.append(
                f"its own k-means start (a fit to it: {float(last['start_seconds']):.2f} s, "
                "subtracted); agreement against gmmlib from that start"
            )
        elif reference is not None:
            row["difference"] = log_lik - reference
        if library == "mclust":
            notes.append("no thread setting (reference BLAS)")
        if library == "pomegranate" and workload.dtype == "float64":
            notes.append("sums its mixture weights in float32")
        rows[library] = row
        cells = "".join(
            f"{per_thread[t]:{w}.4f}" if t in per_thread else f"{'-':>{w}}"
            for t, w in zip((1, 2), (10, 11))
        )
        ratio = rows["gmmlib"]["best"] if "best" in rows.get("gmmlib", {}) else np.nan
        difference = row.get("difference")
        agreement = (
            "(reference)"
            if library == "gmmlib"
            else "-"
            if difference is None
            else "0"
            if difference == 0
            else f"{difference:.1e}"
        )
        print(
            f"  {library:<13}{cells}{row['best']:9.4f} ({best_threads}){row['best'] / ratio:9.2f}x"
            f"{agreement:>18}  {'; '.join(notes)}"
        )
    return rows


def fraction_of_limits(results, n_by_workload, rates, bandwidths, n_iter, repeats):
    """gmmlib's iterations against the machine's limits; also spherical (gmmlib only)."""
    print("\ngmmlib against the machine's limits (two threads):")
    for workload in WORKLOADS:
        row = results.get(workload.name, {}).get("gmmlib", {})
        if "best" not in row:
            continue
        n, d, k = n_by_workload[workload.name], workload.n_features, workload.n_components
        seconds = row["best"]
        itemsize = np.dtype(workload.dtype).itemsize
        if workload.covariance_type == "full":
            peak = rates[np.dtype(workload.dtype).type][1]
            flops = 4 * n * k * d * d
            print(
                f"  {workload.label(n)}: {seconds:.4f} s per iteration, {flops / 1e9:.2f} GFLOP "
                f"(4 N K d^2) -> {flops / seconds / 1e9:5.1f} GFLOP/s = "
                f"{flops / seconds / 1e9 / peak:4.0%} of the two-thread GEMM rate ({peak:.0f}); "
                f"at that rate {flops / peak / 1e9:.4f} s"
            )
        else:
            read = n * d * itemsize
            bound = bandwidths[2]["read"]
            print(
                f"  {workload.label(n)}: {seconds:.4f} s per iteration, reads {read / 1e6:.1f} MB "
                f"-> {read / seconds / 1e9:5.1f} GB/s = {read / seconds / 1e9 / bound:4.0%} of the "
                f"two-thread read bandwidth ({bound:.1f} GB/s); "
                f"at that rate {read / bound / 1e9:.4f} s"
                + _product_rate(n, d, k, seconds, rates[np.dtype(workload.dtype).type][1])
            )
    _spherical(n_by_workload["diag64"], rates, bandwidths, n_iter, repeats)


def _product_rate(n, d, k, seconds, peak) -> str:
    """diag and spherical: the rate of the matrix products an iteration needs (four of
    2 N d K flops: the linear and quadratic terms of the log-densities, the sums and the
    sums of squares) against the GEMM rate; the bound that applies is the larger time."""
    flops = 8 * n * d * k
    return (
        f"; its products {flops / 1e9:.2f} GFLOP (8 N d K) -> {flops / seconds / 1e9:.1f} GFLOP/s "
        f"= {flops / seconds / 1e9 / peak:.0%} of the GEMM rate; "
        f"at that rate {flops / peak / 1e9:.4f} s"
    )


def _spherical(n_samples, rates, bandwidths, n_iter, repeats):
    """gmmlib's spherical EM on the diag workload's data (not a row of the table)."""
    from gmmlib.datasets import gaussian_clusters

    X64, _ = gaussian_clusters(n_samples, 32, 16, **DATA["overlapping"])
    start = same_start(X64, 16, "spherical")
    covariances = 1.0 / start["precisions_init"]
    for dtype in ("float64", "float32"):
        X = X64.astype(dtype)
        best = np.inf
        for _ in range(repeats):
            begin = time.perf_counter()
            _fit_gmmlib(
                X, start["weights_init"], start["means_init"], covariances, "spherical", n_iter, 2
            )
            best = min(best, (time.perf_counter() - begin) / n_iter)
        read = X.nbytes
        bound = bandwidths[2]["read"]
        print(
            f"  {n_samples:,} x 32, K = 16, spherical, {dtype}: {best:.4f} s per iteration, reads "
            f"{read / 1e6:.1f} MB -> {read / best / 1e9:5.1f} GB/s "
            f"= {read / best / 1e9 / bound:4.0%} "
            f"of the two-thread read bandwidth"
            + _product_rate(n_samples, 32, 16, best, rates[np.dtype(dtype).type][1])
        )


def markdown(results, n_by_workload, libraries, versions):
    """The README's table: each library's faster setting, with gmmlib's threads."""
    header = [f"{name} {versions[name]}" if versions.get(name) else name for name in libraries]
    print("\n| workload | " + " | ".join(header) + " |")
    print("|---|" + "---|" * len(libraries))
    for workload in WORKLOADS:
        if workload.name not in results:
            continue
        rows, cells = results[workload.name], []
        for library in libraries:
            row = rows.get(library, {})
            if "best" in row:
                seconds = np.format_float_positional(
                    row["best"], precision=3, unique=False, fractional=False, trim="k"
                )
                cells.append(f"{seconds} ({row['threads']})")
            else:
                cells.append(
                    row.get("skipped", "–").replace("n/a", "–").replace("not installed", "–")
                )
        print(f"| {workload.label(n_by_workload[workload.name])} | " + " | ".join(cells) + " |")
    print(
        "\n(seconds per EM iteration at each library's faster setting; "
        "the thread count in brackets)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=list(LIBRARIES))
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=[w.name for w in WORKLOADS],
        choices=[w.name for w in WORKLOADS],
    )
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    parser.add_argument("--quick", action="store_true", help="--scale 10 --repeats 1")
    parser.add_argument("--scale", type=float, default=1.0, help="divide every row count by this")
    parser.add_argument("--skip-machine", action="store_true", help="no GEMM and bandwidth rates")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.quick:
        args.scale, args.repeats = max(args.scale, 10.0), 1
    n_by_workload = {w.name: int(w.n_samples / args.scale) for w in WORKLOADS}

    print(
        f"{datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}"
    )
    libraries, versions = [], {}
    for library in args.libraries:
        why = available(library)
        if why:
            print(f"  {library}: skipped ({why})")
            continue
        libraries.append(library)
        versions[library] = _version(library)
    print("  " + ", ".join(f"{name} {versions[name]}" for name in libraries))
    if "PyCave" in libraries:
        print(
            "  PyCave 3.2.1 declares Python < 3.11, numpy < 2 and torch < 2 (pip refuses it): "
            "installed without them, with one shim (see _patch_pycave)"
        )

    rates = {np.float64: (np.nan, np.nan), np.float32: (np.nan, np.nan)}
    bandwidths = {1: {"read": np.nan}, 2: {"read": np.nan}}
    if not args.skip_machine:
        rates = {
            dtype: (gemm_rate(dtype, 1), gemm_rate(dtype, 2)) for dtype in (np.float64, np.float32)
        }
        for dtype, (one, two) in rates.items():
            print(
                f"GEMM (4096 x 33) @ (33 x 512), {np.dtype(dtype).name}: {one:.0f} GFLOP/s on "
                f"1 thread, {two:.0f} on 2"
            )
        bandwidths = {threads: bandwidth(threads) for threads in (1, 2)}
        for threads, rate in bandwidths.items():
            print(
                f"memory bandwidth, {threads} thread{'s' if threads > 1 else ''} (256 MiB arrays): "
                + ", ".join(f"{name} {value:.1f} GB/s" for name, value in rate.items())
            )

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_peers_data_") as directory:
        for workload in WORKLOADS:
            if workload.name in args.workloads:
                results[workload.name] = compare_workload(
                    workload,
                    n_by_workload[workload.name],
                    libraries,
                    args.threads,
                    args.n_iter,
                    args.repeats,
                    directory,
                )
    if "gmmlib" in libraries and not args.skip_machine:
        fraction_of_limits(results, n_by_workload, rates, bandwidths, args.n_iter, args.repeats)
    markdown(results, n_by_workload, libraries, versions)


if __name__ == "__main__":
    main()
