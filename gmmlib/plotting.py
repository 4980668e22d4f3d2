r"""Pictures of fitted models: ellipses, circles, uncertainty, regions, criteria, EM in motion.

Every function here only *reads* a fitted model (``weights_``, ``means_``,
``covariances_``, ``covariance_type``, and ``predict`` / ``predict_proba``); none fits,
so a picture never changes the model it shows. They are duck-typed: scikit-learn's
:class:`~sklearn.mixture.GaussianMixture` and :class:`~sklearn.cluster.KMeans` work as
well as gmmlib's. Each accepts ``ax`` (default: the current axes), returns what it drew
and never calls ``plt.show()``.

The pictures are two-dimensional. A model fitted on more than two features is refused
with a ``ValueError`` rather than silently projected: project the data first (e.g. with
PCA) and fit or transform the model in that plane.

An ellipse shows where a Gaussian puts its mass. With the eigen-decomposition
:math:`\Sigma = \lambda_1 v_1 v_1^\top + \lambda_2 v_2 v_2^\top`
(:math:`\lambda_1 \ge \lambda_2`), the set :math:`(x-\mu)^\top\Sigma^{-1}(x-\mu) = n^2` is the
ellipse centred at :math:`\mu` with full axes :math:`2n\sqrt{\lambda_1}` (along
:math:`v_1`) and :math:`2n\sqrt{\lambda_2}`, turned by the angle of :math:`v_1`.
"""

from __future__ import annotations

import hashlib
import numbers
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize
from matplotlib.contour import QuadContourSet
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Ellipse
from matplotlib.ticker import MaxNLocator

from ._covariance import covariance_matrices, expected_covariance_shape
from ._validation import is_integer

__all__ = [
    "draw_ellipse",
    "plot_gmm",
    "plot_kmeans",
    "plot_uncertainty",
    "plot_decision_regions",
    "plot_criteria",
    "plot_bic_by_model",
    "animate_em",
    "animation_html",
    "plot_digits",
    "GMMArtists",
    "KMeansArtists",
    "DecisionRegionArtists",
    "CriteriaArtists",
    "ModelCriterionArtists",
]

_CMAP = "viridis"

#: Criteria :func:`plot_criteria` knows: column -> (legend name, lower is better).
_CRITERIA = {
    "bic": ("BIC", True),
    "aic": ("AIC", True),
    "icl": ("ICL", True),
    "cv_log_likelihood": ("held-out log-likelihood", False),
}


class GMMArtists(NamedTuple):
    """What :func:`plot_gmm` drew: the points and, per component, its ellipses."""

    points: PathCollection
    ellipses: list[list[Ellipse]]


class KMeansArtists(NamedTuple):
    """What :func:`plot_kmeans` drew: the points and one circle per centre."""

    points: PathCollection
    circles: list[Circle]


class DecisionRegionArtists(NamedTuple):
    """What :func:`plot_decision_regions` drew.

    ``boundaries`` is ``None`` for a one-component model (it has no boundary).
    """

    regions: QuadContourSet
    boundaries: QuadContourSet | None
    points: PathCollection
    centres: PathCollection


class CriteriaArtists(NamedTuple):
    """What :func:`plot_criteria` drew, keyed by ``(criterion, covariance_type)``.

    ``degenerate`` marks the candidates whose fit was degenerate (their values are left
    out of the lines); it is ``None`` when there were none.
    """

    lines: dict[tuple[str, str], Line2D]
    best: dict[tuple[str, str], Line2D]
    degenerate: PathCollection | None


class ModelCriterionArtists(NamedTuple):
    """What :func:`plot_bic_by_model` drew: one line per covariance type, the mark on the
    best candidate (None if every one was degenerate) and the degenerate candidates' red
    crosses (None when there were none)."""

    lines: dict[str, Line2D]
    best: Line2D | None
    degenerate: PathCollection | None


# ---------------------------------------------------------------------------------------
# checks and covariance shapes


def _check_points(X: Any, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, 2); got shape {X.shape}. "
            "These pictures are two-dimensional: project the data to two features "
            "first (e.g. with PCA)."
        )
    if len(X) == 0:
        raise ValueError(f"{name} has no points (shape {X.shape}); pass at least one.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values; remove them before plotting.")
    return X


def _check_fitted_mixture(model: Any) -> None:
    missing = [a for a in ("weights_", "means_", "covariances_") if not hasattr(model, a)]
    if missing:
        raise ValueError(
            f"{type(model).__name__} has no {', '.join(missing)}: fit the model before "
            "plotting it (plotting functions never fit)."
        )
    n_features = np.shape(model.means_)[1]
    if n_features != 2:
        raise ValueError(
            f"the model was fitted on {n_features} features; these pictures are 2-D. "
            "Fit it on two features (e.g. a 2-D PCA projection of the data) to plot it."
        )


