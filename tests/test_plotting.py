"""gmmlib.plotting: geometry of the ellipses, what gets drawn, the animation of EM (the
first chapters' pictures among them), and that nothing is fitted."""

import copy
import os
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _helpers import covariance_matrices, model_covariance_matrices
from matplotlib.animation import AbstractMovieWriter, FuncAnimation
from matplotlib.colors import to_rgba
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gmmlib import SKLEARN_TYPES as COVARIANCE_TYPES
from gmmlib import GaussianMixture, em, plotting
from gmmlib.datasets import stretched_blobs

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def X():
    return stretched_blobs()[0]


@pytest.fixture(scope="module")
def models(X):
    return {
        t: GaussianMixture(4, covariance_type=t, random_state=0).fit(X) for t in COVARIANCE_TYPES
    }


def _rotated(angle_degrees, a, b):
    """Covariance with standard deviation ``a`` along ``angle`` and ``b`` across it."""
    t = np.radians(angle_degrees)
    rotation = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return rotation @ np.diag([a**2, b**2]) @ rotation.T


def _same_angle(a, b):
    """Angles of an ellipse's axis agree modulo 180 degrees."""
    return abs((a - b + 90) % 180 - 90) < 1e-6


def _boundary_distances(patch, mean, covariance_matrix):
    """Mahalanobis distances of points on the drawn ellipse's outline."""
    t = np.linspace(0, 2 * np.pi, 37)
    outline = patch.get_patch_transform().transform(np.column_stack([np.cos(t), np.sin(t)]))
    diff = outline - mean
    return np.sqrt(np.einsum("ij,jk,ik->i", diff, np.linalg.inv(covariance_matrix), diff))


def _freeze(model):
    """Snapshot a model's state and make any call to fit fail."""
    state = copy.deepcopy(vars(model))

    def refuse(*args, **kwargs):
        raise AssertionError("a plotting function fitted the model")

    model.fit = model.fit_predict = refuse
    return state


