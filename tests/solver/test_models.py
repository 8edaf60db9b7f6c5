"""Models: CS231n's TwoLayerNet references, gradient checks, dtypes, validation, torch."""

import numpy as np
import pytest

from gradcheck import eval_numerical_gradient, rel_error
from solver import FullyConnectedNet, TwoLayerNet


def notebook_two_layer_net():
    """The CS231n notebook's TwoLayerNet with hand-built float64 parameters, and its X."""
    N, D, H, C = 3, 5, 50, 7
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-3,
                        dtype=np.float64)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    return model, X


def test_two_layer_net_scores_match_notebook():
    model, X = notebook_two_layer_net()
    correct_scores = np.asarray([
        [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
        [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
        [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319]])
    scores = model.loss(X)
    assert scores.shape == (3, 7)
    assert np.max(np.abs(scores - correct_scores)) < 1e-6


@pytest.mark.parametrize("reg, correct_loss", [(0.0, 3.4702243556), (1.0, 26.5948426952)])
def test_two_layer_net_loss_matches_notebook(reg, correct_loss):
    model, X = notebook_two_layer_net()
    model.reg = reg
    loss, grads = model.loss(X, np.asarray([0, 5, 1]))
    assert abs(loss - correct_loss) < 1e-10
    assert grads.keys() == model.params.keys()


def gradcheck_model(model, X, y):
    """The worst relative error between the model's gradients and numerical ones, per param."""
    _, grads = model.loss(X, y)
    errors = {}
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param)
        errors[name] = rel_error(numeric, grads[name])
    return errors


MODELS = {
    "two_layer": lambda reg: TwoLayerNet(input_dim=6, hidden_dim=8, num_classes=4,
                                         weight_scale=0.3, reg=reg, dtype=np.float64, seed=1),
    "fc_0_hidden": lambda reg: FullyConnectedNet([], input_dim=6, num_classes=4, reg=reg,
                                                 weight_scale=0.3, dtype=np.float64, seed=2),
    "fc_1_hidden": lambda reg: FullyConnectedNet([9], input_dim=6, num_classes=4, reg=reg,
                                                 weight_scale=0.3, dtype=np.float64, seed=3),
    "fc_2_hidden": lambda reg: FullyConnectedNet([9, 7], input_dim=6, num_classes=4, reg=reg,
                                                 weight_scale=0.3, dtype=np.float64, seed=4),
    "fc_3_hidden": lambda reg: FullyConnectedNet([9, 7, 5], input_dim=6, num_classes=4, reg=reg,
                                                 weight_scale=0.3, dtype=np.float64, seed=5),
}


@pytest.mark.parametrize("reg", [0.0, 3.14])
@pytest.mark.parametrize("kind", list(MODELS))
def test_gradients_pass_gradcheck(kind, reg, rng):
    model = MODELS[kind](reg)
    X = rng.standard_normal((5, 2, 3))  # (N, d1, d2) with d1 * d2 = input_dim
    y = rng.integers(4, size=5)
    errors = gradcheck_model(model, X, y)
    assert max(errors.values()) < 1e-6, errors


def test_regularization_is_on_weights_only(rng):
    model = FullyConnectedNet([8, 6], input_dim=5, num_classes=3, dtype=np.float64)
    X, y = rng.standard_normal((4, 5)), rng.integers(3, size=4)
    loss0, grads0 = model.loss(X, y)
    model.reg = 0.7
    loss1, grads1 = model.loss(X, y)
    weights = [model.params[f"W{i}"] for i in (1, 2, 3)]
    l2 = 0.5 * 0.7 * sum(np.sum(W * W) for W in weights)
    assert loss1 - loss0 == pytest.approx(l2, rel=1e-12)
    for i in (1, 2, 3):
        np.testing.assert_allclose(grads1[f"W{i}"], grads0[f"W{i}"] + 0.7 * model.params[f"W{i}"],
                                   rtol=1e-12, atol=1e-15)
        assert np.array_equal(grads1[f"b{i}"], grads0[f"b{i}"])


def test_parameters_follow_cs231n_layout_and_initialisation():
    model = FullyConnectedNet([40, 30], input_dim=50, num_classes=10, weight_scale=0.5, seed=7)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {"W1": (50, 40), "b1": (40,), "W2": (40, 30), "b2": (30,),
                      "W3": (30, 10), "b3": (10,)}
    assert all(not p.any() for name, p in model.params.items() if name.startswith("b"))
    assert np.std(model.params["W1"]) == pytest.approx(0.5, rel=0.05)
    assert model.buffers == {}
    same = FullyConnectedNet([40, 30], input_dim=50, num_classes=10, weight_scale=0.5, seed=7)
    other = FullyConnectedNet([40, 30], input_dim=50, num_classes=10, weight_scale=0.5, seed=8)
    assert all(np.array_equal(model.params[k], same.params[k]) for k in model.params)
    assert not np.array_equal(model.params["W1"], other.params["W1"])


def test_float32_and_float64_models_of_one_seed_start_alike():
    single = TwoLayerNet(input_dim=12, hidden_dim=7, num_classes=3, seed=5)
    double = TwoLayerNet(input_dim=12, hidden_dim=7, num_classes=3, seed=5, dtype=np.float64)
    for name in single.params:
        assert single.params[name].dtype == np.float32
        assert np.array_equal(single.params[name], double.params[name].astype(np.float32))


@pytest.mark.parametrize("data_dtype", [np.float64, np.float32, np.int64])
def test_float32_model_stays_float32_whatever_the_data(data_dtype, rng):
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, reg=0.1)
    X = (rng.standard_normal((5, 4)) * 3).astype(data_dtype)
    X_before = X.copy()
    y = rng.integers(3, size=5)
    scores = model.loss(X)
    loss, grads = model.loss(X, y)
    assert scores.dtype == np.float32
    assert isinstance(loss, float)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert np.array_equal(X, X_before)
    np.testing.assert_allclose(scores, model.loss(X.astype(np.float32)), rtol=0, atol=0)


