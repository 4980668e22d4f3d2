"""Small helpers shared by several test files (fixtures live in conftest.py).

They are written from the definitions, independently of gmmlib's own code, so that a test
using them checks gmmlib against something else.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def covariance_matrices(
    covariances, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Every component's covariance written out as a full matrix, shape ``(K, d, d)``."""
    covariances = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.array([covariances] * n_components)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([c * np.eye(n_features) for c in covariances])


def model_covariance_matrices(model) -> np.ndarray:
    """A fitted mixture's covariances as ``(K, d, d)`` matrices."""
    return covariance_matrices(model.covariances_, model.covariance_type, *model.means_.shape)


def fit_quietly(model, X, sample_weight=None):
    """``model.fit(X, sample_weight=...)`` without the ConvergenceWarning of a short run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X) if sample_weight is None else model.fit(X, sample_weight=sample_weight)


def random_covariances(rng, n_components: int, n_features: int, covariance_type: str, ridge: float):
    """Covariances stored as ``covariance_type``, drawn from ``rng``: ``full``, K random
    matrices F F^T + ridge I; ``tied``, the first of them; ``diag``, their diagonals;
    ``spherical``, the diagonals' means."""
    factors = rng.normal(size=(n_components, n_features, n_features))
    full = factors @ np.swapaxes(factors, 1, 2) + ridge * np.eye(n_features)
    return {
        "full": full,
        "tied": full[0],
        "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
