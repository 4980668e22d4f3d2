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
* ``spherical``: :math:`\sigma^2_k \sim \operatorname{InvGamma}(\nu_p/2, \psi/2)`.

The M-step needs only the sufficient statistics of the responsibilities :math:`r_{ik}`:
:math:`N_k = \sum_i r_{ik}`, the weighted means :math:`\bar x_k = \frac1{N_k}\sum_i r_{ik}x_i`
and the weighted scatter about them, :math:`S_k = \sum_i r_{ik}(x_i-\bar x_k)(x_i-\bar
x_k)^\top`. The prior acts as pseudo-data: :math:`\kappa_p` extra points at :math:`\mu_p`
for each mean and the scatter :math:`\Psi_p` carried by :math:`\nu_p + d + 2` pseudo-counts
(see :func:`map_parameters`). With the prior removed (:math:`\kappa_p, \Psi_p \to 0`,
:math:`\nu_p \to -(d+2)`, :math:`\alpha = 1`) the formulas are the maximum-likelihood M-step.

Reference: C. Fraley and A. E. Raftery, "Bayesian regularization for normal mixture
estimation and model-based clustering", Journal of Classification 24 (2007), 155-181.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import gammaln, multigammaln

from ._covariance import check_covariance_type
from .em import EMState, e_step, m_step


@dataclass(frozen=True)
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


def _data_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or not np.all(np.isfinite(X)):
        raise ValueError(
            "X must be a finite 2-D array with at least two rows (samples by features); "
            f"got an array of shape {X.shape}."
        )
    return X


def default_prior(
    X, covariance_type: str, n_components: int, prior: ConjugatePrior | None = None
) -> ConjugatePrior:
    r"""Fraley & Raftery's (2007) data-dependent defaults, as in mclust's ``defaultPrior``.

    With :math:`\bar x` the data's mean, :math:`V` its sample covariance (divisor
    :math:`N - 1`), :math:`d` features and :math:`K` components:

    * :math:`\mu_p = \bar x`, :math:`\kappa_p = 0.01`, :math:`\nu_p = d + 2`;
    * ``full``, ``tied``: :math:`\Psi_p = V / K^{2/d}`;
    * ``diag``, ``spherical``: :math:`\psi = \operatorname{tr}(V) / (d\, K^{2/d})` (for
      ``diag`` the same value for every feature);
    * :math:`\alpha = 1` (no prior on the weights).

    :math:`K^{2/d}` is the squared ratio of side lengths when the data's volume is split into
    :math:`K` equal cubes: the prior's typical component is about :math:`1/K` of the data.
    Fields already set in ``prior`` are kept; only its ``None`` fields are filled.
    """
    X = _data_matrix(X)
    covariance_type = check_covariance_type(covariance_type)
    if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral):
        raise ValueError(f"n_components must be a positive integer; got {n_components!r}.")
    if n_components < 1:
        raise ValueError(f"n_components must be a positive integer; got {n_components!r}.")
    prior = ConjugatePrior() if prior is None else prior
    n_features = X.shape[1]
    variance = np.atleast_2d(np.cov(X, rowvar=False))
    factor = float(n_components) ** (2.0 / n_features)
    if covariance_type in ("full", "tied"):
        scale = variance / factor
    else:
        scalar = float(np.trace(variance)) / (n_features * factor)
        scale = np.full(n_features, scalar) if covariance_type == "diag" else scalar
    filled = replace(
        prior,
        mean=X.mean(axis=0) if prior.mean is None else prior.mean,
        dof=n_features + 2.0 if prior.dof is None else prior.dof,
        scale=scale if prior.scale is None else prior.scale,
        weight_concentration=(
            1.0 if prior.weight_concentration is None else prior.weight_concentration
        ),
    )
    return check_prior(filled, covariance_type, n_features)


def check_prior(prior: ConjugatePrior, covariance_type: str, n_features: int) -> ConjugatePrior:
    """Return ``prior`` with arrays of the right shapes, or raise a clear ``ValueError``."""
    if not isinstance(prior, ConjugatePrior):
        raise ValueError(f"prior must be a ConjugatePrior; got {prior!r}.")
    covariance_type = check_covariance_type(covariance_type)
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
    dof = number("dof", d - 1.0 if covariance_type in ("full", "tied") else 0.0, True)
    alpha = number("weight_concentration", 1.0, False)
    mean = np.asarray(prior.mean, dtype=np.float64)
    if mean.shape != (d,) or not np.all(np.isfinite(mean)):
        raise ValueError(f"The prior's mean must be {d} finite numbers; got {prior.mean!r}.")
    scale = np.asarray(prior.scale, dtype=np.float64)
    shape = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[covariance_type]
    if scale.shape != shape or not np.all(np.isfinite(scale)):
        raise ValueError(
            f"The prior's scale must have shape {shape} for covariance_type="
            f"{covariance_type!r}; got shape {scale.shape}."
        )
    if scale.ndim == 2:
        if not np.allclose(scale, scale.T) or np.linalg.eigvalsh(scale)[0] <= 0:
            raise ValueError("The prior's scale must be symmetric positive definite.")
    elif not np.all(scale > 0):
        raise ValueError("The prior's scale must be positive.")
    return ConjugatePrior(mean, shrinkage, dof, scale, alpha)


