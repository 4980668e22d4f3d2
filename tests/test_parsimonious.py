"""The fourteen volume-shape-orientation models against R's mclust 6.0.0 and against theory.

The reference values come from ``tests/mclust/make_reference.R`` (committed output
``tests/mclust/reference.json``; the script says how to regenerate it and which
tolerances it set). Here:

* one M-step from mclust's responsibilities matches ``mstep()`` for every model and case
  (VVE in its ``vve="mclust"`` form: mclust's VVE estimate is not the likelihood's, see
  ``test_vve_*``); parameter counts match ``nVarParams`` and ``nMclustParams``;
* EM from the same responsibilities (E-step: ``gmmlib.em.e_step`` on full matrices) matches
  ``me()``;
* the iterative M-steps lower the objective at every sweep and end at a stationary point
  (scipy minimises the same objective over the constrained parameters and finds nothing
  better); EM's log-likelihood never decreases; the decomposition round-trips.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy.linalg import expm

from gmmlib import em
from gmmlib import parsimonious as pars
from gmmlib.datasets import gaussian_clusters

REFERENCE = json.loads((Path(__file__).parent / "mclust" / "reference.json").read_text())
CASES = {case["name"]: case for case in REFERENCE["cases"]}
ITERATIVE = ("VEI", "VEE", "VEV", "EVE", "VVE")
EXAMPLES = min(int(os.environ.get("HYPOTHESIS_EXAMPLES", 25)), 25)


def array(tensor: dict) -> np.ndarray:
    return np.array(tensor["data"], dtype=np.float64).reshape(tensor["shape"])


def case_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    return array(CASES[name]["X"]), array(CASES[name]["z"])


# ------------------------------------------------------------------ statistics, M-step, EM
STATISTICS_TYPE = {"diagonal": "diag", "pooled": "tied", "full": "full"}


def scatter_statistics(X, resp, model):
    """Counts, weighted means and the scatters the model reads, from gmmlib's statistics
    pass (``diag`` for the diagonal models, ``tied`` for EEE, ``full`` otherwise):
    :math:`W_k = Q_k - N_k (\\bar x_k - a_k)(\\bar x_k - a_k)^\\top`."""
    kind = STATISTICS_TYPE[pars.MODELS[model].statistics]
    stats = em.responsibility_statistics(X, resp, kind, n_jobs=1)
    counts = stats.counts
    shifts = stats.sums / counts[:, None]
    if kind == "diag":
        scatters = stats.scatters - counts[:, None] * shifts**2
    elif kind == "tied":
        scatters = stats.scatters - (counts * shifts.T) @ shifts
    else:
        scatters = stats.scatters - counts[:, None, None] * np.einsum("ki,kj->kij", shifts, shifts)
    return counts, stats.about + shifts, scatters


def full_scatters(X, resp):
    counts = resp.sum(axis=0)
    means = resp.T @ X / counts[:, None]
    deviations = X[None] - means[:, None]
    return counts, means, np.einsum("nk,kni,knj->kij", resp, deviations, deviations)


def run_em(X, resp, model, *, n_iter=None, em_tol=1e-15, max_iter=5000, **options):
    """EM from responsibilities: M-step (numpy's scatters, then this module's M-step,
    warm-started; ``options`` go to ``covariances_from_scatter``; the M-step tests above
    take the statistics from gmmlib's pass instead), E-step gmmlib's on full matrices;
    stops as mclust's
    ``me()`` does, when |l_t - l_(t-1)| <= ``em_tol`` (1 + |l_t|), or after ``n_iter``
    iterations. Returns the last parameters and the log-likelihood after each iteration."""
    estimate, history = None, []
    for _ in range(n_iter or max_iter):
        counts, means, scatters = full_scatters(X, resp)
        estimate = pars.covariances_from_scatter(
            model, counts, scatters, previous=estimate, **options
        )
        weights = counts / counts.sum()
        covariances = pars.full_covariances(model, estimate.covariances, counts.size)
        log_resp, mean_log_likelihood = em.e_step(X, weights, means, covariances, "full", n_jobs=1)
        history.append(mean_log_likelihood * X.shape[0])
        resp = np.exp(log_resp)
        if (
            n_iter is None
            and len(history) > 1
            and (abs(history[-1] - history[-2]) <= em_tol * (1 + abs(history[-1])))
        ):
            break
    return weights, means, covariances, history


def relative_error(actual, expected) -> float:
    """The largest entry error of each component's matrix relative to its largest entry."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    K = expected.shape[0]
    scale = np.abs(expected).reshape(K, -1).max(axis=1)
    return float((np.abs(actual - expected).reshape(K, -1).max(axis=1) / scale).max())


def objective(counts, scatters, covariances) -> float:
    """F = sum_k N_k log|Sigma_k| + tr(Sigma_k^-1 W_k), the function every M-step minimises."""
    d = scatters.shape[1]
    return -2 * pars.covariance_log_likelihood(counts, scatters, covariances) - (
        counts.sum() * d * math.log(2 * math.pi)
    )


# ---------------------------------------------------------------------- the model table
def test_model_names_and_table():
    assert pars.MODEL_NAMES == tuple(REFERENCE["models"])
    table = {name: (m.statistics, m.storage, m.iterative) for name, m in pars.MODELS.items()}
    for name in ("EII", "VII", "EEI", "EVI", "VVI"):
        assert table[name] == ("diagonal", "diagonal", False)
    assert table["VEI"] == ("diagonal", "diagonal", True)
    assert table["EEE"] == ("pooled", "shared", False)
    for name in ("EEV", "EVV", "VVV"):
        assert table[name] == ("full", "full", False)
    for name in ("VEE", "EVE", "VVE", "VEV"):
        assert table[name] == ("full", "full", True)
    assert pars.SKLEARN_EQUIVALENTS == {
        "spherical": "VII",
        "diag": "VVI",
        "tied": "EEE",
        "full": "VVV",
    }


@pytest.mark.parametrize(
    "row", REFERENCE["n_parameters"], ids=lambda r: f"{r['model']}-d{r['d']}-G{r['G']}"
)
def test_parameter_counts_match_mclust(row):
    model, d, K = row["model"], int(row["d"]), int(row["G"])
    assert pars.n_covariance_parameters(model, K, d) == row["nVarParams"]
    assert pars.n_parameters(model, K, d) == row["nMclustParams"]


# ------------------------------------------------------------------ one M-step: mstep()
@pytest.mark.parametrize("model", pars.MODEL_NAMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_m_step_matches_mclust_mstep(name, model):
    X, z = case_data(name)
    reference = CASES[name]["mstep"][model]
    counts, means, scatters = scatter_statistics(X, z, model)
    estimate = pars.covariances_from_scatter(
        model, counts, scatters, tol=1e-13, max_iter=10_000, vve="mclust"
    )
    assert estimate.converged
    np.testing.assert_allclose(counts / counts.sum(), reference["pro"], rtol=1e-12)
    np.testing.assert_allclose(means, array(reference["mean"]), rtol=1e-12)
    covariances = pars.full_covariances(model, estimate.covariances, counts.size)
    assert relative_error(covariances, array(reference["sigma"])) < 1e-8


# ------------------------------------------------------------------------- EM: me()
@pytest.mark.parametrize("model", pars.MODEL_NAMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_em_matches_mclust_me(name, model):
    X, z = case_data(name)
    reference = CASES[name]["me"][model]
    weights, means, covariances, history = run_em(X, z, model, vve="mclust")
    assert abs(history[-1] - reference["loglik"]) <= 1e-6 * abs(reference["loglik"])
    np.testing.assert_allclose(weights, reference["pro"], rtol=1e-6, atol=1e-8)
    assert relative_error(means, array(reference["mean"])) < 1e-6
    assert relative_error(covariances, array(reference["sigma"])) < 1e-6


# ------------------------------------------------ VVE: the likelihood against mclust's estimate
@pytest.mark.parametrize("name", sorted(CASES))
def test_vve_likelihood_m_step_improves_on_mclust(name):
    """mclust 6.0.0 weights VVE's orientation update as EVE's (by A_k^-1, not
    (lambda_k A_k)^-1): its M-step leaves F higher than the likelihood's own M-step."""
    X, z = case_data(name)
    counts, _, scatters = full_scatters(X, z)
    ours = pars.covariances_from_scatter("VVE", counts, scatters, tol=1e-13, max_iter=10_000)
    mclust = array(CASES[name]["mstep"]["VVE"]["sigma"])
    gain = objective(counts, scatters, mclust) - objective(counts, scatters, ours.covariances)
    assert gain > 1e-4


@pytest.mark.parametrize(
    "name", ["faithful-K2", "iris-K2", "iris-K3", "synthetic-K2", "synthetic-K3"]
)
def test_vve_likelihood_em_ends_higher_than_mclust_me(name):
    X, z = case_data(name)
    *_, history = run_em(X, z, "VVE")
    assert history[-1] > CASES[name]["me"]["VVE"]["loglik"] + 1e-3


def test_mclust_vve_em_can_lower_the_log_likelihood():
    """mclust's me() for VVE loses 1.4 of log-likelihood at its 10th iteration on this data;
    vve="mclust" follows the same path; vve="likelihood" climbs at every iteration and
    converges higher."""
    path = REFERENCE["vve_path"]
    X, z, expected = array(path["X"]), array(path["z"]), np.array(path["loglik"])
    *_, mclust = run_em(X, z, "VVE", n_iter=expected.size, vve="mclust", tol=1e-13)
    np.testing.assert_allclose(mclust, expected, rtol=1e-6)
    assert np.diff(mclust).min() < -1
    *_, likelihood = run_em(X, z, "VVE", em_tol=1e-12)
    assert np.diff(likelihood).min() >= -1e-10 * abs(likelihood[0])
    *_, mclust = run_em(X, z, "VVE", em_tol=1e-12, vve="mclust")  # converged: -438.2821
    assert likelihood[-1] > mclust[-1] + 5e-4  # -438.2811


# --------------------------------------------- the iterative M-steps: descent, stationarity
@pytest.mark.parametrize("model", ITERATIVE)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_sweep_lowers_the_objective(name, model):
    """One sweep at a time (max_iter=1, warm-started from the last): F never increases, and
    the chain is the same iteration as one long run."""
    X, z = case_data(name)
    counts, _, scatters = full_scatters(X, z)
    estimate, values = None, []
    for _ in range(60):
        estimate = pars.covariances_from_scatter(
            model, counts, scatters, previous=estimate, tol=0.0, max_iter=1
        )
        covariances = pars.full_covariances(model, estimate.covariances, counts.size)
        values.append(objective(counts, scatters, covariances))
    steps = np.diff(values)
    assert np.all(steps <= 1e-12 * abs(values[0])), steps.max()
    once = pars.covariances_from_scatter(model, counts, scatters, tol=0.0, max_iter=60)
    np.testing.assert_allclose(once.covariances, estimate.covariances, rtol=1e-12, atol=0)


def rotation(parameters: np.ndarray, d: int) -> np.ndarray:
    skew = np.zeros((d, d))
    skew[np.triu_indices(d, 1)] = parameters
    return expm(skew - skew.T)


def constrained_family(model: str, estimate, counts):
    """Sigma(theta) for the model's constraint set, with Sigma(0) = the estimate:
    volumes lambda_k e^u, shapes a e^(b - mean b) (determinant kept at 1), orientations
    D expm(S) with S skew-symmetric (VEE: C = L expm(S0) L^T with S0 symmetric, trace 0)."""
    K = counts.size
    covariances = pars.full_covariances(model, estimate.covariances, K)
    d = covariances.shape[1]
    n_volumes = K if model[0] == "V" else 1
    n_shapes = K if model[1] == "V" else 1
    pairs = d * (d - 1) // 2
    volume, shape, orientation = pars.volume_shape_orientation(covariances)
    if model[2] == "I":  # the shape in the coordinates' order
        shape = np.diagonal(covariances, axis1=1, axis2=2) / volume[:, None]
    if model == "VEE":
        C = covariances[0] / volume[0]
        lower = np.linalg.cholesky(C)
        sizes = (K, d * (d + 1) // 2)

        def sigma(theta):
            u, s = np.split(theta, [K])
            S = np.zeros((d, d))
            S[np.triu_indices(d)] = s
            S = S + S.T - np.diag(np.diag(S))
            S -= np.trace(S) / d * np.eye(d)
            common = lower @ expm(S) @ lower.T
            return (volume * np.exp(u))[:, None, None] * common

        return sigma, sum(sizes)
    n_orientations = {"I": 0, "E": 1, "V": K}[model[2]]
    if model[2] == "E":
        orientation = np.repeat(orientation[:1], K, axis=0)
        # the shared D diagonalises every component: each shape in D's column order
        shape = np.einsum("ij,kij->kj", orientation[0], covariances @ orientation[0])
        shape /= volume[:, None]
    sizes = [n_volumes, n_shapes * d, n_orientations * pairs]

    def sigma(theta):
        u, b, r = np.split(theta, np.cumsum(sizes)[:-1])
        lam = volume * np.exp(np.resize(u, K) if n_volumes == 1 else u)
        b = b.reshape(n_shapes, d)
        a = shape * np.exp(b - b.mean(axis=1, keepdims=True))
        if model[2] == "I":
            D = np.repeat(np.eye(d)[None], K, axis=0)
        else:
            r = r.reshape(n_orientations, pairs)
            D = np.array(
                [orientation[k] @ rotation(r[min(k, n_orientations - 1)], d) for k in range(K)]
            )
        return np.einsum("kij,kj,klj->kil", D, lam[:, None] * a, D)

    return sigma, sum(sizes)


@pytest.mark.parametrize(
    ("model", "vve"), [(model, "likelihood") for model in ITERATIVE] + [("VVE", "mclust")]
)
def test_iterative_m_step_is_a_stationary_point(model, vve):
    """The gradient of F over the constrained parameters vanishes at the M-step, and scipy
    (BFGS from a perturbed start) finds no lower F; mclust's VVE is not stationary."""
    X, z = case_data("synthetic-K3")
    counts, _, scatters = full_scatters(X, z)
    estimate = pars.covariances_from_scatter(
        model, counts, scatters, tol=1e-14, max_iter=20_000, vve=vve
    )
    sigma, size = constrained_family(model, estimate, counts)
    np.testing.assert_allclose(
        sigma(np.zeros(size)),
        pars.full_covariances(model, estimate.covariances, counts.size),
        rtol=1e-10,
        atol=1e-12,
    )

    def F(theta):
        return objective(counts, scatters, sigma(theta))

    best = F(np.zeros(size))
    h = 1e-5
    gradient = np.array([(F(h * e) - F(-h * e)) / (2 * h) for e in np.eye(size)])
    rng = np.random.default_rng(0)
    result = optimize.minimize(
        F, 0.05 * rng.normal(size=size), method="BFGS", options={"gtol": 1e-9, "maxiter": 2000}
    )
    if model == "VVE" and vve == "mclust":
        assert np.abs(gradient).max() > 1e-2
        assert result.fun < best - 1e-3
    else:
        assert np.abs(gradient).max() < 1e-5  # finite differences: about 1e-7 here
        assert result.fun > best - 1e-9 * abs(best)
        assert abs(result.fun - best) < 1e-7 * abs(best)


# ------------------------------------------------- EM: the log-likelihood never decreases
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    model=st.sampled_from(pars.MODEL_NAMES),
    n_features=st.integers(2, 3),
    n_components=st.integers(2, 3),
)
def test_em_log_likelihood_never_decreases(seed, model, n_features, n_components):
    rng = np.random.default_rng(seed)
    X = gaussian_clusters(90, n_features, n_components, random_state=seed)[0]
    resp = rng.dirichlet(np.ones(n_components), size=X.shape[0])
    try:
        *_, history = run_em(X, resp, model, n_iter=12)
    except ValueError as error:  # a component collapsed: nothing to check
        assume("Fitting failed" not in str(error))
        raise
    steps = np.diff(history)
    assert np.all(steps >= -1e-10 * abs(history[0])), (steps.min(), history)


# ------------------------------------------------------- mclust's conjugate prior (MAP)
#: mclust 6.0.0's MAP M-step (``priorControl()``) for the ten models that have one, as this
#: module's M-step on augmented statistics: ``covariances_from_scatter(model, N_k + c,
#: W_k + P_k)``. With kappa the shrinkage, nu the dof, Psi the scale (psi I for a number),
#: mu_p the prior mean, [kappa] = 1 if kappa > 0 and the pull
#: pull_k = kappa N_k / (N_k + kappa) (xbar_k - mu_p)(xbar_k - mu_p)^T, per model:
#: (P_k, c_k, whether the means are shrunk to (N_k xbar_k + kappa mu_p) / (N_k + kappa)).
MCLUST_MAP = {
    "EII": (lambda pull, Psi, K, d: pull, lambda nu, k, K, d: (nu + 2) / (d * K) + k, True),
    "VII": (lambda pull, Psi, K, d: pull + Psi / d, lambda nu, k, K, d: (nu + 2) / d + k, True),
    "EEI": (lambda pull, Psi, K, d: pull + Psi / K, lambda nu, k, K, d: (nu + 2) / K + k, False),
    "VEI": (lambda pull, Psi, K, d: pull + Psi, lambda nu, k, K, d: (nu + 2 + k) / d, True),
    "EVI": (lambda pull, Psi, K, d: pull + Psi, lambda nu, k, K, d: (nu + 2) / K + k, True),
    "VVI": (lambda pull, Psi, K, d: pull + Psi, lambda nu, k, K, d: nu + 2 + k, True),
    "EEE": (lambda pull, Psi, K, d: pull + Psi / K, lambda nu, k, K, d: (nu + d + 1) / K + k, True),
    "EEV": (lambda pull, Psi, K, d: Psi + 0 * pull, lambda nu, k, K, d: (nu + d + 1) / K, False),
    "VEV": (lambda pull, Psi, K, d: pull + Psi, lambda nu, k, K, d: 0.0, True),
    "VVV": (lambda pull, Psi, K, d: pull + Psi, lambda nu, k, K, d: nu + d + 1 + k, True),
}


@pytest.mark.parametrize("model", sorted(MCLUST_MAP))
def test_mclust_map_m_step_is_this_m_step_on_augmented_statistics(model):
    """What the prior changes in mclust 6.0.0, measured: EII ignores the prior scale, EEI
    keeps the unshrunk means, EEV ignores the mean prior altogether (its Fortran sets the
    shrinkage to 0), VEV ignores the dof; VEE, EVE, VVE and EVV have no prior."""
    reference = REFERENCE["prior"]["models"][model]
    X, z = case_data(REFERENCE["prior"]["case"])
    counts, xbar, scatters = full_scatters(X, z)
    K, d = xbar.shape
    kappa, nu = reference["shrinkage"], reference["dof"]
    mu_p, scale = np.array(reference["prior_mean"]), array(reference["scale"])
    Psi = scale[0, 0] * np.eye(d) if scale.size == 1 else scale
    shift = xbar - mu_p
    pull = np.einsum("k,ki,kj->kij", kappa * counts / (counts + kappa), shift, shift)
    extra, count, shrunk = MCLUST_MAP[model]
    estimate = pars.covariances_from_scatter(
        model,
        counts + count(nu, float(kappa > 0), K, d),
        scatters + extra(pull, Psi, K, d),
        tol=1e-13,
        max_iter=10_000,
    )
    covariances = pars.full_covariances(model, estimate.covariances, K)
    # EII: mclust expands |xbar - mu_p|^2 as a difference of squares (about 1e-8 relative)
    assert relative_error(covariances, array(reference["sigma"])) < 1e-7
    means = (counts[:, None] * xbar + kappa * mu_p) / (counts + kappa)[:, None] if shrunk else xbar
    np.testing.assert_allclose(means, array(reference["mean"]), rtol=1e-12)


# ------------------------------------------- scikit-learn's four types, as gmmlib computes them
@pytest.mark.parametrize("reg_covar", [0.0, 1e-6, 1e-2])
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "tied", "full"])
def test_sklearn_types_agree_with_gmmlib(covariance_type, reg_covar):
    """VII, VVI, EEE, VVV are spherical, diag, tied, full: from the same statistics they give
    gmmlib.em.m_step_from_statistics's covariances to 1e-12."""
    model = pars.SKLEARN_EQUIVALENTS[covariance_type]
    X = gaussian_clusters(200, 3, 3, random_state=4)[0]
    resp = np.random.default_rng(4).dirichlet(np.ones(3), size=X.shape[0])
    stats = em.responsibility_statistics(X, resp, covariance_type, n_jobs=1)
    _, _, expected = em.m_step_from_statistics(stats, reg_covar=reg_covar)
    counts = stats.counts
    shifts = stats.sums / counts[:, None]
    if covariance_type == "tied":
        scatters = stats.scatters - (counts * shifts.T) @ shifts
    elif covariance_type == "full":
        scatters = stats.scatters - counts[:, None, None] * np.einsum("ki,kj->kij", shifts, shifts)
    else:
        scatters = stats.scatters - counts[:, None] * shifts**2
    ours = pars.covariances_from_scatter(model, counts, scatters, reg_covar=reg_covar).covariances
    if covariance_type == "spherical":
        assert np.ptp(ours, axis=1).max() == 0
        ours = ours[:, 0]
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)


