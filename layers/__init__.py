"""backprop-layers: every layer as a pair of plain numpy functions, the CS231n way.

    out, cache = <name>_forward(x, *params, [param_dict])
    dx, *dparams = <name>_backward(dout, cache)    # one gradient per array input, same order
    loss, dx = <name>_loss(x, y)                    # losses return the gradient directly

Each family lives in its own module; this package re-exports every public pair.
"""
