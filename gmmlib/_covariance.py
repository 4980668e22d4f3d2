"""Per-covariance-type helpers: Cholesky factors of precisions, log-determinants, counts.

A Gaussian mixture stores one covariance per component, in one of four shapes:

=============  ===================  ============================================
type           shape                meaning
=============  ===================  ============================================
``full``       ``(K, d, d)``        each component has its own matrix
``tied``       ``(d, d)``           all components share one matrix
``diag``       ``(K, d)``           each component has a diagonal matrix
``spherical``  ``(K,)``             each component has :math:`\\sigma_k^2 I`
=============  ===================  ============================================

The E-step never inverts a covariance. It uses the *precision Cholesky factor*
:math:`U_k`, the upper-triangular matrix with :math:`\\Sigma_k^{-1} = U_k U_k^\\top`, so that
the squared Mahalanobis distance is :math:`\\lVert (x - \\mu_k) U_k \\rVert^2` and
:math:`\\log\\det \\Sigma_k^{-1} = 2 \\sum_j \\log (U_k)_{jj}`.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

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
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}; got {covariance_type!r}."
        )
    return covariance_type


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
    if covariance_type == "full":
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


def covariances_from_precisions_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances :math:`\\Sigma_k = U_k^{-\\top} U_k^{-1}` from precision Cholesky factors."""

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
    ``diag``: :math:`K d`; ``spherical``: :math:`K`.
    """
    k, d = n_components, n_features
    covariance_params = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[check_covariance_type(covariance_type)]
    return int(covariance_params + k * d + k - 1)


def expected_covariance_shape(
    covariance_type: str, n_components: int, n_features: int
) -> tuple[int, ...]:
    """The array shape of covariances (or precisions) for a covariance type."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[check_covariance_type(covariance_type)]


def covariance_matrices(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Every component's covariance written out as a full matrix, shape ``(K, d, d)``.

    ``tied`` repeats the shared matrix, ``diag`` puts each vector on a diagonal and
    ``spherical`` multiplies the identity by each variance.
    """
    covariances = np.asarray(covariances, dtype=float)
    covariance_type = check_covariance_type(covariance_type)
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

    Every component gets the same axis-aligned shape (``spherical``: the mean variance), a
    neutral start for ``precisions_init`` when only the data's spread is known.
    """
    precision = 1.0 / np.asarray(variances, dtype=float)
    return {
        "full": np.repeat(np.diag(precision)[None], n_components, axis=0),
        "tied": np.diag(precision),
        "diag": np.tile(precision, (n_components, 1)),
        "spherical": np.full(n_components, 1.0 / np.mean(variances)),
    }[check_covariance_type(covariance_type)]
