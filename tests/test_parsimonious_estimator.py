"""mclust's fourteen models in the estimator, EM, the prior, model selection and plotting.

The maths of each M-step is tested in ``tests/test_parsimonious.py``; here, through the
public names:

* EM from the same start through :class:`gmmlib.GaussianMixture` matches mclust 6.0.0's
  ``me()`` (``tests/mclust/reference.json``) for every model, VVE with
  ``m_step_options={"vve": "mclust"}``; the parameter counts match ``nMclustParams``;
* the log-likelihood never decreases (hypothesis, every model), and the log posterior
  with the prior; the MAP M-step matches mclust's ``mstep(prior = priorControl())``;
* every model fits in memory, on threads, with weights, in float32 and on Dask, and
  predicts, scores, samples, sorts, plots; scikit-learn's four are the models VII, VVI,
  EEE, VVV; ``select_model`` searches all fourteen and draws mclust's BIC picture.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_estimator

from gmmlib import COVARIANCE_TYPES, GaussianMixture, em, select_model, sort_components
from gmmlib import parsimonious as pars
from gmmlib.datasets import gaussian_clusters
from gmmlib.plotting import plot_bic_by_model, plot_gmm
from gmmlib.prior import MCLUST_MAP, NO_PRIOR_MODELS, ConjugatePrior, default_prior, log_prior

REFERENCE = json.loads((Path(__file__).parent / "mclust" / "reference.json").read_text())
CASES = {case["name"]: case for case in REFERENCE["cases"]}
MODELS = pars.MODEL_NAMES
EXAMPLES = min(int(os.environ.get("HYPOTHESIS_EXAMPLES", 25)), 25)


def array(tensor: dict) -> np.ndarray:
    return np.array(tensor["data"], dtype=np.float64).reshape(tensor["shape"])


def relative_error(actual, expected) -> float:
    """The largest entry error of each component's array relative to its largest entry."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    K = expected.shape[0]
    scale = np.abs(expected).reshape(K, -1).max(axis=1)
    return float((np.abs(actual - expected).reshape(K, -1).max(axis=1) / scale).max())


def precisions(model: str, covariances: np.ndarray) -> np.ndarray:
    """The precisions of covariances stored as ``model`` stores them."""
    if pars.MODELS[model].storage == "diagonal":
        return 1.0 / covariances
    return np.linalg.inv(covariances)


def start_from(X, resp, model, **options):
    """``weights_init``, ``means_init``, ``precisions_init`` of the M-step from ``resp``
    (gmmlib.em.m_step, mclust's cold start, as me() begins)."""
    weights, means, covariances = em.m_step(X, resp, model, reg_covar=0.0, **options)
    return {
        "weights_init": weights,
        "means_init": means,
        "precisions_init": precisions(model, covariances),
    }


@pytest.fixture(scope="module")
def clusters() -> np.ndarray:
    return gaussian_clusters(300, 2, 3, random_state=7)[0]


def quiet_fit(model: GaussianMixture, X, **fit_params) -> GaussianMixture:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **fit_params)


# ----------------------------------------------------------------------------- the names
def test_covariance_types_are_sklearns_four_and_mclusts_fourteen():
    assert COVARIANCE_TYPES == ("full", "tied", "diag", "spherical", *MODELS)
    with pytest.raises(ValueError, match="VVV"):
        GaussianMixture(covariance_type="vvv").fit(np.eye(3))


# ----------------------------------------------------------------- EM against mclust's me()
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_em_through_the_estimator_matches_mclust_me(name, model):
    """From mclust's responsibilities (the M-step, then EM to convergence, reg_covar=0),
    GaussianMixture ends where me() ends: the log-likelihood to 1e-12 relative (measured:
    6e-14 at worst), the parameters to 1e-6 (measured: 5e-7 at worst, faithful-K3 EVE;
    me() itself is at its fixed point to about 1e-7, see tests/mclust/make_reference.R)."""
    case = CASES[name]
    X, z = array(case["X"]), array(case["z"])
    K = z.shape[1]
    reference = case["me"][model]
    options = {"vve": "mclust"}  # mclust's VVE M-step; the other models ignore it
    fitted = GaussianMixture(
        K,
        covariance_type=model,
        reg_covar=0.0,
        tol=1e-15,
        max_iter=20_000,
        m_step_options=options,
        **start_from(X, z, model, m_step_options=options),
    ).fit(X)
    assert fitted.converged_
    log_likelihood = fitted.score(X) * X.shape[0]
    assert log_likelihood == pytest.approx(reference["loglik"], rel=1e-12)
    np.testing.assert_allclose(fitted.weights_, reference["pro"], rtol=0, atol=1e-6)
    assert relative_error(fitted.means_, array(reference["mean"])) < 1e-6
    covariances = pars.full_covariances(model, fitted.covariances_, K)
    assert relative_error(covariances, array(reference["sigma"])) < 1e-6
    # me() took about as many iterations (its stopping rule is relative, ours absolute)
    assert abs(fitted.n_iter_ - reference["iterations"]) <= 0.2 * reference["iterations"] + 45


