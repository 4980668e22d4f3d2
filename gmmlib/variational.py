r"""Variational Bayes for a Gaussian mixture with full covariances, written out.

This is Bishop (2006), section 10.2, as plain functions, with the Dirichlet-process
(stick-breaking) prior of Blei & Jordan (2006) beside the finite Dirichlet one, in the form
scikit-learn's :class:`~sklearn.mixture.BayesianGaussianMixture` uses; from the same start
and priors the two agree to rounding error (``tests/test_variational.py``). It exists to
be read: :class:`~sklearn.mixture.BayesianGaussianMixture` is the tool to use.

**The model.** Labels :math:`z_i` with :math:`p(z_i = k \mid \pi) = \pi_k`; points
:math:`x_i \mid z_i = k \sim \mathcal N(\mu_k, \Lambda_k^{-1})`; priors

* weights, ``"dirichlet_distribution"``:
  :math:`\pi \sim \operatorname{Dir}(\alpha_0, \dots, \alpha_0)`; or
  ``"dirichlet_process"``: :math:`v_k \sim \operatorname{Beta}(1, \alpha_0)`,
  :math:`\pi_k = v_k \prod_{j<k} (1 - v_j)`, truncated at :math:`K` sticks;
* each component: :math:`\mu_k \mid \Lambda_k \sim \mathcal N(m_0, (\beta_0\Lambda_k)^{-1})`
  and :math:`\Lambda_k \sim \mathcal W(W_0, \nu_0)`, the Wishart with density
  :math:`\propto |\Lambda|^{(\nu_0 - d - 1)/2} \exp(-\tfrac12 \operatorname{tr}
  W_0^{-1}\Lambda)` and mean :math:`\nu_0 W_0`.

**The approximation.** :math:`q(z, \pi, \mu, \Lambda) = q(z)\, q(\pi) \prod_k q(\mu_k,
\Lambda_k)`, chosen to maximise the evidence lower bound (ELBO)

.. math::
    \mathcal L(q) = \mathbb E_q[\ln p(X, z, \pi, \mu, \Lambda)]
    - \mathbb E_q[\ln q(z, \pi, \mu, \Lambda)] \le \ln p(X).

Maximising over one factor with the others fixed gives (Bishop 10.9):

* :math:`q(z)`: responsibilities :math:`r_{ik} \propto \rho_{ik}` with
  :math:`\ln\rho_{ik} = \mathbb E[\ln\pi_k] + \tfrac12 \mathbb E[\ln|\Lambda_k|]
  - \tfrac d2 \ln 2\pi - \tfrac12 \mathbb E_{\mu_k,\Lambda_k}[(x_i-\mu_k)^\top
  \Lambda_k (x_i - \mu_k)]` (:func:`log_responsibilities`);
* :math:`q(\pi)` and :math:`q(\mu_k, \Lambda_k)`: the prior's form with hyperparameters
  updated from the statistics :math:`N_k`, :math:`\bar x_k`, :math:`S_k` of the
  responsibilities (:func:`update_posterior`).

Alternating the two never lowers :math:`\mathcal L` (:func:`elbo`), and
:func:`fit_variational` does so from given responsibilities, as scikit-learn does from
its k-means start.

Only ``full`` covariances are written out here (scikit-learn also has ``tied``, ``diag``
and ``spherical``). As in scikit-learn, every one of the :math:`K` sticks of the
Dirichlet process is a Beta factor (the last is not fixed at 1), and the expected
weights are renormalised to sum to one (:attr:`VariationalPosterior.weights`).

References: C. M. Bishop, *Pattern Recognition and Machine Learning* (2006), sections
10.2 and B; D. M. Blei and M. I. Jordan, "Variational inference for Dirichlet process
mixtures", Bayesian Analysis 1 (2006), 121-143.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import betaln, digamma, gammaln, logsumexp, multigammaln

from .statistics import divisors, responsibility_statistics, scatter_about_weighted_means

__all__ = [
    "WEIGHT_PRIOR_TYPES",
    "VariationalFit",
    "VariationalPosterior",
    "VariationalPrior",
    "default_variational_prior",
    "dropped_constant",
    "elbo",
    "elbo_terms",
    "expected_log_det_precisions",
    "expected_log_weights",
    "expected_mahalanobis",
    "fit_variational",
    "log_responsibilities",
    "log_wishart_normaliser",
    "predictive_log_density",
    "update_posterior",
]

#: The two priors on the weights, by scikit-learn's names.
WEIGHT_PRIOR_TYPES = ("dirichlet_distribution", "dirichlet_process")


@dataclass(frozen=True, eq=False)
class VariationalPrior:
    r"""The prior's hyperparameters, in Bishop's symbols and scikit-learn's names.

    * ``weight_concentration``: :math:`\alpha_0 > 0` (``weight_concentration_prior``);
    * ``mean_precision``: :math:`\beta_0 > 0` (``mean_precision_prior``);
    * ``mean``: :math:`m_0`, shape (d,) (``mean_prior``);
    * ``degrees_of_freedom``: :math:`\nu_0 > d - 1` (``degrees_of_freedom_prior``);
    * ``covariance``: :math:`W_0^{-1}`, shape (d, d), the *inverse* of the Wishart's scale
      matrix (``covariance_prior``); the prior's mean precision is :math:`\nu_0 W_0`;
    * ``weight_prior_type``: one of :data:`WEIGHT_PRIOR_TYPES`.
    """

    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray
    weight_prior_type: str = "dirichlet_process"

    def __post_init__(self) -> None:
        if self.weight_prior_type not in WEIGHT_PRIOR_TYPES:
            raise ValueError(
                f"weight_prior_type must be one of {WEIGHT_PRIOR_TYPES}; "
                f"got {self.weight_prior_type!r}."
            )
        d = np.shape(self.mean)[0]
        if np.shape(self.covariance) != (d, d):
            raise ValueError(
                f"covariance must have shape ({d}, {d}) like mean; got {np.shape(self.covariance)}."
            )
        if not self.degrees_of_freedom > d - 1:
            raise ValueError(
                f"degrees_of_freedom must exceed d - 1 = {d - 1}; got {self.degrees_of_freedom}."
            )
        if not (self.weight_concentration > 0 and self.mean_precision > 0):
            raise ValueError("weight_concentration and mean_precision must be positive.")


def default_variational_prior(
    X: np.ndarray,
    n_components: int,
    weight_prior_type: str = "dirichlet_process",
) -> VariationalPrior:
    r"""scikit-learn's defaults: :math:`\alpha_0 = 1/K`, :math:`\beta_0 = 1`, :math:`m_0` the
    data's mean, :math:`\nu_0 = d` and :math:`W_0^{-1}` the data's sample covariance
    (divisor :math:`N - 1`)."""
    X = np.asarray(X, dtype=np.float64)
    return VariationalPrior(
        weight_concentration=1.0 / n_components,
        mean_precision=1.0,
        mean=X.mean(axis=0),
        degrees_of_freedom=float(X.shape[1]),
        covariance=np.atleast_2d(np.cov(X, rowvar=False)),
        weight_prior_type=weight_prior_type,
    )


@dataclass(frozen=True, eq=False)
class VariationalPosterior:
    r"""The factors :math:`q(\pi)` and :math:`q(\mu_k, \Lambda_k)`, by their hyperparameters.

    * ``weight_concentration``: ``"dirichlet_distribution"``, shape (K,), the
      :math:`\alpha_k` of :math:`q(\pi) = \operatorname{Dir}(\alpha_1, \dots, \alpha_K)`;
      ``"dirichlet_process"``, shape (2, K), the :math:`(a_k, b_k)` of
      :math:`q(v_k) = \operatorname{Beta}(a_k, b_k)`;
    * ``mean_precision`` (K,): :math:`\beta_k`; ``means`` (K, d): :math:`m_k`, so that
      :math:`q(\mu_k \mid \Lambda_k) = \mathcal N(m_k, (\beta_k \Lambda_k)^{-1})`;
    * ``degrees_of_freedom`` (K,): :math:`\nu_k`; ``inverse_scale`` (K, d, d):
      :math:`W_k^{-1}`, so that :math:`q(\Lambda_k) = \mathcal W(W_k, \nu_k)`.
    """

    weight_concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    inverse_scale: np.ndarray
    weight_prior_type: str = "dirichlet_process"
    cholesky: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # L_k with W_k^{-1} = L_k L_k^T: log-determinants and quadratic forms in W_k
        # without inverting anything.
        object.__setattr__(self, "cholesky", np.linalg.cholesky(self.inverse_scale))

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    @property
    def log_det_scale(self) -> np.ndarray:
        r""":math:`\ln|W_k| = -\ln|W_k^{-1}| = -2 \sum_j \ln (L_k)_{jj}`."""
        return -2.0 * np.log(np.diagonal(self.cholesky, axis1=1, axis2=2)).sum(axis=1)

    @property
    def weights(self) -> np.ndarray:
        r""":math:`\mathbb E_q[\pi_k]`, renormalised to sum to one (scikit-learn's
        ``weights_``): :math:`\alpha_k / \sum_j \alpha_j` for the Dirichlet distribution;
        :math:`\frac{a_k}{a_k + b_k} \prod_{j<k} \frac{b_j}{a_j + b_j}` for stick breaking,
        whose :math:`K` expected pieces leave out the expected length of the stick beyond
        the last."""
        if self.weight_prior_type == "dirichlet_distribution":
            return self.weight_concentration / self.weight_concentration.sum()
        a, b = self.weight_concentration
        pieces = a / (a + b) * np.concatenate([[1.0], np.cumprod(b / (a + b))[:-1]])
        return pieces / pieces.sum()

    @property
    def expected_precisions(self) -> np.ndarray:
        r""":math:`\mathbb E_q[\Lambda_k] = \nu_k W_k` (scikit-learn's ``precisions_``)."""
        inverse = np.linalg.inv(self.inverse_scale)
        return self.degrees_of_freedom[:, None, None] * inverse

    @property
    def inverse_expected_precisions(self) -> np.ndarray:
        r""":math:`(\mathbb E_q[\Lambda_k])^{-1} = W_k^{-1} / \nu_k`, what scikit-learn
        reports as ``covariances_``. It is *not* the posterior mean of the covariance
        (:attr:`expected_covariances`)."""
        return self.inverse_scale / self.degrees_of_freedom[:, None, None]

    @property
    def expected_covariances(self) -> np.ndarray:
        r""":math:`\mathbb E_q[\Sigma_k] = \mathbb E_q[\Lambda_k^{-1}] = W_k^{-1} / (\nu_k - d
        - 1)`, the mean of the inverse Wishart; NaN where :math:`\nu_k \le d + 1`, where it
        is infinite."""
        excess = self.degrees_of_freedom - self.n_features - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = self.inverse_scale / excess[:, None, None]
        scaled[excess <= 0] = np.nan
        return scaled


def _expected_log_sticks(concentration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\mathbb E[\ln v_k] = \psi(a_k) - \psi(a_k + b_k)` and
    :math:`\mathbb E[\ln(1 - v_k)] = \psi(b_k) - \psi(a_k + b_k)`."""
    a, b = concentration
    total = digamma(a + b)
    return digamma(a) - total, digamma(b) - total


def expected_log_weights(posterior: VariationalPosterior) -> np.ndarray:
    r""":math:`\ln\tilde\pi_k = \mathbb E_q[\ln \pi_k]`, shape (K,).

    Dirichlet distribution (Bishop 10.66): :math:`\psi(\alpha_k) - \psi(\sum_j \alpha_j)`.
    Stick breaking: :math:`\mathbb E[\ln v_k] + \sum_{j<k} \mathbb E[\ln(1 - v_j)]`.
    Since :math:`\psi(a) < \ln a`, a component with small :math:`\alpha_k` (few points)
    gets :math:`\mathbb E[\ln\pi_k]` far below :math:`\ln \mathbb E[\pi_k]`.
    """
    if posterior.weight_prior_type == "dirichlet_distribution":
        alpha = posterior.weight_concentration
        return digamma(alpha) - digamma(alpha.sum())
    log_v, log_rest = _expected_log_sticks(posterior.weight_concentration)
    return log_v + np.concatenate([[0.0], np.cumsum(log_rest)[:-1]])


def expected_log_det_precisions(posterior: VariationalPosterior) -> np.ndarray:
    r""":math:`\ln\tilde\Lambda_k = \mathbb E_q[\ln|\Lambda_k|] = \sum_{j=1}^{d}
    \psi\big(\tfrac{\nu_k + 1 - j}{2}\big) + d \ln 2 + \ln|W_k|` (Bishop 10.65)."""
    d = posterior.n_features
    halves = (posterior.degrees_of_freedom[:, None] + 1 - np.arange(1, d + 1)) / 2
    return digamma(halves).sum(axis=1) + d * math.log(2.0) + posterior.log_det_scale


def expected_mahalanobis(X: np.ndarray, posterior: VariationalPosterior) -> np.ndarray:
    r""":math:`\mathbb E_{\mu_k, \Lambda_k}[(x_i - \mu_k)^\top \Lambda_k (x_i - \mu_k)] =
    d / \beta_k + \nu_k (x_i - m_k)^\top W_k (x_i - m_k)` (Bishop 10.64), shape (N, K).

    The first term is the uncertainty of the mean: it is what makes a component with few
    points (small :math:`\beta_k`) less responsible than its point estimate would be.
    """
    X = np.asarray(X, dtype=np.float64)
    squared = np.empty((X.shape[0], posterior.means.shape[0]))
    for k, (mean, chol) in enumerate(zip(posterior.means, posterior.cholesky)):
        # W_k = L_k^{-T} L_k^{-1}, so (x - m)^T W_k (x - m) = |L_k^{-1} (x - m)|^2.
        whitened = solve_triangular(chol, (X - mean).T, lower=True)
        squared[:, k] = np.einsum("ji,ji->i", whitened, whitened)
    d = posterior.n_features
    return d / posterior.mean_precision + posterior.degrees_of_freedom * squared


def log_responsibilities(
    X: np.ndarray, posterior: VariationalPosterior
) -> tuple[np.ndarray, np.ndarray]:
    r"""The update of :math:`q(z)` (Bishop 10.46-10.49): :math:`\ln r_{ik}` and
    :math:`\ln \sum_k \rho_{ik}`, shapes (N, K) and (N,), with

    .. math::
        \ln\rho_{ik} = \ln\tilde\pi_k + \tfrac12 \ln\tilde\Lambda_k - \tfrac d2 \ln 2\pi
        - \tfrac12 \big(d/\beta_k + \nu_k (x_i - m_k)^\top W_k (x_i - m_k)\big),
        \qquad r_{ik} = \rho_{ik} / \textstyle\sum_j \rho_{ij}.

    Compared with the E-step of EM, :math:`\ln\pi_k` and :math:`\ln|\Lambda_k|` are replaced
    by their expectations under :math:`q`, and the quadratic form gains :math:`d/\beta_k`.
    (:math:`\sum_k \rho_{ik}` is not a likelihood of anything.)
    """
    d = posterior.n_features
    log_rho = (
        expected_log_weights(posterior)
        + 0.5 * expected_log_det_precisions(posterior)
        - 0.5 * d * math.log(2 * math.pi)
        - 0.5 * expected_mahalanobis(X, posterior)
    )
    log_norm = logsumexp(log_rho, axis=1)
    return log_rho - log_norm[:, None], log_norm


def _statistics(X: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`N_k`, :math:`\bar x_k` and the *unnormalised* scatter
    :math:`\sum_i r_{ik} (x_i - \bar x_k)(x_i - \bar x_k)^\top` (Bishop's :math:`N_k S_k`)."""
    stats = responsibility_statistics(X, resp, "full")
    scatter = scatter_about_weighted_means(stats, divisors(stats.counts))
    return stats.counts, stats.weighted_means, scatter


def update_posterior(
    X: np.ndarray, resp: np.ndarray, prior: VariationalPrior
) -> VariationalPosterior:
    r"""The update of :math:`q(\pi)` and :math:`q(\mu_k, \Lambda_k)` from responsibilities.

    With :math:`N_k = \sum_i r_{ik}`, :math:`\bar x_k = \frac1{N_k} \sum_i r_{ik} x_i` and
    :math:`S_k = \frac1{N_k} \sum_i r_{ik} (x_i - \bar x_k)(x_i - \bar x_k)^\top`
    (:func:`gmmlib.statistics.responsibility_statistics`), Bishop 10.58 and 10.60-10.63:

    .. math::
        \alpha_k &= \alpha_0 + N_k, \\
        \beta_k &= \beta_0 + N_k, \qquad
        m_k = (\beta_0 m_0 + N_k \bar x_k) / \beta_k, \\
        W_k^{-1} &= W_0^{-1} + N_k S_k
          + \tfrac{\beta_0 N_k}{\beta_0 + N_k} (\bar x_k - m_0)(\bar x_k - m_0)^\top, \\
        \nu_k &= \nu_0 + N_k.

    For stick breaking, :math:`q(v_k) = \operatorname{Beta}(1 + N_k,\ \alpha_0 +
    \sum_{j>k} N_j)` instead of the first line. These are the MAP M-step's pseudo-counts
    (:mod:`gmmlib.prior`), now the parameters of distributions; :math:`W_k^{-1} \succeq
    W_0^{-1}`, so no component can collapse.
    """
    counts, means, scatter = _statistics(X, resp)
    if prior.weight_prior_type == "dirichlet_distribution":
        concentration = prior.weight_concentration + counts
    else:
        later = np.concatenate([np.cumsum(counts[::-1])[-2::-1], [0.0]])
        concentration = np.stack([1.0 + counts, prior.weight_concentration + later])
    mean_precision = prior.mean_precision + counts
    posterior_means = (
        prior.mean_precision * prior.mean + counts[:, None] * means
    ) / mean_precision[:, None]
    offsets = means - prior.mean
    pull = prior.mean_precision * counts / mean_precision
    inverse_scale = (
        prior.covariance + scatter + pull[:, None, None] * np.einsum("ki,kj->kij", offsets, offsets)
    )
    return VariationalPosterior(
        weight_concentration=concentration,
        mean_precision=mean_precision,
        means=posterior_means,
        degrees_of_freedom=prior.degrees_of_freedom + counts,
        inverse_scale=inverse_scale,
        weight_prior_type=prior.weight_prior_type,
    )


def log_wishart_normaliser(
    log_det_scale: np.ndarray | float, degrees_of_freedom: np.ndarray | float, d: int
) -> np.ndarray:
    r""":math:`\ln B(W, \nu)`, the Wishart's log normalising constant (Bishop B.79):

    .. math::
        \ln B(W, \nu) = -\tfrac\nu2 \ln|W| - \tfrac{\nu d}2 \ln 2
        - \ln\Gamma_d\big(\tfrac\nu2\big),
        \quad
        \ln\Gamma_d(a) = \tfrac{d(d-1)}4 \ln\pi + \textstyle\sum_{j=1}^d
        \ln\Gamma\big(a + \tfrac{1-j}2\big).
    """
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    log_gamma_d = np.vectorize(lambda a: multigammaln(a, d))(nu / 2)
    return -0.5 * nu * log_det_scale - 0.5 * nu * d * math.log(2.0) - log_gamma_d


def _log_dirichlet_normaliser(alpha: np.ndarray) -> float:
    r""":math:`\ln C(\alpha) = \ln\Gamma(\sum_k \alpha_k) - \sum_k \ln\Gamma(\alpha_k)`."""
    return float(gammaln(alpha.sum()) - gammaln(alpha).sum())


def elbo_terms(
    X: np.ndarray,
    resp: np.ndarray,
    posterior: VariationalPosterior,
    prior: VariationalPrior,
) -> dict[str, float]:
    r"""The seven terms of the ELBO (Bishop 10.70-10.77) for any :math:`q(z)` (``resp``)
    and :math:`q(\pi)\prod_k q(\mu_k, \Lambda_k)` (``posterior``); :func:`elbo` sums them.

    With :math:`N_k, \bar x_k, S_k` the statistics of ``resp`` (as in
    :func:`update_posterior`), :math:`\ln\tilde\pi_k` and :math:`\ln\tilde\Lambda_k` from
    :func:`expected_log_weights` and :func:`expected_log_det_precisions`:

    * ``"E[ln p(X|z,mu,Lambda)]"``: :math:`\frac12 \sum_k N_k \big(\ln\tilde\Lambda_k
      - d/\beta_k - \nu_k \operatorname{tr}(S_k W_k) - \nu_k (\bar x_k - m_k)^\top W_k
      (\bar x_k - m_k) - d \ln 2\pi\big)`;
    * ``"E[ln p(z|pi)]"``: :math:`\sum_i \sum_k r_{ik} \ln\tilde\pi_k`;
    * ``"E[ln p(pi)]"``: :math:`\ln C(\alpha_0) + (\alpha_0 - 1) \sum_k \ln\tilde\pi_k`
      (stick breaking: :math:`\sum_k \ln\alpha_0 + (\alpha_0 - 1)\,\mathbb E[\ln(1 - v_k)]`);
    * ``"E[ln p(mu,Lambda)]"``: :math:`\frac12 \sum_k \big(d \ln\frac{\beta_0}{2\pi}
      + \ln\tilde\Lambda_k - \frac{d\beta_0}{\beta_k} - \beta_0\nu_k (m_k - m_0)^\top W_k
      (m_k - m_0)\big) + K \ln B(W_0, \nu_0) + \frac{\nu_0 - d - 1}2 \sum_k
      \ln\tilde\Lambda_k - \frac12 \sum_k \nu_k \operatorname{tr}(W_0^{-1} W_k)`;
    * ``"-E[ln q(z)]"``: :math:`-\sum_i\sum_k r_{ik} \ln r_{ik}`, the entropy of the labels;
    * ``"-E[ln q(pi)]"``: :math:`-\sum_k (\alpha_k - 1)\ln\tilde\pi_k - \ln C(\alpha)`
      (stick breaking: the entropies of the Beta factors);
    * ``"-E[ln q(mu,Lambda)]"``: :math:`-\sum_k \big(\frac12 \ln\tilde\Lambda_k
      + \frac d2 \ln\frac{\beta_k}{2\pi} - \frac d2 - H[q(\Lambda_k)]\big)`, with the
      Wishart entropy :math:`H = -\ln B(W_k, \nu_k) - \frac{\nu_k - d - 1}2
      \ln\tilde\Lambda_k + \frac{\nu_k d}2`.
    """
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    d = posterior.n_features
    n_components = posterior.means.shape[0]
    counts, means, scatter = _statistics(X, resp)
    log_weights = expected_log_weights(posterior)
    log_det = expected_log_det_precisions(posterior)
    beta, nu, m = posterior.mean_precision, posterior.degrees_of_freedom, posterior.means
    scale = np.linalg.inv(posterior.inverse_scale)  # W_k

    def quadratic(vectors: np.ndarray) -> np.ndarray:
        return np.einsum("ki,kij,kj->k", vectors, scale, vectors)

    trace_scatter = np.einsum("kij,kji->k", scatter, scale)  # tr(N_k S_k W_k)
    likelihood = 0.5 * float(
        np.sum(
            counts * (log_det - d / beta - d * math.log(2 * math.pi))
            - nu * trace_scatter
            - counts * nu * quadratic(means - m)
        )
    )
    labels = float(np.sum(resp @ log_weights))

    alpha0 = prior.weight_concentration
    if prior.weight_prior_type == "dirichlet_distribution":
        alpha = posterior.weight_concentration
        weights_prior = _log_dirichlet_normaliser(np.full(n_components, alpha0)) + (
            alpha0 - 1
        ) * float(log_weights.sum())
        weights_entropy = -float(np.sum((alpha - 1) * log_weights)) - (
            _log_dirichlet_normaliser(alpha)
        )
    else:
        a, b = posterior.weight_concentration
        log_v, log_rest = _expected_log_sticks(posterior.weight_concentration)
        # Beta(1, alpha0) has density alpha0 (1 - v)^(alpha0 - 1).
        weights_prior = float(np.sum(math.log(alpha0) + (alpha0 - 1) * log_rest))
        weights_entropy = float(np.sum(betaln(a, b) - (a - 1) * log_v - (b - 1) * log_rest))

    beta0, nu0 = prior.mean_precision, prior.degrees_of_freedom
    log_det_prior_scale = -np.linalg.slogdet(prior.covariance)[1]  # ln|W_0|
    gaussian_wishart_prior = (
        0.5
        * float(
            np.sum(
                d * math.log(beta0 / (2 * math.pi))
                + log_det
                - d * beta0 / beta
                - beta0 * nu * quadratic(m - prior.mean)
            )
        )
        + n_components * float(log_wishart_normaliser(log_det_prior_scale, nu0, d))
        + 0.5 * (nu0 - d - 1) * float(log_det.sum())
        - 0.5 * float(np.sum(nu * np.einsum("ij,kji->k", prior.covariance, scale)))
    )

    with np.errstate(divide="ignore", invalid="ignore"):
        labels_entropy = -float(np.sum(np.where(resp > 0, resp * np.log(resp), 0.0)))
    wishart_entropy = (
        -log_wishart_normaliser(posterior.log_det_scale, nu, d)
        - 0.5 * (nu - d - 1) * log_det
        + 0.5 * nu * d
    )
    gaussian_wishart_entropy = -float(
        np.sum(0.5 * log_det + 0.5 * d * np.log(beta / (2 * math.pi)) - 0.5 * d - wishart_entropy)
    )
    return {
        "E[ln p(X|z,mu,Lambda)]": likelihood,
        "E[ln p(z|pi)]": labels,
        "E[ln p(pi)]": weights_prior,
        "E[ln p(mu,Lambda)]": gaussian_wishart_prior,
        "-E[ln q(z)]": labels_entropy,
        "-E[ln q(pi)]": weights_entropy,
        "-E[ln q(mu,Lambda)]": gaussian_wishart_entropy,
    }


def elbo(
    X: np.ndarray,
    resp: np.ndarray,
    posterior: VariationalPosterior,
    prior: VariationalPrior,
) -> float:
    r"""The evidence lower bound :math:`\mathcal L(q) \le \ln p(X)`, the sum of
    :func:`elbo_terms` (every constant included)."""
    return float(sum(elbo_terms(X, resp, posterior, prior).values()))


def dropped_constant(prior: VariationalPrior, n_samples: int, n_components: int) -> float:
    r"""What scikit-learn leaves out of ``lower_bound_``: :func:`elbo` minus it.

    When :math:`q(\pi)` and :math:`q(\mu_k, \Lambda_k)` have just been updated from
    :math:`q(z)`, the ELBO collapses to log normalising constants, :math:`\mathcal L =
    -\sum_{ik} r_{ik}\ln r_{ik} + \ln\frac{Z_\pi(\text{posterior})}{Z_\pi(\text{prior})}
    + \sum_k \ln\frac{Z_k(\text{posterior})}{Z(\text{prior})} - \frac{Nd}2 \ln 2\pi`, with
    :math:`Z = (2\pi/\beta)^{d/2} / B(W, \nu)` for a Gaussian-Wishart factor.
    scikit-learn keeps the terms that change during the fit; this is the rest:

    .. math::
        K \big(\tfrac{d(d-1)}4 \ln\pi + \tfrac d2 \ln\beta_0 + \ln B(W_0, \nu_0)\big)
        - \ln Z_\pi(\alpha_0) - \tfrac{Nd}2 \ln 2\pi,

    with :math:`\ln Z_\pi(\alpha_0) = K\ln\Gamma(\alpha_0) - \ln\Gamma(K\alpha_0)` for the
    Dirichlet distribution and :math:`-K \ln\alpha_0` for stick breaking.
    """
    d = prior.mean.shape[0]
    log_det_prior_scale = -np.linalg.slogdet(prior.covariance)[1]
    per_component = (
        d * (d - 1) / 4 * math.log(math.pi)
        + d / 2 * math.log(prior.mean_precision)
        + float(log_wishart_normaliser(log_det_prior_scale, prior.degrees_of_freedom, d))
    )
    alpha0 = prior.weight_concentration
    if prior.weight_prior_type == "dirichlet_distribution":
        log_z_weights = n_components * math.lgamma(alpha0) - math.lgamma(n_components * alpha0)
    else:
        log_z_weights = -n_components * math.log(alpha0)
    return n_components * per_component - log_z_weights - n_samples * d / 2 * math.log(2 * math.pi)


@dataclass(frozen=True, eq=False)
class VariationalFit:
    """What :func:`fit_variational` returns: the last ``posterior`` and ``resp`` (the
    responsibilities it was computed from), ``lower_bounds`` (the :func:`elbo` after each
    iteration), ``n_iter`` and ``converged``."""

    posterior: VariationalPosterior
    resp: np.ndarray
    lower_bounds: np.ndarray
    n_iter: int
    converged: bool


def fit_variational(
    X: np.ndarray,
    resp: np.ndarray,
    prior: VariationalPrior,
    *,
    max_iter: int = 100,
    tol: float = 1e-3,
) -> VariationalFit:
    r"""Coordinate ascent on the ELBO from the responsibilities ``resp`` (N, K).

    The start is :func:`update_posterior` of ``resp``; each iteration updates :math:`q(z)`
    (:func:`log_responsibilities`), then :math:`q(\pi)` and :math:`q(\mu_k, \Lambda_k)`
    (:func:`update_posterior`), and records :func:`elbo`; it stops when the ELBO changes
    by less than ``tol`` (in total, not per point) or after ``max_iter`` iterations. This
    is scikit-learn's order and stopping rule: from its k-means start
    (``init_params="kmeans"``) and the same priors (``reg_covar=0``) the two give the same
    fit. Each update maximises the ELBO over one factor, so the ELBO never decreases; it
    converges to a local maximum that depends on the start.
    """
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    posterior = update_posterior(X, resp, prior)
    bounds: list[float] = []
    converged = False
    for _ in range(max_iter):
        log_resp, _ = log_responsibilities(X, posterior)
        resp = np.exp(log_resp)
        posterior = update_posterior(X, resp, prior)
        bounds.append(elbo(X, resp, posterior, prior))
        if len(bounds) > 1 and abs(bounds[-1] - bounds[-2]) < tol:
            converged = True
            break
    return VariationalFit(posterior, resp, np.array(bounds), len(bounds), converged)


def predictive_log_density(X: np.ndarray, posterior: VariationalPosterior) -> np.ndarray:
    r"""The log of the approximate predictive density of a new point (Bishop 10.81), (N,):

    .. math::
        p(x \mid X) \approx \sum_k \mathbb E_q[\pi_k]\,
        \operatorname{St}\big(x \mid m_k, L_k, \nu_k + 1 - d\big), \qquad
        L_k = \frac{(\nu_k + 1 - d)\,\beta_k}{1 + \beta_k} W_k,

    a mixture of Student-t densities (``L_k`` the precision-like scale matrix), obtained by
    integrating each Gaussian over :math:`q(\mu_k, \Lambda_k)`. Its tails are heavier than
    those of the Gaussians at the posterior means, the more so the fewer points a
    component holds; as :math:`N_k \to \infty` each term tends to
    :math:`\mathcal N(x \mid m_k, (\nu_k W_k)^{-1})`. The weights are
    :attr:`VariationalPosterior.weights` (renormalised for stick breaking).

    .. math::
        \ln\operatorname{St}(x \mid m, L, \nu) = \ln\Gamma\big(\tfrac{\nu + d}2\big)
        - \ln\Gamma\big(\tfrac\nu2\big) - \tfrac d2 \ln(\nu\pi) + \tfrac12 \ln|L|
        - \tfrac{\nu + d}2 \ln\big(1 + \tfrac1\nu (x - m)^\top L (x - m)\big).
    """
    X = np.asarray(X, dtype=np.float64)
    d = posterior.n_features
    dof = posterior.degrees_of_freedom + 1 - d
    factor = dof * posterior.mean_precision / (1 + posterior.mean_precision)  # L_k / W_k
    squared = (
        expected_mahalanobis(X, posterior) - d / posterior.mean_precision
    ) / posterior.degrees_of_freedom  # (x - m_k)^T W_k (x - m_k)
    log_student = (
        gammaln((dof + d) / 2)
        - gammaln(dof / 2)
        - d / 2 * np.log(dof * math.pi)
        + 0.5 * (d * np.log(factor) + posterior.log_det_scale)
        - (dof + d) / 2 * np.log1p(factor * squared / dof)
    )
    return logsumexp(log_student + np.log(posterior.weights), axis=1)
