"""ConvNet and ThreeLayerConvNet: CS231n's sanity checks, gradient checks on tiny sizes,
geometry, dtypes, batchnorm state, argument errors, exact resume, torch autograd, and the
models' options of ``solver train`` (--model conv, --normalization, --dropout-keep-ratio)."""

import json
import math

import numpy as np
import pytest

from layers import conv_forward_fast, conv_relu_forward, max_pool_forward_fast
from solver import Solver
from solver.checkpoint import read_checkpoint
from solver.cli import main
from solver.data import load_dataset
from solver.factory import MODELS
from solver.models import ConvNet, ThreeLayerConvNet
from solver.settings import resolve

from .test_models import assert_same_arrays, check_model, randomize_norm_params


def test_three_layer_convnet_has_cs231n_layout():
    model = ThreeLayerConvNet(weight_scale=1e-2, seed=3)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100), "b2": (100,),
                      "W3": (100, 10), "b3": (10,)}
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(not model.params[f"b{i}"].any() for i in (1, 2, 3))
    assert np.std(model.params["W2"]) == pytest.approx(1e-2, rel=0.01)
    assert model.buffers == {}
    small = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=4, filter_size=3, hidden_dim=6,
                              num_classes=5, seed=0)
    assert small.params["W1"].shape == (4, 1, 3, 3)
    assert small.params["W2"].shape == (4 * 4 * 4, 6)
    assert small.params["W3"].shape == (6, 5)
    assert repr(small) == ("ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=4, "
                           "filter_size=3, hidden_dim=6, num_classes=5, reg=0.0, dtype=float32)")


def test_three_layer_convnet_is_the_convnet_of_one_block(rng):
    three = ThreeLayerConvNet(input_dim=(2, 6, 6), num_filters=3, filter_size=5, hidden_dim=4,
                              num_classes=3, weight_scale=0.1, reg=0.2, seed=4)
    conv = ConvNet((2, 6, 6), [3], 5, 2, [4], 3, weight_scale=0.1, reg=0.2, seed=4)
    assert_same_arrays(three.params, conv.params)
    X, y = rng.standard_normal((3, 2, 6, 6)), rng.integers(3, size=3)
    assert np.array_equal(three.loss(X), conv.loss(X))
    assert three.loss(X, y)[0] == conv.loss(X, y)[0]


def test_three_layer_convnet_initial_loss_is_log_of_the_class_count(rng):
    # CS231n's defaults: 3x32x32 input, 32 7x7 filters, weights 1e-3
    model = ThreeLayerConvNet(seed=0)
    X, y = rng.standard_normal((10, 3, 32, 32)), rng.integers(10, size=10)
    loss, _ = model.loss(X, y)
    assert loss == pytest.approx(math.log(10), abs=1e-4)
    model.reg = 0.5
    regularized, _ = model.loss(X, y)
    l2 = 0.25 * sum(float(np.sum(model.params[f"W{i}"].astype(np.float64) ** 2))
                    for i in (1, 2, 3))
    assert regularized > loss + 0.15  # CS231n: 2.30 -> 2.51
    assert regularized - loss == pytest.approx(l2, rel=1e-4)


@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_three_layer_convnet_passes_cs231n_gradient_check(reg, rng):
    model = ThreeLayerConvNet(input_dim=(3, 16, 16), num_filters=3, filter_size=3, hidden_dim=7,
                              num_classes=10, weight_scale=1e-2, reg=reg, dtype=np.float64, seed=0)
    X, y = rng.standard_normal((2, 3, 16, 16)), rng.integers(10, size=2)
    errors = check_model(model, X, y)
    assert max(errors.values()) < 1e-6, errors


