"""Per-covariance-type helpers: Cholesky factors of precisions, log-determinants, counts.

A covariance type is one of scikit-learn's four or one of mclust's fourteen
volume-shape-orientation models (:mod:`gmmlib.parsimonious`; :data:`COVARIANCE_TYPES`).
Each is stored, and evaluated by the E-step, in one of four *storages*, the kernel of the
same name in :mod:`gmmlib._kernels` (:func:`storage`):

=============  ===================  ============================================  ==========
storage        shape                meaning                                       types
=============  ===================  ============================================  ==========
``full``       ``(K, d, d)``        each component has its own matrix             ``full``,
                                                                                  VEE, EVE,
                                                                                  VVE, EEV,
                                                                                  VEV, EVV,
                                                                                  VVV
``tied``       ``(d, d)``           all components share one matrix               ``tied``,
                                                                                  EEE
``diag``       ``(K, d)``           each component has a diagonal matrix          ``diag``,
                                                                                  EII, VII,
                                                                                  EEI, VEI,
                                                                                  EVI, VVI
``spherical``  ``(K,)``             each component has :math:`\\sigma_k^2 I`       ``spherical``
=============  ===================  ============================================  ==========

scikit-learn's four keep their own storage (``spherical`` = VII and ``diag`` = VVI,
``tied`` = EEE, ``full`` = VVV are the same models); every mclust model with a diagonal
covariance is stored as ``diag``, so that VII and EII are ``(K, d)`` with equal entries in
each row (EII: in every row). The constraints of a model are imposed by its M-step
(:func:`gmmlib.em.m_step_from_statistics`); everything else reads only the storage.

The E-step never inverts a covariance. It uses the *precision Cholesky factor*
:math:`U_k`, the upper-triangular matrix with :math:`\\Sigma_k^{-1} = U_k U_k^\\top`, so that
the squared Mahalanobis distance is :math:`\\lVert (x - \\mu_k) U_k \\rVert^2` and
:math:`\\log\\det \\Sigma_k^{-1} = 2 \\sum_j \\log (U_k)_{jj}`.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .parsimonious import MODEL_NAMES, MODELS
from .parsimonious import n_covariance_parameters as _n_model_parameters

#: scikit-learn's four covariance types.
SKLEARN_TYPES = ("full", "tied", "diag", "spherical")

#: Every covariance type: scikit-learn's four, then mclust's fourteen in mclust's order.
COVARIANCE_TYPES = SKLEARN_TYPES + MODEL_NAMES

#: The storage of each covariance type (see the module docstring): the one table, read
#: from the models' own (:data:`gmmlib.parsimonious.MODELS`).
_STORAGE = {name: name for name in SKLEARN_TYPES} | {
    name: {"diagonal": "diag", "shared": "tied", "full": "full"}[MODELS[name].storage]
    for name in MODEL_NAMES
}

_NOT_POSITIVE_DEFINITE = (
    "a component's covariance is not positive definite (a component collapsed onto "
    "one point or onto points that lie in a lower-dimensional subspace). Increase "
    "reg_covar, use fewer components, or rescale the data (e.g. StandardScaler)."
)


class DegenerateFitError(ValueError):
    """A covariance stopped being positive definite: a component collapsed.

    A ``ValueError`` (so callers that catch bad input catch it too), with a type of its own
    so that model selection can tell a collapsed candidate from a bad parameter without
    reading the message.
    """

    def __init__(self, message: str = f"Fitting failed: {_NOT_POSITIVE_DEFINITE}") -> None:
        super().__init__(message)


def check_covariance_type(covariance_type: str) -> str:
    """Return ``covariance_type`` if it is one of :data:`COVARIANCE_TYPES`, else raise."""
    if not isinstance(covariance_type, str) or covariance_type not in _STORAGE:
        raise ValueError(
            f"covariance_type must be one of scikit-learn's {SKLEARN_TYPES} or one of "
            f"mclust's models {', '.join(MODEL_NAMES)}; got {covariance_type!r}."
        )
    return covariance_type


def storage(covariance_type: str) -> str:
    """How ``covariance_type`` stores its covariances: ``"full"``, ``"tied"``, ``"diag"`` or
    ``"spherical"`` (the module docstring's table); a ValueError for an unknown type."""
    return _STORAGE[check_covariance_type(covariance_type)]


def is_mclust_model(covariance_type: str) -> bool:
    """True for mclust's fourteen names, False for scikit-learn's four."""
    return check_covariance_type(covariance_type) in MODELS


def minimum_points(covariance_type: str, n_features: int) -> int:
    """The fewest points (by responsibility) that give a component a covariance of its own
    that is not singular: :math:`d + 1` for a matrix of its own, 2 for variances of its
    own, 0 when nothing is estimated from the component alone (``tied``, EII, EEI, EEE)."""
    if check_covariance_type(covariance_type) in ("tied", "EII", "EEI", "EEE"):
        return 0
    return {"full": n_features + 1, "diag": 2, "spherical": 2}[storage(covariance_type)]


def _upper_cholesky_of_inverse(matrix: np.ndarray) -> np.ndarray:
    """Upper-triangular :math:`U` with :math:`U U^\\top = M^{-1}`, from :math:`M = L L^\\top`.

    :math:`M^{-1} = L^{-\\top} L^{-1}`, so :math:`U = L^{-\\top}`, found by a triangular solve.
    """
    try:
        lower = linalg.cholesky(matrix, lower=True, check_finite=False)
    except linalg.LinAlgError:
        raise DegenerateFitError() from None
    identity = np.eye(matrix.shape[0], dtype=matrix.dtype)
    return linalg.solve_triangular(lower, identity, lower=True, check_finite=False).T


def precisions_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors :math:`U_k` of the precisions :math:`\\Sigma_k^{-1} = U_k U_k^\\top`.

    For ``diag`` and ``spherical`` this is :math:`1/\\sqrt{\\sigma^2}` elementwise.
    Raises a ``ValueError`` (never a ``LinAlgError``) when a covariance is not positive
    definite.
    """
    covariance_type = storage(covariance_type)
    if covariance_type == "full":
        return np.stack([_upper_cholesky_of_inverse(c) for c in covariances])
    if covariance_type == "tied":
        return _upper_cholesky_of_inverse(covariances)
    if not np.all(covariances > 0):
        raise DegenerateFitError()
    return 1.0 / np.sqrt(covariances)


def precisions_cholesky_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper-triangular :math:`U` with :math:`U U^\\top = \\Lambda` for given precisions.

    With :math:`J` the exchange matrix (ones on the anti-diagonal), the lower Cholesky factor
    of :math:`J \\Lambda J` is :math:`L`, and :math:`U = J L J`.
    """
    covariance_type = storage(covariance_type)

    def upper_factor(precision: np.ndarray) -> np.ndarray:
        flipped = precision[::-1, ::-1]
        return linalg.cholesky(flipped, lower=True, check_finite=False)[::-1, ::-1]

    if covariance_type == "full":
        return np.stack([upper_factor(p) for p in precisions])
    if covariance_type == "tied":
        return upper_factor(precisions)
    return np.sqrt(precisions)


def precisions_from_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precisions :math:`\\Lambda_k = U_k U_k^\\top` from their Cholesky factors."""
    covariance_type = storage(covariance_type)
    if covariance_type == "full":
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


def covariances_from_precisions_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances :math:`\\Sigma_k = U_k^{-\\top} U_k^{-1}` from precision Cholesky factors."""
    covariance_type = storage(covariance_type)

    def invert(upper: np.ndarray) -> np.ndarray:
        identity = np.eye(upper.shape[0], dtype=upper.dtype)
        inverse = linalg.solve_triangular(upper, identity, lower=False, check_finite=False)
        return inverse.T @ inverse  # (U U^T)^-1 = U^-T U^-1

    if covariance_type == "full":
        return np.stack([invert(u) for u in prec_chol])
    if covariance_type == "tied":
        return invert(prec_chol)
    return 1.0 / prec_chol**2


def log_det_cholesky(prec_chol: np.ndarray, covariance_type: str, n_features: int) -> np.ndarray:
    """:math:`\\log\\det U_k = \\tfrac12 \\log\\det \\Sigma_k^{-1}` for each component.

    Returns an array of shape ``(K,)`` (a scalar for ``tied``).
    """
    covariance_type = storage(covariance_type)
    if covariance_type == "full":
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diagonal(prec_chol)).sum()
    if covariance_type == "diag":
        return np.log(prec_chol).sum(axis=1)
    return n_features * np.log(prec_chol)


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a mixture.

    :math:`(K - 1)` weights, :math:`K d` means, and for the covariances
    ``full``: :math:`K d (d + 1) / 2`; ``tied``: :math:`d (d + 1) / 2`;
    ``diag``: :math:`K d`; ``spherical``: :math:`K`; an mclust model: mclust's count
    (:func:`gmmlib.parsimonious.n_covariance_parameters`, ``nVarParams``), which is the
    same for the four that are scikit-learn's types.
    """
    k, d = n_components, n_features
    if is_mclust_model(covariance_type):
        return int(_n_model_parameters(covariance_type, k, d) + k * d + k - 1)
    covariance_params = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[covariance_type]
    return int(covariance_params + k * d + k - 1)


def expected_covariance_shape(
    covariance_type: str, n_components: int, n_features: int
) -> tuple[int, ...]:
    """The array shape of covariances (or precisions) for a covariance type (its storage)."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[storage(covariance_type)]


