"""gmmlib.selection: the model choice the book relies on, and that it cannot be fooled."""

import warnings
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _helpers import model_covariance_matrices
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import ConvergenceWarning

from gmmlib import GaussianMixture, selection
from gmmlib.selection import ModelSelection, degenerate_components, select_model

pytestmark = pytest.mark.usefixtures("one_thread")

COLUMNS = (
    "n_components covariance_type n_parameters log_likelihood bic aic icl converged degenerate"
).split()


@pytest.fixture(scope="module")
def stretched():
    X, _ = make_blobs(1250, centers=4, cluster_std=0.6, random_state=0)
    return X[:, ::-1] @ np.random.RandomState(15).randn(2, 2)


@pytest.fixture(scope="module")
def moons():
    return make_moons(200, noise=0.05, random_state=0)[0]


def _repeated_point():
    """Two blobs plus 30 copies of one reading (a sensor's default value, say)."""
    X, _ = make_blobs(300, centers=2, cluster_std=0.6, random_state=1)
    return np.vstack([X, np.zeros((30, 2))])


def _rounded():
    """Three blobs rounded to whole numbers: 300 points on a few dozen grid sites."""
    X, _ = make_blobs(300, centers=3, cluster_std=0.6, random_state=2)
    return np.round(X)


# --------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_stretched_blobs_choose_four_full_components(stretched, criterion):
    result = select_model(stretched, range(1, 11), ("full",), criterion, random_state=0)
    assert result.best_params_ == {"n_components": 4, "covariance_type": "full"}
    assert isinstance(result.best_estimator_, GaussianMixture)
    assert result.best_estimator_.n_components == 4
    assert not result.table["degenerate"].any() and result.table["converged"].all()


def test_aic_never_chooses_fewer_components_than_the_truth(stretched):
    """AIC's penalty does not grow with N, so it may add a component that gains a few nats
    (here K = 5, by less than 2 units of AIC over the true K = 4); it never takes fewer."""
    result = select_model(stretched, range(1, 11), ("full",), "aic", random_state=0)
    table = result.table.set_index("n_components")
    assert result.best_params_["n_components"] >= 4
    assert table.loc[4, "aic"] - table["aic"].min() < 2


def test_moons_bic_chooses_fewer_components_than_aic(moons):
    by_bic = select_model(moons, range(1, 21), ("full",), "bic", random_state=0)
    # the same fits judged by AIC (select_model(..., "aic") would refit the same ones)
    by_aic = ModelSelection(by_bic.table, by_bic.estimators_, "aic")
    k_bic = by_bic.best_params_["n_components"]
    k_aic = by_aic.best_params_["n_components"]
    assert 2 < k_bic < k_aic <= 16
    usable = by_bic.table[~by_bic.table["degenerate"]]
    assert k_aic == usable.loc[usable["aic"].idxmin(), "n_components"]


@pytest.mark.parametrize("make", [_repeated_point, _rounded], ids=["repeated_point", "rounded"])
def test_repeated_values_do_not_select_a_degenerate_model(make):
    X = make()
    result = select_model(X, range(1, 8), ("full", "spherical"), random_state=0)
    table = result.table
    # the trap is real: the lowest BIC of all belongs to a collapsed fit ...
    assert table["degenerate"].any()
    assert table.loc[table["bic"].idxmin(), "degenerate"]
    # ... and it is not chosen
    assert not table.loc[result.best_index_, "degenerate"]
    best = result.best_estimator_
    assert not degenerate_components(best, X).any()
    smallest_variance = min(np.linalg.eigvalsh(c).min() for c in model_covariance_matrices(best))
    assert smallest_variance > 1e-2


# --------------------------------------------------------------------------- the table


def test_table_has_a_row_per_candidate_consistent_with_the_estimators(stretched):
    X = stretched[:300]
    result = select_model(X, [1, 3, 4], ("tied", "diag"), random_state=1)
    table = result.table
    assert list(table.columns) == COLUMNS
    assert list(zip(table["n_components"], table["covariance_type"], strict=True)) == [
        (k, t) for t in ("tied", "diag") for k in (1, 3, 4)
    ]
    assert len(result.estimators_) == len(table)
    for row, model in zip(table.itertuples(), result.estimators_, strict=True):
        assert (model.n_components, model.covariance_type) == (
            row.n_components,
            row.covariance_type,
        )
        assert row.n_parameters == model.n_parameters()
        assert row.log_likelihood == pytest.approx(model.score(X) * len(X))
        assert row.bic == pytest.approx(model.bic(X))
        assert row.aic == pytest.approx(model.aic(X))
        assert row.converged == model.converged_
    assert table["bic"].dtype == float and table["degenerate"].dtype == bool
    assert "cv_log_likelihood" not in table