def _assert_unchanged(model, state):
    for name, value in state.items():
        now = getattr(model, name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(now, value, err_msg=name)
        else:
            assert now == value, name


# --------------------------------------------------------------------------- draw_ellipse


@pytest.mark.parametrize("angle", [0.0, 30.0, 75.0, 120.0, 160.0])
def test_full_matrix_ellipse_axes_and_angle_come_from_the_eigenvectors(angle):
    _, ax = plt.subplots()
    patches = plotting.draw_ellipse([1.0, -2.0], _rotated(angle, 3.0, 0.5), ax=ax)
    assert len(patches) == 3 and len(ax.patches) == 3
    for n, patch in zip((1, 2, 3), patches, strict=True):
        assert patch.center == pytest.approx((1.0, -2.0))
        assert patch.width == pytest.approx(2 * n * 3.0)
        assert patch.height == pytest.approx(2 * n * 0.5)
        assert _same_angle(patch.angle, angle)


def test_diagonal_vector_gives_axis_aligned_ellipse_with_the_longer_axis_first():
    _, ax = plt.subplots()
    (wide,) = plotting.draw_ellipse([0, 0], np.array([4.0, 1.0]), ax=ax, n_std=1)
    (tall,) = plotting.draw_ellipse([0, 0], np.array([1.0, 9.0]), ax=ax, n_std=1)
    assert (wide.width, wide.height) == pytest.approx((4.0, 2.0))
    assert _same_angle(wide.angle, 0.0)
    assert (tall.width, tall.height) == pytest.approx((6.0, 2.0))
    assert _same_angle(tall.angle, 90.0)


@pytest.mark.parametrize("variance", [0.25, np.float64(0.25), np.array(0.25), np.array([0.25])])
def test_spherical_scalar_gives_circles(variance):
    _, ax = plt.subplots()
    patches = plotting.draw_ellipse([0, 0], variance, ax=ax, n_std=(1, 2))
    assert [(p.width, p.height) for p in patches] == [
        pytest.approx((1.0, 1.0)),
        pytest.approx((2.0, 2.0)),
    ]


def test_draw_ellipse_passes_style_and_uses_the_current_axes():
    _, ax = plt.subplots()
    (patch,) = plotting.draw_ellipse([0, 0], np.eye(2), n_std=2.5, alpha=0.3, facecolor="red")
    assert patch in ax.patches
    assert patch.get_alpha() == 0.3
    assert patch.get_facecolor() == pytest.approx(to_rgba("red", 0.3))
    assert patch.width == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("mean", "covariance", "message"),
    [
        ([0, 0, 0], np.eye(2), "mean must have shape"),
        ([0, 0], np.eye(3), "covariance must be a scalar"),
        ([0, 0], np.array([1.0, 2.0, 3.0]), "covariance must be a scalar"),
        ([0, 0], np.array([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
        ([0, 0], np.array([[1.0, 2.0], [2.0, 1.0]]), "positive semi-definite"),
    ],
)
def test_draw_ellipse_refuses_bad_input(mean, covariance, message):
    with pytest.raises(ValueError, match=message):
        plotting.draw_ellipse(mean, covariance)


@pytest.mark.parametrize("n_std", [(), (1, -2), 0, (1, np.nan)])
def test_draw_ellipse_refuses_bad_n_std(n_std):
    with pytest.raises(ValueError, match="n_std"):
        plotting.draw_ellipse([0, 0], np.eye(2), n_std=n_std)


# --------------------------------------------------------------------------- plot_gmm


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_plot_gmm_ellipses_trace_the_components_covariances(models, X, covariance_type):
    model = models[covariance_type]
    _, ax = plt.subplots()
    drawn = plotting.plot_gmm(model, X, ax=ax)
    assert len(drawn.ellipses) == 4 and all(len(e) == 3 for e in drawn.ellipses)
    assert len(ax.patches) == 12 and len(ax.collections) == 1
    assert drawn.points.get_offsets().shape == (400, 2)
    for k, patches in enumerate(drawn.ellipses):
        matrix = model_covariance_matrices(model)[k]
        for n, patch in zip((1, 2, 3), patches, strict=True):
            assert patch.center == pytest.approx(tuple(model.means_[k]))
            np.testing.assert_allclose(
                _boundary_distances(patch, model.means_[k], matrix), n, rtol=1e-9
            )


def test_plot_gmm_tied_components_share_one_shape(models, X):
    drawn = plotting.plot_gmm(models["tied"], X)
    shapes = {
        (round(p[0].width, 9), round(p[0].height, 9), round(p[0].angle, 6)) for p in drawn.ellipses
    }
    assert len(shapes) == 1


def test_plot_gmm_shades_by_weight_and_colours_by_label(models, X):
    model = models["full"]
    drawn = plotting.plot_gmm(model, X)
    alphas = np.array([p[0].get_alpha() for p in drawn.ellipses])
    np.testing.assert_allclose(alphas, 0.2 * model.weights_ / model.weights_.max())
    np.testing.assert_array_equal(drawn.points.get_array(), model.predict(X))
    colours = [p[0].get_facecolor()[:3] for p in drawn.ellipses]
    assert len({tuple(np.round(c, 6)) for c in colours}) == 4


def test_plot_gmm_without_labels_uses_one_colour(models, X):
    drawn = plotting.plot_gmm(models["diag"], X, label=False)
    assert drawn.points.get_array() is None
    assert len({tuple(np.round(p[0].get_facecolor()[:3], 6)) for p in drawn.ellipses}) == 1


def test_plot_gmm_reads_scikit_learns_model_too(X):
    model = SklearnGaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    drawn = plotting.plot_gmm(model, X)
    assert drawn.ellipses[1][0].width == pytest.approx(2 * np.sqrt(model.covariances_[1]))


# --------------------------------------------------------------------------- never fits


@pytest.mark.parametrize(
    "draw",
    [plotting.plot_gmm, plotting.plot_uncertainty, plotting.plot_decision_regions],
    ids=["plot_gmm", "plot_uncertainty", "plot_decision_regions"],
)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_plots_never_fit_or_change_the_model(X, draw, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=1).fit(X)
    state = _freeze(model)
    draw(model, X, ax=plt.subplots()[1])
    _assert_unchanged(model, state)


def test_plot_kmeans_never_fits(X):
    kmeans = KMeans(4, n_init=1, random_state=0).fit(X)
    state = _freeze(kmeans)
    plotting.plot_kmeans(kmeans, X)
    _assert_unchanged(kmeans, state)


def test_unfitted_model_is_refused_not_fitted(X):
    with pytest.raises(ValueError, match="fit the model before plotting"):
        plotting.plot_gmm(GaussianMixture(2), X)
    with pytest.raises(ValueError, match="fit it before plotting"):
        plotting.plot_kmeans(KMeans(2), X)


@pytest.mark.parametrize(
    "draw", [plotting.plot_gmm, plotting.plot_uncertainty, plotting.plot_decision_regions]
)
def test_models_of_more_than_two_features_are_refused(draw):
    X4 = np.random.RandomState(0).randn(60, 4)
    model = GaussianMixture(2, random_state=0).fit(X4)
    with pytest.raises(ValueError, match="fitted on 4 features.*2-D"):
        draw(model, X4)


def test_points_of_the_wrong_shape_are_refused(models):
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plotting.plot_gmm(models["full"], np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        plotting.plot_uncertainty(models["full"], np.array([[0.0, np.nan]]))


# ------------------------------------------------------- k-means, uncertainty, regions


def test_plot_kmeans_circles_reach_the_farthest_member(X):
    kmeans = KMeans(4, n_init=1, random_state=0).fit(X)
    _, ax = plt.subplots()
    drawn = plotting.plot_kmeans(kmeans, X, ax=ax)
    assert len(drawn.circles) == 4 and len(ax.patches) == 4
    labels = kmeans.predict(X)
    for k, circle in enumerate(drawn.circles):
        distances = np.linalg.norm(X[labels == k] - kmeans.cluster_centers_[k], axis=1)
        assert circle.center == pytest.approx(tuple(kmeans.cluster_centers_[k]))
        assert circle.radius == pytest.approx(distances.max())
        assert np.sum(distances >= circle.radius - 1e-12) >= 1


def test_plot_kmeans_centre_without_members_gets_a_zero_circle():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    kmeans = KMeans(2, n_init=1, random_state=0).fit(X)
    kmeans.cluster_centers_ = np.array([[0.0, 0.0], [100.0, 100.0]])
    drawn = plotting.plot_kmeans(kmeans, X)
    assert drawn.circles[1].radius == 0.0
    assert drawn.circles[0].radius == pytest.approx(np.hypot(5.0, 5.0))


def test_plot_uncertainty_sizes_points_by_squared_largest_responsibility(models, X):
    model = models["full"]
    points = plotting.plot_uncertainty(model, X, max_size=30)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(points.get_sizes(), 30 * proba.max(axis=1) ** 2)
    np.testing.assert_array_equal(points.get_array(), proba.argmax(axis=1))
    assert points.get_sizes().min() < 0.5 * points.get_sizes().max()  # some doubtful points


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_plot_decision_regions_draws_regions_boundaries_points_and_centres(
    models, X, covariance_type
):
    model = models[covariance_type]
    _, ax = plt.subplots()
    drawn = plotting.plot_decision_regions(model, X, ax=ax, resolution=50)
    assert len(ax.collections) == 4
    np.testing.assert_allclose(drawn.regions.levels, np.arange(5) - 0.5)
    np.testing.assert_allclose(drawn.boundaries.levels, [0.5, 1.5, 2.5])
    np.testing.assert_allclose(drawn.centres.get_offsets(), model.means_)
    np.testing.assert_array_equal(drawn.points.get_array(), model.predict(X))
    x0, x1 = ax.get_xlim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()


def test_plot_decision_regions_one_component_has_no_boundary(X):
    model = GaussianMixture(1, random_state=0).fit(X)
    _, ax = plt.subplots()
    drawn = plotting.plot_decision_regions(model, X, ax=ax, resolution=20)
    assert drawn.boundaries is None and len(ax.collections) == 3
    with pytest.raises(ValueError, match="resolution"):
        plotting.plot_decision_regions(model, X, resolution=1)


# ------------------------------------------------- k-means regions: the centres' Voronoi cells


@pytest.fixture(scope="module")
def fitted(X):
    """A k-means of the plotting data, and the data."""
    return KMeans(4, n_init=1, random_state=0).fit(X), X


def test_kmeans_regions_are_the_voronoi_cells_of_its_centres(fitted):
    kmeans, X = fitted
    _, ax = plt.subplots()
    drawn = plotting.plot_decision_regions(kmeans, X, ax=ax, resolution=40)
    np.testing.assert_allclose(drawn.centres.get_offsets(), kmeans.cluster_centers_)
    np.testing.assert_array_equal(drawn.points.get_array(), kmeans.labels_)
    np.testing.assert_allclose(drawn.regions.levels, np.arange(5) - 0.5)
    np.testing.assert_allclose(drawn.boundaries.levels, [0.5, 1.5, 2.5])
    # The borders drawn lie on the Voronoi edges: each vertex is (to one grid step) as
    # far from its nearest centre as from the second nearest.
    step = np.hypot(*(1.2 * np.ptp(X, axis=0) / 39))
    vertices = np.vstack([path.vertices for path in drawn.boundaries.get_paths()])
    assert len(vertices) > 20
    distances = np.sort(
        np.linalg.norm(vertices[:, None] - kmeans.cluster_centers_, axis=-1), axis=1
    )
    assert np.all(distances[:, 1] - distances[:, 0] <= step)
    plt.close("all")


def test_kmeans_regions_never_fit_the_model(fitted):
    kmeans, X = fitted
    centres = kmeans.cluster_centers_.copy()
    plotting.plot_decision_regions(kmeans, X[:50], resolution=10)
    np.testing.assert_array_equal(kmeans.cluster_centers_, centres)
    plt.close("all")


def test_unfitted_kmeans_is_refused_with_a_clear_message(fitted):
    _, X = fitted
    with pytest.raises(ValueError, match="fit the model before plotting"):
        plotting.plot_decision_regions(KMeans(3), X)


def test_kmeans_on_three_features_is_refused(fitted):
    _, X = fitted
    X3 = np.column_stack([X, X[:, 0]])
    kmeans = KMeans(2, n_init=1, random_state=0).fit(X3)
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_decision_regions(kmeans, X)


# --------------------------------------------------------------------------- criteria


@pytest.fixture
def table():
    rows = []
    for t, offset in (("diag", 0.0), ("full", -5.0)):
        for k in range(1, 5):
            bic = (k - 2.5) ** 2 + offset
            rows.append(
                dict(n_components=k, covariance_type=t, bic=bic, aic=bic - 1, degenerate=False)
            )
    rows[7].update(bic=-1e6, aic=-1e6, degenerate=True)  # full, 4 components: a spike
    return pd.DataFrame(rows)


def test_plot_criteria_draws_a_line_per_criterion_and_type(table):
    _, ax = plt.subplots()
    drawn = plotting.plot_criteria(table, ax=ax)
    assert set(drawn.lines) == {(c, t) for c in ("bic", "aic") for t in ("diag", "full")}
    assert len(ax.lines) == 4 + 4  # lines and their optimum markers
    full_bic = drawn.lines["bic", "full"].get_ydata()
    assert np.isnan(full_bic[3]) and np.isfinite(full_bic[:3]).all()
    # the degenerate spike neither wins nor sets the scale
    assert drawn.best["bic", "full"].get_xdata()[0] in (2, 3)
    assert ax.get_ylim()[0] > -100
    assert len(drawn.degenerate.get_offsets()) == 1
    assert ax.get_legend() is not None


def test_plot_criteria_marks_the_best_of_a_higher_is_better_criterion(table):
    table = table.assign(cv_log_likelihood=-table["bic"]).drop(columns=["bic", "aic"])
    drawn = plotting.plot_criteria(table, criteria=["cv_log_likelihood"])
    assert set(drawn.lines) == {("cv_log_likelihood", "diag"), ("cv_log_likelihood", "full")}
    assert drawn.best["cv_log_likelihood", "diag"].get_ydata()[0] == pytest.approx(-0.25)


def test_plot_criteria_refuses_mixed_scales_and_missing_columns(table):
    with pytest.raises(ValueError, match="separate axes"):
        plotting.plot_criteria(
            table.assign(cv_log_likelihood=0.0), criteria=["bic", "cv_log_likelihood"]
        )
    with pytest.raises(ValueError, match="criteria must be columns"):
        plotting.plot_criteria(table, criteria=["bic", "hqc"])
    with pytest.raises(ValueError, match="n_components and covariance_type"):
        plotting.plot_criteria(table.drop(columns=["covariance_type"]))


# --------------------------------------------------------------------------- animation


def _history(X, covariance_type, n_components=3, n_iter=20):
    labels = KMeans(n_components, n_init=1, random_state=2).fit_predict(X)
    resp = 0.6 * np.eye(n_components)[labels] + 0.4 / n_components  # a blurred start
    start = em.m_step(X, resp, covariance_type)
    return em.em_history(X, *start, covariance_type, n_iter=n_iter)


class Recorder(AbstractMovieWriter):
    """A movie writer that writes nothing: ``anim.save(os.devnull, writer=recorder)`` draws
    every frame as saving a movie does, and the recorder keeps ``look(figure)`` from before
    the first frame and after each one (``seen``), and the figure (``fig``)."""

    def __init__(self, look=lambda figure: None):
        super().__init__()
        self.look = look
        self.seen: list = []

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi)
        self.seen.append(self.look(fig))

    def grab_frame(self, **savefig_kwargs):
        self.seen.append(self.look(self.fig))

    def finish(self):
        pass


def record(anim: FuncAnimation, look=lambda figure: None) -> Recorder:
    """Draw every frame of ``anim`` through matplotlib's public saving path."""
    recorder = Recorder(look)
    anim.save(os.devnull, writer=recorder)
    return recorder


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_animate_em_runs_few_frames_and_ends_on_the_last_state(X, covariance_type):
    history = _history(X, covariance_type)
    anim = plotting.animate_em(X, history, covariance_type, max_frames=4, n_std=(1, 2))
    assert isinstance(anim, FuncAnimation)
    frames = list(anim.new_frame_seq())
    assert frames[0] == 0 and frames[-1] == 20 and len(frames) <= 4
    html = anim.to_jshtml()  # draws every frame
    assert html.count("data:image/png;base64") == len(frames)

    figure = record(anim).fig  # every frame drawn again: it ends on the last
    data_ax = figure.axes[0]
    final = history[-1]
    assert len(data_ax.patches) == 3 * 2
    matrices = covariance_matrices(final.covariances, covariance_type, 3, 2)
    for k in range(3):
        patch = data_ax.patches[2 * k]
        np.testing.assert_allclose(
            _boundary_distances(patch, final.means[k], matrices[k]), 1, rtol=1e-9
        )
    log_resp, _ = em.e_step(X, *final[:3], covariance_type)
    colours = plt.get_cmap("tab10")(np.arange(3))[:, :3]
    np.testing.assert_allclose(
        data_ax.collections[0].get_facecolor()[:, :3], np.exp(log_resp) @ colours, atol=1e-9
    )
    curve = figure.axes[1].lines
    np.testing.assert_allclose(curve[0].get_ydata(), [s.mean_log_likelihood for s in history])
    assert curve[1].get_xdata()[0] == 20


def test_animate_em_on_given_axes_puts_the_likelihood_in_the_title(X):
    history = _history(X, "full", n_iter=3)
    fig, ax = plt.subplots()
    anim = plotting.animate_em(X, history, ax=ax)
    assert list(anim.new_frame_seq()) == [0, 1, 2, 3]
    assert ax.get_title().startswith("iteration 0, mean log-likelihood")
    anim.to_jshtml()
    assert (
        ax.get_title() == f"iteration 3, mean log-likelihood {history[3].mean_log_likelihood:.3f}"
    )
    assert record(anim).fig is fig and len(fig.axes) == 1


def test_animate_em_refuses_bad_input(X):
    history = _history(X, "full", n_iter=2)
    with pytest.raises(ValueError, match="history is empty"):
        plotting.animate_em(X, [])
    X4 = np.random.RandomState(0).randn(50, 4)
    with pytest.raises(ValueError, match="4 features.*2-D projection"):
        plotting.animate_em(X, _history(X4, "full", n_iter=1))
    with pytest.raises(ValueError, match="covariance_type"):
        plotting.animate_em(X, history, "round")
    with pytest.raises(ValueError, match="max_frames"):
        plotting.animate_em(X, history, max_frames=0)


def test_frames_are_thinned_geometrically(X):
    anim = plotting.animate_em(X, _history(X, "full", n_iter=100), max_frames=6)
    frames = list(anim.new_frame_seq())
    assert frames[0] == 0 and frames[-1] == 100 and len(frames) <= 6
    assert np.all(np.diff(frames) > 0) and np.all(np.diff(np.diff(frames)) >= 0)
    assert len(record(anim).seen) == 1 + len(frames)  # each of them is drawn


@pytest.mark.parametrize(
    ("made_with", "claimed"), [("full", "diag"), ("diag", "full"), ("spherical", "tied")]
)
def test_animate_em_names_a_wrong_covariance_type(X, made_with, claimed):
    history = _history(X, made_with, n_iter=15)
    with pytest.raises(ValueError, match="covariance_type"):
        plotting.animate_em(X, history, claimed)


def axis_limits(figure) -> tuple:
    """The data panel's x and y limits, and the log-likelihood panel's y limits."""
    data_ax, curve_ax = figure.axes
    return (data_ax.get_xlim(), data_ax.get_ylim()), curve_ax.get_ylim()


def test_animate_em_axes_stay_fixed_and_a_low_start_does_not_stretch_the_curve(X):
    history = list(_history(X, "full", n_iter=15))
    # a start far below the rest of the run
    history[0] = history[0]._replace(mean_log_likelihood=history[1].mean_log_likelihood - 1e3)
    anim = plotting.animate_em(X, history, "full", max_frames=5)
    recorder = record(anim, axis_limits)
    data_ax, curve_ax = recorder.fig.axes
    (limits, (bottom, top)), *after_each_frame = recorder.seen
    rest = [s.mean_log_likelihood for s in history[1:]]
    assert bottom > history[0].mean_log_likelihood
    assert bottom <= min(rest) and top >= max(rest)
    assert top - bottom < 2 * (max(rest) - min(rest)) + 1e-9
    assert any("iteration 0" in t.get_text() for t in curve_ax.texts)
    assert len(after_each_frame) == len(list(anim.new_frame_seq()))
    for frame_limits, frame_curve_limits in after_each_frame:
        assert frame_limits == limits
        assert frame_curve_limits == (bottom, top)


def test_animate_em_default_figure_is_large(X):
    anim = plotting.animate_em(X, _history(X, "full", n_iter=15), "full")
    width, height = record(anim).fig.get_size_inches()
    assert width >= 9 and height >= 4


# --------------------------------------------------------------------------- digits


def test_plot_digits_tiles_images_with_gaps():
    data = np.arange(23 * 64, dtype=float).reshape(23, 64) % 17
    _, ax = plt.subplots()
    image = plotting.plot_digits(data, ax=ax, n_cols=10)
    mosaic = image.get_array()
    assert mosaic.shape == (3 * 9 - 1, 10 * 9 - 1)
    np.testing.assert_array_equal(mosaic[9:17, 18:26], data[12].reshape(8, 8))
    assert np.isnan(np.asarray(mosaic[8, :], dtype=float)).all()  # gap between rows
    assert np.isnan(np.asarray(mosaic[18:, 27:], dtype=float)).all()  # the empty tail
    assert image.get_clim() == (0, 16) and len(ax.images) == 1


def test_plot_digits_defaults_to_the_first_hundred_and_takes_8x8_arrays():
    data = np.random.RandomState(0).uniform(0, 16, size=(150, 8, 8))
    image = plotting.plot_digits(data)
    assert image.get_array().shape == (89, 89)
    np.testing.assert_array_equal(image.get_array()[-8:, -8:], data[99])
    assert plotting.plot_digits(data[:3], n_images=None).get_array().shape == (8, 26)


def test_plot_digits_refuses_other_shapes():
    with pytest.raises(ValueError, match="8x8 images"):
        plotting.plot_digits(np.zeros((10, 41)))
    with pytest.raises(ValueError, match="n_cols"):
        plotting.plot_digits(np.zeros((10, 64)), n_cols=0)


def test_animation_html_is_offline_and_reproducible():
    from gmmlib import em
    from gmmlib.plotting import animate_em, animation_html

    X = np.random.RandomState(0).normal(size=(60, 2))
    X[:30] += 4
    history = em.em_history(
        X, np.array([0.5, 0.5]), X[[0, 59]], np.array([np.eye(2)] * 2), "full", n_iter=3
    )
    first = animation_html(animate_em(X, history, max_frames=3))
    second = animation_html(animate_em(X, history, max_frames=3))
    assert first == second
    assert "maxcdn" not in first and "https://" not in first
    assert first.count("<img") >= 1


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scikit_learns_bayesian_mixture_is_drawn_like_any_fitted_mixture(covariance_type):
    """plot_gmm, plot_uncertainty, plot_decision_regions and component_covariance_matrices
    read a fitted BayesianGaussianMixture (Dirichlet process prior) as they read gmmlib's."""
    from sklearn.mixture import BayesianGaussianMixture

    X, _ = stretched_blobs(300)
    model = BayesianGaussianMixture(
        n_components=5,
        covariance_type=covariance_type,
        random_state=0,
        max_iter=200,
        weight_concentration_prior_type="dirichlet_process",
    ).fit(X)
    matrices = plotting.component_covariance_matrices(model)
    assert matrices.shape == (5, 2, 2)
    if covariance_type == "full":
        np.testing.assert_array_equal(matrices, model.covariances_)
    fig, axes = plt.subplots(1, 3)
    drawn = plotting.plot_gmm(model, X, ax=axes[0])
    assert len(drawn.ellipses) == 5 and all(len(rings) > 0 for rings in drawn.ellipses)
    points = plotting.plot_uncertainty(model, X, ax=axes[1])
    assert points.get_offsets().shape == (300, 2)
    regions = plotting.plot_decision_regions(model, X, ax=axes[2])
    assert regions.points.get_offsets().shape == (300, 2)


def test_animation_html_carries_alternative_text():
    """The animation's frame had no alt text (the site test found it, issue 25)."""
    from gmmlib.plotting import animate_em, animation_html

    X = np.random.RandomState(0).normal(size=(40, 2))
    history = em.em_history(X, np.full(2, 0.5), X[:2], np.stack([np.eye(2)] * 2), "full", n_iter=2)
    html = animation_html(animate_em(X, history, max_frames=2), alt='EM on "two" groups')
    assert re.search(r'<img id="_anim_img[0-9a-f]+" alt="EM on &quot;two&quot; groups"', html)