def covariance_matrices(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Every component's covariance written out as a full matrix, shape ``(K, d, d)``.

    ``tied`` repeats the shared matrix, ``diag`` puts each vector on a diagonal and
    ``spherical`` multiplies the identity by each variance (by the type's storage, so for
    every covariance type).
    """
    covariances = np.asarray(covariances, dtype=float)
    covariance_type = storage(covariance_type)
    if covariance_type == "full":
        return covariances.copy()
    if covariance_type == "tied":
        return np.repeat(covariances[None], n_components, axis=0)
    identity = np.eye(n_features)
    if covariance_type == "diag":
        return covariances[:, :, None] * identity
    return covariances[:, None, None] * identity


def precisions_of_variances(
    variances: np.ndarray, covariance_type: str, n_components: int
) -> np.ndarray:
    """Precisions, shaped for ``covariance_type``, of the covariance ``diag(variances)``.

    Every component gets the same axis-aligned shape (``spherical``, and the mclust models
    whose shape is the identity, EII and VII: the mean variance), a neutral start for
    ``precisions_init`` when only the data's spread is known; it satisfies every model's
    constraints.
    """
    variances = np.asarray(variances, dtype=float)
    if check_covariance_type(covariance_type) in ("EII", "VII"):
        variances = np.full(variances.shape, np.mean(variances))
    precision = 1.0 / variances
    return {
        "full": np.repeat(np.diag(precision)[None], n_components, axis=0),
        "tied": np.diag(precision),
        "diag": np.tile(precision, (n_components, 1)),
        "spherical": np.full(n_components, 1.0 / np.mean(variances)),
    }[storage(covariance_type)]