# name: (input_dim, conv_filters, filter_size, pool, hidden_dims, normalization)
CONV_CASES = {
    "image": ((2, 6, 6), [3, 4], 3, 2, [5], None),
    "image batchnorm": ((2, 6, 6), [3, 4], 3, 2, [5], "batchnorm"),
    "signal batchnorm": ((1, 1, 12), [3, 2], (1, 3), (1, 2), [5], "batchnorm"),
    "no pool, no hidden layer": ((2, 5, 5), [3], 5, 1, [], None),
    "pool leaves a row out": ((1, 5, 7), [2], (3, 5), 2, [4], "batchnorm"),
}


@pytest.mark.parametrize("reg", [0.0, 0.7])
@pytest.mark.parametrize("case", list(CONV_CASES))
def test_convnet_passes_gradient_check(case, reg, rng):
    input_dim, filters, filter_size, pool, hidden_dims, normalization = CONV_CASES[case]
    model = ConvNet(input_dim, filters, filter_size, pool, hidden_dims, num_classes=4,
                    normalization=normalization, reg=reg, dtype=np.float64, seed=7)
    randomize_norm_params(model, rng)
    X, y = rng.standard_normal((3, *input_dim)), rng.integers(4, size=3)
    errors = check_model(model, X, y)
    assert errors.keys() == model.params.keys()
    assert max(errors.values()) < 1e-6, errors


def test_convnet_layout_geometry_and_he_init():
    model = ConvNet((3, 10, 12), [8, 16], 3, 2, [20, 10], num_classes=4,
                    normalization="batchnorm", seed=1)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {
        "W1": (8, 3, 3, 3), "b1": (8,), "gamma1": (8,), "beta1": (8,),
        "W2": (16, 8, 3, 3), "b2": (16,), "gamma2": (16,), "beta2": (16,),
        "W3": (16 * 2 * 3, 20), "b3": (20,), "gamma3": (20,), "beta3": (20,),
        "W4": (20, 10), "b4": (10,), "gamma4": (10,), "beta4": (10,),
        "W5": (10, 4), "b5": (4,)}
    assert model.feature_shape == (16, 2, 3)  # 10 x 12 -> 5 x 6 -> 2 x 3 (a row left out)
    assert sorted(model.buffers) == sorted(
        f"running_{stat}{i}" for stat in ("mean", "var") for i in (1, 2, 3, 4))
    assert np.std(model.params["W3"]) == pytest.approx(math.sqrt(2 / 96), rel=0.05)
    signal = ConvNet((1, 1, 40), [32, 32], (1, 5), (1, 2), [100], seed=0)
    assert signal.feature_shape == (32, 1, 10)
    assert signal.params["W1"].shape == (32, 1, 1, 5)
    assert np.std(signal.params["W2"]) == pytest.approx(math.sqrt(2 / (32 * 5)), rel=0.05)
    assert signal.buffers == {}
    fixed = ConvNet((1, 1, 40), [4], (1, 5), (1, 2), [], weight_scale=0.25, seed=0)
    assert np.std(fixed.params["W2"]) == pytest.approx(0.25, rel=0.15)
    assert repr(signal) == ("ConvNet(input_dim=(1, 1, 40), conv_filters=[32, 32], "
                            "filter_size=(1, 5), pool=(1, 2), hidden_dims=[100], "
                            "num_classes=10, reg=0.0, dtype=float32)")


def test_an_int_size_on_a_signal_is_one_pixel_high():
    """A square filter or pool cannot slide over a signal of height 1: there an int k is
    (1, k), so the defaults fit MNIST-1D as they fit images."""
    signal = ConvNet((1, 1, 40), [4, 4], 5, 2, [], seed=0)
    assert signal.filter_size == (1, 5) and signal.pool == (1, 2)
    assert signal.params["W1"].shape == (4, 1, 1, 5) and signal.feature_shape == (4, 1, 10)
    image = ConvNet((1, 8, 8), [4], 5, 2, [], seed=0)
    assert image.filter_size == (5, 5) and image.pool == (2, 2)
    model = MODELS["conv"].build(resolve({"model": "conv"}), (1, 1, 40), 10)
    assert model.filter_size == (1, 3) and model.pool == (1, 2)  # from [3, 3] and [2, 2]


