r"""Choosing the number of components and the covariance type.

:func:`select_model` fits a :class:`~gmmlib.GaussianMixture` for every pair
(number of components, covariance type) and scores each one:

* BIC :math:`= -2\log\hat L + p\log N` and AIC :math:`= -2\log\hat L + 2p`, with
  :math:`\log\hat L` the total log-likelihood and :math:`p` the number of free parameters
  (lower is better);
* or, with ``criterion="cv"``, the held-out log-likelihood per point averaged over
  K folds (higher is better).

The choice is only as good as the fits behind it, so every candidate is fitted from
several starts, to convergence, and a fit that has collapsed (see
:func:`degenerate_components`) is flagged and never chosen: maximum likelihood for a
mixture is unbounded, and a component shrinking onto a few points or onto repeated values
buys an arbitrarily high likelihood that only ``reg_covar`` caps.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from ._covariance import (
    _NOT_POSITIVE_DEFINITE,
    check_covariance_type,
    covariance_matrices,
    n_parameters,
)
from ._validation import is_integer
from .mixture import GaussianMixture

__all__ = ["select_model", "ModelSelection", "degenerate_components"]

CRITERIA = ("bic", "aic", "cv")

#: Relative variance below which a component direction counts as collapsed.
DEGENERATE_RTOL = 1e-8

_COLUMNS = [
    "n_components",
    "covariance_type",
    "n_parameters",
    "log_likelihood",
    "bic",
    "aic",
    "converged",
    "degenerate",
]


def _minimum_points(covariance_type: str, n_features: int) -> int:
    """Fewest points (by responsibility) that give a component a non-singular covariance."""
    return {"full": n_features + 1, "diag": 2, "spherical": 2, "tied": 0}[covariance_type]


def degenerate_components(model: Any, X: Any, *, rtol: float = DEGENERATE_RTOL) -> np.ndarray:
    r"""Which components of a fitted mixture have collapsed.

    Component :math:`k` of a model fitted on ``X`` (:math:`N` points, :math:`d` features)
    is degenerate when either

    1. **it rests on a handful of points**: its effective size
       :math:`N_k = N\pi_k` is smaller than the :math:`d + 1` points a full covariance
       needs to be non-singular (2 for ``diag`` and ``spherical``; ``tied`` shares one
       covariance estimated from all points, so this test does not apply); or
    2. **it is flat in some direction**: with :math:`C_k = \Sigma_k - \epsilon I` its
       covariance without the regulariser :math:`\epsilon` = ``reg_covar``, and :math:`S`
       the covariance of ``X``, some direction :math:`v` has

       .. math:: v^\top C_k v \le \epsilon + \text{rtol}\; v^\top S v,

       that is, along :math:`v` the component's own spread is no more than the regulariser
       plus a ``rtol`` fraction of the data's spread. Then ``reg_covar``, not the data,
       sets its density there: the unbounded-likelihood spike of a component sitting on
       repeated values. Computed as the smallest generalised eigenvalue of
       :math:`(C_k,\ \epsilon I + \text{rtol}\, S)` being at most 1.

    Parameters
    ----------
    model : fitted Gaussian mixture (gmmlib's or scikit-learn's)
    X : array-like of shape (n_samples, n_features)
        The data the model was fitted on.
    rtol : float, default=1e-8
        Relative spread below which a direction counts as collapsed.

    Returns
    -------
    ndarray of bool, shape (n_components,)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != np.shape(model.means_)[1]:
        raise ValueError(
            f"X must be the 2-D data the model was fitted on, with "
            f"{np.shape(model.means_)[1]} features; got shape {X.shape}."
        )
    n_samples, n_features = X.shape
    covariance_type = check_covariance_type(getattr(model, "covariance_type", "full"))
    reg_covar = float(getattr(model, "reg_covar", 0.0))
    too_small = np.asarray(model.weights_) * n_samples < _minimum_points(
        covariance_type, n_features
    )

    spread = np.atleast_2d(np.cov(X, rowvar=False, bias=True))
    floor = (
        reg_covar
        if reg_covar > 0
        else np.finfo(float).eps * max(np.trace(spread) / n_features, 1.0)
    )
    threshold = floor * np.eye(n_features) + rtol * spread
    lower = linalg.cholesky(threshold, lower=True)
    n_components = len(model.weights_)
    stored = covariance_matrices(model.covariances_, covariance_type, n_components, n_features)
    unregularised = stored - reg_covar * np.eye(n_features)
    flat = np.empty(len(unregularised), dtype=bool)
    for k, covariance in enumerate(unregularised):
        half = linalg.solve_triangular(lower, covariance, lower=True)
        relative = linalg.solve_triangular(lower, half.T, lower=True)
        flat[k] = np.linalg.eigvalsh((relative + relative.T) / 2)[0] <= 1.0
    return too_small | flat