def test_regularisation_is_an_extra_scatter_per_point():
    """Every model's estimate with reg_covar is its estimate from W_k + reg_covar N_k I."""
    X, z = case_data("iris-K3")
    counts, _, scatters = full_scatters(X, z)
    extra = scatters + 0.1 * counts[:, None, None] * np.eye(4)
    for model in pars.MODEL_NAMES:
        a = pars.covariances_from_scatter(model, counts, scatters, reg_covar=0.1, tol=1e-13)
        b = pars.covariances_from_scatter(model, counts, extra, tol=1e-13)
        np.testing.assert_allclose(a.covariances, b.covariances, rtol=1e-11, err_msg=model)


# ------------------------------------------------------------- constraints, decomposition
@pytest.mark.parametrize("model", pars.MODEL_NAMES)
def test_estimates_satisfy_their_constraints(model):
    X, z = case_data("iris-K3")
    counts, _, scatters = full_scatters(X, z)
    estimate = pars.covariances_from_scatter(model, counts, scatters, tol=1e-13, max_iter=10_000)
    covariances = pars.full_covariances(model, estimate.covariances, counts.size)
    volume, shape, orientation = pars.volume_shape_orientation(covariances)
    if model[0] == "E":
        np.testing.assert_allclose(volume, volume[0], rtol=1e-10)
    if model[1] == "I":
        np.testing.assert_allclose(shape, 1.0, rtol=1e-10)
    if model[1] == "E" and model[2] != "E":
        np.testing.assert_allclose(shape, shape[:1].repeat(3, axis=0), rtol=1e-8)
    off_diagonal = ~np.eye(4, dtype=bool)
    if model[2] == "I":
        assert np.all(covariances[:, off_diagonal] == 0)
    if model[2] == "E":  # one D diagonalises every component
        D = orientation[0]
        rotated = np.einsum("ji,kjl,lm->kim", D, covariances, D)
        assert np.abs(rotated[:, off_diagonal]).max() < 1e-8 * np.abs(rotated).max()
        if model[1] == "E":
            shared = covariances / volume[:, None, None]
            np.testing.assert_allclose(
                shared, np.broadcast_to(shared[0], shared.shape), rtol=1e-8, atol=1e-12
            )


