"""Shared fixtures: small seeded data sets and the covariance types."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test leaves no figure open (plotting tests draw many)."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def blobs() -> np.ndarray:
    """300 points in 3-D around three well-separated, anisotropic centres."""
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [-3.0, 7.0, 4.0]])
    shapes = rng.normal(size=(3, 3, 3)) * 0.7
    labels = np.repeat(np.arange(3), 100)
    return centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(300, 3)), shapes[labels])
