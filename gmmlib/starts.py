r"""Starting partitions that do not depend on the data's units.

EM climbs to the nearest local maximum of the likelihood, so the start decides which
maximum a fit reaches. A start computed on the raw columns lets the column with the largest
numbers decide it: k-means' squared distances add up millimetres and kilometres as if they
were the same. Every start here is computed on the **whitened** data instead,

.. math::

    z_i = \Lambda^{-1/2} V^\top (x_i - \bar x), \qquad S = V \Lambda V^\top,

with :math:`\bar x` and :math:`S` the (weighted) mean and covariance of the rows that count
(directions along which the data have no spread, :math:`\lambda < 10^{-12}\lambda_{\max}`,
are dropped). For any invertible :math:`A` and shift :math:`b`, the rows
:math:`x_i A + b` whiten to :math:`z_i Q` with :math:`Q` orthogonal, and k-means
and Ward's linkage depend on the rows only through their distances, which
:math:`Q` keeps. So the partition (hence the first M-step and the fit) of rescaled or
linearly transformed data is the transformed partition of the original data: what mclust
achieves by clustering the SVD-scaled data (Scrucca et al., 2016).

:func:`kmeans_partition` is :class:`gmmlib.GaussianMixture`'s
``init_params="whitened-kmeans"`` (scikit-learn's ``"kmeans"``, the default, clusters the
raw columns); :func:`hierarchical_partitions` is its ``init_params="hc"``: one tree for
every number of components, so that the starts of consecutive sizes are nested, as
mclust's are.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
from scipy.cluster.hierarchy import linkage
from sklearn.cluster import KMeans

__all__ = [
    "HC_MAX_ROWS",
    "hierarchical_partitions",
    "kmeans_partition",
    "whiten",
]

#: Ward's linkage costs :math:`O(n^2)` memory and time: above this many rows the tree is
#: built on a uniform sample of this size (mclust's ``hcUse`` subsets too), and the other
#: rows take no part in the first M-step.
HC_MAX_ROWS = 2000

#: Relative variance below which a direction of the data is dropped when whitening.
FLAT_RTOL = 1e-12


def whiten(X: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    r"""The rows of ``X`` in whitened coordinates, :math:`z_i = \Lambda^{-1/2}V^\top(x_i -
    \bar x)`, computed in float64 and returned in ``X``'s float type.

    :math:`\bar x` and :math:`S = V\Lambda V^\top` are the mean and covariance of ``X``
    weighted by ``sample_weight`` (all rows are assumed to count). Each column is first
    divided by its standard deviation and :math:`V, \Lambda` are taken from the correlation
    matrix (the same :math:`z` up to a rotation, without the ill-conditioning of columns in
    very different units); constant columns and directions with
    :math:`\lambda \le 10^{-12}\lambda_{\max}` are dropped, so ``z`` may have fewer columns
    than ``X`` (a single column of zeros when every row is the same point).
    """
    data = np.asarray(X, dtype=np.float64)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    centred = data - np.average(data, axis=0, weights=weight)
    # each column to unit variance first, so that columns in very different units do not
    # make the covariance ill-conditioned; then the correlation's eigenvectors
    scale = np.sqrt(np.average(centred**2, axis=0, weights=weight))
    spread = scale > 64 * np.finfo(np.float64).eps * np.max(np.abs(data), axis=0)
    if not spread.any():
        return np.zeros((len(data), 1), dtype=X.dtype)
    centred = centred[:, spread] / scale[spread]
    if weight is None:
        correlation = centred.T @ centred / len(data)
    else:
        correlation = (centred * (weight / weight.sum())[:, None]).T @ centred
    values, vectors = np.linalg.eigh((correlation + correlation.T) / 2)
    keep = values > FLAT_RTOL * float(values[-1])
    return (centred @ (vectors[:, keep] / np.sqrt(values[keep]))).astype(X.dtype, copy=False)


def kmeans_partition(
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """k-means labels (one Lloyd run from k-means++ seeds, scikit-learn's ``KMeans``) of the
    whitened rows (:func:`whiten`), weighted by ``sample_weight``."""
    Z = whiten(X, sample_weight)
    kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
    return kmeans.fit(Z, sample_weight=sample_weight).labels_


def _cut(merges: np.ndarray, n_rows: int, n_clusters: int) -> np.ndarray:
    """Labels ``0..n_clusters-1`` of the tree ``merges`` (scipy's linkage) cut after its first
    ``n_rows - n_clusters`` merges, numbered in the order of each cluster's first row."""
    parent = np.arange(2 * n_rows - 1)

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for step in range(n_rows - n_clusters):
        left, right = int(merges[step, 0]), int(merges[step, 1])
        parent[root(left)] = parent[root(right)] = n_rows + step
    roots = np.array([root(i) for i in range(n_rows)])
    _, first, labels = np.unique(roots, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # number clusters by their first row
    return order[labels]


_TREES: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _ward_tree(
    X: np.ndarray, sample_weight: np.ndarray | None, seed: int, max_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rows in the tree, Ward's linkage of their whitened values), remembered for the last
    few data sets, so that one tree serves every size."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (X, sample_weight):
        digest.update(b"-" if part is None else np.ascontiguousarray(part).tobytes())
    digest.update(f"{X.shape}{X.dtype}{seed}/{max_rows}".encode())
    key = digest.hexdigest()
    if key in _TREES:
        _TREES.move_to_end(key)
        return _TREES[key]
    n_rows = len(X)
    if n_rows > max_rows:
        rng = np.random.RandomState(seed)
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        rows = np.sort(rng.choice(n_rows, size=max_rows, replace=False, p=p))
    else:
        rows = np.arange(n_rows)
    # the tree weighs every sampled row alike: a sample drawn by weight already counts them
    weight = None if sample_weight is None or n_rows > max_rows else sample_weight
    Z = np.asarray(whiten(X[rows], None if weight is None else weight[rows]), np.float64)
    tree = (rows, linkage(Z, method="ward"))
    _TREES[key] = tree
    if len(_TREES) > 4:
        _TREES.popitem(last=False)
    return tree


def hierarchical_partitions(
    X: np.ndarray,
    sizes: list[int],
    *,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    max_rows: int = HC_MAX_ROWS,
) -> dict[int, np.ndarray]:
    r"""Ward's agglomerative clustering of the whitened rows, cut at each of ``sizes``.

    Ward's linkage merges, at each step, the two clusters whose union least increases the
    total within-cluster sum of squares, :math:`\frac{n_a n_b}{n_a+n_b}\lVert\bar z_a -
    \bar z_b\rVert^2` (Ward, 1963): a model-based merge for spherical clusters of one size
    (Fraley, 1998), where mclust's default merges for full covariances. One tree serves
    every size, so the partition at :math:`K` refines the one at :math:`K-1`.

    Above ``max_rows`` rows the tree is built on ``max_rows`` rows drawn with the generator
    seeded by ``seed`` (with probability proportional to ``sample_weight``); the others get
    the label -1 (no part in the first M-step). Rows of zero weight must already be left out.
    Ties between merges (repeated points) are broken as scipy breaks them.

    Returns
    -------
    dict mapping each size :math:`K` to an int array of shape (n_samples,), labels
    :math:`0..K-1` (-1 for rows outside the sample).
    """
    X = np.asarray(X)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    rows, merges = _ward_tree(X, weight, int(seed), int(max_rows))
    partitions = {}
    for size in sizes:
        if not 1 <= size <= len(rows):
            raise ValueError(
                f"cannot cut a tree of {len(rows)} rows into {size} clusters; "
                f"use between 1 and {len(rows)} components."
            )
        labels = np.full(len(X), -1, dtype=np.intp)
        labels[rows] = _cut(merges, len(rows), size)
        partitions[size] = labels
    return partitions