def test_same_padding_keeps_the_size_and_pooling_divides_it(rng):
    """Block by block, against the layers themselves: a 'same' conv, then the pool."""
    model = ConvNet((2, 7, 9), [3], (3, 5), (2, 3), [], num_classes=2, dtype=np.float64, seed=0)
    X = rng.standard_normal((2, 2, 7, 9))
    conv, _ = conv_relu_forward(X, model.params["W1"], model.params["b1"],
                                {"stride": 1, "pad": (1, 2)})
    assert conv.shape == (2, 3, 7, 9)
    pooled, _ = max_pool_forward_fast(conv, {"pool_height": 2, "pool_width": 3,
                                             "stride": (2, 3)})
    assert pooled.shape == (2, 3, 3, 3) and model.feature_shape == (3, 3, 3)
    scores = pooled.reshape(2, -1) @ model.params["W2"] + model.params["b2"]
    np.testing.assert_allclose(model.loss(X), scores, rtol=1e-12)


def test_conv_batchnorm_updates_running_statistics_only_in_train_mode(rng):
    model = ConvNet((1, 4, 4), [2], 3, 2, [], num_classes=3, normalization="batchnorm",
                    dtype=np.float64, seed=0)
    X, y = rng.standard_normal((5, 1, 4, 4)), rng.integers(3, size=5)
    before = dict(model.buffers)
    model.loss(X)
    assert all(model.buffers[k] is before[k] for k in before)
    model.loss(X, y)
    scores, _ = conv_forward_fast(X, model.params["W1"], model.params["b1"],
                                  {"stride": 1, "pad": 1})  # (N, F, H, W)
    np.testing.assert_allclose(model.buffers["running_mean1"],
                               0.1 * scores.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(model.buffers["running_var1"],
                               0.9 + 0.1 * scores.var(axis=(0, 2, 3)), rtol=1e-12)


def test_float32_end_to_end_with_batchnorm(rng):
    model = ConvNet((1, 1, 16), [4, 4], (1, 3), (1, 2), [6], num_classes=3,
                    normalization="batchnorm", reg=0.1, seed=0)
    X, y = rng.standard_normal((5, 1, 1, 16)), rng.integers(3, size=5)  # float64 data
    X_before = X.copy()
    loss, grads = model.loss(X, y)
    assert isinstance(loss, float) and math.isfinite(loss)
    assert model.loss(X).dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(b.dtype == np.float32 for b in model.buffers.values())
    assert np.array_equal(X, X_before)
    double = ConvNet((1, 1, 16), [4, 4], (1, 3), (1, 2), [6], num_classes=3,
                     normalization="batchnorm", reg=0.1, dtype=np.float64, seed=0)
    for name in model.params:  # one seed: the same start in both dtypes
        assert np.array_equal(model.params[name], double.params[name].astype(np.float32))
    assert double.loss(X, y)[0] == pytest.approx(loss, rel=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_dim": (8, 8)}, r"input_dim must be one example's shape \(C, H, W\)"),
    ({"input_dim": (1, 0, 8)}, r"input_dim must be one example's shape \(C, H, W\)"),
    ({"input_dim": (1.0, 8, 8)}, r"input_dim must be one example's shape \(C, H, W\)"),
    ({"input_dim": 64}, r"input_dim must be one example's shape \(C, H, W\)"),
    ({"conv_filters": []}, "conv_filters must name at least one conv block"),
    ({"conv_filters": [8, 0]}, "every entry of conv_filters must be a positive integer, got 0"),
    ({"filter_size": 4}, r"filter_size must be an odd positive int .*'same' padding"),
    ({"filter_size": (1, 4)}, r"filter_size must be an odd positive int .*got \(1, 4\)"),
    ({"filter_size": (3, 3, 3)}, "filter_size must be an odd positive int or an"),
    ({"pool": 0}, "pool must be a positive int or an"),
    ({"filter_size": 11}, r"the filter \(HH, WW\) = \(11, 11\) does not fit block 1 of 2, "
                          r"whose feature maps have \(H, W\) = \(8, 8\) pixels"),
    ({"input_dim": (1, 1, 40), "filter_size": (3, 3)},
     r"the filter \(HH, WW\) = \(3, 3\) does not fit block 1 .*such as \(1, 5\) for signals"),
    ({"conv_filters": [4, 4, 4, 4], "filter_size": 1},
     r"the pool \(2, 2\) does not fit block 4 of 4, whose feature maps have \(H, W\) = "
     r"\(1, 1\) pixels"),
    ({"pool": (3, 9)}, r"the pool \(3, 9\) does not fit block 1"),
    ({"normalization": "layernorm"}, r"normalization must be one of \(None, 'batchnorm'\)"),
    ({"weight_scale": -1}, "weight_scale must be a positive number or 'he'"),
    ({"dtype": np.float16}, "dtype must be float32 or float64"),
])
def test_convnet_refuses_bad_arguments_and_geometry(kwargs, message):
    arguments = {"input_dim": (1, 8, 8), "conv_filters": [4, 4], "filter_size": 3, "pool": 2,
                 "hidden_dims": [10], **kwargs}
    with pytest.raises(ValueError, match=rf"^ConvNet: .*{message}"):
        ConvNet(**arguments)