@pytest.mark.parametrize("model", pars.MODEL_NAMES)
def test_one_feature_leaves_volume_only(model):
    """With d = 1 shape and orientation are trivial: E** pools, V** does not."""
    counts = np.array([3.0, 5.0, 2.0])
    scatters = np.array([[[1.5]], [[8.0]], [[0.4]]])
    estimate = pars.covariances_from_scatter(model, counts, scatters)
    covariances = pars.full_covariances(model, estimate.covariances, 3)[:, 0, 0]
    expected = scatters.sum() / counts.sum() if model[0] == "E" else scatters[:, 0, 0] / counts
    np.testing.assert_allclose(covariances, expected, rtol=1e-12)


@settings(max_examples=EXAMPLES, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 6), K=st.integers(1, 4))
def test_decomposition_round_trips(seed, d, K):
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(K, d, d))
    covariances = factors @ np.swapaxes(factors, 1, 2) + 0.05 * np.eye(d)
    volume, shape, orientation = pars.volume_shape_orientation(covariances)
    np.testing.assert_allclose(volume, np.linalg.det(covariances) ** (1 / d), rtol=1e-10)
    np.testing.assert_allclose(np.prod(shape, axis=1), 1.0, rtol=1e-10)
    assert np.all(np.diff(shape, axis=1) <= 0)
    np.testing.assert_allclose(
        np.swapaxes(orientation, 1, 2) @ orientation,
        np.broadcast_to(np.eye(d), (K, d, d)),
        atol=1e-12,
    )
    back = pars.covariance_from_volume_shape_orientation(volume, shape, orientation)
    np.testing.assert_allclose(
        back, covariances, rtol=1e-10, atol=1e-12 * np.abs(covariances).max()
    )
    one = pars.volume_shape_orientation(covariances[0])
    for single, stacked in zip(one, (volume, shape, orientation)):
        np.testing.assert_allclose(single, stacked[0], rtol=1e-12)