@pytest.mark.parametrize(
    "row",
    [r for r in REFERENCE["n_parameters"] if r["d"] <= 4 and r["G"] <= 5],
    ids=lambda r: f"{r['model']}-d{r['d']}-G{r['G']}",
)
def test_parameter_counts_match_mclust(row):
    model, d, K = row["model"], int(row["d"]), int(row["G"])
    X = np.random.default_rng(0).normal(size=(40, d))
    fitted = GaussianMixture(K, covariance_type=model, max_iter=0).fit(X)
    assert fitted.n_parameters() == row["nMclustParams"]
    log_likelihood = fitted.score(X) * len(X)
    assert fitted.bic(X) == pytest.approx(
        -2 * log_likelihood + row["nMclustParams"] * math.log(len(X)), rel=1e-12
    )


# ------------------------------------------------------- the log-likelihood never decreases
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    model=st.sampled_from(MODELS),
    n_components=st.integers(2, 3),
    weighted=st.booleans(),
)
def test_the_log_likelihood_never_decreases(seed, model, n_components, weighted):
    """reg_covar=0, a random start: every EM iteration of every model is a (generalised)
    EM step; VVE by the likelihood's M-step (mclust's can go down, test_parsimonious.py)."""
    X = gaussian_clusters(120, 2, n_components, random_state=seed)[0]
    weight = np.random.default_rng(seed).integers(1, 4, size=len(X)) if weighted else None
    mixture = GaussianMixture(
        n_components,
        covariance_type=model,
        reg_covar=0.0,
        tol=0.0,
        max_iter=15,
        init_params="random",
        random_state=seed,
    )
    try:
        quiet_fit(mixture, X, sample_weight=weight)
    except ValueError as error:  # a component collapsed: nothing to check
        assume("Fitting failed" not in str(error))
        raise
    bounds = np.array(mixture.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-12 * max(1.0, abs(bounds[0]))), np.diff(bounds).min()


# ------------------------------------------------- scikit-learn's four are mclust's four
@pytest.mark.parametrize(
    ("covariance_type", "model"), [(t, m) for t, m in pars.SKLEARN_EQUIVALENTS.items()]
)
def test_sklearn_types_are_the_same_models(covariance_type, model, clusters):
    """spherical = VII, diag = VVI, tied = EEE, full = VVV: from the same start, 20
    iterations agree to 1e-10 (two code paths, the same maths)."""
    params = dict(tol=0.0, max_iter=20, reg_covar=1e-6, random_state=0)
    ours = quiet_fit(GaussianMixture(3, covariance_type=model, **params), clusters)
    theirs = quiet_fit(GaussianMixture(3, covariance_type=covariance_type, **params), clusters)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-10)
    expected = theirs.covariances_
    if covariance_type == "spherical":  # stored (K,) by scikit-learn's name, (K, d) by VII's
        expected = np.repeat(expected[:, None], 2, axis=1)
    np.testing.assert_allclose(ours.covariances_, expected, rtol=1e-10)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-12)


# ---------------------------------------------------------------- everything else works
@pytest.mark.parametrize("model", MODELS)
def test_every_model_predicts_scores_samples_and_sorts(model, clusters):
    fitted = GaussianMixture(3, covariance_type=model, random_state=0).fit(clusters)
    storage = {"diagonal": (3, 2), "shared": (2, 2), "full": (3, 2, 2)}
    assert fitted.covariances_.shape == storage[pars.MODELS[model].storage]
    assert fitted.precisions_.shape == fitted.covariances_.shape
    matrices = pars.full_covariances(model, fitted.covariances_, 3)
    np.testing.assert_allclose(
        pars.full_covariances(model, fitted.precisions_, 3),
        np.linalg.inv(matrices),
        rtol=1e-10,
        atol=1e-12,
    )
    # the constraints hold in the fitted model
    volume, shape, _ = pars.volume_shape_orientation(matrices)
    if model[0] == "E":
        np.testing.assert_allclose(volume, volume[0], rtol=1e-8)
    if model[1] == "I":
        np.testing.assert_allclose(shape, 1.0, rtol=1e-8)
    proba = fitted.predict_proba(clusters)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(fitted.predict(clusters), proba.argmax(axis=1))
    assert np.isfinite(fitted.score_samples(clusters)).all()
    assert np.isfinite(fitted.bic(clusters)) and np.isfinite(fitted.aic(clusters))
    points, labels = fitted.sample(4000)
    assert points.shape == (4000, 2) and np.bincount(labels, minlength=3).sum() == 4000
    for k in range(3):  # each component's sample has its covariance (loosely: 4000 points)
        own = points[labels == k]
        if len(own) > 400:
            np.testing.assert_allclose(np.cov(own.T), matrices[k], atol=0.25 * matrices[k].max())
    ordered = sort_components(fitted, by="weight")
    np.testing.assert_allclose(ordered.score_samples(clusters), fitted.score_samples(clusters))
    assert np.all(np.diff(ordered.weights_) <= 0)
    artists = plot_gmm(fitted, clusters)
    assert len(artists.ellipses) == 3


