r"""``GaussianMixture``: a Gaussian mixture fitted by EM, with scikit-learn's interface.

The estimator chooses a start (k-means, k-means++, random, random points, or given
parameters), then runs :func:`gmmlib.em.em_loop` over its data until the mean log-likelihood
improves by less than ``tol``; with ``n_init > 1`` it keeps the earliest run whose final
lower bound ties with the highest (see :data:`TIE_RTOL`). The parameters, fitted
attributes and their meanings are those of :class:`sklearn.mixture.GaussianMixture`, so
either can stand in for the other.

The data are rows in memory or a Dask array; the estimator sees them only through a data
source (:class:`_InMemory`, :class:`_OnDask`) that gives what a fit needs: EM's passes,
the rows a start is computed from, the moments a prior's defaults need, weighted totals.
The Dask source calls :mod:`gmmlib.dask`, which knows nothing of the estimator.
"""

from __future__ import annotations

import copy
import functools
import numbers
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, clone
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _covariance as cov
from . import criteria, starts
from ._covariance import COVARIANCE_TYPES, SKLEARN_TYPES, precisions_of_variances
from ._parallel import check_n_jobs, one_blas_thread
from ._validation import (
    as_finite_array,
    check_magnitude,
    check_number,
    check_sample_weight,
    is_dask_array,
    is_integer,
    n_rows,
)
from .em import (
    EMState,
    e_step,
    em_iterations,
    log_likelihood,
    m_step_from_statistics,
    weighted_mean_log_likelihood,
)
from .parsimonious import check_options
from .prior import (
    ConjugatePrior,
    check_prior_supported,
    data_moments,
    default_prior_from_moments,
)
from .statistics import responsibility_statistics

__all__ = [
    "COVARIANCE_TYPES",
    "SKLEARN_TYPES",
    "GaussianMixture",
    "INIT_METHODS",
    "TIE_RTOL",
    "precisions_of_variances",
    "sort_components",
]

#: The starts ``init_params`` names. scikit-learn's four keep its meaning;
#: ``"whitened-kmeans"`` and ``"hc"`` do not depend on the data's units (:mod:`gmmlib.starts`).
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "whitened-kmeans", "hc")

#: With ``n_init > 1``, final lower bounds within ``TIE_RTOL * max(1, |best|)`` of the best
#: count as a tie, and the earliest such start is kept. Starts that end at the same optimum
#: (often relabellings of one another) differ only in the last bits, which depend on the
#: CPU's BLAS kernels; keeping the strictly highest, as scikit-learn does, would make the
#: fitted model (its component order, say) differ from one machine to the next.
TIE_RTOL = 1e-8


@dataclass
class _Run:
    """The outcome of one EM run from one start."""

    state: EMState
    lower_bound: float
    lower_bounds: list[float]
    n_iter: int
    converged: bool


def _kept_run(runs: list[_Run], *, max_iter: int) -> _Run:
    """The run ``fit`` keeps: the earliest whose bound ties with the best (:data:`TIE_RTOL`).

    With ``max_iter=0`` no run has a bound, and the last start is kept, as in scikit-learn.
    """
    if max_iter == 0:
        return runs[-1]
    best = max(run.lower_bound for run in runs)
    margin = TIE_RTOL * max(1.0, abs(best))
    return next(run for run in runs if run.lower_bound >= best - margin)


class _InMemory:
    """Rows in memory as a fit's data: ``X`` (validated) and its checked weights."""

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray | None, n_jobs: int | None):
        self.X, self.weight, self.n_jobs = X, sample_weight, n_jobs
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype  # float32 or float64: the fitted attributes' type
        self.counted = (
            self.n_samples if sample_weight is None else int(np.count_nonzero(sample_weight))
        )

    def check_values(self) -> None:
        check_magnitude(self.X if self.weight is None else self.X[self.weight > 0])

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        return data_moments(self.X, self.weight)

    def start_rows(self, sample_size, n_components, random_state):
        """The rows a start is computed from, with their weights: all of them."""
        return self.X, self.weight

    def em_iterations(self, *parameters, **options) -> Iterator:
        return em_iterations(
            self.X, *parameters, sample_weight=self.weight, n_jobs=self.n_jobs, **options
        )


