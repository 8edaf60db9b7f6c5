"""The benchmark cases: each builds its inputs, checks both sides agree, times them, makes a Row.

Shape letters as in the library: N batch, D input features, H hidden units, C classes (or
channels for images), (H, W) spatial, F filters, HH WW filter size. Every case runs at the
sizes of ``FULL_SIZES``; ``QUICK_SIZES`` (``--quick``) gives the naive loops a tenth of the
batch, and ``TINY_SIZES`` shrinks them all for the smoke test (its figures mean nothing). Before timing, each case compares its two sides' outputs and gradients, so a fast
wrong answer shows as WRONG instead of as a speedup.

GEMM peak share: the FLOPs of the matrix products a case needs, divided by its median time,
as a fraction of numpy's best large matmul in the same dtype, measured in the same run. For
the nets that is forward, the weight gradients and the gradient of the hidden layer (not the
gradient of the input, which training never needs); for conv, the three products of the
im2col form (out, dx, dw).
"""

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from benchmarks import timing
from benchmarks.memory import measure_in_subprocess
from benchmarks.report import Row, Target

FULL_SIZES = {
    "net": (200, 3 * 32 * 32, 100, 10),  # N, D, H, C
    "solver_rows": 10_000,  # training set the Solver samples its batches from
    "conv_cs231n": ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1),  # x, w, stride, pad
    "conv_64": ((32, 64, 32, 32), (64, 64, 3, 3), 1, 1),
    "pool": (100, 16, 32, 32),
    "pool_cs231n": (100, 3, 32, 32),
    "batchnorm": (100, 500),  # N, D as in CS231n's notebook
    "gradcheck_affine": (200, 3 * 32 * 32, 100),  # N, D, M
    "memory_rows": 49_000,
    "gemm": 2048,
    "lstm": (64, 50, 128, 256),  # N, T, D, H
    "attention": (32, 128, 128, 4),  # N, T, D, heads
}
# --quick: the naive loops took 28 of its 45 s of CPU time at the full batch. At a tenth of
# it they still show whether the fast pair is 100 times faster (not by how much the full run
# would say: the fast kernels' efficiency changes with the batch). A smaller GEMM for the peak.
QUICK_SIZES = {**FULL_SIZES, "conv_cs231n": ((10, 3, 31, 31), (25, 3, 3, 3), 2, 1),
               "pool_cs231n": (10, 3, 32, 32), "gemm": 1024}
TINY_SIZES = {
    "net": (8, 48, 16, 10),
    "solver_rows": 64,
    "conv_cs231n": ((2, 3, 7, 7), (4, 3, 3, 3), 2, 1),
    "conv_64": ((2, 8, 8, 8), (8, 8, 3, 3), 1, 1),
    "pool": (2, 4, 8, 8),
    "pool_cs231n": (2, 3, 8, 8),
    "batchnorm": (8, 16),
    "gradcheck_affine": (8, 48, 16),
    "memory_rows": 400,
    "gemm": 128,
    "lstm": (4, 5, 8, 16),
    "attention": (2, 8, 8, 2),
}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
TOLERANCE = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


@dataclass
class Context:
    """What every case needs: sizes, timing settings, torch (or None) and the GEMM peaks."""

    sizes: dict
    repeats: int
    warmup: int
    min_time: float
    slow_repeats: int
    clock: str = "wall"
    settle: float = 0.0
    torch: object = None
    peaks: dict = None  # np.dtype -> FLOP/s

    def compare(self, ours, ref=None, *, speedup=False, ref_is_slow=False):
        """Interleaved timing with this run's settings (see :func:`timing.compare`)."""
        return timing.compare(
            ours, ref, repeats=self.slow_repeats if ref_is_slow else self.repeats,
            warmup=self.warmup, min_time=self.min_time, speedup=speedup,
            ref_is_slow=ref_is_slow, clock=self.clock, settle=self.settle)

    def torch_dtype(self, dtype):
        return getattr(self.torch, np.dtype(dtype).name)

    def row(self, case, reference, measured, *, target=None, flops=0, dtype=None,
            disagreement=None, torch_case=True):
        """Turn a Timing into a Row: milliseconds, ratios, GEMM share and verdict."""
        share = ""
        if flops:
            peak = self.peaks[np.dtype(dtype)]
            share = f"{flops / measured.ours_median / peak:.0%}"
            if measured.ref is not None:
                share += f" / {flops / measured.ref_median / peak:.0%}"
        problem = ""
        if disagreement is not None:
            problem = disagreement
        elif measured.ref is None and torch_case:
            problem = "no torch"
        ratios = measured.ratios
        return Row(case, reference, ours_ms=1e3 * measured.ours_median,
                   ref_ms=None if measured.ref is None else 1e3 * measured.ref_median,
                   ratios=None if ratios is None else tuple(ratios), target=target,
                   gemm_share=share, problem=problem)