@pytest.mark.parametrize("model", ["VEI", "EVE", "EEV", "EEE", "EII"])
def test_threads_weights_and_float32(model, clusters):
    """n_jobs does not change a bit; integer weights are repeated rows; float32 data give a
    float32 model close to the float64 one."""
    params = dict(covariance_type=model, tol=0.0, max_iter=15, random_state=0)
    one = quiet_fit(GaussianMixture(3, n_jobs=1, **params), clusters)
    two = quiet_fit(GaussianMixture(3, n_jobs=2, **params), clusters)
    assert np.array_equal(one.covariances_, two.covariances_)
    assert np.array_equal(one.means_, two.means_)
    start = {
        "weights_init": one.weights_,
        "means_init": one.means_,
        "precisions_init": one.precisions_,
    }
    counts = np.random.default_rng(1).integers(0, 3, size=len(clusters))
    weighted = quiet_fit(GaussianMixture(3, **params, **start), clusters, sample_weight=counts)
    repeated = quiet_fit(GaussianMixture(3, **params, **start), np.repeat(clusters, counts, 0))
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    single = quiet_fit(GaussianMixture(3, **params, **start), clusters.astype(np.float32))
    double = quiet_fit(GaussianMixture(3, **params, **start), clusters)
    assert single.covariances_.dtype == np.float32
    np.testing.assert_allclose(single.covariances_, double.covariances_, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("model", ["VII", "VEI", "EEE", "VEE", "VVE", "EVV"])
def test_dask_fits_as_in_memory(model, clusters):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    start = start_from(clusters, np.eye(3)[np.arange(len(clusters)) % 3], model)
    params = dict(covariance_type=model, tol=0.0, max_iter=10, **start)
    memory = quiet_fit(GaussianMixture(3, **params), clusters)
    with dask.config.set(scheduler="synchronous"):
        lazy = quiet_fit(GaussianMixture(3, **params), da.from_array(clusters, chunks=70))
    np.testing.assert_allclose(lazy.covariances_, memory.covariances_, rtol=1e-10)
    np.testing.assert_allclose(lazy.means_, memory.means_, rtol=1e-10)
    np.testing.assert_allclose(lazy.lower_bounds_, memory.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("model", ["EEV", "VEI", "EVE"])
def test_check_estimator(model):
    """EVE with at most 50 sweeps per M-step: scikit-learn's weight check fits 15 points in
    30 dimensions, where the scatters are singular but for reg_covar and the majorisation
    for the common orientation crawls (1000 sweeps, 3 s, per M-step)."""
    options = {"max_iter": 50} if model == "EVE" else None
    check_estimator(
        GaussianMixture(2, covariance_type=model, m_step_options=options),
        expected_failed_checks={
            "check_sample_weight_equivalence_on_dense_data": (
                "the k-means start depends on the order of the rows "
                "(tests/test_estimator_checks.py)"
            )
        },
    )


def test_warm_start_continues_each_m_step(clusters):
    """A fit continued (warm_start) from a converged VVE fit stays where it is: the first
    M-step continues from the fitted covariances, not from mclust's cold start."""
    params = dict(covariance_type="VVE", tol=1e-12, max_iter=2000, random_state=0)
    fitted = GaussianMixture(3, **params).fit(clusters)
    before = fitted.lower_bound_
    fitted.set_params(warm_start=True, max_iter=3, tol=0.0)
    quiet_fit(fitted, clusters)
    assert np.diff(fitted.lower_bounds_).min() >= -1e-13
    assert fitted.lower_bound_ == pytest.approx(before, abs=1e-11)


def test_m_step_options_are_checked_and_used(clusters):
    for options, message in [
        ({"tolerance": 1e-3}, "m_step_options must be None or a dict"),
        ({"vve": "best"}, "vve must be 'likelihood' or 'mclust'"),
        ({"max_iter": 0}, "max_iter must be a positive integer"),
        ([("tol", 1.0)], "m_step_options must be None or a dict"),
    ]:
        with pytest.raises(ValueError, match=message):
            GaussianMixture(2, covariance_type="VEE", m_step_options=options).fit(clusters)
    params = dict(covariance_type="VVE", random_state=0, tol=1e-10, max_iter=500)
    likelihood = GaussianMixture(3, **params).fit(clusters)
    mclust = GaussianMixture(3, **params, m_step_options={"vve": "mclust"}).fit(clusters)
    assert not np.allclose(likelihood.covariances_, mclust.covariances_, rtol=1e-6)


# ---------------------------------------------------------------------------- the prior
@pytest.mark.parametrize("model", sorted(MCLUST_MAP))
def test_map_m_step_matches_mclust(model):
    """gmmlib.em.m_step with default_prior (mclust's defaultPrior) is mclust's
    mstep(prior = priorControl()) for the ten models that have a prior (EII: mclust loses
    about 1e-8 relative, expanding |xbar - mu_p|^2 as a difference of squares)."""
    reference = REFERENCE["prior"]["models"][model]
    case = CASES[REFERENCE["prior"]["case"]]
    X, z = array(case["X"]), array(case["z"])
    prior = default_prior(X, model, z.shape[1])
    np.testing.assert_allclose(prior.mean, reference["prior_mean"], rtol=1e-14)
    assert (prior.shrinkage, prior.dof) == (reference["shrinkage"], reference["dof"])
    scale = array(reference["scale"])
    expected_scale = np.full(X.shape[1], scale[0, 0]) if scale.size == 1 else scale
    np.testing.assert_allclose(prior.scale, expected_scale, rtol=1e-12)
    weights, means, covariances = em.m_step(
        X, z, model, reg_covar=0.0, prior=prior, m_step_options={"tol": 1e-13, "max_iter": 10**4}
    )
    np.testing.assert_allclose(weights, reference["pro"], rtol=1e-12)
    expected_means = array(reference["mean"])
    if model == "EEI":  # mclust leaves EEI's means unshrunk; gmmlib shrinks them (README)
        counts = z.sum(axis=0)
        kappa, mu_p = prior.shrinkage, prior.mean
        expected_means = (counts[:, None] * expected_means + kappa * mu_p) / (counts + kappa)[
            :, None
        ]
        assert np.abs(means - array(reference["mean"])).max() > 1e-6
    np.testing.assert_allclose(means, expected_means, rtol=1e-12)
    full = pars.full_covariances(model, covariances, z.shape[1])
    assert relative_error(full, array(reference["sigma"])) < (1e-7 if model == "EII" else 1e-10)


@pytest.mark.parametrize("model", sorted(MCLUST_MAP))
def test_map_em_never_lowers_the_log_posterior(model, clusters):
    """MAP-EM with the default prior (reg_covar=0): the mean log posterior never falls
    (with mclust's EEI means, unshrunk, it fell by 1.5e-8 here; gmmlib shrinks them)."""
    fitted = quiet_fit(
        GaussianMixture(
            3,
            covariance_type=model,
            prior="default",
            reg_covar=0.0,
            tol=0.0,
            max_iter=40,
            init_params="random",
            random_state=1,
        ),
        clusters,
    )
    steps = np.diff(fitted.lower_bounds_)
    assert steps.min() >= -1e-12 * abs(fitted.lower_bounds_[0]), steps.min()


def test_log_prior_of_sklearns_four_by_their_mclust_names(clusters):
    """VII, VVI, EEE and VVV have the prior (and log prior) of spherical, diag, tied and full."""
    fitted = GaussianMixture(3, covariance_type="full", random_state=0).fit(clusters)
    weights, means, matrices = fitted.weights_, fitted.means_, fitted.covariances_
    variances = np.array([np.trace(c) / 2 for c in matrices])
    for model, kind, covariances, own in [
        ("VVV", "full", matrices, matrices),
        ("EEE", "tied", matrices[0], matrices[0]),
        ("VVI", "diag", np.diagonal(matrices, axis1=1, axis2=2), None),
        ("VII", "spherical", np.repeat(variances[:, None], 2, axis=1), variances),
    ]:
        own = covariances if own is None else own
        ours = default_prior(clusters, model, 3)
        theirs = default_prior(clusters, kind, 3)
        assert log_prior(weights, means, covariances, ours, model) == pytest.approx(
            log_prior(weights, means, own, theirs, kind), rel=1e-12
        )


@pytest.mark.parametrize("model", NO_PRIOR_MODELS)
def test_models_without_a_prior_say_so(model, clusters):
    with pytest.raises(ValueError, match=f"Model {model} has no conjugate prior"):
        GaussianMixture(2, covariance_type=model, prior="default").fit(clusters)
    with pytest.raises(ValueError, match="has no conjugate prior"):
        default_prior(clusters, model, 2)
    with pytest.raises(ValueError, match="has no conjugate prior"):
        GaussianMixture(2, covariance_type=model, prior=ConjugatePrior(shrinkage=0.1)).fit(clusters)


# ------------------------------------------------------------------- model selection
@pytest.fixture(scope="module")
def all_models(clusters):
    return select_model(clusters, range(1, 4), "all", n_init=1, random_state=0)


def test_select_model_searches_all_fourteen(all_models):
    table = all_models.table
    assert list(dict.fromkeys(table["covariance_type"])) == list(MODELS)
    assert len(table) == 3 * 14
    for _, row in table.iterrows():
        K, model = int(row["n_components"]), row["covariance_type"]
        assert row["n_parameters"] == pars.n_parameters(model, K, 2)
    best = table.loc[table["bic"].where(~table["degenerate"]).idxmin()]
    assert all_models.best_params_ == {
        "n_components": int(best["n_components"]),
        "covariance_type": best["covariance_type"],
    }
    # one component: every model with a matrix (or every diagonal model) is the same
    ones = table[table["n_components"] == 1].set_index("covariance_type")["log_likelihood"]
    np.testing.assert_allclose(ones[["VEE", "EVE", "VVE", "EEV", "VEV", "EVV"]], ones["EEE"])
    np.testing.assert_allclose(ones[["VEI", "EVI", "VVI"]], ones["EEI"])


def test_select_model_with_a_prior_leaves_out_the_four_without(clusters):
    selection = select_model(clusters, [2], "all", n_init=1, random_state=0, prior="default")
    assert set(selection.table["covariance_type"]) == set(MODELS) - set(NO_PRIOR_MODELS)
    with pytest.raises(ValueError, match="VEE, which has no conjugate prior"):
        select_model(clusters, [2], ("VVV", "VEE"), prior="default")


def test_bic_by_model_picture(all_models):
    table = all_models.table
    artists = all_models.plot(kind="models")
    assert list(artists.lines) == list(MODELS)
    for model, line in artists.lines.items():
        rows = table[table["covariance_type"] == model].sort_values("n_components")
        np.testing.assert_array_equal(line.get_xdata(), rows["n_components"])
        np.testing.assert_allclose(line.get_ydata(), rows["bic"])
    best = table.iloc[all_models.best_index_]
    assert artists.best.get_ydata()[0] == best["bic"]
    assert "lower is better" in artists.lines["EII"].axes.get_ylabel()
    flipped = plot_bic_by_model(table, criterion="icl", mclust_sign=True)
    np.testing.assert_allclose(
        flipped.lines["VVV"].get_ydata(),
        -table[table["covariance_type"] == "VVV"].sort_values("n_components")["icl"],
    )
    assert "higher is better" in flipped.lines["VVV"].axes.get_ylabel()
    with pytest.raises(ValueError, match="kind must be"):
        all_models.plot(kind="bars")
    with pytest.raises(ValueError, match="criterion must be one of"):
        plot_bic_by_model(table, criterion="cv_log_likelihood")


def test_a_collapse_is_a_degenerate_fit():
    """A component on points in a line, reg_covar=0: the models whose M-step needs the
    scatters positive definite raise a DegenerateFitError, the ValueError that
    select_model recognises as a collapse (as the others do when the covariance is
    inverted)."""
    from gmmlib._covariance import DegenerateFitError

    rng = np.random.default_rng(0)
    line = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)]) + 50
    X = np.vstack([rng.normal(size=(60, 2)), line])
    resp = np.zeros((len(X), 2))
    resp[:60, 0] = resp[60:, 1] = 1
    for model in ("VEE", "EVE", "VVE", "EEV", "VEV", "EVV"):  # the estimator's M-step
        with pytest.raises(DegenerateFitError, match="Fitting failed"):
            em.m_step(X, resp, model, reg_covar=0.0)


def test_the_classifier_takes_every_model():
    from gmmlib import MixtureClassifier

    X, y = gaussian_clusters(300, 2, 3, random_state=3)
    for model in ("EEE", "VEV", "EII"):
        classifier = MixtureClassifier(covariance_type=model).fit(X, y)
        assert classifier.score(X, y) > 0.8
