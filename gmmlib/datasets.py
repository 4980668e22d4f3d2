"""The book's small synthetic data sets, seeded so every chapter is reproducible.

Each function returns ``(X, y)``: the points ``X`` of shape ``(n_samples, 2)`` and the
index ``y`` of the group each point was drawn from (a reference for the reader; the
mixture models never see it).

=======================  =============================================================
:func:`blobs`            four round, well separated groups: where k-means does well
:func:`stretched_blobs`  the same groups under a random linear map: elongated, tilted
                         groups that k-means muddles and a full-covariance mixture fits
:func:`moons`            two interleaved half circles: no Gaussian shape at all, the case
                         for a mixture as a density estimator rather than a clusterer
=======================  =============================================================

:func:`gaussian_clusters` draws from a random Gaussian mixture in any dimension, for
benchmarks and tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from sklearn.datasets import make_blobs, make_moons

from ._validation import is_integer

__all__ = [
    "blobs",
    "gaussian_clusters",
    "moons",
    "stretched_blobs",
    "write_gaussian_clusters",
    "write_npy",
]


def _check_n_samples(n_samples: int) -> int:
    if not is_integer(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    return int(n_samples)


def blobs(
    n_samples: int = 400,
    *,
    centers: int = 4,
    cluster_std: float = 0.60,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Isotropic Gaussian blobs, with the two coordinates swapped.

    Each group is :math:`\mathcal N(c_j, \sigma^2 I_2)` with ``cluster_std`` :math:`=\sigma`;
    this is :func:`sklearn.datasets.make_blobs` with the columns swapped (``X[:, ::-1]``)
    so the groups spread across the width of a figure. With the defaults it is the data
    set of VanderPlas's *Python Data Science Handbook* chapter on Gaussian mixtures
    (400 points, 4 centres, :math:`\sigma = 0.6`, seed 0), where k-means and a mixture
    agree.

    Parameters
    ----------
    n_samples : int, default=400
        Number of points, shared out evenly between the groups.
    centers : int, default=4
        Number of groups.
    cluster_std : float, default=0.60
        Standard deviation :math:`\sigma` of every group along each axis.
    random_state : int or None, default=0
        Seed of the draw.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        Group of each point, in ``range(centers)``.
    """
    n_samples = _check_n_samples(n_samples)
    X, y = make_blobs(
        n_samples=n_samples, centers=centers, cluster_std=cluster_std, random_state=random_state
    )
    return X[:, ::-1], y


