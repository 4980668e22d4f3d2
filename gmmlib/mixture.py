r"""``GaussianMixture``: a Gaussian mixture fitted by EM, with scikit-learn's interface.

The estimator chooses a start (k-means, k-means++, random, random points, or given
parameters), then runs :func:`gmmlib.em.em_iterations` until the mean log-likelihood
improves by less than ``tol``; with ``n_init > 1`` it keeps the earliest run whose final
lower bound ties with the highest (see :data:`TIE_RTOL`). The parameters, fitted attributes and their meanings are those of
:class:`sklearn.mixture.GaussianMixture`, so either can stand in for the other.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, clone
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _covariance as cov
from ._parallel import check_n_jobs, one_blas_thread
from ._validation import is_dask_array, is_integer
from .em import (
    EMState,
    e_step,
    em_iterations,
    log_likelihood,
    m_step_from_statistics,
    responsibility_statistics,
    weighted_mean_log_likelihood,
)
from .prior import ConjugatePrior, default_prior

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")

#: With ``n_init > 1``, final lower bounds within ``TIE_RTOL * max(1, |best|)`` of the best
#: count as a tie, and the earliest such start is kept. Starts that end at the same optimum
#: (often relabellings of one another) differ only in the last bits, which depend on the
#: CPU's BLAS kernels; keeping the strictly highest, as scikit-learn does, would make the
#: fitted model (its component order, say) differ from one machine to the next.
TIE_RTOL = 1e-8


def _dask_map(method, X):
    """A fitted model's ``method`` on each block of the Dask array ``X``, lazily."""
    from ._dask import map_method

    return map_method(method, X)


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


def _check_number(name: str, value, kind: type, low: float, low_inclusive: bool = True) -> None:
    """Raise a ValueError unless ``value`` is a ``kind`` (int or real) at least ``low``."""
    is_kind = is_integer(value) if kind is int else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not is_kind or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite {kind.__name__}; got {value!r}.")
    if value < low or (value == low and not low_inclusive):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {low}; got {value!r}.")


