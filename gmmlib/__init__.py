"""gmmlib: Gaussian mixture models fitted by expectation-maximisation.

The library behind the tutorial book:

- :class:`GaussianMixture`, an estimator with scikit-learn's interface, for data in memory
  or Dask arrays (:mod:`gmmlib.dask`);
- :mod:`gmmlib.em`, the EM algorithm as plain functions, over the sufficient statistics of
  :mod:`gmmlib.statistics`;
- :func:`select_model` (:mod:`gmmlib.selection`), choosing the number of components, with
  the criteria of :mod:`gmmlib.criteria`;
- :class:`MixtureClassifier` (:mod:`gmmlib.classification`), one mixture per class;
  :mod:`gmmlib.merging`, components merged into clusters;
- :mod:`gmmlib.plotting`, pictures drawn from fitted models (needs matplotlib);
- :mod:`gmmlib.datasets`, the book's small seeded data sets;
- :mod:`gmmlib.prior`, the conjugate prior for MAP-EM; :mod:`gmmlib.images`, pixels as
  features;
- :mod:`gmmlib.parsimonious`, R mclust's fourteen volume-shape-orientation covariance
  models, which ``covariance_type`` accepts besides scikit-learn's four;
- :mod:`gmmlib.variational`, variational Bayes written out (the updates behind
  scikit-learn's ``BayesianGaussianMixture``).

``import gmmlib`` needs only numpy, scipy and scikit-learn: the modules that need more
(plotting: matplotlib; select_model: pandas; gmmlib.dask: Dask) are imported when first used.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from . import (
    classification,
    criteria,
    datasets,
    em,
    images,
    merging,
    parsimonious,
    prior,
    statistics,
    variational,
)
from .classification import MixtureClassifier
from .mixture import COVARIANCE_TYPES, SKLEARN_TYPES, GaussianMixture, sort_components

try:
    __version__ = version("gmmlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    __version__ = "0+unknown"

#: Public names imported on first use, and the module each comes from.
_LAZY = {
    "plotting": "gmmlib.plotting",
    "selection": "gmmlib.selection",
    "dask": "gmmlib.dask",
    "select_model": "gmmlib.selection",
    "ModelSelection": "gmmlib.selection",
}

__all__ = [
    "COVARIANCE_TYPES",
    "SKLEARN_TYPES",
    "GaussianMixture",
    "MixtureClassifier",
    "ModelSelection",
    "classification",
    "criteria",
    "dask",
    "datasets",
    "em",
    "images",
    "merging",
    "parsimonious",
    "plotting",
    "prior",
    "select_model",
    "selection",
    "sort_components",
    "statistics",
    "variational",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gmmlib' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"gmmlib.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
