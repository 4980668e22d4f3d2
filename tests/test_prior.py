"""The conjugate prior: the MAP M-step against a numerical maximiser, defaults, MAP-EM."""

import warnings

import numpy as np
import pytest
from _helpers import random_covariances
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from sklearn.exceptions import ConvergenceWarning

from gmmlib import SKLEARN_TYPES as TYPES
from gmmlib import GaussianMixture, em
from gmmlib.prior import ConjugatePrior, default_prior, log_prior, pseudo_counts


def _unpack(theta, K, d, covariance_type):
    weights = np.exp(theta[:K] - theta[:K].max())
    weights /= weights.sum()
    means = theta[K : K + K * d].reshape(K, d)
    rest = theta[K + K * d :]
    if covariance_type in ("full", "tied"):
        n = 1 if covariance_type == "tied" else K
        chol = np.zeros((n, d, d))
        rows, cols = np.tril_indices(d)
        chol[:, rows, cols] = rest.reshape(n, -1)
        diag = np.arange(d)
        chol[:, diag, diag] = np.exp(chol[:, diag, diag])
        covariances = chol @ np.swapaxes(chol, 1, 2)
        return weights, means, covariances if covariance_type == "full" else covariances[0]
    return weights, means, np.exp(rest).reshape((K, d) if covariance_type == "diag" else (K,))


def _pack(weights, means, covariances, covariance_type):
    if covariance_type in ("full", "tied"):
        matrices = covariances if covariance_type == "full" else covariances[None]
        chol = np.linalg.cholesky(matrices)
        d = chol.shape[1]
        diag = np.arange(d)
        chol[:, diag, diag] = np.log(chol[:, diag, diag])
        rest = chol[(slice(None), *np.tril_indices(d))].ravel()
    else:
        rest = np.log(covariances).ravel()
    return np.concatenate([np.log(weights), means.ravel(), rest])


def _objective(X, resp, prior, covariance_type, weights, means, covariances):
    """Expected complete-data log posterior, from scipy's densities (independent code)."""
    K, d = means.shape
    total = 0.0
    for k in range(K):
        if covariance_type == "full":
            cov = covariances[k]
        elif covariance_type == "tied":
            cov = covariances
        elif covariance_type == "diag":
            cov = np.diag(covariances[k])
        else:
            cov = covariances[k] * np.eye(d)
        log_density = stats.multivariate_normal(means[k], cov).logpdf(X)
        total += np.sum(resp[:, k] * (np.log(weights[k]) + log_density))
    return total + log_prior(weights, means, covariances, prior, covariance_type)


def _small_problem(seed, covariance_type, K=2, d=2, n=9):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 2.0][:d] + [0.5, -1.0][:d]
    resp = rng.dirichlet(np.ones(K), size=n)
    prior = default_prior(
        X,
        covariance_type,
        K,
        ConjugatePrior(mean=[1.0, 0.0], shrinkage=0.7, weight_concentration=2.5),
    )
    return X, resp, prior


@pytest.mark.parametrize("covariance_type", TYPES)
def test_map_step_maximises_the_log_posterior(covariance_type):
    """The closed form and a BFGS maximiser of Q agree on the parameters to 1e-6 (seen: 5e-8)."""
    X, resp, prior = _small_problem(0, covariance_type)
    K, d = resp.shape[1], X.shape[1]
    closed = em.m_step(X, resp, covariance_type, reg_covar=0.0, prior=prior)

    def negative(theta):
        parameters = _unpack(theta, K, d, covariance_type)
        return -_objective(X, resp, prior, covariance_type, *parameters)

    # Start from the maximum-likelihood parameters, not from the answer.
    ml = em.m_step(X, resp, covariance_type, reg_covar=0.0)
    result = optimize.minimize(
        negative,
        _pack(*ml, covariance_type),
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 10000},
    )
    found = _unpack(result.x, K, d, covariance_type)
    # The closed form is at least as good as anything the optimiser found ...
    assert -result.fun <= _objective(X, resp, prior, covariance_type, *closed) + 1e-9
    # ... and it is the same point.
    for numeric, exact in zip(found, closed):
        np.testing.assert_allclose(numeric, exact, atol=1e-6, rtol=0)