def _n_rows(X) -> int:
    return int(np.shape(X)[0]) if np.ndim(X) else 0


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of ``n_samples`` non-negative, finite weights
    that do not all vanish, or None; a clear ValueError otherwise."""
    if sample_weight is None:
        return None
    try:
        weight = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"sample_weight must be an array of numbers; got {type(sample_weight).__name__}."
        ) from None
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weight.shape}, but X has {n_samples} rows: pass one "
            "weight per row."
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight contains NaN or infinity; pass finite weights.")
    if np.any(weight < 0):
        raise ValueError(
            f"sample_weight must not be negative; its smallest value is {weight.min():g}. "
            "A weight counts how often a row is repeated: use 0 to leave a row out."
        )
    if not weight.sum() > 0:
        raise ValueError("sample_weight is zero everywhere: at least one row must count.")
    return weight


def _check_magnitude(X: np.ndarray) -> None:
    """Raise a ValueError when squared distances between the points overflow float64.

    EM needs :math:`\\lVert x_i - \\mu_k \\rVert^2`; beyond about :math:`10^{154}` from the data's
    centre it is infinite, and every covariance with it.
    """
    spread = float(np.max(np.abs(X - X.mean(axis=0)), initial=0.0))
    with np.errstate(over="ignore"):
        if not np.isfinite(spread * spread * X.shape[1]):
            raise ValueError(
                f"The data are too large for floating point: points lie up to {spread:.3g} "
                "from their centre, and squared distances overflow. Rescale the data "
                "(e.g. StandardScaler)."
            )


def _as_finite_array(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` with finite entries, or a ValueError."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers; got {value!r}.") from None
    if array.shape != shape:
        raise ValueError(
            f"{name} has shape {array.shape}, but n_components and the data's number of "
            f"features require shape {shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; pass finite values.")
    return array


class GaussianMixture(DensityMixin, BaseEstimator):
    r"""Gaussian mixture model fitted by expectation-maximisation.

    The model's density is :math:`p(x) = \sum_k \pi_k \mathcal N(x \mid \mu_k, \Sigma_k)`.
    The parameters have the names and meanings of :class:`sklearn.mixture.GaussianMixture`.

    Parameters
    ----------
    n_components : int, default=1
        Number of components :math:`K`.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Each component's own full matrix, one shared full matrix, a diagonal matrix per
        component, or one variance per component.
    tol : float, default=1e-3
        Stop when the mean log-likelihood improves by less than this.
    reg_covar : float, default=1e-6
        Added to every covariance's diagonal, so covariances stay positive definite.
    max_iter : int, default=100
        Most EM iterations per start.
    n_init : int, default=1
        Number of starts; the one with the highest final lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How starting responsibilities are chosen.
    weights_init, means_init, precisions_init : array-like, optional
        User-given starting weights ``(K,)``, means ``(K, d)`` and precisions (inverse
        covariances, shaped like ``covariances_``).
    random_state : int, RandomState or None
        Seeds the initialisation and :meth:`sample`.
    prior : None, "default" or gmmlib.prior.ConjugatePrior, default=None
        None: maximum likelihood, as scikit-learn. Otherwise MAP-EM with a conjugate prior
        (:mod:`gmmlib.prior`): ``"default"`` takes Fraley & Raftery's (2007) data-dependent
        hyperparameters (mclust's ``priorControl()``); a :class:`~gmmlib.prior.ConjugatePrior`
        sets some or all of them (its ``None`` fields get the defaults). ``lower_bounds_``
        then holds the mean log posterior, which EM never lowers when ``reg_covar=0``.
    n_jobs : int or None, default=None
        Threads over chunks of rows. None: all the cores this process may use, or
        ``OMP_NUM_THREADS`` if it is set (as scikit-learn's ``KMeans``); -1: all cores; -2:
        all but one. Every fit is bit-for-bit the same whatever ``n_jobs`` is.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the previous fit's parameters (one start).
    verbose : int, default=0
        1 prints each start's progress; 2 also prints timings and log-likelihood changes.
    verbose_interval : int, default=10
        Iterations between verbose messages.

    Attributes
    ----------
    weights_ : ndarray of shape (K,)
    means_ : ndarray of shape (K, d)
    covariances_ : ndarray, (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical
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

    # ------------------------------------------------------------------ validation
    def _check_parameters(self) -> None:
        """Raise a ValueError naming any constructor parameter with an invalid value."""
        _check_number("n_components", self.n_components, int, 1)
        cov.check_covariance_type(self.covariance_type)
        _check_number("tol", self.tol, float, 0)
        _check_number("reg_covar", self.reg_covar, float, 0)
        _check_number("max_iter", self.max_iter, int, 0)
        _check_number("n_init", self.n_init, int, 1)
        # verbose=True means 1, as in scikit-learn.
        _check_number("verbose", int(self.verbose) if isinstance(self.verbose, bool) else self.verbose, int, 0)
        _check_number("verbose_interval", self.verbose_interval, int, 1)
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

    def _complete_prior(self, X, sample_weight=None) -> ConjugatePrior | None:
        """The prior with every hyperparameter set (data-dependent defaults from ``X``)."""
        if self.prior is None:
            return None
        given = None if isinstance(self.prior, str) else self.prior
        return default_prior(
            X, self.covariance_type, self.n_components, given, sample_weight=sample_weight
        )

    def _check_initial_parameters(self, n_features: int) -> tuple:
        """Validated float64 copies of ``weights_init``, ``means_init``, ``precisions_init``."""
        k = self.n_components
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _as_finite_array("weights_init", self.weights_init, (k,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError(f"weights_init must lie in [0, 1]; got {weights}.")
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-8):
                raise ValueError(
                    f"weights_init must sum to 1; they sum to {weights.sum():.10g}. "
                    "Divide them by their sum."
                )
        if self.means_init is not None:
            means = _as_finite_array("means_init", self.means_init, (k, n_features))
        if self.precisions_init is not None:
            shape = cov.expected_covariance_shape(self.covariance_type, k, n_features)
            precisions = _as_finite_array("precisions_init", self.precisions_init, shape)
            if self.covariance_type in ("diag", "spherical"):
                if np.any(precisions <= 0):
                    raise ValueError(
                        f"precisions_init ({self.covariance_type}) must be positive."
                    )
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
            self, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=2 if reset else 1
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

        With weights, k-means and k-means++ weigh the rows, and ``random_from_data`` draws
        among the rows of positive weight, so that a zero weight is the same as a missing
        row for these three; ``random`` draws a row of random responsibilities for every
        row.
        """
        n_samples, k = X.shape[0], self.n_components
        resp = np.zeros((n_samples, k), dtype=np.float32)  # 0 and 1 are exact: half the memory
        # Distances do not change when the data are shifted to their centre, but far from
        # the origin |x|^2 - 2 x.y + |y|^2 loses the digits that tell points apart.
        X = X - X.mean(axis=0)
        if self.init_params == "kmeans":
            kmeans = KMeans(n_clusters=k, n_init=1, random_state=random_state)
            labels = kmeans.fit(X, sample_weight=sample_weight).labels_
            resp[np.arange(n_samples), labels] = 1
        elif self.init_params == "random":
            resp = random_state.uniform(size=(n_samples, k))
            resp /= resp.sum(axis=1)[:, None]
        elif self.init_params == "random_from_data":
            candidates = np.arange(n_samples) if sample_weight is None else np.flatnonzero(sample_weight > 0)
            indices = candidates[random_state.choice(len(candidates), size=k, replace=False)]
            resp[indices, np.arange(k)] = 1
        else:  # k-means++
            _, indices = kmeans_plusplus(X, k, random_state=random_state, sample_weight=sample_weight)
            resp[indices, np.arange(k)] = 1
        return resp

    def _initialize(
        self, X, random_state, weights_init, means_init, precisions_init, sample_weight=None
    ):
        """Starting weights, means, covariances and precision Cholesky factors."""
        if weights_init is None or means_init is None or precisions_init is None:
            resp = self._initial_resp(X, random_state, sample_weight)
            stats = responsibility_statistics(
                X, resp, self.covariance_type, sample_weight=sample_weight, n_jobs=self.n_jobs
            )
            weights, means, covariances = m_step_from_statistics(
                stats, reg_covar=self.reg_covar, prior=getattr(self, "prior_", None)
            )
        weights = weights if weights_init is None else weights_init
        means = means if means_init is None else means_init
        if precisions_init is None:
            prec_chol = cov.precisions_cholesky(covariances, self.covariance_type)
        else:
            prec_chol = cov.precisions_cholesky_from_precisions(
                precisions_init, self.covariance_type
            )
            covariances = cov.covariances_from_precisions_cholesky(
                prec_chol, self.covariance_type
            )
        return weights, means, covariances, prec_chol

    def _run(
        self, X, weights, means, covariances, prec_chol, lower_bound: float, iterations=em_iterations
    ) -> _Run:
        """EM from one start until the lower bound changes by less than ``tol``."""
        states = iterations(
            X,
            weights,
            means,
            covariances,
            self.covariance_type,
            reg_covar=self.reg_covar,
            precisions_cholesky=prec_chol,
        )
        state, _ = next(states)
        lower_bounds: list[float] = []
        converged, n_iter = False, 0
        for n_iter in range(1, self.max_iter + 1):
            previous, lower_bound = lower_bound, state.mean_log_likelihood
            lower_bounds.append(lower_bound)
            state, _ = next(states)
            change = lower_bound - previous
            if self.verbose and n_iter % self.verbose_interval == 0:
                print(f"  Iteration {n_iter}\t log-likelihood change {change:.5f}")
            if abs(change) < self.tol:
                converged = True
                break
        if self.verbose:
            status = "converged" if converged else "did not converge"
            print(f"Initialization {status}. lower bound {lower_bound:.5f}.")
        return _Run(state, lower_bound, lower_bounds, n_iter, converged)

    def fit(self, X, y=None, sample_weight=None) -> GaussianMixture:
        """Fit the mixture to ``X`` (shape ``(N, d)``) by EM and return ``self``.

        ``sample_weight`` (shape ``(N,)``, non-negative, optional) makes row :math:`i`
        count :math:`w_i` times: integer weights give the model of the data with each row
        repeated, a zero weight the model without the row, and scaling all weights changes
        nothing (see :func:`gmmlib.em.em_iterations`). scikit-learn's GaussianMixture has
        no weights.

        ``X`` may be a Dask array (see :mod:`gmmlib._dask`): the same EM, one pass per iteration.
        """
        if is_dask_array(X):
            from ._dask import fit

            return fit(self, X, sample_weight)
        with one_blas_thread():
            self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit the mixture to ``X`` and return each sample's most probable component.

        The labels come from an E-step with the fitted parameters, so they are always
        ``fit(X).predict(X)``, as in scikit-learn.
        """
        return self.fit(X, y, sample_weight).predict(X)

    def _fit(self, X, sample_weight=None) -> None:
        self._check_parameters()
        X, dtype = self._validate_X(X, reset=True)
        n_samples, n_features = X.shape
        weight = check_sample_weight(sample_weight, n_samples)
        counted = n_samples if weight is None else int(np.count_nonzero(weight))
        if counted < self.n_components:
            raise ValueError(
                f"n_components={self.n_components} is larger than the number of samples "
                f"({counted}{' with positive weight' if weight is not None else ''}); use at "
                f"most {counted} components or more data."
            )
        _check_magnitude(X if weight is None else X[weight > 0])
        self.prior_ = self._complete_prior(X, weight)
        iterations = partial(
            em_iterations, sample_weight=weight, prior=self.prior_, n_jobs=self.n_jobs
        )
        self._fit_starts(X, lambda random_state: (X, weight), dtype, iterations)

    def _fit_starts(self, X, start_rows, dtype, iterations=em_iterations) -> _Run:
        """EM from each start; keep the kept run's parameters as the fit and return the run.

        ``start_rows(random_state)`` gives the rows the starts are chosen from and their
        weights, or None (all of ``X`` in memory, a sample for a Dask array; asked once, and
        only if a start needs it).
        ``iterations`` is the EM loop over ``X`` (see :func:`gmmlib.em.em_iterations`).
        """
        inits = self._check_initial_parameters(X.shape[1])
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        random_state = check_random_state(self.random_state)
        rows = row_weights = None
        runs: list[_Run] = []
        for init in range(self.n_init if do_init else 1):
            if self.verbose:
                print(f"Initialization {init}")
            if do_init:
                if rows is None and any(value is None for value in inits):
                    rows, row_weights = start_rows(random_state)
                start = self._initialize(rows, random_state, *inits, sample_weight=row_weights)
                lower_bound = -np.inf
            else:
                start = self._float64_parameters()
                lower_bound = float(self.lower_bound_)
            runs.append(self._run(X, *start, lower_bound=lower_bound, iterations=iterations))
        best = _kept_run(runs, max_iter=self.max_iter)

        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "The best start did not converge within max_iter iterations: increase "
                "max_iter or tol, try other starts (n_init), or check for degenerate data.",
                ConvergenceWarning,
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
        self.precisions_ = cov.precisions_from_cholesky(prec_chol, self.covariance_type).astype(dtype)

    def _float64_parameters(self) -> tuple[np.ndarray, ...]:
        """The fitted weights, means, covariances and precision factors, in float64."""
        return tuple(
            np.asarray(a, dtype=np.float64)
            for a in (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)
        )

    # ------------------------------------------------------------------ using a fit
    def _log_resp(self, X) -> tuple[np.ndarray, np.dtype]:
        check_is_fitted(self)
        X, dtype = self._validate_X(X, reset=False)
        weights, means, covariances, prec_chol = self._float64_parameters()
        log_resp, _ = e_step(
            X, weights, means, covariances, self.covariance_type, precisions_cholesky=prec_chol,
            n_jobs=self.n_jobs,
        )
        return log_resp, np.result_type(dtype, self.means_.dtype)

    def predict(self, X) -> np.ndarray:
        """The most probable component of each sample: :math:`\\arg\\max_k r_{ik}`."""
        if is_dask_array(X):
            return _dask_map(self.predict, X)
        return self._log_resp(X)[0].argmax(axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities :math:`r_{ik}`, shape ``(N, K)``; each row sums to 1.

        A sample whose density underflows to zero under every component
        (``score_samples`` gives :math:`-\\infty`) gets the weights :math:`\\pi_k`, the
        probabilities before seeing it: its responsibilities would be 0/0.
        """
        if is_dask_array(X):
            return _dask_map(self.predict_proba, X)
        log_resp, dtype = self._log_resp(X)
        return np.exp(log_resp).astype(dtype, copy=False)

    def score_samples(self, X) -> np.ndarray:
        """Log-density :math:`\\log p(x_i)` of each sample, shape ``(N,)``.

        :math:`-\\infty` for a sample so far from every component that its density
        underflows to zero in floating point.
        """
        if is_dask_array(X):
            return _dask_map(self.score_samples, X)
        check_is_fitted(self)
        X, dtype = self._validate_X(X, reset=False)
        weights, means, covariances, prec_chol = self._float64_parameters()
        scores = log_likelihood(
            X, weights, means, covariances, self.covariance_type, precisions_cholesky=prec_chol,
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
        weight = check_sample_weight(sample_weight, _n_rows(X))
        return weighted_mean_log_likelihood(np.asarray(self.score_samples(X), dtype=float), weight)

    def n_parameters(self) -> int:
        """Number of free parameters (see :func:`gmmlib._covariance.n_parameters`)."""
        check_is_fitted(self)
        return cov.n_parameters(self.n_components, self.n_features_in_, self.covariance_type)

    def _total_log_likelihood(self, X, sample_weight) -> tuple[float, float]:
        """:math:`\\log L = \\sum_i w_i \\log p(x_i)` and :math:`N = \\sum_i w_i`."""
        if is_dask_array(X):
            from ._dask import total_log_likelihood

            return total_log_likelihood(self, X, sample_weight)
        n_rows = self._validate_X(X, reset=False)[0].shape[0]
        weight = check_sample_weight(sample_weight, n_rows)
        n = float(n_rows if weight is None else weight.sum())
        return self.score(X, sample_weight=weight) * n, n

    def bic(self, X, sample_weight=None) -> float:
        """Bayesian information criterion :math:`-2 \\log L + p \\log N` (lower is better).

        With ``sample_weight``, :math:`\\log L = \\sum_i w_i \\log p(x_i)` and
        :math:`N = \\sum_i w_i`: the weights are read as counts of repeated rows
        (frequency weights), which is what makes integer weights equal to repetition.
        """
        log_likelihood, n = self._total_log_likelihood(X, sample_weight)
        return -2 * log_likelihood + self.n_parameters() * np.log(n)

    def aic(self, X, sample_weight=None) -> float:
        """Akaike information criterion :math:`-2 \\log L + 2p` (lower is better; weights as
        in :meth:`bic`)."""
        log_likelihood, _ = self._total_log_likelihood(X, sample_weight)
        return -2 * log_likelihood + 2 * self.n_parameters()

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
        if self.covariance_type in ("full", "tied"):
            covariances = (
                self.covariances_
                if self.covariance_type == "full"
                else [self.covariances_] * self.n_components
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
    result.__dict__.update(fitted)
    per_component = ["weights_", "means_"]
    if model.covariance_type != "tied":
        per_component += ["covariances_", "precisions_", "precisions_cholesky_"]
    for name in per_component:
        setattr(result, name, np.asarray(getattr(model, name))[order].copy())
    return result
