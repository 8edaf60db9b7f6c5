"""Plots: each returns a Figure with the expected axes and images, and saves a PNG on request."""

import re

import numpy as np
import pytest
from matplotlib.figure import Figure

from solver.plots import (plot_conv_filters, plot_decision_boundary, plot_history,
                          plot_weight_templates, weight_grid)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_history_draws_loss_and_accuracies(tmp_path, rng):
    path = tmp_path / "history.png"
    fig = plot_history(rng.random(50), [0.2, 0.5, 0.7], [0.1, 0.4, 0.6], path=path)
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    np.testing.assert_allclose(ax_loss.lines[0].get_xdata(), np.arange(1, 51) * 3 / 50)  # epochs
    assert ax_loss.get_xlabel() == ax_acc.get_xlabel() == "epoch"
    assert [line.get_label() for line in ax_acc.lines][:2] == ["train", "val"]
    np.testing.assert_array_equal(ax_acc.lines[1].get_ydata(), [0.1, 0.4, 0.6])
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def _lines(ax):
    return {line.get_label(): line for line in ax.lines}


def test_plot_history_marks_the_first_best_epoch_on_both_axes(rng):
    val = [0.1, 0.7, 0.5, 0.7, 0.6]
    fig = plot_history(rng.random(50), [0.2, 0.5, 0.7, 0.8, 0.9], val)
    ax_loss, ax_acc = fig.axes
    label = "best val 0.700 (epoch 2)"
    star = _lines(ax_acc)[label]
    assert (star.get_marker(), list(star.get_xdata()), list(star.get_ydata())) == ("*", [2], [0.7])
    for ax in (ax_loss, ax_acc):  # a dotted vertical line at epoch 2
        assert [list(line.get_xdata()) for line in ax.lines if line.get_linestyle() == ":"] \
            == [[2, 2]]
    assert label in [text.get_text() for text in ax_loss.get_legend().get_texts()]


def test_plot_history_stays_legible_over_200_epochs(rng):
    E, per_epoch = 200, 25
    loss = rng.random(E * per_epoch)
    fig = plot_history(loss, np.linspace(0, 1, E), np.linspace(0, 0.9, E),
                       val_loss_history=np.linspace(2, 1, E))
    ax_loss, ax_acc = fig.axes
    lines = _lines(ax_loss)
    assert lines["train, per iteration"].get_alpha() < 0.5  # a faint band under the means
    np.testing.assert_allclose(lines["train, mean"].get_ydata(),
                               loss.reshape(E, per_epoch).mean(axis=1))
    np.testing.assert_array_equal(lines["val"].get_xdata(), np.arange(1, E + 1))
    assert all(line.get_marker() in ("None", "*") for line in ax_acc.lines + ax_loss.lines)


def test_plot_history_takes_histories_checked_before_training_as_epoch_0(rng):
    fig = plot_history(rng.random(30), [0.1, 0.5, 0.7, 0.8], [0.1, 0.4, 0.6, 0.5],
                       epochs=range(4), val_loss_history=[2.3, 1.0, 0.8, 0.9])
    ax_loss, ax_acc = fig.axes
    np.testing.assert_allclose(ax_loss.lines[0].get_xdata(), np.arange(1, 31) / 10)
    np.testing.assert_array_equal(_lines(ax_acc)["val"].get_xdata(), [0, 1, 2, 3])
    assert "best val 0.600 (epoch 2)" in _lines(ax_acc)


def test_plot_history_marks_where_the_loss_stopped_being_finite(rng):
    loss = rng.random(40)
    loss[33:] = [np.inf, np.nan, np.inf, -np.inf, np.nan, np.inf, np.inf]
    fig = plot_history(loss, [0.2, 0.3], [0.2, 0.25], iterations_per_epoch=20)
    ax_loss, _ = fig.axes
    mark = _lines(ax_loss)["loss not finite (iteration 34)"]
    assert list(mark.get_xdata()) == [34 / 20, 34 / 20]
    assert np.isfinite(ax_loss.get_ylim()).all() and ax_loss.get_ylim()[1] <= 1.1


