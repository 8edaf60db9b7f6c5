"""Attention: numerical gradients on several shapes and masks, the layer contract, bad
input refused by name, and agreement with torch's F.scaled_dot_product_attention and
nn.MultiheadAttention (skipped without torch)."""

import numpy as np
import pytest

from gradcheck import check_layer
from layers import (
    attention_backward, attention_forward, causal_mask, multihead_attention_backward,
    multihead_attention_forward, multihead_cross_attention_backward,
    multihead_cross_attention_forward, sinusoidal_positional_encoding,
    transformer_block_backward, transformer_block_forward)
from tests.layers.test_contract import assert_unchanged, snapshot
from tests.layers.test_recurrent import assert_refused, case_ids


def _qkv(rng, batch, T, S, d, dv):
    return (rng.standard_normal(batch + (T, d)), rng.standard_normal(batch + (S, d)),
            rng.standard_normal(batch + (S, dv)))


@pytest.mark.parametrize("batch, T, S, d, dv", [
    ((), 1, 1, 1, 1), ((2,), 3, 5, 4, 6), ((2, 3), 4, 4, 2, 3)])
@pytest.mark.parametrize("mask", [None, "causal", "array"])
def test_attention_gradients(rng, batch, T, S, d, dv, mask):
    if mask == "causal" and T != S:
        S = T
    if mask == "array":
        mask = rng.random((T, S)) > 0.4
        mask[:, 0] = True  # every query attends to something
    report = check_layer(attention_forward, attention_backward, *_qkv(rng, batch, T, S, d, dv),
                         mask=mask)
    assert report.ok, report


def test_causal_attention_ignores_the_future(rng):
    q, k, v = _qkv(rng, (2,), 5, 5, 3, 4)
    out, _ = attention_forward(q, k, v, mask="causal")
    k2, v2 = k.copy(), v.copy()
    k2[:, 3:] += 10  # change positions 3 and 4
    v2[:, 3:] -= 7
    out2, _ = attention_forward(q, k2, v2, mask=causal_mask(5))
    np.testing.assert_array_equal(out[:, :3], out2[:, :3])
    assert not np.allclose(out[:, 3:], out2[:, 3:])


def test_attention_weights_are_a_softmax_over_the_keys(rng):
    q, k, v = _qkv(rng, (2,), 3, 4, 5, 2)
    _, cache = attention_forward(q, k, v)
    weights = cache[3]
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(5)
    expected = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-14)


@pytest.mark.parametrize("N, T, D, heads", [(1, 1, 1, 1), (2, 3, 4, 2), (2, 5, 6, 3)])
@pytest.mark.parametrize("mask", [None, "causal"])
def test_multihead_self_attention_gradients(rng, N, T, D, heads, mask):
    x = rng.standard_normal((N, T, D))
    weights = [rng.standard_normal((D, D)) * 0.5 for _ in range(4)]
    report = check_layer(multihead_attention_forward, multihead_attention_backward, x, *weights,
                         heads, mask=mask)
    assert report.ok, report


@pytest.mark.parametrize("N, T, S, D, Dc, heads", [(1, 1, 1, 2, 1, 2), (2, 3, 5, 4, 6, 2)])
def test_multihead_cross_attention_gradients(rng, N, T, S, D, Dc, heads):
    x, context = rng.standard_normal((N, T, D)), rng.standard_normal((N, S, Dc))
    weights = [rng.standard_normal(shape) * 0.5 for shape in [(D, D), (Dc, D), (Dc, D), (D, D)]]
    report = check_layer(multihead_cross_attention_forward, multihead_cross_attention_backward,
                         x, context, *weights, heads)
    assert report.ok, report


def test_self_attention_is_cross_attention_with_itself(rng):
    x = rng.standard_normal((2, 4, 6))
    weights = [rng.standard_normal((6, 6)) for _ in range(4)]
    out, cache = multihead_attention_forward(x, *weights, 3)
    cross, cross_cache = multihead_cross_attention_forward(x, x, *weights, 3)
    np.testing.assert_array_equal(out, cross)
    dout = rng.standard_normal(out.shape)
    dx, *dweights = multihead_attention_backward(dout, cache)
    dq_path, dkv_path, *cross_dweights = multihead_cross_attention_backward(dout, cross_cache)
    np.testing.assert_allclose(dx, dq_path + dkv_path, rtol=1e-14)
    for a, b in zip(dweights, cross_dweights):
        np.testing.assert_array_equal(a, b)


def _block_params(rng, D, F, dtype=np.float64):
    params = [1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D)]
    params += [rng.standard_normal((D, D)) * 0.5 for _ in range(4)]
    params += [1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D)]
    params += [rng.standard_normal((D, F)) * 0.5, rng.standard_normal(F) * 0.1,
               rng.standard_normal((F, D)) * 0.5, rng.standard_normal(D) * 0.1]
    return [p.astype(dtype) for p in params]


