"""GaussianMixture and sort_components: scikit-learn's conventions, the checks of every
argument, awkward data, the start ``fit`` keeps, float32, and sample weights (a weight
counts how often a row is repeated)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import fit_quietly, model_covariance_matrices
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture, datasets, sort_components
from gmmlib.datasets import gaussian_clusters
from gmmlib.mixture import TIE_RTOL, precisions_of_variances

# The one use of a private name outside the private modules' own tests: which run ``fit``
# keeps is decided from the runs' final bounds, and no public call sets a run's bound.
from gmmlib.mixture import _kept_run, _Run  # isort: skip


# ------------------------------------------------------------- scikit-learn's conventions


#: scikit-learn's check compares weights with repeated rows *in shuffled order*; EM is
#: started from k-means on the rows, whose result depends on their order, so the two fits
#: may end on different local optima. From the same start they agree (the sample-weight
#: tests below), which is the equivalence gmmlib promises (README).
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the k-means start depends on the order of the rows; from the same start, weights "
        "and repeated rows give the same model (tests/test_mixture.py)"
    )
}


def test_check_estimator_passes():
    check_estimator(GaussianMixture(), expected_failed_checks=EXPECTED_FAILED)


def test_check_estimator_passes_with_the_default_prior():
    """prior="default" refused n <= d, a constant column or two rows (issue 21)."""
    check_estimator(GaussianMixture(prior="default"), expected_failed_checks=EXPECTED_FAILED)


def test_check_estimator_passes_for_other_covariance_types():
    for covariance_type in ("tied", "diag", "spherical"):
        check_estimator(
            GaussianMixture(2, covariance_type=covariance_type),
            expected_failed_checks=EXPECTED_FAILED,
        )


def test_clone_keeps_parameters_and_drops_fit(blobs):
    model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(blobs)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "means_")


def test_pipeline_and_grid_search(blobs):
    pipeline = make_pipeline(StandardScaler(), GaussianMixture(random_state=0))
    search = GridSearchCV(
        pipeline,
        {"gaussianmixture__n_components": [1, 2, 3, 4]},
        cv=KFold(3, shuffle=True, random_state=0),  # the rows are sorted by cluster
    ).fit(blobs)
    # Held-out log-likelihood prefers the true three clusters over one or two.
    assert search.best_params_["gaussianmixture__n_components"] >= 3
    assert np.isfinite(search.best_score_)


def test_fit_returns_self_and_sets_trailing_underscore_attributes(blobs):
    model = GaussianMixture(3, random_state=0)
    assert model.fit(blobs) is model
    for name in (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
        "converged_",
        "n_iter_",
        "lower_bound_",
        "lower_bounds_",
        "n_features_in_",
    ):
        assert hasattr(model, name), name
    assert len(model.lower_bounds_) == model.n_iter_
    assert model.lower_bound_ == model.lower_bounds_[-1]


# ------------------------------------------------------ bad input gets a clear ValueError


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.array([[0.0, np.nan]] * 5), "NaN"),
        (np.array([[0.0, np.inf]] * 5), "infinity"),
        (np.array([["a", "b"]] * 5), "string"),
        (np.empty((0, 2)), "0 sample"),
        (np.zeros((5, 0)), "0 feature"),
        (np.arange(5.0), "Expected 2D array"),
        (np.zeros((5, 2, 2)), "dim 3"),
        (np.zeros((1, 2)), "minimum of 2"),
    ],
)
def test_bad_data_is_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture().fit(bad)


def test_more_components_than_samples():
    with pytest.raises(ValueError, match="n_components=5 is larger than the number of samples"):
        GaussianMixture(5).fit(np.zeros((4, 2)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_components": 0}, "n_components must be >= 1"),
        ({"n_components": 2.5}, "n_components must be a finite int"),
        ({"covariance_type": "round"}, "covariance_type must be one of"),
        ({"tol": -1.0}, "tol must be >= 0"),
        ({"reg_covar": -1e-6}, "reg_covar must be >= 0"),
        ({"reg_covar": np.nan}, "reg_covar must be a finite float"),
        ({"max_iter": -1}, "max_iter must be >= 0"),
        ({"n_init": 0}, "n_init must be >= 1"),
        ({"init_params": "kmedoids"}, "init_params must be one of"),
        ({"verbose_interval": 0}, "verbose_interval must be >= 1"),
        ({"warm_start": "yes"}, "warm_start must be True or False"),
        ({"random_state": "seed"}, "cannot be used to seed"),
    ],
)
def test_invalid_parameters_are_named(X, params, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**params).fit(X)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"weights_init": [0.5, 0.6]}, "must sum to 1"),
        ({"weights_init": [1.5, -0.5]}, r"must lie in \[0, 1\]"),
        ({"weights_init": [1.0]}, r"weights_init has shape \(1,\).*shape \(2,\)"),
        ({"means_init": np.zeros((2, 3))}, r"means_init has shape \(2, 3\).*shape \(2, 2\)"),
        ({"means_init": [[0, np.nan], [1, 1]]}, "NaN or infinity"),
        ({"precisions_init": np.ones((2, 2, 2))}, "positive definite"),
        ({"precisions_init": np.eye(2)}, r"precisions_init has shape \(2, 2\).*\(2, 2, 2\)"),
        ({"precisions_init": [-1.0, 1.0], "covariance_type": "spherical"}, "must be positive"),
        ({"precisions_init": [[1, 2], [0, 1]], "covariance_type": "tied"}, "symmetric"),
        ({"weights_init": ["a", "b"]}, "array of numbers"),
    ],
)
def test_inconsistent_initial_parameters(X, params, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, **params).fit(X)


def test_predict_with_the_wrong_number_of_features(X):
    model = GaussianMixture(2, random_state=0).fit(X)
    for method in (model.predict, model.predict_proba, model.score_samples, model.score):
        with pytest.raises(
            ValueError, match="X has 3 features, but GaussianMixture is expecting 2"
        ):
            method(np.zeros((4, 3)))


@pytest.mark.parametrize("n_samples", [0, -3, 2.5, True, "3"])
def test_sample_needs_a_whole_positive_count(X, n_samples):
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="n_samples must be a whole number of samples, at least 1"):
        model.sample(n_samples)


def test_sample_takes_a_whole_float_like_sklearn(X):
    model = GaussianMixture(2, random_state=0).fit(X)
    drawn, labels = model.sample(3.0)
    assert drawn.shape == (3, 2) and labels.shape == (3,)
    np.testing.assert_array_equal(drawn, model.sample(3)[0])


def test_verbose_true_prints_progress(X, capsys):
    GaussianMixture(2, verbose=True, verbose_interval=1, max_iter=3, random_state=0).fit(X)
    printed = capsys.readouterr().out
    assert "Initialization 0" in printed and "Iteration 1" in printed


def test_using_an_unfitted_model_says_fit_first(X):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="fit"):
        GaussianMixture().predict(X)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "two", True])
def test_bad_n_jobs_is_refused(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        GaussianMixture(2, n_jobs=n_jobs).fit(np.random.RandomState(0).normal(size=(20, 2)))


# ----------------------------------------------- awkward but valid data gets a finite fit


def awkward_data() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(0)
    base = rng.normal(size=(60, 3))
    constant_column = base.copy()
    constant_column[:, 1] = 7.0
    duplicates = np.vstack([np.repeat(base[:3], 30, axis=0), base[:10]])
    return {
        "constant column": constant_column,
        "all points equal": np.ones((40, 3)),
        "many duplicates": duplicates,
        "huge values": base * 1e12,
        "huge offset": base + 1e12,
        "tiny values": base * 1e-12,
        "float32": base.astype(np.float32),
        "integers": rng.randint(0, 3, size=(60, 3)),
        "more features than samples": rng.normal(size=(8, 20)),
        "squares overflow": base * 1e155,
        "near the largest float": base * 1e300,
    }


#: What each awkward data set must give, for every covariance type: a finite model, or a
#: ValueError whose message contains the given words (it must say what to do).
AWKWARD_OUTCOMES = {
    "constant column": "fit",
    "all points equal": "fit",
    "many duplicates": "fit",
    "huge values": "fit",
    "huge offset": "fit",
    "tiny values": "fit",
    "float32": "fit",
    "integers": "fit",
    "more features than samples": "fit",
    "squares overflow": "Rescale the data",
    "near the largest float": "Rescale the data",
}


def test_every_awkward_data_set_has_a_stated_outcome():
    assert set(AWKWARD_OUTCOMES) == set(awkward_data())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", list(awkward_data()))
def test_awkward_data_gives_the_stated_outcome(name, covariance_type):
    data = awkward_data()[name]
    model = GaussianMixture(3, covariance_type=covariance_type, n_init=2, random_state=0)
    expected = AWKWARD_OUTCOMES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if expected != "fit":
            with pytest.raises(ValueError, match=expected):
                model.fit(data)
            return
        model.fit(data)
    for name_ in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name_))), name_
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.score_samples(data)))
    proba = model.predict_proba(data)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # float32 data give float32 attributes, as in scikit-learn; everything else float64
    expected_dtype = np.float32 if data.dtype == np.float32 else np.float64
    assert model.means_.dtype == expected_dtype
    assert proba.dtype == expected_dtype


def test_a_point_no_component_can_explain_scores_minus_infinity():
    """Its density underflows under every component: -inf (as in scikit-learn), never a
    finite number; its probabilities are the weights, not NaN."""
    X = np.random.RandomState(1).normal(size=(100, 2))
    for covariance_type in COVARIANCE_TYPES:
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
        far, near = model.score_samples([[1e155, 0.0], [40.0, 0.0]])
        assert far == -np.inf and np.isfinite(near)
        proba = model.predict_proba([[1e155, 0.0]])
        np.testing.assert_allclose(proba[0], model.weights_)
        assert model.predict([[1e155, 0.0]])[0] == np.argmax(model.weights_)
        assert model.score([[1e155, 0.0], [0.0, 0.0]]) == -np.inf


# -------------------------------------------------------------------- the start fit keeps
# Which of several starts ``fit`` keeps (n_init > 1): the earliest that ties with the best.
# Starts that end at the same optimum differ in their final bound only in the last bits, and
# those depend on the CPU's BLAS kernels. Keeping the strictly highest, as scikit-learn does,
# would pick a different start (often a relabelling) on different machines.
def run(bound: float) -> _Run:
    return _Run(None, bound, [bound], 3, True)


def test_the_earliest_of_tied_runs_is_kept():
    runs = [run(-2.0), run(-1.5), run(-1.5 + 1e-12), run(-1.5 - 1e-12)]
    assert _kept_run(runs, max_iter=100) is runs[1]


def test_a_clearly_better_later_run_is_kept():
    runs = [run(-1.5), run(-1.5 + 1e-6), run(-1.7)]
    assert _kept_run(runs, max_iter=100) is runs[1]


def test_the_tie_margin_is_relative_for_large_bounds():
    best = -1e6
    runs = [run(best - 0.5 * TIE_RTOL * 1e6), run(best)]
    assert _kept_run(runs, max_iter=100) is runs[0]
    runs = [run(best - 2 * TIE_RTOL * 1e6), run(best)]
    assert _kept_run(runs, max_iter=100) is runs[1]


def test_with_max_iter_zero_the_last_start_is_kept():
    runs = [run(-np.inf), run(-np.inf)]
    assert _kept_run(runs, max_iter=0) is runs[1]


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_a_symmetric_problem_gives_the_same_model_whatever_the_last_bits(covariance_type):
    """Four equal, symmetric blobs: many starts reach the same optimum up to relabelling.
    Perturbing the data in the last bits (as another BLAS kernel would perturb sums) must not
    change which start is kept, so the components come out in the same order."""
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    X = np.vstack([c + rng.normal(size=(150, 2)) for c in centres])
    bumped = X * (1 + 1e-15 * rng.choice([-1.0, 1.0], size=X.shape))
    fits = [
        GaussianMixture(
            4, covariance_type=covariance_type, n_init=10, tol=1e-8, max_iter=500, random_state=3
        ).fit(data)
        for data in (X, bumped)
    ]
    np.testing.assert_allclose(fits[0].means_, fits[1].means_, atol=1e-6)


# -------------------------------------------------------------------------------- float32


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_reaches_the_float64_log_likelihood_on_well_conditioned_data(covariance_type):
    """The issue's bar: within 1e-5 relative of the float64 fit from the same start."""
    X = datasets.blobs(5000, random_state=4)[0]
    start = {
        "weights_init": np.full(4, 0.25),
        "means_init": X[[0, 1000, 2000, 3000]],
        "precisions_init": precisions_of_variances(X.var(axis=0), covariance_type, 4),
    }
    fits = {}
    for dtype in (np.float64, np.float32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[dtype] = GaussianMixture(
                4, covariance_type=covariance_type, max_iter=50, tol=0, **start
            ).fit(X.astype(dtype))
    assert fits[np.float32].means_.dtype == np.float32
    single, double = fits[np.float32].lower_bound_, fits[np.float64].lower_bound_
    assert abs(single - double) <= 1e-5 * abs(double)


# ------------------------------------------------------------------------- sample weights


PARAMETERS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def fit(X, sample_weight=None, **params):
    return fit_quietly(GaussianMixture(**params), X, sample_weight)


def short_run(seed, covariance_type, init_params) -> dict:
    """Twenty iterations from a seeded start, whatever the change in the bound."""
    return dict(
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=seed,
        max_iter=20,
        tol=0.0,
    )


def assert_same_model(a, b, rtol=1e-10):
    """The parameters agree to ``rtol`` of their largest entry. The precisions' Cholesky
    factors are computed from the covariances, which amplifies their rounding by up to the
    condition number (a component on two points in the plane has one of 1e7), so they are
    held to ``rtol`` times it."""
    matrices = model_covariance_matrices(b)
    condition = float(np.linalg.cond(matrices).max())
    for name in PARAMETERS:
        expected = getattr(b, name)
        scale = np.abs(expected).max() * (condition if name == "precisions_cholesky_" else 1.0)
        np.testing.assert_allclose(
            getattr(a, name), expected, rtol=0, atol=rtol * scale, err_msg=name
        )
    assert a.n_iter_ == b.n_iter_


@given(
    seed=st.integers(0, 2**31 - 1),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++"]),
)
def test_integer_weights_are_repeated_rows(seed, covariance_type, init_params):
    """From the k-means and k-means++ starts, which weigh the rows; "random" and
    "random_from_data" draw rows, so repeated rows change the draw itself."""
    X = gaussian_clusters(90, 2, 3, random_state=seed)[0]
    counts = np.random.RandomState(seed).randint(1, 4, size=len(X))
    params = short_run(seed, covariance_type, init_params)
    assert_same_model(fit(X, counts, **params), fit(np.repeat(X, counts, axis=0), **params))


@given(
    seed=st.integers(0, 2**31 - 1),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++", "random_from_data"]),
)
def test_zero_weights_remove_rows(seed, covariance_type, init_params):
    X = gaussian_clusters(90, 2, 3, random_state=seed)[0]
    keep = np.random.RandomState(seed).rand(len(X)) < 0.7
    params = short_run(seed, covariance_type, init_params)
    weighted = fit(X, keep.astype(float), **params)
    assert_same_model(weighted, fit(X[keep], **params))
    # the left-out rows are still scored and predicted
    assert weighted.predict(X).shape == (len(X),)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_all_weights_changes_nothing(covariance_type):
    X = gaussian_clusters(120, 2, 3, random_state=1)[0]
    weights = np.random.RandomState(1).uniform(0.2, 3, size=len(X))
    params = dict(
        n_components=3, covariance_type=covariance_type, random_state=0, max_iter=30, tol=0.0
    )
    assert_same_model(fit(X, 7.5 * weights, **params), fit(X, weights, **params), rtol=1e-9)


def test_weights_move_the_fit():
    """Not a no-op: weighting one cluster up raises its component's weight."""
    X, labels = gaussian_clusters(300, 2, 3, random_state=2)
    weights = np.where(labels == 0, 5.0, 1.0)
    plain = fit(X, n_components=3, random_state=0)
    weighted = fit(X, weights, n_components=3, random_state=0)
    component = np.bincount(weighted.predict(X[labels == 0])).argmax()
    assert weighted.weights_[component] > plain.weights_.max()


def test_bic_counts_weights_as_rows():
    X = gaussian_clusters(150, 2, 2, random_state=3)[0]
    counts = np.random.RandomState(3).randint(1, 4, size=len(X))
    model = fit(X, counts, n_components=2, random_state=0)
    repeated = np.repeat(X, counts, axis=0)
    assert model.bic(X, sample_weight=counts) == pytest.approx(model.bic(repeated), rel=1e-12)
    assert model.aic(X, sample_weight=counts) == pytest.approx(model.aic(repeated), rel=1e-12)
    assert model.score(X, sample_weight=counts) == pytest.approx(model.score(repeated), rel=1e-12)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(50), "must not be negative"),
        (np.r_[np.nan, np.ones(49)], "NaN or infinity"),
        (np.ones(49), r"shape \(49,\), but X has 50 rows"),
        (np.zeros(50), "zero everywhere"),
        (
            np.r_[1.0, np.zeros(49)],
            "larger than the number of samples \\(1 with positive weight\\)",
        ),
        ("heavy", "real numbers"),
    ],
)
def test_bad_weights_are_refused_clearly(weights, message):
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(X, sample_weight=weights)