def _as_matrix(covariance: Any, n_features: int = 2) -> np.ndarray:
    """A component covariance in any stored form (scalar, diagonal, matrix) as a matrix."""
    covariance = np.asarray(covariance, dtype=float)
    if covariance.ndim == 0 or covariance.shape == (1,):
        return covariance.reshape(()) * np.eye(n_features)
    if covariance.shape == (n_features,):
        return np.diag(covariance)
    if covariance.shape == (n_features, n_features):
        return covariance
    raise ValueError(
        f"covariance must be a scalar (spherical), a vector of {n_features} variances "
        f"(diag) or a {n_features}x{n_features} matrix (full, tied); got shape "
        f"{covariance.shape}."
    )


def component_covariance_matrices(model: Any) -> np.ndarray:
    """Every component's covariance as a full matrix, shape ``(K, d, d)``, for any type."""
    n_components, n_features = np.shape(model.means_)
    return covariance_matrices(
        model.covariances_, getattr(model, "covariance_type", "full"), n_components, n_features
    )


def _ellipse_axes(covariance: np.ndarray) -> tuple[float, float, float]:
    r"""Width, height and angle (degrees) of the one-standard-deviation ellipse.

    From the eigen-decomposition of the :math:`2\times2` matrix: the width lies along the
    eigenvector of the larger eigenvalue.
    """
    if not np.all(np.isfinite(covariance)):
        raise ValueError(
            "covariance contains NaN or infinity: the model's fit failed or was not "
            "finished; refit it (rescaling the data if its values are huge)."
        )
    if not np.allclose(covariance, covariance.T, rtol=1e-8, atol=1e-12):
        raise ValueError("covariance must be a symmetric matrix; got a non-symmetric one.")
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    if eigenvalues[0] < -1e-12 * max(1.0, abs(eigenvalues[1])):
        raise ValueError(
            f"covariance must be positive semi-definite; it has eigenvalue {eigenvalues[0]:.3g}."
        )
    small, large = np.sqrt(np.maximum(eigenvalues, 0.0))
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    return 2.0 * float(large), 2.0 * float(small), angle


def _check_n_std(n_std: float | Iterable[float]) -> list[float]:
    if isinstance(n_std, numbers.Real):
        values = [float(n_std)]
    else:
        values = [float(v) for v in n_std]  # type: ignore[union-attr]
    if not values or any(not np.isfinite(v) or v <= 0 for v in values):
        raise ValueError(f"n_std must be positive numbers, e.g. (1, 2, 3); got {n_std!r}.")
    return values


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def _component_colours(n_components: int) -> np.ndarray:
    """RGBA colours of components 0..K-1, the same ones the scatter plots use."""
    return colormaps[_CMAP](Normalize(0, max(n_components - 1, 1))(np.arange(n_components)))


def _scatter_labels(ax: Axes, X: np.ndarray, labels: np.ndarray, n_components: int, **kwargs):
    return ax.scatter(
        X[:, 0], X[:, 1], c=labels, cmap=_CMAP, vmin=0, vmax=max(n_components - 1, 1), **kwargs
    )


# ---------------------------------------------------------------------------------------
# ellipses and models


def draw_ellipse(
    mean: Any,
    covariance: Any,
    ax: Axes | None = None,
    n_std: float | Iterable[float] = (1, 2, 3),
    **kwargs: Any,
) -> list[Ellipse]:
    r"""Draw a 2-D Gaussian's ellipses at ``n_std`` standard deviations.

    For each :math:`n` in ``n_std`` the ellipse :math:`(x-\mu)^\top \Sigma^{-1} (x-\mu) = n^2`:
    full axes :math:`2n\sqrt{\lambda_1}` and :math:`2n\sqrt{\lambda_2}` from the eigenvalues
    of :math:`\Sigma`, turned by the angle of the leading eigenvector.

    Parameters
    ----------
    mean : array-like of shape (2,)
    covariance : float, array-like of shape (2,) or (2, 2)
        A spherical variance :math:`\sigma^2` (a circle), the two variances of a
        diagonal covariance (axes along the coordinates) or a full symmetric
        positive semi-definite matrix (full and tied models).
    ax : Axes, optional
        Where to draw; the current axes by default.
    n_std : float or sequence of float, default=(1, 2, 3)
        How many standard deviations out each ellipse lies.
    **kwargs
        Passed to :class:`matplotlib.patches.Ellipse` (``alpha``, ``facecolor``, ...).

    Returns
    -------
    list of Ellipse
        One patch per entry of ``n_std``, already added to ``ax``.
    """
    mean = np.asarray(mean, dtype=float)
    if mean.shape != (2,):
        raise ValueError(f"mean must have shape (2,); got {mean.shape}. Ellipses are 2-D.")
    width, height, angle = _ellipse_axes(_as_matrix(covariance))
    ax = _axes(ax)
    patches = []
    for n in _check_n_std(n_std):
        patch = Ellipse(tuple(mean), n * width, n * height, angle=angle, **kwargs)
        ax.add_patch(patch)
        patches.append(patch)
    ax.autoscale_view()
    return patches


