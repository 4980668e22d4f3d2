"""gmmlib: Gaussian mixture models fitted by expectation-maximisation.

The library behind the tutorial book: an estimator with scikit-learn's interface
(:class:`GaussianMixture`), the E- and M-steps as plain functions (:mod:`gmmlib.em`),
model selection (:mod:`gmmlib.selection`) and pictures (:mod:`gmmlib.plotting`).
"""

__version__ = "0.1.0"
