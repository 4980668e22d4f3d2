r"""A conjugate prior for Gaussian mixtures and the MAP M-step it leads to.

Maximum likelihood has no maximum for a Gaussian mixture: a component whose mean sits on one
data point and whose covariance shrinks to zero sends the likelihood to infinity. A prior on
the parameters removes that path. With the *conjugate* prior of Fraley & Raftery (2007), the
prior behind R mclust's ``priorControl()``, the maximum a posteriori (MAP) parameters have
closed forms, and EM maximises the log posterior
:math:`\sum_i \log p(x_i \mid \theta) + \log p(\theta)` instead of the log-likelihood.

The prior (one symbol each, used throughout):

* weights: :math:`\pi \sim \operatorname{Dirichlet}(\alpha, \dots, \alpha)` with
  :math:`\alpha \ge 1` (``weight_concentration``; :math:`\alpha = 1` is flat);
* means: :math:`\mu_k \mid \Sigma_k \sim \mathcal N(\mu_p, \Sigma_k / \kappa_p)`
  (``mean`` :math:`\mu_p`, ``shrinkage`` :math:`\kappa_p > 0`);
* ``full``: :math:`\Sigma_k \sim \operatorname{IW}(\nu_p, \Psi_p)`, the inverse Wishart with
  density :math:`\propto |\Sigma|^{-(\nu_p + d + 1)/2} \exp(-\tfrac12 \operatorname{tr}
  \Psi_p \Sigma^{-1})` (``dof`` :math:`\nu_p > d - 1`, ``scale`` :math:`\Psi_p`);
* ``tied``: one :math:`\Sigma \sim \operatorname{IW}(\nu_p, \Psi_p)` shared by all means;
* ``diag``: each variance :math:`\sigma^2_{kj} \sim \operatorname{InvGamma}(\nu_p/2,
  \psi_{j}/2)`, density :math:`\propto (\sigma^2)^{-\nu_p/2 - 1} \exp(-\psi_j / 2\sigma^2)`;
* ``spherical``: :math:`\sigma^2_k \sim \operatorname{InvGamma}(\nu_p/2, \psi/2)`;
* mclust's volume-shape-orientation models (:mod:`gmmlib.parsimonious`): the prior
  mclust 6.0.0 gives ten of them, measured against its ``mstep()`` (:data:`MCLUST_MAP`);
  VEE, EVE, VVE and EVV have none in mclust, and none here (a ValueError says so).

The M-step needs only the sufficient statistics of the responsibilities :math:`r_{ik}`:
:math:`N_k = \sum_i r_{ik}`, the weighted means :math:`\bar x_k = \frac1{N_k}\sum_i r_{ik}x_i`
and the weighted scatter about them, :math:`S_k = \sum_i r_{ik}(x_i-\bar x_k)(x_i-\bar
x_k)^\top`. The prior acts as pseudo-data: :math:`\kappa_p` extra points at :math:`\mu_p`
for each mean and the scatter :math:`\Psi_p` carried by :math:`\nu_p + d + 2` pseudo-counts
(see :func:`pseudo_counts`). With the prior removed (:math:`\kappa_p, \Psi_p \to 0`,
:math:`\nu_p \to -(d+2)`, :math:`\alpha = 1`) the formulas are the maximum-likelihood M-step.

Reference: C. Fraley and A. E. Raftery, "Bayesian regularization for normal mixture
estimation and model-based clustering", Journal of Classification 24 (2007), 155-181.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
from scipy.special import gammaln, multigammaln

from ._covariance import (
    check_covariance_type,
    covariance_matrices,
    is_mclust_model,
    storage,
)
from ._validation import is_integer

#: mclust's models without a conjugate prior (``Mclust()`` leaves them out when given one).
NO_PRIOR_MODELS = ("VEE", "EVE", "VVE", "EVV")


def check_prior_supported(covariance_type: str) -> str:
    """``covariance_type`` if a prior can be used with it; a ValueError for VEE, EVE, VVE,
    EVV, which have no conjugate prior in mclust (nor here)."""
    if check_covariance_type(covariance_type) in NO_PRIOR_MODELS:
        raise ValueError(
            f"Model {covariance_type} has no conjugate prior (mclust has none for VEE, EVE, "
            "VVE and EVV, and Mclust() leaves them out when given one): fit it without a "
            "prior (prior=None), or use a prior with another model."
        )
    return covariance_type


@dataclass(frozen=True, eq=False)
class ConjugatePrior:
    r"""Hyperparameters of the conjugate prior; ``None`` means "the data-dependent default".

    Parameters
    ----------
    mean : array of shape (d,) or None
        :math:`\mu_p`, where the means are pulled to (default: the data's mean).
    shrinkage : float > 0, default 0.01
        :math:`\kappa_p`, how many pseudo-points at :math:`\mu_p` each mean's prior is worth.
    dof : float or None
        :math:`\nu_p`, degrees of freedom of the covariance prior (default :math:`d + 2`).
    scale : array or float or None
        :math:`\Psi_p`: a (d, d) matrix for ``full`` and ``tied``, (d,) per-feature
        values for ``diag``, a number for ``spherical`` (defaults in :func:`default_prior`).
    weight_concentration : float >= 1 or None
        :math:`\alpha` of the symmetric Dirichlet prior on the weights (default 1: flat).
    """

    mean: np.ndarray | None = None
    shrinkage: float = 0.01
    dof: float | None = None
    scale: np.ndarray | float | None = None
    weight_concentration: float | None = None

    def __eq__(self, other: object) -> bool:
        """Field by field, arrays compared by value (``==`` on arrays is elementwise)."""
        if not isinstance(other, ConjugatePrior):
            return NotImplemented

        def same(a: object, b: object) -> bool:
            if a is None or b is None:
                return a is b
            return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))

        names = ("mean", "shrinkage", "dof", "scale", "weight_concentration")
        return all(same(getattr(self, name), getattr(other, name)) for name in names)

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside: not hashable


def _data_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or not np.all(np.isfinite(X)):
        raise ValueError(
            "X must be a finite 2-D array with at least two rows (samples by features); "
            f"got an array of shape {X.shape}."
        )
    return X


def default_prior(
    X,
    covariance_type: str,
    n_components: int,
    prior: ConjugatePrior | None = None,
    *,
    sample_weight=None,
) -> ConjugatePrior:
    r"""Fraley & Raftery's (2007) data-dependent defaults, as in mclust's ``defaultPrior``.

    With :math:`\bar x` the data's mean, :math:`V` its sample covariance (divisor
    :math:`N - 1`), :math:`d` features and :math:`K` components:

    * :math:`\mu_p = \bar x`, :math:`\kappa_p = 0.01`, :math:`\nu_p = d + 2`;
    * ``full``, ``tied``: :math:`\Psi_p = V / K^{2/d}`; where :math:`V` is singular (no more
      rows than features, a constant or collinear column) its diagonal instead, as mclust
      does for :math:`n \le d`, with a zero variance replaced by the mean of the others;
    * ``diag``, ``spherical``: :math:`\psi = \operatorname{tr}(V) / (d\, K^{2/d})` (for
      ``diag`` the same value for every feature; 1 instead of a zero trace);
    * an mclust model: as the scikit-learn type that stores it (EII...VVI as ``diag``,
      EEE as ``tied``, the others as ``full``), which is mclust's ``defaultPrior``;
    * :math:`\alpha = 1` (no prior on the weights).

    :math:`K^{2/d}` is the squared ratio of side lengths when the data's volume is split into
    :math:`K` equal cubes: the prior's typical component is about :math:`1/K` of the data.
    Fields already set in ``prior`` are kept; only its ``None`` fields are filled. With
    ``sample_weight`` (frequency weights), :math:`\bar x` and :math:`V` are those of the data
    with each row repeated :math:`w_i` times (divisor :math:`\sum_i w_i - 1`).
    """
    mean, variance = data_moments(_data_matrix(X), sample_weight)
    return default_prior_from_moments(mean, variance, covariance_type, n_components, prior)


def data_moments(X: np.ndarray, sample_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """The rows' mean and sample covariance (divisor :math:`N - 1`), or with frequency
    weights :func:`weighted_moments`: what :func:`default_prior` needs of data in memory."""
    if sample_weight is None:
        return X.mean(axis=0), np.atleast_2d(np.cov(X, rowvar=False))
    return weighted_moments(X, np.asarray(sample_weight, dtype=np.float64))


def weighted_moments(X, weight):
    r"""The mean and the sample covariance of rows with frequency weights :math:`w_i`:
    :math:`\bar x = \sum_i w_i x_i / W` and :math:`V = \sum_i w_i (x_i - \bar x)(x_i -
    \bar x)^\top / (W - 1)`, :math:`W = \sum_i w_i` (those of the rows repeated :math:`w_i`
    times). Array operations only, so ``X`` and ``weight`` may be Dask arrays (the result is
    then lazy, one pass to compute). :math:`V` is NaN when :math:`W \le 1`: no sample
    covariance is defined for at most one observation."""
    total = weight.sum()
    mean = weight @ X / total
    centred = X - mean
    divisor = np.where(total > 1.0, total - 1.0, np.nan)
    variance = (centred * weight[:, None]).T @ centred / divisor
    return mean, variance


def default_prior_from_moments(
    mean: np.ndarray,
    variance: np.ndarray,
    covariance_type: str,
    n_components: int,
    prior: ConjugatePrior | None = None,
) -> ConjugatePrior:
    """:func:`default_prior` from the data's mean and sample covariance (for data that are
    not in memory, such as a Dask array, whose two moments take one pass)."""
    covariance_type = check_prior_supported(covariance_type)
    if not is_integer(n_components) or n_components < 1:
        raise ValueError(f"n_components must be a positive integer; got {n_components!r}.")
    prior = ConjugatePrior() if prior is None else prior
    if not isinstance(prior, ConjugatePrior):
        raise ValueError(f"prior must be a ConjugatePrior; got {prior!r}.")
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.atleast_2d(np.asarray(variance, dtype=np.float64))
    n_features = mean.shape[0]
    factor = float(n_components) ** (2.0 / n_features)
    scale = prior.scale
    if scale is None and not np.all(np.isfinite(variance)):
        raise ValueError(
            "The default prior's scale comes from the data's sample covariance, which is "
            "not defined here: the sample weights sum to at most 1 (gmmlib's weights are "
            "frequency weights, row i counting as w_i observations: scale them to the number "
            "of observations they stand for, e.g. w * len(w) / w.sum()), or the data's "
            "values are too large for floating point. Or set the prior's scale yourself: "
            "ConjugatePrior(scale=...)."
        )
    kind = storage(covariance_type)  # mclust's models: the prior of their storage's type
    if scale is None and kind in ("full", "tied"):
        scale = _positive_definite(variance) / factor
    elif scale is None:
        trace = float(np.trace(variance))
        scalar = (trace if trace > 0 else 1.0) / (n_features * factor)
        scale = np.full(n_features, scalar) if kind == "diag" else scalar
    filled = replace(
        prior,
        mean=mean if prior.mean is None else prior.mean,
        dof=n_features + 2.0 if prior.dof is None else prior.dof,
        scale=scale,
        weight_concentration=(
            1.0 if prior.weight_concentration is None else prior.weight_concentration
        ),
    )
    return check_prior(filled, covariance_type, n_features)


def _positive_definite(variance: np.ndarray) -> np.ndarray:
    r"""The data's covariance :math:`V` as a prior scale: itself when positive definite;
    otherwise (no more rows than features, a constant column, collinear columns) its
    diagonal, as mclust's ``defaultPrior`` does when :math:`n \le d`, with each zero
    variance (a constant column) replaced by the mean of the positive ones (1 if none is)."""
    eigenvalues = np.linalg.eigvalsh(variance)
    if eigenvalues[0] > len(variance) * np.finfo(float).eps * eigenvalues[-1]:
        return variance
    else:
        diagonal = np.diag(variance).copy()
        positive = diagonal[diagonal > 0]
        diagonal[diagonal <= 0] = positive.mean() if positive.size else 1.0
        return np.diag(diagonal)


def check_prior(prior: ConjugatePrior, covariance_type: str, n_features: int) -> ConjugatePrior:
    """Return ``prior`` with arrays of the right shapes, or raise a clear ``ValueError``."""
    if not isinstance(prior, ConjugatePrior):
        raise ValueError(f"prior must be a ConjugatePrior; got {prior!r}.")
    kind = storage(check_prior_supported(covariance_type))
    d = n_features
    fields = ("mean", "dof", "scale", "weight_concentration")
    missing = [f for f in fields if getattr(prior, f) is None]
    if missing:
        raise ValueError(
            f"The prior's {', '.join(missing)} is not set; fill it from the data with "
            "default_prior(X, covariance_type, n_components, prior)."
        )

    def number(name, low, strict):
        value = getattr(prior, name)
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and (value > low if strict else value >= low)
        if not ok:
            bound = ">" if strict else ">="
            raise ValueError(f"The prior's {name} must be a number {bound} {low}; got {value!r}.")
        return float(value)

    shrinkage = number("shrinkage", 0.0, True)
    dof = number("dof", d - 1.0 if kind in ("full", "tied") else 0.0, True)
    alpha = number("weight_concentration", 1.0, False)
    mean = np.asarray(prior.mean, dtype=np.float64)
    if mean.shape != (d,) or not np.all(np.isfinite(mean)):
        raise ValueError(f"The prior's mean must be {d} finite numbers; got {prior.mean!r}.")
    scale = np.asarray(prior.scale, dtype=np.float64)
    shape = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[kind]
    if scale.shape != shape:
        raise ValueError(
            f"The prior's scale must have shape {shape} for covariance_type="
            f"{covariance_type!r}; got shape {scale.shape}."
        )
    if not np.all(np.isfinite(scale)):
        raise ValueError(f"The prior's scale must be finite; got {prior.scale!r}.")
    if scale.ndim == 2:
        if not np.allclose(scale, scale.T) or np.linalg.eigvalsh(scale)[0] <= 0:
            raise ValueError("The prior's scale must be symmetric positive definite.")
    elif not np.all(scale > 0):
        raise ValueError("The prior's scale must be positive.")
    return ConjugatePrior(mean, shrinkage, dof, scale, alpha)


class _Fields(NamedTuple):
    """The fields of a complete prior (:func:`check_prior`), with their types."""

    mean: np.ndarray
    shrinkage: float
    dof: float
    scale: np.ndarray
    weight_concentration: float


def _fields(prior: ConjugatePrior) -> _Fields:
    """A checked, complete prior's fields (none of them None)."""
    assert prior.mean is not None and prior.dof is not None and prior.scale is not None
    assert prior.weight_concentration is not None
    return _Fields(
        np.asarray(prior.mean),
        float(prior.shrinkage),
        float(prior.dof),
        np.asarray(prior.scale),
        float(prior.weight_concentration),
    )


