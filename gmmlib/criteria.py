r"""Information criteria for fitted mixtures: BIC, AIC, ICL, and the entropy ICL adds.

With :math:`\log \hat L` the total log-likelihood of the fitted model on :math:`N` points
(with sample weights :math:`w_i`, :math:`\log \hat L = \sum_i w_i \log p(x_i)` and
:math:`N = \sum_i w_i`, frequency weights) and :math:`p` its number of free parameters:

* BIC :math:`= -2 \log \hat L + p \log N` (Schwarz, 1978): :math:`-2` times Laplace's
  approximation of the log marginal likelihood, up to terms that do not grow with
  :math:`N`;
* AIC :math:`= -2 \log \hat L + 2p` (Akaike, 1974): an estimate of :math:`-2 N` times the
  expected log-likelihood of new data;
* ICL :math:`= \text{BIC} + 2\,\text{EN}` with :math:`\text{EN} = -\sum_i \sum_k r_{ik} \log
  r_{ik}` the entropy of the responsibilities (Biernacki, Celeux & Govaert, 2000, in the
  entropy form of McLachlan & Peel, 2000): BIC plus a penalty for components that overlap.

Lower is better for all three. :class:`gmmlib.GaussianMixture`, :func:`gmmlib.select_model`
and :mod:`gmmlib.merging` compute them here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["aic", "bic", "check_sample_size", "entropy", "icl"]


def check_sample_size(n_samples: float) -> None:
    """Raise a ValueError unless :math:`N` (the number of rows, or the sum of the sample
    weights) is more than one observation, as BIC's :math:`\\log N` needs."""
    if not n_samples > 1:
        raise ValueError(
            f"The number of observations N is {n_samples:g}: with sample weights it is their "
            "sum (frequency weights: row i counts as w_i observations), and BIC's penalty "
            "p log N is zero or negative for N <= 1. Scale the weights to the number of "
            "observations they stand for, e.g. w * len(w) / w.sum()."
        )


def bic(log_likelihood: float, n_parameters: int, n_samples: float) -> float:
    r""":math:`-2 \log \hat L + p \log N` (a ValueError for :math:`N \le 1`)."""
    check_sample_size(n_samples)
    return float(-2 * log_likelihood + n_parameters * np.log(n_samples))


def aic(log_likelihood: float, n_parameters: int) -> float:
    r""":math:`-2 \log \hat L + 2 p`."""
    return float(-2 * log_likelihood + 2 * n_parameters)


def entropy(resp: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    r""":math:`-\sum_i w_i \sum_k r_{ik} \log r_{ik}` (with :math:`0 \log 0 = 0`; all
    :math:`w_i = 1` without ``sample_weight``), the entropy of responsibilities ``resp``
    of shape ``(N, K)``."""
    resp = np.asarray(resp, dtype=float)
    terms = -np.sum(resp * np.log(np.maximum(resp, np.finfo(float).tiny)), axis=-1)
    return float(terms.sum() if sample_weight is None else sample_weight @ terms)


def icl(bic_value: float, entropy_value: float) -> float:
    r""":math:`\text{BIC} + 2\,\text{EN}`."""
    return bic_value + 2.0 * entropy_value
