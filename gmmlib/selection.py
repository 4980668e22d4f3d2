r"""Choosing the number of components and the covariance type.

:func:`select_model` fits a :class:`~gmmlib.GaussianMixture` for every pair
(number of components, covariance type) and scores each one:

* BIC :math:`= -2\log\hat L + p\log N` and AIC :math:`= -2\log\hat L + 2p`, with
  :math:`\log\hat L` the total log-likelihood and :math:`p` the number of free parameters;
* ICL :math:`= \text{BIC} + 2\,\text{EN}`, with :math:`\text{EN} = -\sum_i\sum_k r_{ik}\log
  r_{ik}` the entropy of the responsibilities: BIC plus a penalty for components that
  overlap, so it counts clusters rather than density components (lower is better for all
  three);
* or, with ``criterion="cv"``, the held-out log-likelihood per point averaged over
  K folds (higher is better).

The choice is only as good as the fits behind it, so every candidate is fitted from
several starts, to convergence (a relative change of the total log-likelihood below
``tol``), and also from a start that splits the best fit with one component fewer, so that
the log-likelihood never falls as components are added (after a degenerate fit, which gives
no split start, it can). A fit that has collapsed (see
:func:`degenerate_components`) is flagged and never chosen: maximum likelihood for a
mixture is unbounded, and a component shrinking onto a few points or onto repeated values
buys an arbitrarily high likelihood that only ``reg_covar`` caps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from joblib import Parallel, delayed
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.utils import check_random_state

from . import criteria
from ._covariance import (
    DegenerateFitError,
    check_covariance_type,
    covariance_matrices,
    minimum_points,
    n_parameters,
    storage,
)
from ._parallel import single_threaded
from ._validation import check_sample_weight, is_integer
from .mixture import GaussianMixture
from .parsimonious import MODEL_NAMES
from .prior import NO_PRIOR_MODELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "DEGENERATE_RTOL",
    "FLAT_RTOL",
    "ModelSelection",
    "degenerate_components",
    "flat_directions",
    "select_model",
]

CRITERIA = ("bic", "aic", "icl", "cv")

#: The data are flat along a direction whose variance is below this fraction of the largest.
FLAT_RTOL = 1e-10

#: Relative variance below which a component direction counts as collapsed.
DEGENERATE_RTOL = 1e-8

_COLUMNS = [
    "n_components",
    "covariance_type",
    "n_parameters",
    "log_likelihood",
    "bic",
    "aic",
    "icl",
    "converged",
    "degenerate",
]


def degenerate_components(
    model: Any, X: Any, *, rtol: float = DEGENERATE_RTOL, sample_weight: Any = None
) -> np.ndarray:
    r"""Which components of a fitted mixture have collapsed.

    Component :math:`k` of a model fitted on ``X`` (:math:`N` points, :math:`d` features)
    is degenerate when either

    1. **it rests on a handful of points**: its effective size
       :math:`N_k = N\pi_k` is smaller than the :math:`d + 1` points a full covariance
       needs to be non-singular (2 for ``diag`` and ``spherical``; ``tied`` shares one
       covariance estimated from all points, so this test does not apply; for mclust's
       models, :func:`gmmlib._covariance.minimum_points`: :math:`d + 1` when the component
       has an orientation of its own or a matrix that its own points decide, 2 for
       variances of its own, none for EII, EEI, EEE); or
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
    sample_weight : array-like of shape (n_samples,), optional
        The weights the model was fitted with: :math:`N = \sum_i w_i` and :math:`S` is the
        weighted covariance (frequency weights, as in the fit).

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
    weight = check_sample_weight(sample_weight, n_samples)
    covariance_type = check_covariance_type(getattr(model, "covariance_type", "full"))
    reg_covar = float(getattr(model, "reg_covar", 0.0))
    size = n_samples if weight is None else float(weight.sum())
    too_small = np.asarray(model.weights_) * size < minimum_points(covariance_type, n_features)

    spread = np.atleast_2d(np.cov(X, rowvar=False, bias=True, aweights=weight))
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
    """The kept start of one candidate on one split of the data."""

    model: Any  # the fitted estimator (kept only for the full-data fit)
    log_likelihood: float  # total, on the training points
    entropy: float  # of the responsibilities on the training points (nan for a fold)
    held_out: float  # mean per held-out point; nan for the full-data fit
    converged: bool
    degenerate: bool


