"""Tests for the plotting used by the first chapters (k-means limits, soft clustering, EM)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from sklearn.cluster import KMeans

from gmmlib import em, plotting
from gmmlib.datasets import stretched_blobs


@pytest.fixture(scope="module")
def X():
    return stretched_blobs()[0]


def _history(X, covariance_type, n_iter=15):
    labels = KMeans(3, n_init=1, random_state=2).fit_predict(X)
    resp = 0.6 * np.eye(3)[labels] + 0.4 / 3
    return em.em_history(X, *em.m_step(X, resp, covariance_type), covariance_type, n_iter=n_iter)


@pytest.mark.parametrize(
    ("made_with", "claimed"), [("full", "diag"), ("diag", "full"), ("spherical", "tied")]
)
def test_animate_em_names_a_wrong_covariance_type(X, made_with, claimed):
    history = _history(X, made_with)
    with pytest.raises(ValueError, match="covariance_type"):
        plotting.animate_em(X, history, claimed)


def test_animate_em_axes_stay_fixed_and_a_low_start_does_not_stretch_the_curve(X):
    history = list(_history(X, "full"))
    # a start far below the rest of the run
    history[0] = history[0]._replace(mean_log_likelihood=history[1].mean_log_likelihood - 1e3)
    anim = plotting.animate_em(X, history, "full", max_frames=5)
    data_ax, curve_ax = anim._fig.axes
    limits = data_ax.get_xlim(), data_ax.get_ylim()
    bottom, top = curve_ax.get_ylim()
    rest = [s.mean_log_likelihood for s in history[1:]]
    assert bottom > history[0].mean_log_likelihood
    assert bottom <= min(rest) and top >= max(rest)
    assert top - bottom < 2 * (max(rest) - min(rest)) + 1e-9
    assert any("iteration 0" in t.get_text() for t in curve_ax.texts)
    for frame in anim._iter_gen():
        anim._func(frame)
        assert (data_ax.get_xlim(), data_ax.get_ylim()) == limits
        assert curve_ax.get_ylim() == (bottom, top)


def test_animate_em_default_figure_is_large(X):
    anim = plotting.animate_em(X, _history(X, "full"), "full")
    width, height = anim._fig.get_size_inches()
    assert width >= 9 and height >= 4