def test_without_a_prior_nothing_is_added():
    """Maximum likelihood is the M-step with every pseudo-count zero."""
    assert all(np.all(np.asarray(value) == 0) for value in pseudo_counts(None, "full", 3, 2))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_a_vanishing_prior_is_maximum_likelihood(covariance_type):
    """As kappa_p, Psi_p -> 0, nu_p -> its lower limit and alpha = 1, MAP tends to ML
    (full and tied: the counts nu_p + d + 2 and nu_p + d + K + 1 stay positive, so they
    only vanish relative to N)."""
    X, resp, _ = _small_problem(3, covariance_type, n=4000)
    d = X.shape[1]
    lowest = {"full": d - 1, "tied": d - 1, "diag": 0.0, "spherical": 0.0}[covariance_type]
    scale = {"full": np.eye(d), "tied": np.eye(d), "diag": np.ones(d), "spherical": 1.0}
    tiny = ConjugatePrior(
        mean=np.zeros(d),
        shrinkage=1e-12,
        dof=lowest + 1e-9,
        scale=1e-12 * np.asarray(scale[covariance_type]),
        weight_concentration=1.0,
    )
    ml = em.m_step(X, resp, covariance_type, reg_covar=0.0)
    almost = em.m_step(X, resp, covariance_type, reg_covar=0.0, prior=tiny)
    for got, want in zip(almost, ml):
        np.testing.assert_allclose(got, want, rtol=5e-3, atol=1e-9)


def test_default_prior_follows_fraley_raftery():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3)) * [1.0, 2.0, 3.0]
    variance = np.cov(X, rowvar=False)
    full = default_prior(X, "full", 4)
    np.testing.assert_allclose(full.mean, X.mean(axis=0))
    assert (full.shrinkage, full.dof, full.weight_concentration) == (0.01, 5.0, 1.0)
    np.testing.assert_allclose(full.scale, variance / 4 ** (2 / 3))
    spherical = default_prior(X, "spherical", 4)
    assert spherical.scale == pytest.approx(np.trace(variance) / 3 / 4 ** (2 / 3))
    np.testing.assert_allclose(default_prior(X, "diag", 4).scale, np.full(3, spherical.scale))
    # Given fields are kept.
    assert default_prior(X, "tied", 4, ConjugatePrior(dof=9.0)).dof == 9.0


@pytest.mark.parametrize(
    "prior, message",
    [
        (ConjugatePrior(shrinkage=0.0), "shrinkage"),
        (ConjugatePrior(dof=0.5), "dof"),
        (ConjugatePrior(weight_concentration=0.5), "weight_concentration"),
        (ConjugatePrior(scale=np.eye(3)), "scale"),
        (ConjugatePrior(mean=[0.0]), "mean"),
    ],
)
def test_bad_hyperparameters_are_refused(prior, message):
    X = np.random.default_rng(3).normal(size=(20, 2))
    with pytest.raises(ValueError, match=message):
        default_prior(X, "full", 2, prior)


def test_incomplete_prior_is_refused():
    X = np.random.default_rng(5).normal(size=(20, 2))
    resp = np.full((20, 2), 0.5)
    with pytest.raises(ValueError, match="default_prior"):
        em.m_step(X, resp, "full", prior=ConjugatePrior())


def test_a_prior_for_other_dimensions_is_refused():
    X = np.random.default_rng(5).normal(size=(20, 2))
    prior = default_prior(np.random.default_rng(6).normal(size=(20, 3)), "diag", 2)
    with pytest.raises(ValueError, match="mean must be 2 finite numbers"):
        em.m_step(X, np.full((20, 2), 0.5), "diag", prior=prior)


def test_log_prior_of_a_singular_covariance_is_minus_infinity():
    X = np.random.default_rng(4).normal(size=(20, 2))
    prior = default_prior(X, "full", 2)
    singular = np.stack([np.eye(2), np.zeros((2, 2))])
    assert log_prior(np.full(2, 0.5), np.zeros((2, 2)), singular, prior, "full") == -np.inf