@dataclass(frozen=True)
class Case:
    """A named benchmark; ``--only`` matches its key or its description."""

    key: str
    description: str
    run: Callable[[Context], Row]


def scaled_error(ours, ref):
    """``max|ours - ref| / max|ref|``: the error relative to the array's own scale."""
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    return float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-30))


def disagreement(pairs, dtype, tolerance=None):
    """None if every (ours, reference) pair agrees to ``tolerance`` (by default the dtype's),
    else the verdict for the table."""
    tolerance = TOLERANCE[np.dtype(dtype)] if tolerance is None else tolerance
    worst = max(scaled_error(ours, ref) for ours, ref in pairs)
    return None if worst <= tolerance else f"**WRONG** (error {worst:.1e} > {tolerance:.0e})"


def random_arrays(shapes, dtype, seed=0):
    """Standard normal arrays of the given shapes in ``dtype``, from one seeded generator."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape, dtype=dtype) for shape in shapes]


def mlp_flops(N, D, H, C):
    """Matmul FLOPs of one 2-layer step: forward, dW1, dW2 and dh (no dX)."""
    return 2 * N * D * H * 2 + 2 * N * H * C * 3


def conv_geometry(x_shape, w_shape, stride, pad):
    """Output height and width, and the matmul FLOPs of out, dx and dw."""
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    return (H_out, W_out), 3 * 2 * N * F * H_out * W_out * C * HH * WW


def torch_mlp(ctx, params, dtype):
    """torch's Linear-ReLU-Linear holding the same weights as our TwoLayerNet."""
    nn = ctx.torch.nn
    W1, b1, W2, b2 = (params[name] for name in ("W1", "b1", "W2", "b2"))
    net = nn.Sequential(nn.Linear(*W1.shape), nn.ReLU(), nn.Linear(*W2.shape))
    net = net.to(ctx.torch_dtype(dtype))
    with ctx.torch.no_grad():
        for layer, w, b in ((net[0], W1, b1), (net[2], W2, b2)):
            layer.weight.copy_(ctx.torch.from_numpy(np.ascontiguousarray(w.T)))
            layer.bias.copy_(ctx.torch.from_numpy(b))
    return net


def torch_params(net):
    """The torch net's parameters under our TwoLayerNet's names."""
    return {"W1": net[0].weight, "b1": net[0].bias, "W2": net[2].weight, "b2": net[2].bias}


def as_ours(name, tensor):
    """A tensor of torch's parameter ``name`` in our layout: torch's weights are (out, in)."""
    return (tensor.T if name.startswith("W") else tensor).numpy()


def mlp_gradients(net):
    """The torch net's gradients named and laid out like our TwoLayerNet's."""
    return {name: as_ours(name, param.grad) for name, param in torch_params(net).items()}


def adam_states(net, optimizer):
    """torch's Adam state as our adam's config holds it, per parameter: m, v and t."""
    states = {}
    for name, param in torch_params(net).items():
        state = optimizer.state[param]
        states[name] = {"m": as_ours(name, state["exp_avg"]),
                        "v": as_ours(name, state["exp_avg_sq"]), "t": float(state["step"])}
    return states