class PseudoCounts(NamedTuple):
    r"""What a prior adds to the statistics in the M-step (all zero: maximum likelihood).

    * ``weight``: :math:`\alpha - 1`, added to each :math:`N_k` of the weights;
    * ``mean_count``, ``mean``: :math:`\kappa_p` pseudo-points at :math:`\mu_p` for each mean;
    * ``scatter``, ``covariance_count``: :math:`\Psi_p` added to each scatter and the counts
      added to its divisor (:func:`pseudo_counts` lists them by covariance type).
    """

    weight: float
    mean_count: float
    mean: np.ndarray | float
    scatter: np.ndarray | float
    covariance_count: float


#: The pseudo-counts of maximum likelihood, which adds nothing.
NO_PSEUDO_COUNTS = PseudoCounts(0.0, 0.0, 0.0, 0.0, 0.0)


class _MAPRule(NamedTuple):
    """One row of :data:`MCLUST_MAP`."""

    scale_share: Callable[[int, int], float]  # B = share(K, d) * Psi
    extra_count: Callable[[float, int, int], float]  # c(nu, K, d)
    mean_prior: bool  # whether the means have their prior (the pull and the shrinkage)


#: mclust 6.0.0's MAP M-step (``mstep(prior = priorControl())``) for the ten models that
#: have a prior, as measured against it (``tests/test_parsimonious.py``, to 1e-15; EII
#: 3e-8): with :math:`\kappa_p`, :math:`\nu_p`, :math:`\Psi_p` (:math:`\psi I` for the
#: diagonal models' vector of :math:`\psi_j`) and the pull
#: :math:`P_k = \frac{\kappa_p N_k}{N_k + \kappa_p} (\bar x_k - \mu_p)(\bar x_k -
#: \mu_p)^\top`, the covariances are
#: ``covariances_from_scatter(model, N_k + c, W_k + P_k + B)`` and the means
#: :math:`(N_k \bar x_k + \kappa_p \mu_p)/(N_k + \kappa_p)`. Each row is
#: :math:`(B / \Psi_p,\ c,\ \text{whether the means have a prior})`. mclust's own
#: departures from one rule are kept, so that fits agree with R's: EII ignores the
#: scale (:math:`B = 0`), EEV has no mean prior (its Fortran sets the shrinkage to 0), VEV
#: ignores the dof (:math:`c = 0`); each is still the MAP estimate of some (partly
#: improper) prior, :func:`log_prior`. One is not kept: mclust's EEI leaves its means
#: unshrunk while its covariance counts the pull, which maximises nothing and can lower
#: the log posterior from one EM iteration to the next (by 1e-8 on the test's data);
#: here EEI's means are shrunk as every other model's (they differ from mclust's by
#: :math:`\kappa_p / (N_k + \kappa_p)` of :math:`\bar x_k - \mu_p`; the covariances are
#: mclust's). VII, VVI, EEE and VVV are ``spherical``, ``diag``, ``tied`` and ``full``'s
#: prior exactly.
MCLUST_MAP: dict[str, _MAPRule] = {
    "EII": _MAPRule(lambda K, d: 0.0, lambda nu, K, d: (nu + 2) / (d * K) + 1, True),
    "VII": _MAPRule(lambda K, d: 1 / d, lambda nu, K, d: (nu + 2) / d + 1, True),
    "EEI": _MAPRule(lambda K, d: 1 / K, lambda nu, K, d: (nu + 2) / K + 1, True),
    "VEI": _MAPRule(lambda K, d: 1.0, lambda nu, K, d: (nu + 3) / d, True),
    "EVI": _MAPRule(lambda K, d: 1.0, lambda nu, K, d: (nu + 2) / K + 1, True),
    "VVI": _MAPRule(lambda K, d: 1.0, lambda nu, K, d: nu + 3, True),
    "EEE": _MAPRule(lambda K, d: 1 / K, lambda nu, K, d: (nu + d + 1) / K + 1, True),
    "EEV": _MAPRule(lambda K, d: 1.0, lambda nu, K, d: (nu + d + 1) / K, False),
    "VEV": _MAPRule(lambda K, d: 1.0, lambda nu, K, d: 0.0, True),
    "VVV": _MAPRule(lambda K, d: 1.0, lambda nu, K, d: nu + d + 2, True),
}

