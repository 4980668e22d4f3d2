"""gmmlib.criteria: BIC, AIC, ICL and the entropy, from their definitions, and the sample size
BIC needs. (That the estimator, select_model and merging use them: their own tests.)"""

from __future__ import annotations

import numpy as np
import pytest

from gmmlib import criteria


def test_bic_and_aic_are_their_formulas():
    assert criteria.bic(-120.5, 7, 200) == pytest.approx(241.0 + 7 * np.log(200), rel=1e-15)
    assert criteria.aic(-120.5, 7) == pytest.approx(241.0 + 14, rel=1e-15)
    # frequency weights: N is their sum, which need not be a whole number
    assert criteria.bic(-3.0, 2, 2.5) == pytest.approx(6.0 + 2 * np.log(2.5), rel=1e-15)


@pytest.mark.parametrize("n_samples", [1, 0.5, 0, -3, np.nan])
def test_bic_needs_more_than_one_observation(n_samples):
    with pytest.raises(ValueError, match="number of observations N is .*w \\* len\\(w\\) / w.sum"):
        criteria.bic(-1.0, 2, n_samples)


def test_the_entropy_of_responsibilities():
    resp = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    by_row = [np.log(2), 0.0, -(0.2 * np.log(0.2) + 0.3 * np.log(0.3) + 0.5 * np.log(0.5))]
    assert criteria.entropy(resp) == pytest.approx(sum(by_row), rel=1e-15)  # 0 log 0 = 0
    weight = np.array([2.0, 5.0, 0.5])
    assert criteria.entropy(resp, weight) == pytest.approx(weight @ by_row, rel=1e-15)
    assert criteria.entropy(np.eye(4)) == 0.0  # hard assignments: no entropy


def test_icl_adds_twice_the_entropy_to_bic():
    assert criteria.icl(100.0, 3.5) == 107.0
    resp = np.array([[0.9, 0.1], [0.4, 0.6]])
    bic = criteria.bic(-50.0, 5, 2.0)
    assert criteria.icl(bic, criteria.entropy(resp)) >= bic
