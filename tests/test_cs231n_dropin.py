"""The course's check cells, run on this library with the notebooks' own inputs.

Each test rebuilds one check cell of the CS231n assignments (2019 to 2026 editions: assignment
1 ``softmax``, ``svm``, ``two_layer_net``, ``FullyConnectedNets``; assignment 2
``FullyConnectedNets``, ``BatchNormalization``, ``Dropout``, ``ConvolutionalNetworks``) as the
notebook builds it: ``np.linspace`` grids, ``np.random.seed(231)`` followed by the notebook's
draws in its order, models built with the course's keywords. It asserts the reference values
and error bounds the notebook states. Where a cell needs CIFAR-10 (the linear classifiers' X_dev),
a stand-in of the same shape is built the way the notebook builds X_dev (mean-subtracted pixel
values and a column of ones for the bias).
"""

import math

import numpy as np
import pytest

import layers
from gradcheck import eval_numerical_gradient, grad_check_sparse, rel_error
from solver import FullyConnectedNet, Solver, ThreeLayerConvNet, TwoLayerNet
from solver.linear_classifier import (
    LinearSVM, Softmax, softmax_loss_naive, softmax_loss_vectorized, svm_loss_naive,
    svm_loss_vectorized)
from solver.optim import adam, rmsprop, sgd_momentum


@pytest.fixture(autouse=True)
def keep_numpys_global_state():
    """The cells seed numpy's global state, as the notebooks do: put it back afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def numerical_errors(model, X, y, h=1e-5):
    """The notebooks' loop: ``rel_error`` of a numerical gradient against each analytic one."""
    _, grads = model.loss(X, y)
    errors = {}
    for name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]  # noqa: E731
        grad_num = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
        errors[name] = rel_error(grad_num, grads[name])
    return errors, grads


# --- update rules (FullyConnectedNets) ---------------------------------------------------------

N, D = 4, 5