def test_cross_validation_reports_held_out_likelihood_and_takes_the_highest(stretched):
    X = stretched[:400]
    result = select_model(X, range(2, 7), ("full",), "cv", cv=3, n_init=2, random_state=0)
    assert list(result.table.columns) == COLUMNS + ["cv_log_likelihood"]
    held_out = result.table.set_index("n_components")["cv_log_likelihood"]
    assert np.isfinite(held_out).all()
    assert held_out[4] > held_out[3] + 0.1 > held_out[2] + 0.2  # the four groups matter
    assert result.best_params_["n_components"] == held_out.idxmax()
    assert held_out.idxmax() in (4, 5)  # beyond four, held-out gains are noise
    # the held-out score is per point: below the in-sample one, on the same scale
    in_sample = result.table.set_index("n_components")["log_likelihood"] / len(X)
    assert in_sample[4] - 0.2 < held_out[4] < in_sample[4]


def test_same_seed_same_table_in_parallel_or_not(moons):
    serial = select_model(moons, range(1, 4), ("full",), n_init=2, random_state=3)
    parallel = select_model(moons, range(1, 4), ("full",), n_init=2, random_state=3, n_jobs=2)
    pd.testing.assert_frame_equal(serial.table, parallel.table)
    assert serial.best_params_ == parallel.best_params_


def test_progress_bar_counts_the_fits(moons, capsys):
    select_model(moons, [1, 2], ("full",), "cv", cv=2, n_init=1, random_state=0, progress=True)
    err = capsys.readouterr().err
    assert "select_model" in err and "3/3" in err  # one path over the sizes per split


def test_plot_draws_the_criteria(moons):
    result = select_model(moons, range(1, 6), ("full",), random_state=0)
    _, ax = plt.subplots()
    drawn = result.plot(ax=ax)
    assert set(drawn.lines) == {("bic", "full"), ("aic", "full"), ("icl", "full")}
    np.testing.assert_allclose(drawn.lines["bic", "full"].get_ydata(), result.table["bic"])
    assert drawn.best["bic", "full"].get_xdata()[0] == result.best_params_["n_components"]
    plt.close("all")


# --------------------------------------------------------------------------- restarts

#: The seeds select_model(random_state=0) gives the four starts of its one candidate (one
#: covariance type, no folds): it draws them all at once, by covariance type, split, size.
FOUR_STARTS = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=(1, 4))


def eight_full_components(X) -> SimpleNamespace:
    """select_model's fit of one candidate, 8 full components from the four starts fitted
    with GaussianMixture's defaults (max_iter=100): its model, log-likelihood and flag."""
    result = select_model(X, [8], ("full",), n_init=4, max_iter=100, random_state=0)
    (row,) = result.table.itertuples()
    return SimpleNamespace(
        model=result.estimators_[0], log_likelihood=row.log_likelihood, degenerate=row.degenerate
    )


def test_each_candidate_keeps_the_best_of_its_starts(moons):
    seeds = FOUR_STARTS
    kept = eight_full_components(moons)
    each = [
        GaussianMixture(8, random_state=int(s)).fit(moons).score(moons) * len(moons)
        for s in seeds[0]
    ]
    best_seed = int(seeds[0][np.argmax(each)])
    assert kept.model.random_state == best_seed
    assert kept.log_likelihood >= max(each) - 1e-9 * abs(max(each))  # then run on to tol
    assert max(each) - min(each) > 1  # the starts disagree, so keeping the best matters