# ------------------------------------------------------------------------ sort_components


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("by", ["mean", "weight"])
def test_sort_components_is_the_same_density_in_a_stated_order(blobs, covariance_type, by):
    from gmmlib.mixture import sort_components

    model = GaussianMixture(3, covariance_type=covariance_type, random_state=1).fit(blobs)
    ordered = sort_components(model, by=by)
    if by == "mean":
        assert list(ordered.means_[:, 0]) == sorted(model.means_[:, 0])
    else:
        assert list(ordered.weights_) == sorted(model.weights_, reverse=True)
    np.testing.assert_allclose(ordered.score_samples(blobs), model.score_samples(blobs))
    # the same components under new names
    old, new = model.predict(blobs), ordered.predict(blobs)
    mapping = {o: n for o, n in zip(old, new)}
    assert all(mapping[o] == n for o, n in zip(old, new))
    np.testing.assert_allclose(ordered.means_[[mapping[k] for k in range(3)]], model.means_)
    assert model is not ordered and ordered.n_iter_ == model.n_iter_


def test_sort_components_refuses_an_unknown_order(blobs):
    from gmmlib.mixture import sort_components

    with pytest.raises(ValueError, match="by must be 'mean' or 'weight'"):
        sort_components(GaussianMixture(2, random_state=0).fit(blobs), by="size")


