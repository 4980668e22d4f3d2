"""Shared fixtures, and the one hypothesis profile every property test runs under.

The profile: ``HYPOTHESIS_EXAMPLES`` examples per test (25 unless set), no deadline (a
shared machine makes timings meaningless). A test that needs another number says so with
its own ``@settings(max_examples=...)`` and the reason.
"""

from __future__ import annotations

import os
import sys

import matplotlib
import numpy as np
import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")  # before any test imports pyplot: no window, the same pictures anywhere

settings.register_profile(
    "gmmlib", max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 25)), deadline=None
)
settings.load_profile("gmmlib")


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test leaves no figure open (plotting tests draw many)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


@pytest.fixture(scope="module")
def one_thread():
    """Every thread pool on one thread for a module's tests (``pytestmark =
    pytest.mark.usefixtures("one_thread")``): small fits run faster so, and much faster on a
    busy machine."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def blobs() -> np.ndarray:
    """300 points in 3-D around three well-separated, anisotropic centres."""
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [-3.0, 7.0, 4.0]])
    shapes = rng.normal(size=(3, 3, 3)) * 0.7
    labels = np.repeat(np.arange(3), 100)
    return centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(300, 3)), shapes[labels])


@pytest.fixture
def X() -> np.ndarray:
    """50 standard normal points in the plane."""
    return np.random.RandomState(0).normal(size=(50, 2))


@pytest.fixture
def parameters():
    """40 points in 3-D, and mixture parameters of three components for every covariance
    type: ``(X, weights, means, {covariance_type: covariances})``."""
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