@pytest.mark.parametrize("N, T, D, F, heads", [(1, 2, 2, 3, 1), (2, 4, 6, 5, 3)])
def test_transformer_block_gradients(rng, N, T, D, F, heads):
    x = rng.standard_normal((N, T, D))
    params = _block_params(rng, D, F)
    report = check_layer(transformer_block_forward, transformer_block_backward, x, *params,
                         heads, mask="causal")
    assert report.ok, report


def test_positional_encoding_values():
    pe = sinusoidal_positional_encoding(50, 7)
    assert pe.shape == (50, 7)
    t, j = 13, 2
    assert pe[t, 2 * j] == pytest.approx(np.sin(t / 10000 ** (2 * j / 7)), rel=1e-15)
    assert pe[t, 2 * j + 1] == pytest.approx(np.cos(t / 10000 ** (2 * j / 7)), rel=1e-15)
    np.testing.assert_array_equal(pe[0, 0::2], 0)
    np.testing.assert_array_equal(pe[0, 1::2], 1)
    assert sinusoidal_positional_encoding(3, 4, np.float32).dtype == np.float32


# ---- the contract -----------------------------------------------------------------------------


def _pairs(rng, dtype):
    cast = lambda arrays: [a.astype(dtype) for a in arrays]  # noqa: E731
    x = rng.standard_normal((2, 3, 4))
    return {
        "attention": (attention_forward, attention_backward, cast(_qkv(rng, (2,), 3, 5, 4, 6)),
                      {"mask": None}),
        "multihead": (multihead_attention_forward, multihead_attention_backward,
                      cast([x] + [rng.standard_normal((4, 4)) for _ in range(4)]),
                      {"num_heads": 2, "mask": "causal"}),
        "cross": (multihead_cross_attention_forward, multihead_cross_attention_backward,
                  cast([x, rng.standard_normal((2, 5, 3)), rng.standard_normal((4, 4)),
                        rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                        rng.standard_normal((4, 4))]), {"num_heads": 2}),
        "block": (transformer_block_forward, transformer_block_backward,
                  cast([x] + _block_params(rng, 4, 5)), {"num_heads": 2}),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["attention", "multihead", "cross", "block"])
def test_dtype_is_kept_and_nothing_is_modified(rng, name, dtype):
    forward, backward, inputs, kwargs = _pairs(rng, dtype)[name]
    copies = [x.copy() for x in inputs]
    out, cache = forward(*inputs, **kwargs)
    assert out.dtype == dtype
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy, cache_copy = dout.copy(), snapshot(cache)
    grads = backward(dout, cache)
    assert len(grads) == len(inputs)
    for grad, x in zip(grads, inputs):
        assert grad.dtype == dtype and grad.shape == x.shape
    for array, copy in zip(inputs + [dout], copies + [dout_copy]):
        np.testing.assert_array_equal(array, copy, strict=True)
    assert_unchanged(cache, cache_copy)


# ---- bad input, refused by name ---------------------------------------------------------------

