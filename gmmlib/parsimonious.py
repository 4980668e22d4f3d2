r"""Volume, shape and orientation: the fourteen covariance models of R's mclust.

Banfield & Raftery (1993) wrote each component's covariance through its eigen-decomposition,

.. math:: \Sigma_k = \lambda_k D_k A_k D_k^\top,

with :math:`\lambda_k = |\Sigma_k|^{1/d} > 0` the *volume*, :math:`A_k` diagonal with
:math:`|A_k| = 1` the *shape* (the eigenvalues of :math:`\Sigma_k` divided by
:math:`\lambda_k`, in decreasing order) and :math:`D_k` orthogonal the *orientation* (the
eigenvectors). A model says, for each of the three, whether it is equal across components
(E), varies (V) or, for shape and orientation, is the identity (I). Celeux & Govaert (1995)
gave the M-steps; mclust fits fourteen of the models, named by three letters (volume, shape,
orientation):

=====  ===========================================  ===========  ============  ===========
model  :math:`\Sigma_k`                             statistics   stored as     M-step
=====  ===========================================  ===========  ============  ===========
EII    :math:`\lambda I`                            diagonal     (K, d)        closed form
VII    :math:`\lambda_k I`                          diagonal     (K, d)        closed form
EEI    :math:`\lambda A`                            diagonal     (K, d)        closed form
VEI    :math:`\lambda_k A`                          diagonal     (K, d)        iterative
EVI    :math:`\lambda A_k`                          diagonal     (K, d)        closed form
VVI    :math:`\lambda_k A_k`                        diagonal     (K, d)        closed form
EEE    :math:`\lambda D A D^\top`                   pooled       (d, d)        closed form
VEE    :math:`\lambda_k D A D^\top`                 full         (K, d, d)     iterative
EVE    :math:`\lambda D A_k D^\top`                 full         (K, d, d)     iterative
VVE    :math:`\lambda_k D A_k D^\top`               full         (K, d, d)     iterative
EEV    :math:`\lambda D_k A D_k^\top`               full         (K, d, d)     closed form
VEV    :math:`\lambda_k D_k A D_k^\top`             full         (K, d, d)     iterative
EVV    :math:`\lambda D_k A_k D_k^\top`             full         (K, d, d)     closed form
VVV    :math:`\lambda_k D_k A_k D_k^\top`           full         (K, d, d)     closed form
=====  ===========================================  ===========  ============  ===========

scikit-learn's four covariance types are four of them: ``spherical`` = VII, ``diag`` = VVI,
``tied`` = EEE, ``full`` = VVV (:data:`SKLEARN_EQUIVALENTS`). :class:`gmmlib.GaussianMixture`
takes every model as its ``covariance_type``: :func:`gmmlib.em.m_step_from_statistics` calls
:func:`covariances_from_scatter` with the statistics of the model's storage, and
:func:`gmmlib.em.em_loop` passes each M-step's :class:`CovarianceEstimate` to the next
(``previous=``), so that every EM iteration is a generalised EM step. This module itself
needs only numpy.

**The M-step.** With responsibilities :math:`r_{ik}`, the counts
:math:`N_k = \sum_i r_{ik}` (:math:`N = \sum_k N_k`) and the scatters about the weighted
means, :math:`W_k = \sum_i r_{ik}(x_i - \bar x_k)(x_i - \bar x_k)^\top`, the weights and
means of every model are :math:`\pi_k = N_k/N` and :math:`\mu_k = \bar x_k`, and the
covariances minimise

.. math:: F(\Sigma_1, \dots, \Sigma_K) = \sum_k \bigl[ N_k \log|\Sigma_k|
          + \operatorname{tr}(\Sigma_k^{-1} W_k) \bigr]

over the model's constraint set (:math:`-F/2` is the part of the expected complete-data
log-likelihood that depends on the covariances; :func:`covariance_log_likelihood`). Models
without orientation need only the diagonals of the :math:`W_k`, EEE only their sum
(``statistics`` above). :func:`covariances_from_scatter` computes the minimiser: in closed
form for nine models, by the published iterations for VEI, VEE, VEV (Celeux & Govaert 1995,
alternating exact minimisation over blocks of parameters) and EVE, VVE (Browne & McNicholas
2014, majorisation-minimisation for the common orientation). Every iteration lowers
:math:`F` or leaves it unchanged.

**One known difference from mclust: VVE.** mclust 6.0.0's VVE M-step updates the common
orientation :math:`D` as its EVE M-step does, weighting every component's majoriser by
:math:`A_k^{-1}` instead of :math:`(\lambda_k A_k)^{-1}`; its fixed point is therefore not a
stationary point of :math:`F` when the volumes differ (``tests/test_parsimonious.py`` shows
a rotation of its :math:`D` that lowers :math:`F`), and its ``me()`` can lower the
log-likelihood from one iteration to the next (by 1.4 on a data set recorded there). The
default here, ``vve="likelihood"``, minimises :math:`F`; ``vve="mclust"`` reproduces
mclust's estimate.

References: J. D. Banfield and A. E. Raftery, "Model-based Gaussian and non-Gaussian
clustering", Biometrics 49 (1993), 803-821. G. Celeux and G. Govaert, "Gaussian parsimonious
clustering models", Pattern Recognition 28 (1995), 781-793. R. P. Browne and P. D.
McNicholas, "Estimating common principal components in high dimensions", Advances in Data
Analysis and Classification 8 (2014), 217-226. L. Scrucca, M. Fop, T. B. Murphy and A. E.
Raftery, "mclust 5: clustering, classification and density estimation using Gaussian finite
mixture models", The R Journal 8 (2016), 289-317.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal, NamedTuple

import numpy as np

__all__ = [
    "MODEL_NAMES",
    "MODELS",
    "SKLEARN_EQUIVALENTS",
    "CovarianceModel",
    "CovarianceEstimate",
    "SingularScatterError",
    "check_model",
    "check_options",
    "estimate_from_covariances",
    "n_covariance_parameters",
    "n_parameters",
    "covariances_from_scatter",
    "full_covariances",
    "covariance_log_likelihood",
    "volume_shape_orientation",
    "covariance_from_volume_shape_orientation",
]

#: The fourteen models, in mclust's order (``mclust.options("emModelNames")``).
MODEL_NAMES: tuple[str, ...] = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)

#: scikit-learn's covariance types as the models they are.
SKLEARN_EQUIVALENTS: dict[str, str] = {
    "spherical": "VII",
    "diag": "VVI",
    "tied": "EEE",
    "full": "VVV",
}

_ITERATIVE = ("VEI", "VEE", "EVE", "VVE", "VEV")


class CovarianceModel(NamedTuple):
    """What one model constrains, what its M-step reads and how its covariances are kept.

    * ``volume``, ``shape``, ``orientation``: ``"E"`` (equal across components), ``"V"``
      (varies) or ``"I"`` (the identity; shape and orientation only);
    * ``statistics``: what the M-step needs from the scatters :math:`W_k`: ``"diagonal"``
      their diagonals, (K, d); ``"pooled"`` their sum :math:`\\sum_k W_k`, (d, d);
      ``"full"`` the matrices, (K, d, d);
    * ``storage``: how the covariances are stored and evaluated: ``"diagonal"`` (K, d), the
      diagonals, as scikit-learn's ``diag``; ``"shared"`` (d, d), one matrix, as ``tied``;
      ``"full"`` (K, d, d), as ``full``;
    * ``iterative``: whether the M-step iterates (VEI, VEE, EVE, VVE, VEV).
    """

    name: str
    volume: str
    shape: str
    orientation: str
    statistics: str
    storage: str
    iterative: bool


def _describe(name: str) -> CovarianceModel:
    volume, shape, orientation = name[0], name[1], name[2]
    if orientation == "I":
        statistics, storage = "diagonal", "diagonal"
    elif name == "EEE":
        statistics, storage = "pooled", "shared"
    else:
        statistics, storage = "full", "full"
    return CovarianceModel(
        name, volume, shape, orientation, statistics, storage, name in _ITERATIVE
    )


#: Every model's :class:`CovarianceModel`, by name.
MODELS: dict[str, CovarianceModel] = {name: _describe(name) for name in MODEL_NAMES}


def check_model(model: str) -> CovarianceModel:
    """The :class:`CovarianceModel` of ``model``; a ValueError naming the valid ones if unknown."""
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(
            f"Unknown covariance model {model!r}: use one of mclust's fourteen, "
            f"{', '.join(MODEL_NAMES)} (scikit-learn's spherical, diag, tied and full are "
            "VII, VVI, EEE and VVV)."
        )
    return MODELS[model]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def n_covariance_parameters(model: str, n_components: int, n_features: int) -> int:
    r"""The number of free covariance parameters, as mclust's ``nVarParams``.

    A volume is one number, a shape :math:`d - 1` (its determinant is 1), an orientation
    :math:`d(d-1)/2` (an orthogonal matrix); each counts once if equal across the
    :math:`K` components and :math:`K` times if it varies. EVV counts
    :math:`K d(d+1)/2 - (K - 1)`: each component's matrix, less the :math:`K - 1` volumes
    that are tied to one.
    """
    check_model(model)
    K = _positive_int(n_components, "n_components")
    d = _positive_int(n_features, "n_features")
    orientation = d * (d - 1) // 2
    counts = {
        "EII": 1,
        "VII": K,
        "EEI": d,
        "VEI": K + (d - 1),
        "EVI": 1 + K * (d - 1),
        "VVI": K * d,
        "EEE": d * (d + 1) // 2,
        "VEE": K + (d - 1) + orientation,
        "EVE": 1 + K * (d - 1) + orientation,
        "VVE": K + K * (d - 1) + orientation,
        "EEV": 1 + (d - 1) + K * orientation,
        "VEV": K + (d - 1) + K * orientation,
        "EVV": 1 - K + K * d * (d + 1) // 2,
        "VVV": K * d * (d + 1) // 2,
    }
    return counts[model]


def n_parameters(model: str, n_components: int, n_features: int) -> int:
    r"""All free parameters of the mixture: covariances, :math:`K d` means and :math:`K - 1`
    weights, as mclust's ``nMclustParams`` (without noise, unequal proportions)."""
    K = _positive_int(n_components, "n_components")
    d = _positive_int(n_features, "n_features")
    return n_covariance_parameters(model, K, d) + K * d + K - 1


