"""gmmlib._kernels: chunks of rows, the log-density kernels in their two forms, the
log-sum-exp floor; the chunking never changes an answer, whatever the number of threads."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture, _kernels, em
from gmmlib.datasets import gaussian_clusters


def precisions_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper-triangular U_k with U_k U_k^T = Sigma_k^-1 (``full``), from the definition: with
    J the exchange matrix, J chol(J Sigma^-1 J) J is upper triangular and has that product."""
    assert covariance_type == "full"
    flipped = np.linalg.inv(covariances)[:, ::-1, ::-1]
    return np.linalg.cholesky(flipped)[:, ::-1, ::-1]


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


def test_full_forms_agree_and_a_tight_far_component_is_whitened():
    """The exponential-family form (one product of features) and the whitened form give the
    same log-densities where both are accurate; a component that is tight compared with its
    distance from the centre is evaluated in the whitened form."""
    X = gaussian_clusters(2000, 5, 3, random_state=6)[0]
    resp = np.random.RandomState(7).dirichlet(np.ones(3), size=len(X))
    weights, means, covariances = em.m_step(X, resp, "full")
    chol = precisions_cholesky(covariances, "full")
    family = _kernels.prepare_components(X, weights, means, chol, "full", 1)
    assert family.family.size == 3
    whitened = _kernels.Components(weights, means, chol, "full", np.dtype(float), radius=None)
    assert whitened.whitened.size == 3
    np.testing.assert_allclose(family.log_prob(X)[0], whitened.log_prob(X)[0], rtol=1e-11)

    tight = covariances.copy()
    tight[0] = 1e-10 * np.eye(5)
    chol = precisions_cholesky(tight, "full")
    mixed = _kernels.prepare_components(X, weights, means, chol, "full", 1)
    assert list(mixed.whitened) == [0] and list(mixed.family) == [1, 2]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_fit_is_the_same_on_any_number_of_threads(covariance_type, monkeypatch):
    """Chunks depend on the data's shape only and are added in order: bit-for-bit equal."""
    monkeypatch.setattr(_kernels, "_CHUNK_NUMBERS", 2**12)  # small chunks: many per thread
    X = gaussian_clusters(20_000, 3, 4, random_state=8)[0]
    fits = []
    for n_jobs in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = GaussianMixture(
                4, covariance_type=covariance_type, max_iter=5, tol=0, random_state=0, n_jobs=n_jobs
            ).fit(X)
        fits.append(model)
    assert len(list(_kernels.chunks(len(X), 30))) > 10
    for other in fits[1:]:
        for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
            np.testing.assert_array_equal(getattr(other, name), getattr(fits[0], name))
        np.testing.assert_array_equal(other.score_samples(X), fits[0].score_samples(X))