#: The four of mclust's models that are scikit-learn's types, whose priors are the same.
_SKLEARN_TYPE = {"VII": "spherical", "VVI": "diag", "EEE": "tied", "VVV": "full"}


def pseudo_counts(
    prior: ConjugatePrior | None, covariance_type: str, n_components: int, n_features: int
) -> PseudoCounts:
    r"""The pseudo-counts a complete ``prior`` adds to the M-step (None: none at all).

    The expected complete-data log posterior is, for ``full``, with :math:`N_k`, the weighted
    means :math:`\bar x_k` and the scatters :math:`S_k` about them,

    .. math::
        Q(\theta) = \sum_k (N_k + \alpha - 1)\log\pi_k
        - \tfrac12\sum_k \Big[(N_k + \nu_p + d + 2)\log|\Sigma_k|
        + \operatorname{tr}\Sigma_k^{-1}\big(S_k + N_k(\bar x_k-\mu_k)(\bar x_k-\mu_k)^\top
        + \kappa_p(\mu_k-\mu_p)(\mu_k-\mu_p)^\top + \Psi_p\big)\Big] + \text{const}.

    Setting its gradient to zero (with :math:`\sum_k \pi_k = 1` by a Lagrange multiplier):

    .. math::
        \pi_k = \frac{N_k + \alpha - 1}{N + K(\alpha - 1)}, \qquad
        \mu_k = \frac{N_k \bar x_k + \kappa_p \mu_p}{N_k + \kappa_p},

    and with :math:`\mu_k` inserted, the two quadratic terms combine into
    :math:`\frac{\kappa_p N_k}{N_k + \kappa_p}(\bar x_k - \mu_p)(\bar x_k - \mu_p)^\top`, so

    .. math::
        \Sigma_k = \frac{B_k}{N_k + \nu_p + d + 2}, \qquad
        B_k = \Psi_p + S_k + \tfrac{\kappa_p N_k}{N_k+\kappa_p}
        (\bar x_k-\mu_p)(\bar x_k-\mu_p)^\top.

    The maximum-likelihood :math:`S_k / N_k` gets :math:`\Psi_p` added to the scatter and
    :math:`\nu_p + d + 2` to the count (the :math:`d + 1` from the inverse Wishart, the
    :math:`1` from the mean's prior), so no covariance can reach zero. The other types
    follow from the same calculation with their own covariance prior; the counts added to
    the divisor are

    * ``tied``: :math:`\nu_p + d + K + 1` (one :math:`\Sigma` sees all :math:`K` mean
      priors; the divisor is :math:`N + \nu_p + d + K + 1`);
    * ``diag``: :math:`\nu_p + 3` per variance (:math:`\psi_j` added to :math:`S_{k,jj}`);
    * ``spherical``: :math:`\nu_p + d + 2`, added to :math:`d N_k`, with :math:`\psi`
      added to :math:`\operatorname{tr} S_k`.

    An mclust model takes mclust's rule (:data:`MCLUST_MAP`): ``scatter`` is then
    :math:`B`, added to each :math:`W_k` (a vector for the diagonal models), and
    ``covariance_count`` :math:`c`, added to each :math:`N_k`.

    :func:`gmmlib.em.m_step_from_statistics` applies them; it is the one M-step, with or
    without a prior.
    """
    if prior is None:
        return NO_PSEUDO_COUNTS
    fields = _fields(check_prior(prior, covariance_type, n_features))
    d, nu = n_features, fields.dof
    if is_mclust_model(covariance_type):
        rule = MCLUST_MAP[covariance_type]
        return PseudoCounts(
            fields.weight_concentration - 1.0,
            fields.shrinkage if rule.mean_prior else 0.0,
            fields.mean,
            rule.scale_share(n_components, d) * fields.scale,
            rule.extra_count(nu, n_components, d),
        )
    covariance_count = {
        "full": nu + d + 2.0,
        "tied": nu + d + n_components + 1.0,
        "diag": nu + 3.0,
        "spherical": nu + d + 2.0,
    }[covariance_type]
    return PseudoCounts(
        fields.weight_concentration - 1.0,
        fields.shrinkage,
        fields.mean,
        fields.scale,
        covariance_count,
    )