def map_parameters(
    nk: np.ndarray,
    means: np.ndarray,
    scatter: np.ndarray,
    prior: ConjugatePrior,
    covariance_type: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The MAP M-step: weights, means and covariances from summed statistics and a prior.

    Parameters
    ----------
    nk : (K,), :math:`N_k = \sum_i r_{ik}`.
    means : (K, d), the weighted means :math:`\bar x_k`.
    scatter : the weighted scatter about :math:`\bar x_k`, shaped by covariance type:
        ``full`` (K, d, d) :math:`S_k`; ``tied`` (d, d) :math:`\sum_k S_k`; ``diag`` (K, d)
        the diagonals of :math:`S_k`; ``spherical`` (K,) the traces of :math:`S_k`.
    prior : a complete :class:`ConjugatePrior` (see :func:`default_prior`).

    The expected complete-data log posterior is, for ``full``,

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
        \Sigma_k = \frac{\Psi_p + S_k + \frac{\kappa_p N_k}{N_k+\kappa_p}
        (\bar x_k-\mu_p)(\bar x_k-\mu_p)^\top}{N_k + \nu_p + d + 2}.

    The maximum-likelihood :math:`S_k / N_k` gets :math:`\Psi_p` added to the scatter and
    :math:`\nu_p + d + 2` to the count (the :math:`d + 1` from the inverse Wishart, the
    :math:`1` from the mean's prior), so no covariance can reach zero. The other types
    follow from the same calculation with their own covariance prior:

    * ``tied``: one :math:`\Sigma` sees all :math:`K` mean priors,
      :math:`\Sigma = \big(\Psi_p + \sum_k [S_k + \frac{\kappa_p N_k}{N_k+\kappa_p}
      (\bar x_k-\mu_p)(\bar x_k-\mu_p)^\top]\big) / (N + \nu_p + d + K + 1)`;
    * ``diag``: per feature :math:`j`, :math:`\sigma^2_{kj} = \big(\psi_j + S_{k,jj} +
      \frac{\kappa_p N_k}{N_k+\kappa_p}(\bar x_{kj}-\mu_{pj})^2\big) / (N_k + \nu_p + 3)`;
    * ``spherical``: :math:`\sigma^2_k = \big(\psi + \operatorname{tr}S_k +
      \frac{\kappa_p N_k}{N_k+\kappa_p}\lVert\bar x_k-\mu_p\rVert^2\big) /
      (N_k d + \nu_p + d + 2)`.

    Returns
    -------
    weights : (K,), means : (K, d), covariances : shaped by ``covariance_type``.
    """
    covariance_type = check_covariance_type(covariance_type)
    nk = np.asarray(nk, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    n_components, d = means.shape
    prior = check_prior(prior, covariance_type, d)
    kappa, nu, alpha = prior.shrinkage, prior.dof, prior.weight_concentration
    scatter = np.asarray(scatter, dtype=np.float64)
    k, shape = n_components, {"full": (n_components, d, d), "tied": (d, d)}
    expected = shape.get(covariance_type, (k, d) if covariance_type == "diag" else (k,))
    if nk.shape != (k,) or scatter.shape != expected:
        raise ValueError(
            f"For {k} components in {d} dimensions and covariance_type={covariance_type!r}, "
            f"nk must have shape ({k},) and scatter shape {expected}; got {nk.shape} and "
            f"{scatter.shape}."
        )

    weights = (nk + alpha - 1.0) / (nk.sum() + n_components * (alpha - 1.0))
    map_means = (nk[:, None] * means + kappa * prior.mean) / (nk + kappa)[:, None]
    offset = means - prior.mean
    pull = kappa * nk / (nk + kappa)  # weight of the mean's shift in the scatter

    if covariance_type == "full":
        shifts = np.einsum("ki,kj->kij", offset, offset)
        numerator = prior.scale + scatter + pull[:, None, None] * shifts
        covariances = numerator / (nk + nu + d + 2.0)[:, None, None]
        covariances = (covariances + np.swapaxes(covariances, 1, 2)) / 2
    elif covariance_type == "tied":
        numerator = prior.scale + scatter + (pull * offset.T) @ offset
        covariances = numerator / (nk.sum() + nu + d + n_components + 1.0)
        covariances = (covariances + covariances.T) / 2
    elif covariance_type == "diag":
        numerator = prior.scale + scatter + pull[:, None] * offset**2
        covariances = numerator / (nk + nu + 3.0)[:, None]
    else:
        numerator = prior.scale + scatter + pull * np.sum(offset**2, axis=1)
        covariances = numerator / (nk * d + nu + d + 2.0)
    return weights, map_means, covariances


def statistics_from_ml(
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    n_samples: float,
    covariance_type: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The statistics :math:`(N_k, \bar x_k, S)` behind a maximum-likelihood M-step's output.

    :func:`gmmlib.em.m_step` with ``reg_covar=0`` returns :math:`\pi_k = N_k/N`,
    :math:`\bar x_k` and :math:`S_k/N_k` (``tied``: :math:`\sum_k S_k / N`; ``spherical``:
    :math:`\operatorname{tr}S_k/(d N_k)`); this undoes the divisions, giving the arguments
    :func:`map_parameters` takes.
    """
    covariance_type = check_covariance_type(covariance_type)
    nk = np.asarray(weights, dtype=np.float64) * n_samples
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        scatter = covariances * nk[:, None, None]
    elif covariance_type == "tied":
        scatter = covariances * n_samples
    elif covariance_type == "diag":
        scatter = covariances * nk[:, None]
    else:
        scatter = covariances * nk * np.shape(means)[1]
    return nk, np.asarray(means, dtype=np.float64), scatter


def _log_det_and_inverse(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sign, log_det = np.linalg.slogdet(matrices)
    if np.any(sign <= 0):
        return np.full(np.shape(log_det), -np.inf), np.full_like(matrices, np.nan)
    return log_det, np.linalg.inv(matrices)


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
    """
    covariance_type = check_covariance_type(covariance_type)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    n_components, d = means.shape
    prior = check_prior(prior, covariance_type, d)
    kappa, nu, alpha = prior.shrinkage, prior.dof, prior.weight_concentration

    with np.errstate(divide="ignore"):
        total = gammaln(n_components * alpha) - n_components * gammaln(alpha)
        total += (alpha - 1.0) * float(np.sum(np.log(weights))) if alpha != 1.0 else 0.0
    offset = means - prior.mean
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
        scale_log_det = np.linalg.slogdet(prior.scale)[1]
        wishart_constant = (
            0.5 * nu * scale_log_det - 0.5 * nu * d * math.log(2) - multigammaln(0.5 * nu, d)
        )
        total += np.sum(
            wishart_constant
            - 0.5 * (nu + d + 1) * log_det
            - 0.5 * np.einsum("ij,kji->k", prior.scale, inverse)
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
    b = 0.5 * np.broadcast_to(prior.scale, (d,))
    per_variance = covariances if covariance_type == "diag" else covariances[:, None]
    b = b if covariance_type == "diag" else b[:1]
    total += np.sum(
        a * np.log(b) - gammaln(a) - (a + 1) * np.log(per_variance) - b / per_variance
    )
    return float(total)


def map_em_history(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    prior: ConjugatePrior,
    *,
    n_iter: int,
) -> list[EMState]:
    r"""``n_iter`` MAP-EM iterations from a start; entry 0 is the start.

    Each iteration is :func:`gmmlib.em.e_step`, then the statistics of
    :func:`gmmlib.em.m_step` (with ``reg_covar=0``, see :func:`statistics_from_ml`) turned
    into parameters by :func:`map_parameters`. Each state's ``mean_log_likelihood`` field
    holds the mean log posterior :math:`\frac1N\big(\sum_i \log p(x_i\mid\theta) +
    \log p(\theta)\big)`, which EM never lowers. No ``reg_covar`` is needed: the prior keeps
    every covariance positive definite.
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer; got {n_iter!r}.")
    X = _data_matrix(X)
    prior = check_prior(prior, covariance_type, X.shape[1])
    n_samples = X.shape[0]
    states = []
    for iteration in range(n_iter + 1):
        log_resp, mean_ll = e_step(X, weights, means, covariances, covariance_type)
        log_p = log_prior(weights, means, covariances, prior, covariance_type)
        log_post = mean_ll + log_p / n_samples
        states.append(EMState(weights, means, covariances, float(log_post)))
        if iteration == n_iter:
            break
        statistics = statistics_from_ml(
            *m_step(X, np.exp(log_resp), covariance_type, reg_covar=0.0),
            n_samples,
            covariance_type,
        )
        weights, means, covariances = map_parameters(*statistics, prior, covariance_type)
    return states
