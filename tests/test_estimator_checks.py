"""GaussianMixture follows scikit-learn's estimator conventions."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from gmmlib import GaussianMixture, MixtureClassifier

#: scikit-learn's check compares weights with repeated rows *in shuffled order*; EM is
#: started from k-means on the rows, whose result depends on their order, so the two fits
#: may end on different local optima. From the same start they agree (tests/test_weights.py),
#: which is the equivalence gmmlib promises (README).
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the k-means start depends on the order of the rows; from the same start, weights "
        "and repeated rows give the same model (tests/test_weights.py)"
    )
}


def test_check_estimator_passes():
    check_estimator(GaussianMixture(), expected_failed_checks=EXPECTED_FAILED)


def test_check_estimator_passes_with_the_default_prior():
    """prior="default" refused n <= d, a constant column or two rows (issue 21)."""
    check_estimator(GaussianMixture(prior="default"), expected_failed_checks=EXPECTED_FAILED)


def test_check_estimator_passes_for_the_mixture_classifier():
    check_estimator(MixtureClassifier())


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
