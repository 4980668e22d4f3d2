"""Bad input gets a clear ValueError; awkward but valid data gets a finite fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gmmlib import GaussianMixture, sort_components
from gmmlib._covariance import COVARIANCE_TYPES


@pytest.fixture
def X() -> np.ndarray:
    return np.random.RandomState(0).normal(size=(50, 2))


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


@pytest.mark.parametrize("function", ["e_step", "m_step", "log_likelihood", "em_iterations"])
def test_em_functions_refuse_a_misspelt_covariance_type(X, function):
    from gmmlib import em

    model = GaussianMixture(2, random_state=0).fit(X)
    args = {
        "e_step": (X, model.weights_, model.means_, model.covariances_, "Full"),
        "log_likelihood": (X, model.weights_, model.means_, model.covariances_, "Full"),
        "em_iterations": (X, model.weights_, model.means_, model.covariances_, "Full"),
        "m_step": (X, model.predict_proba(X), "Full"),
    }[function]
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        getattr(em, function)(*args)


def test_using_an_unfitted_model_says_fit_first(X):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="fit"):
        GaussianMixture().predict(X)


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


# ------------------------------------------------------- no silent wrong answers (issue 21)
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
