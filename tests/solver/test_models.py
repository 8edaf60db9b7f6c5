"""Models: CS231n's TwoLayerNet references, gradient checks, dtypes, validation, torch;
FullyConnectedNet with batchnorm, layernorm and dropout, and their state under the Solver."""

import math

import numpy as np
import pytest

from gradcheck import check_loss, eval_numerical_gradient, rel_error
from layers import dropout_forward, softmax_loss
from layers.activations import ACTIVATIONS
from solver import FullyConnectedNet, Solver, TwoLayerNet
from solver.checkpoint import read_checkpoint
from solver import classifier, models
from solver.models import dropout_seed


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


@pytest.mark.parametrize("hidden_dims", [[], [7], [7, 5, 6]])
def test_training_skips_the_gradient_for_X_and_no_other(hidden_dims, rng, monkeypatch):
    calls = []  # whether each affine backward, in call order, returned dx = None

    def spy(backward):
        def recorded(dout, cache, **kwargs):
            result = backward(dout, cache, **kwargs)
            calls.append(result[0] is None)
            return result
        return recorded

    monkeypatch.setattr(classifier, "affine_backward", spy(classifier.affine_backward))
    model = FullyConnectedNet(hidden_dims, input_dim=6, num_classes=4, seed=1)
    model.loss(rng.standard_normal((5, 6)), rng.integers(4, size=5))
    assert calls == [False] * len(hidden_dims) + [True]  # layer L first, layer 1 (X's) last


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
    single = TwoLayerNet(input_dim=12, hidden_dim=7, num_classes=3, seed=5, dtype=np.float32)
    double = TwoLayerNet(input_dim=12, hidden_dim=7, num_classes=3, seed=5)  # float64 default
    assert double.params["W1"].dtype == np.float64
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
    ({"normalization": "BatchNorm"}, ValueError, "normalization must be one of"),
    ({"dropout_keep_ratio": 0.0}, ValueError, r"dropout_keep_ratio must be a number in \(0, 1\]"),
    ({"dropout_keep_ratio": 1.5}, ValueError, r"dropout_keep_ratio must be a number in \(0, 1\]"),
    ({"dropout_keep_ratio": True}, ValueError, r"dropout_keep_ratio must be a number in \(0, 1\]"),
    ({"reg": -1.0}, ValueError, "reg must be a finite number >= 0"),
    ({"weight_scale": 0.0}, ValueError, "weight_scale must be a positive number or 'he'"),
    ({"weight_scale": "xavier"}, ValueError, "weight_scale must be a positive number or 'he'"),
    ({"seed": -1}, ValueError, "seed must be None or an integer >= 0"),
    ({"seed": 1.5}, ValueError, "seed must be None or an integer >= 0"),
    ({"activation": "softsign"}, ValueError, "activation must be one of 'relu', 'sigmoid'"),
    ({"dropout": 0.5, "dropout_keep_ratio": 0.7}, ValueError, "give one"),
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
    with pytest.raises(ValueError, match="every entry of hidden_dims must be a positive integer, "
                                         "got -3"):
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


# --- normalization and dropout -------------------------------------------------------------------

def check_model(model, X, y, mode="full"):
    """``check_loss`` on every parameter of the model at (X, y): name -> the worst error.

    The model's state is frozen during the check: params and buffers are put back after every
    call, so that each call draws the same dropout masks (the same dropout_step), as CS231n's
    notebook does by fixing the dropout seed.
    """
    errors = {}
    for name in model.params:
        def loss_and_grad(param, labels, name=name):
            params, buffers = dict(model.params), dict(model.buffers)
            model.params[name] = param
            try:
                loss, grads = model.loss(X, labels)
            finally:
                model.params.update(params)
                model.buffers.update(buffers)
            return loss, grads[name]
        errors[name] = check_loss(loss_and_grad, model.params[name], y, mode=mode).max_error
    return errors


def randomize_norm_params(model, rng):
    """Biases, gammas and betas away from their initial 0, 1 and 0, so that their gradients
    are checked in general (and no unit sits exactly on a ReLU kink when dropout zeroes all
    of its inputs)."""
    for name, param in model.params.items():
        if name.startswith(("b", "gamma")):
            start = 1.0 if name.startswith("gamma") else 0.0
            model.params[name] = (start + 0.5 * rng.standard_normal(param.shape)).astype(
                param.dtype)


