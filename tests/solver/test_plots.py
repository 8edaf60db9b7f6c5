"""Plots: each returns a Figure with the expected axes and images, and saves a PNG on request."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from solver.plots import plot_decision_boundary, plot_history, plot_weight_templates, weight_grid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_history_draws_loss_and_accuracies(tmp_path, rng):
    path = tmp_path / "history.png"
    fig = plot_history(rng.random(50), [0.2, 0.5, 0.7], [0.1, 0.4, 0.6], path=path)
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    np.testing.assert_array_equal(ax_loss.lines[0].get_xdata(), np.arange(1, 51))
    assert [line.get_label() for line in ax_acc.lines] == ["train", "val"]
    np.testing.assert_array_equal(ax_acc.lines[1].get_ydata(), [0.1, 0.4, 0.6])
    assert path.read_bytes().startswith(PNG_SIGNATURE)


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