def _converge(
    model: GaussianMixture, X: Any, tol: float, weight: np.ndarray | None = None
) -> GaussianMixture:
    r"""Continue a fitted ``model`` until the total log-likelihood :math:`L` changes by less
    than ``tol`` :math:`\cdot\max(1, |L|)` per iteration.

    ``GaussianMixture.tol`` is absolute, on the mean log-likelihood (scikit-learn's
    meaning); the first fit's :math:`|L|` sets the scale, and the fit continues from where
    it stopped (``warm_start``) with the tolerance that scale implies.
    """
    n = _total_weight(X, weight)
    scale = max(1.0, abs(float(model.lower_bound_)) * n)
    model.set_params(warm_start=True, tol=tol * scale / n)
    model.fit(X, sample_weight=weight)
    return model.set_params(warm_start=False)


def _split_start(model: Any, covariance_type: str) -> dict[str, np.ndarray]:
    r"""A start with one component more: the widest component of ``model`` split in two.

    The component with the largest :math:`\pi_k \lambda_k` (weight times the variance
    :math:`\lambda_k` along its widest axis :math:`v_k`) becomes two, at
    :math:`\mu_k \pm \sqrt{\lambda_k}\, v_k`, each with half its weight and its covariance.
    """
    n_components, n_features = model.means_.shape
    matrices = covariance_matrices(model.covariances_, covariance_type, n_components, n_features)
    eigenvalues, eigenvectors = np.linalg.eigh(matrices)
    k = int(np.argmax(model.weights_ * eigenvalues[:, -1]))
    step = np.sqrt(eigenvalues[k, -1]) * eigenvectors[k, :, -1]
    weights = np.append(model.weights_, model.weights_[k] / 2)
    weights[k] /= 2
    means = np.vstack([model.means_, model.means_[k] + step])
    means[k] = model.means_[k] - step
    precisions = np.asarray(model.precisions_)
    if storage(covariance_type) != "tied":  # a copy of a component keeps every constraint
        precisions = np.concatenate([precisions, precisions[k : k + 1]])
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def _total_weight(X: Any, weight: np.ndarray | None) -> float:
    return float(len(X) if weight is None else weight.sum())


def _log_likelihood(model: GaussianMixture, X: Any, weight: np.ndarray | None) -> float:
    """The total (weighted) log-likelihood of ``X``."""
    return float(model.score(X, sample_weight=weight)) * _total_weight(X, weight)


def _usable(model: GaussianMixture, X: Any, weight: np.ndarray | None) -> bool:
    """Whether no component of a fitted model has collapsed (:func:`degenerate_components`)."""
    return not bool(degenerate_components(model, np.asarray(X), sample_weight=weight).any())


def _rank(model: GaussianMixture, X: Any, weight: np.ndarray | None) -> tuple[bool, float]:
    """How good a fitted start is: (has not collapsed, what the fit maximised on ``X``): the
    total log-likelihood, or with a prior the log posterior (``lower_bound_`` times N, up to
    a constant shared by all starts)."""
    usable = _usable(model, X, weight)
    if getattr(model, "prior_", None) is not None:
        return usable, float(model.lower_bound_) * _total_weight(X, weight)
    return usable, _log_likelihood(model, X, weight)