class CovarianceEstimate(NamedTuple):
    """The result of :func:`covariances_from_scatter`.

    * ``covariances``: shaped by the model's ``storage`` (:class:`CovarianceModel`);
    * ``scale`` (K,), ``shape`` (K, d), ``orientation`` ((d, d) for VEE, EVE, VVE; (K, d, d)
      for VEV): the iterative models' volumes :math:`\\lambda_k`, shapes (the diagonals of
      :math:`A_k`) and orientations, what a warm start (``previous=``) continues from;
      ``None`` for the closed forms (and VEE keeps its :math:`C = D A D^\\top` in
      ``orientation``);
    * ``n_iter``: sweeps of the iteration (0 for a closed form); ``converged``: whether the
      stopping rule was met within ``max_iter`` sweeps (True for a closed form).
    """

    model: str
    covariances: np.ndarray
    scale: np.ndarray | None = None
    shape: np.ndarray | None = None
    orientation: np.ndarray | None = None
    n_iter: int = 0
    converged: bool = True


# ----------------------------------------------------------------------------- checks
def _check_counts(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            f"counts must be a 1-D array (N_k, one per component); got shape {counts.shape}."
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or not np.any(counts > 0):
        raise ValueError(
            "counts must be finite and non-negative, and at least one must be positive "
            "(an empty component, N_k = 0, takes no part in the M-step)."
        )
    return counts


def check_options(
    tol: float = 1e-8, max_iter: int = 1000, vve: str = "likelihood"
) -> dict[str, object]:
    """The iterative M-steps' options (:func:`covariances_from_scatter`), checked: a
    ValueError says which is wrong. Returns them as a dict."""
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not (math.isfinite(tol) and tol >= 0)
    ):
        raise ValueError(f"tol must be a finite non-negative number; got {tol!r}.")
    max_iter = _positive_int(max_iter, "max_iter")
    if vve not in ("likelihood", "mclust"):
        raise ValueError(f"vve must be 'likelihood' or 'mclust'; got {vve!r}.")
    return {"tol": float(tol), "max_iter": max_iter, "vve": vve}