# ----------------------------------------------------- no silent wrong answers (issue 21)


def test_float32_far_from_the_origin_scores_exactly():
    """The centre was rounded to float32 for the data but not for the means: at an offset
    of 1e6, score_samples was off by 0.12 and predict_proba by 0.024."""
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    for offset in (1e4, 1e6):
        x = (np.r_[rng.normal(size=200), rng.normal(size=200) + 3] + offset).astype(np.float32)
        model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(x[:, None])
        weights = model.weights_.astype(float)
        means = model.means_[:, 0].astype(float)
        sd = np.sqrt(model.covariances_[:, 0].astype(float))
        density = weights * norm.pdf(x.astype(float)[:, None], means, sd)
        exact = np.log(density.sum(axis=1))
        assert np.abs(model.score_samples(x[:, None]) - exact).max() < 2e-5
        proba = density / density.sum(axis=1, keepdims=True)
        assert np.abs(model.predict_proba(x[:, None]) - proba).max() < 2e-5


def test_a_float32_fits_weights_are_a_start():
    """float32 weights_ sum to 1 only to float32's precision (0.99999997)."""
    X = np.random.RandomState(0).normal(size=(200, 3)).astype(np.float32)
    fitted = GaussianMixture(7, random_state=0).fit(X)
    again = GaussianMixture(
        7, weights_init=fitted.weights_, means_init=fitted.means_, random_state=0
    ).fit(X)
    assert np.isclose(again.weights_.sum(), 1.0, atol=1e-6)