class _OnDask:
    """A Dask array as a fit's data (:mod:`gmmlib.dask`): one pass over its blocks per EM
    iteration; a start from a uniform sample of its rows."""

    def __init__(self, X, sample_weight):
        from . import dask as on_dask

        self.on_dask = on_dask
        self.X = on_dask.row_blocks(X)
        self.weight = on_dask.weight_blocks(sample_weight, self.X)
        self.n_samples, self.n_features = self.X.shape
        self.dtype = np.dtype(np.float32 if self.X.dtype == np.float32 else np.float64)
        self.counted = self.n_samples if self.weight is None else on_dask.check_weights(self.weight)

    def check_values(self) -> None:
        """Checked on the start's sample of rows (:meth:`start_rows`): all rows would cost a
        pass of their own."""

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.on_dask.moments(self.X, self.weight)

    def start_rows(self, sample_size, n_components, random_state):
        """A uniform sample of ``sample_size`` rows (:data:`gmmlib.dask.INIT_SAMPLE_SIZE`
        when None, at least ``n_components``), with their weights."""
        size = self.on_dask.INIT_SAMPLE_SIZE if sample_size is None else sample_size
        rows, weights = self.on_dask.sample_rows(
            self.X, max(size, n_components), random_state, self.weight
        )
        check_magnitude(rows)
        return rows, weights

    def em_iterations(self, *parameters, **options) -> Iterator:
        return self.on_dask.em_iterations(self.X, *parameters, sample_weight=self.weight, **options)


def _blockwise(columns: Callable[[GaussianMixture], int | None] | None, dtype=None):
    """Let a method of a fitted model (one value, or ``columns(model)`` values, per row)
    take a Dask array too: it then runs block by block, lazily (:func:`gmmlib.dask.map_rows`)."""

    def decorate(method):
        @functools.wraps(method)
        def method_or_blocks(self, X):
            if not is_dask_array(X):
                return method(self, X)
            from .dask import map_rows

            check_is_fitted(self)
            # float32 only if both the data and the model are, as in memory.
            kind = dtype or np.result_type(X.dtype, self.means_.dtype, np.float32)
            n_columns = None if columns is None else columns(self)
            return map_rows(functools.partial(method, self), X, dtype=kind, n_columns=n_columns)

        return method_or_blocks

    return decorate