def _statistics(
    spec: CovarianceModel, counts: np.ndarray, scatters, reg_covar: float
) -> np.ndarray:
    r"""The scatters the model needs, regularised: :math:`W_k + \epsilon N_k I`.

    ``full`` (K, d, d) scatters serve every model (their diagonals or their sum are taken);
    ``diagonal`` (K, d) ones serve EII...VVI and ``pooled`` (d, d) ones EEE.
    """
    scatters = np.asarray(scatters, dtype=np.float64)
    K = counts.shape[0]
    expected = {
        "diagonal": "(K, d) or (K, d, d)",
        "pooled": "(d, d) or (K, d, d)",
        "full": "(K, d, d)",
    }[spec.statistics]
    shape_ok = (
        (scatters.ndim == 3 and scatters.shape[0] == K and scatters.shape[1] == scatters.shape[2])
        or (spec.statistics == "diagonal" and scatters.ndim == 2 and scatters.shape[0] == K)
        or (
            spec.statistics == "pooled"
            and scatters.ndim == 2
            and scatters.shape[0] == scatters.shape[1]
        )
    )
    if not shape_ok or scatters.shape[-1] == 0:
        raise ValueError(
            f"Model {spec.name} needs {spec.statistics} scatters of shape {expected} with "
            f"K = {K} (the length of counts); got shape {scatters.shape}."
        )
    if not np.all(np.isfinite(scatters)):
        raise ValueError("scatters must be finite.")
    if spec.statistics == "diagonal":
        if scatters.ndim == 3:
            scatters = np.diagonal(scatters, axis1=1, axis2=2)
        # rounding must not make a variance negative
        return np.maximum(scatters, 0.0) + reg_covar * counts[:, None]
    if scatters.ndim == 3:
        scatters = (scatters + np.swapaxes(scatters, 1, 2)) / 2
        if spec.statistics == "pooled":
            scatters = scatters.sum(axis=0)
    else:
        scatters = (scatters + scatters.T) / 2
    d = scatters.shape[-1]
    if spec.statistics == "pooled":
        return scatters + reg_covar * counts.sum() * np.eye(d)
    return scatters + reg_covar * counts[:, None, None] * np.eye(d)


class SingularScatterError(ValueError):
    r"""A scatter :math:`W_k + \epsilon N_k I` that a model needs positive definite is not
    (a component collapsed); :mod:`gmmlib.em` turns it into
    :class:`gmmlib._covariance.DegenerateFitError`, which model selection recognises."""


def _singular(name: str) -> SingularScatterError:
    return SingularScatterError(
        f"Fitting failed: model {name} needs every scatter W_k + reg_covar * N_k * I to be "
        "positive definite, and one is not (a component collapsed onto points in a "
        "lower-dimensional subspace). Increase reg_covar, use fewer components, or use "
        "a model with fewer parameters."
    )


def _require_positive_definite(name: str, scatters: np.ndarray) -> None:
    if scatters.ndim == 2:  # diagonals
        if not np.all(scatters > 0):
            raise _singular(name)
        return
    try:
        np.linalg.cholesky(scatters)
    except np.linalg.LinAlgError:
        raise _singular(name) from None


def _check_previous(previous, spec: CovarianceModel, K: int, d: int) -> CovarianceEstimate | None:
    if previous is None or not spec.iterative:
        return None
    if not isinstance(previous, CovarianceEstimate) or previous.model != spec.name:
        raise ValueError(
            f"previous must be the CovarianceEstimate of model {spec.name} returned by the "
            "last call of covariances_from_scatter (or None for a cold start)."
        )
    orientation = {"VEI": None, "VEE": (d, d), "EVE": (d, d), "VVE": (d, d), "VEV": (K, d, d)}
    wanted = orientation[spec.name]
    ok = (
        previous.scale is not None
        and np.shape(previous.scale) == (K,)
        and (spec.name == "VEE" or _shape(previous.shape) == (K, d))
        and (wanted is None or _shape(previous.orientation) == wanted)
    )
    if not ok:
        raise ValueError(
            f"previous was computed for another number of components or features than "
            f"K = {K}, d = {d}; pass previous=None for a cold start."
        )
    return previous


def _shape(array: np.ndarray | None) -> tuple[int, ...] | None:
    return None if array is None else np.shape(array)


def _geometric_mean(values: np.ndarray) -> np.ndarray:
    """:math:`(\\prod_j v_j)^{1/d}` along the last axis, through logarithms (no overflow)."""
    return np.exp(np.log(values).sum(axis=-1) / values.shape[-1])


def _change(new: np.ndarray, old: np.ndarray) -> float:
    r"""The stopping rule's measure: :math:`\max_k \max_{ij} |\Sigma^{new}_{k,ij} -
    \Sigma^{old}_{k,ij}| / \max_{ij} |\Sigma^{new}_{k,ij}|`."""
    K = new.shape[0]
    moved = np.abs(new - old).reshape(K, -1).max(axis=1)
    return float((moved / np.abs(new).reshape(K, -1).max(axis=1)).max())