def _log_det_and_inverse(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-determinants and inverses of covariance matrices; ``-inf`` log-determinants when
    one is not positive definite (a Cholesky factorisation fails: the determinant's sign
    alone would pass a negative-definite matrix of even order)."""
    sign, log_det = np.linalg.slogdet(matrices)
    try:
        np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        sign = np.zeros_like(sign)
    if np.any(sign <= 0):
        return np.full(np.shape(log_det), -np.inf), np.full_like(matrices, np.nan)
    return log_det, np.linalg.inv(matrices)


def _log_dirichlet(weights: np.ndarray, alpha: float) -> float:
    """:math:`\\log\\operatorname{Dir}(\\pi \\mid \alpha, \\dots, \alpha)`."""
    n_components = weights.shape[0]
    with np.errstate(divide="ignore"):
        total = gammaln(n_components * alpha) - n_components * gammaln(alpha)
        total += (alpha - 1.0) * float(np.sum(np.log(weights))) if alpha != 1.0 else 0.0
    return float(total)


def _mclust_log_prior(weights, means, covariances, prior, model: str) -> float:
    """:func:`log_prior` of an mclust model (see there)."""
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    n_components, d = means.shape
    complete = check_prior(prior, model, d)
    fields = _fields(complete)
    if model in _SKLEARN_TYPE:
        kind = _SKLEARN_TYPE[model]
        if kind == "spherical":  # VII: (K, d) equal variances; the scale's share is mean(psi)
            covariances = covariances.mean(axis=1)
            complete = replace(complete, scale=float(np.mean(fields.scale)))
        return log_prior(weights, means, covariances, complete, kind)
    rule = MCLUST_MAP[model]
    log_det, inverse = _log_det_and_inverse(
        covariance_matrices(covariances, model, n_components, d)
    )
    if not np.all(np.isfinite(log_det)):
        return -np.inf
    scale = fields.scale if fields.scale.ndim == 2 else np.diag(fields.scale)
    share = rule.scale_share(n_components, d) * scale
    total = _log_dirichlet(weights, fields.weight_concentration)
    total -= 0.5 * rule.extra_count(fields.dof, n_components, d) * float(np.sum(log_det))
    total -= 0.5 * float(np.einsum("ij,kji->", share, inverse))
    if rule.mean_prior:
        offset = means - fields.mean
        total -= 0.5 * fields.shrinkage * float(np.einsum("ki,kij,kj->", offset, inverse, offset))
    return float(total)


def log_prior(
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    prior: ConjugatePrior,
    covariance_type: str,
) -> float:
    r"""The log prior density :math:`\log p(\theta)`, normalising constants included.

    .. math::
        \log p(\theta) = \log\operatorname{Dir}(\pi\mid\alpha)
        + \sum_k \log\mathcal N(\mu_k\mid\mu_p, \Sigma_k/\kappa_p)
        + \sum_k \log p(\Sigma_k),

    with :math:`\log\operatorname{IW}(\Sigma\mid\nu,\Psi) = \frac\nu2\log|\Psi|
    - \frac{\nu d}2\log2 - \log\Gamma_d(\frac\nu2) - \frac{\nu+d+1}2\log|\Sigma|
    - \frac12\operatorname{tr}\Psi\Sigma^{-1}` (``tied``: one :math:`\Sigma` for all
    :math:`K` means) and :math:`\log\operatorname{InvGamma}(\sigma^2\mid a, b) = a\log b -
    \log\Gamma(a) - (a+1)\log\sigma^2 - b/\sigma^2` per variance (:math:`a=\nu_p/2`,
    :math:`b=\psi/2`). The log posterior is the log-likelihood plus this, up to the
    (constant) log evidence. Returns ``-inf`` for a covariance that is not positive definite.

    An mclust model (:data:`MCLUST_MAP`): VII, VVI, EEE and VVV have the prior of
    ``spherical``, ``diag``, ``tied`` and ``full`` (this density); for the other six,
    mclust's prior is in part improper (EII's ignores the scale, VEV's the dof, EEV's has
    no mean prior), so their log prior is given up to a constant that depends only on the
    hyperparameters: :math:`\log\operatorname{Dir}(\pi\mid\alpha) - \frac12 \sum_k
    [c \log|\Sigma_k| + \operatorname{tr}(B \Sigma_k^{-1}) + \kappa_p (\mu_k -
    \mu_p)^\top \Sigma_k^{-1} (\mu_k - \mu_p)]` (no mean term for EEV), the function
    whose maximum, with the log-likelihood's, is the M-step of :data:`MCLUST_MAP`.
    """
    if is_mclust_model(covariance_type):
        return _mclust_log_prior(weights, means, covariances, prior, covariance_type)
    covariance_type = check_covariance_type(covariance_type)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    n_components, d = means.shape
    fields = _fields(check_prior(prior, covariance_type, d))
    kappa, nu, alpha = fields.shrinkage, fields.dof, fields.weight_concentration

    total = _log_dirichlet(weights, alpha)
    offset = means - fields.mean
    gauss_constant = -0.5 * d * math.log(2 * math.pi) + 0.5 * d * math.log(kappa)

    if covariance_type in ("full", "tied"):
        matrices = covariances if covariance_type == "full" else covariances[None]
        log_det, inverse = _log_det_and_inverse(matrices)
        if not np.all(np.isfinite(log_det)):
            return -np.inf
        if covariance_type == "tied":
            log_det_k = np.repeat(log_det, n_components)
            inverse_k = np.repeat(inverse, n_components, axis=0)
        else:
            log_det_k, inverse_k = log_det, inverse
        mahalanobis = np.einsum("ki,kij,kj->k", offset, inverse_k, offset)
        total += np.sum(gauss_constant - 0.5 * log_det_k - 0.5 * kappa * mahalanobis)
        scale_log_det = np.linalg.slogdet(fields.scale)[1]
        wishart_constant = (
            0.5 * nu * scale_log_det - 0.5 * nu * d * math.log(2) - multigammaln(0.5 * nu, d)
        )
        total += np.sum(
            wishart_constant
            - 0.5 * (nu + d + 1) * log_det
            - 0.5 * np.einsum("ij,kji->k", fields.scale, inverse)
        )
        return float(total)

    if not np.all(covariances > 0):
        return -np.inf
    variances = (
        covariances if covariance_type == "diag" else np.repeat(covariances[:, None], d, axis=1)
    )
    total += np.sum(
        gauss_constant - 0.5 * np.sum(np.log(variances) + kappa * offset**2 / variances, axis=1)
    )
    a = 0.5 * nu
    b = 0.5 * np.broadcast_to(fields.scale, (d,))
    per_variance = covariances if covariance_type == "diag" else covariances[:, None]
    b = b if covariance_type == "diag" else b[:1]
    total += np.sum(a * np.log(b) - gammaln(a) - (a + 1) * np.log(per_variance) - b / per_variance)
    return float(total)