class _Fit(NamedTuple):
    """The kept restart of one candidate on one split of the data."""

    model: Any  # the estimator for the full-data fit, None for a cross-validation fold
    log_likelihood: float  # total, on the training points
    held_out: float  # mean per held-out point; nan for the full-data fit
    converged: bool
    degenerate: bool


def _fit_candidate(
    X: np.ndarray,
    train: np.ndarray | None,
    test: np.ndarray | None,
    n_components: int,
    covariance_type: str,
    seeds: np.ndarray,
    params: dict[str, Any],
) -> _Fit:
    """Fit one candidate from ``len(seeds)`` starts; keep the best non-degenerate one.

    Restarts are ranked by (not degenerate, training log-likelihood), so a collapsed
    restart is kept only when every restart collapsed; a restart whose covariance stopped
    being positive definite counts as collapsed. ``train is None`` means the whole of
    ``X``. Each fit runs on one thread: candidates run in parallel instead, and
    multi-threaded BLAS on these small matrices is slower, badly so on a busy machine.
    """
    X_train = X if train is None else X[train]
    best, best_key = None, None
    with threadpool_limits(1):
        for seed in seeds:
            model = GaussianMixture(
                n_components, covariance_type=covariance_type, random_state=int(seed), **params
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                try:
                    model.fit(X_train)
                except ValueError as error:
                    if _NOT_POSITIVE_DEFINITE not in str(error):
                        raise  # a bad parameter, not a collapse
                    continue  # a covariance collapsed beyond what reg_covar could hold
            degenerate = bool(degenerate_components(model, X_train).any())
            log_likelihood = float(model.score(X_train)) * len(X_train)
            key = (not degenerate, log_likelihood)
            if best_key is None or key > best_key:
                best, best_key = (model, degenerate, log_likelihood), key
    if best is None:
        nan = float("nan")
        return _Fit(None, nan, nan, False, True)
    model, degenerate, log_likelihood = best
    held_out = float("nan") if test is None else float(model.score(X[test]))
    return _Fit(
        model if train is None else None,
        log_likelihood,
        held_out,
        bool(model.converged_),
        degenerate,
    )


class ModelSelection:
    """The outcome of :func:`select_model`.

    Attributes
    ----------
    table : DataFrame
        One row per candidate: ``n_components``, ``covariance_type``, ``n_parameters``,
        ``log_likelihood`` (total, on all the data), ``bic``, ``aic``, ``converged``,
        ``degenerate``, and ``cv_log_likelihood`` (mean held-out log-likelihood per
        point) when the criterion is ``"cv"``.
    estimators_ : list
        The fitted model of each row of ``table`` (fitted on all the data).
    criterion : str
        ``"bic"``, ``"aic"`` (lowest wins) or ``"cv"`` (highest wins).
    best_index_ : int or None
        Row of the winner among the non-degenerate candidates; ``None`` if all degenerate.
    """

    def __init__(self, table: pd.DataFrame, estimators: list[Any], criterion: str) -> None:
        self.table = table
        self.estimators_ = estimators
        self.criterion = criterion
        column = "cv_log_likelihood" if criterion == "cv" else criterion
        scores = table[column].where(~table["degenerate"])
        if criterion == "cv":
            scores = -scores
        self.best_index_ = None if scores.isna().all() else int(np.nanargmin(scores.to_numpy()))

    def _best_row(self) -> pd.Series:
        if self.best_index_ is None:
            raise ValueError(
                f"no candidate can be chosen: all {len(self.table)} fits are degenerate "
                "(see .table). Try fewer components, a constrained covariance type "
                "('diag', 'spherical', 'tied'), or a larger reg_covar."
            )
        return self.table.iloc[self.best_index_]

    @property
    def best_estimator_(self) -> Any:
        """The chosen model, fitted on all the data."""
        self._best_row()
        return self.estimators_[self.best_index_]

    @property
    def best_params_(self) -> dict[str, Any]:
        """``{"n_components": ..., "covariance_type": ...}`` of the chosen model."""
        row = self._best_row()
        return {"n_components": int(row["n_components"]), "covariance_type": row["covariance_type"]}

    def plot(self, ax: Any = None) -> Any:
        """Plot the criterion against the number of components (see :func:`plot_criteria`).

        BIC and AIC are drawn together for ``criterion`` ``"bic"`` or ``"aic"``; the
        held-out log-likelihood alone for ``"cv"``.
        """
        from .plotting import plot_criteria

        criteria = ["cv_log_likelihood"] if self.criterion == "cv" else ["bic", "aic"]
        return plot_criteria(self.table, ax, criteria=criteria)

    def __repr__(self) -> str:
        chosen = "none (all degenerate)" if self.best_index_ is None else self.best_params_
        return (
            f"ModelSelection(criterion={self.criterion!r}, {len(self.table)} candidates, "
            f"best={chosen})"
        )


def _check_candidates(
    n_components: Iterable[int], covariance_types: Iterable[str], criterion: str
) -> tuple[list[int], list[str]]:
    sizes = [n_components] if is_integer(n_components) else list(n_components)
    if not sizes or any(not is_integer(k) or k < 1 for k in sizes):
        raise ValueError(
            f"n_components must be positive integers, e.g. range(1, 11); got {n_components!r}."
        )
    types = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    if not types:
        raise ValueError("covariance_types is empty; pass e.g. ('full',).")
    for covariance_type in types:
        check_covariance_type(covariance_type)
    if len(set(sizes)) != len(sizes) or len(set(types)) != len(types):
        raise ValueError("n_components and covariance_types must not repeat a value.")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}; got {criterion!r}.")
    return [int(k) for k in sizes], types


