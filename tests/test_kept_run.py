"""Which of several starts ``fit`` keeps (n_init > 1): the earliest that ties with the best.

Starts that end at the same optimum differ in their final bound only in the last bits, and
those depend on the CPU's BLAS kernels. Keeping the strictly highest, as scikit-learn does,
would pick a different start (often a relabelling) on different machines.
"""

from __future__ import annotations

import numpy as np
import pytest

from gmmlib import GaussianMixture
from gmmlib.mixture import TIE_RTOL, _kept_run, _Run


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
