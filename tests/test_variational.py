"""Variational Bayes written out: against scikit-learn's BayesianGaussianMixture from the same
start and priors, the ELBO against its own maximisers, the distributions against scipy."""

import numpy as np
import pytest
from _helpers import fit_quietly
from scipy import stats
from scipy.special import multigammaln
from sklearn.cluster import KMeans
from sklearn.mixture import BayesianGaussianMixture

from gmmlib import variational as vb
from gmmlib.datasets import moons

pytestmark = pytest.mark.usefixtures("one_thread")

TOL = 1e-6


@pytest.fixture(scope="module")
def moons_X() -> np.ndarray:
    return moons()[0]


def _kmeans_resp(X, n_components, seed=0):
    """scikit-learn's k-means start: one-hot labels of KMeans(n_init=1) with the seed."""
    labels = KMeans(n_components, n_init=1, random_state=seed).fit(X).labels_
    return np.eye(n_components)[labels]


def _sklearn(X, n_components, weight_prior_type, max_iter, **priors):
    model = BayesianGaussianMixture(
        n_components=n_components,
        weight_concentration_prior_type=weight_prior_type,
        reg_covar=0.0,
        max_iter=max_iter,
        tol=0.0,  # run max_iter iterations, as fit_variational with tol=0
        random_state=0,
        **priors,
    )
    return fit_quietly(model, X)


@pytest.mark.parametrize("weight_prior_type", vb.WEIGHT_PRIOR_TYPES)
@pytest.mark.parametrize("data, n_components", [("moons", 10), ("blobs", 5)])
@pytest.mark.parametrize("max_iter", [0, 1, 40])
def test_same_fit_as_scikit_learn(request, data, n_components, weight_prior_type, max_iter):
    X = request.getfixturevalue("moons_X" if data == "moons" else "blobs")
    model = _sklearn(X, n_components, weight_prior_type, max_iter)
    prior = vb.default_variational_prior(X, n_components, weight_prior_type)
    fit = vb.fit_variational(X, _kmeans_resp(X, n_components), prior, max_iter=max_iter, tol=0)
    posterior = fit.posterior
    assert fit.n_iter == max_iter
    np.testing.assert_allclose(posterior.means, model.means_, rtol=0, atol=TOL)
    np.testing.assert_allclose(posterior.weights, model.weights_, rtol=0, atol=TOL)
    np.testing.assert_allclose(posterior.expected_precisions, model.precisions_, rtol=TOL)
    np.testing.assert_allclose(posterior.inverse_expected_precisions, model.covariances_, rtol=TOL)
    np.testing.assert_allclose(posterior.mean_precision, model.mean_precision_, rtol=TOL)
    np.testing.assert_allclose(posterior.degrees_of_freedom, model.degrees_of_freedom_, rtol=TOL)
    np.testing.assert_allclose(
        posterior.weight_concentration, np.asarray(model.weight_concentration_), rtol=TOL
    )
    if max_iter:
        # scikit-learn's lower bound leaves out constants; with them the two agree.
        offset = vb.dropped_constant(prior, X.shape[0], n_components)
        np.testing.assert_allclose(fit.lower_bounds - offset, model.lower_bounds_, rtol=0, atol=TOL)
        resp = np.exp(vb.log_responsibilities(X, posterior)[0])
        np.testing.assert_allclose(resp, model.predict_proba(X), rtol=0, atol=TOL)


def test_same_fit_as_scikit_learn_with_other_priors(blobs):
    priors = dict(
        weight_concentration_prior=3.0,
        mean_precision_prior=0.1,
        mean_prior=np.array([1.0, -1.0, 0.5]),
        degrees_of_freedom_prior=7.5,
        covariance_prior=np.diag([2.0, 1.0, 0.5]) + 0.3,
    )
    for weight_prior_type in vb.WEIGHT_PRIOR_TYPES:
        model = _sklearn(blobs, 4, weight_prior_type, 25, **priors)
        prior = vb.VariationalPrior(
            weight_concentration=3.0,
            mean_precision=0.1,
            mean=priors["mean_prior"],
            degrees_of_freedom=7.5,
            covariance=priors["covariance_prior"],
            weight_prior_type=weight_prior_type,
        )
        fit = vb.fit_variational(blobs, _kmeans_resp(blobs, 4), prior, max_iter=25, tol=0)
        np.testing.assert_allclose(fit.posterior.means, model.means_, rtol=0, atol=TOL)
        np.testing.assert_allclose(fit.posterior.weights, model.weights_, rtol=0, atol=TOL)
        np.testing.assert_allclose(fit.posterior.expected_precisions, model.precisions_, rtol=TOL)
        offset = vb.dropped_constant(prior, blobs.shape[0], 4)
        np.testing.assert_allclose(fit.lower_bounds - offset, model.lower_bounds_, atol=TOL)