def test_a_collapsed_start_loses_to_any_sound_one(moons, monkeypatch):
    seeds = FOUR_STARTS
    each = [GaussianMixture(8, random_state=int(s)).fit(moons).score(moons) for s in seeds[0]]
    best_seed = int(seeds[0][np.argmax(each)])

    def flag_best_seed(model, X, **_):
        return np.full(model.n_components, model.random_state == best_seed)

    monkeypatch.setattr(selection, "degenerate_components", flag_best_seed)
    kept = eight_full_components(moons)
    assert not kept.degenerate and kept.model.random_state != best_seed
    assert kept.log_likelihood >= sorted(each)[-2] * len(moons) - 1e-6

    monkeypatch.setattr(selection, "degenerate_components", lambda m, X, **_: np.ones(8, bool))
    kept = eight_full_components(moons)
    assert kept.degenerate


def test_unconverged_fits_are_reported(moons):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        result = select_model(
            moons, [6], ("full",), max_iter=2, tol=1e-12, n_init=1, random_state=0
        )
    assert not result.table["converged"].any()


def test_when_every_fit_is_degenerate_nothing_is_chosen():
    # three distinct readings, each repeated: every component of 2 or 3 sits on one or two
    # of them and is flat there
    X = np.repeat([[0.0, 0.0], [3.0, 1.0], [1.0, 4.0]], 20, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = select_model(X, [2, 3], ("full",), n_init=1, random_state=0)
    assert result.table["degenerate"].all() and result.best_index_ is None
    with pytest.raises(ValueError, match="all 2 fits are degenerate"):
        _ = result.best_estimator_
    with pytest.raises(ValueError, match="fewer components"):
        _ = result.best_params_
    assert "none (all degenerate)" in repr(result)


# --------------------------------------------------------------------------- degeneracy


def _model(weights, covariances, covariance_type, reg_covar=1e-6):
    means = np.zeros((len(weights), 2))
    return SimpleNamespace(
        weights_=np.asarray(weights, float),
        means_=means,
        covariances_=np.asarray(covariances, float),
        covariance_type=covariance_type,
        reg_covar=reg_covar,
    )


@pytest.fixture(scope="module")
def spread_data():
    return np.random.RandomState(0).randn(100, 2)


def test_a_direction_no_wider_than_reg_covar_is_degenerate(spread_data):
    reg = 1e-6
    flat = np.diag([1.0, 0.0]) + reg * np.eye(2)
    tilted = np.full((2, 2), 0.5) + reg * np.eye(2)  # flat along (1, -1)
    sound = np.diag([1.0, 0.01]) + reg * np.eye(2)
    model = _model([0.3, 0.3, 0.4], [flat, tilted, sound], "full")
    np.testing.assert_array_equal(degenerate_components(model, spread_data), [True, True, False])
    spherical = _model([0.5, 0.5], [reg, 0.2 + reg], "spherical")
    np.testing.assert_array_equal(degenerate_components(spherical, spread_data), [True, False])
    diag = _model([0.5, 0.5], [[0.3, 1.5 * reg], [0.3, 0.3]], "diag")
    np.testing.assert_array_equal(degenerate_components(diag, spread_data), [True, False])
    tied = _model([0.5, 0.5], np.diag([1.0, 0.0]) + reg * np.eye(2), "tied")
    np.testing.assert_array_equal(degenerate_components(tied, spread_data), [True, True])


def test_tiny_relative_to_the_data_is_degenerate_even_above_reg_covar(spread_data):
    X = 1e6 * spread_data  # huge units: 1e-3 is far above reg_covar yet 1e-15 of the spread
    model = _model([0.5, 0.5], [np.diag([1e12, 1e-3]), np.diag([1e12, 1e9])], "full")
    np.testing.assert_array_equal(degenerate_components(model, X), [True, False])


def test_a_component_on_too_few_points_is_degenerate(spread_data):
    sound = np.eye(2)
    # 100 points: weight 0.02 is 2 points, too few for a full 2-D covariance (needs 3)
    full = _model([0.98, 0.02], [sound, sound], "full")
    np.testing.assert_array_equal(degenerate_components(full, spread_data), [False, True])
    diag = _model([0.98, 0.02], [[1, 1], [1, 1]], "diag")
    np.testing.assert_array_equal(degenerate_components(diag, spread_data), [False, False])
    tied = _model([0.99, 0.01], sound, "tied")  # a shared covariance cannot collapse
    np.testing.assert_array_equal(degenerate_components(tied, spread_data), [False, False])


def test_a_fitted_component_on_repeated_values_is_found():
    X = _repeated_point()
    model = GaussianMixture(3, random_state=0).fit(X)
    flags = degenerate_components(model, X)
    on_repeats = np.linalg.norm(model.means_, axis=1) < 1e-6
    assert on_repeats.any()
    np.testing.assert_array_equal(flags, on_repeats)


def test_degenerate_components_checks_the_data(spread_data):
    model = _model([1.0], [np.eye(2)], "full")
    with pytest.raises(ValueError, match="2 features"):
        degenerate_components(model, np.zeros((5, 3)))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_components=[]), "n_components must be positive integers"),
        (dict(n_components=[0, 1]), "n_components must be positive integers"),
        (dict(n_components=[2.5]), "n_components must be positive integers"),
        (dict(n_components=[1, 1]), "must not repeat"),
        (dict(n_components=[300]), "sees only 200 points"),
        (dict(covariance_types=()), "covariance_types is empty"),
        (dict(covariance_types=("full", "round")), "covariance_type must be one of"),
        (dict(criterion="mdl"), "criterion must be one of"),
        (dict(n_init=0), "n_init must be a positive integer"),
        (dict(criterion="cv", cv=1), "cv must be an integer between 2"),
        (dict(criterion="cv", cv=2, n_components=[150]), "or fewer folds"),
    ],
)
def test_bad_arguments_are_refused(moons, kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_model(moons, **kwargs)


def test_a_bad_estimator_parameter_is_raised_not_taken_for_a_collapse(moons):
    with pytest.raises(ValueError, match="init_params must be one of"):
        select_model(moons, [2], ("full",), init_params="median")


def test_a_restart_that_loses_positive_definiteness_counts_as_collapsed(moons):
    X = np.repeat(moons[:20], 10, axis=0)  # 20 sites, each repeated 10 times
    result = select_model(X, [25], ("full",), reg_covar=0.0, n_init=2, random_state=0)
    assert result.table["degenerate"].all()


@pytest.mark.parametrize(
    "X", [np.zeros(10), np.array([[0.0, np.nan], [1.0, 2.0]]), np.zeros((1, 2))]
)
def test_bad_data_is_refused(X):
    with pytest.raises(ValueError, match="X must be a finite 2-D array"):
        select_model(X, [1])


def test_a_single_size_or_type_may_be_given_bare(moons):
    result = select_model(moons, 2, "diag", n_init=1, random_state=0)
    assert isinstance(result, ModelSelection)
    assert result.best_params_ == {"n_components": 2, "covariance_type": "diag"}


# --------------------------------------------------------------------------- converged, monotone


def known_mixture(seed: int, n_components: int, covariance_type: str, n: int = 800):
    """Points from a mixture with well-separated components of the given kind."""
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-10, 10, size=(n_components, 2))
    while (
        n_components > 1
        and min(np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1 :]) < 6
    ):
        centres = rng.uniform(-10, 10, size=(n_components, 2))
    labels = rng.randint(n_components, size=n)
    if covariance_type == "full":
        shapes = rng.normal(size=(n_components, 2, 2)) * 0.8
    elif covariance_type == "diag":
        shapes = np.stack([np.diag(rng.uniform(0.3, 1.5, 2)) for _ in range(n_components)])
    else:  # spherical
        shapes = np.stack([rng.uniform(0.4, 1.2) * np.eye(2) for _ in range(n_components)])
    return centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(n, 2)), shapes[labels])