def twolayernet_step(ctx, dtype):
    """``model.loss(X, y)`` (forward and backward) against torch's forward + ``backward()``."""
    from solver.models import TwoLayerNet

    N, D, H, C = ctx.sizes["net"]
    X, = random_arrays([(N, D)], dtype)  # (N, D)
    y = np.random.default_rng(1).integers(C, size=N)  # (N,)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, dtype=dtype, seed=0)
    ours = lambda: model.loss(X, y)  # noqa: E731
    ref = wrong = None
    if ctx.torch is not None:
        cross_entropy = ctx.torch.nn.functional.cross_entropy
        net = torch_mlp(ctx, model.params, dtype)
        X_t, y_t = ctx.torch.from_numpy(X), ctx.torch.from_numpy(y)

        def ref():
            net.zero_grad(set_to_none=True)
            loss = cross_entropy(net(X_t), y_t)
            loss.backward()
            return loss

        loss, grads = ours()
        ref_loss, ref_grads = ref().item(), mlp_gradients(net)
        wrong = disagreement([(loss, ref_loss)] + [(grads[k], ref_grads[k]) for k in ref_grads],
                             dtype)
    return ctx.row(f"TwoLayerNet {D}-{H}-{C} loss + grads, N={N}, {np.dtype(dtype).name}",
                   "torch Linear-ReLU-Linear, cross_entropy, backward()",
                   ctx.compare(ours, ref), target=Target(1.0), flops=mlp_flops(N, D, H, C),
                   dtype=dtype, disagreement=wrong)