def test_decomposition_of_a_known_ellipse():
    angle = 0.3
    D = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    covariance = D @ np.diag([8.0, 0.5]) @ D.T
    volume, shape, orientation = pars.volume_shape_orientation(covariance)
    assert volume == pytest.approx(2.0)
    np.testing.assert_allclose(shape, [4.0, 0.25])
    np.testing.assert_allclose(orientation, D, atol=1e-12)


# ------------------------------------------------------------------------- bad input
def test_unknown_model_names_the_valid_ones():
    names = "EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV"
    with pytest.raises(ValueError, match=names):
        pars.covariances_from_scatter("full", np.ones(2), np.ones((2, 2, 2)))
    for call in (
        lambda: pars.n_covariance_parameters("XYZ", 2, 2),
        lambda: pars.n_parameters("vvv", 2, 2),
        lambda: pars.full_covariances("EVX", np.ones((2, 2)), 2),
        lambda: pars.check_model(None),
    ):
        with pytest.raises(ValueError, match="Unknown covariance model"):
            call()


@pytest.mark.parametrize(
    ("model", "scatters", "message"),
    [
        ("VVV", np.ones((2, 3)), r"full scatters of shape \(K, d, d\)"),
        ("EEE", np.ones((2, 3)), r"pooled scatters of shape \(d, d\) or \(K, d, d\)"),
        ("VVI", np.ones((3, 3)), r"diagonal scatters of shape \(K, d\)"),
        ("EVE", np.ones((2, 3, 4)), r"full scatters"),
    ],
)
def test_wrong_scatter_shapes(model, scatters, message):
    with pytest.raises(ValueError, match=message):
        pars.covariances_from_scatter(model, np.ones(2), scatters)


