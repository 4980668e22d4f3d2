"""EM over sufficient statistics: the pair of functions every path uses, threads, float32."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gmmlib import GaussianMixture, _kernels, em
from gmmlib._covariance import COVARIANCE_TYPES, precisions_cholesky, precisions_of_variances
from gmmlib._parallel import effective_n_jobs
from gmmlib.datasets import blobs, gaussian_clusters


@pytest.fixture(scope="module")
def data():
    X = gaussian_clusters(3000, 4, 3, random_state=5)[0] * 2.0 + 7.0
    resp = np.random.RandomState(1).dirichlet(np.ones(3), size=len(X))
    return X, resp


def start(X, resp, covariance_type):
    return em.m_step(X, resp, covariance_type)


def assert_same_parameters(ours, theirs, rtol=1e-11):
    for got, want in zip(ours, theirs):
        scale = np.max(np.abs(want))
        assert np.max(np.abs(np.asarray(got) - want)) <= rtol * scale


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_statistics_pair_is_one_em_iteration(data, covariance_type):
    """m_step_from_statistics(sufficient_statistics(...)) is e_step then m_step."""
    X, resp = data
    params = start(X, resp, covariance_type)
    stats = em.sufficient_statistics(X, *params, covariance_type)
    log_resp, mean_ll = em.e_step(X, *params, covariance_type)
    assert stats.log_likelihood / stats.total_weight == pytest.approx(mean_ll, rel=1e-13)
    assert stats.total_weight == len(X)
    assert_same_parameters(
        em.m_step_from_statistics(stats), em.m_step(X, np.exp(log_resp), covariance_type)
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_of_disjoint_rows_add_up(data, covariance_type):
    X, resp = data
    params = start(X, resp, covariance_type)
    whole = em.sufficient_statistics(X, *params, covariance_type)
    parts = [
        em.sufficient_statistics(rows, *params, covariance_type) for rows in np.split(X, [1, 900])
    ]
    summed = parts[0] + parts[1] + parts[2]
    for name in ("counts", "sums", "scatters"):
        np.testing.assert_allclose(
            getattr(summed, name), getattr(whole, name), rtol=1e-11, atol=1e-9
        )
    assert summed.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert_same_parameters(em.m_step_from_statistics(summed), em.m_step_from_statistics(whole))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_reference_points_do_not_change_the_m_step(data, covariance_type):
    """About the centre, the current means or any other points: the same parameters."""
    X, resp = data
    params = start(X, resp, covariance_type)
    default = em.sufficient_statistics(X, *params, covariance_type)
    elsewhere = params[1] + np.random.RandomState(2).normal(size=params[1].shape)
    moved = em.sufficient_statistics(X, *params, covariance_type, about=elsewhere)
    np.testing.assert_array_equal(moved.about, elsewhere)
    assert_same_parameters(
        em.m_step_from_statistics(moved), em.m_step_from_statistics(default), 1e-10
    )


def test_statistics_about_different_points_do_not_add(data):
    X, resp = data
    params = start(X, resp, "diag")
    a = em.sufficient_statistics(X[:10], *params, "diag")
    b = em.sufficient_statistics(X[10:], *params, "diag", about=params[1])
    with pytest.raises(ValueError, match="same points add up"):
        a + b


def test_sample_weights_multiply_the_responsibilities(data):
    X, resp = data
    params = start(X, resp, "full")
    weight = np.random.RandomState(3).randint(0, 4, size=len(X)).astype(float)
    weighted = em.sufficient_statistics(X, *params, "full", sample_weight=weight)
    repeated = em.sufficient_statistics(np.repeat(X, weight.astype(int), axis=0), *params, "full")
    assert weighted.total_weight == repeated.total_weight == weight.sum()
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, rel=1e-12)
    assert_same_parameters(em.m_step_from_statistics(weighted), em.m_step_from_statistics(repeated))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_far_start_is_gathered_again_about_the_new_means(covariance_type):
    """A broad component whose mean starts 3 away from a cluster 1e-3 wide: about its old
    mean, the subtraction Q - N (shift)^2 would keep few digits of the new, tiny covariance,
    so needs_recentring asks for a second pass about the new means, and em_history still
    follows e_step and m_step."""
    rng = np.random.RandomState(4)
    X = np.vstack([rng.normal(size=(200, 2)) * 1e-3 + 50.0, rng.normal(size=(200, 2))])
    weights = np.array([0.5, 0.5])
    means = np.array([[53.0, 48.0], [0.0, 0.0]])
    covariances = {
        "full": np.stack([10.0 * np.eye(2), np.eye(2)]),
        "tied": 10.0 * np.eye(2),
        "diag": np.array([[10.0, 10.0], [1.0, 1.0]]),
        "spherical": np.array([10.0, 1.0]),
    }[covariance_type]
    stats = em.sufficient_statistics(X, weights, means, covariances, covariance_type)
    assert stats.counts[0] == pytest.approx(200.0)
    if covariance_type != "tied":  # tied pools the broad second cluster's spread
        assert em.needs_recentring(stats)
    recentred = em.sufficient_statistics(
        X, weights, means, covariances, covariance_type, about=stats.weighted_means
    )
    assert not em.needs_recentring(recentred)
    log_resp, _ = em.e_step(X, weights, means, covariances, covariance_type)
    exact = em.m_step(X, np.exp(log_resp), covariance_type)
    assert_same_parameters(em.m_step_from_statistics(recentred), exact, 1e-9)
    path = em.em_history(X, weights, means, covariances, covariance_type, n_iter=3)
    assert_same_parameters(path[1][:3], exact, 1e-9)


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


def test_n_jobs_default_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert effective_n_jobs(None) == 3
    assert effective_n_jobs(5) == 5
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert effective_n_jobs(None) == effective_n_jobs(-1) >= 1
    assert effective_n_jobs(-1000) == 1


@pytest.mark.parametrize("n_jobs", [0, 1.5, "two", True])
def test_bad_n_jobs_is_refused(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        GaussianMixture(2, n_jobs=n_jobs).fit(np.random.RandomState(0).normal(size=(20, 2)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_is_computed_in_float32_and_keeps_float32(covariance_type):
    X = blobs(2000, random_state=3)[0]
    log_resp, _ = em.e_step(
        X.astype(np.float32),
        *em.m_step(X, np.full((len(X), 2), 0.5), covariance_type),
        covariance_type,
    )
    assert log_resp.dtype == np.float32
    stats = em.sufficient_statistics(
        X.astype(np.float32),
        *em.m_step(X, np.full((len(X), 2), 0.5), covariance_type),
        covariance_type,
    )
    assert stats.dtype == "float32" and stats.scatters.dtype == np.float64


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_reaches_the_float64_log_likelihood_on_well_conditioned_data(covariance_type):
    """The issue's bar: within 1e-5 relative of the float64 fit from the same start."""
    X = blobs(5000, random_state=4)[0]
    start = {
        "weights_init": np.full(4, 0.25),
        "means_init": X[[0, 1000, 2000, 3000]],
        "precisions_init": precisions_of_variances(X.var(axis=0), covariance_type, 4),
    }
    fits = {}
    for dtype in (np.float64, np.float32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[dtype] = GaussianMixture(
                4, covariance_type=covariance_type, max_iter=50, tol=0, **start
            ).fit(X.astype(dtype))
    assert fits[np.float32].means_.dtype == np.float32
    single, double = fits[np.float32].lower_bound_, fits[np.float64].lower_bound_
    assert abs(single - double) <= 1e-5 * abs(double)


def test_blocks_far_apart_use_the_same_forms_with_one_ball():
    """A tight component, one block near the centre and one far out: with the data's ball
    both blocks use the same reference points, so their statistics add up to the whole."""
    rng = np.random.RandomState(9)
    X = np.vstack([rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) * 0.05 + 40.0])
    resp = np.zeros((600, 2))
    resp[:300, 0] = resp[300:, 1] = 1.0
    params = em.m_step(X, resp, "full")
    ball = em.bounding_ball(X)
    near, far = (
        em.sufficient_statistics(rows, *params, "full", ball=ball) for rows in (X[:300], X[300:])
    )
    np.testing.assert_array_equal(near.about, far.about)
    whole = em.sufficient_statistics(X, *params, "full")
    assert_same_parameters(em.m_step_from_statistics(near + far), em.m_step_from_statistics(whole))