def solver_adam_iteration(ctx):
    """One Solver iteration with Adam against the same step in torch.

    Ours is the body of ``Solver.train``'s loop: gather the next batch of a permutation, then
    ``Solver._step`` (loss, gradients and the Adam update of every parameter). Torch gathers
    the same batches and runs zero_grad, forward, backward and ``torch.optim.Adam.step``.
    """
    from solver.models import TwoLayerNet
    from solver.solver import Solver

    dtype = np.float32
    N, D, H, C = ctx.sizes["net"]
    rows = ctx.sizes["solver_rows"]
    X, = random_arrays([(rows, D)], dtype)  # (rows, D)
    y = np.random.default_rng(1).integers(C, size=rows)  # (rows,)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, dtype=dtype, seed=0)
    data = {"X_train": X, "y_train": y, "X_val": X[:N], "y_val": y[:N]}
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=N, num_epochs=1, seed=0)
    order = np.random.default_rng(2).permutation(rows)  # (rows,)
    batch_starts = itertools.cycle(range(0, rows - N + 1, N))

    def ours():
        start = next(batch_starts)
        idx = order[start:start + N]  # (N,)
        return solver._step(X[idx], y[idx])

    ref = wrong = None
    if ctx.torch is not None:
        torch = ctx.torch
        cross_entropy = torch.nn.functional.cross_entropy
        net = torch_mlp(ctx, model.params, dtype)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        X_t, y_t, order_t = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(order)
        ref_starts = itertools.cycle(range(0, rows - N + 1, N))

        def ref():
            start = next(ref_starts)
            idx = order_t[start:start + N]  # (N,)
            optimizer.zero_grad(set_to_none=True)
            loss = cross_entropy(net(X_t[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
            return loss

        # Same batches and updates: the losses of the first steps agree to round-off (~1e-7;
        # a learning rate 2% off shows as 1e-5 by the fifth). The weights after one step
        # are no test: Adam's first step is lr * g / (|g| + eps), which round-off in a
        # gradient of order eps moves by a good fraction of lr.
        # The losses alone let an Adam with beta2 = 0.99 pass (1.6e-6 off), so its state after
        # those steps, m, v and t of every parameter, must agree too: to 2e-3, as the first
        # step's sensitivity leaves them ~2e-4 apart, where a beta 0.01 off moves m or v by
        # 10% or more.
        losses = [(ours(), ref().item()) for _ in range(5)]
        wrong = disagreement(losses, dtype, tolerance=2e-6)
        states = adam_states(net, optimizer)
        wrong = wrong or disagreement(
            [(solver.optim_configs[name][key], states[name][key])
             for name in states for key in ("m", "v", "t")], dtype, tolerance=2e-3)
    return ctx.row(f"Solver iteration (batch + Solver._step), Adam, TwoLayerNet {D}-{H}-{C}, "
                   f"batch {N} of {rows}, float32",
                   "torch: batch, zero_grad, forward, backward, Adam step",
                   ctx.compare(ours, ref), target=Target(1.0), flops=mlp_flops(N, D, H, C),
                   dtype=dtype, disagreement=wrong)


def conv_fast_vs_torch(ctx, size, dtype, bound):
    """``conv_forward_fast`` + ``conv_backward_fast`` against ``F.conv2d`` + ``backward``."""
    from layers import conv_backward_fast, conv_forward_fast

    x_shape, w_shape, stride, pad = ctx.sizes[size]
    x, w, b = random_arrays([x_shape, w_shape, w_shape[:1]], dtype)  # x, w (F, C, HH, WW), b (F,)
    conv_param = {"stride": stride, "pad": pad}
    (H_out, W_out), flops = conv_geometry(x_shape, w_shape, stride, pad)
    dout, = random_arrays([(x_shape[0], w_shape[0], H_out, W_out)], dtype, seed=1)

    def ours():
        out, cache = conv_forward_fast(x, w, b, conv_param)
        return (out, *conv_backward_fast(dout, cache))

    ref = wrong = None
    if ctx.torch is not None:
        conv2d = ctx.torch.nn.functional.conv2d
        x_t, w_t, b_t = (ctx.torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        dout_t = ctx.torch.from_numpy(dout)

        def ref():
            x_t.grad = w_t.grad = b_t.grad = None
            out = conv2d(x_t, w_t, b_t, stride=stride, padding=pad)
            out.backward(dout_t)
            return out

        out_t = ref().detach().numpy()
        wrong = disagreement(zip(ours(), (out_t, x_t.grad, w_t.grad, b_t.grad), strict=True),
                             dtype)
    return ctx.row(f"conv fast fwd+bwd, x {x_shape}, w {w_shape}, stride {stride}, pad {pad}, "
                   f"{np.dtype(dtype).name}", "torch F.conv2d + backward",
                   ctx.compare(ours, ref), target=Target(bound), flops=flops, dtype=dtype,
                   disagreement=wrong)


def max_pool_fast_vs_torch(ctx):
    """``max_pool_forward_fast`` + backward against ``F.max_pool2d`` + ``backward``."""
    from layers import max_pool_backward_fast, max_pool_forward_fast

    dtype = np.float32
    N, C, H, W = ctx.sizes["pool"]
    x, = random_arrays([(N, C, H, W)], dtype)  # (N, C, H, W), no ties
    dout, = random_arrays([(N, C, H // 2, W // 2)], dtype, seed=1)

    def ours():
        out, cache = max_pool_forward_fast(x, POOL_PARAM)
        return out, max_pool_backward_fast(dout, cache)

    ref = wrong = None
    if ctx.torch is not None:
        max_pool2d = ctx.torch.nn.functional.max_pool2d
        x_t, dout_t = ctx.torch.from_numpy(x).requires_grad_(), ctx.torch.from_numpy(dout)

        def ref():
            x_t.grad = None
            out = max_pool2d(x_t, kernel_size=2, stride=2)
            out.backward(dout_t)
            return out

        out_t = ref().detach().numpy()
        wrong = disagreement(zip(ours(), (out_t, x_t.grad), strict=True), dtype)
    return ctx.row(f"max pool fast fwd+bwd, x {(N, C, H, W)}, 2x2 stride 2, float32",
                   "torch F.max_pool2d + backward", ctx.compare(ours, ref), target=Target(1.0),
                   disagreement=wrong)


def conv_naive_vs_fast(ctx):
    """How many times faster the fast conv pair is than the naive loops (issue 4: >= 100x)."""
    from layers import (conv_backward_fast, conv_backward_naive, conv_forward_fast,
                        conv_forward_naive)

    x_shape, w_shape, stride, pad = ctx.sizes["conv_cs231n"]
    x, w, b = random_arrays([x_shape, w_shape, w_shape[:1]], np.float64)
    conv_param = {"stride": stride, "pad": pad}
    (H_out, W_out), _ = conv_geometry(x_shape, w_shape, stride, pad)
    dout, = random_arrays([(x_shape[0], w_shape[0], H_out, W_out)], np.float64, seed=1)

    def pair(forward, backward):
        def run():
            out, cache = forward(x, w, b, conv_param)
            return (out, *backward(dout, cache))
        return run

    fast = pair(conv_forward_fast, conv_backward_fast)
    naive = pair(conv_forward_naive, conv_backward_naive)
    wrong = disagreement(zip(fast(), naive(), strict=True), np.float64)
    return ctx.row(f"conv naive/fast speedup, x {x_shape}, w {w_shape}, stride {stride}, "
                   f"pad {pad}, float64", "conv_forward_naive + conv_backward_naive",
                   ctx.compare(fast, naive, speedup=True, ref_is_slow=True),
                   target=Target(100, at_most=False), disagreement=wrong, torch_case=False)


def pool_naive_vs_fast(ctx):
    """How many times faster the fast max-pool pair is than the naive loops (>= 100x)."""
    from layers import (max_pool_backward_fast, max_pool_backward_naive, max_pool_forward_fast,
                        max_pool_forward_naive)

    N, C, H, W = ctx.sizes["pool_cs231n"]
    x, = random_arrays([(N, C, H, W)], np.float64)
    dout, = random_arrays([(N, C, H // 2, W // 2)], np.float64, seed=1)

    def pair(forward, backward):
        def run():
            out, cache = forward(x, POOL_PARAM)
            return out, backward(dout, cache)
        return run

    fast = pair(max_pool_forward_fast, max_pool_backward_fast)
    naive = pair(max_pool_forward_naive, max_pool_backward_naive)
    wrong = disagreement(zip(fast(), naive(), strict=True), np.float64)
    return ctx.row(f"max pool naive/fast speedup, x {(N, C, H, W)}, 2x2 stride 2, float64",
                   "max_pool_forward_naive + backward_naive",
                   ctx.compare(fast, naive, speedup=True, ref_is_slow=True),
                   target=Target(100, at_most=False), disagreement=wrong, torch_case=False)


def batchnorm_alt_vs_backward(ctx):
    """How many times faster ``batchnorm_backward_alt`` is than ``batchnorm_backward``."""
    from layers import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward

    N, D = ctx.sizes["batchnorm"]
    x, gamma, beta = random_arrays([(N, D), (D,), (D,)], np.float64)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dout, = random_arrays([(N, D)], np.float64, seed=1)
    alt = lambda: batchnorm_backward_alt(dout, cache)  # noqa: E731
    graph = lambda: batchnorm_backward(dout, cache)  # noqa: E731
    wrong = disagreement(zip(alt(), graph(), strict=True), np.float64)
    return ctx.row(f"batchnorm_backward_alt speedup over batchnorm_backward, x {(N, D)}, "
                   "float64", "batchnorm_backward", ctx.compare(alt, graph, speedup=True),
                   disagreement=wrong, torch_case=False)


def gradcheck_fast_cost(ctx):
    """``check_layer(mode='fast')`` on an affine layer, in units of one forward + backward."""
    from gradcheck import check_layer
    from layers import affine_backward, affine_forward

    N, D, M = ctx.sizes["gradcheck_affine"]
    x, w, b = random_arrays([(N, D), (D, M), (M,)], np.float64)
    dout, = random_arrays([(N, M)], np.float64, seed=1)
    check = lambda: check_layer(affine_forward, affine_backward, x, w, b, mode="fast")  # noqa: E731
    step = lambda: affine_backward(dout, affine_forward(x, w, b)[1])  # noqa: E731
    report = check()
    wrong = None if report.ok else f"**WRONG** (check failed, error {report.max_error:.1e})"
    return ctx.row(f"check_layer(mode='fast'), affine x {(N, D)}, w {(D, M)}, float64",
                   "one affine forward + backward", ctx.compare(check, step),
                   target=Target(50), disagreement=wrong, torch_case=False)


def training_memory(ctx):
    """Peak RSS of one epoch of training, as a multiple of the training data (< 1.5x)."""
    rows = ctx.sizes["memory_rows"]
    measured = measure_in_subprocess(rows)
    mib = lambda n: f"{n / 2 ** 20:.0f} MiB"  # noqa: E731
    ratio = measured["peak_bytes"] / measured["data_bytes"]
    return Row(f"memory: peak RSS of 1 epoch ({measured['iterations']} iterations) of "
               f"TwoLayerNet + Adam on {rows}x3072 float32, fresh process",
               f"data {mib(measured['data_bytes'])}; peak {mib(measured['peak_bytes'])} "
               f"(after imports {mib(measured['baseline_bytes'])})",
               ratios=(ratio,), target=Target(1.5, strict=True))


CASES = [
    Case("twolayernet-float32", "TwoLayerNet loss+grads float32 vs torch",
         lambda ctx: twolayernet_step(ctx, np.float32)),
    Case("twolayernet-float64", "TwoLayerNet loss+grads float64 vs torch",
         lambda ctx: twolayernet_step(ctx, np.float64)),
    Case("solver-adam", "Solver iteration with Adam vs torch", solver_adam_iteration),
    Case("conv-fast-cs231n", "conv fast fwd+bwd at CS231n's size vs torch",
         lambda ctx: conv_fast_vs_torch(ctx, "conv_cs231n", np.float64, 1.0)),
    Case("conv-fast-64ch", "conv fast fwd+bwd at 64 channels vs torch",
         lambda ctx: conv_fast_vs_torch(ctx, "conv_64", np.float32, 1.5)),
    Case("maxpool-fast", "max pool fast fwd+bwd vs torch", max_pool_fast_vs_torch),
    Case("batchnorm-alt", "batchnorm backward_alt vs backward", batchnorm_alt_vs_backward),
    Case("conv-naive-vs-fast", "conv naive/fast speedup", conv_naive_vs_fast),
    Case("pool-naive-vs-fast", "max pool naive/fast speedup", pool_naive_vs_fast),
    Case("gradcheck-fast", "check_layer fast mode cost", gradcheck_fast_cost),
    Case("memory", "training memory vs data size", training_memory),
]


def lstm_vs_torch(ctx):
    """``lstm_forward`` + ``lstm_backward`` against ``nn.LSTM`` forward + backward, float32.

    torch's gates are ordered i, f, g, o against the course's i, f, o, g: its weights are
    ours with the last two blocks of H columns swapped (and transposed); its two biases are
    ours and zero.
    """
    from layers import lstm_backward, lstm_forward

    dtype = np.float32
    N, T, D, H = ctx.sizes["lstm"]
    x, h0, Wx, Wh, b, dh = random_arrays(
        [(N, T, D), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,), (N, T, H)], dtype)
    Wx, Wh = Wx / D ** 0.5, Wh / H ** 0.5  # a working scale, gates not all saturated (floats:
    # a numpy float64 scalar would make them float64)

    def ours():
        h, cache = lstm_forward(x, h0, Wx, Wh, b)
        return (h, *lstm_backward(dh, cache))

    ref = wrong = None
    if ctx.torch is not None:
        torch = ctx.torch
        lstm = torch.nn.LSTM(D, H, batch_first=True)

        def torch_order(w):  # (.., 4H) in i, f, o, g -> torch's (4H, ..) in i, f, g, o
            i, f, o, g = np.split(w, 4, axis=-1)
            return torch.from_numpy(np.ascontiguousarray(np.concatenate([i, f, g, o], -1).T))

        with torch.no_grad():
            lstm.weight_ih_l0.copy_(torch_order(Wx))
            lstm.weight_hh_l0.copy_(torch_order(Wh))
            lstm.bias_ih_l0.copy_(torch_order(b))
            lstm.bias_hh_l0.zero_()
        x_t = torch.from_numpy(x).requires_grad_()
        h0_t = torch.from_numpy(h0[None]).requires_grad_()
        c0_t, dh_t = torch.zeros(1, N, H), torch.from_numpy(dh)

        def ref():
            x_t.grad = h0_t.grad = None
            lstm.zero_grad()
            h, _ = lstm(x_t, (h0_t, c0_t))
            h.backward(dh_t)
            return h

        h_t = ref().detach().numpy()
        ours_order = lambda g: np.concatenate(  # noqa: E731  torch's i, f, g, o -> ours
            [g[..., :2 * H], g[..., 3 * H:], g[..., 2 * H:3 * H]], axis=-1)
        theirs = (h_t, x_t.grad.numpy(), h0_t.grad.numpy()[0],
                  ours_order(lstm.weight_ih_l0.grad.numpy().T),
                  ours_order(lstm.weight_hh_l0.grad.numpy().T),
                  ours_order(lstm.bias_ih_l0.grad.numpy()))
        wrong = disagreement(zip(ours(), theirs, strict=True), dtype)
    flops = 2 * N * T * 4 * H * (D + H) * 3  # x Wx and h Wh at each step, two gradients each
    return ctx.row(f"LSTM fwd+bwd, (N, T, D, H) = {(N, T, D, H)}, float32",
                   "torch nn.LSTM + backward", ctx.compare(ours, ref), target=Target(1.5),
                   flops=flops, dtype=dtype, disagreement=wrong)


def attention_vs_torch(ctx):
    """``multihead_attention_forward`` + backward against ``nn.MultiheadAttention`` (no
    biases, ``need_weights=False``: its fused scaled-dot-product path), float32."""
    from layers import multihead_attention_backward, multihead_attention_forward

    dtype = np.float32
    N, T, D, heads = ctx.sizes["attention"]
    x, Wq, Wk, Wv, Wo, dout = random_arrays([(N, T, D)] + [(D, D)] * 4 + [(N, T, D)], dtype)
    weights = [w / D ** 0.5 for w in (Wq, Wk, Wv, Wo)]

    def ours():
        out, cache = multihead_attention_forward(x, *weights, heads)
        return (out, *multihead_attention_backward(dout, cache))

    ref = wrong = None
    if ctx.torch is not None:
        torch = ctx.torch
        attention = torch.nn.MultiheadAttention(D, heads, bias=False, batch_first=True)
        with torch.no_grad():  # torch keeps (out, in) matrices: ours transposed
            attention.in_proj_weight.copy_(torch.from_numpy(
                np.concatenate([w.T for w in weights[:3]])))
            attention.out_proj.weight.copy_(torch.from_numpy(weights[3].T))
        x_t, dout_t = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)

        def ref():
            x_t.grad = None
            attention.zero_grad()
            out, _ = attention(x_t, x_t, x_t, need_weights=False)
            out.backward(dout_t)
            return out

        out_t = ref().detach().numpy()
        in_grads = np.split(attention.in_proj_weight.grad.numpy(), 3)
        theirs = (out_t, x_t.grad.numpy(), *(g.T for g in in_grads),
                  attention.out_proj.weight.grad.numpy().T)
        wrong = disagreement(zip(ours(), theirs, strict=True), dtype)
    # projections: 4 forward, 8 backward products of (N T, D) by (D, D); attention: 2 forward,
    # 4 backward batched products of (T, T) by (T, D / heads) per sequence and head
    flops = 2 * N * T * D * D * 12 + 2 * N * T * T * D * 6
    return ctx.row(f"multi-head self-attention fwd+bwd, (N, T, D, heads) = {(N, T, D, heads)}, "
                   "float32", "torch nn.MultiheadAttention + backward", ctx.compare(ours, ref),
                   target=Target(1.5), flops=flops, dtype=dtype, disagreement=wrong)


CASES += [
    Case("lstm", "LSTM fwd+bwd vs torch nn.LSTM", lstm_vs_torch),
    Case("attention", "multi-head self-attention fwd+bwd vs torch", attention_vs_torch),
]