def test_convnet_refuses_sizes_that_are_not_sequences():
    with pytest.raises(TypeError, match=r"^ConvNet: hidden_dims must be a sequence of layer "
                                        r"widths, such as \[100\], got 100"):
        ConvNet((1, 8, 8), [4], hidden_dims=100, seed=0)
    with pytest.raises(TypeError, match=r"^ConvNet: conv_filters must be a sequence"):
        ConvNet((1, 8, 8), "32,32", seed=0)


def test_three_layer_convnet_refuses_bad_arguments():
    with pytest.raises(ValueError, match="^ThreeLayerConvNet: num_filters must be a positive"):
        ThreeLayerConvNet(num_filters=0, seed=0)
    with pytest.raises(ValueError, match="^ThreeLayerConvNet: filter_size must be an odd"):
        ThreeLayerConvNet(filter_size=2, seed=0)
    with pytest.raises(ValueError, match=r"^ThreeLayerConvNet: the pool \(2, 2\) does not fit"):
        ThreeLayerConvNet(input_dim=(3, 1, 32), filter_size=1, seed=0)


def test_loss_refuses_input_of_another_shape():
    model = ConvNet((1, 8, 8), [2], 3, 2, [], num_classes=3, seed=0)
    for shape in [(4, 64), (4, 8, 8), (4, 1, 8, 9), (0, 1, 8, 8)]:
        with pytest.raises(ValueError, match=r"^ConvNet\.loss: X must have shape \(N, C, H, W\) = "
                                             rf"\(N, 1, 8, 8\) .*got X of shape \({shape[0]},"):
            model.loss(np.zeros(shape))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, num_classes\) = \[0, 3\)"):
        model.loss(np.zeros((2, 1, 8, 8)), np.array([0, 3]))


def tiny_images(num_train=40, num_val=20):
    rng = np.random.default_rng(8)
    templates = rng.standard_normal((3, 1, 6, 6))  # one noisy template per class
    data = {}
    for split, size in (("train", num_train), ("val", num_val)):
        y = rng.integers(3, size=size)
        data[f"X_{split}"] = (templates[y] + rng.standard_normal((size, 1, 6, 6))).astype(
            np.float32)
        data[f"y_{split}"] = y
    return data