def test_stops_where_scikit_learn_stops(moons_X):
    model = fit_quietly(
        BayesianGaussianMixture(n_components=8, reg_covar=0.0, max_iter=500, random_state=0),
        moons_X,
    )
    prior = vb.default_variational_prior(moons_X, 8)
    fit = vb.fit_variational(moons_X, _kmeans_resp(moons_X, 8), prior, max_iter=500)
    assert fit.converged and model.converged_
    assert fit.n_iter == model.n_iter_


@pytest.mark.parametrize("weight_prior_type", vb.WEIGHT_PRIOR_TYPES)
@pytest.mark.parametrize("seed", range(4))
def test_the_elbo_never_decreases(weight_prior_type, seed):
    """From a random soft start on random data: every recorded ELBO is at least the last."""
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) * 0.3 + 2])
    resp = rng.dirichlet(np.ones(6), size=len(X))
    prior = vb.default_variational_prior(X, 6, weight_prior_type)
    bounds = vb.fit_variational(X, resp, prior, max_iter=80, tol=0).lower_bounds
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    assert bounds[-1] > bounds[0]


@pytest.mark.parametrize("weight_prior_type", vb.WEIGHT_PRIOR_TYPES)
def test_each_update_maximises_the_elbo_over_its_factor(moons_X, weight_prior_type):
    """The ELBO of Bishop's seven terms, for any q: the E-step's responsibilities beat other
    responsibilities, and the updated posterior beats perturbed ones."""
    X = moons_X
    rng = np.random.RandomState(1)
    prior = vb.default_variational_prior(X, 5, weight_prior_type)
    resp = rng.dirichlet(np.ones(5), size=len(X))
    posterior = vb.update_posterior(X, resp, prior)
    best_resp = np.exp(vb.log_responsibilities(X, posterior)[0])
    top = vb.elbo(X, best_resp, posterior, prior)
    for _ in range(5):
        other = np.clip(best_resp + 0.05 * rng.dirichlet(np.ones(5), size=len(X)), 0, None)
        other /= other.sum(axis=1, keepdims=True)
        assert vb.elbo(X, other, posterior, prior) < top
    optimal = vb.update_posterior(X, best_resp, prior)
    top = vb.elbo(X, best_resp, optimal, prior)
    fields = vars(optimal)
    for name, change in [
        ("weight_concentration", 1.1),
        ("mean_precision", 0.9),
        ("means", 1.01),
        ("degrees_of_freedom", 1.05),
        ("inverse_scale", 1.1),
    ]:
        changed = {k: v for k, v in fields.items() if k != "cholesky"}
        changed[name] = fields[name] * change
        assert vb.elbo(X, best_resp, vb.VariationalPosterior(**changed), prior) < top, name


def test_the_elbo_is_the_evidence_for_one_component():
    """With K = 1 the evidence has a closed form (the Gaussian-Wishart marginal likelihood)
    and the bound is exact: q(mu, Lambda) is the true posterior."""
    rng = np.random.RandomState(2)
    X = rng.normal(size=(30, 2)) @ np.array([[1.0, 0.3], [0.0, 0.5]])
    prior = vb.VariationalPrior(1.0, 0.5, np.zeros(2), 4.0, np.eye(2), "dirichlet_distribution")
    resp = np.ones((len(X), 1))
    posterior = vb.update_posterior(X, resp, prior)
    n, d = X.shape
    # The Gaussian-Wishart marginal likelihood (e.g. Murphy 2007, "Conjugate Bayesian
    # analysis of the Gaussian distribution", eq. 266), with W^{-1} the inverse scales:
    # p(X) = pi^{-Nd/2} Gamma_d(nu_N/2) / Gamma_d(nu_0/2) |W_0^{-1}|^{nu_0/2}
    #        |W_N^{-1}|^{-nu_N/2} (beta_0/beta_N)^{d/2}.
    nu0, nun = prior.degrees_of_freedom, posterior.degrees_of_freedom[0]
    log_evidence = (
        -n * d / 2 * np.log(np.pi)
        + multigammaln(nun / 2, d)
        - multigammaln(nu0 / 2, d)
        + nu0 / 2 * np.linalg.slogdet(prior.covariance)[1]
        - nun / 2 * np.linalg.slogdet(posterior.inverse_scale[0])[1]
        + d / 2 * np.log(prior.mean_precision / posterior.mean_precision[0])
    )
    assert vb.elbo(X, resp, posterior, prior) == pytest.approx(log_evidence, abs=1e-9)