# ------------------------------------------------------------------------ closed forms
def _closed_form(name: str, counts: np.ndarray, W: np.ndarray) -> np.ndarray:
    K = counts.shape[0]
    N = counts.sum()
    d = W.shape[-1]
    if name == "EII":  # lambda = tr(sum_k W_k) / (N d)
        return np.full((K, d), W.sum() / (N * d))
    if name == "VII":  # lambda_k = tr(W_k) / (N_k d)
        return np.repeat((W.sum(axis=1) / (d * counts))[:, None], d, axis=1)
    if name == "EEI":  # lambda A = diag(sum_k W_k) / N
        return np.repeat((W.sum(axis=0) / N)[None], K, axis=0)
    if name == "VVI":  # lambda_k A_k = diag(W_k) / N_k
        return W / counts[:, None]
    if name == "EVI":  # A_k = diag(W_k) / |diag W_k|^(1/d), lambda = sum_k |diag W_k|^(1/d) / N
        _require_positive_definite(name, W)
        roots = _geometric_mean(W)
        return W * (roots.sum() / N / roots)[:, None]
    if name == "EEE":  # Sigma = sum_k W_k / N
        return W / N
    if name == "VVV":  # Sigma_k = W_k / N_k
        return W / counts[:, None, None]
    if name == "EVV":  # C_k = W_k / |W_k|^(1/d), lambda = sum_k |W_k|^(1/d) / N
        signs, logdets = np.linalg.slogdet(W)
        if np.any(signs <= 0):
            raise _singular(name)
        roots = np.exp(logdets / d)
        return W * (roots.sum() / N / roots)[:, None, None]
    if name == "EEV":  # D_k = eigenvectors of W_k, lambda A = sum_k Omega_k / N
        eigenvalues, vectors = _descending_eigh(name, W)
        common = eigenvalues.sum(axis=0) / N
        return np.einsum("kij,j,klj->kil", vectors, common, vectors)
    raise AssertionError(name)  # pragma: no cover


