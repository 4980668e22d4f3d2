"""gmmlib._covariance: the per-type tables and conversions, and DegenerateFitError."""

from __future__ import annotations

import numpy as np
import pytest

from gmmlib import _covariance as cov
from gmmlib._covariance import COVARIANCE_TYPES, n_parameters


@pytest.mark.parametrize(
    ("covariance_type", "expected"),
    [("full", 3 * 6 + 9 + 2), ("tied", 6 + 9 + 2), ("diag", 9 + 9 + 2), ("spherical", 3 + 9 + 2)],
)
def test_parameter_counts(covariance_type, expected):
    assert n_parameters(3, 3, covariance_type) == expected


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_covariances_and_precision_factors_round_trip(parameters, covariance_type):
    """Sigma = (U U^T)^-1 for the factor U of Sigma^-1, from either direction."""
    *_, shapes = parameters
    covariances = shapes[covariance_type]
    factor = cov.precisions_cholesky(covariances, covariance_type)
    np.testing.assert_allclose(
        cov.covariances_from_precisions_cholesky(factor, covariance_type), covariances, rtol=1e-12
    )
    precisions = cov.precisions_from_cholesky(factor, covariance_type)
    again = cov.precisions_cholesky_from_precisions(precisions, covariance_type)
    np.testing.assert_allclose(
        cov.covariances_from_precisions_cholesky(again, covariance_type), covariances, rtol=1e-12
    )
