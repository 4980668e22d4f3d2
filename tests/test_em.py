"""The E- and M-steps compute the textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmmlib import _kernels, em
from gmmlib._covariance import COVARIANCE_TYPES, n_parameters


def full_matrices(covariances: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """Every covariance type written out as K full matrices."""
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.array([covariances] * k)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([c * np.eye(d) for c in covariances])


@pytest.fixture
def parameters():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(40, 3)) * [1.0, 2.0, 0.5] + 3.0
    weights = np.array([0.2, 0.5, 0.3])
    means = rng.normal(size=(3, 3)) + 3.0
    factors = rng.normal(size=(3, 3, 3))
    full = factors @ np.swapaxes(factors, 1, 2) + 0.5 * np.eye(3)
    shapes = {
        "full": full,
        "tied": full[1],
        "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": np.array([0.7, 1.3, 2.0]),
    }
    return X, weights, means, shapes


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_e_step_is_bayes_rule_with_scipy_densities(parameters, covariance_type):
    X, weights, means, shapes = parameters
    covariances = shapes[covariance_type]
    matrices = full_matrices(covariances, covariance_type, 3, 3)
    joint = np.column_stack(
        [w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, matrices)]
    )
    log_resp, mean_ll = em.e_step(X, weights, means, covariances, covariance_type)
    np.testing.assert_allclose(
        np.exp(log_resp), joint / joint.sum(axis=1, keepdims=True), rtol=1e-10
    )
    np.testing.assert_allclose(mean_ll, np.log(joint.sum(axis=1)).mean(), rtol=1e-12)
    np.testing.assert_allclose(
        em.log_likelihood(X, weights, means, covariances, covariance_type),
        np.log(joint.sum(axis=1)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_is_the_weighted_maximum_likelihood_estimate(parameters, covariance_type):
    X, *_ = parameters
    resp = np.random.RandomState(0).dirichlet(np.ones(3), size=len(X))
    weights, means, covariances = em.m_step(X, resp, covariance_type, reg_covar=0.0)
    nk = resp.sum(axis=0)
    np.testing.assert_allclose(weights, nk / len(X))
    np.testing.assert_allclose(means, resp.T @ X / nk[:, None])
    scatter = np.array([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(3)])
    expected = {
        "full": scatter / nk[:, None, None],
        "tied": scatter.sum(axis=0) / len(X),
        "diag": np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None],
        "spherical": np.trace(scatter, axis1=1, axis2=2) / (3 * nk),
    }[covariance_type]
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_reg_covar_is_added_to_the_diagonal(parameters, covariance_type):
    X, *_ = parameters
    resp = np.random.RandomState(1).dirichlet(np.ones(3), size=len(X))
    _, _, plain = em.m_step(X, resp, covariance_type, reg_covar=0.0)
    _, _, regularised = em.m_step(X, resp, covariance_type, reg_covar=0.25)
    difference = full_matrices(regularised - plain, covariance_type, 3, 3)
    np.testing.assert_allclose(difference, np.array([0.25 * np.eye(3)] * 3), atol=1e-12)


@pytest.mark.parametrize(
    "n_samples, largest, count",
    [
        (0, 8192, 0),
        (100, 8192, 1),
        (10_000, 8192, 2),
        (20_000, 8192, 4),
        (100_000, 8192, 16),
        (100_000, 32768, 4),
        (1_000_000, 8192, 128),
        (8193, 8192, 2),
        (40_000, 8192, 8),
    ],
)
def test_chunks_are_equal_and_balanced(n_samples, largest, count, monkeypatch):
    """Chunks of at most the budget's rows, equal to within a row, counted in multiples
    of 8, 4 or 2 where that keeps them at least half full; together every row once."""
    monkeypatch.setattr(_kernels, "_rows_per_chunk", lambda numbers_per_row, itemsize=8: largest)
    chunks = list(_kernels.chunks(n_samples, 10))
    assert len(chunks) == count
    sizes = [c.stop - c.start for c in chunks]
    assert sum(sizes) == n_samples and all(size <= largest for size in sizes)
    assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:]))
    assert not sizes or max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunking_does_not_change_the_answer(parameters, covariance_type, monkeypatch):
    X, weights, means, shapes = parameters
    X = np.vstack([X] * 30)  # 1200 rows: several chunks of 256 once the budget is tiny
    resp = np.random.RandomState(2).dirichlet(np.ones(3), size=len(X))
    whole_e = em.e_step(X, weights, means, shapes[covariance_type], covariance_type)
    whole_m = em.m_step(X, resp, covariance_type)
    monkeypatch.setattr(_kernels, "_CHUNK_NUMBERS", 1)
    assert len(list(_kernels.chunks(len(X), 3))) == 8  # 5 of at most 256 rows, balanced to 8
    chunked_e = em.e_step(X, weights, means, shapes[covariance_type], covariance_type)
    chunked_m = em.m_step(X, resp, covariance_type)
    np.testing.assert_allclose(chunked_e[0], whole_e[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chunked_e[1], whole_e[1], rtol=1e-12)
    for chunked, whole in zip(chunked_m, whole_m):
        np.testing.assert_allclose(chunked, whole, rtol=1e-10)


def test_em_history_starts_at_the_start_and_climbs(parameters):
    X, weights, means, shapes = parameters
    path = em.em_history(X, weights, means, shapes["full"], "full", n_iter=8)
    assert len(path) == 9
    np.testing.assert_array_equal(path[0].means, means)
    lls = [state.mean_log_likelihood for state in path]
    assert all(b >= a - 1e-12 for a, b in zip(lls, lls[1:]))
    with pytest.raises(ValueError, match="n_iter must be a non-negative integer"):
        em.em_history(X, weights, means, shapes["full"], "full", n_iter=-1)


def test_a_singular_covariance_gives_a_value_error_not_linalg_error(parameters):
    X, weights, means, _ = parameters
    singular = np.zeros((3, 3, 3))
    with pytest.raises(ValueError, match="Increase reg_covar"):
        em.e_step(X, weights, means, singular, "full")


@pytest.mark.parametrize(
    ("covariance_type", "expected"),
    [("full", 3 * 6 + 9 + 2), ("tied", 6 + 9 + 2), ("diag", 9 + 9 + 2), ("spherical", 3 + 9 + 2)],
)
def test_parameter_counts(covariance_type, expected):
    assert n_parameters(3, 3, covariance_type) == expected


def test_the_log_sum_exp_floor_keeps_subnormals_out_and_sums_exact():
    """Terms more than 600 below a row's maximum are raised to that floor: the
    responsibilities then hold e^-600 ~ 1e-261 instead of subnormal numbers (which slow
    matrix products ~50-fold), and no sum changes in float64."""
    from gmmlib._kernels import _LOG_FLOOR
    from gmmlib._kernels import normalise_columns as _normalise_columns

    block = np.array([[0.0, -1000.0, -5.0], [-3.0, -3.0, -800.0]])
    exact = np.log(np.exp(block - block.max(axis=1, keepdims=True)).sum(axis=1)) + block.max(axis=1)
    resp = np.empty_like(block)
    # _normalise_columns works component by component: (K, rows), so the transposes
    log_norm = _normalise_columns(block.T.copy(), np.log(np.full(3, 1 / 3)), resp=resp.T)
    np.testing.assert_allclose(log_norm, exact, rtol=0, atol=1e-15)
    tiny = resp[resp < 1e-100]
    assert tiny.size == 2 and np.all(tiny >= np.exp(_LOG_FLOOR) / 2)  # floored, not subnormal
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-15)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_covariances_and_precision_factors_round_trip(parameters, covariance_type):
    """Sigma = (U U^T)^-1 for the factor U of Sigma^-1, from either direction."""
    from gmmlib import _covariance as cov

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


@pytest.mark.parametrize("n_rows", [0, 1, 15, 16, 33, 6250])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_deviations_and_squares(n_rows, order, dtype):
    """Rows taken 16 at a time and the rest one by one: exactly x - c and (x - c)^2."""
    X = np.asarray(
        np.random.RandomState(n_rows).normal(size=(n_rows, 3)) + 100, dtype=dtype, order=order
    )
    centre = np.array([100.5, 99.0, 101.25])
    deviations, squares = _kernels.deviations_and_squares(X, centre)
    expected = X - centre.astype(dtype)
    np.testing.assert_array_equal(deviations, expected)
    np.testing.assert_array_equal(squares, expected * expected)
    assert deviations.dtype == squares.dtype == dtype