def _fit_or_none(fit: Callable[..., Any], *args: Any) -> Any:
    """``fit(*args)``, or None when a covariance collapsed beyond what ``reg_covar`` holds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return fit(*args)
        except DegenerateFitError:
            return None  # a collapse; a bad parameter is another ValueError, and raises


def _fit_path(
    X: Any,
    train: np.ndarray | None,
    test: np.ndarray | None,
    sizes: list[int],
    covariance_type: str,
    seeds: np.ndarray,
    params: dict[str, Any],
    tol: float,
    weight: np.ndarray | None = None,
) -> list[_Fit]:
    """Fit every size in ``sizes`` (ascending) of one covariance type on one split.

    Each size is fitted from ``seeds.shape[1]`` seeded starts and, when the previous size
    had a usable fit, from that fit split in two (:func:`_split_start`). Every start climbs
    with ``GaussianMixture``'s own tolerance; the best, ranked by (not degenerate, training
    log-likelihood), is then run to convergence (:func:`_converge`). A collapsed start is
    kept only when every start collapsed, and one whose covariance stopped being positive
    definite counts as collapsed. ``train is None`` means the whole of ``X``. Each fit runs
    on one thread: types and folds run in parallel instead, and multi-threaded BLAS on
    these small matrices is slower.
    """
    rows = (lambda index: X.iloc[index]) if hasattr(X, "iloc") else (lambda index: X[index])
    X_train = X if train is None else rows(train)
    w_train = weight if weight is None or train is None else weight[train]
    w_test = weight if weight is None or test is None else weight[test]
    fits: list[_Fit] = []
    previous = None
    with single_threaded():
        for size, size_seeds in zip(sizes, seeds):
            starts: list[dict[str, Any]] = [{"random_state": int(seed)} for seed in size_seeds]
            if previous is not None and previous.n_components + 1 == size:
                split = _split_start(previous, covariance_type)
                starts.append({"random_state": int(size_seeds[0]), **split})
            models = [
                _fit_or_none(
                    GaussianMixture(size, covariance_type=covariance_type, **params, **start).fit,
                    X_train,
                    None,
                    w_train,
                )
                for start in starts
            ]
            ranked = [
                (_rank(model, X_train, w_train), i)
                for i, model in enumerate(models)
                if model is not None
            ]
            best = models[max(ranked)[1]] if ranked else None
            if best is not None:
                best = _fit_or_none(_converge, best, X_train, tol, w_train)
            if best is None:
                nan = float("nan")
                fits.append(_Fit(None, nan, nan, nan, False, True))
                previous = None
                continue
            usable = _usable(best, X_train, w_train)
            log_likelihood = _log_likelihood(best, X_train, w_train)
            previous = best if usable else None
            if test is None:
                entropy = criteria.entropy(best.predict_proba(X_train), w_train)
                held_out = float("nan")
            else:
                entropy = float("nan")
                held_out = float(best.score(rows(test), sample_weight=w_test))
            fits.append(
                _Fit(best, log_likelihood, entropy, held_out, bool(best.converged_), not usable)
            )
    return fits


def _progress_bar(results: Iterable[Any], total: int) -> Iterable[Any]:
    """``results`` behind a tqdm progress bar (tqdm is needed only for ``progress=True``)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the [progress] extra
        raise ValueError(
            "progress=True draws a progress bar with tqdm, which is not installed: "
            "pip install tqdm (or gmmlib[progress]), or leave progress=False."
        ) from None
    return tqdm(results, total=total, desc="select_model")


def flat_directions(
    X: Any, *, names: list[str] | None = None, rtol: float = FLAT_RTOL
) -> list[str]:
    """Why the data themselves are flat, if they are: one line per flat direction.

    A direction along which the data have (almost) no spread, a variance below ``rtol``
    times the largest, makes every full or tied covariance singular however many points a
    component has: a constant column, a column that repeats or is a multiple of another,
    proportions that sum to one, more features than points. Returns an empty list when
    the data spread in every direction. Each line names the columns involved (those with
    a visible share of the flat direction), by ``names`` if given, else by index.
    """
    X = np.asarray(X, dtype=float)
    names = [str(j) for j in range(X.shape[1])] if names is None else [str(n) for n in names]
    centred = X - X.mean(axis=0)
    scale = np.abs(centred).max(axis=0)
    scaled = centred / np.where(scale > 0, scale, 1.0)  # units must not decide flatness
    _, singular_values, directions = np.linalg.svd(scaled, full_matrices=True)
    variances = np.zeros(X.shape[1])
    variances[: len(singular_values)] = singular_values**2
    largest = variances.max(initial=0.0)
    reasons = []
    for j in np.flatnonzero(scale == 0):
        reasons.append(f"column {names[j]} is constant")
    for variance, direction in zip(variances, directions):
        if variance > rtol * largest:
            continue
        involved = [names[j] for j in np.flatnonzero(np.abs(direction) > 0.05) if scale[j] > 0]
        if len(involved) > 1:
            reasons.append(f"columns {', '.join(involved)} are linearly dependent")
    return list(dict.fromkeys(reasons))


def _check_not_flat(X: np.ndarray, names: list[str] | None) -> None:
    reasons = flat_directions(X, names=names)
    if not reasons:
        return
    more = " (there are more features than samples)" if X.shape[1] >= X.shape[0] else ""
    raise ValueError(
        f"The data are flat in some direction{more}: {'; '.join(reasons)}. Every full or "
        "tied covariance is then singular there, whatever the number of components, and the "
        "candidates cannot be compared fairly. Drop those columns, or project the data onto "
        "the directions they spread in (e.g. sklearn.decomposition.PCA)."
    )