def plot_gmm(model: Any, X: Any, ax: Axes | None = None, label: bool = True) -> GMMArtists:
    """Points and each component's 1-3 sigma ellipses, shaded by the component's weight.

    The heaviest component's ellipses get opacity 0.2, the others proportionally less.
    With ``label=True`` points are coloured by ``model.predict(X)`` and each component's
    ellipses share its colour; otherwise all is drawn in one colour (the density view).

    Parameters
    ----------
    model : fitted Gaussian mixture of any covariance type, on 2 features
        Read only: it is never fitted here.
    X : array-like of shape (n_samples, 2)
    ax : Axes, optional
    label : bool, default=True

    Returns
    -------
    GMMArtists
        ``points`` (the scatter) and ``ellipses[k]`` (component ``k``'s three patches).
    """
    _check_fitted_mixture(model)
    X = _check_points(X)
    ax = _axes(ax)
    weights = np.asarray(model.weights_)
    n_components = len(weights)
    if label:
        points = _scatter_labels(ax, X, model.predict(X), n_components, s=20, zorder=2)
        colours = _component_colours(n_components)
    else:
        points = ax.scatter(X[:, 0], X[:, 1], s=20, color="C0", zorder=2)
        colours = np.array(["C0"] * n_components)
    scale = 0.2 / weights.max()
    ellipses = [
        draw_ellipse(mean, cov, ax, facecolor=colour, edgecolor="none", alpha=w * scale)
        for mean, cov, w, colour in zip(
            model.means_, component_covariance_matrices(model), weights, colours, strict=True
        )
    ]
    ax.axis("equal")
    return GMMArtists(points, ellipses)


def plot_kmeans(kmeans: Any, X: Any, ax: Axes | None = None) -> KMeansArtists:
    """Points coloured by k-means cluster, each centre's circle out to its farthest member.

    The circle shows how far a cluster reaches in ``X``; it is not the cluster's border.
    k-means gives a point to its nearest centre, so its clusters are the Voronoi cells of
    the centres (:func:`plot_decision_regions` draws them): circles may overlap, and a
    point inside one circle may belong to another centre. A centre with no member in
    ``X`` gets a circle of radius 0.

    Parameters
    ----------
    kmeans : fitted k-means (``cluster_centers_`` and ``predict``), on 2 features
    X : array-like of shape (n_samples, 2)
    ax : Axes, optional

    Returns
    -------
    KMeansArtists
        ``points`` and one ``circles`` patch per centre.
    """
    if not hasattr(kmeans, "cluster_centers_"):
        raise ValueError(
            f"{type(kmeans).__name__} has no cluster_centers_: fit it before plotting "
            "(plotting functions never fit)."
        )
    centres = _check_points(kmeans.cluster_centers_, "kmeans.cluster_centers_")
    X = _check_points(X)
    ax = _axes(ax)
    labels = np.asarray(kmeans.predict(X))
    points = _scatter_labels(ax, X, labels, len(centres), s=20, zorder=2)
    circles = []
    for k, centre in enumerate(centres):
        members = X[labels == k]
        radius = (
            float(np.sqrt(((members - centre) ** 2).sum(axis=1).max())) if len(members) else 0.0
        )
        circle = Circle(
            tuple(centre), radius, facecolor="#CCCCCC", edgecolor="0.4", lw=2, alpha=0.5, zorder=1
        )
        ax.add_patch(circle)
        circles.append(circle)
    ax.autoscale_view()
    ax.axis("equal")
    return KMeansArtists(points, circles)