@pytest.mark.parametrize(
    ("seed", "k", "covariance_type"),
    [(0, 3, "full"), (1, 4, "full"), (2, 2, "diag"), (3, 3, "spherical"), (4, 5, "full")],
)
def test_bic_finds_the_true_mixture_and_likelihood_rises_with_k(seed, k, covariance_type):
    X = known_mixture(seed, k, covariance_type)
    result = select_model(X, range(1, 8), random_state=seed)
    assert result.best_params_["n_components"] == k
    table = result.table
    for _, rows in table.groupby("covariance_type"):
        ll = rows.sort_values("n_components")["log_likelihood"].to_numpy()
        assert np.all(np.diff(ll) >= -1e-6 * np.abs(ll[1:])), ll
    assert table["converged"].all()


def test_the_split_start_keeps_the_likelihood_monotone_where_seeded_starts_do_not():
    """On 1,000 points from four full clusters, plain k-means starts fitted to convergence
    leave the 9-component full fit below the 8-component one; the split start does not."""
    from gmmlib.datasets import gaussian_clusters

    X = gaussian_clusters(1000, 2, 4, random_state=0)[0]
    result = select_model(X, range(1, 11), ("full",), random_state=0)
    ll = result.table["log_likelihood"].to_numpy()
    assert np.all(np.diff(ll) >= 0)