def test_batchnorm_convnet_resumes_exactly(tmp_path):
    def run(num_epochs, **kwargs):
        model = ConvNet((1, 6, 6), [4], 3, 2, [8], num_classes=3, normalization="batchnorm",
                        seed=2)
        return model, Solver(model, tiny_images(), update_rule="adam", batch_size=8,
                             optim_config={"learning_rate": 1e-2}, num_epochs=num_epochs,
                             seed=3, **kwargs)

    whole_model, whole = run(2)
    whole.train()
    run(1, checkpoint_dir=tmp_path)[1].train()
    model, resumed = run(2)
    resumed.resume(tmp_path / "last.npz").train()
    assert_same_arrays(model.params, whole_model.params)
    assert_same_arrays(model.buffers, whole_model.buffers)
    assert resumed.loss_history == whole.loss_history
    assert not np.array_equal(model.buffers["running_var1"], np.ones(4, np.float32))


@pytest.mark.slow
def test_three_layer_convnet_overfits_fifty_digits():
    data = load_dataset("digits", num_train=50)
    small = {"X_train": data["X_train"], "y_train": data["y_train"],
             "X_val": data["X_val"], "y_val": data["y_val"]}
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=50,
                              weight_scale="he", seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 5e-3},
                    batch_size=10, num_epochs=8, seed=0).train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


@pytest.mark.torch
@pytest.mark.parametrize("case", ["image", "image batchnorm", "signal batchnorm",
                                  "pool leaves a row out"])