def _descending_eigh(name: str, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (K, d) in decreasing order and the eigenvectors as columns (K, d, d)."""
    eigenvalues, vectors = np.linalg.eigh(W)
    eigenvalues, vectors = eigenvalues[:, ::-1], vectors[:, :, ::-1]
    if not np.all(eigenvalues > 0):
        raise _singular(name)
    return np.ascontiguousarray(eigenvalues), np.ascontiguousarray(vectors)


# ------------------------------------------------------------------ iterative M-steps
def _volumes_and_shape(
    counts: np.ndarray,
    w: np.ndarray,
    previous: CovarianceEstimate | None,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    r"""Celeux & Govaert's (1995) alternation for :math:`\lambda_k A` on eigenvalues ``w``.

    Minimises :math:`\sum_k [N_k d \log \lambda_k + \sum_j w_{kj} / (\lambda_k a_j)]` with
    :math:`\prod_j a_j = 1` by exact minimisation over one block at a time:
    :math:`\lambda_k = \sum_j (w_{kj}/a_j) / (d N_k)`, then
    :math:`a \propto \sum_k w_{k\cdot} / \lambda_k` normalised to determinant 1. (In
    :math:`\log\lambda_k, \log a_j` the objective is strictly convex, so the minimiser is
    unique and the alternation reaches it from any start.)
    """
    d = w.shape[1]
    if previous is None:
        shape, covariances = np.ones(d), None
    else:
        assert previous.shape is not None and previous.scale is not None  # _check_previous
        shape = np.asarray(previous.shape[0], dtype=np.float64)
        covariances = previous.scale[:, None] * previous.shape
    for sweep in range(1, max_iter + 1):
        scale = (w / shape).sum(axis=1) / (d * counts)
        totals = (w / scale[:, None]).sum(axis=0)
        shape = totals / _geometric_mean(totals)
        new = scale[:, None] * shape
        if covariances is not None and _change(new, covariances) <= tol:
            return scale, shape, sweep, True
        covariances = new
    return scale, shape, max_iter, False


def _vei(counts, W, previous, tol, max_iter) -> CovarianceEstimate:
    K = W.shape[0]
    _require_positive_definite("VEI", W)
    scale, shape, n_iter, converged = _volumes_and_shape(counts, W, previous, tol, max_iter)
    shapes = np.repeat(shape[None], K, axis=0)
    return CovarianceEstimate("VEI", scale[:, None] * shape, scale, shapes, None, n_iter, converged)


def _vev(counts, W, previous, tol, max_iter) -> CovarianceEstimate:
    r"""VEV: :math:`D_k` are the eigenvectors of :math:`W_k` (for any :math:`\lambda_k, A`,
    von Neumann's trace inequality puts the largest eigenvalue of :math:`W_k` on the
    largest entry of :math:`A`), then the VEI alternation on the eigenvalues."""
    K = W.shape[0]
    eigenvalues, vectors = _descending_eigh("VEV", W)
    scale, shape, n_iter, converged = _volumes_and_shape(
        counts, eigenvalues, previous, tol, max_iter
    )
    covariances = np.einsum("kij,kj,klj->kil", vectors, scale[:, None] * shape, vectors)
    shapes = np.repeat(shape[None], K, axis=0)
    return CovarianceEstimate("VEV", covariances, scale, shapes, vectors, n_iter, converged)


def _vee(counts, W, previous, tol, max_iter) -> CovarianceEstimate:
    r"""VEE (Celeux & Govaert 1995): alternate :math:`C = M / |M|^{1/d}` with
    :math:`M = \sum_k W_k / \lambda_k` (the exact minimiser of
    :math:`\sum_k \operatorname{tr}(W_k C^{-1})/\lambda_k` over :math:`|C| = 1`) and
    :math:`\lambda_k = \operatorname{tr}(W_k C^{-1}) / (d N_k)`, from :math:`\lambda_k = 1`
    (mclust's start) or the previous volumes."""
    K, d = W.shape[:2]
    _require_positive_definite("VEE", W)
    if previous is None:
        scale, covariances = np.ones(K), None
    else:
        scale, covariances = np.asarray(previous.scale, dtype=float), previous.covariances
    converged = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        M = np.einsum("kij,k->ij", W, 1.0 / scale)
        _, logdet = np.linalg.slogdet(M)
        C = M / math.exp(logdet / d)
        inverse = np.linalg.inv(C)
        inverse = (inverse + inverse.T) / 2
        scale = np.einsum("kij,ij->k", W, inverse) / (d * counts)
        new = scale[:, None, None] * C
        if covariances is not None and _change(new, covariances) <= tol:
            converged = True
            covariances = new
            break
        covariances = new
    assert covariances is not None  # max_iter >= 1
    return CovarianceEstimate("VEE", covariances, scale, None, C, n_iter, converged)


def _polar(M: np.ndarray, D: np.ndarray) -> np.ndarray:
    r"""The orthogonal :math:`D` maximising :math:`\operatorname{tr}(D^\top M)`: :math:`U V^\top`
    from :math:`M = U S V^\top`. A zero :math:`M` (every :math:`A_k` a multiple of the
    identity, when the majoriser does not depend on :math:`D`) keeps ``D``."""
    if not M.any():
        return D
    U, _, Vt = np.linalg.svd(M)
    return U @ Vt


def _common_orientation(
    name: str, counts, W, previous, tol, max_iter, vve: str
) -> CovarianceEstimate:
    r"""EVE and VVE: Browne & McNicholas's (2014) MM iterations for the common :math:`D`.

    With :math:`\Delta_k` the diagonal part of :math:`\Sigma_k = D \Delta_k D^\top`, the
    orientation minimises :math:`f(D) = \sum_k \operatorname{tr}(W_k D \Delta_k^{-1}
    D^\top)` over orthogonal :math:`D`. Each sweep majorises :math:`f` twice by a function
    linear in :math:`D`, whose minimiser over orthogonal matrices is a polar factor
    (``_polar``), so neither step can raise :math:`f`:

    1. with :math:`\omega_k` the largest eigenvalue of :math:`W_k`, on orthogonal matrices
       :math:`f(D) = \sum_k \omega_k \operatorname{tr}\Delta_k^{-1} - g(D)` with
       :math:`g(D) = \sum_k \operatorname{tr}((\omega_k I - W_k) D \Delta_k^{-1} D^\top)`
       convex in :math:`D` (a positive semi-definite quadratic form); :math:`g` lies above
       its tangent at the current :math:`D_0`, so :math:`f` lies below the tangent's
       complement, which is least at
       :math:`D = \operatorname{polar}(\sum_k (\omega_k I - W_k) D_0 \Delta_k^{-1})`;
    2. likewise with :math:`\alpha_k = \max_j 1/\delta_{kj}`,
       :math:`f(D) = \sum_k \alpha_k \operatorname{tr} W_k - \sum_k \operatorname{tr}(W_k D
       (\alpha_k I - \Delta_k^{-1}) D^\top)`, and
       :math:`D = \operatorname{polar}(\sum_k W_k D_0 (\alpha_k I - \Delta_k^{-1}))`;

    then the diagonal parts given :math:`D` exactly: EVE,
    :math:`A_k \propto \operatorname{diag}(D^\top W_k D)` with :math:`|A_k| = 1` and
    :math:`\lambda = \sum_k |\operatorname{diag}(D^\top W_k D)|^{1/d} / N`; VVE,
    :math:`\lambda_k A_k = \operatorname{diag}(D^\top W_k D) / N_k`. The majorisers weight
    the components by :math:`\Delta_k^{-1}`: :math:`A_k^{-1}` for EVE (its common volume
    factors out), :math:`(\lambda_k A_k)^{-1}` for VVE (``vve="likelihood"``), or
    :math:`A_k^{-1}` for VVE as mclust 6.0.0 does (``vve="mclust"``; not a descent method
    for the VVE likelihood). The cold start is mclust's: :math:`D = I`, :math:`A_k = I`,
    :math:`\lambda_k = 1`.
    """
    K, d = W.shape[:2]
    _require_positive_definite(name, W)
    top = np.linalg.eigvalsh(W)[:, -1]  # omega_k
    if previous is None:
        D, shapes, scale, covariances = np.eye(d), np.ones((K, d)), np.ones(K), None
    else:
        D = np.asarray(previous.orientation, dtype=float)
        shapes = np.asarray(previous.shape, dtype=float)
        scale = np.asarray(previous.scale, dtype=float)
        covariances = previous.covariances
    by_volume = name == "VVE" and vve == "likelihood"
    converged = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        inverse = 1.0 / (shapes * scale[:, None] if by_volume else shapes)  # Delta_k^{-1}
        WD = W @ D
        D = _polar(np.einsum("kij,kj->ij", top[:, None, None] * D - WD, inverse), D)
        WD = W @ D
        D = _polar(np.einsum("kij,kj->ij", WD, inverse.max(axis=1)[:, None] - inverse), D)
        diagonals = np.einsum("ij,kij->kj", D, W @ D)  # diag(D^T W_k D)
        if name == "EVE":
            roots = _geometric_mean(diagonals)
            shapes = diagonals / roots[:, None]
            scale = np.full(K, roots.sum() / counts.sum())
        else:
            deltas = diagonals / counts[:, None]
            scale = _geometric_mean(deltas)
            shapes = deltas / scale[:, None]
        if not (shapes > 0).all():
            raise _singular(name)
        new = np.einsum("ij,kj,lj->kil", D, shapes * scale[:, None], D)
        if covariances is not None and _change(new, covariances) <= tol:
            converged = True
            covariances = new
            break
        covariances = new
    assert covariances is not None  # max_iter >= 1
    return CovarianceEstimate(name, covariances, scale, shapes, D, n_iter, converged)


def covariances_from_scatter(
    model: str,
    counts,
    scatters,
    *,
    reg_covar: float = 0.0,
    previous: CovarianceEstimate | None = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    vve: Literal["likelihood", "mclust"] = "likelihood",
) -> CovarianceEstimate:
    r"""The M-step for the covariances of ``model`` from the counts and scatters.

    Minimises :math:`F = \sum_k [N_k \log|\Sigma_k| + \operatorname{tr}(\Sigma_k^{-1}
    \tilde W_k)]` over the model's constraint set, with the regularised scatters
    :math:`\tilde W_k = W_k + \epsilon N_k I` (:math:`\epsilon` = ``reg_covar``): for VVV
    that is :math:`\Sigma_k = W_k/N_k + \epsilon I`, scikit-learn's ``reg_covar``, and for
    every model the maximum-likelihood estimate as if each point carried an extra scatter
    :math:`\epsilon I`. The closed forms (:math:`N = \sum_k N_k`,
    :math:`|\cdot|^{1/d}` a geometric mean of eigenvalues or diagonal entries):

    * EII :math:`\lambda = \operatorname{tr}\sum_k \tilde W_k/(dN)`; VII
      :math:`\lambda_k = \operatorname{tr}\tilde W_k/(dN_k)`; EEI
      :math:`\Sigma = \operatorname{diag}\sum_k \tilde W_k/N`; VVI
      :math:`\Sigma_k = \operatorname{diag}\tilde W_k/N_k`;
    * EVI :math:`\Sigma_k = \lambda B_k`, :math:`B_k = \operatorname{diag}\tilde W_k /
      |\operatorname{diag}\tilde W_k|^{1/d}`, :math:`\lambda = \sum_k
      |\operatorname{diag}\tilde W_k|^{1/d}/N`;
    * EEE :math:`\Sigma = \sum_k \tilde W_k/N`; VVV :math:`\Sigma_k = \tilde W_k/N_k`;
    * EVV :math:`\Sigma_k = \lambda C_k`, :math:`C_k = \tilde W_k/|\tilde W_k|^{1/d}`,
      :math:`\lambda = \sum_k |\tilde W_k|^{1/d}/N`;
    * EEV with :math:`\tilde W_k = D_k \Omega_k D_k^\top` (eigenvalues decreasing):
      :math:`\Sigma_k = D_k (\sum_j \Omega_j / N) D_k^\top`.

    The iterative models (the private ``_volumes_and_shape``, ``_vee`` and
    ``_common_orientation`` give the details): VEI and VEV alternate volumes and the common shape
    (VEV on the eigenvalues of :math:`\tilde W_k`, whose eigenvectors are its orientations);
    VEE alternates volumes and :math:`C = DAD^\top`; EVE and VVE take two MM steps for
    :math:`D` and the exact diagonal parts per sweep. Every sweep lowers :math:`F` or leaves
    it unchanged. **Stopping rule:** after each sweep, the largest change of an entry of a
    covariance, relative to that covariance's largest entry,
    :math:`\max_k \max_{ij}|\Delta\Sigma_{k,ij}| / \max_{ij}|\Sigma_{k,ij}|`, is compared
    with ``tol``; the iteration stops when it is at most ``tol`` or after ``max_iter``
    sweeps (then ``converged`` is False). (mclust stops VEI and VEV on the largest change
    :math:`|\Delta\theta|/(1+|\theta|)` of a volume or shape entry, and VEE, EVE, VVE on the
    relative change of :math:`F`'s trace term; the fixed points are the same.)

    Parameters
    ----------
    model : one of :data:`MODEL_NAMES`.
    counts : (K,) non-negative :math:`N_k`, at least one positive. An empty component
        (:math:`N_k = 0`) takes no part: the others' estimate is the model's estimate for
        them alone, and the empty one gets a copy of the heaviest component's parameters
        (within every model's constraints; its weight is 0, so it changes no density).
    scatters : :math:`W_k = \sum_i r_{ik}(x_i - \bar x_k)(x_i - \bar x_k)^\top` about the
        weighted means, shaped by the model's ``statistics`` (:data:`MODELS`): (K, d)
        diagonals for EII...VVI, (d, d) their sum for EEE, (K, d, d) otherwise; (K, d, d)
        serves every model.
    reg_covar : non-negative :math:`\epsilon`.
    previous : the :class:`CovarianceEstimate` of the previous EM iteration (same model,
        K, d): the iterative models continue from its volumes, shapes and orientation
        (a warm start; ignored by the closed forms). With it every EM iteration is a
        generalised EM step: the M-step's result is at least as good as the previous
        covariances for the new statistics, so the log-likelihood cannot decrease. Without
        it the iterations start where mclust's ``mstep`` starts.
    tol, max_iter : the stopping rule above (``tol`` >= 0; ``max_iter`` >= 1).
    vve : ``"likelihood"`` (default) minimises :math:`F` for VVE; ``"mclust"`` reproduces
        mclust 6.0.0's VVE estimate (see the module's docstring). Other models ignore it.

    Returns
    -------
    :class:`CovarianceEstimate` with ``covariances`` shaped by the model's ``storage``:
    (K, d) diagonals, (d, d) for EEE, or (K, d, d).
    """
    spec = check_model(model)
    counts = _check_counts(counts)
    if (
        isinstance(reg_covar, bool)
        or not isinstance(reg_covar, numbers.Real)
        or not (math.isfinite(reg_covar) and reg_covar >= 0)
    ):
        raise ValueError(f"reg_covar must be a finite non-negative number; got {reg_covar!r}.")
    options = check_options(tol, max_iter, vve)
    W = _statistics(spec, counts, scatters, float(reg_covar))
    K, d = counts.shape[0], W.shape[-1]
    previous = _check_previous(previous, spec, K, d)
    if np.all(counts > 0):
        return _estimate(spec, counts, W, previous, **options)
    # Empty components take no part; each gets a copy of the heaviest one's parameters,
    # which satisfies every model's constraints (its equal parts are equal anyway).
    keep = np.flatnonzero(counts > 0)
    part = _estimate(
        spec,
        counts[keep],
        W if spec.statistics == "pooled" else W[keep],
        None if previous is None else _take(previous, keep),
        **options,
    )
    source = np.full(K, int(np.argmax(counts[keep])))
    source[keep] = np.arange(keep.size)
    return _take(part, source)


def _estimate(
    spec: CovarianceModel, counts, W, previous, *, tol: float, max_iter: int, vve: str
) -> CovarianceEstimate:
    model = spec.name
    if not spec.iterative:
        return CovarianceEstimate(model, _closed_form(model, counts, W))
    if model == "VEI":
        return _vei(counts, W, previous, tol, max_iter)
    if model == "VEV":
        return _vev(counts, W, previous, tol, max_iter)
    if model == "VEE":
        return _vee(counts, W, previous, tol, max_iter)
    return _common_orientation(model, counts, W, previous, tol, max_iter, vve)


def _take(estimate: CovarianceEstimate, index: np.ndarray) -> CovarianceEstimate:
    """The estimate of the components ``index`` (an integer array; repeats copy)."""
    per_component = lambda a, ndim: a if a is None or np.ndim(a) < ndim else a[index]
    shared = MODELS[estimate.model].storage == "shared"
    return estimate._replace(
        covariances=estimate.covariances if shared else estimate.covariances[index],
        scale=per_component(estimate.scale, 1),
        shape=per_component(estimate.shape, 2),
        orientation=per_component(estimate.orientation, 3),
    )


def estimate_from_covariances(model: str, covariances) -> CovarianceEstimate:
    r"""The :class:`CovarianceEstimate` behind covariances stored as ``model`` stores them:
    what a warm start (``previous=``) needs when only the covariances are known (EM's
    start, a fitted model continued).

    For covariances that satisfy the model's constraints it is the decomposition they came
    from, to rounding: VEI the volumes :math:`\lambda_k = |\Sigma_k|^{1/d}` and the shape
    :math:`A = \Sigma_k / \lambda_k`; VEV the same from the eigenvalues; VEE the volumes and
    :math:`C = \Sigma_k / \lambda_k`; EVE and VVE the common orientation :math:`D`, the
    eigenvectors of :math:`\sum_k t_k \Sigma_k / \lambda_k` (weights :math:`t_k = 1 +
    0.618 k`, so that no two eigenvalues coincide by accident), and :math:`\Delta_k =
    \operatorname{diag}(D^	op \Sigma_k D)`. For other covariances (a start outside the
    model) the same formulas give a start near them (shapes averaged geometrically over
    the components). The closed-form models need no state: their estimate holds only the
    covariances.
    """
    spec = check_model(model)
    covariances = np.asarray(covariances, dtype=np.float64)
    if not spec.iterative:
        return CovarianceEstimate(model, covariances)
    K = covariances.shape[0] if covariances.ndim else 0
    matrices = full_covariances(model, covariances, max(K, 1))
    d = matrices.shape[-1]
    eigenvalues, vectors = np.linalg.eigh(matrices)
    if not np.all(eigenvalues > 0):
        raise ValueError(f"Model {model} needs positive definite covariances.")
    eigenvalues, vectors = eigenvalues[:, ::-1], vectors[:, :, ::-1]
    volumes = _geometric_mean(eigenvalues)
    if model in ("VEI", "VEV"):
        own = (covariances if model == "VEI" else eigenvalues) / volumes[:, None]
        shapes = np.repeat(np.exp(np.log(own).mean(axis=0))[None], K, axis=0)
        orientation = None if model == "VEI" else np.ascontiguousarray(vectors)
        return CovarianceEstimate(model, covariances, volumes, shapes, orientation)
    normalised = matrices / volumes[:, None, None]
    if model == "VEE":
        C = normalised.mean(axis=0)
        C /= math.exp(np.linalg.slogdet(C)[1] / d)
        return CovarianceEstimate(model, covariances, volumes, None, C)
    weights = 1.0 + 0.618 * np.arange(K)
    D = np.linalg.eigh(np.einsum("k,kij->ij", weights, normalised))[1][:, ::-1]
    diagonals = np.einsum("ij,kij->kj", D, matrices @ D)
    scale = _geometric_mean(diagonals)
    return CovarianceEstimate(
        model, covariances, scale, diagonals / scale[:, None], np.ascontiguousarray(D)
    )


# ------------------------------------------------------------------ using the results
def full_covariances(model: str, covariances, n_components: int) -> np.ndarray:
    """The (K, d, d) matrices of covariances stored as ``model`` stores them.

    Diagonal storage (K, d) becomes diagonal matrices, EEE's (d, d) is repeated K times, and
    (K, d, d) is returned as it is (a copy); the E-step of any model can then use
    ``covariance_type="full"`` (or, faster, ``"diag"`` for diagonal storage and ``"tied"``
    for EEE, which read the stored arrays directly).
    """
    spec = check_model(model)
    K = _positive_int(n_components, "n_components")
    covariances = np.asarray(covariances, dtype=np.float64)
    expected = {"diagonal": (K, None), "shared": (None, None), "full": (K, None, None)}[
        spec.storage
    ]
    if (
        covariances.ndim != len(expected)
        or (expected[0] is not None and covariances.shape[0] != K)
        or (spec.storage != "diagonal" and covariances.shape[-1] != covariances.shape[-2])
    ):
        shape = {"diagonal": "(K, d)", "shared": "(d, d)", "full": "(K, d, d)"}[spec.storage]
        raise ValueError(
            f"Model {model} stores covariances of shape {shape} with K = {K}; got "
            f"{covariances.shape}."
        )
    if spec.storage == "diagonal":
        d = covariances.shape[1]
        out = np.zeros((K, d, d))
        out[:, range(d), range(d)] = covariances
        return out
    if spec.storage == "shared":
        return np.repeat(covariances[None], K, axis=0)
    return covariances.copy()


def covariance_log_likelihood(counts, scatters, covariances) -> float:
    r"""The covariances' part of the expected complete-data log-likelihood, :math:`-F/2`:

    .. math:: -\frac12 \sum_k \bigl[ N_k (d \log 2\pi + \log|\Sigma_k|)
              + \operatorname{tr}(\Sigma_k^{-1} W_k) \bigr],

    for (K,) counts, (K, d, d) scatters about the weighted means and (K, d, d) covariances
    (:func:`full_covariances`). Adding :math:`\sum_k N_k \log \pi_k` gives the expected
    complete-data log-likelihood at the weighted means; every M-step maximises it.
    """
    counts = _check_counts(counts)
    scatters = np.asarray(scatters, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    K = counts.shape[0]
    if scatters.ndim != 3 or scatters.shape[0] != K or covariances.shape != scatters.shape:
        raise ValueError(
            "counts (K,), scatters (K, d, d) and covariances (K, d, d) must agree; got "
            f"{counts.shape}, {scatters.shape}, {covariances.shape}."
        )
    d = scatters.shape[1]
    try:
        lower = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        raise ValueError("every covariance must be positive definite.") from None
    logdet = 2 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
    traces = np.einsum("kij,kji->k", np.linalg.inv(covariances), scatters)
    return float(-0.5 * np.sum(counts * (d * math.log(2 * math.pi) + logdet) + traces))


def volume_shape_orientation(covariance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The decomposition :math:`\Sigma = \lambda D A D^\top` of one or several covariances.

    ``covariance`` is (d, d) or (K, d, d), symmetric positive definite. Returns the volume
    :math:`\lambda = |\Sigma|^{1/d}` (a float array of shape () or (K,)), the shape, the
    diagonal of :math:`A` in decreasing order with :math:`\prod_j a_j = 1` ((d,) or (K, d)),
    and the orientation :math:`D`, whose columns are the matching unit eigenvectors, each
    signed so that its largest-magnitude entry is positive ((d, d) or (K, d, d)). The axes
    of the ellipse :math:`\{x : x^\top \Sigma^{-1} x = 1\}` are the columns of :math:`D`,
    with half-lengths :math:`\sqrt{\lambda a_j}`. The inverse is
    :func:`covariance_from_volume_shape_orientation`.
    """
    covariance = np.asarray(covariance, dtype=np.float64)
    if (
        covariance.ndim not in (2, 3)
        or covariance.shape[-1] != covariance.shape[-2]
        or (covariance.shape[-1] == 0)
    ):
        raise ValueError(f"covariance must have shape (d, d) or (K, d, d); got {covariance.shape}.")
    if not np.all(np.isfinite(covariance)):
        raise ValueError("covariance must be finite.")
    asymmetry = np.abs(covariance - np.swapaxes(covariance, -1, -2)).max()
    if asymmetry > 1e-10 * max(np.abs(covariance).max(), np.finfo(float).tiny):
        raise ValueError("covariance must be symmetric.")
    eigenvalues, vectors = np.linalg.eigh((covariance + np.swapaxes(covariance, -1, -2)) / 2)
    if not np.all(eigenvalues > 0):
        raise ValueError("covariance must be positive definite (every eigenvalue > 0).")
    eigenvalues, vectors = eigenvalues[..., ::-1], vectors[..., ::-1]
    volume = _geometric_mean(eigenvalues)
    shape = eigenvalues / volume[..., None]
    rows = np.argmax(np.abs(vectors), axis=-2)[..., None, :]
    signs = np.sign(np.take_along_axis(vectors, rows, axis=-2))
    return volume, shape, np.ascontiguousarray(vectors * signs)


def covariance_from_volume_shape_orientation(volume, shape, orientation) -> np.ndarray:
    r""":math:`\Sigma = \lambda D A D^\top` from a volume (() or (K,)), a shape ((d,) or (K, d),
    positive, product 1) and an orthogonal orientation ((d, d) or (K, d, d)); the inverse of
    :func:`volume_shape_orientation`."""
    volume = np.asarray(volume, dtype=np.float64)
    shape = np.asarray(shape, dtype=np.float64)
    orientation = np.asarray(orientation, dtype=np.float64)
    if (
        shape.ndim not in (1, 2)
        or volume.shape != shape.shape[:-1]
        or orientation.shape != shape.shape + shape.shape[-1:]
    ):
        raise ValueError(
            "volume (), shape (d,) and orientation (d, d), or volume (K,), shape (K, d) and "
            f"orientation (K, d, d), are needed; got {volume.shape}, {shape.shape}, "
            f"{orientation.shape}."
        )
    if not (np.all(np.isfinite(volume)) and np.all(volume > 0)):
        raise ValueError("volume must be finite and positive.")
    if not (np.all(np.isfinite(shape)) and np.all(shape > 0)):
        raise ValueError("shape must be finite and positive.")
    if np.any(np.abs(np.sum(np.log(shape), axis=-1)) > 1e-8):
        raise ValueError(
            "shape must have product 1 (its determinant; the volume carries the scale)."
        )
    d = shape.shape[-1]
    gram = np.swapaxes(orientation, -1, -2) @ orientation
    if not np.all(np.isfinite(orientation)) or np.abs(gram - np.eye(d)).max() > 1e-8:
        raise ValueError("orientation must be an orthogonal matrix (D^T D = I).")
    scaled = orientation * (volume[..., None] * shape)[..., None, :]
    return scaled @ np.swapaxes(orientation, -1, -2)