def test_icl_is_bic_plus_twice_the_entropy(moons):
    result = select_model(moons, [2, 5], ("full",), "icl", random_state=0)
    for row, model in zip(result.table.itertuples(), result.estimators_, strict=True):
        resp = model.predict_proba(moons)
        entropy = -np.sum(resp * np.log(np.clip(resp, 1e-300, None)))
        assert row.icl == pytest.approx(row.bic + 2 * entropy, rel=1e-10)
        assert row.icl >= row.bic
    assert result.criterion == "icl"


def test_icl_counts_clusters_where_bic_counts_components():
    """A heavy-tailed cluster (two Gaussians with one centre, one three times wider) beside
    a Gaussian one: BIC needs three components for the density, ICL, which charges for
    components that overlap, sees two clusters."""
    rng = np.random.RandomState(0)
    X = np.vstack(
        [
            rng.normal(size=(400, 2)),
            3 * rng.normal(size=(400, 2)),
            rng.normal(size=(300, 2)) + [15, 0],
        ]
    )
    by_bic = select_model(X, range(1, 7), ("full",), "bic", random_state=0)
    by_icl = ModelSelection(by_bic.table, by_bic.estimators_, "icl")
    assert by_bic.best_params_["n_components"] == 3
    assert by_icl.best_params_["n_components"] == 2


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda X: np.column_stack([X, np.full(len(X), 7.0)]), "column 2 is constant"),
        (lambda X: np.column_stack([X, X[:, 0]]), "columns 0, 2 are linearly dependent"),
        (lambda X: np.column_stack([X, 3 * X[:, 1] - X[:, 0]]), "columns 0, 1, 2 are linearly"),
    ],
    ids=["constant", "duplicate", "combination"],
)
def test_flat_data_are_refused_with_the_columns_named(moons, make, named):
    with pytest.raises(ValueError, match=named + ".*Drop those columns.*PCA"):
        select_model(make(moons), [1, 2], random_state=0)


def test_proportions_that_sum_to_one_are_flat():
    rng = np.random.RandomState(0)
    shares = rng.dirichlet([2, 3, 4], size=200)
    with pytest.raises(ValueError, match="columns 0, 1, 2 are linearly dependent"):
        select_model(shares, [1, 2], random_state=0)
    # dropping one share, as the message suggests, fixes it
    assert select_model(shares[:, :2], [1, 2], random_state=0).best_params_


def test_flat_columns_of_a_dataframe_are_named(moons):
    frame = pd.DataFrame(moons, columns=["x", "y"]).assign(z=1.0)
    with pytest.raises(ValueError, match="column z is constant"):
        select_model(frame, [1, 2], random_state=0)


def test_a_dataframe_keeps_its_column_names(moons):
    frame = pd.DataFrame(moons, columns=["x", "y"])
    best = select_model(frame, [1, 2], ("full",), random_state=0).best_estimator_
    assert list(best.feature_names_in_) == ["x", "y"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        best.predict(frame)


def test_tol_is_a_relative_tolerance(moons):
    with pytest.raises(ValueError, match="tol must be a relative tolerance"):
        select_model(moons, [1], tol=2.0)


def test_integer_weights_give_the_table_of_repeated_rows():
    """Every candidate converges to the same maximum from weighted rows as from copies."""
    from gmmlib.datasets import blobs

    X = blobs(200, random_state=2)[0]
    weight = np.random.RandomState(3).randint(1, 4, size=len(X)).astype(float)
    weighted = select_model(X, range(1, 6), ("full", "diag"), random_state=0, sample_weight=weight)
    copies = select_model(
        np.repeat(X, weight.astype(int), axis=0), range(1, 6), ("full", "diag"), random_state=0
    )
    for column in ("log_likelihood", "bic", "aic", "icl"):
        np.testing.assert_allclose(weighted.table[column], copies.table[column], rtol=1e-6)
    assert weighted.best_params_ == copies.best_params_


def test_zero_weights_are_missing_rows():
    from gmmlib.datasets import blobs

    X = blobs(200, random_state=4)[0]
    weight = np.ones(len(X))
    weight[::4] = 0.0
    weighted = select_model(X, range(1, 5), ("diag",), random_state=0, sample_weight=weight)
    kept = select_model(X[weight > 0], range(1, 5), ("diag",), random_state=0)
    for column in ("log_likelihood", "bic", "icl"):
        np.testing.assert_allclose(weighted.table[column], kept.table[column], rtol=1e-6)
    cv = select_model(
        X, range(1, 4), ("diag",), criterion="cv", cv=3, random_state=0, sample_weight=weight
    )
    assert np.isfinite(cv.table["cv_log_likelihood"]).all()


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (-np.ones(50), "must not be negative"),
        (np.ones(49), "one weight per row"),
        (np.zeros(50), "zero everywhere"),
    ],
)
def test_bad_weights_are_refused(weight, message):
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=message):
        select_model(X, range(1, 3), ("diag",), sample_weight=weight)