def select_model(
    X: Any,
    n_components: Iterable[int] = range(1, 11),
    covariance_types: Iterable[str] = ("spherical", "diag", "tied", "full"),
    criterion: str = "bic",
    *,
    n_init: int = 5,
    cv: int = 5,
    max_iter: int = 1000,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    init_params: str = "kmeans",
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> ModelSelection:
    r"""Fit every candidate mixture and choose one by BIC, AIC or held-out likelihood.

    For each pair of ``n_components`` and ``covariance_types``:

    1. fit :class:`gmmlib.GaussianMixture` from ``n_init`` starts (k-means on different
       seeds by default), each run until the mean log-likelihood gains less than ``tol``
       per iteration (``max_iter`` is only a safety net);
    2. check each run with :func:`degenerate_components` and keep the best run that has no
       collapsed component; the candidate is flagged ``degenerate`` only when every run
       collapsed (with ``criterion="cv"``, also when every run on some fold collapsed);
    3. score the kept run: BIC :math:`= -2\log\hat L + p\log N`, AIC
       :math:`= -2\log\hat L + 2p`, and for ``"cv"`` the mean over ``cv`` folds of the
       held-out log-likelihood per point (each fold fitted as in 1-2).

    The winner minimises BIC or AIC (maximises the held-out likelihood) among the
    candidates **not** flagged degenerate. A degenerate fit cannot win however high its
    likelihood: its component rests on fewer points than its covariance has dimensions,
    or along some direction is no wider than ``reg_covar`` plus a :data:`DEGENERATE_RTOL`
    fraction of the data's spread (see :func:`degenerate_components`). A full covariance
    in :math:`d` dimensions needs :math:`d+1` points per component, so in high dimensions
    this caps how many ``full`` components the data can support.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 11)
    covariance_types : iterable of str, default=("spherical", "diag", "tied", "full")
    criterion : {"bic", "aic", "cv"}, default="bic"
    n_init : int, default=5
        Starts per candidate (and per fold). Five keeps the best of several k-means
        initialisations at a cost the book can afford; raise it for hard problems.
    cv : int, default=5
        Folds for ``criterion="cv"`` (shuffled, the same folds for every candidate).
    max_iter, tol, reg_covar, init_params
        Passed to :class:`~gmmlib.GaussianMixture`. ``max_iter`` is higher than the
        estimator's default so that fits converge; ``table.converged`` reports it.
    random_state : int, RandomState or None
        Seeds the starts and the folds; an int makes the whole selection reproducible.
    n_jobs : int or None
        Fits run in parallel with joblib (``-1``: all cores; ``None``: one).
    progress : bool, default=False
        Show a tqdm progress bar (one step per candidate and fold).

    Returns
    -------
    ModelSelection
        ``.table``, ``.best_estimator_``, ``.best_params_``, ``.plot()``.

    Examples
    --------
    >>> from gmmlib.datasets import stretched_blobs
    >>> X, _ = stretched_blobs(1250, stretch_seed=15)
    >>> selection = select_model(X, range(1, 8), ("full",), random_state=0)
    >>> selection.best_params_
    {'n_components': 4, 'covariance_type': 'full'}
    """
    sizes, types = _check_candidates(n_components, covariance_types, criterion)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(
            f"X must be a finite 2-D array (n_samples, n_features) with at least 2 samples; "
            f"got shape {X.shape}."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be a finite 2-D array; it contains NaN or infinity.")
    if not is_integer(n_init) or n_init < 1:
        raise ValueError(f"n_init must be a positive integer; got {n_init!r}.")
    rng = check_random_state(random_state)
    splits: list[tuple[np.ndarray | None, np.ndarray | None]] = [(None, None)]
    if criterion == "cv":
        if not is_integer(cv) or not 2 <= cv <= len(X):
            raise ValueError(f"cv must be an integer between 2 and n_samples={len(X)}; got {cv!r}.")
        folds = KFold(int(cv), shuffle=True, random_state=rng.randint(np.iinfo(np.int32).max))
        splits += list(folds.split(X))
    smallest_fit = min(len(X) if train is None else len(train) for train, _ in splits)
    if max(sizes) > smallest_fit:
        raise ValueError(
            f"n_components goes up to {max(sizes)} but a fit sees only {smallest_fit} points; "
            "use fewer components (or fewer folds)."
        )

    params = dict(max_iter=max_iter, tol=tol, reg_covar=reg_covar, init_params=init_params)
    candidates = [(k, t) for t in types for k in sizes]
    seeds = rng.randint(np.iinfo(np.int32).max, size=(len(candidates), len(splits), n_init))
    jobs = [
        delayed(_fit_candidate)(X, train, test, k, t, seeds[c, s], params)
        for c, (k, t) in enumerate(candidates)
        for s, (train, test) in enumerate(splits)
    ]
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    fits = list(tqdm(results, total=len(jobs), disable=not progress, desc="select_model"))

    rows, estimators = [], []
    for c, (k, t) in enumerate(candidates):
        full, *fold_fits = fits[c * len(splits) : (c + 1) * len(splits)]
        ll, p = full.log_likelihood, n_parameters(k, X.shape[1], t)
        row = {
            "n_components": k,
            "covariance_type": t,
            "n_parameters": p,
            "log_likelihood": ll,
            "bic": -2 * ll + p * np.log(len(X)),
            "aic": -2 * ll + 2 * p,
            "converged": all(f.converged for f in (full, *fold_fits)),
            "degenerate": any(f.degenerate for f in (full, *fold_fits)),
        }
        if criterion == "cv":
            row["cv_log_likelihood"] = float(np.mean([f.held_out for f in fold_fits]))
        rows.append(row)
        estimators.append(full.model)
    columns = _COLUMNS + (["cv_log_likelihood"] if criterion == "cv" else [])
    table = pd.DataFrame(rows, columns=columns)
    usable = table[~table["degenerate"]]
    if not usable["converged"].all():
        warnings.warn(
            f"{(~usable['converged']).sum()} candidate fit(s) did not converge within "
            f"max_iter={max_iter}; see table.converged and raise max_iter.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return ModelSelection(table, estimators, criterion)