class ModelSelection:
    """The outcome of :func:`select_model`.

    Attributes
    ----------
    table : DataFrame
        One row per candidate: ``n_components``, ``covariance_type``, ``n_parameters``,
        ``log_likelihood`` (total, on all the data), ``bic``, ``aic``, ``icl``,
        ``converged``, ``degenerate``, and ``cv_log_likelihood`` (mean held-out
        log-likelihood per point) when the criterion is ``"cv"``.
    estimators_ : list
        The fitted model of each row of ``table`` (fitted on all the data).
    criterion : str
        ``"bic"``, ``"aic"``, ``"icl"`` (lowest wins) or ``"cv"`` (highest wins).
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
        assert self.best_index_ is not None  # _best_row raises otherwise
        return self.estimators_[self.best_index_]

    @property
    def best_params_(self) -> dict[str, Any]:
        """``{"n_components": ..., "covariance_type": ...}`` of the chosen model."""
        row = self._best_row()
        return {"n_components": int(row["n_components"]), "covariance_type": row["covariance_type"]}

    def with_criterion(self, criterion: str) -> ModelSelection:
        """The same candidates chosen by another of ``"bic"``, ``"aic"`` or ``"icl"``
        (``"cv"`` needs the held-out scores, which only ``select_model(criterion="cv")``
        computes). Nothing is refitted."""
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}; got {criterion!r}.")
        if criterion == "cv" and "cv_log_likelihood" not in self.table:
            raise ValueError(
                "these candidates have no held-out scores: run select_model(..., criterion='cv')."
            )
        return ModelSelection(self.table, self.estimators_, criterion)

    def plot(self, ax: Any = None, *, kind: str = "criteria", **options: Any) -> Any:
        """Plot the candidates' scores against the number of components.

        ``kind="criteria"`` (default): BIC, AIC and ICL together for ``criterion``
        ``"bic"``, ``"aic"`` or ``"icl"``, the held-out log-likelihood alone for ``"cv"``
        (:func:`gmmlib.plotting.plot_criteria`). ``kind="models"``: mclust's picture of
        ``plot(mclustBIC)``, one line per covariance type for one criterion (this
        selection's, BIC for ``"cv"``; :func:`gmmlib.plotting.plot_bic_by_model`, which
        takes the ``options``, e.g. ``mclust_sign=True``).
        """
        from .plotting import plot_bic_by_model, plot_criteria

        if kind == "models":
            criterion = "bic" if self.criterion == "cv" else self.criterion
            return plot_bic_by_model(self.table, ax, criterion=criterion, **options)
        if kind != "criteria":
            raise ValueError(f"kind must be 'criteria' or 'models'; got {kind!r}.")
        criteria = ["cv_log_likelihood"] if self.criterion == "cv" else ["bic", "aic", "icl"]
        return plot_criteria(self.table, ax, criteria=criteria, **options)

    def __repr__(self) -> str:
        chosen = "none (all degenerate)" if self.best_index_ is None else self.best_params_
        return (
            f"ModelSelection(criterion={self.criterion!r}, {len(self.table)} candidates, "
            f"best={chosen})"
        )


def _check_candidates(
    n_components: int | Iterable[int],
    covariance_types: str | Iterable[str],
    criterion: str,
    prior: Any = None,
) -> tuple[list[int], list[str]]:
    sizes: list[Any] = [n_components] if is_integer(n_components) else list(n_components)  # type: ignore[arg-type]
    if not sizes or any(not is_integer(k) or k < 1 for k in sizes):
        raise ValueError(
            f"n_components must be positive integers, e.g. range(1, 11); got {n_components!r}."
        )
    if isinstance(covariance_types, str) and covariance_types == "all":
        # mclust's default; with a prior, Mclust() leaves out the models that have none
        types = [t for t in MODEL_NAMES if prior is None or t not in NO_PRIOR_MODELS]
    elif isinstance(covariance_types, str):
        types = [covariance_types]
    else:
        types = list(covariance_types)
    if not types:
        raise ValueError("covariance_types is empty; pass e.g. ('full',).")
    for covariance_type in types:
        check_covariance_type(covariance_type)
        if prior is not None and covariance_type in NO_PRIOR_MODELS:
            raise ValueError(
                f"covariance_types includes {covariance_type}, which has no conjugate prior "
                f"(nor have {', '.join(NO_PRIOR_MODELS)} in mclust): leave these out when "
                "passing a prior, or pass covariance_types='all', which does."
            )
    if len(set(sizes)) != len(sizes) or len(set(types)) != len(types):
        raise ValueError("n_components and covariance_types must not repeat a value.")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}; got {criterion!r}.")
    return [int(k) for k in sizes], types


def select_model(
    X: Any,
    n_components: Iterable[int] = range(1, 11),
    covariance_types: str | Iterable[str] = ("spherical", "diag", "tied", "full"),
    criterion: str = "bic",
    *,
    n_init: int = 5,
    cv: int = 5,
    max_iter: int = 5000,
    tol: float = 1e-8,
    reg_covar: float = 1e-6,
    init_params: str = "kmeans",
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
    sample_weight: Any = None,
    prior: Any = None,
) -> ModelSelection:
    r"""Fit every candidate mixture and choose one by BIC, AIC, ICL or held-out likelihood.

    For each covariance type, and each number of components in ascending order:

    1. fit :class:`gmmlib.GaussianMixture` from ``n_init`` starts (k-means on different
       seeds by default) and from the best fit with one component fewer, its widest
       component split in two (see :func:`_split_start`), unless that fit is degenerate;
       the split start makes the table's log-likelihood non-decreasing in the number of
       components, as the true maxima are, from every fit that is not degenerate.
       Each run continues until the total log-likelihood :math:`L` changes by less than
       ``tol`` :math:`\cdot |L|` in an iteration (``max_iter`` is only a safety net);
    2. check each run with :func:`degenerate_components` and keep the best run that has no
       collapsed component; the candidate is flagged ``degenerate`` only when every run
       collapsed (with ``criterion="cv"``, also when every run on some fold collapsed);
    3. score the kept run: BIC :math:`= -2\log\hat L + p\log N`, AIC
       :math:`= -2\log\hat L + 2p`, ICL :math:`= \text{BIC} + 2\,\text{EN}` with
       :math:`\text{EN} = -\sum_i\sum_k r_{ik}\log r_{ik}` (Biernacki, Celeux & Govaert,
       2000, in the entropy form of McLachlan & Peel, 2000; R's mclust uses the hard
       assignments instead, :math:`-2\sum_i \log\max_k r_{ik}`, which is never larger),
       and for ``"cv"`` the mean over ``cv`` folds of the held-out log-likelihood per
       point (each fold fitted as in 1-2).

    The winner minimises BIC, AIC or ICL (maximises the held-out likelihood) among the
    candidates **not** flagged degenerate. A degenerate fit cannot win however high its
    likelihood: its component rests on fewer points than its covariance has dimensions,
    or along some direction is no wider than ``reg_covar`` plus a :data:`DEGENERATE_RTOL`
    fraction of the data's spread (see :func:`degenerate_components`). A full covariance
    in :math:`d` dimensions needs :math:`d+1` points per component, so in high dimensions
    this caps how many ``full`` components the data can support.

    Data that are flat themselves (a constant or repeated column, proportions that sum to
    one, more features than samples; see :func:`flat_directions`) are refused with a
    ``ValueError`` that names the columns: every full or tied candidate would be singular
    there and no comparison would be fair.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        A pandas DataFrame keeps its column names in the fitted models.
    n_components : iterable of int, default=range(1, 11)
    covariance_types : str or iterable of str, default=("spherical", "diag", "tied", "full")
        Any of ``gmmlib.COVARIANCE_TYPES``: scikit-learn's four, mclust's fourteen
        models (:data:`gmmlib.parsimonious.MODEL_NAMES`), or a mix; ``"all"`` is mclust's
        default, the fourteen (with a ``prior``, the ten that have one, as ``Mclust()``
        does). ``select_model(X, covariance_types="all").plot(kind="models")`` draws
        mclust's BIC-by-model picture.
    criterion : {"bic", "aic", "icl", "cv"}, default="bic"
    n_init : int, default=5
        Seeded starts per candidate (and per fold), besides the split start. Five keeps
        the best of several k-means initialisations at a cost the book can afford.
    cv : int, default=5
        Folds for ``criterion="cv"`` (shuffled, the same folds for every candidate).
    tol : float, default=1e-8
        Convergence: the relative change of the total log-likelihood per iteration, as in
        R's mclust (whose default is 1e-5). Unlike ``GaussianMixture.tol``, it does not
        depend on the number of points.
    max_iter, reg_covar, init_params
        Passed to :class:`~gmmlib.GaussianMixture`. ``max_iter`` is higher than the
        estimator's default so that fits converge; ``table.converged`` reports it.
    random_state : int, RandomState or None
        Seeds the starts and the folds; an int makes the whole selection reproducible.
    n_jobs : int or None
        Covariance types and folds run in parallel with joblib (``-1``: all cores;
        ``None``: one).
    progress : bool, default=False
        Show a tqdm progress bar (one step per covariance type and fold).
    sample_weight : array-like of shape (n_samples,), optional
        Frequency weights (row :math:`i` counts :math:`w_i` times; see
        :meth:`GaussianMixture.fit`), used in every fit, in the ranking of starts, in
        :func:`degenerate_components` and in the criteria: :math:`\log\hat L =
        \sum_i w_i \log p(x_i)`, :math:`N = \sum_i w_i` in BIC, the entropy weighted by
        :math:`w_i` in ICL, and the held-out score weighted by the held-out rows' weights.
        With ``"cv"`` a row and its weight go to one fold together (so integer weights are
        repeated rows everywhere but in the folds, where copies of a row stay together).
    prior : None, "default" or gmmlib.prior.ConjugatePrior
        Passed to every :class:`~gmmlib.GaussianMixture`: each candidate is then the MAP fit
        under the conjugate prior (its defaults depend on the number of components), and BIC,
        AIC and ICL use the log-likelihood at the MAP estimate, as R's mclust does with
        ``priorControl()`` (Fraley & Raftery, 2007).

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
    import pandas as pd

    sizes, types = _check_candidates(n_components, covariance_types, criterion, prior)
    sizes = sorted(sizes)
    names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
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
    if not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and 0 <= tol < 1):
        raise ValueError(f"tol must be a relative tolerance in [0, 1), e.g. 1e-8; got {tol!r}.")
    weight = check_sample_weight(sample_weight, len(X))
    _check_not_flat(X if weight is None else X[weight > 0], names)
    rng = check_random_state(random_state)
    splits: list[tuple[np.ndarray | None, np.ndarray | None]] = [(None, None)]
    if criterion == "cv":
        if not is_integer(cv) or not 2 <= cv <= len(X):
            raise ValueError(f"cv must be an integer between 2 and n_samples={len(X)}; got {cv!r}.")
        folds = KFold(int(cv), shuffle=True, random_state=rng.randint(np.iinfo(np.int32).max))
        splits += list(folds.split(X))
    counted = np.ones(len(X), bool) if weight is None else weight > 0
    smallest_fit = min(
        int(counted.sum() if train is None else counted[train].sum()) for train, _ in splits
    )
    if max(sizes) > smallest_fit:
        raise ValueError(
            f"n_components goes up to {max(sizes)} but a fit sees only {smallest_fit} points; "
            "use fewer components (or fewer folds)."
        )
    for fold, (_, test) in enumerate(splits[1:], start=1):
        if weight is not None and not weight[test].sum() > 0:
            raise ValueError(
                f"Fold {fold} of cv={cv} holds only rows of weight 0, so it has nothing to "
                "score: use fewer folds, or give fewer rows zero weight."
            )
    criteria.check_sample_size(_total_weight(X, weight))

    params = dict(max_iter=max_iter, reg_covar=reg_covar, init_params=init_params, prior=prior)
    seeds = rng.randint(np.iinfo(np.int32).max, size=(len(types), len(splits), len(sizes), n_init))
    data = X if names is None else pd.DataFrame(X, columns=names)
    jobs = [
        delayed(_fit_path)(data, train, test, sizes, t, seeds[c, s], params, tol, weight)
        for c, t in enumerate(types)
        for s, (train, test) in enumerate(splits)
    ]
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    if progress:
        results = _progress_bar(results, len(jobs))
    paths = list(results)

    rows, estimators = [], []
    for c, t in enumerate(types):
        full, *fold_paths = paths[c * len(splits) : (c + 1) * len(splits)]
        for index, k in enumerate(sizes):
            fit, fold_fits = full[index], [path[index] for path in fold_paths]
            ll, p = fit.log_likelihood, n_parameters(k, X.shape[1], t)
            bic = criteria.bic(ll, p, _total_weight(X, weight))
            row = {
                "n_components": k,
                "covariance_type": t,
                "n_parameters": p,
                "log_likelihood": ll,
                "bic": bic,
                "aic": criteria.aic(ll, p),
                "icl": criteria.icl(bic, fit.entropy),
                "converged": all(f.converged for f in (fit, *fold_fits)),
                "degenerate": any(f.degenerate for f in (fit, *fold_fits)),
            }
            if criterion == "cv":
                row["cv_log_likelihood"] = float(np.mean([f.held_out for f in fold_fits]))
            rows.append(row)
            estimators.append(fit.model)
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