def stretched_blobs(
    n_samples: int = 400,
    *,
    stretch_seed: int = 13,
    centers: int = 4,
    cluster_std: float = 0.60,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r""":func:`blobs` mapped through a random :math:`2\times 2` matrix.

    With :math:`A` the draw ``np.random.RandomState(stretch_seed).randn(2, 2)``, every point
    becomes :math:`x A`, so every group becomes :math:`\mathcal N(A^\top c_j,\,
    \sigma^2 A^\top A)`: all groups share one tilted, elongated covariance. A full (or tied)
    covariance mixture recovers them; k-means, which only knows circles, does not.

    The defaults (400 points, ``stretch_seed=13``) are the *Python Data Science Handbook*
    example; the "Gaussian mixture models for clustering" blog post uses
    ``n_samples=1250, stretch_seed=15`` to choose the number of components with BIC and AIC.

    Parameters
    ----------
    n_samples : int, default=400
        Number of points.
    stretch_seed : int, default=13
        Seed of the random matrix :math:`A`.
    centers, cluster_std, random_state
        Passed to :func:`blobs`.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
    """
    X, y = blobs(n_samples, centers=centers, cluster_std=cluster_std, random_state=random_state)
    stretch = np.random.RandomState(stretch_seed).randn(2, 2)
    return X @ stretch, y


def moons(
    n_samples: int = 200,
    *,
    noise: float = 0.05,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles with Gaussian noise.

    :func:`sklearn.datasets.make_moons`; the defaults (200 points, noise 0.05, seed 0) are
    the *Python Data Science Handbook* example. Two components cannot follow the curves;
    many small ones can, which makes this the book's data set for a mixture used as a
    density estimator, for drawing new samples and for choosing the number of components
    (BIC prefers fewer than AIC here).

    Parameters
    ----------
    n_samples : int, default=200
        Number of points, split between the two moons.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added to each coordinate.
    random_state : int or None, default=0
        Seed of the draw.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        Moon of each point, 0 or 1.
    """
    n_samples = _check_n_samples(n_samples)
    return make_moons(n_samples=n_samples, noise=noise, random_state=random_state)


def gaussian_clusters(
    n_samples: int,
    n_features: int,
    n_components: int,
    *,
    separation: float = 4.0,
    condition: float | None = None,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Points from a random mixture of ``n_components`` anisotropic Gaussians.

    Centres are drawn from :math:`\mathcal N(0, s^2 I)` with :math:`s` = ``separation``;
    each cluster is :math:`\mu_k + A_k z` with :math:`z \sim \mathcal N(0, I)` and a random
    matrix :math:`A_k` (entries :math:`\mathcal N(0, 1/d)`), so clusters are tilted,
    stretched (some very thin: the condition numbers of their covariances reach
    :math:`10^5` and more) and, with the default :math:`s = 4`, overlap a little;
    :math:`s = 0.5` makes them overlap heavily. With ``condition`` :math:`c` instead, each
    :math:`A_k` is a random rotation times a diagonal of singular values spread evenly
    (in logarithm) over :math:`[c^{-1/4}, c^{1/4}]`, so that every covariance has
    condition number :math:`c`: tilted and stretched clusters, none of them thin. Labels
    are uniform. Used by the benchmarks and the tests.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    """
    n_samples = _check_n_samples(n_samples)
    _check_cluster_options(separation, condition)
    rng = np.random.RandomState(random_state)
    centres = rng.normal(scale=float(separation), size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_samples)
    shapes = _cluster_shapes(rng, n_components, n_features, condition)
    return _cluster_points(
        labels, rng.normal(size=(n_samples, n_features)), centres, shapes
    ), labels


def _check_cluster_options(separation: float, condition: float | None) -> None:
    if not (isinstance(separation, (int, float)) and np.isfinite(separation) and separation >= 0):
        raise ValueError(f"separation must be a non-negative number; got {separation!r}.")
    if condition is not None and not (
        isinstance(condition, (int, float)) and np.isfinite(condition) and condition >= 1
    ):
        raise ValueError(f"condition must be None or a number >= 1; got {condition!r}.")


def _cluster_shapes(
    rng: np.random.RandomState, n_components: int, n_features: int, condition: float | None
) -> np.ndarray:
    """The matrices :math:`A_k` of :func:`gaussian_clusters`, shape ``(K, d, d)``."""
    shapes = rng.normal(size=(n_components, n_features, n_features)) / np.sqrt(n_features)
    if condition is not None:
        rotations = np.linalg.qr(shapes)[0]
        spread = np.float64(condition) ** np.linspace(-0.25, 0.25, n_features)
        shapes = spread[None, :, None] * rotations  # x = z diag(s) Q: covariance Q^T diag(s^2) Q
    return shapes


def _cluster_points(
    labels: np.ndarray, noise: np.ndarray, centres: np.ndarray, shapes: np.ndarray
) -> np.ndarray:
    r""":math:`\mu_{y_i} + z_i A_{y_i}`, one component at a time: never an N x d x d array."""
    X = np.empty(noise.shape)
    for k in range(len(centres)):
        rows = labels == k
        X[rows] = centres[k] + np.einsum("nd,de->ne", noise[rows], shapes[k])
    return X


# ------------------------------------------------------------------- data larger than memory
def write_npy(
    path: str | os.PathLike,
    n_samples: int,
    n_features: int,
    make_rows: Callable[[int, int], np.ndarray],
    *,
    rows_per_write: int = 2**18,
) -> str:
    """Write an ``(n_samples, n_features)`` float64 ``.npy`` file a block of rows at a time.

    ``make_rows(start, stop)`` returns rows ``start:stop``; at most ``rows_per_write`` rows
    are in memory at once, so the file may be far larger than memory. Open it as a Dask
    array with :func:`gmmlib.dask.from_npy`.
    """
    path = os.fspath(path)
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float64)),
        "fortran_order": False,
        "shape": (n_samples, n_features),
    }
    # Plain writes, not a memory map: a map's dirty pages would count against this process.
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        for start in range(0, n_samples, rows_per_write):
            stop = min(start + rows_per_write, n_samples)
            rows = np.ascontiguousarray(make_rows(start, stop), dtype=np.float64)
            if rows.shape != (stop - start, n_features):
                raise ValueError(
                    f"make_rows({start}, {stop}) returned shape {rows.shape}; expected "
                    f"{(stop - start, n_features)}."
                )
            rows.tofile(file)
    return path


def write_gaussian_clusters(
    path: str | os.PathLike,
    n_samples: int,
    n_features: int,
    n_components: int,
    *,
    separation: float = 4.0,
    condition: float | None = None,
    random_state: int = 0,
    rows_per_write: int = 2**18,
) -> str:
    r"""A ``.npy`` file of points from a random mixture, written block by block.

    The mixture of :func:`gaussian_clusters` (the same options): its centres and shapes are
    drawn once; each block of ``rows_per_write`` rows draws its uniform labels and its
    points from a seed made of ``random_state`` and its first row, so memory holds one
    block and the file does not depend on anything else.
    """
    _check_n_samples(n_samples)
    _check_cluster_options(separation, condition)
    rng = np.random.RandomState(random_state)
    centres = rng.normal(scale=float(separation), size=(n_components, n_features))
    shapes = _cluster_shapes(rng, n_components, n_features, condition)

    def make_rows(start: int, stop: int) -> np.ndarray:
        block_rng = np.random.RandomState([random_state, start])
        labels = block_rng.randint(n_components, size=stop - start)
        noise = block_rng.normal(size=(stop - start, n_features))
        return _cluster_points(labels, noise, centres, shapes)

    return write_npy(path, n_samples, n_features, make_rows, rows_per_write=rows_per_write)