def plot_uncertainty(
    model: Any, X: Any, ax: Axes | None = None, *, max_size: float = 50.0
) -> PathCollection:
    r"""Points coloured by component and sized by how sure the model is of it.

    A point's area is ``max_size`` :math:`\times \max_k r_{ik}^2`, with :math:`r_{ik}` the
    responsibilities (``predict_proba``): squaring makes doubtful points, near a boundary,
    visibly smaller.

    Parameters
    ----------
    model : fitted mixture on 2 features
    X : array-like of shape (n_samples, 2)
    ax : Axes, optional
    max_size : float, default=50
        Marker area of a point the model is certain about.

    Returns
    -------
    PathCollection
    """
    _check_fitted_mixture(model)
    X = _check_points(X)
    if not (isinstance(max_size, numbers.Real) and np.isfinite(max_size) and max_size > 0):
        raise ValueError(f"max_size must be a positive marker area; got {max_size!r}.")
    ax = _axes(ax)
    resp = np.asarray(model.predict_proba(X))
    sizes = max_size * resp.max(axis=1) ** 2
    return _scatter_labels(ax, X, resp.argmax(axis=1), resp.shape[1], s=sizes)


def _region_centres(model: Any) -> np.ndarray:
    """The points marked in each region: a mixture's ``means_`` or k-means' centres."""
    if hasattr(model, "cluster_centers_") and not hasattr(model, "means_"):
        return _check_points(model.cluster_centers_, "kmeans.cluster_centers_")
    _check_fitted_mixture(model)
    return np.asarray(model.means_)