@pytest.mark.parametrize("loss, acc", [(np.arange(10.0), []), ([], [])])
def test_plot_history_of_a_run_stopped_in_its_first_epoch(tmp_path, loss, acc):
    fig = plot_history(loss, acc, acc, path=tmp_path / "history.png")
    assert fig.axes[0].get_xlabel() == "iteration"
    assert (tmp_path / "history.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("kwargs, message", [
    ({"val_loss_history": [1.0, 2.0]}, r"val_loss_history must have one entry per accuracy, "
                                       r"shape \(3,\), got shape \(2,\)"),
    ({"epochs": [[1, 2, 3]]}, r"epochs must have one entry per accuracy"),
    ({"iterations_per_epoch": 0}, r"iterations_per_epoch must be a number > 0, got 0"),
    ({"iterations_per_epoch": "10"}, r"iterations_per_epoch must be a number > 0, got '10'"),
])
def test_plot_history_refuses_extras_that_do_not_fit(kwargs, message):
    with pytest.raises(ValueError, match="plot_history: " + message):
        plot_history(np.ones(9), [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], **kwargs)


def test_plot_history_refuses_histories_of_different_lengths():
    with pytest.raises(ValueError, match="plot_history: .* equal length, got shapes \\(3,\\), "
                                         "\\(2,\\) and \\(3,\\)"):
        plot_history([1.0, 0.5, 0.2], [0.1, 0.2], [0.1, 0.2, 0.3])


def test_weight_grid_places_each_template_rescaled_to_unit_range():
    W1 = np.arange(12.0).reshape(4, 3)  # D = 4 = 1 * 2 * 2, H = 3 templates
    grid = weight_grid(W1, (1, 2, 2), padding=1)  # 2 x 2 tiles of 2 x 2, one pixel apart
    assert grid.shape == (5, 5, 1)
    template = np.array([[0, 1 / 3], [2 / 3, 1]])  # every column is 0, 3, 6, 9 plus a constant
    np.testing.assert_allclose(grid[:2, :2, 0], template)
    np.testing.assert_allclose(grid[:2, 3:, 0], template)
    np.testing.assert_allclose(grid[3:, :2, 0], template)
    np.testing.assert_array_equal(grid[3:, 3:, 0], 1.0)  # no fourth template: blank
    np.testing.assert_array_equal(grid[2, :, 0], 1.0)  # padding


def test_weight_grid_keeps_colour_channels_and_greys_out_constant_templates(rng):
    W1 = rng.standard_normal((3 * 4 * 5, 2))
    W1[:, 1] = 7.0
    grid = weight_grid(W1, (3, 4, 5), padding=0)  # (4, 10, 3)
    image = W1[:, 0].reshape(3, 4, 5).transpose(1, 2, 0)  # (h, w, C)
    np.testing.assert_allclose(grid[:, :5], (image - image.min()) / np.ptp(image))
    np.testing.assert_array_equal(grid[:, 5:], 0.5)


@pytest.mark.parametrize("image_shape, H", [((1, 8, 8), 100), ((3, 32, 32), 10)])
def test_plot_weight_templates_draws_one_image_of_the_grid(tmp_path, rng, image_shape, H):
    W1 = rng.standard_normal((int(np.prod(image_shape)), H)).astype(np.float32)
    fig = plot_weight_templates(W1, image_shape, path=tmp_path / "weights.png")
    (ax,) = fig.axes
    (image,) = ax.get_images()
    np.testing.assert_array_equal(np.squeeze(image.get_array()),
                                  np.squeeze(weight_grid(W1, image_shape)))
    assert (tmp_path / "weights.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("W1_shape, image_shape, message", [
    ((64, 10), (2, 8, 8), "image_shape must be \\(C, h, w\\) with C = 1 or 3, got \\(2, 8, 8\\)"),
    ((64, 10), (8, 8), "image_shape must be \\(C, h, w\\)"),
    ((65, 10), (1, 8, 8), "W1 must have shape \\(D, H\\) = \\(64, H\\) .* got W1 of shape "
                          "\\(65, 10\\)"),
])
def test_weight_templates_refuse_mismatched_shapes(W1_shape, image_shape, message):
    with pytest.raises(ValueError, match=message):
        plot_weight_templates(np.zeros(W1_shape), image_shape)


