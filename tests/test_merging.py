"""gmmlib.merging: components combined into clusters by the entropy of the responsibilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from gmmlib import GaussianMixture
from gmmlib.datasets import moons
from gmmlib.merging import entropy, merge_components


def test_the_pair_the_data_cannot_tell_apart_is_merged_first():
    # components 0 and 2 share their points half and half; component 1 is clear-cut
    resp = np.array([[0.5, 0.0, 0.5]] * 4 + [[0.0, 1.0, 0.0]] * 4)
    path = merge_components(resp)
    assert path.clusters(2) == [[0, 2], [1]]
    # by hand: each of the four shared rows loses its entropy log 2 when 0 and 2 merge
    assert path.entropy_decrease[0] == pytest.approx(4 * np.log(2))
    assert entropy(path.cluster_proba(2)) == pytest.approx(0.0)
    np.testing.assert_array_equal(path.labels(2), [0] * 4 + [1] * 4)


def test_every_merge_lowers_the_entropy_and_keeps_probabilities():
    rng = np.random.RandomState(0)
    resp = rng.dirichlet(np.ones(6), size=200)
    path = merge_components(resp)
    assert np.all(path.entropy_decrease >= 0)
    for n in range(6, 0, -1):
        proba = path.cluster_proba(n)
        assert proba.shape == (200, n)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert sorted(sum(path.clusters(n), [])) == list(range(6))
    entropies = [entropy(path.cluster_proba(n)) for n in range(6, 0, -1)]
    np.testing.assert_allclose(-np.diff(entropies), path.entropy_decrease, atol=1e-9)


def test_the_moons_components_merge_into_the_two_moons():
    X, moon = moons()
    model = GaussianMixture(6, random_state=0, n_init=5).fit(X)
    path = merge_components(model.predict_proba(X))
    assert adjusted_rand_score(moon, path.labels(2)) > 0.95


@pytest.mark.parametrize(
    ("resp", "message"),
    [
        (np.ones((3,)), "2-D array"),
        (np.array([[0.5, 0.6]]), "probabilities"),
        (np.array([[np.nan, 1.0]]), "probabilities"),
    ],
)
def test_bad_responsibilities_are_refused(resp, message):
    with pytest.raises(ValueError, match=message):
        merge_components(resp)


def test_a_number_of_clusters_out_of_range_is_refused():
    path = merge_components(np.eye(3))
    with pytest.raises(ValueError, match="n_clusters must be an integer from 1 to 3"):
        path.clusters(4)