ONES = np.ones
BAD = [
    (lambda: attention_forward(ONES((2, 3, 4)), ONES((2, 5, 3)), ONES((2, 5, 6))),
     ValueError, "attention_forward: k must have shape (*B, S, d) = (2, ?, 4)"),
    (lambda: attention_forward(ONES((2, 3, 4)), ONES((2, 5, 4)), ONES((2, 4, 6))),
     ValueError, "attention_forward: v must have shape (*B, S, dv) = (2, 5, ?)"),
    (lambda: attention_forward(ONES((3, 4)), ONES((5, 4)), ONES((5, 6)), mask=ONES((3, 5))),
     TypeError, "attention_forward: mask must be a boolean array"),
    (lambda: attention_forward(ONES((3, 4)), ONES((5, 4)), ONES((5, 6)), mask="future"),
     ValueError, "attention_forward: mask must be None, 'causal' or a boolean array"),
    (lambda: attention_forward(ONES((3, 4)), ONES((5, 4)), ONES((5, 6)),
                               mask=np.ones((3, 4), bool)),
     ValueError, "attention_forward: mask must broadcast to (..., T, S) = (..., 3, 5)"),
    (lambda: attention_forward(ONES((3, 4)), ONES((5, 4)), ONES((5, 6)),
                               mask=np.arange(3)[:, None] < np.full((3, 5), 2)),
     ValueError, "attention_forward: the mask lets query (2,) attend to no key"),
    (lambda: attention_forward(ONES((2, 3, 4)), ONES((2, 5, 4)), ONES((2, 5, 6)),
                               mask=np.ones((3, 3, 5), bool)),
     ValueError, "attention_forward: mask of shape (3, 3, 5) does not broadcast to the "
                 "scores' shape (2, 3, 5)"),
    (lambda: multihead_attention_forward(ONES((2, 3, 4)), *[ONES((4, 4))] * 4, 3),
     ValueError, "multihead_attention_forward: num_heads must be a positive integer that "
                 "divides D = 4, got 3"),
    (lambda: multihead_attention_forward(ONES((2, 3, 4)), ONES((4, 4)), ONES((4, 5)),
                                         ONES((4, 4)), ONES((4, 4)), 2),
     ValueError, "multihead_attention_forward: Wk must have shape (Dc, D) = (4, 4)"),
    (lambda: multihead_cross_attention_forward(ONES((2, 3, 4)), ONES((3, 5, 4)),
                                               *[ONES((4, 4))] * 4, 2),
     ValueError, "multihead_cross_attention_forward: context must have shape (N, S, Dc) = "
                 "(2, ?, ?) for x with N = 2"),
    (lambda: multihead_attention_backward(ONES((2, 3, 4)),
                                          attention_forward(ONES((3, 4)), ONES((3, 4)),
                                                            ONES((3, 4)))[1]),
     TypeError, "multihead_attention_backward: got the cache of attention_forward"),
    (lambda: transformer_block_forward(ONES((2, 3, 4)), *_block_params(
        np.random.default_rng(0), 5, 6), 1),
     ValueError, "transformer_block_forward: W2 must have shape (F, D) = (?, 4)"),
    (lambda: sinusoidal_positional_encoding(0, 4),
     ValueError, "sinusoidal_positional_encoding: T must be a positive integer, got 0"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=case_ids(BAD))
def test_bad_input_is_refused_by_name(call, error, message):
    assert_refused(call, error, message)


def test_a_bad_inner_argument_names_the_block(rng):
    params = _block_params(rng, 4, 5)
    params[0] = ONES(3)  # ln1_gamma of the wrong size
    with pytest.raises(ValueError, match="transformer_block_forward: layernorm_forward: gamma"):
        transformer_block_forward(ONES((2, 3, 4)), *params, 2)


# ---- PyTorch ----------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("mask", [None, "causal", "array"])
def test_attention_agrees_with_torch_sdpa(rng, mask):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    q, k, v = _qkv(rng, (2, 3), 5, 5, 4, 6)
    if mask == "array":
        mask = rng.random((5, 5)) > 0.5
        mask[:, 2] = True
    out, cache = attention_forward(q, k, v, mask=mask)
    dout = rng.standard_normal(out.shape)
    grads = attention_backward(dout, cache)
    tensors = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    torch_mask = None if not isinstance(mask, np.ndarray) else torch.from_numpy(mask)
    torch_out = F.scaled_dot_product_attention(*tensors, attn_mask=torch_mask,
                                               is_causal=isinstance(mask, str))
    torch_out.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, torch_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    for grad, tensor in zip(grads, tensors):
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.torch
@pytest.mark.parametrize("cross", [False, True])
def test_multihead_attention_agrees_with_torch(rng, cross):
    torch = pytest.importorskip("torch")
    N, T, S, D, heads = 2, 4, 6 if cross else 4, 6, 3
    Dc = 5 if cross else D
    x, context = rng.standard_normal((N, T, D)), rng.standard_normal((N, S, Dc))
    Wq, Wk, Wv, Wo = (rng.standard_normal(shape) * 0.5
                      for shape in [(D, D), (Dc, D), (Dc, D), (D, D)])
    if cross:
        out, cache = multihead_cross_attention_forward(x, context, Wq, Wk, Wv, Wo, heads)
    else:
        out, cache = multihead_attention_forward(x, Wq, Wk, Wv, Wo, heads, mask="causal")
    dout = rng.standard_normal(out.shape)
    grads = (multihead_cross_attention_backward if cross else multihead_attention_backward)(
        dout, cache)

    module = torch.nn.MultiheadAttention(D, heads, bias=False, batch_first=True,
                                         kdim=Dc, vdim=Dc).double()
    with torch.no_grad():  # torch stores (out, in) weights: ours transposed
        if cross:
            module.q_proj_weight.copy_(torch.from_numpy(Wq.T))
            module.k_proj_weight.copy_(torch.from_numpy(Wk.T))
            module.v_proj_weight.copy_(torch.from_numpy(Wv.T))
        else:
            module.in_proj_weight.copy_(torch.from_numpy(np.concatenate([Wq.T, Wk.T, Wv.T])))
        module.out_proj.weight.copy_(torch.from_numpy(Wo.T))
    xt = torch.tensor(x, requires_grad=True)
    ct = torch.tensor(context, requires_grad=True) if cross else xt
    # nn.MultiheadAttention's boolean mask is the opposite of ours: True there means blocked
    blocked = None if cross else torch.from_numpy(~causal_mask(T))
    torch_out, _ = module(xt, ct, ct, attn_mask=blocked, need_weights=False)
    torch_out.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, torch_out.detach().numpy(), rtol=1e-11, atol=1e-13)
    if cross:
        dx, dcontext, dWq, dWk, dWv, dWo = grads
        np.testing.assert_allclose(dcontext, ct.grad.numpy(), rtol=1e-10, atol=1e-12)
        torch_dW = [module.q_proj_weight.grad.numpy().T, module.k_proj_weight.grad.numpy().T,
                    module.v_proj_weight.grad.numpy().T]
    else:
        dx, dWq, dWk, dWv, dWo = grads
        torch_dW = [g.T for g in np.split(module.in_proj_weight.grad.numpy(), 3)]
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip([dWq, dWk, dWv, dWo],
                            torch_dW + [module.out_proj.weight.grad.numpy().T]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