def test_other_bad_arguments():
    W = np.repeat(np.eye(2)[None], 2, axis=0)
    counts = np.array([3.0, 4.0])
    bad = [
        (dict(counts=np.array([3.0, -1.0])), "counts must be finite and non-negative"),
        (dict(counts=np.array([0.0, 0.0])), "at least one must be positive"),
        (dict(counts=np.ones((2, 1))), "counts must be a 1-D array"),
        (dict(reg_covar=-1.0), "reg_covar"),
        (dict(tol=-1e-3), "tol"),
        (dict(max_iter=0), "max_iter"),
        (dict(vve="best"), "vve"),
        (dict(scatters=np.full((2, 2, 2), np.nan)), "finite"),
    ]
    for change, message in bad:
        arguments = dict(model="VEE", counts=counts, scatters=W) | change
        model = arguments.pop("model")
        with pytest.raises(ValueError, match=message):
            pars.covariances_from_scatter(model, **arguments)
    eve = pars.covariances_from_scatter("EVE", counts, W)
    with pytest.raises(ValueError, match="previous must be the CovarianceEstimate of model VVE"):
        pars.covariances_from_scatter("VVE", counts, W, previous=eve)
    with pytest.raises(ValueError, match="another number of components"):
        pars.covariances_from_scatter(
            "EVE", np.ones(3), np.repeat(np.eye(2)[None], 3, axis=0), previous=eve
        )
    singular = np.array([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    for model in ("VEE", "EVE", "VVE", "EEV", "VEV", "EVV"):
        with pytest.raises(ValueError, match="positive definite"):
            pars.covariances_from_scatter(model, counts, singular)
    with pytest.raises(ValueError, match=r"stores covariances of shape \(K, d\)"):
        pars.full_covariances("VVI", np.ones((3, 2)), 2)
    with pytest.raises(ValueError, match="positive definite"):
        pars.volume_shape_orientation(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="symmetric"):
        pars.volume_shape_orientation(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="product 1"):
        pars.covariance_from_volume_shape_orientation(1.0, [2.0, 2.0], np.eye(2))
    with pytest.raises(ValueError, match="orthogonal"):
        pars.covariance_from_volume_shape_orientation(1.0, [2.0, 0.5], np.ones((2, 2)))


# ------------------------------------------------------------- empty components, warm starts
@pytest.mark.parametrize("model", pars.MODEL_NAMES)
def test_empty_components_take_no_part(model):
    """A component with N_k = 0 changes nothing for the others (their estimate is the
    model's estimate without it) and gets a copy of the heaviest component's parameters."""
    X, z = case_data("iris-K3")
    counts, _, scatters = full_scatters(X, z)
    with_empty = (np.insert(counts, 1, 0.0), np.insert(scatters, 1, 0.0, axis=0))
    options = dict(tol=1e-13, max_iter=10_000)
    alone = pars.covariances_from_scatter(model, counts, scatters, **options)
    both = pars.covariances_from_scatter(model, *with_empty, **options)
    expected = pars.full_covariances(model, alone.covariances, 3)
    got = pars.full_covariances(model, both.covariances, 4)
    np.testing.assert_allclose(got[[0, 2, 3]], expected, rtol=1e-12)
    np.testing.assert_array_equal(got[1], got[1 + int(np.argmax(counts))])
    if alone.scale is not None:  # the warm-start state has an entry for every component
        assert both.scale.shape == (4,)
        again = pars.covariances_from_scatter(model, *with_empty, previous=both, **options)
        np.testing.assert_allclose(again.covariances, both.covariances, rtol=1e-9)


@pytest.mark.parametrize("model", ITERATIVE)
def test_the_state_is_recovered_from_the_covariances(model):
    """estimate_from_covariances gives back the decomposition an M-step ended with: a warm
    start from it continues the iteration as a warm start from the estimate itself does."""
    X, z = case_data("synthetic-K3")
    counts, _, scatters = full_scatters(X, z)
    estimate = pars.covariances_from_scatter(model, counts, scatters, tol=0.0, max_iter=5)
    recovered = pars.estimate_from_covariances(model, estimate.covariances)
    np.testing.assert_allclose(recovered.covariances, estimate.covariances)
    step = dict(tol=0.0, max_iter=3)
    carried = pars.covariances_from_scatter(model, counts, scatters, previous=estimate, **step)
    derived = pars.covariances_from_scatter(model, counts, scatters, previous=recovered, **step)
    np.testing.assert_allclose(derived.covariances, carried.covariances, rtol=1e-9, atol=1e-12)
    closed = pars.estimate_from_covariances("EEV", pars.full_covariances("VVV", scatters, 3))
    assert closed.scale is None and closed.covariances.shape == (3, 3, 3)
    with pytest.raises(ValueError, match="positive definite"):
        pars.estimate_from_covariances(
            model,
            -np.asarray(pars.full_covariances(model, estimate.covariances, 3))
            if model != "VEI"
            else -estimate.covariances,
        )


def test_options_are_checked():
    assert pars.check_options() == {"tol": 1e-8, "max_iter": 1000, "vve": "likelihood"}
    for options, message in [
        ({"tol": -1.0}, "tol"),
        ({"tol": True}, "tol"),
        ({"max_iter": 1.5}, "max_iter"),
        ({"vve": "ML"}, "vve"),
    ]:
        with pytest.raises(ValueError, match=message):
            pars.check_options(**options)