def test_with_a_prior_every_candidate_is_the_map_fit():
    from gmmlib.datasets import blobs

    X = blobs(150, random_state=5)[0]
    chosen = select_model(X, range(1, 5), ("full",), random_state=0, prior="default")
    for model, log_likelihood in zip(chosen.estimators_, chosen.table["log_likelihood"]):
        assert model.prior_ is not None and model.prior_.dof == 4.0
        # the criteria use the log-likelihood at the MAP estimate
        assert log_likelihood == pytest.approx(model.score(X) * len(X), rel=1e-12)
    plain = select_model(X, range(1, 5), ("full",), random_state=0)
    assert not np.allclose(chosen.table["log_likelihood"][1:], plain.table["log_likelihood"][1:])
    with pytest.raises(ValueError, match="prior must be None"):
        select_model(X, range(1, 3), ("full",), prior="mclust")


def test_another_criterion_on_the_same_candidates():
    from gmmlib.datasets import blobs

    X = blobs(150, random_state=6)[0]
    by_bic = select_model(X, range(1, 5), ("full", "diag"), random_state=0)
    by_icl = by_bic.with_criterion("icl")
    assert by_icl.table is by_bic.table and by_icl.criterion == "icl"
    assert by_icl.best_index_ == int(
        np.argmin(by_bic.table["icl"].where(~by_bic.table["degenerate"]))
    )
    with pytest.raises(ValueError, match="held-out"):
        by_bic.with_criterion("cv")
    with pytest.raises(ValueError, match="criterion must be one of"):
        by_bic.with_criterion("BIC")


# ------------------------------------------------------- no silent wrong answers (issue 21)
def test_weights_summing_to_one_observation_are_refused():
    """BIC's penalty p log N was zero for weights summing to 1, favouring large K."""
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="number of observations N is 1"):
        select_model(X, range(1, 3), ("diag",), sample_weight=np.full(50, 1 / 50))


def test_a_fold_with_nothing_to_score_is_named():
    """Said "sample_weight is zero everywhere", which it was not."""
    X = np.random.RandomState(0).normal(size=(50, 2))
    weight = np.zeros(50)
    weight[:4] = 1.0
    with pytest.raises(ValueError, match="Fold .* holds only rows of weight 0"):
        select_model(X, [1], ("diag",), criterion="cv", cv=10, sample_weight=weight, random_state=0)


@pytest.mark.parametrize("make", [_repeated_point, _rounded], ids=["repeated_point", "rounded"])
def test_log_likelihood_rises_with_k_after_every_usable_fit(make):
    """What the docstring promises: the table's log-likelihood does not fall from K - 1 to K
    where the fit with K - 1 components is not degenerate (it can after a degenerate one,
    which gives no split start)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        table = select_model(make(), range(1, 8), ("full", "diag"), random_state=0).table
    for _, rows in table.groupby("covariance_type"):
        rows = rows.sort_values("n_components")
        for (_, smaller), (_, larger) in zip(rows.iloc[:-1].iterrows(), rows.iloc[1:].iterrows()):
            if not smaller["degenerate"]:
                scale = 1e-8 * abs(smaller["log_likelihood"])
                assert larger["log_likelihood"] >= smaller["log_likelihood"] - scale