def test_sorted_copies_share_nothing_with_the_original():
    X = np.random.RandomState(0).normal(size=(100, 2))
    for covariance_type in ("tied", "full"):
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
        copy = sort_components(model)
        copy.lower_bounds_.append(0.0)
        copy.covariances_[...] = 0.0
        assert len(model.lower_bounds_) == model.n_iter_
        assert np.all(model.covariances_ != 0.0)


def test_verbose_two_prints_timings(capsys):
    X = np.random.RandomState(0).normal(size=(100, 2))
    GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(X)
    printed = capsys.readouterr().out
    assert "time lapse" in printed and "s, lower bound" in printed


@pytest.fixture(scope="module")
def two_groups() -> np.ndarray:
    """The hostile pass's data: 60 points about the origin and 40 about (4, 4)."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 4])


@pytest.mark.parametrize("scale", [1e-100, 1e-20, 1e-5, 1e20, 1e100])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scaling_every_weight_changes_nothing(two_groups, scale, covariance_type):
    """Weights of 1e-20 used to give means near 0.001: the M-step added 10 eps to each N_k."""
    params = {"n_components": 2, "covariance_type": covariance_type, "random_state": 0}
    unit = fit(two_groups, np.ones(len(two_groups)), **params)
    scaled = fit(two_groups, np.full(len(two_groups), scale), **params)
    assert_same_model(scaled, unit)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_a_zero_weight_row_is_a_removed_row_for_every_start(two_groups, init_params):
    """A far outlier of weight 0 changed the k-means start: it was centred on the
    unweighted mean, and KMeans' tolerance came from the unweighted variance."""
    outlier = np.vstack([two_groups[:30], [[1e12, -1e12]], two_groups[30:]])
    weight = np.ones(len(outlier))
    weight[30] = 0.0
    params = {"n_components": 2, "init_params": init_params, "random_state": 0}
    assert_same_model(fit(outlier, weight, **params), fit(two_groups, **params))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full(100, 1e307), "divide the weights by their largest"),
        (np.ones(100) + 1j, "real numbers"),
        (np.array(["1"] * 100), "real numbers"),
        (np.ma.masked_array(np.ones(100), mask=[True] + [False] * 99), "masked"),
    ],
)
def test_weights_that_cannot_be_used_are_named(two_groups, bad, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, random_state=0).fit(two_groups, sample_weight=bad)


