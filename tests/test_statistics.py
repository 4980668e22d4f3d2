"""gmmlib.statistics: the sufficient statistics every EM path uses, how they add up, about
which points, with weights, in float32."""

from __future__ import annotations

import numpy as np
import pytest

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import em, statistics
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
    stats = statistics.sufficient_statistics(X, *params, covariance_type)
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
    whole = statistics.sufficient_statistics(X, *params, covariance_type)
    parts = [
        statistics.sufficient_statistics(rows, *params, covariance_type)
        for rows in np.split(X, [1, 900])
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
    default = statistics.sufficient_statistics(X, *params, covariance_type)
    elsewhere = params[1] + np.random.RandomState(2).normal(size=params[1].shape)
    moved = statistics.sufficient_statistics(X, *params, covariance_type, about=elsewhere)
    np.testing.assert_array_equal(moved.about, elsewhere)
    assert_same_parameters(
        em.m_step_from_statistics(moved), em.m_step_from_statistics(default), 1e-10
    )


def test_statistics_about_different_points_do_not_add(data):
    X, resp = data
    params = start(X, resp, "diag")
    a = statistics.sufficient_statistics(X[:10], *params, "diag")
    b = statistics.sufficient_statistics(X[10:], *params, "diag", about=params[1])
    with pytest.raises(ValueError, match="same points add up"):
        a + b


def test_sample_weights_multiply_the_responsibilities(data):
    X, resp = data
    params = start(X, resp, "full")
    weight = np.random.RandomState(3).randint(0, 4, size=len(X)).astype(float)
    weighted = statistics.sufficient_statistics(X, *params, "full", sample_weight=weight)
    repeated = statistics.sufficient_statistics(
        np.repeat(X, weight.astype(int), axis=0), *params, "full"
    )
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
    stats = statistics.sufficient_statistics(X, weights, means, covariances, covariance_type)
    assert stats.counts[0] == pytest.approx(200.0)
    if covariance_type != "tied":  # tied pools the broad second cluster's spread
        assert statistics.needs_recentring(stats)
    recentred = statistics.sufficient_statistics(
        X, weights, means, covariances, covariance_type, about=stats.weighted_means
    )
    assert not statistics.needs_recentring(recentred)
    log_resp, _ = em.e_step(X, weights, means, covariances, covariance_type)
    exact = em.m_step(X, np.exp(log_resp), covariance_type)
    assert_same_parameters(em.m_step_from_statistics(recentred), exact, 1e-9)
    path = em.em_history(X, weights, means, covariances, covariance_type, n_iter=3)
    assert_same_parameters(path[1][:3], exact, 1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_is_computed_in_float32_and_keeps_float32(covariance_type):
    X = blobs(2000, random_state=3)[0]
    log_resp, _ = em.e_step(
        X.astype(np.float32),
        *em.m_step(X, np.full((len(X), 2), 0.5), covariance_type),
        covariance_type,
    )
    assert log_resp.dtype == np.float32
    stats = statistics.sufficient_statistics(
        X.astype(np.float32),
        *em.m_step(X, np.full((len(X), 2), 0.5), covariance_type),
        covariance_type,
    )
    assert stats.dtype == "float32" and stats.scatters.dtype == np.float64


def test_blocks_far_apart_use_the_same_forms_with_one_ball():
    """A tight component, one block near the centre and one far out: with the data's ball
    both blocks use the same reference points, so their statistics add up to the whole."""
    rng = np.random.RandomState(9)
    X = np.vstack([rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) * 0.05 + 40.0])
    resp = np.zeros((600, 2))
    resp[:300, 0] = resp[300:, 1] = 1.0
    params = em.m_step(X, resp, "full")
    ball = statistics.bounding_ball(X)
    near, far = (
        statistics.sufficient_statistics(rows, *params, "full", ball=ball)
        for rows in (X[:300], X[300:])
    )
    np.testing.assert_array_equal(near.about, far.about)
    whole = statistics.sufficient_statistics(X, *params, "full")
    assert_same_parameters(em.m_step_from_statistics(near + far), em.m_step_from_statistics(whole))