def test_distributions_against_scipy(moons_X):
    prior = vb.default_variational_prior(moons_X, 4)
    posterior = vb.update_posterior(moons_X, _kmeans_resp(moons_X, 4), prior)
    d = 2
    rng = np.random.RandomState(0)
    for k in range(4):
        nu, inverse_scale = posterior.degrees_of_freedom[k], posterior.inverse_scale[k]
        scale = np.linalg.inv(inverse_scale)
        wishart = stats.wishart(df=nu, scale=scale)
        np.testing.assert_allclose(posterior.expected_precisions[k], wishart.mean(), rtol=1e-10)
        inverse = stats.invwishart(df=nu, scale=inverse_scale)
        np.testing.assert_allclose(posterior.expected_covariances[k], inverse.mean(), rtol=1e-10)
        # ln B(W, nu): the log density minus its kernel at any Lambda.
        lam = wishart.rvs(random_state=rng)
        kernel = (nu - d - 1) / 2 * np.linalg.slogdet(lam)[1] - np.trace(inverse_scale @ lam) / 2
        log_b = vb.log_wishart_normaliser(np.linalg.slogdet(scale)[1], nu, d)
        assert log_b == pytest.approx(wishart.logpdf(lam) - kernel, rel=1e-10)
        # E[ln|Lambda|] by Monte Carlo.
        draws = wishart.rvs(size=20000, random_state=rng)
        sample = np.linalg.slogdet(draws)[1]
        expected = vb.expected_log_det_precisions(posterior)[k]
        assert abs(sample.mean() - expected) < 4 * sample.std() / np.sqrt(len(sample))


def test_predictive_is_a_mixture_of_student_t(moons_X):
    prior = vb.default_variational_prior(moons_X, 3, "dirichlet_distribution")
    fit = vb.fit_variational(moons_X, _kmeans_resp(moons_X, 3), prior, max_iter=20, tol=0)
    p = fit.posterior
    points = np.random.RandomState(0).normal(size=(50, 2)) + moons_X.mean(axis=0)
    d = 2
    density = np.zeros(len(points))
    for k in range(3):
        dof = p.degrees_of_freedom[k] + 1 - d
        precision = dof * p.mean_precision[k] / (1 + p.mean_precision[k])
        precision = precision * np.linalg.inv(p.inverse_scale[k])
        t = stats.multivariate_t(loc=p.means[k], shape=np.linalg.inv(precision), df=dof)
        density += p.weights[k] * t.pdf(points)
    np.testing.assert_allclose(vb.predictive_log_density(points, p), np.log(density), rtol=1e-10)


def test_expected_covariance_is_not_scikit_learns_covariances(moons_X):
    model = fit_quietly(BayesianGaussianMixture(n_components=6, random_state=0), moons_X)
    nu, d = model.degrees_of_freedom_, moons_X.shape[1]
    posterior = vb.VariationalPosterior(
        np.asarray(model.weight_concentration_),
        model.mean_precision_,
        model.means_,
        nu,
        model.covariances_ * nu[:, None, None],
    )
    ratio = nu / (nu - d - 1)
    np.testing.assert_allclose(
        posterior.expected_covariances, model.covariances_ * ratio[:, None, None], rtol=1e-12
    )
    assert np.all(ratio > 1)


def test_expected_covariance_is_nan_without_a_mean():
    posterior = vb.VariationalPosterior(
        np.array([1.0, 2.0]),
        np.array([1.0, 1.0]),
        np.zeros((2, 2)),
        np.array([2.5, 3.5]),
        np.stack([np.eye(2), np.eye(2)]),
        "dirichlet_distribution",
    )
    covariances = posterior.expected_covariances
    assert np.all(np.isnan(covariances[0]))
    np.testing.assert_allclose(covariances[1], np.eye(2) / 0.5)


def test_prior_checks():
    with pytest.raises(ValueError, match="weight_prior_type"):
        vb.VariationalPrior(1.0, 1.0, np.zeros(2), 2.0, np.eye(2), "dirichlet")
    with pytest.raises(ValueError, match="d - 1"):
        vb.VariationalPrior(1.0, 1.0, np.zeros(2), 0.5, np.eye(2))
    with pytest.raises(ValueError, match="shape"):
        vb.VariationalPrior(1.0, 1.0, np.zeros(2), 2.0, np.eye(3))
    with pytest.raises(ValueError, match="positive"):
        vb.VariationalPrior(0.0, 1.0, np.zeros(2), 2.0, np.eye(2))
