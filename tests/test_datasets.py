"""gmmlib.datasets: the seeded data sets the chapters use."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons

from gmmlib import datasets


def test_blobs_is_make_blobs_with_columns_swapped():
    X, y = datasets.blobs()
    X_ref, y_ref = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    assert X.shape == (400, 2)
    np.testing.assert_array_equal(X, X_ref[:, ::-1])
    np.testing.assert_array_equal(y, y_ref)


def test_blobs_passes_its_parameters_on():
    X, y = datasets.blobs(150, centers=3, cluster_std=1.5, random_state=7)
    X_ref, y_ref = make_blobs(n_samples=150, centers=3, cluster_std=1.5, random_state=7)
    np.testing.assert_array_equal(X, X_ref[:, ::-1])
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize(("n_samples", "stretch_seed"), [(400, 13), (1250, 15)])
def test_stretched_blobs_maps_blobs_through_the_seeded_matrix(n_samples, stretch_seed):
    X, y = datasets.stretched_blobs(n_samples, stretch_seed=stretch_seed)
    X_blobs, y_blobs = datasets.blobs(n_samples)
    expected = X_blobs @ np.random.RandomState(stretch_seed).randn(2, 2)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y, y_blobs)


def test_stretched_blobs_default_is_the_handbook_example():
    X, _ = datasets.stretched_blobs()
    X_ref, _ = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    np.testing.assert_allclose(X, X_ref[:, ::-1] @ np.random.RandomState(13).randn(2, 2))


def test_moons_is_make_moons():
    X, y = datasets.moons()
    X_ref, y_ref = make_moons(200, noise=0.05, random_state=0)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X2, _ = datasets.moons(50, noise=0.2, random_state=3)
    np.testing.assert_array_equal(X2, make_moons(50, noise=0.2, random_state=3)[0])


@pytest.mark.parametrize("make", [datasets.blobs, datasets.stretched_blobs, datasets.moons])
def test_same_seed_same_data(make):
    X1, y1 = make()
    X2, y2 = make()
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("make", [datasets.blobs, datasets.stretched_blobs, datasets.moons])
@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True])
def test_bad_n_samples_is_refused(make, bad):
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        make(bad)


def test_gaussian_clusters_shapes_and_seed():
    from gmmlib.datasets import gaussian_clusters

    X, y = gaussian_clusters(500, 5, 3, random_state=1)
    assert X.shape == (500, 5) and y.shape == (500,)
    assert set(np.unique(y)) == {0, 1, 2}
    np.testing.assert_array_equal(X, gaussian_clusters(500, 5, 3, random_state=1)[0])
    assert not np.array_equal(X, gaussian_clusters(500, 5, 3, random_state=2)[0])


def test_gaussian_clusters_with_a_set_condition_number():
    from gmmlib.datasets import gaussian_clusters

    X, y = gaussian_clusters(30_000, 6, 2, condition=50.0, separation=0.0, random_state=3)
    for k in range(2):
        eigenvalues = np.linalg.eigvalsh(np.cov(X[y == k], rowvar=False))
        assert 40 < eigenvalues[-1] / eigenvalues[0] < 60  # 50, up to sampling noise
        covariance = np.cov(X[y == k], rowvar=False)
        assert np.abs(covariance - np.diag(np.diag(covariance))).max() > 0.1  # tilted
    with pytest.raises(ValueError, match="condition"):
        gaussian_clusters(10, 2, 2, condition=0.5)
    with pytest.raises(ValueError, match="separation"):
        gaussian_clusters(10, 2, 2, separation=-1.0)


# ------------------------------------------------------------------------- real data sets
REAL = {
    "old_faithful": (datasets.old_faithful, (272, 2), None),
    "iris": (datasets.iris, (150, 4), (50, 50, 50)),
    "wine": (datasets.wine, (178, 13), (59, 71, 48)),
    "breast_cancer": (datasets.breast_cancer, (569, 10), (212, 357)),
}


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: the loaders must work offline."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a data loader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_data_shapes_types_and_classes(name, no_network):
    load, shape, class_sizes = REAL[name]
    data = load()
    assert isinstance(data, datasets.RealData)
    assert data.X.shape == shape and data.X.dtype == np.float64
    assert data.X.flags.c_contiguous and np.all(np.isfinite(data.X))
    assert len(data.feature_names) == shape[1]
    assert all(isinstance(n, str) for n in data.feature_names)
    assert "Licence" in data.description and len(data.description) > 80
    if class_sizes is None:
        assert data.y is None and data.target_names is None
    else:
        assert data.y.dtype == np.int64 and data.y.shape == (shape[0],)
        assert tuple(np.bincount(data.y)) == class_sizes
        assert len(data.target_names) == len(class_sizes)
    frame = data.to_frame()
    assert list(frame.columns) == list(data.feature_names)
    np.testing.assert_array_equal(frame.to_numpy(), data.X)
    X, y, feature_names, target_names, description = data  # a plain tuple too
    assert X is data.X and description is data.description


def test_old_faithful_is_rs_faithful():
    data = datasets.old_faithful()
    assert data.feature_names == ("eruptions", "waiting")
    # R: faithful[c(1, 2, 272), ] and colMeans(faithful)
    np.testing.assert_array_equal(data.X[[0, 1, 271]], [[3.6, 79], [1.8, 54], [4.467, 74]])
    np.testing.assert_allclose(data.X.mean(axis=0), [3.487783088, 70.897058824], rtol=1e-9)
    assert data.X[:, 0].min() == 1.6 and data.X[:, 0].max() == 5.1
    assert data.X[:, 1].min() == 43 and data.X[:, 1].max() == 96
    # waiting times are whole minutes
    np.testing.assert_array_equal(data.X[:, 1], np.round(data.X[:, 1]))


def test_old_faithful_ships_with_the_package():
    from importlib import resources

    assert resources.files("gmmlib").joinpath("data/old_faithful.csv").is_file()


def test_iris_wine_and_breast_cancer_are_scikit_learns_values():
    iris = datasets.iris()
    np.testing.assert_array_equal(iris.X[0], [5.1, 3.5, 1.4, 0.2])
    assert iris.target_names == ("setosa", "versicolor", "virginica")
    wine = datasets.wine()
    assert wine.feature_names[0] == "alcohol" and wine.feature_names[-1] == "proline"
    assert wine.X[0, -1] == 1065.0
    cancer = datasets.breast_cancer()
    assert cancer.feature_names[0] == "mean radius"
    assert cancer.feature_names[-1] == "mean fractal dimension"
    assert cancer.X[0, 0] == 17.99 and cancer.target_names == ("malignant", "benign")


def test_breast_cancer_keeps_the_first_columns():
    everything = datasets.breast_cancer(30)
    assert everything.X.shape == (569, 30)
    first = datasets.breast_cancer(3)
    np.testing.assert_array_equal(first.X, everything.X[:, :3])
    assert first.feature_names == everything.feature_names[:3]
    for bad in (0, 31, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n_features"):
            datasets.breast_cancer(bad)


def test_the_real_loaders_are_public():
    for name in ("RealData", "old_faithful", "iris", "wine", "breast_cancer"):
        assert name in datasets.__all__


def test_the_csv_files_are_package_data():
    """pyproject.toml puts gmmlib/data/*.csv into the wheel and the sdist."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert "gmmlib.data" in setuptools["packages"]
    assert "*.csv" in setuptools["package-data"]["gmmlib.data"]
    data = Path(datasets.__file__).parent / "data"
    assert sorted(p.name for p in data.glob("*.csv")) == ["old_faithful.csv"]
