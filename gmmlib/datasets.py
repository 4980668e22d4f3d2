"""The book's small data sets: synthetic ones, seeded so every chapter is reproducible, and
a few small public real ones, loaded offline.

Each synthetic function returns ``(X, y)``: the points ``X`` of shape ``(n_samples, 2)`` and
the index ``y`` of the group each point was drawn from (a reference for the reader; the
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

The real data sets come with the package (Old Faithful, as a CSV file in ``gmmlib/data``)
or with scikit-learn (iris, wine, breast cancer), so no loader touches the network. Each
returns a :class:`RealData`: the measurements ``X`` (float64), the known classes ``y`` (or
``None``), the column names, the class names and a short description with the source.

=======================  =============================================================
:func:`old_faithful`     272 eruptions of the Old Faithful geyser: duration and waiting
                         time, two clear groups (mclust's classic example); no labels
:func:`iris`             Fisher's 150 irises, 4 measurements in cm, 3 species
:func:`wine`             178 Italian wines, 13 chemical measurements in very different
                         units, 3 cultivars
:func:`breast_cancer`    569 breast-mass images from Wisconsin, the first 10 (the mean)
                         of 30 nucleus features by default, benign or malignant
=======================  =============================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_blobs, make_moons

from ._validation import is_integer

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "RealData",
    "blobs",
    "breast_cancer",
    "gaussian_clusters",
    "iris",
    "moons",
    "old_faithful",
    "stretched_blobs",
    "wine",
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


# ------------------------------------------------------------------------- real data sets
class RealData(NamedTuple):
    """A real data set: what the loaders of :mod:`gmmlib.datasets` return.

    A named tuple, so ``X, y, feature_names, target_names, description = iris()`` works as
    well as ``iris().X``.
    """

    #: The measurements, float64, shape ``(n_samples, n_features)``.
    X: np.ndarray
    #: The known class of each row (int64, shape ``(n_samples,)``), or ``None`` when the data
    #: have none; a reference for the reader, never seen by a mixture.
    y: np.ndarray | None
    #: One name per column of ``X``.
    feature_names: tuple[str, ...]
    #: The name of each class (``target_names[y[i]]``), or ``None`` without classes.
    target_names: tuple[str, ...] | None
    #: What the data are, their source and their licence.
    description: str

    def to_frame(self) -> pd.DataFrame:
        """``X`` as a pandas DataFrame with the column names (and ``y`` left out)."""
        import pandas as pd

        return pd.DataFrame(self.X, columns=list(self.feature_names))


_OLD_FAITHFUL = """Old Faithful geyser, Yellowstone National Park, Wyoming, USA: 272 eruptions.
Columns: eruptions (eruption time, min), waiting (waiting time to the next eruption, min).
Source: R's datasets package (data set `faithful`, R 4.2.2), after W. Härdle (1991),
Smoothing Techniques with Implementation in S, Springer; see also A. Azzalini and A. W.
Bowman (1990), A look at some data on the Old Faithful geyser, Applied Statistics 39,
357-365, whose version is more complete (R: MASS::geyser). The eruption times are rounded
(multiples of 5 seconds are over-represented). Licence: shipped with R as part of R
(GPL-2 | GPL-3); the measurements are facts of nature, freely redistributed."""


def old_faithful() -> RealData:
    """The Old Faithful geyser data: 272 eruptions, duration and waiting time.

    R's ``faithful`` (``Rscript -e 'write.csv(faithful, row.names=FALSE)'``, R 4.2.2),
    stored in the package as ``gmmlib/data/old_faithful.csv``: column ``eruptions`` is the
    eruption time and ``waiting`` the waiting time to the next eruption, both in minutes.
    The points fall into two clear groups (short eruptions after short waits, long after
    long), which makes this the classic example of R's mclust.

    Source: R's datasets package, after Härdle (1991), *Smoothing Techniques with
    Implementation in S*, Springer; Azzalini & Bowman (1990), "A look at some data on the
    Old Faithful geyser", *Applied Statistics* 39, 357-365, use a more complete version.
    R documents the data set as "Part of R" (R is GPL-2 | GPL-3); the measurements
    themselves are facts, redistributed freely (they are also in Python's statsmodels and
    seaborn).

    Returns
    -------
    RealData
        ``X`` of shape (272, 2), ``y`` and ``target_names`` ``None``, ``feature_names``
        ``("eruptions", "waiting")``.
    """
    path = resources.files("gmmlib").joinpath("data/old_faithful.csv")
    with path.open("r", encoding="ascii") as file:
        header = file.readline().strip().replace('"', "").split(",")
        X = np.loadtxt(file, delimiter=",", dtype=np.float64, ndmin=2)
    return RealData(X, None, tuple(header), None, _OLD_FAITHFUL)


def _from_sklearn(bunch: object, columns: slice, description: str) -> RealData:
    data = np.asarray(bunch.data, dtype=np.float64)[:, columns]  # type: ignore[attr-defined]
    names = tuple(str(n) for n in bunch.feature_names)[columns]  # type: ignore[attr-defined]
    target = np.asarray(bunch.target, dtype=np.int64)  # type: ignore[attr-defined]
    classes = tuple(str(n) for n in bunch.target_names)  # type: ignore[attr-defined]
    return RealData(np.ascontiguousarray(data), target, names, classes, description)


def iris() -> RealData:
    """Fisher's iris data: 150 flowers, four measurements in cm, three species.

    :func:`sklearn.datasets.load_iris` (bundled with scikit-learn, no download): sepal
    length and width, petal length and width of 50 flowers of each of *Iris setosa*,
    *versicolor* and *virginica*. Setosa is separate; the other two overlap.

    Source: R. A. Fisher (1936), "The use of multiple measurements in taxonomic problems",
    *Annals of Eugenics* 7, 179-188 (measurements by E. Anderson); scikit-learn's copy is
    Fisher's (the same as R's ``iris``), not the UCI Machine Learning Repository's, which
    has two wrong values. Licence: UCI distributes the data under CC BY 4.0; scikit-learn
    ships its copy under its BSD-3-Clause licence.

    Returns
    -------
    RealData
        ``X`` of shape (150, 4), ``y`` in {0, 1, 2}, ``target_names``
        ``("setosa", "versicolor", "virginica")``.
    """
    description = (
        "Fisher's iris data (1936): 150 flowers, sepal and petal length and width in cm, "
        "50 of each of three species. From scikit-learn (sklearn.datasets.load_iris, "
        "Fisher's values, as R's iris). Licence: CC BY 4.0 (UCI); BSD-3-Clause in scikit-learn."
    )
    return _from_sklearn(load_iris(), slice(None), description)


def wine() -> RealData:
    """The wine recognition data: 178 wines, 13 chemical measurements, three cultivars.

    :func:`sklearn.datasets.load_wine` (bundled with scikit-learn, no download): the
    results of a chemical analysis of wines grown in one region of Italy from three
    cultivars (59, 71 and 48 wines). The columns have very different units and scales
    (proline is in the hundreds to thousands, hue below 2), which is what makes it a test
    of a method's indifference to units.

    Source: M. Forina et al., PARVUS, Institute of Pharmaceutical and Food Analysis and
    Technologies, Genoa; the UCI Machine Learning Repository's "Wine" data set. Licence:
    UCI distributes it under CC BY 4.0; scikit-learn ships its copy under its BSD-3-Clause
    licence.

    Returns
    -------
    RealData
        ``X`` of shape (178, 13), ``y`` in {0, 1, 2}, ``target_names``
        ``("class_0", "class_1", "class_2")``.
    """
    description = (
        "Wine recognition data: 178 Italian wines from three cultivars, 13 chemical "
        "measurements (Forina et al., PARVUS; UCI Machine Learning Repository). From "
        "scikit-learn (sklearn.datasets.load_wine). Licence: CC BY 4.0 (UCI); BSD-3-Clause "
        "in scikit-learn."
    )
    return _from_sklearn(load_wine(), slice(None), description)


def breast_cancer(n_features: int = 10) -> RealData:
    """The Wisconsin diagnostic breast-cancer data: 569 images of breast masses.

    :func:`sklearn.datasets.load_breast_cancer` (bundled with scikit-learn, no download):
    ten features of the cell nuclei in a digitised image of a fine-needle aspirate
    (radius, texture, perimeter, area, smoothness, compactness, concavity, concave points,
    symmetry, fractal dimension), each as the mean over the nuclei, its standard error and
    the "worst" value: 30 columns in that order. The default keeps the first
    ``n_features=10``, the means. The diagnosis is malignant (212) or benign (357).

    Source: W. H. Wolberg, W. N. Street and O. L. Mangasarian (1995), University of
    Wisconsin; Street, Wolberg & Mangasarian (1993), "Nuclear feature extraction for breast
    tumor diagnosis", *Proc. SPIE* 1905, 861-870; the UCI Machine Learning Repository's
    "Breast Cancer Wisconsin (Diagnostic)" data set. Licence: UCI distributes it under
    CC BY 4.0; scikit-learn ships its copy under its BSD-3-Clause licence.

    Parameters
    ----------
    n_features : int, default=10
        How many of the 30 columns to keep, from the first (1 to 30).

    Returns
    -------
    RealData
        ``X`` of shape (569, n_features), ``y`` 0 (malignant) or 1 (benign),
        ``target_names`` ``("malignant", "benign")``.
    """
    if not is_integer(n_features) or not 1 <= n_features <= 30:
        raise ValueError(f"n_features must be an integer from 1 to 30; got {n_features!r}.")
    description = (
        "Breast Cancer Wisconsin (Diagnostic): 569 fine-needle aspirates, features of the "
        f"cell nuclei (the first {int(n_features)} of 30 columns: mean, standard error, worst "
        "of ten measurements), malignant or benign (Wolberg, Street & Mangasarian, 1995; UCI "
        "Machine Learning Repository). From scikit-learn (load_breast_cancer). Licence: "
        "CC BY 4.0 (UCI); BSD-3-Clause in scikit-learn."
    )
    return _from_sklearn(load_breast_cancer(), slice(0, int(n_features)), description)
