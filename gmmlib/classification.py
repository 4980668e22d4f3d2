"""Classification with one Gaussian mixture per class and Bayes' rule.

Each class :math:`c` gets its own mixture density :math:`p(x \\mid c)`, fitted to that class's
points only; with the class priors :math:`\\pi_c` (the training frequencies) Bayes' rule gives

.. math:: P(c \\mid x) = \\frac{\\pi_c\\, p(x \\mid c)}{\\sum_{c'} \\pi_{c'}\\, p(x \\mid c')} .

With one full-covariance component per class this is quadratic discriminant analysis.
The class mixtures are also class-conditional generators: :meth:`MixtureClassifier.sample`
draws new points of a chosen class.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .mixture import GaussianMixture


class MixtureClassifier(ClassifierMixin, BaseEstimator):
    """One :class:`GaussianMixture` per class, combined by Bayes' rule.

    Parameters
    ----------
    n_components : int, default=1
        Components of every class's mixture.
    covariance_type : str, default="full"
        Any of ``gmmlib.COVARIANCE_TYPES``: scikit-learn's four or one of mclust's
        fourteen models (with one component per class, EEE is linear and VVV quadratic
        discriminant analysis).
    reg_covar : float, default=1e-6
    n_init : int, default=1
        Starts per class mixture.
    random_state : int, RandomState or None
        Seeds each class's mixture (one seed per class, drawn in class order).

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
    class_prior_ : ndarray of shape (C,), training frequency of each class
    mixtures_ : list of C fitted :class:`GaussianMixture`, in the order of ``classes_``
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
        n_init: int = 1,
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X, y) -> MixtureClassifier:
        """Fit one mixture to the points of each class; priors are the class frequencies."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)  # a continuous y is a regression target
        self.classes_, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has {len(self.classes_)} class; MixtureClassifier needs at least 2 classes."
            )
        if counts.min() < self.n_components:
            small = self.classes_[np.argmin(counts)]
            raise ValueError(
                f"class {small!r} has {counts.min()} points, fewer than n_components="
                f"{self.n_components}; use fewer components or more data."
            )
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(self.classes_))
        self.class_prior_ = counts / counts.sum()
        self.mixtures_ = [
            self._fit_class(X[y_index == c], c, int(seed)) for c, seed in enumerate(seeds)
        ]
        return self

    def _fit_class(self, X: np.ndarray, index: int, seed: int) -> GaussianMixture:
        """The mixture of one class; a ValueError names the class it could not fit."""
        mixture = GaussianMixture(
            self.n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            n_init=self.n_init,
            random_state=seed,
        )
        try:
            return mixture.fit(X)
        except ValueError as error:
            label = self.classes_[index].tolist()  # 'a', not np.str_('a')
            raise ValueError(f"class {label!r} ({len(X)} points): {error}") from error

    def _joint_log_likelihood(self, X) -> np.ndarray:
        """:math:`\\log \\pi_c + \\log p(x \\mid c)`, shape ``(n, C)``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.column_stack([m.score_samples(X) for m in self.mixtures_]) + np.log(
            self.class_prior_
        )

    def predict_log_proba(self, X) -> np.ndarray:
        """Log posterior :math:`\\log P(c \\mid x)`; error if no class gives x a density."""
        joint = self._joint_log_likelihood(X)
        norm = logsumexp(joint, axis=1, keepdims=True)
        if not np.all(np.isfinite(norm)):
            raise ValueError(
                "some points have zero density under every class mixture, so their class "
                "posterior is undefined; check that X is in the space the model was fitted in."
            )
        return joint - norm

    def predict_proba(self, X) -> np.ndarray:
        """Posterior class probabilities, shape ``(n, C)``, columns in ``classes_`` order."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """The class of highest posterior probability."""
        joint = self._joint_log_likelihood(X)  # checks that the model is fitted
        return self.classes_[np.argmax(joint, axis=1)]

    def sample(self, n_samples: int, label) -> np.ndarray:
        """Draw ``n_samples`` new points from the mixture of class ``label``.

        Seeded by that class's mixture, so repeated calls give the same draw.
        """
        check_is_fitted(self)
        where = np.flatnonzero(self.classes_ == label)
        if where.size == 0:
            raise ValueError(f"unknown class {label!r}; the classes are {list(self.classes_)}.")
        return self.mixtures_[where[0]].sample(n_samples)[0]
