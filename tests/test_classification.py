"""MixtureClassifier: Bayes' rule over class mixtures, checked against references."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.utils.estimator_checks import check_estimator

from gmmlib.classification import MixtureClassifier


def _three_classes(seed=0, n=200):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    scales = [np.array([[1.0, 0.6], [0.6, 1.0]]), np.eye(2) * 0.5, np.diag([2.0, 0.3])]
    X = np.vstack(
        [rng.multivariate_normal(c, s, n + 50 * i) for i, (c, s) in enumerate(zip(centres, scales))]
    )
    y = np.repeat(np.arange(3), [n + 50 * i for i in range(3)])
    return X, y


def test_one_component_is_bayes_rule_with_ml_gaussians():
    X, y = _three_classes()
    clf = MixtureClassifier(1, reg_covar=0.0, random_state=0).fit(X, y)
    joint = np.column_stack(
        [
            np.log(np.mean(y == c))
            + multivariate_normal(X[y == c].mean(0), np.cov(X[y == c].T, bias=True)).logpdf(X)
            for c in range(3)
        ]
    )
    expected = np.exp(joint - np.logaddexp.reduce(joint, axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-6, atol=1e-9)


def test_one_component_agrees_with_qda():
    X, y = _three_classes(1)
    ours = MixtureClassifier(1, reg_covar=0.0, random_state=0).fit(X, y)
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, y)
    # QDA divides by n-1, the ML covariance by n: posteriors agree closely, labels nearly always
    assert np.mean(ours.predict(X) == qda.predict(X)) > 0.99
    np.testing.assert_allclose(ours.predict_proba(X), qda.predict_proba(X), atol=0.02)


def test_string_labels_probabilities_and_score():
    X, y = _three_classes(2)
    names = np.array(["a", "b", "c"])[y]
    clf = MixtureClassifier(2, random_state=0).fit(X, names)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names) > 0.9
    np.testing.assert_array_equal(
        clf.classes_, names[np.sort(np.unique(names, return_index=True)[1])]
    )


def test_sample_draws_from_the_chosen_class_and_repeats():
    X, y = _three_classes(3)
    clf = MixtureClassifier(1, random_state=0).fit(X, y)
    new = clf.sample(300, 1)
    assert new.shape == (300, 2)
    np.testing.assert_allclose(new.mean(axis=0), X[y == 1].mean(axis=0), atol=0.2)
    np.testing.assert_array_equal(new, clf.sample(300, 1))
    assert np.mean(clf.predict(new) == 1) > 0.95


def test_bad_input():
    X, y = _three_classes()
    with pytest.raises(ValueError, match="at least 2 classes"):
        MixtureClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="fewer than n_components"):
        MixtureClassifier(3).fit(X[:4], [0, 0, 1, 1])
    clf = MixtureClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="unknown class"):
        clf.sample(5, 7)
    with pytest.raises(ValueError):
        clf.predict(X[:, :1])


def test_check_estimator_passes_for_the_mixture_classifier():
    check_estimator(MixtureClassifier())


# ------------------------------------------------------- no silent wrong answers (issue 21)
def test_predict_before_fit_is_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MixtureClassifier().predict(np.zeros((3, 2)))


def test_a_class_that_cannot_be_fitted_is_named():
    X = np.random.RandomState(0).normal(size=(11, 2))
    y = np.array(["a"] * 10 + ["lonely"])
    with pytest.raises(ValueError, match="class 'lonely' \\(1 points\\)"):
        MixtureClassifier().fit(X, y)


def test_a_continuous_target_is_refused():
    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="Unknown label type"):
        MixtureClassifier().fit(X, np.linspace(0, 1, 20))
