r"""Merging mixture components into clusters, by the entropy of the responsibilities.

A mixture chosen by BIC counts the Gaussian *components* a density needs; a cluster that is
not Gaussian (a crescent, a skewed blob) takes several of them. Baudry, Raftery, Celeux, Lo
& Gottardo (2010) combine components hierarchically: merging components :math:`k` and
:math:`l` replaces their responsibilities by the sum :math:`r_{ik} + r_{il}` (the mixture's
density does not change, only which components are read as one cluster), and the pair to
merge is the one whose union most lowers the entropy of the responsibilities

.. math:: \text{EN} = -\sum_i \sum_k r_{ik} \log r_{ik},

that is, the pair that the data find hardest to tell apart. The decrease is

.. math:: \Delta_{kl} = \sum_i \big[(r_{ik} + r_{il})\log(r_{ik} + r_{il})
          - r_{ik}\log r_{ik} - r_{il}\log r_{il}\big] \ge 0 .

Merging repeats down to one cluster; a sharp drop in :math:`\Delta` (an "elbow") marks a
natural number of clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import is_integer
from .criteria import entropy

__all__ = ["MergePath", "merge_components", "entropy"]


@dataclass(frozen=True)
class MergePath:
    """The merges of :func:`merge_components`, from ``K`` clusters down to one.

    Attributes
    ----------
    groups : list of list of list of int
        ``groups[j]``: the clusters (each a sorted list of component indices, sorted by
        their smallest component) after ``j`` merges, so ``K - j`` clusters.
    entropy_decrease : ndarray of shape (K - 1,)
        :math:`\\Delta` of each merge, in the order they happened.
    resp : ndarray of shape (N, K)
        The component responsibilities the path was computed from.
    """

    groups: list[list[list[int]]]
    entropy_decrease: np.ndarray
    resp: np.ndarray

    def clusters(self, n_clusters: int) -> list[list[int]]:
        """The components that make up each of ``n_clusters`` clusters."""
        n_components = self.resp.shape[1]
        if not (is_integer(n_clusters) and 1 <= n_clusters <= n_components):
            raise ValueError(
                f"n_clusters must be an integer from 1 to {n_components} (the number of "
                f"components); got {n_clusters!r}."
            )
        return self.groups[n_components - int(n_clusters)]

    def cluster_proba(self, n_clusters: int) -> np.ndarray:
        """Responsibilities of the ``n_clusters`` clusters: sums of their components'."""
        return np.column_stack([self.resp[:, g].sum(axis=1) for g in self.clusters(n_clusters)])

    def labels(self, n_clusters: int) -> np.ndarray:
        """Each point's most probable cluster among ``n_clusters``."""
        return self.cluster_proba(n_clusters).argmax(axis=1)


def merge_components(resp: np.ndarray) -> MergePath:
    """Merge mixture components into clusters, greedily by entropy (Baudry et al., 2010).

    Parameters
    ----------
    resp : array-like of shape (N, K)
        Responsibilities of a fitted mixture, e.g. ``model.predict_proba(X)``: non-negative,
        each row summing to one.

    Returns
    -------
    MergePath
        ``.clusters(n)``, ``.labels(n)``, ``.cluster_proba(n)`` for any ``n`` from ``K``
        down to 1, and ``.entropy_decrease`` of each merge.
    """
    resp = np.asarray(resp, dtype=float)
    if resp.ndim != 2 or resp.shape[0] == 0 or resp.shape[1] == 0:
        raise ValueError(
            f"resp must be a 2-D array of responsibilities (N, K); got shape {resp.shape}. "
            "Pass model.predict_proba(X)."
        )
    if (
        not np.all(np.isfinite(resp))
        or np.any(resp < 0)
        or not np.allclose(resp.sum(axis=1), 1.0, atol=1e-6)
    ):
        raise ValueError(
            "resp must hold probabilities: finite, non-negative, each row summing to one "
            "(model.predict_proba(X))."
        )
    columns = [resp[:, k] for k in range(resp.shape[1])]
    groups = [[k] for k in range(resp.shape[1])]
    path, decreases = [[list(g) for g in groups]], []
    own = [entropy(c) for c in columns]
    while len(columns) > 1:
        best = None
        for a in range(len(columns)):
            for b in range(a + 1, len(columns)):
                decrease = own[a] + own[b] - entropy(columns[a] + columns[b])
                if best is None or decrease > best[0]:
                    best = (decrease, a, b)
        assert best is not None  # at least two columns remain
        decrease, a, b = best
        columns[a] = columns[a] + columns[b]
        own[a] = entropy(columns[a])
        groups[a] = sorted(groups[a] + groups[b])
        del columns[b], own[b], groups[b]
        order = sorted(range(len(groups)), key=lambda j: groups[j][0])
        columns, own, groups = (
            [columns[j] for j in order],
            [own[j] for j in order],
            [groups[j] for j in order],
        )
        decreases.append(decrease)
        path.append([list(g) for g in groups])
    return MergePath(path, np.array(decreases), resp)