def test_convnet_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    input_dim, filters, filter_size, pool, hidden_dims, normalization = CONV_CASES[case]
    model = ConvNet(input_dim, filters, filter_size, pool, hidden_dims, num_classes=4,
                    normalization=normalization, reg=0.3, dtype=np.float64, seed=5)
    randomize_norm_params(model, rng)
    X, y = rng.standard_normal((4, *input_dim)), rng.integers(4, size=4)
    loss, grads = model.loss(X, y)

    params = {name: torch.tensor(p, requires_grad=True) for name, p in model.params.items()}
    HH, WW = model.filter_size
    out = torch.tensor(X)
    for i in range(1, model.num_layers + 1):
        W, b = params[f"W{i}"], params[f"b{i}"]
        if i <= len(filters):
            out = F.conv2d(out, W, b, padding=((HH - 1) // 2, (WW - 1) // 2))
        else:
            out = out.flatten(1) @ W + b
        if i == model.num_layers:
            break
        if normalization == "batchnorm":
            out = F.batch_norm(out, None, None, params[f"gamma{i}"], params[f"beta{i}"],
                               training=True, eps=1e-5)
        out = torch.relu(out)
        if i <= len(filters) and model.pool != (1, 1):
            out = F.max_pool2d(out, model.pool)
    reference = F.cross_entropy(out, torch.tensor(y))
    reference = reference + 0.15 * sum(
        (params[f"W{i}"] ** 2).sum() for i in range(1, model.num_layers + 1))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    for name, p in params.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


# --- from the shell: solver train --model conv, and fc's --normalization / --dropout-keep-ratio --

CONV_FLAGS = ["--model", "conv", "--conv-filters", "6,8", "--filter-size", "3", "--pool", "2",
              "--hidden-dims", "20", "--normalization", "batchnorm", "--weight-scale", "he",
              "--learning-rate", "3e-3", "--num-train", "200", "--quiet"]


def test_solver_train_model_conv_trains_the_convnet_the_flags_describe(tmp_path, capsys):
    assert main(["train", *CONV_FLAGS, "--epochs", "2", "--out", str(tmp_path)]) == 0
    history = json.loads((tmp_path / "history.json").read_text())
    settings = history["settings"]
    assert (settings["conv_filters"], settings["filter_size"], settings["pool"]) == (
        [6, 8], [3, 3], [2, 2])
    data = load_dataset("digits", num_train=200)
    model = ConvNet((1, 8, 8), [6, 8], 3, 2, [20], 10, normalization="batchnorm",
                    weight_scale="he", seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 3e-3},
                    lr_decay=settings["lr_decay"], batch_size=settings["batch_size"],
                    num_epochs=2, seed=0).train()
    assert history["loss_history"] == solver.loss_history  # bit for bit the library's run
    last = read_checkpoint(tmp_path / "last.npz")
    assert last["buffers"].keys() == model.buffers.keys()
    assert_same_arrays(read_checkpoint(tmp_path / "best.npz")["buffers"], model.buffers)
    assert main(["evaluate", str(tmp_path / "best.npz"), "--split", "val"]) == 0
    assert f"val accuracy {solver.best_val_acc:.4f}" in capsys.readouterr().out


def test_solver_train_model_conv_resumes_bit_for_bit(tmp_path, capsys):
    assert main(["train", *CONV_FLAGS, "--epochs", "2", "--out", str(tmp_path / "whole")]) == 0
    assert main(["train", *CONV_FLAGS, "--epochs", "1", "--out", str(tmp_path / "part")]) == 0
    assert main(["train", "--resume", str(tmp_path / "part" / "last.npz"), "--epochs", "2",
                 "--quiet"]) == 0
    whole = read_checkpoint(tmp_path / "whole" / "last.npz")
    resumed = read_checkpoint(tmp_path / "part" / "last.npz")
    assert resumed["loss_history"] == whole["loss_history"]
    for group in ("params", "buffers"):
        assert_same_arrays(resumed[group], whole[group])


def test_solver_train_fc_takes_normalization_and_dropout(tmp_path, capsys):
    assert main(["train", "--model", "fc", "--hidden-dims", "30,20", "--normalization",
                 "layernorm", "--dropout-keep-ratio", "0.8", "--epochs", "1", "--quiet",
                 "--out", str(tmp_path)]) == 0
    last = read_checkpoint(tmp_path / "last.npz")
    assert {"gamma1", "beta1", "gamma2", "beta2"} <= last["params"].keys()
    assert last["buffers"]["dropout_step"] == 26  # 1257 digits in batches of 50
    assert "weights.png" in capsys.readouterr().out  # a fully connected W1: image templates


@pytest.mark.parametrize("argv, message", [
    (["--model", "conv", "--dataset", "spiral"],
     "--model conv takes images (C, H, W) or signals (C, 1, L); the examples of --dataset "
     "spiral have shape (2,)"),
    (["--model", "fc", "--conv-filters", "8"], "--conv-filters does not apply to --model fc"),
    (["--model", "two-layer", "--normalization", "batchnorm"],
     "--normalization does not apply to --model two-layer"),
    (["--model", "conv", "--dropout-keep-ratio", "0.5"],
     "--dropout-keep-ratio does not apply to --model conv"),
    (["--model", "conv", "--normalization", "layernorm"],
     "ConvNet: normalization must be one of (None, 'batchnorm'), got 'layernorm'"),
    (["--model", "conv", "--conv-filters", "4,4,4,4"],
     "ConvNet: the filter (HH, WW) = (3, 3) does not fit block 3 of 4"),
    (["--model", "conv", "--filter-size", "1,4"],
     "--filter-size: must be an odd positive int or an h,w pair of them, got '1,4'"),
    (["--model", "conv", "--pool", "0"], "--pool: must be a positive int or an h,w pair"),
    (["--model", "conv", "--conv-filters", ""], "--conv-filters: must be one or more positive"),
    (["--model", "fc", "--dropout-keep-ratio", "0"], "--dropout-keep-ratio: must be a number"),
    (["--weight-scale", "xavier"], "--weight-scale: must be a number > 0 or 'he'"),
])
def test_bad_conv_and_normalization_flags_are_usage_errors(argv, message, tmp_path, capsys):
    status = main(["train", *argv, "--epochs", "1", "--quiet", "--out", str(tmp_path)])
    stderr = capsys.readouterr().err
    assert status == 2
    assert stderr.startswith("solver train: error: ") and len(stderr.splitlines()) == 1
    assert message in stderr