@pytest.mark.parametrize("returns", ["labels", "scores"])
def test_plot_decision_boundary_colours_the_plane_by_prediction(tmp_path, rng, returns):
    X = rng.standard_normal((30, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    seen = []

    def predict(points):
        seen.append(points)
        labels = (points[:, 0] > 0).astype(np.int64)
        return labels if returns == "labels" else np.eye(2)[labels]

    fig = plot_decision_boundary(predict, X, y, grid_points=50, path=tmp_path / "regions.png")
    (ax,) = fig.axes
    seen.pop(1)  # the points themselves, to score the accuracy
    assert seen[0].shape == (2500, 2) and seen[0].dtype == np.float32
    assert len(ax.collections) == 2  # the filled regions and the points
    np.testing.assert_array_equal(ax.collections[1].get_offsets(), X)
    assert (tmp_path / "regions.png").read_bytes().startswith(PNG_SIGNATURE)


def test_plot_decision_boundary_refuses_a_predict_of_the_wrong_shape(rng):
    with pytest.raises(ValueError, match="predict must return labels of shape \\(M,\\) or scores "
                                         "of shape \\(M, K\\) for M = 100 points, got shape "
                                         "\\(100, 2, 1\\)"):
        plot_decision_boundary(lambda p: np.zeros((len(p), 2, 1)), rng.random((5, 2)),
                               np.zeros(5, dtype=int), grid_points=10)


def test_plot_decision_boundary_labels_its_axes_and_names_split_and_accuracy(rng):
    X = rng.standard_normal((40, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    y[:10] = 1 - y[:10]  # ten of the forty points are on the wrong side: 75 % accuracy
    fig = plot_decision_boundary(lambda p: (p[:, 0] > 0).astype(np.int64), X, y, split="val",
                                 feature_names=("u", "v"), grid_points=20)
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("u", "v")
    assert ax.get_title() == "Decision regions\nval split, 40 points: accuracy 75.0 %"


def test_plot_decision_boundary_refuses_an_empty_set_of_points():
    with pytest.raises(ValueError, match=r"plot_decision_boundary: X must have shape \(N, 2\) "
                                         r"and y shape \(N,\) with N >= 1"):
        plot_decision_boundary(lambda p: np.zeros(len(p)), np.zeros((0, 2)), np.zeros(0, int))


@pytest.mark.parametrize("C", [1, 3])
def test_plot_conv_filters_draws_each_filter_as_an_image(tmp_path, rng, C):
    w = rng.standard_normal((6, C, 3, 5)).astype(np.float32)
    fig = plot_conv_filters(w, path=tmp_path / "filters.png")
    (ax,) = fig.axes
    (image,) = ax.get_images()
    grid = np.squeeze(image.get_array())
    first = w[0].transpose(1, 2, 0)  # (HH, WW, C)
    np.testing.assert_allclose(np.squeeze(grid[:3, :5]),
                               np.squeeze((first - first.min()) / np.ptp(first)), rtol=1e-6)
    assert ax.get_title() == f"First-layer filters (6 of {C} x 3 x 5)"
    assert (tmp_path / "filters.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("shape", [(6, 2, 3, 3), (6, 3, 3), (6, 1, 3, 3, 1)])
def test_plot_conv_filters_refuses_what_is_no_first_layer_on_images(shape):
    with pytest.raises(ValueError, match=rf"plot_conv_filters: w must have shape \(F, C, HH, WW\) "
                                         rf"with C = 1 or 3 .*got shape {re.escape(str(shape))}"):
        plot_conv_filters(np.zeros(shape))