def test_with_a_prior_the_weights_scale_counts_observations(two_groups):
    """Frequency weights: without a prior their scale changes nothing; with one, their sum
    is the number of observations weighed against the prior's pseudo-observations."""
    n = len(two_groups)
    for prior, same in ((None, True), ("default", False)):
        params = {"n_components": 2, "random_state": 0, "prior": prior}
        one, half = (fit(two_groups, np.full(n, w), **params) for w in (1.0, 0.5))
        assert np.allclose(one.covariances_, half.covariances_, rtol=1e-10) == same


def test_bic_refuses_weights_that_sum_to_one_observation(two_groups):
    model = fit(two_groups, n_components=2, random_state=0)
    with pytest.raises(ValueError, match="number of observations N is 1"):
        model.bic(two_groups, sample_weight=np.full(len(two_groups), 1 / len(two_groups)))


def test_verbose_prints_no_negative_zero(capsys):
    """A change of -1e-9 on one CPU's BLAS and +1e-9 on another must print the same line
    (a chapter that shows verbose output is compared under several BLAS kernels)."""
    X = np.random.RandomState(2).normal(size=(200, 2))
    params = {"tol": 0.0, "max_iter": 300, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(2, verbose=1, verbose_interval=1, **params).fit(X)
    assert np.any(np.diff(model.lower_bounds_) < 0)  # rounding made some changes negative
    assert "-0.00000" not in capsys.readouterr().out
