"""A plain, slow EM written straight from the textbook, as a reference for the tests.

Every quantity is computed from deviations :math:`x_i - \\mu_k` (never from expanded
squares or differences of second moments), with Cholesky factors from LAPACK, so it is
accurate wherever the data are representable; it is slow (it materialises N x K x d arrays)
and meant only for small test problems. Bishop (2006), eqs. 9.23-9.28. The starts are
scikit-learn's (:func:`initial_resp`).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.utils import check_random_state


def initial_resp(X, n_components, init_params, random_state):
    """Starting responsibilities as scikit-learn's ``GaussianMixture`` draws them.

    ``"kmeans"``: the k-means labels, one-hot; ``"k-means++"`` and ``"random_from_data"``:
    one row per component (the k-means++ seeds, or rows drawn without replacement);
    ``"random"``: uniform draws, each row normalised to sum to one. Distances are computed
    on the data shifted to its centre, as gmmlib does (README: "Where gmmlib departs from
    scikit-learn"): the same clusters in exact arithmetic.
    """
    random_state = check_random_state(random_state)
    X = np.asarray(X, dtype=float)
    X = X - X.mean(axis=0)
    n_samples = len(X)
    resp = np.zeros((n_samples, n_components))
    if init_params == "kmeans":
        kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
        resp[np.arange(n_samples), kmeans.fit(X).labels_] = 1
    elif init_params == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        resp /= resp.sum(axis=1)[:, None]
    elif init_params == "random_from_data":
        rows = random_state.choice(n_samples, size=n_components, replace=False)
        resp[rows, np.arange(n_components)] = 1
    else:  # k-means++
        _, rows = kmeans_plusplus(X, n_components, random_state=random_state)
        resp[rows, np.arange(n_components)] = 1
    return resp


def m_step(X, resp, covariance_type, reg_covar):
    """Weights, means and covariances maximising the expected complete-data likelihood.

    Each point counts with its responsibilities (the ``tied`` covariance weighs each point by
    its row's sum, gmmlib's convention).
    """
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    means = resp.T @ X / nk[:, None]
    deviations = X[:, None, :] - means[None]  # (N, K, d)
    d = X.shape[1]
    if covariance_type in ("full", "tied"):
        scatter = np.einsum("nk,nkd,nke->kde", resp, deviations, deviations)
        if covariance_type == "full":
            covariances = scatter / nk[:, None, None] + reg_covar * np.eye(d)
        else:
            covariances = scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(d)
    else:
        variances = np.einsum("nk,nkd->kd", resp, deviations**2) / nk[:, None] + reg_covar
        covariances = variances if covariance_type == "diag" else variances.mean(axis=1)
    return nk / nk.sum(), means, covariances


def log_densities(X, weights, means, covariances, covariance_type):
    """:math:`\\log \\pi_k + \\log \\mathcal N(x_i \\mid \\mu_k, \\Sigma_k)`, shape (N, K)."""
    n, d = X.shape
    out = np.empty((n, len(weights)))
    for k, mean in enumerate(means):
        deviation = X - mean
        if covariance_type in ("full", "tied"):
            matrix = covariances[k] if covariance_type == "full" else covariances
            lower = linalg.cholesky(matrix, lower=True)
            z = linalg.solve_triangular(lower, deviation.T, lower=True)
            distance, log_det = np.sum(z**2, axis=0), 2 * np.sum(np.log(np.diag(lower)))
        else:
            variance = covariances[k] * np.ones(d)
            distance, log_det = np.sum(deviation**2 / variance, axis=1), np.sum(np.log(variance))
        out[:, k] = np.log(weights[k]) - 0.5 * (d * np.log(2 * np.pi) + log_det + distance)
    return out


def em(X, resp, covariance_type, *, reg_covar=1e-6, n_iter=1):
    """EM from starting responsibilities: the parameters after ``n_iter`` iterations.

    Mirrors gmmlib's bookkeeping: the start is the M-step of ``resp``; returns
    ``(weights, means, covariances, bounds, smallest_weight)`` with ``bounds[t]`` the mean
    log-likelihood of the parameters after ``t`` iterations, ``t = 0 .. n_iter - 1``, and the
    smallest weight any component had on the way. A component that has emptied (weight
    near 0) has a covariance that is 0/0, undefined: any implementation's is as good.
    """
    X = np.asarray(X, dtype=float)
    params = m_step(X, resp, covariance_type, reg_covar)
    bounds, smallest_weight = [], params[0].min()
    for _ in range(n_iter):
        weighted = log_densities(X, *params, covariance_type)
        norm = logsumexp(weighted, axis=1)
        bounds.append(float(np.mean(norm)))
        params = m_step(X, np.exp(weighted - norm[:, None]), covariance_type, reg_covar)
        smallest_weight = min(smallest_weight, params[0].min())
    return (*params, bounds, float(smallest_weight))