def test_inputs_of_any_trailing_shape_flatten_to_input_dim(rng):
    model = TwoLayerNet(input_dim=12, hidden_dim=5, num_classes=3, dtype=np.float64)
    X = rng.standard_normal((4, 3, 2, 2))
    assert np.array_equal(model.loss(X), model.loss(X.reshape(4, 12)))


@pytest.mark.parametrize("shape", [(4, 11), (4, 3, 3), (12,), (0, 12)])
def test_input_of_the_wrong_size_is_refused(shape):
    model = TwoLayerNet(input_dim=12, hidden_dim=5, num_classes=3)
    with pytest.raises(ValueError, match=rf"TwoLayerNet\.loss: X must have shape .*input_dim = 12, "
                                         rf"got X of shape \({shape[0]},"):
        model.loss(np.zeros(shape))


def test_bad_labels_are_refused():
    model = FullyConnectedNet([5], input_dim=3, num_classes=4)
    X = np.zeros((2, 3))
    message = (r"FullyConnectedNet\.loss: labels must lie in \[0, num_classes\) = \[0, 4\), "
               r"got label 4")
    with pytest.raises(ValueError, match=message):
        model.loss(X, np.array([0, 4]))
    with pytest.raises(ValueError, match=r"FullyConnectedNet\.loss: y must have shape \(N,\)"):
        model.loss(X, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class labels"):
        model.loss(X, np.array([0.5, 1.0]))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"normalization": "groupnorm"}, ValueError, "normalization must be one of"),
    ({"normalization": "batchnorm"}, NotImplementedError, "arrives with the normalization layers"),
    ({"normalization": "layernorm"}, NotImplementedError, "arrives with the normalization layers"),
    ({"dropout_keep_ratio": 0.0}, ValueError, r"dropout_keep_ratio must be a number in \(0, 1\]"),
    ({"dropout_keep_ratio": 1.5}, ValueError, r"dropout_keep_ratio must be a number in \(0, 1\]"),
    ({"dropout_keep_ratio": 0.5}, NotImplementedError, "arrives with the dropout layer"),
    ({"reg": -1.0}, ValueError, "reg must be a finite number >= 0"),
    ({"weight_scale": 0.0}, ValueError, "weight_scale must be a positive number"),
    ({"dtype": np.int32}, ValueError, "dtype must be float32 or float64"),
    ({"input_dim": 0}, ValueError, "input_dim must be a positive integer"),
    ({"num_classes": 2.5}, ValueError, "num_classes must be a positive integer"),
])
def test_constructor_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=rf"^FullyConnectedNet: .*{message}"):
        FullyConnectedNet([5], **{"input_dim": 3, **kwargs})


def test_bad_hidden_dims_and_reg_assignment_are_refused():
    with pytest.raises(TypeError, match="hidden_dims must be a sequence of layer widths"):
        FullyConnectedNet(100)
    with pytest.raises(ValueError, match="every hidden dim must be a positive integer, got -3"):
        FullyConnectedNet([10, -3])
    with pytest.raises(ValueError, match="TwoLayerNet: hidden_dim must be a positive integer"):
        TwoLayerNet(hidden_dim=0)
    model = TwoLayerNet(input_dim=3, hidden_dim=2, num_classes=2)
    with pytest.raises(ValueError, match="TwoLayerNet: reg must be a finite number >= 0"):
        model.reg = float("nan")


@pytest.mark.torch
@pytest.mark.parametrize("hidden_dims", [[], [7], [7, 5, 6]])
def test_loss_and_gradients_match_torch(hidden_dims, rng):
    torch = pytest.importorskip("torch")
    model = FullyConnectedNet(hidden_dims, input_dim=8, num_classes=4, reg=0.3,
                              weight_scale=0.3, dtype=np.float64, seed=11)
    X, y = rng.standard_normal((6, 8)), rng.integers(4, size=6)
    loss, grads = model.loss(X, y)

    params = {name: torch.tensor(p, requires_grad=True) for name, p in model.params.items()}
    out = torch.tensor(X)
    L = len(hidden_dims) + 1
    for i in range(1, L + 1):
        out = out @ params[f"W{i}"] + params[f"b{i}"]
        if i < L:
            out = torch.relu(out)
    reference = torch.nn.functional.cross_entropy(out, torch.tensor(y))
    reference = reference + 0.5 * 0.3 * sum((params[f"W{i}"] ** 2).sum() for i in range(1, L + 1))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-13)
    for name, p in params.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-10, atol=1e-13)