class GaussianMixture(DensityMixin, BaseEstimator):
    r"""Gaussian mixture model fitted by expectation-maximisation.

    The model's density is :math:`p(x) = \sum_k \pi_k \mathcal N(x \mid \mu_k, \Sigma_k)`.
    The parameters have the names and meanings of :class:`sklearn.mixture.GaussianMixture`.

    Parameters
    ----------
    n_components : int, default=1
        Number of components :math:`K`.
    covariance_type : str, default="full"
        scikit-learn's four: ``"full"`` (each component's own full matrix), ``"tied"`` (one
        shared full matrix), ``"diag"`` (a diagonal matrix per component) or
        ``"spherical"`` (one variance per component); or one of mclust's fourteen
        volume-shape-orientation models, ``"EII"``, ``"VII"``, ``"EEI"``, ``"VEI"``,
        ``"EVI"``, ``"VVI"``, ``"EEE"``, ``"VEE"``, ``"EVE"``, ``"VVE"``, ``"EEV"``,
        ``"VEV"``, ``"EVV"``, ``"VVV"`` (:mod:`gmmlib.parsimonious`:
        :math:`\Sigma_k = \lambda_k D_k A_k D_k^\top`, volume, shape and orientation
        each equal across components, varying or the identity). ``spherical``, ``diag``,
        ``tied`` and ``full`` are VII, VVI, EEE and VVV, stored as scikit-learn stores
        them; an mclust model stores its covariances as ``diag`` (EII...VVI, shape
        ``(K, d)``), ``tied`` (EEE) or ``full`` (the others).
    tol : float, default=1e-3
        Stop when the mean log-likelihood improves by less than this.
    reg_covar : float, default=1e-6
        Added to every covariance's diagonal, so covariances stay positive definite (an
        mclust model: the covariances of maximum likelihood as if each point carried the
        extra scatter ``reg_covar * I``, the same for ``full``/VVV).
    max_iter : int, default=100
        Most EM iterations per start.
    n_init : int, default=1
        Number of starts; the one with the highest final lower bound is kept.
    init_params : str, default="kmeans"
        How starting responsibilities are chosen. scikit-learn's starts, as it computes them
        (on the data's own columns, centred): ``"kmeans"`` (the default), ``"k-means++"``
        (seed points), ``"random"`` (random responsibilities), ``"random_from_data"``
        (random points). Two starts that do not depend on the data's units
        (:mod:`gmmlib.starts`): ``"whitened-kmeans"``, a k-means partition of the whitened
        data (:func:`gmmlib.starts.whiten`), so that rescaling a column, or any invertible
        linear map, changes no start; and ``"hc"``, Ward's agglomerative clustering of the
        whitened data cut at ``n_components`` (on at most
        :data:`gmmlib.starts.HC_MAX_ROWS` rows).
    weights_init, means_init, precisions_init : array-like, optional
        User-given starting weights ``(K,)``, means ``(K, d)`` and precisions (inverse
        covariances, shaped like ``covariances_``). For an mclust model the starting
        precisions need not satisfy its constraints (the first M-step imposes them; EM's
        first iteration may then lower the log-likelihood, the later ones cannot).
    random_state : int, RandomState or None
        Seeds the initialisation and :meth:`sample`.
    prior : None, "default" or gmmlib.prior.ConjugatePrior, default=None
        None: maximum likelihood, as scikit-learn. Otherwise MAP-EM with a conjugate prior
        (:mod:`gmmlib.prior`): ``"default"`` takes Fraley & Raftery's (2007) data-dependent
        hyperparameters (mclust's ``priorControl()``); a :class:`~gmmlib.prior.ConjugatePrior`
        sets some or all of them (its ``None`` fields get the defaults). ``lower_bounds_``
        then holds the mean log posterior, which EM never lowers when ``reg_covar=0``.
        mclust's models take mclust's prior (:data:`gmmlib.prior.MCLUST_MAP`); VEE, EVE,
        VVE and EVV have none (a ValueError).
    n_jobs : int or None, default=None
        Threads over chunks of rows. None: all the cores this process may use, or
        ``OMP_NUM_THREADS`` if it is set (as scikit-learn's ``KMeans``); -1: all cores; -2:
        all but one. Every fit is bit-for-bit the same whatever ``n_jobs`` is.
    init_sample_size : int or None, default=None
        For a Dask array: the rows a start (k-means, k-means++, ...) is computed from, a
        uniform sample (None: :data:`gmmlib.dask.INIT_SAMPLE_SIZE`, 100,000). Data in memory
        always start from all their rows.
    m_step_options : dict or None, default=None
        For the mclust models whose M-step iterates (VEI, VEE, EVE, VVE, VEV): ``tol``
        (default 1e-8) and ``max_iter`` (1000), the stopping rule of
        :func:`gmmlib.parsimonious.covariances_from_scatter`, and ``vve``:
        ``"likelihood"`` (default; the VVE M-step that maximises the likelihood) or
        ``"mclust"`` (mclust 6.0.0's VVE M-step, which does not; see the README). Each
        M-step continues from the last, so every EM iteration is a generalised EM step
        however soon an M-step stops. Ignored by the other covariance types.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the previous fit's parameters (one start).
    verbose : int, default=0
        1 prints each start's progress (the log-likelihood change every
        ``verbose_interval`` iterations); 2 also the time they took.
    verbose_interval : int, default=10
        Iterations between verbose messages.

    Attributes
    ----------
    weights_ : ndarray of shape (K,)
    means_ : ndarray of shape (K, d)
    covariances_ : ndarray, (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical; an
        mclust model as its storage (:func:`gmmlib.parsimonious.full_covariances` writes
        any of them as (K, d, d) matrices)
    precisions_ : ndarray, the inverse covariances, same shape
    precisions_cholesky_ : ndarray, :math:`U_k` with :math:`\Sigma_k^{-1} = U_k U_k^\top`
    converged_ : bool, whether the kept run met ``tol``
    n_iter_ : int, EM iterations of the kept run
    lower_bound_ : float, the kept run's final mean log-likelihood (lower bound; with a
        prior, the mean log posterior up to a constant)
    lower_bounds_ : list of float, the same at each iteration of the kept run
    prior_ : gmmlib.prior.ConjugatePrior or None, the complete prior used (with ``prior``)
    n_features_in_ : int
    """

    lower_bound_: float

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        prior=None,
        n_jobs: int | None = None,
        init_sample_size: int | None = None,
        m_step_options: dict | None = None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.prior = prior
        self.n_jobs = n_jobs
        self.init_sample_size = init_sample_size
        self.m_step_options = m_step_options

    # ------------------------------------------------------------------ validation
    def _check_parameters(self) -> None:
        """Raise a ValueError naming any constructor parameter with an invalid value."""
        check_number("n_components", self.n_components, int, 1)
        cov.check_covariance_type(self.covariance_type)
        check_number("tol", self.tol, float, 0)
        check_number("reg_covar", self.reg_covar, float, 0)
        check_number("max_iter", self.max_iter, int, 0)
        check_number("n_init", self.n_init, int, 1)
        # verbose=True means 1, as in scikit-learn.
        check_number(
            "verbose", int(self.verbose) if isinstance(self.verbose, bool) else self.verbose, int, 0
        )
        check_number("verbose_interval", self.verbose_interval, int, 1)
        if self.init_params not in INIT_METHODS:
            raise ValueError(
                f"init_params must be one of {INIT_METHODS}; got {self.init_params!r}."
            )
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ValueError(f"warm_start must be True or False; got {self.warm_start!r}.")
        if not (
            self.prior is None
            or isinstance(self.prior, ConjugatePrior)
            or (isinstance(self.prior, str) and self.prior == "default")
        ):
            raise ValueError(
                f"prior must be None (maximum likelihood), 'default' or a "
                f"gmmlib.prior.ConjugatePrior; got {self.prior!r}."
            )
        check_n_jobs(self.n_jobs)
        if self.init_sample_size is not None:
            check_number("init_sample_size", self.init_sample_size, int, 1)
        if self.prior is not None:
            check_prior_supported(self.covariance_type)
        self._m_step_options()

    def _m_step_options(self) -> dict:
        """``m_step_options`` checked (a ValueError names a wrong key or value), as a dict."""
        options = self.m_step_options
        if options is None:
            return {}
        if not isinstance(options, dict) or not set(options) <= {"tol", "max_iter", "vve"}:
            raise ValueError(
                "m_step_options must be None or a dict with some of the keys 'tol', "
                f"'max_iter' and 'vve'; got {options!r}."
            )
        return check_options(**options)

    def _complete_prior(self, data: _InMemory | _OnDask) -> ConjugatePrior | None:
        """The prior with every hyperparameter set (data-dependent defaults from the data's
        moments)."""
        if self.prior is None:
            return None
        given = None if isinstance(self.prior, str) else self.prior
        mean, variance = data.moments()
        return default_prior_from_moments(
            mean, variance, self.covariance_type, self.n_components, given
        )

    def _check_initial_parameters(
        self, n_features: int
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """Validated float64 copies of ``weights_init``, ``means_init``, ``precisions_init``."""
        k = self.n_components
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = as_finite_array("weights_init", self.weights_init, (k,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError(f"weights_init must lie in [0, 1]; got {weights}.")
            # Weights computed in float32 (a float32 fit's weights_) sum to 1 only to
            # float32's precision; they are accepted, as scikit-learn does, and rescaled.
            given = np.asarray(self.weights_init)
            precision = np.finfo(given.dtype).eps if given.dtype == np.float32 else 0.0
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=max(1e-8, k * precision)):
                raise ValueError(
                    f"weights_init must sum to 1; they sum to {weights.sum():.10g}. "
                    "Divide them by their sum."
                )
            weights = weights / weights.sum()
        if self.means_init is not None:
            means = as_finite_array("means_init", self.means_init, (k, n_features))
        if self.precisions_init is not None:
            shape = cov.expected_covariance_shape(self.covariance_type, k, n_features)
            precisions = as_finite_array("precisions_init", self.precisions_init, shape)
            if cov.storage(self.covariance_type) in ("diag", "spherical"):
                if np.any(precisions <= 0):
                    raise ValueError(f"precisions_init ({self.covariance_type}) must be positive.")
            else:
                matrices = precisions.reshape(-1, n_features, n_features)
                if not (
                    np.allclose(matrices, np.swapaxes(matrices, 1, 2))
                    and np.all(np.linalg.eigvalsh(matrices) > 0)
                ):
                    raise ValueError(
                        f"precisions_init ({self.covariance_type}) must be symmetric and "
                        "positive definite (the inverse of a covariance matrix)."
                    )
        return weights, means, precisions

    def _validate_X(self, X, *, reset: bool) -> tuple[np.ndarray, np.dtype]:
        """Check ``X`` (finite, 2-D, numeric); return it as float32 or float64, and that type.

        float32 data are computed in float32 (statistics summed in float64) and keep
        float32 in what comes back to the user (fitted attributes, scores, probabilities),
        as in scikit-learn; everything else is float64.
        """
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if reset else 1,
        )
        return X, X.dtype

    # ------------------------------------------------------------------ fitting
    def _initial_resp(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> np.ndarray:
        """Starting responsibilities chosen by ``init_params`` (hard or random).

        Only the rows of positive weight take part, so that a zero weight is the same as a
        missing row for every start (its responsibilities are left at zero, and it counts
        for nothing); k-means and k-means++ weigh those rows by their weights. k-means,
        k-means++ and ``"hc"`` work on the whitened rows (:mod:`gmmlib.starts`), so the
        start does not depend on the data's units.
        """
        n_samples, k = X.shape[0], self.n_components
        resp: np.ndarray = np.zeros((n_samples, k), dtype=np.float32)  # 0 and 1 are exact
        counted = slice(None) if sample_weight is None else np.flatnonzero(sample_weight > 0)
        weight = None if sample_weight is None else sample_weight[counted]
        X = X[counted]
        rows = np.arange(n_samples)[counted]
        if self.init_params == "whitened-kmeans":
            resp[rows, starts.kmeans_partition(X, k, random_state, weight)] = 1
            return resp
        if self.init_params == "hc":
            seed = random_state.randint(np.iinfo(np.int32).max)
            labels = starts.hierarchical_partitions(X, [k], seed=seed, sample_weight=weight)[k]
            inside = labels >= 0
            resp[rows[inside], labels[inside]] = 1
            return resp
        # Distances do not change when the data are shifted to their centre, but far from
        # the origin |x|^2 - 2 x.y + |y|^2 loses the digits that tell points apart.
        X = X - (X.mean(axis=0) if weight is None else np.average(X, axis=0, weights=weight))
        if self.init_params == "kmeans":
            kmeans = KMeans(n_clusters=k, n_init=1, random_state=random_state)
            resp[rows, kmeans.fit(X, sample_weight=weight).labels_] = 1
        elif self.init_params == "random":
            drawn = random_state.uniform(size=(len(rows), k))
            if sample_weight is None:
                resp = drawn / drawn.sum(axis=1)[:, None]
            else:
                resp = np.zeros((n_samples, k))
                resp[rows] = drawn / drawn.sum(axis=1)[:, None]
        elif self.init_params == "random_from_data":
            indices = random_state.choice(len(rows), size=k, replace=False)
            resp[rows[indices], np.arange(k)] = 1
        else:  # k-means++
            _, indices = kmeans_plusplus(X, k, random_state=random_state, sample_weight=weight)
            resp[rows[indices], np.arange(k)] = 1
        return resp

    def _initialize(
        self, X, random_state, weights_init, means_init, precisions_init, sample_weight=None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Starting weights, means, covariances and precision Cholesky factors."""
        if weights_init is None or means_init is None or precisions_init is None:
            resp = self._initial_resp(X, random_state, sample_weight)
            stats = responsibility_statistics(
                X, resp, self.covariance_type, sample_weight=sample_weight, n_jobs=self.n_jobs
            )
            weights, means, covariances = m_step_from_statistics(
                stats,
                reg_covar=self.reg_covar,
                prior=getattr(self, "prior_", None),
                m_step_options=self._m_step_options(),
            )
        weights = weights if weights_init is None else weights_init
        means = means if means_init is None else means_init
        if precisions_init is None:
            prec_chol = cov.precisions_cholesky(covariances, self.covariance_type)
        else:
            prec_chol = cov.precisions_cholesky_from_precisions(
                precisions_init, self.covariance_type
            )
            covariances = cov.covariances_from_precisions_cholesky(prec_chol, self.covariance_type)
        return weights, means, covariances, prec_chol

    def _run(self, data, weights, means, covariances, prec_chol, lower_bound: float) -> _Run:
        """EM from one start until the lower bound changes by less than ``tol``."""
        states = data.em_iterations(
            weights,
            means,
            covariances,
            self.covariance_type,
            reg_covar=self.reg_covar,
            precisions_cholesky=prec_chol,
            prior=self.prior_,
            m_step_options=self._m_step_options(),
        )
        start = lap = time.perf_counter()
        state, _ = next(states)
        lower_bounds: list[float] = []
        converged, n_iter = False, 0
        for n_iter in range(1, self.max_iter + 1):
            previous, lower_bound = lower_bound, state.mean_log_likelihood
            lower_bounds.append(lower_bound)
            state, _ = next(states)
            change = lower_bound - previous
            if self.verbose and n_iter % self.verbose_interval == 0:
                timing = ""
                if self.verbose >= 2:
                    now = time.perf_counter()
                    timing, lap = f"\t time lapse {now - lap:.5f}s", now
                # + 0.0 turns a rounded -0.0 into 0.0: a change of -1e-9 on one CPU's BLAS
                # and +1e-9 on another print the same line.
                shown = round(change, 5) + 0.0
                print(f"  Iteration {n_iter}{timing}\t log-likelihood change {shown:.5f}")
            if abs(change) < self.tol:
                converged = True
                break
        if self.verbose:
            status = "converged" if converged else "did not converge"
            timing = f" time {time.perf_counter() - start:.5f}s," if self.verbose >= 2 else ""
            print(f"Initialization {status}.{timing} lower bound {lower_bound:.5f}.")
        return _Run(state, lower_bound, lower_bounds, n_iter, converged)

    def fit(self, X, y=None, sample_weight=None) -> GaussianMixture:
        r"""Fit the mixture to ``X`` (shape ``(N, d)``) by EM and return ``self``.

        ``sample_weight`` (shape ``(N,)``, non-negative, optional) are frequency weights:
        row :math:`i` counts as :math:`w_i` observations. Integer weights give the model of
        the data with each row repeated, a zero weight the model without the row. Without
        a prior, scaling all weights by one constant changes nothing (see
        :func:`gmmlib.em.em_iterations`); with a ``prior`` it does, as it should: the prior
        is worth a fixed number of pseudo-observations, and :math:`\sum_i w_i` says how
        many observations the data are worth (weights that sum to 1 would let the prior
        decide). ``bic`` and ``aic`` take :math:`N = \sum_i w_i` for the same reason.
        scikit-learn's GaussianMixture has no weights.

        ``X`` may be a Dask array (see :mod:`gmmlib.dask`): the same EM, one pass over its
        blocks per iteration, and a start from ``init_sample_size`` of its rows.
        """
        with one_blas_thread():
            self._check_parameters()
            self._fit(self._data(X, sample_weight))
        return self

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit the mixture to ``X`` and return each sample's most probable component.

        The labels come from an E-step with the fitted parameters, so they are always
        ``fit(X).predict(X)``, as in scikit-learn.
        """
        return self.fit(X, y, sample_weight).predict(X)

    def _data(self, X, sample_weight) -> _InMemory | _OnDask:
        """The data source to fit: ``X`` validated (it sets ``n_features_in_``) with its
        weights."""
        if is_dask_array(X):
            data = _OnDask(X, sample_weight)
            self.n_features_in_ = data.n_features
            return data
        X, _ = self._validate_X(X, reset=True)
        return _InMemory(X, check_sample_weight(sample_weight, X.shape[0]), self.n_jobs)

    def _fit(self, data: _InMemory | _OnDask) -> _Run:
        """EM from each start; keep the kept run's parameters as the fit and return the run."""
        if data.counted < self.n_components:
            weighted = " with positive weight" if data.weight is not None else ""
            raise ValueError(
                f"n_components={self.n_components} is larger than the number of samples "
                f"({data.counted}{weighted}); use at most {data.counted} components or more "
                "data."
            )
        data.check_values()
        self.prior_ = self._complete_prior(data)
        dtype = data.dtype
        inits = self._check_initial_parameters(data.n_features)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        random_state = check_random_state(self.random_state)
        rows = row_weights = None
        runs: list[_Run] = []
        for init in range(self.n_init if do_init else 1):
            if self.verbose:
                print(f"Initialization {init}")
            if do_init:
                if rows is None and any(value is None for value in inits):
                    rows, row_weights = data.start_rows(
                        self.init_sample_size, self.n_components, random_state
                    )
                start = self._initialize(rows, random_state, *inits, sample_weight=row_weights)
                lower_bound = -np.inf
            else:
                start = self._float64_parameters()
                lower_bound = float(self.lower_bound_)
            runs.append(self._run(data, *start, lower_bound=lower_bound))
        best = _kept_run(runs, max_iter=self.max_iter)

        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "The best start did not converge within max_iter iterations: increase "
                "max_iter or tol, try other starts (n_init), or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._set_parameters(best.state, dtype)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = dtype.type(best.lower_bound)
        self.lower_bounds_ = best.lower_bounds
        return best

    def _set_parameters(self, state: EMState, dtype: np.dtype) -> None:
        prec_chol = cov.precisions_cholesky(state.covariances, self.covariance_type)
        self.weights_ = state.weights.astype(dtype)
        self.means_ = state.means.astype(dtype)
        self.covariances_ = state.covariances.astype(dtype)
        self.precisions_cholesky_ = prec_chol.astype(dtype)
        self.precisions_ = cov.precisions_from_cholesky(prec_chol, self.covariance_type).astype(
            dtype
        )

    def _float64_parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The fitted weights, means, covariances and precision factors, in float64."""
        weights, means, covariances, prec_chol = (
            np.asarray(a, dtype=np.float64)
            for a in (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)
        )
        return weights, means, covariances, prec_chol

    # ------------------------------------------------------------------ using a fit
    def _log_resp(self, X) -> tuple[np.ndarray, np.dtype]:
        check_is_fitted(self)
        X, dtype = self._validate_X(X, reset=False)
        weights, means, covariances, prec_chol = self._float64_parameters()
        log_resp, _ = e_step(
            X,
            weights,
            means,
            covariances,
            self.covariance_type,
            precisions_cholesky=prec_chol,
            n_jobs=self.n_jobs,
        )
        return log_resp, np.result_type(dtype, self.means_.dtype)

    @_blockwise(None, dtype=np.intp)
    def predict(self, X) -> np.ndarray:
        """The most probable component of each sample: :math:`\\arg\\max_k r_{ik}`."""
        return self._log_resp(X)[0].argmax(axis=1)

    @_blockwise(lambda model: model.n_components)
    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities :math:`r_{ik}`, shape ``(N, K)``; each row sums to 1.

        A sample whose density underflows to zero under every component
        (``score_samples`` gives :math:`-\\infty`) gets the weights :math:`\\pi_k`, the
        probabilities before seeing it: its responsibilities would be 0/0.
        """
        log_resp, dtype = self._log_resp(X)
        return np.exp(log_resp).astype(dtype, copy=False)

    @_blockwise(None)
    def score_samples(self, X) -> np.ndarray:
        """Log-density :math:`\\log p(x_i)` of each sample, shape ``(N,)``.

        :math:`-\\infty` for a sample so far from every component that its density
        underflows to zero in floating point.
        """
        check_is_fitted(self)
        X, dtype = self._validate_X(X, reset=False)
        weights, means, covariances, prec_chol = self._float64_parameters()
        scores = log_likelihood(
            X,
            weights,
            means,
            covariances,
            self.covariance_type,
            precisions_cholesky=prec_chol,
            n_jobs=self.n_jobs,
        )
        return scores.astype(np.result_type(dtype, self.means_.dtype), copy=False)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean log-likelihood :math:`\\sum_i w_i \\log p(x_i) / \\sum_i w_i` (all
        :math:`w_i = 1` without ``sample_weight``). A Dask array is scored in one pass over
        its blocks, never loaded whole."""
        if is_dask_array(X):
            log_likelihood, n = self._total_log_likelihood(X, sample_weight)
            return log_likelihood / n
        weight = check_sample_weight(sample_weight, n_rows(X))
        return weighted_mean_log_likelihood(np.asarray(self.score_samples(X), dtype=float), weight)

    def n_parameters(self) -> int:
        r"""Number of free parameters :math:`p`: :math:`K - 1` weights, :math:`K d` means and
        the covariances' (``full``: :math:`K d (d + 1) / 2`; ``tied``: :math:`d (d + 1) / 2`;
        ``diag``: :math:`K d`; ``spherical``: :math:`K`; an mclust model: mclust's
        ``nVarParams``, :func:`gmmlib.parsimonious.n_covariance_parameters`)."""
        check_is_fitted(self)
        return cov.n_parameters(self.n_components, self.n_features_in_, self.covariance_type)

    def _total_log_likelihood(self, X, sample_weight) -> tuple[float, float]:
        """:math:`\\log L = \\sum_i w_i \\log p(x_i)` and :math:`N = \\sum_i w_i`."""
        if is_dask_array(X):
            from . import dask as on_dask

            X = on_dask.row_blocks(X)
            weight = on_dask.weight_blocks(sample_weight, X)
            return on_dask.weighted_total(self.score_samples(X), weight)
        rows = self._validate_X(X, reset=False)[0].shape[0]
        weight = check_sample_weight(sample_weight, rows)
        n = float(rows if weight is None else weight.sum())
        return self.score(X, sample_weight=weight) * n, n

    def bic(self, X, sample_weight=None) -> float:
        """Bayesian information criterion :math:`-2 \\log L + p \\log N` (lower is better).

        With ``sample_weight``, :math:`\\log L = \\sum_i w_i \\log p(x_i)` and
        :math:`N = \\sum_i w_i`: the weights are read as counts of repeated rows
        (frequency weights), which is what makes integer weights equal to repetition.
        """
        log_likelihood, n = self._total_log_likelihood(X, sample_weight)
        return criteria.bic(log_likelihood, self.n_parameters(), n)

    def aic(self, X, sample_weight=None) -> float:
        """Akaike information criterion :math:`-2 \\log L + 2p` (lower is better; weights as
        in :meth:`bic`)."""
        log_likelihood, _ = self._total_log_likelihood(X, sample_weight)
        return criteria.aic(log_likelihood, self.n_parameters())

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points from the fitted mixture; return ``(X, labels)``.

        The component counts are multinomial with the weights; each component's points are
        Gaussian. Seeded by ``random_state``, so repeated calls give the same draw.
        """
        check_is_fitted(self)
        whole = is_integer(n_samples) or (
            isinstance(n_samples, numbers.Real) and float(n_samples).is_integer()
        )
        if isinstance(n_samples, bool) or not whole or n_samples < 1:
            raise ValueError(
                f"n_samples must be a whole number of samples, at least 1; got {n_samples!r}."
            )
        n_samples = int(n_samples)  # 3.0 is accepted, as by scikit-learn
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        n_features = self.means_.shape[1]
        kind = cov.storage(self.covariance_type)
        if kind in ("full", "tied"):
            covariances = (
                self.covariances_ if kind == "full" else [self.covariances_] * self.n_components
            )
            parts = [
                rng.multivariate_normal(mean, covariance, int(count))
                for mean, covariance, count in zip(self.means_, covariances, counts)
            ]
        else:
            parts = [
                mean + rng.standard_normal(size=(count, n_features)) * np.sqrt(variance)
                for mean, variance, count in zip(self.means_, self.covariances_, counts)
            ]
        labels = np.repeat(np.arange(self.n_components), counts)
        return np.vstack(parts), labels


def sort_components(model: GaussianMixture, by: str = "mean") -> GaussianMixture:
    """A copy of a fitted mixture with its components in a stated order.

    The likelihood is the same under all :math:`K!` orderings of the components (label
    switching), so which index a component gets depends on the start and, between starts
    that tie, on rounding. To print or compare components, put them in an order that
    depends only on the fitted parameters:

    * ``by="mean"``: ascending by the means, compared coordinate by coordinate
      (lexicographically, the first feature first);
    * ``by="weight"``: descending by weight, ties broken by the means as above.

    Everything that depends on the order (``weights_``, ``means_``, per-component
    ``covariances_``, ``precisions_``, ``precisions_cholesky_``; a ``tied`` covariance is
    shared and unchanged) is permuted together, so the copy is the same density:
    ``score_samples`` is unchanged and ``predict`` names the same components by new indices.
    """
    check_is_fitted(model)
    if by not in ("mean", "weight"):
        raise ValueError(f"by must be 'mean' or 'weight'; got {by!r}.")
    means = np.asarray(model.means_)
    keys = [means[:, j] for j in reversed(range(means.shape[1]))]  # lexsort: last key first
    if by == "weight":
        keys.append(-np.asarray(model.weights_))
    order = np.lexsort(keys)
    result = clone(model)
    fitted = {name: value for name, value in vars(model).items() if name.endswith("_")}
    result.__dict__.update(copy.deepcopy(fitted))  # a copy shares nothing with the original
    per_component = ["weights_", "means_"]
    if cov.storage(model.covariance_type) != "tied":
        per_component += ["covariances_", "precisions_", "precisions_cholesky_"]
    for name in per_component:
        setattr(result, name, np.asarray(getattr(model, name))[order].copy())
    return result