def plot_decision_regions(
    model: Any, X: Any, ax: Axes | None = None, *, resolution: int = 200
) -> DecisionRegionArtists:
    """Shade the plane by the component ``model.predict`` assigns, with the boundaries.

    The plane is sampled on a ``resolution`` x ``resolution`` grid spanning the data with a
    10% margin. Points are coloured by component and the means marked with crosses.

    A fitted k-means (``cluster_centers_`` and ``predict``) is drawn the same way: its
    regions are the Voronoi cells of its centres, the points nearer to one centre than
    to any other, and the crosses are the centres.

    Parameters
    ----------
    model : fitted mixture or k-means on 2 features
    X : array-like of shape (n_samples, 2)
    ax : Axes, optional
    resolution : int, default=200

    Returns
    -------
    DecisionRegionArtists
    """
    means = _region_centres(model)
    X = _check_points(X)
    if int(resolution) < 2:
        raise ValueError(f"resolution must be an integer of at least 2; got {resolution!r}.")
    ax = _axes(ax)
    n_components = len(means)
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-12)
    xs, ys = (
        np.linspace(lo, hi, int(resolution))
        for lo, hi in zip(low - margin, high + margin, strict=True)
    )
    xx, yy = np.meshgrid(xs, ys)
    grid_labels = np.asarray(model.predict(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(
        xx.shape
    )
    levels = np.arange(n_components + 1) - 0.5
    vmax = max(n_components - 1, 1)
    regions = ax.contourf(
        xx, yy, grid_labels, levels=levels, cmap=_CMAP, vmin=0, vmax=vmax, alpha=0.25
    )
    boundaries = None
    if n_components > 1:
        boundaries = ax.contour(
            xx, yy, grid_labels, levels=levels[1:-1], colors="0.25", linewidths=1
        )
    points = _scatter_labels(ax, X, model.predict(X), n_components, s=12, zorder=2)
    centres = ax.scatter(
        means[:, 0], means[:, 1], marker="x", s=80, c="red", linewidths=2, zorder=3
    )
    return DecisionRegionArtists(regions, boundaries, points, centres)


# ---------------------------------------------------------------------------------------
# model selection


def plot_criteria(
    table: Any, ax: Axes | None = None, *, criteria: Sequence[str] | None = None
) -> CriteriaArtists:
    """Criteria against the number of components, one line per covariance type.

    Each line's optimum (lowest BIC/AIC, highest held-out log-likelihood) is marked with a
    filled circle. Candidates flagged ``degenerate`` in the table are left out of the
    lines (their values are artefacts of a collapsed component and would swamp the
    scale) and marked with red crosses along the bottom of the axes instead.

    Parameters
    ----------
    table : DataFrame
        Like the ``table`` of a :class:`gmmlib.selection.ModelSelection`: columns ``n_components``,
        ``covariance_type``, the criteria, and optionally ``degenerate``.
    ax : Axes, optional
    criteria : sequence of str, optional
        Columns to plot (one name or several), among ``"bic"``, ``"aic"``, ``"icl"`` (same
        scale, lower is better) or ``"cv_log_likelihood"`` (higher is better; plot it on
        its own). Default: BIC and AIC if the table has them, else the held-out
        log-likelihood.

    Returns
    -------
    CriteriaArtists
    """
    _check_table(table)
    if criteria is None:
        criteria = [c for c in ("bic", "aic") if c in table.columns] or ["cv_log_likelihood"]
    criteria = [criteria] if isinstance(criteria, str) else list(criteria)
    unknown = [c for c in criteria if c not in _CRITERIA or c not in table.columns]
    if not criteria or unknown:
        raise ValueError(
            f"criteria must be columns of the table among {sorted(_CRITERIA)}; got {criteria}."
        )
    if len({_CRITERIA[c][1] for c in criteria}) > 1:
        raise ValueError(
            "bic/aic/icl (lower is better) and cv_log_likelihood (higher is better) have "
            "different scales: plot them on separate axes."
        )
    ax = _axes(ax)
    degenerate = _degenerate(table)
    types = list(dict.fromkeys(table["covariance_type"]))
    linestyles = ["-", "--", ":"]
    lines, best = {}, {}
    for c_index, criterion in enumerate(criteria):
        name, lower_is_better = _CRITERIA[criterion]
        for t_index, covariance_type in enumerate(types):
            rows = (table["covariance_type"] == covariance_type).to_numpy()
            order = np.argsort(table["n_components"].to_numpy()[rows], kind="stable")
            ks = table["n_components"].to_numpy()[rows][order]
            values = table[criterion].to_numpy(float)[rows][order]
            values = np.where(degenerate[rows][order], np.nan, values)
            colour = f"C{t_index}" if len(types) > 1 else f"C{c_index}"
            label = f"{name}, {covariance_type}" if len(types) > 1 else name
            (line,) = ax.plot(ks, values, color=colour, ls=linestyles[c_index % 3], label=label)
            lines[criterion, covariance_type] = line
            if np.isfinite(values).any():
                i = np.nanargmin(values) if lower_is_better else np.nanargmax(values)
                (best[criterion, covariance_type],) = ax.plot(ks[i], values[i], "o", color=colour)
    marks = _mark_degenerate(ax, table, degenerate)
    _components_axis(ax, table)
    lower_is_better = _CRITERIA[criteria[0]][1]
    ax.set_ylabel(
        "criterion (lower is better)"
        if lower_is_better
        else "held-out log-likelihood per point (higher is better)"
    )
    ax.legend(loc="best")
    return CriteriaArtists(lines, best, marks)


def _check_table(table: Any) -> None:
    missing = {"n_components", "covariance_type"} - set(getattr(table, "columns", ()))
    if missing:
        raise ValueError(
            f"table needs the columns n_components and covariance_type; {sorted(missing)} "
            "missing. Pass ModelSelection.table."
        )
    if len(table) == 0:
        raise ValueError("table has no rows: there are no candidates to plot.")


def _degenerate(table: Any) -> np.ndarray:
    if "degenerate" in table.columns:
        return table["degenerate"].to_numpy(bool)
    return np.zeros(len(table), bool)


def _mark_degenerate(ax: Axes, table: Any, degenerate: np.ndarray) -> PathCollection | None:
    """Red crosses along the bottom of the axes at the degenerate candidates' sizes."""
    if not degenerate.any():
        return None
    return ax.scatter(
        table["n_components"].to_numpy()[degenerate],
        np.full(degenerate.sum(), 0.03),
        transform=ax.get_xaxis_transform(),
        marker="x",
        color="red",
        label="degenerate fit",
    )


def _components_axis(ax: Axes, table: Any) -> None:
    ks = table["n_components"].to_numpy()
    ax.set_xlim(ks.min() - 0.5, ks.max() + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of components")


#: One marker per covariance type in :func:`plot_bic_by_model` (fourteen models and more).
_MODEL_MARKERS = ("o", "s", "^", "v", "D", "<", ">", "p", "*", "h", "X", "P", "d", "8")


def plot_bic_by_model(
    table: Any,
    ax: Axes | None = None,
    *,
    criterion: str = "bic",
    mclust_sign: bool = False,
) -> ModelCriterionArtists:
    r"""mclust's ``plot(mclustBIC)``: one criterion against the number of components, one
    line (colour and marker) per covariance type, the best candidate circled.

    gmmlib's criteria are lower-is-better, :math:`	ext{BIC} = -2 \log \hat L + p \log N`;
    mclust reports :math:`2 \log \hat L - p \log N`, the same number with the other sign,
    and higher is better. ``mclust_sign=True`` draws mclust's sign (the same picture as
    R's, upside down from the default); the y-axis label says which is drawn and which way
    is better. Candidates flagged ``degenerate`` are left out of their lines and marked
    with red crosses along the bottom, as in :func:`plot_criteria`.

    Parameters
    ----------
    table : DataFrame
        ``ModelSelection.table`` (from ``select_model(X,
        covariance_types="all")`` for mclust's fourteen models).
    ax : Axes, optional
    criterion : {"bic", "aic", "icl"}, default="bic"
    mclust_sign : bool, default=False

    Returns
    -------
    ModelCriterionArtists
    """
    _check_table(table)
    if criterion not in ("bic", "aic", "icl") or criterion not in table.columns:
        raise ValueError(
            f"criterion must be one of 'bic', 'aic', 'icl' and a column of the table; got "
            f"{criterion!r}."
        )
    ax = _axes(ax)
    degenerate = _degenerate(table)
    sign = -1.0 if mclust_sign else 1.0
    values = np.where(degenerate, np.nan, sign * table[criterion].to_numpy(float))
    ks = table["n_components"].to_numpy()
    types = list(dict.fromkeys(table["covariance_type"]))
    palette = colormaps["tab20"]  # the dark shade of each hue first, then the light ones
    colours = [palette((2 * i) % 20 + (2 * i) // 20 % 2) for i in range(len(types))]
    lines = {}
    for index, covariance_type in enumerate(types):
        rows = np.flatnonzero((table["covariance_type"] == covariance_type).to_numpy())
        rows = rows[np.argsort(ks[rows], kind="stable")]
        (lines[covariance_type],) = ax.plot(
            ks[rows],
            values[rows],
            color=colours[index],
            marker=_MODEL_MARKERS[index % len(_MODEL_MARKERS)],
            label=str(covariance_type),
        )
    best = None
    if np.isfinite(values).any():
        i = int(np.nanargmax(values) if mclust_sign else np.nanargmin(values))
        (best,) = ax.plot(
            ks[i],
            values[i],
            "o",
            markersize=16,
            markerfacecolor="none",
            color="black",
            label=f"best: {table['covariance_type'].iloc[i]}, {ks[i]} components",
        )
    marks = _mark_degenerate(ax, table, degenerate)
    _components_axis(ax, table)
    name = _CRITERIA[criterion][0]
    ax.set_ylabel(
        f"{name}, mclust's sign: 2 log L - penalty (higher is better)"
        if mclust_sign
        else f"{name} = -2 log L + penalty (lower is better)"
    )
    ax.legend(loc="best", ncol=2 if len(types) > 4 else 1, fontsize="small")
    return ModelCriterionArtists(lines, best, marks)


# ---------------------------------------------------------------------------------------
# EM in motion


def _frame_indices(n_states: int, max_frames: int) -> np.ndarray:
    """Up to ``max_frames`` states, geometrically spaced: EM moves most at the start."""
    if n_states <= max_frames:
        return np.arange(n_states)
    picks = np.unique(np.round(np.geomspace(1, n_states, max_frames)).astype(int) - 1)
    return picks


def animate_em(
    X: Any,
    history: Sequence[Any],
    covariance_type: str = "full",
    *,
    ax: Axes | None = None,
    max_frames: int = 12,
    n_std: float | Iterable[float] = (1, 2),
    interval: int = 700,
    figsize: tuple[float, float] = (10.0, 4.6),
    dpi: float = 80,
    close: bool = True,
) -> FuncAnimation:
    r"""Animate an EM run: ellipses moving, points recoloured, the log-likelihood climbing.

    Each frame shows one entry of ``history``: every point coloured by its
    responsibilities (a blend of the component colours, :math:`\sum_k r_{ik}\,c_k`, from
    :func:`gmmlib.em.e_step`), each component's ellipses at ``n_std`` standard deviations
    shaded by its weight, and, beside it, the mean log-likelihood of every recorded
    iteration with the current one marked. Both panels keep fixed axes across frames, set
    once from the data and the whole run: the data panel spans the points, the curve's
    y-axis spans iterations 1 onward (a start far below them is drawn at the bottom edge
    with its value written beside it, so it does not flatten the rest of the climb). Long
    runs are thinned to ``max_frames`` geometrically spaced iterations (the start and the
    end always included), which keeps :meth:`~matplotlib.animation.Animation.to_jshtml`
    output small.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        The data the run was fitted on (project it to 2-D before running EM on it).
    history : sequence of gmmlib.em.EMState
        From :func:`gmmlib.em.em_history`: ``(weights, means, covariances,
        mean_log_likelihood)`` per iteration, entry 0 being the start.
    covariance_type : str, default="full"
        How ``covariances`` are stored in ``history``: any of
        ``gmmlib.COVARIANCE_TYPES`` (an mclust model as its storage).
    ax : Axes, optional
        Draw the data panel here (the iteration and log-likelihood go in its title);
        by default a new figure with the data and the log-likelihood side by side.
    max_frames : int, default=12
    n_std : float or sequence of float, default=(1, 2)
    interval : int, default=700
        Milliseconds between frames.
    figsize : (float, float), default=(10, 4.6)
    dpi : float, default=80
        Size and resolution of the new figure (ignored when ``ax`` is given); together
        with ``max_frames`` they set the size of the embedded animation.
    close : bool, default=True
        Close the new figure from pyplot's registry, so a notebook shows the animation
        (``HTML(anim.to_jshtml())``) without also showing a still of its last frame.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    from .em import e_step  # deferred: plotting only needs EM for this one picture

    X = _check_points(X)
    if len(history) == 0:
        raise ValueError("history is empty; pass the list returned by gmmlib.em.em_history.")
    if int(max_frames) < 1:
        raise ValueError(f"max_frames must be a positive integer; got {max_frames!r}.")
    n_components, n_features = np.shape(history[0].means)
    if n_features != 2:
        raise ValueError(
            f"the history's means have {n_features} features; the animation is 2-D. "
            "Run EM on a 2-D projection of the data (e.g. PCA) to animate it."
        )
    expected = expected_covariance_shape(covariance_type, n_components, 2)
    stored = np.shape(history[0].covariances)
    if stored != expected:
        raise ValueError(
            f"the history's covariances have shape {stored}, but covariance_type="
            f"{covariance_type!r} stores them as {expected}; pass the covariance_type the "
            "run was made with."
        )
    stds = _check_n_std(n_std)
    log_likelihoods = np.array([state.mean_log_likelihood for state in history], dtype=float)
    frames = _frame_indices(len(history), int(max_frames))

    created = ax is None
    marker: Line2D | None = None
    curve_ax: Axes | None = None
    fig: Any
    if ax is None:
        fig, (ax, curve_ax) = plt.subplots(1, 2, figsize=figsize, dpi=dpi, width_ratios=(1.7, 1))
        _fix_likelihood_axis(curve_ax, log_likelihoods)
        (marker,) = curve_ax.plot([], [], "o", color="C3", clip_on=False, zorder=3)
    else:
        fig = ax.figure
    colours = colormaps["tab10"](np.arange(n_components) % 10)
    points = ax.scatter(X[:, 0], X[:, 1], s=12, zorder=2)
    patches = [
        [Ellipse((0, 0), 0, 0, facecolor=colours[k], edgecolor="none") for _ in stds]
        for k in range(n_components)
    ]
    for patch in (p for row in patches for p in row):
        ax.add_patch(patch)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    ax.set_xlim(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0])
    ax.set_ylim(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1])
    ax.set_aspect("equal", adjustable="box")
    title = ax.set_title("")

    def draw(index: int) -> list[Any]:
        state = history[index]
        log_resp, _ = e_step(X, state.weights, state.means, state.covariances, covariance_type)
        points.set_facecolor(np.clip(np.exp(log_resp) @ colours[:, :3], 0.0, 1.0))
        weights = np.asarray(state.weights)
        covariances = covariance_matrices(state.covariances, covariance_type, n_components, 2)
        for k, (mean, cov) in enumerate(zip(state.means, covariances, strict=True)):
            width, height, angle = _ellipse_axes(cov)
            for n, patch in zip(stds, patches[k], strict=True):
                patch.set_center(tuple(mean))
                patch.set_width(n * width)
                patch.set_height(n * height)
                patch.set_angle(angle)
                patch.set_alpha(0.35 * weights[k] / weights.max() / n)
        label = f"iteration {index}"
        if marker is not None and curve_ax is not None:
            low = curve_ax.get_ylim()[0]
            marker.set_data([index], [max(log_likelihoods[index], low)])
        else:
            label += f", mean log-likelihood {log_likelihoods[index]:.3f}"
        title.set_text(label)
        return [points, title, *(p for row in patches for p in row)]

    draw(int(frames[0]))
    if created:
        fig.tight_layout()
        if close:
            plt.close(fig)
    return FuncAnimation(fig, draw, frames=[int(i) for i in frames], interval=interval, blit=False)


def _fix_likelihood_axis(ax: Axes, log_likelihoods: np.ndarray) -> None:
    """Draw the log-likelihood curve with y-limits from iterations 1 onward.

    A start far below the rest (more than the climb from iteration 1 to the end) is drawn
    at the bottom edge, clipped, with its value written beside it.
    """
    ax.plot(np.arange(len(log_likelihoods)), log_likelihoods, color="0.3")
    finite = log_likelihoods[np.isfinite(log_likelihoods)]
    rest = log_likelihoods[1:][np.isfinite(log_likelihoods[1:])]
    if len(rest) == 0:
        rest = finite
    if len(rest) == 0:
        return
    low, high = float(rest.min()), float(rest.max())
    span = high - low if high > low else max(abs(high), 1.0) * 1e-3
    bottom, top = low - 0.1 * span, high + 0.1 * span
    start = log_likelihoods[0]
    if not np.isfinite(start) or start >= bottom:
        bottom = min(bottom, float(start) - 0.1 * span) if np.isfinite(start) else bottom
    else:
        ax.annotate(
            f"iteration 0: {start:.3f} (below)",
            xy=(0, bottom),
            xytext=(10, 6),
            textcoords="offset points",
            fontsize="small",
            color="C3",
        )
    ax.set_ylim(bottom, top)
    ax.set_xlim(-0.5, len(log_likelihoods) - 0.5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean log-likelihood")


# ---------------------------------------------------------------------------------------
# digits


def plot_digits(
    data: Any, ax: Axes | None = None, *, n_cols: int = 10, n_images: int | None = 100
) -> AxesImage:
    """Show 8x8 grey-level images (scikit-learn's digits) side by side in a grid.

    The images are tiled into one picture, ``n_cols`` per row with a one-pixel white gap,
    drawn with one ``imshow`` on ``0`` (white) to ``16`` (black), the digits' range; values
    outside it (as in sampled digits) are clipped to the ends.

    Parameters
    ----------
    data : array-like of shape (n, 64) or (n, 8, 8)
    ax : Axes, optional
        By default a new figure sized to the grid.
    n_cols : int, default=10
    n_images : int or None, default=100
        Show the first ``n_images`` images (all with ``None``).

    Returns
    -------
    AxesImage
    """
    data = np.asarray(data, dtype=float)
    if data.ndim == 3 and data.shape[1:] == (8, 8):
        data = data.reshape(len(data), 64)
    if data.ndim != 2 or data.shape[1] != 64 or len(data) == 0:
        raise ValueError(
            f"data must hold 8x8 images, with shape (n, 64) or (n, 8, 8); got {data.shape}. "
            "If it is a PCA projection, map it back with pca.inverse_transform first."
        )
    if not is_integer(n_cols) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive integer; got {n_cols!r}.")
    if n_images is not None and (not is_integer(n_images) or n_images < 1):
        raise ValueError(
            f"n_images must be a positive integer, or None for all images; got {n_images!r}."
        )
    images = data if n_images is None else data[:n_images]
    n_cols = min(int(n_cols), len(images))
    n_rows = -(-len(images) // n_cols)
    mosaic = np.full((9 * n_rows - 1, 9 * n_cols - 1), np.nan)
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        mosaic[9 * row : 9 * row + 8, 9 * col : 9 * col + 8] = image.reshape(8, 8)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.8 * n_cols, 0.8 * n_rows))
    shown = ax.imshow(mosaic, cmap="binary", vmin=0, vmax=16, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def animation_html(
    animation: FuncAnimation, *, default_mode: str = "once", alt: str | None = None
) -> str:
    """The animation as HTML with a frame player, ready for ``IPython.display.HTML``.

    Matplotlib's :meth:`~matplotlib.animation.Animation.to_jshtml`, made fit for a book
    that is read offline and checked by nbval: its link to a Font Awesome stylesheet on a
    CDN is dropped (the book's theme ships Font Awesome, which draws the player's buttons),
    and the random element id it draws on every call is replaced by a hash of the frames,
    so running the notebook again gives identical output. ``alt`` is the frame image's
    alternative text, for readers who cannot see it (a book's figures all need one).
    """
    html = animation.to_jshtml(default_mode=default_mode)
    if alt is not None:
        escaped = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        html = re.sub(
            r'<img id="_anim_img[0-9a-f]*"',
            lambda match: f'{match.group(0)} alt="{escaped}"',
            html,
            count=1,
        )
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">\s*', "", html)
    random_ids = set(re.findall(r"_anim_img([0-9a-f]{32})", html))
    for random_id in random_ids:
        stable_id = hashlib.sha1(html.replace(random_id, "").encode()).hexdigest()[:32]
        html = html.replace(random_id, stable_id)
    return html