@pytest.mark.parametrize("reg", [0.0, 3.14])
@pytest.mark.parametrize("keep", [1.0, 0.6])
@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_normalized_and_dropout_nets_pass_gradcheck(normalization, keep, reg, rng):
    # weight_scale 0.3 rather than CS231n's 5e-2: there the batch variances are ~1e-3, batchnorm
    # multiplies by 1/std ~ 30, and some draws score ~2e-5 on the centred differences' own error
    # (the analytic gradients still agree with torch autograd to 1e-15).
    model = FullyConnectedNet([12, 9], input_dim=10, num_classes=7, normalization=normalization,
                              dropout_keep_ratio=keep, reg=reg, weight_scale=0.3,
                              dtype=np.float64, seed=13)
    randomize_norm_params(model, rng)
    X, y = rng.standard_normal((4, 10)), rng.integers(7, size=4)
    errors = check_model(model, X, y)
    assert errors.keys() == model.params.keys()
    assert max(errors.values()) < 1e-6, errors


def test_normalized_net_layout_and_initial_state():
    model = FullyConnectedNet([6, 5], input_dim=4, num_classes=3, normalization="batchnorm",
                              dropout_keep_ratio=0.5, seed=1)
    assert sorted(model.params) == ["W1", "W2", "W3", "b1", "b2", "b3",
                                    "beta1", "beta2", "gamma1", "gamma2"]
    for i, width in ((1, 6), (2, 5)):
        assert np.array_equal(model.params[f"gamma{i}"], np.ones(width, np.float32))
        assert np.array_equal(model.params[f"beta{i}"], np.zeros(width, np.float32))
        assert np.array_equal(model.buffers[f"running_mean{i}"], np.zeros(width, np.float32))
        assert np.array_equal(model.buffers[f"running_var{i}"], np.ones(width, np.float32))
    step = model.buffers["dropout_step"]
    assert step.shape == () and step.dtype == np.int64 and step == 0
    assert len(model.buffers) == 5
    layernorm = FullyConnectedNet([6], input_dim=4, num_classes=3, normalization="layernorm")
    assert sorted(layernorm.params) == ["W1", "W2", "b1", "b2", "beta1", "gamma1"]
    assert layernorm.buffers == {}
    plain = FullyConnectedNet([6], input_dim=4, num_classes=3, seed=1)
    assert np.array_equal(plain.params["W1"], model.params["W1"])  # same draws, same order
    assert repr(model) == ("FullyConnectedNet(hidden_dims=[6, 5], input_dim=4, num_classes=3, "
                           "normalization='batchnorm', dropout_keep_ratio=0.5, reg=0.0, "
                           "dtype=float32)")


def bn_by_hand(h, mean, var, gamma, beta):
    return gamma * (h - mean) / np.sqrt(var + 1e-5) + beta


def test_batchnorm_updates_running_statistics_in_train_mode_and_uses_them_in_test_mode(rng):
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, normalization="batchnorm",
                              weight_scale=0.5, dtype=np.float64, seed=2)
    randomize_norm_params(model, rng)
    W1, b1, W2, b2, gamma, beta = (model.params[k] for k in
                                   ("W1", "b1", "W2", "b2", "gamma1", "beta1"))
    X, y = rng.standard_normal((5, 4)) + 1, rng.integers(3, size=5)

    def test_scores(mean, var):
        return np.maximum(0, bn_by_hand(X @ W1 + b1, mean, var, gamma, beta)) @ W2 + b2

    before = dict(model.buffers)
    np.testing.assert_allclose(model.loss(X), test_scores(0.0, 1.0), rtol=1e-12)
    assert all(model.buffers[k] is before[k] for k in before)  # test mode changes nothing

    loss, _ = model.loss(X, y)
    h = X @ W1 + b1  # (N, M)
    train_scores = np.maximum(0, bn_by_hand(h, h.mean(0), h.var(0), gamma, beta)) @ W2 + b2
    assert loss == pytest.approx(softmax_loss(train_scores, y)[0], rel=1e-12)
    mean, var = 0.1 * h.mean(0), 0.9 + 0.1 * h.var(0)  # momentum 0.9 from mean 0, variance 1
    np.testing.assert_allclose(model.buffers["running_mean1"], mean, rtol=1e-12)
    np.testing.assert_allclose(model.buffers["running_var1"], var, rtol=1e-12)
    assert all(model.buffers[k] is not before[k] for k in before)  # replaced, not written into
    assert np.array_equal(before["running_mean1"], np.zeros(6))
    scores = model.loss(X)
    np.testing.assert_allclose(scores, test_scores(mean, var), rtol=1e-12)
    assert abs(softmax_loss(scores, y)[0] - loss) > 1e-3  # test mode is not train mode


