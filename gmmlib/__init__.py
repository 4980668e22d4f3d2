"""gmmlib: Gaussian mixture models fitted by expectation-maximisation.

The library behind the tutorial book:

- :class:`GaussianMixture`, an estimator with scikit-learn's interface;
- :mod:`gmmlib.em`, the E- and M-steps as plain functions;
- :func:`select_model` (:mod:`gmmlib.selection`), choosing the number of components;
- :class:`MixtureClassifier` (:mod:`gmmlib.classification`), one mixture per class;
- :mod:`gmmlib.plotting`, pictures drawn from fitted models;
- :mod:`gmmlib.datasets`, the book's small seeded data sets;
- :mod:`gmmlib.prior`, the conjugate prior for MAP-EM; :mod:`gmmlib.images`, pixels as
  features; ``GaussianMixture.fit`` also takes a Dask array (:mod:`gmmlib._dask`).
"""

from . import classification, datasets, em, images, merging, plotting, prior, selection
from .classification import MixtureClassifier
from .mixture import GaussianMixture, sort_components
from .selection import ModelSelection, select_model

__version__ = "0.1.0"

__all__ = [
    "GaussianMixture",
    "MixtureClassifier",
    "ModelSelection",
    "classification",
    "datasets",
    "em",
    "images",
    "merging",
    "plotting",
    "prior",
    "select_model",
    "selection",
    "sort_components",
]