# 40 examples, more than the profile's 25: the draws combine four covariance types, seven
# repeat counts and four sizes (112 cases besides the seed), and each is cheap (25
# iterations on at most 26 points).
@settings(max_examples=40)
@given(
    covariance_type=st.sampled_from(TYPES),
    seed=st.integers(0, 10_000),
    n_repeats=st.integers(0, 6),
    n_components=st.integers(1, 4),
)
def test_map_em_never_lowers_the_log_posterior(covariance_type, seed, n_repeats, n_components):
    """Even where maximum likelihood collapses (repeated points, a component started on one
    of them with a tiny covariance, no reg_covar), MAP-EM climbs and stays finite."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 2))
    X = np.vstack([X, np.repeat(X[:1], n_repeats, axis=0)])
    means = X[rng.choice(len(X), n_components, replace=False)]
    means[0] = X[0]
    weights = np.full(n_components, 1 / n_components)
    covariances = {
        "full": np.stack([np.eye(2)] * n_components),
        "tied": np.eye(2),
        "diag": np.ones((n_components, 2)),
        "spherical": np.ones(n_components),
    }[covariance_type]
    if covariance_type != "tied":
        covariances[0] *= 1e-3  # the first component starts narrow on the repeated point
    prior = default_prior(X, covariance_type, n_components)
    states = em.em_history(
        X, weights, means, covariances, covariance_type, n_iter=25, reg_covar=0.0, prior=prior
    )
    trace = np.array([s.mean_log_likelihood for s in states])
    assert np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-9 * np.maximum(1.0, np.abs(trace[1:])))
    # The objective is the mean log posterior: log-likelihood plus log prior, over N.
    last = states[-1]
    log_likelihood = em.log_likelihood(X, *last[:3], covariance_type).sum()
    expected = (log_likelihood + log_prior(*last[:3], prior, covariance_type)) / len(X)
    assert last.mean_log_likelihood == pytest.approx(expected, rel=1e-12)


@given(
    covariance_type=st.sampled_from(TYPES),
    seed=st.integers(0, 10_000),
    n_repeats=st.integers(2, 8),
    init_params=st.sampled_from(["kmeans", "k-means++", "random_from_data", "random"]),
)
def test_the_estimator_with_a_prior_never_lowers_its_lower_bounds(
    covariance_type, seed, n_repeats, init_params
):
    """GaussianMixture(prior="default", reg_covar=0): lower_bounds_ is the mean log posterior
    at each iteration, and it never decreases, with repeated points in the data."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 2))
    X = np.vstack([X, np.repeat(X[:1], n_repeats, axis=0)])
    model = GaussianMixture(
        3,
        covariance_type=covariance_type,
        prior="default",
        reg_covar=0.0,
        tol=0.0,
        max_iter=30,
        init_params=init_params,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    trace = np.asarray(model.lower_bounds_)
    assert np.all(np.isfinite(trace)) and len(trace) == 30
    assert np.all(np.diff(trace) >= -1e-9 * np.maximum(1.0, np.abs(trace[1:])))
    assert model.prior_ is not None and model.prior_.dof == 4.0


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_map_em_survives_where_maximum_likelihood_collapses(covariance_type):
    """Five copies of one point and a narrow component on them: maximum likelihood without
    reg_covar cannot keep that component (it collapses: fails, or a variance at rounding
    level; or it empties, its weight underflowing); MAP-EM keeps every variance above the
    prior's floor Psi_p / (N + nu_p + d + 2), spherical Psi_p / (N d + nu_p + d + 2)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    X = np.vstack([X, np.repeat(X[:1], 4, axis=0)])
    weights, means = np.array([0.5, 0.5]), np.stack([X[0], X.mean(axis=0)])
    covariances = {
        "full": np.stack([1e-3 * np.eye(2), np.eye(2)]),
        "diag": np.array([[1e-3, 1e-3], [1.0, 1.0]]),
        "spherical": np.array([1e-3, 1.0]),
    }[covariance_type]
    try:
        ml = em.em_history(
            X, weights, means, covariances, covariance_type, n_iter=30, reg_covar=0.0
        )
        variances = (
            np.diagonal(ml[-1].covariances, axis1=-2, axis2=-1)
            if covariance_type == "full"
            else ml[-1].covariances
        )
        assert np.min(variances) < 1e-20 or np.min(ml[-1].weights) < 1e-200
    except ValueError as error:
        assert "not positive definite" in str(error)
    prior = default_prior(X, covariance_type, 2)
    final = em.em_history(
        X, weights, means, covariances, covariance_type, n_iter=30, reg_covar=0.0, prior=prior
    )[-1]
    n, d = X.shape
    if covariance_type == "full":
        floor = np.linalg.eigvalsh(prior.scale)[0] / (n + prior.dof + d + 2)
        smallest = np.linalg.eigvalsh(final.covariances).min()
    else:
        counts = n * d if covariance_type == "spherical" else n
        floor = np.min(prior.scale) / (counts + prior.dof + d + 2)
        smallest = np.min(final.covariances)
    assert smallest >= floor > 1e-3


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_estimator_runs_the_same_map_em_as_em_history(covariance_type):
    rng = np.random.default_rng(11)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 4.0])
    start = GaussianMixture(2, covariance_type=covariance_type, max_iter=0, random_state=0).fit(X)
    prior = default_prior(X, covariance_type, 2)
    path = em.em_history(
        X,
        start.weights_,
        start.means_,
        start.covariances_,
        covariance_type,
        n_iter=12,
        reg_covar=1e-6,
        prior=prior,
    )
    precisions = {"full": np.linalg.inv, "tied": np.linalg.inv}.get(
        covariance_type, lambda c: 1 / c
    )
    model = GaussianMixture(
        2,
        covariance_type=covariance_type,
        prior="default",
        max_iter=12,
        tol=0.0,
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=precisions(start.covariances_),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    np.testing.assert_allclose(
        model.lower_bounds_, [s.mean_log_likelihood for s in path[:12]], rtol=1e-9
    )
    for got, want in zip((model.weights_, model.means_, model.covariances_), path[12][:3]):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    # bic and aic are computed from the log-likelihood at the MAP estimate (mclust's practice)
    log_likelihood = em.log_likelihood(X, *path[12][:3], covariance_type).sum()
    assert model.bic(X) == pytest.approx(-2 * log_likelihood + model.n_parameters() * np.log(100))


@pytest.mark.parametrize("prior", ["defaults", 3, {"dof": 3}])
def test_a_bad_prior_parameter_is_refused(prior):
    with pytest.raises(ValueError, match="prior must be None"):
        GaussianMixture(2, prior=prior).fit(np.random.default_rng(0).normal(size=(30, 2)))


def test_given_hyperparameters_are_kept_and_the_rest_filled():
    X = np.random.default_rng(1).normal(size=(50, 3))
    model = GaussianMixture(2, prior=ConjugatePrior(shrinkage=0.5, dof=7.0), random_state=0).fit(X)
    assert (model.prior_.shrinkage, model.prior_.dof) == (0.5, 7.0)
    np.testing.assert_allclose(model.prior_.mean, X.mean(axis=0))
    assert GaussianMixture(2, random_state=0).fit(X).prior_ is None


def test_with_a_prior_integer_weights_are_repeated_rows():
    """The prior's data moments and the MAP fit from the same start: weights as repetition."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(20, 2)) + 3.0])
    weight = rng.integers(0, 4, size=len(X)).astype(float)
    repeated = np.repeat(X, weight.astype(int), axis=0)
    params = dict(
        prior="default",
        max_iter=20,
        tol=0.0,
        weights_init=[0.5, 0.5],
        means_init=X[[0, 40]],
        precisions_init=np.stack([np.eye(2)] * 2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = GaussianMixture(2, **params).fit(X, sample_weight=weight)
        copies = GaussianMixture(2, **params).fit(repeated)
    for name in ("mean", "scale"):
        np.testing.assert_allclose(
            getattr(weighted.prior_, name), getattr(copies.prior_, name), rtol=1e-12
        )
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(copies, name), rtol=1e-10)
    np.testing.assert_allclose(weighted.lower_bounds_, copies.lower_bounds_, rtol=1e-10)


def scipy_log_prior(weights, means, covariances, prior, covariance_type):
    """log p(theta) from scipy.stats' densities: Dirichlet weights, each mean normal about
    mu_p with covariance Sigma_k / kappa_p, inverse Wishart (full, tied: one for all means)
    or inverse gamma (diag: per variance, spherical: per component) covariances."""
    K, d = means.shape
    alpha, kappa, nu = prior.weight_concentration, prior.shrinkage, prior.dof
    total = stats.dirichlet(np.full(K, alpha)).logpdf(weights)
    if covariance_type in ("full", "tied"):
        matrices = covariances if covariance_type == "full" else [covariances] * K
        prior_of_covariances = stats.invwishart(df=nu, scale=prior.scale)
        shared = covariance_type == "tied"
        total += prior_of_covariances.logpdf(covariances) if shared else 0.0
    else:
        variances = covariances if covariance_type == "diag" else np.outer(covariances, np.ones(d))
        matrices = [np.diag(v) for v in variances]
        per_variance = covariances if covariance_type == "diag" else covariances[:, None]
        scales = np.broadcast_to(prior.scale, (d,))[: per_variance.shape[1]]
        total += np.sum(stats.invgamma(nu / 2, scale=scales / 2).logpdf(per_variance))
    for k in range(K):
        total += stats.multivariate_normal(prior.mean, matrices[k] / kappa).logpdf(means[k])
        if covariance_type == "full":
            total += prior_of_covariances.logpdf(covariances[k])
    return total


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_prior_is_the_sum_of_scipys_log_densities(covariance_type, seed):
    """log_prior's normalising constants are the densities' own: it equals the sum of
    scipy.stats' Dirichlet, normal, inverse Wishart and inverse gamma log-densities to 1e-10,
    for a prior whose every hyperparameter is away from its default."""
    rng = np.random.default_rng(seed)
    K, d = 3, 3
    X = rng.normal(size=(40, d)) * [1.0, 2.0, 0.5]
    root = rng.normal(size=(d, d))
    scale = {
        "full": root @ root.T + 0.1 * np.eye(d),
        "tied": root @ root.T + 0.1 * np.eye(d),
        "diag": np.array([0.5, 1.5, 3.0]),
        "spherical": 1.7,
    }[covariance_type]
    given_fields = ConjugatePrior(
        mean=rng.normal(size=d), shrinkage=0.3, dof=d + 1.5, scale=scale, weight_concentration=2.5
    )
    prior = default_prior(X, covariance_type, K, given_fields)
    assert prior == given_fields  # every field given: nothing left to the defaults
    weights = rng.dirichlet(np.ones(K))
    means = rng.normal(size=(K, d))
    covariances = random_covariances(rng, K, d, covariance_type, ridge=0.5)
    ours = log_prior(weights, means, covariances, prior, covariance_type)
    reference = scipy_log_prior(weights, means, covariances, prior, covariance_type)
    assert ours == pytest.approx(reference, rel=1e-10, abs=1e-10)


# ------------------------------------------------------- no silent wrong answers (issue 21)
def test_log_prior_of_a_negative_definite_covariance_is_minus_infinity():
    """In even dimension a negative-definite matrix has a positive determinant: the sign
    alone let it through, with a finite log prior."""
    prior = default_prior(np.random.RandomState(0).normal(size=(50, 2)), "full", 1)
    negative = -np.eye(2)[None]
    assert log_prior(np.ones(1), np.zeros((1, 2)), negative, prior, "full") == -np.inf
    tied = default_prior(np.random.RandomState(0).normal(size=(50, 2)), "tied", 1)
    assert log_prior(np.ones(1), np.zeros((1, 2)), -np.eye(2), tied, "tied") == -np.inf


def test_the_default_prior_says_why_weights_summing_to_one_do_not_work():
    X = np.random.RandomState(0).normal(size=(100, 2))
    with pytest.raises(ValueError, match="sum to at most 1"):
        GaussianMixture(2, prior="default").fit(X, sample_weight=np.full(100, 0.01))


def test_a_scale_that_is_not_finite_is_named():
    with pytest.raises(ValueError, match="must be finite"):
        default_prior(
            np.random.RandomState(0).normal(size=(50, 2)),
            "full",
            2,
            ConjugatePrior(scale=np.full((2, 2), np.nan)),
        )


@pytest.mark.parametrize(
    "X",
    [
        np.random.RandomState(0).normal(size=(3, 5)),  # fewer rows than features
        np.column_stack([np.random.RandomState(1).normal(size=50), np.ones(50)]),  # constant
        np.array([[0.0, 1.0], [2.0, 3.0]]),  # two rows
    ],
    ids=["n<d", "constant column", "two rows"],
)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_default_prior_fits_data_whose_covariance_is_singular(X, covariance_type):
    """mclust's defaultPrior takes diag(var) when n <= d; a zero variance gets the others'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(1, covariance_type=covariance_type, prior="default").fit(X)
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.covariances_))


def test_priors_with_array_fields_compare_by_value():
    a = ConjugatePrior(mean=np.zeros(2), scale=np.eye(2))
    assert a == ConjugatePrior(mean=np.zeros(2), scale=np.eye(2))
    assert a != ConjugatePrior(mean=np.ones(2), scale=np.eye(2))
    assert a != ConjugatePrior()