# The notebooks' three cells: the rule, its config built from np.linspace grids, the expected
# next_w and state, and the bound the notebook states ("errors less than e-8" for momentum,
# "around e-7 or less" for the others; the references' 8 decimals alone leave 1.1e-7 on
# Adam's next_w, whose entry 0.01971428 is rounded by up to 5e-9).
UPDATE_RULE_CELLS = {
    "sgd_momentum": (sgd_momentum, 1e-8, {
        "learning_rate": 1e-3, "velocity": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}, [
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]], {"velocity": [
            [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
            [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
            [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
            [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]]}),
    "rmsprop": (rmsprop, 1e-7, {
        "learning_rate": 1e-2, "cache": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}, [
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]], {"cache": [
            [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
            [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
            [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
            [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]]}),
    "adam": (adam, 2e-7, {
        "learning_rate": 1e-2, "m": np.linspace(0.6, 0.9, num=N * D).reshape(N, D),
        "v": np.linspace(0.7, 0.5, num=N * D).reshape(N, D), "t": 5}, [
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]], {"v": [
            [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
            [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
            [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
            [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]], "m": [
            [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
            [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
            [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
            [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]], "t": 6}),
}


@pytest.mark.parametrize("name", list(UPDATE_RULE_CELLS))
def test_update_rule_cell(name):
    rule, bound, config, expected_next_w, expected_state = UPDATE_RULE_CELLS[name]
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    config = dict(config)
    next_w, _ = rule(w, dw, config=config)
    assert rel_error(next_w, np.asarray(expected_next_w)) < bound
    for key, expected in expected_state.items():  # read from the caller's dict, as the cells do
        assert rel_error(np.asarray(expected), config[key]) < bound, key


# --- TwoLayerNet (assignment 1 two_layer_net, assignment 2 FullyConnectedNets 2019) ------------

def test_two_layer_net_cell(tmp_path):
    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)

    std = 1e-3
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std)
    assert abs(model.params["W1"].std() - std) < std / 10, "First layer weights"
    assert np.all(model.params["b1"] == 0), "First layer biases"
    assert abs(model.params["W2"].std() - std) < std / 10, "Second layer weights"
    assert np.all(model.params["b2"] == 0), "Second layer biases"

    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    scores = model.loss(X)
    correct_scores = np.asarray([
        [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
         16.09215096],
        [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135,
         16.18839143],
        [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
         16.2846319]])
    assert np.abs(scores - correct_scores).sum() < 1e-6, "test-time forward pass"

    y = np.asarray([0, 5, 1])
    loss, grads = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10, "training-time loss"
    model.reg = 1.0  # read by the next loss() call
    loss, grads = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10, "regularization loss"

    for reg in [0.0, 0.7]:
        model.reg = reg
        errors, _ = numerical_errors(model, X, y)
        assert max(errors.values()) < 1e-6, (reg, errors)  # "around e-7 or less"

    # The 2026 notebook saves the model; here an .npz whatever the name, read back without
    # pickle.
    model.save(tmp_path / "best_two_layer_net.npy")
    loaded = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C).load(
        tmp_path / "best_two_layer_net.npy")
    assert np.array_equal(loaded.loss(X), model.loss(X))


# --- FullyConnectedNet: initial loss and gradient check ----------------------------------------

def fc_inputs():
    np.random.seed(231)
    N, D, C = 2, 15, 10
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=(N,))
    return X, y


# Initial losses the course's own code prints for these cells (reg 0 is the notebooks' stated
# reference; reg 3.14 is the second model of the same loop, drawn after the first).
FC_INITIAL_LOSSES = {
    None: {0: 2.3004790897684924, 3.14: 7.052114776533016},
    "batchnorm": {0: 2.2611955101340957, 3.14: 6.996533220108303},
}


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_fully_connected_net_initial_loss_and_gradient_check_cell(normalization):
    X, y = fc_inputs()
    for reg in [0, 3.14]:
        model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, reg=reg,
                                  weight_scale=5e-2, dtype=np.float64,
                                  normalization=normalization)
        assert model.num_layers == 3 and model.normalization == normalization
        assert not model.use_dropout and model.dtype == np.float64
        loss, _ = model.loss(X, y)
        assert loss == pytest.approx(FC_INITIAL_LOSSES[normalization][reg], rel=1e-13, abs=0)
        errors, grads = numerical_errors(model, X, y)
        for name, error in errors.items():
            if normalization == "batchnorm" and name in ("b1", "b2"):
                # A bias feeding straight into batchnorm is subtracted out again with the batch
                # mean: its true gradient is 0, so both gradients are round-off and their
                # rel_error is round-off over the 1e-8 floor; assert the gradient is 0.
                assert np.abs(grads[name]).max() < 1e-12, name
            elif normalization == "batchnorm" and reg == 0 and name == "W1":
                # No bound stated; the course's own code gives 1.10e-04 here (batchnorm divides
                # by a batch std of 2 examples).
                assert error < 2e-4
            elif normalization is None and reg == 0 and name == "W2":
                assert error < 1e-4  # "fine ... to see an error for W2 on the order of e-5"
            else:
                assert error < 1e-5 if normalization else error < 1e-6, (reg, name, error)


@pytest.mark.parametrize("keyword", ["dropout_keep_ratio", "dropout"])  # 2019 named it dropout
def test_dropout_net_gradient_check_cell(keyword):
    X, y = fc_inputs()
    for keep in [1, 0.75, 0.5]:
        model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, weight_scale=5e-2,
                                  dtype=np.float64, seed=123, **{keyword: keep})
        assert model.use_dropout == (keep != 1)
        loss, _ = model.loss(X, y)
        assert math.isfinite(loss) and abs(loss - math.log(10)) < 0.1
        errors, _ = numerical_errors(model, X, y)
        # "Relative errors should be around e-6 or less ... W2 on the order of e-5" (keep 1)
        assert max(errors.values()) < 1e-5, (keep, errors)


# --- the layers' param dicts as the course's code fills them (BatchNormalization) -------------

def _norm_call(forward, param):
    """``forward``'s output on inputs drawn as the notebook draws them, 6 features/channels."""
    np.random.seed(231)
    x = 5 * np.random.randn(4, 6, 3, 3) + 12  # (N, C, H, W)
    gamma, beta = np.random.randn(6), np.random.randn(6)
    if forward is layers.spatial_groupnorm_forward:
        return forward(x, gamma, beta, 2, param)[0]
    if forward in (layers.layernorm_forward, layers.batchnorm_forward):
        x = x[:, :, 0, 0]  # (N, D)
    return forward(x, gamma, beta, param)[0]


# (forward, the dict as the course's or a student's code fills it, the keys the layer reads)
COURSE_DICTS = [
    # the notebook's layernorm cell, and the FullyConnectedNet's bn_params['mode'] on layernorm
    (layers.layernorm_forward, {"mode": "train"}, {}),
    (layers.layernorm_forward, {"mode": "test"}, {}),
    # a student's layernorm reusing batchnorm's dict and code, with a flag of their own
    (layers.layernorm_forward, {"mode": "train", "layernorm": 1, "running_mean": np.zeros(6),
                                "running_var": np.ones(6), "momentum": 0.9}, {}),
    (layers.batchnorm_forward, {"mode": "train", "layernorm": 0}, {"mode": "train"}),
    (layers.spatial_batchnorm_forward, {"mode": "train", "layernorm": 0}, {"mode": "train"}),
    (layers.spatial_groupnorm_forward, {"mode": "train", "eps": 1e-5}, {"eps": 1e-5}),
]


@pytest.mark.parametrize("forward, course_dict, read_dict", COURSE_DICTS)
def test_the_courses_param_dicts_are_accepted(forward, course_dict, read_dict):
    """Keys the layer does not read, put there by the course's or a student's code, change
    nothing; only a near miss of a key it reads ('momentun') is refused."""
    np.testing.assert_array_equal(_norm_call(forward, dict(course_dict)),
                                  _norm_call(forward, read_dict))


# --- ThreeLayerConvNet (ConvolutionalNetworks) -------------------------------------------------

def test_three_layer_convnet_sanity_check_cell():
    np.random.seed(231)
    model = ThreeLayerConvNet()
    X = np.random.randn(50, 3, 32, 32)
    y = np.random.randint(10, size=50)
    loss, _ = model.loss(X, y)
    assert abs(loss - math.log(10)) < 0.01  # "about log(C) for C classes"
    model.reg = 0.5
    loss_reg, _ = model.loss(X, y)
    # "the loss should go up slightly": 0.25 * sum(W**2) over ~0.8 million weights of std 1e-3
    assert loss + 0.1 < loss_reg < loss + 0.3


def test_three_layer_convnet_gradient_check_cell():
    np.random.seed(231)
    X = np.random.randn(2, 3, 16, 16)
    y = np.random.randint(10, size=2)
    model = ThreeLayerConvNet(num_filters=3, filter_size=3, input_dim=(3, 16, 16), hidden_dim=7,
                              dtype=np.float64)
    errors, _ = numerical_errors(model, X, y, h=1e-6)
    # "relative errors up to the order of e-2"; these are the errors a run of the course's own
    # code prints for this cell (W2's 1.8e-2 is the centred differences' error, h = 1e-6).
    course = {"W1": 1.380104e-04, "W2": 1.822723e-02, "W3": 3.064049e-04, "b1": 3.477652e-05,
              "b2": 2.516375e-03, "b3": 7.945660e-10}
    for name, error in errors.items():
        assert error == pytest.approx(course[name], rel=1e-4), name


# --- Solver ------------------------------------------------------------------------------------

def test_solver_cell_histories_and_printout(capsys):
    np.random.seed(231)
    num_train = 50
    small_data = {"X_train": np.random.randn(num_train, 3, 4, 4),
                  "y_train": np.random.randint(10, size=num_train),
                  "X_val": np.random.randn(20, 3, 4, 4), "y_val": np.random.randint(10, size=20)}
    model = FullyConnectedNet([100, 100], input_dim=48, weight_scale=1e-2, dtype=np.float64)
    solver = Solver(model, small_data, print_every=10, num_epochs=20, batch_size=25,
                    update_rule="sgd", optim_config={"learning_rate": 1e-3})
    solver.train()
    assert len(solver.loss_history) == 20 * 2
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 20 + 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"(Iteration 1 / 40) loss: {solver.loss_history[0]:f}"
    assert lines[1] == (f"(Epoch 0 / 20) train acc: {solver.train_acc_history[0]:f}; "
                        f"val_acc: {solver.val_acc_history[0]:f}")
    assert sum(line.startswith("(Iteration") for line in lines) == 4
    assert lines[-1].startswith("(Epoch 20 / 20) train acc: ")


# --- linear classifiers (assignment 1 svm, softmax) --------------------------------------------

def dev_set():
    """A stand-in for the notebooks' X_dev (500 CIFAR-10 images, mean-subtracted, with a bias
    column: (500, 3073)) and y_dev, and W = randn(3073, 10) * 0.0001, as the cells draw it."""
    np.random.seed(231)
    X_train = np.random.randint(256, size=(1000, 3072)).astype(np.float64)
    y_train = np.random.randint(10, size=1000)
    mask = np.random.choice(1000, 500, replace=False)
    X_dev, y_dev = X_train[mask] - np.mean(X_train, axis=0), y_train[mask]
    X_dev = np.hstack([X_dev, np.ones((X_dev.shape[0], 1))])
    W = np.random.randn(3073, 10) * 0.0001
    return W, X_dev, y_dev


@pytest.mark.parametrize("naive, vectorized", [(svm_loss_naive, svm_loss_vectorized),
                                               (softmax_loss_naive, softmax_loss_vectorized)])
def test_linear_classifier_loss_cells(naive, vectorized, capsys):
    W, X_dev, y_dev = dev_set()
    loss, grad = naive(W, X_dev, y_dev, 0.000005)
    if naive is softmax_loss_naive:
        assert abs(loss - (-np.log(0.1))) < 0.1  # "sanity check: -log(0.1)"
    else:
        assert 8 < loss < 10  # 9 wrong classes at a margin of ~1 each, for tiny random W

    for reg in (0.0, 5e1):
        loss, grad = naive(W, X_dev, y_dev, reg)
        f = lambda w: naive(w, X_dev, y_dev, reg)[0]  # noqa: E731
        errors = grad_check_sparse(f, W, grad, seed=231)  # the elements fixed, to never flake
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 10 and all(line.startswith("numerical: ") for line in lines)
        # Centred differences of a loss summed over pixel values in the hundreds leave ~1e-7.
        # The SVM's hinge has kinks (the notebook's inline question): a step of h = 1e-5 in W
        # moves scores by ~1e-3, enough to carry some of the 500 margins across 0, and those
        # elements disagree by up to ~1e-3; the softmax is smooth and has none.
        if naive is svm_loss_naive:
            assert np.median(errors) < 1e-6 and np.all(errors < 1e-2), errors
        else:
            assert np.all(errors < 1e-6), errors

    loss_naive, grad_naive = naive(W, X_dev, y_dev, 0.000005)
    loss_vectorized, grad_vectorized = vectorized(W, X_dev, y_dev, 0.000005)
    # The notebook prints both differences with '%f': they must print as 0.000000.
    assert f"{loss_naive - loss_vectorized:f}" in ("0.000000", "-0.000000")
    assert f"{np.linalg.norm(grad_naive - grad_vectorized, ord='fro'):f}" == "0.000000"


@pytest.mark.parametrize("classifier", [LinearSVM, Softmax])
def test_linear_classifier_train_cell(classifier, capsys, tmp_path):
    W, X_dev, y_dev = dev_set()
    model = classifier()
    loss_hist = model.train(X_dev, y_dev, learning_rate=1e-7, reg=2.5e4, num_iters=300,
                            verbose=True)
    assert len(loss_hist) == 300 and loss_hist[-1] < loss_hist[0]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "iteration 0 / 300", "iteration 100 / 300", "iteration 200 / 300"]
    y_pred = model.predict(X_dev)
    assert y_pred.shape == (500,) and model.W.shape == (3073, 10)
    model.save(tmp_path / "softmax.npy")
    assert np.array_equal(classifier().load(tmp_path / "softmax.npy").predict(X_dev), y_pred)
