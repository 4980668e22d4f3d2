"""The Dask path (gmmlib.dask): the same EM as in memory, block by block."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture
from gmmlib import dask as gmm_dask
from gmmlib.datasets import gaussian_clusters
from gmmlib.mixture import precisions_of_variances

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

#: Uneven row blocks (one of a single row), and two column blocks that the path must join.
UNEVEN_ROWS = (1, 137, 500, 362, 1000)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return gaussian_clusters(2000, 3, 3, random_state=1)[0]


@pytest.fixture(scope="module")
def weights(data) -> np.ndarray:
    return np.random.RandomState(0).uniform(0.1, 3.0, size=len(data))


@pytest.fixture(autouse=True)
def synchronous():
    """One thread, so a failure shows its traceback; the distributed test sets its own."""
    with dask.config.set(scheduler="synchronous"):
        yield


def same_start(X: np.ndarray, covariance_type: str) -> dict:
    return {
        "weights_init": np.full(3, 1 / 3),
        "means_init": X[[0, 700, 1500]],
        "precisions_init": precisions_of_variances(X.var(axis=0), covariance_type, 3),
    }


def fit_both(X, covariance_type, *, sample_weight=None, chunks=(UNEVEN_ROWS, (2, 1)), **params):
    params = {"covariance_type": covariance_type, "tol": 0.0, "max_iter": 25, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if sample_weight is None:
            memory = GaussianMixture(3, **params).fit(X)
            lazy = GaussianMixture(3, **params).fit(da.from_array(X, chunks=chunks))
        else:
            memory = GaussianMixture(3, **params).fit(X, sample_weight=sample_weight)
            lazy = GaussianMixture(3, **params).fit(
                da.from_array(X, chunks=chunks),
                sample_weight=da.from_array(sample_weight, chunks=200),
            )
    return memory, lazy


def largest_difference(a, b) -> float:
    return max(
        float(np.max(np.abs(getattr(a, name) - getattr(b, name))))
        for name in ("weights_", "means_", "covariances_")
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_as_in_memory(data, covariance_type):
    memory, lazy = fit_both(data, covariance_type, **same_start(data, covariance_type))
    assert lazy.n_iter_ == memory.n_iter_ == 25
    assert largest_difference(memory, lazy) < 1e-8
    assert lazy.lower_bound_ == pytest.approx(memory.lower_bound_, abs=1e-10)
    assert np.allclose(lazy.lower_bounds_, memory.lower_bounds_, rtol=0, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_with_sample_weights(data, weights, covariance_type):
    memory, lazy = fit_both(
        data, covariance_type, sample_weight=weights, **same_start(data, covariance_type)
    )
    assert largest_difference(memory, lazy) < 1e-8
    assert lazy.lower_bound_ == pytest.approx(memory.lower_bound_, abs=1e-10)


def test_weights_as_numpy_array(data, weights):
    model = GaussianMixture(3, max_iter=3, tol=0.0, **same_start(data, "full"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lazy = model.fit(da.from_array(data, chunks=300), sample_weight=weights)
        memory = GaussianMixture(**lazy.get_params()).fit(data, sample_weight=weights)
    assert largest_difference(memory, lazy) < 1e-8


def test_converges_like_in_memory(data):
    """The estimator's own stopping rule: same number of iterations, same answer."""
    memory, lazy = fit_both(data, "full", tol=1e-3, max_iter=200, **same_start(data, "full"))
    assert lazy.converged_ and memory.converged_
    assert lazy.n_iter_ == memory.n_iter_ < 200
    assert largest_difference(memory, lazy) < 1e-8


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_initialisation_from_a_sample(data, init_params):
    """With all rows in the sample, the start (and so the fit) is the in-memory one."""
    params = {"init_params": init_params, "random_state": 3, "max_iter": 10, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GaussianMixture(3, **params).fit(data)
        lazy = GaussianMixture(3, **params).fit(da.from_array(data, chunks=512))
    # 2,000 rows < INIT_SAMPLE_SIZE: the "sample" is every row, in order, drawn without
    # using the random state, so k-means (k-means++) sees what it sees in memory.
    assert largest_difference(memory, lazy) < 1e-8


def test_float32_stays_float32(data):
    X = data.astype(np.float32)
    params = {"max_iter": 5, "tol": 0.0, **same_start(data, "diag"), "covariance_type": "diag"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GaussianMixture(3, **params).fit(X)
        lazy = GaussianMixture(3, **params).fit(da.from_array(X, chunks=700))
    assert lazy.means_.dtype == memory.means_.dtype == np.float32
    assert lazy.score_samples(da.from_array(X, chunks=700)).dtype == np.float32
    # The two add the same rows in different chunks, so they differ by float32 rounding:
    # about 4e-6 relative after five iterations (1e-8 would hold in float64).
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(lazy, name), getattr(memory, name), rtol=1e-5, atol=1e-6)


def test_initialisation_reads_only_a_sample(data, monkeypatch):
    seen = []
    original = gmm_dask.sample_rows

    def spy(X, n_rows, *args):
        rows, weight = original(X, n_rows, *args)
        seen.append(len(rows))
        return rows, weight

    monkeypatch.setattr(gmm_dask, "sample_rows", spy)
    model = GaussianMixture(3, max_iter=2, random_state=0, init_sample_size=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(da.from_array(data, chunks=500))
    assert seen == [300]
    assert model.means_.shape == (3, 3)


def test_lazy_predictions(data):
    _, lazy = fit_both(data, "full", **same_start(data, "full"))
    X = da.from_array(data, chunks=(UNEVEN_ROWS, 3))
    outputs = {
        "predict": lazy.predict(X),
        "predict_proba": lazy.predict_proba(X),
        "score_samples": lazy.score_samples(X),
    }
    for name, output in outputs.items():
        assert isinstance(output, da.Array), name
        expected = getattr(lazy, name)(data)
        assert output.shape == expected.shape
        assert np.allclose(output.compute(), expected, rtol=0, atol=1e-10), name
    labels = GaussianMixture(**lazy.get_params()).fit_predict(X)
    assert isinstance(labels, da.Array)


def test_bad_input(data):
    model = GaussianMixture(3)
    with pytest.raises(ValueError, match="one weight per row"):
        model.fit(da.from_array(data, chunks=500), sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="2-D"):
        model.fit(da.from_array(data[:, 0], chunks=500))
    with pytest.raises(ValueError, match="n_components=3 is larger"):
        model.fit(da.from_array(data[:2], chunks=1))
    huge = np.random.RandomState(0).normal(scale=1e200, size=(50, 2))
    start = {"means_init": np.zeros((3, 2)), "weights_init": np.full(3, 1 / 3)}
    with pytest.raises(ValueError, match="not finite"), np.errstate(all="ignore"):
        GaussianMixture(3, precisions_init=np.ones(3), covariance_type="spherical", **start).fit(
            da.from_array(huge, chunks=10)
        )


def test_file_backed_on_a_local_cluster(tmp_path):
    """The distributed scheduler, two worker processes, data read from a .npy file in tasks."""
    distributed = pytest.importorskip("distributed")
    from gmmlib.dask import from_npy, local_cluster
    from gmmlib.datasets import write_npy

    X = gaussian_clusters(6000, 2, 3, random_state=2)[0]
    path = write_npy(
        tmp_path / "x.npy", *X.shape, lambda start, stop: X[start:stop], rows_per_write=1000
    )
    lazy_X = from_npy(path, rows_per_block=1100)
    assert lazy_X.numblocks == (6, 1)
    graph_bytes = len(__import__("pickle").dumps(dict(lazy_X.__dask_graph__())))
    assert graph_bytes < X.nbytes / 10  # the graph holds the file name, not the data

    start = same_start(X, "full")
    params = {"tol": 0.0, "max_iter": 5, **start}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GaussianMixture(3, **params).fit(X)
        with (
            local_cluster(2, memory_limit="400MiB") as cluster,
            distributed.Client(cluster) as client,
        ):
            lazy = GaussianMixture(3, **params).fit(lazy_X)
            labels = lazy.predict(lazy_X).compute()
            assert len(client.scheduler_info()["workers"]) == 2
    assert largest_difference(memory, lazy) < 1e-8
    assert np.array_equal(labels, memory.predict(X))


def test_gmmlib_imports_without_dask():
    """Importing and using gmmlib loads no Dask module; with Dask blocked it still works."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import gmmlib\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
        "X = np.random.RandomState(0).normal(size=(100, 2))\n"
        "gmmlib.GaussianMixture(2, random_state=0).fit(X).predict(X)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
        "sys.modules['dask'] = None  # as if Dask were not installed\n"
        "gmmlib.GaussianMixture(2, random_state=0).fit(X).score(X)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_repeat_rows(data, covariance_type):
    """Weight 2 on a row is the row twice, 0 is the row removed: on Dask as in memory."""
    counts = np.random.RandomState(1).randint(0, 3, size=len(data))
    start = same_start(data, covariance_type)
    params = {"covariance_type": covariance_type, "tol": 0.0, "max_iter": 10, **start}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        repeated = GaussianMixture(3, **params).fit(np.repeat(data, counts, axis=0))
        weighted = GaussianMixture(3, **params).fit(
            da.from_array(data, chunks=(UNEVEN_ROWS, 3)), sample_weight=counts.astype(float)
        )
    assert largest_difference(repeated, weighted) < 1e-8


def test_npy_file_round_trip(tmp_path):
    """write_npy streams blocks into a valid .npy; from_npy reads back any rows asked for."""
    from gmmlib.dask import from_npy
    from gmmlib.datasets import write_gaussian_clusters

    path = write_gaussian_clusters(tmp_path / "x.npy", 1000, 3, 2, rows_per_write=128)
    stored = np.load(path)
    assert stored.shape == (1000, 3) and np.all(np.isfinite(stored))
    lazy = from_npy(path, rows_per_block=300)
    assert lazy.chunks == ((300, 300, 300, 100), (3,))
    for key in (np.s_[:], np.s_[5:907], np.s_[3:7, 2], np.s_[[1, 5, 999]], np.s_[::7]):
        assert np.array_equal(lazy[key].compute(), stored[key])
    with pytest.raises(ValueError, match="expected a C-ordered"):
        np.save(tmp_path / "v.npy", np.ones(5))
        from_npy(tmp_path / "v.npy", rows_per_block=2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_map_fit_as_in_memory(data, weights, covariance_type):
    """With a prior: the data-dependent defaults come from one pass over the blocks (weighted
    mean and covariance) and the fit is the in-memory MAP fit."""
    memory, lazy = fit_both(
        data,
        covariance_type,
        sample_weight=weights,
        prior="default",
        **same_start(data, covariance_type),
    )
    for name in ("mean", "scale"):
        np.testing.assert_allclose(
            getattr(lazy.prior_, name), getattr(memory.prior_, name), rtol=1e-12
        )
    assert largest_difference(memory, lazy) < 1e-8
    assert lazy.lower_bound_ == pytest.approx(memory.lower_bound_, abs=1e-10)


def test_score_bic_and_aic_in_one_pass_without_loading(data, weights, monkeypatch):
    model = GaussianMixture(3, random_state=0).fit(data)
    lazy = da.from_array(data, chunks=(UNEVEN_ROWS, (2, 1)))
    monkeypatch.setattr(np, "asarray", _refuse_dask(np.asarray))
    assert model.score(lazy) == pytest.approx(model.score(data), rel=1e-12)
    assert model.bic(lazy) == pytest.approx(model.bic(data), rel=1e-12)
    assert model.aic(lazy, weights) == pytest.approx(model.aic(data, weights), rel=1e-12)
    lazy_weights = da.from_array(weights, chunks=333)
    assert model.bic(lazy, lazy_weights) == pytest.approx(model.bic(data, weights), rel=1e-12)
    with pytest.raises(ValueError, match="must not be negative"):
        model.bic(lazy, -weights)


def _refuse_dask(asarray):
    """np.asarray that fails for a whole Dask array (blocks, numpy arrays, are fine)."""

    def guarded(value, *args, **kwargs):
        if isinstance(value, da.Array) and value.shape[0] == 2000:
            raise AssertionError("the whole Dask array was loaded")
        return asarray(value, *args, **kwargs)

    return guarded


def test_a_local_cluster_leaves_this_process_on_all_its_cores(monkeypatch):
    """distributed writes the workers' OMP_NUM_THREADS=1 into the parent's environment too;
    local_cluster undoes that here, while the workers keep it."""
    pytest.importorskip("distributed")
    from distributed import Client

    from gmmlib.statistics import effective_n_jobs

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with dask.config.set(scheduler="threads"):
        with gmm_dask.local_cluster(1, memory_limit="400MiB") as cluster, Client(cluster) as client:
            assert "OMP_NUM_THREADS" not in __import__("os").environ
            assert effective_n_jobs() == effective_n_jobs(-1)
            (threads,) = client.run(
                lambda: __import__("os").environ.get("OMP_NUM_THREADS")
            ).values()
            assert threads == "1"


# ------------------------------------------------------- no silent wrong answers (issue 21)
@pytest.mark.parametrize(
    "make_weights, message",
    [
        (lambda n: -np.ones(n), "must not be negative"),
        (lambda n: np.full(n, np.nan), "NaN or infinity"),
        (lambda n: np.r_[np.inf, np.ones(n - 1)], "NaN or infinity"),
        (lambda n: np.zeros(n), "zero everywhere"),
        (lambda n: np.r_[1.0, np.zeros(n - 1)], "1 with positive weight"),
    ],
    ids=["negative", "nan", "inf", "zero", "one positive"],
)
def test_dask_weights_are_checked_as_in_memory(data, make_weights, message):
    """The Dask path never validated its weights: negative ones fitted, all-zero ones
    raised ZeroDivisionError, NaN blamed the data's magnitude."""
    weight = make_weights(len(data))
    for given in (weight, da.from_array(weight, chunks=700)):
        with pytest.raises(ValueError, match=message):
            GaussianMixture(2, random_state=0).fit(
                da.from_array(data, chunks=500), sample_weight=given
            )
        with pytest.raises(ValueError, match=message):
            GaussianMixture(2, random_state=0).fit(data, sample_weight=weight)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_the_dask_start_is_drawn_among_rows_that_count(data, init_params):
    """The start's sample of rows ignored the weights: with 20 of 2,000 rows weighted, a
    sample of 100 held one or two of them, and the start failed or gave equal components.
    Drawn among the rows that count, it holds all 20, as the in-memory start does."""
    weight = np.zeros(len(data))
    weight[np.random.RandomState(3).choice(len(data), 20, replace=False)] = 1.0
    params = {"n_components": 3, "init_params": init_params, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GaussianMixture(**params).fit(data, sample_weight=weight)
        params["init_sample_size"] = 100
        lazy = GaussianMixture(**params).fit(da.from_array(data, chunks=700), sample_weight=weight)
    assert largest_difference(memory, lazy) < 1e-8
    gaps = np.linalg.norm(lazy.means_[:, None] - lazy.means_[None], axis=2)
    assert gaps[np.triu_indices(3, 1)].min() > 1e-3  # three distinct components


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_blocks_add_nothing(data, covariance_type):
    """An empty block raised "generator raised StopIteration" (diag) or "inhomogeneous
    shape" (full)."""
    keep = np.ones(len(data), dtype=bool)
    keep[500:1000] = False  # the second block of 500 rows
    lazy = da.from_array(data, chunks=500)[da.from_array(keep, chunks=500)]
    lazy.compute_chunk_sizes()
    assert 0 in lazy.chunks[0]
    params = {"covariance_type": covariance_type, "tol": 0.0, "max_iter": 25}
    start = same_start(data, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GaussianMixture(3, **params, **start).fit(data[keep])
        empty = GaussianMixture(3, **params, **start).fit(lazy)
    assert largest_difference(memory, empty) < 1e-8


def test_unknown_block_sizes_are_named(data):
    lazy = da.from_array(data, chunks=500)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        GaussianMixture(2).fit(lazy[lazy[:, 0] > -0.5])


def test_nan_in_a_block_is_named(data):
    """Said "points lie up to nan from their centre"."""
    broken = data.copy()
    broken[1234, 1] = np.nan
    start = same_start(data, "full")
    for init in ({}, start):  # NaN in the start's sample, and only in a later pass
        with pytest.raises(ValueError, match="NaN or infinity"):
            GaussianMixture(3, **init).fit(da.from_array(broken, chunks=500))