def test_layernorm_keeps_no_state_and_trains_as_it_tests(rng):
    model = FullyConnectedNet([7], input_dim=4, num_classes=3, normalization="layernorm",
                              weight_scale=0.5, dtype=np.float64, seed=3)
    randomize_norm_params(model, rng)
    X, y = rng.standard_normal((6, 4)), rng.integers(3, size=6)
    loss, _ = model.loss(X, y)
    assert model.buffers == {}
    scores = model.loss(X)
    assert softmax_loss(scores, y)[0] == pytest.approx(loss, rel=1e-13)
    h = X @ model.params["W1"] + model.params["b1"]  # (N, M)
    normed = bn_by_hand(h.T, h.mean(1), h.var(1), 1, 0).T  # each row over its own features
    hidden = np.maximum(0, model.params["gamma1"] * normed + model.params["beta1"])
    np.testing.assert_allclose(scores, hidden @ model.params["W2"] + model.params["b2"],
                               rtol=1e-12)


def test_dropout_draws_the_documented_mask_of_the_step_the_training_loop_sets(rng):
    keep = 0.5
    model = FullyConnectedNet([40, 30], input_dim=6, num_classes=4, dropout_keep_ratio=keep,
                              weight_scale=0.3, dtype=np.float64, seed=3)
    W1, b1, W2, b2, W3, b3 = (model.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    X, y = rng.standard_normal((5, 6)), rng.integers(4, size=5)

    def scores_by_hand(step=None):
        """Masks seeded by dropout_seed(seed, step, layer), as documented; None: test mode."""
        out = X
        for i, (W, b) in enumerate(((W1, b1), (W2, b2)), start=1):
            out = np.maximum(0, out @ W + b)  # (N, M_i)
            if step is not None:
                seed = dropout_seed(3, step, i)
                out, _ = dropout_forward(out, {"mode": "train", "p": keep, "seed": seed})
        return out @ W3 + b3

    losses = []
    for step in range(3):
        model.buffers["dropout_step"] = np.array(step, np.int64)  # as the Solver does
        expected = softmax_loss(scores_by_hand(step), y)[0]
        for _ in range(2):  # the model itself never advances: the same masks every call
            loss, _ = model.loss(X, y)
            assert loss == pytest.approx(expected, rel=1e-12)
        assert model.buffers["dropout_step"] == step
        losses.append(loss)
    assert len(set(losses)) == 3  # a fresh mask for every step
    np.testing.assert_allclose(model.loss(X), scores_by_hand(), rtol=1e-12)  # test: no dropout


def test_the_solver_advances_the_dropout_step_once_per_iteration(rng):
    model = FullyConnectedNet([8], input_dim=6, num_classes=3, dropout_keep_ratio=0.5, seed=1)
    Solver(model, blob_data(), num_epochs=2, batch_size=8, verbose=False).train()
    assert model.buffers["dropout_step"].dtype == np.int64
    # The model holds the best epoch's buffers: 8 iterations per epoch of 60 examples.
    assert model.buffers["dropout_step"] in (8, 16)


def test_unseeded_models_draw_from_numpys_global_state_in_the_course_order():
    np.random.seed(0)
    model = FullyConnectedNet([5, 4], input_dim=3, num_classes=2, weight_scale=0.1,
                              normalization="batchnorm", dtype=np.float64)
    np.random.seed(0)
    W1, W2, W3 = (0.1 * np.random.randn(*shape) for shape in ((3, 5), (5, 4), (4, 2)))
    for name, W in (("W1", W1), ("W2", W2), ("W3", W3)):
        assert np.array_equal(model.params[name], W), name
    np.random.seed(0)
    two = TwoLayerNet(3, 5, 2, weight_scale=0.1)
    assert np.array_equal(two.params["W1"], W1)
    # An int seed leaves numpy's global state alone.
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    FullyConnectedNet([5], input_dim=3, num_classes=2, dropout_keep_ratio=0.5, seed=4)
    assert np.array_equal(np.random.get_state()[1], before)


def test_dropout_seeds_differ_by_seed_step_and_layer():
    seeds = {dropout_seed(seed, step, layer)
             for seed in (0, 1) for step in (0, 1, 2**40) for layer in (1, 2)}
    assert len(seeds) == 12
    assert all(isinstance(s, int) and 0 <= s < 2**64 for s in seeds)
    assert dropout_seed(7, 3, 2) == dropout_seed(7, 3, 2)


def test_dropout_really_drops_about_one_minus_keep_of_the_units(rng):
    model = FullyConnectedNet([2000], input_dim=3, num_classes=2, dropout_keep_ratio=0.3,
                              weight_scale=1.0, dtype=np.float64)
    X = np.abs(rng.standard_normal((1, 3)))
    model.params["W1"] = np.abs(model.params["W1"])  # every hidden unit active
    _, grads = model.loss(X, np.array([1]))
    kept = np.any(grads["W2"] != 0, axis=1)  # (M,): a dropped unit gets no gradient
    assert abs(kept.mean() - 0.3) < 0.04


def test_same_seed_trains_bit_for_bit_and_another_seed_does_not(rng):
    X, y = rng.standard_normal((8, 5)), rng.integers(3, size=8)

    def losses(seed):
        model = FullyConnectedNet([9, 6], input_dim=5, num_classes=3, normalization="batchnorm",
                                  dropout_keep_ratio=0.7, weight_scale=0.3, seed=seed)
        results = [model.loss(X, y) for _ in range(3)]
        return [loss for loss, _ in results], [grads["W1"] for _, grads in results], model

    (losses_a, grads_a, a), (losses_b, grads_b, b) = losses(5), losses(5)
    assert losses_a == losses_b
    assert all(np.array_equal(g, h) for g, h in zip(grads_a, grads_b))
    assert all(np.array_equal(a.buffers[k], b.buffers[k]) for k in a.buffers)
    assert losses(6)[0] != losses_a


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_float32_in_float32_out_with_normalization_and_dropout(normalization, rng):
    model = FullyConnectedNet([8, 6], input_dim=5, num_classes=3, normalization=normalization,
                              dropout_keep_ratio=0.8, reg=0.1)
    X, y = rng.standard_normal((7, 5)), rng.integers(3, size=7)  # float64 data
    X_before = X.copy()
    loss, grads = model.loss(X, y)
    scores = model.loss(X)
    assert isinstance(loss, float) and scores.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(b.dtype == np.float32 for k, b in model.buffers.items() if k != "dropout_step")
    assert np.array_equal(X, X_before)


@pytest.mark.torch
@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_normalized_nets_match_torch(normalization, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model = FullyConnectedNet([7, 5], input_dim=6, num_classes=4, normalization=normalization,
                              reg=0.2, weight_scale=0.4, dtype=np.float64, seed=12)
    randomize_norm_params(model, rng)
    X, y = rng.standard_normal((8, 6)), rng.integers(4, size=8)
    loss, grads = model.loss(X, y)

    params = {name: torch.tensor(p, requires_grad=True) for name, p in model.params.items()}

    def forward(train, stats=None):
        out = torch.tensor(X)
        for i in (1, 2):
            out = out @ params[f"W{i}"] + params[f"b{i}"]
            gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
            if normalization == "layernorm":
                out = F.layer_norm(out, out.shape[1:], gamma, beta, eps=1e-5)
            else:
                mean, var = (None, None) if train else stats[i]
                out = F.batch_norm(out, mean, var, gamma, beta, training=train, eps=1e-5)
            out = torch.relu(out)
        return out @ params["W3"] + params["b3"]

    reference = F.cross_entropy(forward(True), torch.tensor(y))
    reference = reference + 0.1 * sum((params[f"W{i}"] ** 2).sum() for i in (1, 2, 3))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    for name, p in params.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12)
    if normalization == "batchnorm":  # test mode with our running statistics
        stats = {i: (torch.tensor(model.buffers[f"running_mean{i}"]),
                     torch.tensor(model.buffers[f"running_var{i}"])) for i in (1, 2)}
        with torch.no_grad():
            expected = forward(False, stats).numpy()
        np.testing.assert_allclose(model.loss(X), expected, rtol=1e-12, atol=1e-12)


# --- state under the Solver: running statistics and the dropout step ---------------------------

def blob_data(num_train=60, num_val=40, dim=6, num_classes=3):
    rng = np.random.default_rng(5)
    centres = 1.5 * rng.standard_normal((num_classes, dim))  # (K, D)
    data = {}
    for split, size in (("train", num_train), ("val", num_val)):
        y = rng.integers(num_classes, size=size)  # (N,)
        data[f"X_{split}"] = (centres[y] + rng.standard_normal((size, dim))).astype(np.float32)
        data[f"y_{split}"] = y
    return data


def stateful_run(num_epochs, normalization="batchnorm", keep=0.7, **kwargs):
    """A net with state in its buffers, and its Solver: 8 iterations per epoch."""
    model = FullyConnectedNet([16, 12], input_dim=6, num_classes=3, normalization=normalization,
                              dropout_keep_ratio=keep, weight_scale=0.3, seed=4)
    solver = Solver(model, blob_data(), update_rule="adam", optim_config={"learning_rate": 1e-2},
                    lr_decay=0.9, batch_size=8, num_epochs=num_epochs, num_train_samples=30,
                    seed=2, **kwargs)
    return model, solver


def assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name


@pytest.mark.parametrize("normalization, keep", [("batchnorm", 0.7), ("layernorm", 0.7),
                                                 ("batchnorm", 1.0)])
def test_two_epochs_then_resume_to_four_equals_four_in_one_go(normalization, keep, tmp_path):
    whole_model, whole = stateful_run(4, normalization, keep, checkpoint_dir=tmp_path / "whole")
    whole.train()
    _, first = stateful_run(2, normalization, keep, checkpoint_dir=tmp_path / "first")
    first.train()
    model, resumed = stateful_run(4, normalization, keep, checkpoint_dir=tmp_path / "resumed")
    resumed.resume(tmp_path / "first" / "last.npz").train()

    assert_same_arrays(model.params, whole_model.params)  # the best ones, after train
    assert_same_arrays(model.buffers, whole_model.buffers)
    assert_same_arrays(resumed.best_buffers, whole.best_buffers)
    assert resumed.loss_history == whole.loss_history
    assert resumed.val_acc_history == whole.val_acc_history
    last_whole = read_checkpoint(tmp_path / "whole" / "last.npz")
    last_resumed = read_checkpoint(tmp_path / "resumed" / "last.npz")
    for group in ("params", "buffers", "best_params", "best_buffers"):
        assert_same_arrays(last_resumed[group], last_whole[group])
    if keep < 1:
        assert last_whole["buffers"]["dropout_step"] == 4 * 8


def test_checkpoints_hold_the_running_statistics_and_resume_restores_them(tmp_path):
    model, solver = stateful_run(3, checkpoint_dir=tmp_path)
    solver.train()
    last = read_checkpoint(tmp_path / "last.npz")
    best = read_checkpoint(tmp_path / "best.npz")
    best_epoch = solver.val_acc_history.index(solver.best_val_acc, 1)  # entry e: epoch e
    assert last["buffers"].keys() == model.buffers.keys() == {
        "running_mean1", "running_var1", "running_mean2", "running_var2", "dropout_step"}
    assert last["buffers"]["dropout_step"] == 3 * 8
    assert best["buffers"]["dropout_step"] == best_epoch * 8
    assert not np.any(last["buffers"]["running_mean1"] == 0)  # trained, not the initial zeros
    assert_same_arrays(best["buffers"], solver.best_buffers)
    assert_same_arrays(best["buffers"], model.buffers)  # the model holds the best state
    assert_same_arrays(last["best_buffers"], solver.best_buffers)

    X_val = blob_data()["X_val"]
    scores = model.loss(X_val)
    fresh, fresh_solver = stateful_run(3)
    fresh.params.update(best["params"])
    assert not np.allclose(fresh.loss(X_val), scores)  # the running statistics matter
    fresh_solver.resume(tmp_path / "best.npz")
    assert_same_arrays(fresh.buffers, model.buffers)
    assert np.array_equal(fresh.loss(X_val), scores)  # test-time scores, bit for bit

    other, other_solver = stateful_run(3)
    other_solver.resume(tmp_path / "last.npz")
    assert_same_arrays(other.buffers, last["buffers"])
    assert_same_arrays(other.params, last["params"])
    assert math.isfinite(other_solver.best_val_acc)


# --- activations, course attributes, files -----------------------------------------------------

@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_registered_activation_trains_in_a_net_and_passes_gradcheck(activation, rng):
    model = FullyConnectedNet([7, 6], input_dim=5, num_classes=3, activation=activation,
                              normalization="layernorm", reg=0.3, weight_scale=0.5,
                              dtype=np.float64, seed=2)
    randomize_norm_params(model, rng)
    X, y = rng.standard_normal((4, 5)), rng.integers(3, size=4)
    errors = check_model(model, X, y)
    assert max(errors.values()) < 1e-6, errors
    forward = ACTIVATIONS[activation][0]
    hidden = forward(X @ model.params["W1"] + model.params["b1"])[0]  # without the layernorm
    plain = FullyConnectedNet([7], input_dim=5, num_classes=3, activation=activation,
                              dtype=np.float64, seed=2)
    expected = forward(X @ plain.params["W1"] + plain.params["b1"])[0] @ plain.params["W2"]
    np.testing.assert_allclose(plain.loss(X), expected + plain.params["b2"], rtol=1e-12)
    assert hidden.shape == (4, 7)


def test_course_attributes_and_the_2019_dropout_keyword():
    model = FullyConnectedNet([6, 5], input_dim=4, num_classes=3, dropout=0.5, seed=1)
    assert model.dropout_keep_ratio == 0.5 and model.use_dropout
    assert model.num_layers == 3 and model.normalization is None and model.dtype == np.float32
    assert not FullyConnectedNet([6], input_dim=4, num_classes=3, dropout=1, seed=1).use_dropout
    two = TwoLayerNet(4, 6, 3, seed=1)
    assert two.num_layers == 2 and two.dtype == np.float64 and not two.use_dropout


@pytest.mark.parametrize("make", [
    lambda: FullyConnectedNet([6, 5], input_dim=4, num_classes=3, normalization="batchnorm",
                              dropout_keep_ratio=0.5, seed=1),
    lambda: TwoLayerNet(4, 6, 3, seed=1),
    lambda: models.ConvNet((1, 4, 4), [2], 3, 2, [5], num_classes=3, normalization="batchnorm",
                           seed=1),
], ids=["fc", "two_layer", "conv"])
def test_save_then_load_restores_params_and_buffers(make, tmp_path, rng):
    model = make()
    X = rng.standard_normal((6, *np.atleast_1d(getattr(model, "input_dim"))))
    model.loss(X, rng.integers(3, size=6))  # running statistics away from their start
    for name in model.params:
        model.params[name] = model.params[name] + 1
    model.save(tmp_path / "model.npy")  # the course's name; the file is an .npz all the same
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npy"]
    other = make().load(tmp_path / "model.npy")
    for group in ("params", "buffers"):
        assert_same_arrays(getattr(other, group), getattr(model, group))
    np.testing.assert_array_equal(other.loss(X), model.loss(X))


def test_load_refuses_pickles_and_parameters_that_do_not_fit(tmp_path):
    model = TwoLayerNet(4, 6, 3, seed=1)
    np.save(tmp_path / "course.npy", {"W1": np.zeros((4, 6))}, allow_pickle=True)
    with pytest.raises(ValueError, match="TwoLayerNet.load: .*never unpickled"):
        model.load(tmp_path / "course.npy")
    with pytest.raises(FileNotFoundError, match="TwoLayerNet.load: .* does not exist"):
        model.load(tmp_path / "missing.npz")
    TwoLayerNet(4, 7, 3, seed=1).save(tmp_path / "wider.npz")
    with pytest.raises(ValueError, match=r"params\['W1'\] has shape \(4, 7\), the model's \(4, 6\)"):
        model.load(tmp_path / "wider.npz")
    FullyConnectedNet([6, 6], input_dim=4, num_classes=3, seed=1).save(tmp_path / "deeper.npz")
    with pytest.raises(ValueError, match="holds params"):
        model.load(tmp_path / "deeper.npz")


def test_solver_models_keeps_every_name_it_had_before_its_split():
    """Checkpoints, notebooks and old code import from solver.models: the split of the module
    into classifier.py, fc_nets.py and conv_nets.py keeps every name it defined importable."""
    import solver

    names = ["ConvNet", "FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet", "dropout_seed",
             "NORMALIZATIONS", "CONV_NORMALIZATIONS", "NORM_LAYERS", "CONV_BLOCKS",
             "_Classifier", "_check_size", "_check_sizes", "_check_pair"]
    assert all(hasattr(models, name) for name in names)
    for name in ("ConvNet", "FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet"):
        assert getattr(models, name) is getattr(solver, name)
        assert issubclass(getattr(models, name), models._Classifier)
