"""gmmlib._covariance: the per-type tables and conversions, and DegenerateFitError."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import covariance_matrices

from gmmlib import _covariance as cov
from gmmlib._covariance import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib._covariance import n_parameters


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


def test_a_covariance_that_is_not_positive_definite_is_a_degenerate_fit():
    """Its own type, and a ValueError (so callers that catch bad input catch it too) that
    says what to do."""
    assert issubclass(cov.DegenerateFitError, ValueError)
    for covariances, covariance_type in [
        (np.stack([np.eye(2), np.zeros((2, 2))]), "full"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "tied"),
        (np.array([[1.0, 0.0]]), "diag"),
        (np.array([1.0, -1.0]), "spherical"),
    ]:
        with pytest.raises(cov.DegenerateFitError, match="Increase reg_covar"):
            cov.precisions_cholesky(covariances, covariance_type)


def test_an_unknown_covariance_type_is_named():
    message = r"covariance_type must be one of scikit-learn's \('full'.*EII.*got 'Full'"
    with pytest.raises(ValueError, match=message):
        cov.check_covariance_type("Full")
    assert cov.check_covariance_type("tied") == "tied"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_shapes_and_matrices_of_each_type(parameters, covariance_type):
    *_, shapes = parameters
    covariances = shapes[covariance_type]
    assert cov.expected_covariance_shape(covariance_type, 3, 3) == covariances.shape
    matrices = cov.covariance_matrices(covariances, covariance_type, 3, 3)
    np.testing.assert_array_equal(matrices, covariance_matrices(covariances, covariance_type, 3, 3))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_log_determinant_of_the_precision_factor(parameters, covariance_type):
    """log det U_k = -1/2 log det Sigma_k, from numpy's slogdet of the written-out matrices."""
    *_, shapes = parameters
    covariances = shapes[covariance_type]
    factor = cov.precisions_cholesky(covariances, covariance_type)
    log_det = cov.log_det_cholesky(factor, covariance_type, 3)
    _, expected = np.linalg.slogdet(covariance_matrices(covariances, covariance_type, 3, 3))
    if covariance_type == "tied":
        expected = expected[0]
    np.testing.assert_allclose(log_det, -0.5 * expected, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_precisions_of_variances_are_the_inverse_diagonal(covariance_type):
    variances = np.array([0.5, 2.0, 4.0])
    precisions = cov.precisions_of_variances(variances, covariance_type, 2)
    assert precisions.shape == cov.expected_covariance_shape(covariance_type, 2, 3)
    spherical = np.eye(3) / variances.mean()
    expected = spherical if covariance_type == "spherical" else np.diag(1 / variances)
    np.testing.assert_allclose(covariance_matrices(precisions, covariance_type, 2, 3)[1], expected)
