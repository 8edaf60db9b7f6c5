"""Gates: the nodes of lecture 4's computational graphs, on numbers and arrays alike.

    out, cache = add_forward(x, y)        dx, dy = add_backward(dout, cache)
    out, cache = mul_forward(x, y)        dx, dy = mul_backward(dout, cache)
    out, cache = max_forward(x, y)        dx, dy = max_backward(dout, cache)

Shapes: x and y are Python numbers, 0-d or n-d arrays whose shapes broadcast together; out and
dout have the broadcast shape S. Backward sums the gradient back down to each input's shape
(undoing the broadcast), so dx has x's shape and dtype, dy has y's; a Python number counts as
0-d float64. A 0-d input (a Python number, a numpy scalar or a 0-d array) gets a gradient of
shape () whose type varies: add_backward returns a 0-d ndarray when x and y are both 0-d, and a
numpy scalar (np.float64 for a Python number) when the other input is an n-d array;
mul_backward and max_backward always return a numpy scalar. ``float(dx)`` reads either.

How each gate shapes the backward flow ("patterns in backward flow"):

    add distributes:  dx = dout,            dy = dout
    max routes:       dx = dout if x > y,   dy = dout if y > x   (a tie gives half to each)
    mul switches:     dx = dout * y,        dy = dout * x

Dtypes follow numpy promotion, with Python numbers "weak" as in numpy 2: a float32 array plus
2.0 stays float32; two Python numbers, or an integer array, give float64.
"""

import numbers

import numpy as np

from ._checks import Cache, as_float_array, check_cache, shape_str


def _operand(func, name, v):
    """Validate one gate input; return it ready for a ufunc.

    Python numbers stay Python floats, which numpy treats as weak: they do not upcast a
    float32 array. Everything else becomes a float ndarray (integers to float64).
    """
    if isinstance(v, numbers.Real) and not isinstance(v, np.generic):
        return float(v)
    return as_float_array(func, name, v)


def _operands(func, x, y):
    """Validate both gate inputs, which must broadcast together."""
    x, y = _operand(func, "x", x), _operand(func, "y", y)
    try:
        np.broadcast_shapes(np.shape(x), np.shape(y))
    except ValueError:
        raise ValueError(
            f"{func}: x and y must have shapes that broadcast together, got x of shape "
            f"{shape_str(np.shape(x))} and y of shape {shape_str(np.shape(y))}") from None
    return x, y


def _upstream(func, dout, x_shape, y_shape):
    """Validate dout: a float array (or number) of out's shape, the broadcast of x and y."""
    dout = as_float_array(func, "dout", dout)
    out_shape = np.broadcast_shapes(x_shape, y_shape)
    if dout.shape != out_shape:
        raise ValueError(
            f"{func}: dout must have the shape of out, the broadcast of x {shape_str(x_shape)} "
            f"and y {shape_str(y_shape)}: {shape_str(out_shape)}, got {shape_str(dout.shape)}")
    return dout


def _sum_to(grad, shape, dtype, copy=False):
    """Undo broadcasting: sum ``grad`` (of out's shape) down to an input's shape and dtype.

    An input broadcast along an axis fed every position on it, so its gradient is the sum
    along that axis: over the leading axes it lacked, and over its axes of size 1. ``copy``
    asks for a new array even where nothing is summed (``grad`` is then ``dout`` itself).
    """
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if axes:
        return grad.sum(axis=axes).reshape(shape).astype(dtype, copy=False)
    return grad.astype(dtype, copy=copy)


def add_forward(x, y):
    """Add gate: ``out = x + y``, broadcasting.

    Parameters
    ----------
    x, y : float, ndarray
        Python numbers or arrays of shapes that broadcast together.

    Returns
    -------
    out : ndarray or numpy scalar of shape S
        The sum, S the broadcast of the input shapes.
    cache : Cache
        The inputs' shapes and dtypes: the values themselves are not needed.
    """
    x, y = _operands("add_forward", x, y)
    out = np.add(x, y)  # S
    return out, Cache("add", np.shape(x), np.result_type(x), np.shape(y), np.result_type(y))


def add_backward(dout, cache):
    """Backward of the add gate: it distributes ``dout`` unchanged to both inputs.

    Parameters
    ----------
    dout : ndarray of shape S
        Upstream gradient.
    cache : Cache
        From :func:`add_forward`.

    Returns
    -------
    dx, dy : ndarray or numpy scalar
        ``dout`` summed down to each input's shape, in its dtype (new arrays, never ``dout``).
    """
    x_shape, x_dtype, y_shape, y_dtype = check_cache("add_backward", cache, "add", 4)
    dout = _upstream("add_backward", dout, x_shape, y_shape)
    return (_sum_to(dout, x_shape, x_dtype, copy=True),
            _sum_to(dout, y_shape, y_dtype, copy=True))


def mul_forward(x, y):
    """Multiply gate: ``out = x * y``, elementwise and broadcasting.

    Parameters
    ----------
    x, y : float, ndarray
        Python numbers or arrays of shapes that broadcast together.

    Returns
    -------
    out : ndarray or numpy scalar of shape S
        The product.
    cache : Cache
        ``(x, y)``: each input's gradient is the other input times ``dout``.
    """
    x, y = _operands("mul_forward", x, y)
    out = np.multiply(x, y)  # S
    return out, Cache("mul", x, y)


def mul_backward(dout, cache):
    """Backward of the multiply gate: it switches the inputs, ``dx = dout * y``, ``dy = dout * x``.

    Parameters
    ----------
    dout : ndarray of shape S
        Upstream gradient.
    cache : Cache
        From :func:`mul_forward`.

    Returns
    -------
    dx, dy : ndarray or numpy scalar
        Gradients of the shape and dtype of x and of y.
    """
    x, y = check_cache("mul_backward", cache, "mul", 2)
    dout = _upstream("mul_backward", dout, np.shape(x), np.shape(y))
    dx = _sum_to(dout * y, np.shape(x), np.result_type(x))
    dy = _sum_to(dout * x, np.shape(y), np.result_type(y))
    return dx, dy


def max_forward(x, y):
    """Max gate: ``out = max(x, y)``, elementwise and broadcasting.

    Parameters
    ----------
    x, y : float, ndarray
        Python numbers or arrays of shapes that broadcast together (NaN-free: a NaN
        propagates to ``out`` but its gradient goes to ``y``).

    Returns
    -------
    out : ndarray or numpy scalar of shape S
        The elementwise maximum.
    cache : Cache
        ``(x, y)``: backward compares them again to route the gradient.
    """
    x, y = _operands("max_forward", x, y)
    out = np.maximum(x, y)  # S
    return out, Cache("max", x, y)


def max_backward(dout, cache):
    """Backward of the max gate: it routes ``dout`` to the larger input.

    The smaller input gets zero. Where ``x == y`` the max is not differentiable; the gradient
    is split equally, half to each input, as ``torch.maximum`` does, so that ``dx + dy``
    always equals ``dout``.

    Parameters
    ----------
    dout : ndarray of shape S
        Upstream gradient.
    cache : Cache
        From :func:`max_forward`.

    Returns
    -------
    dx, dy : ndarray or numpy scalar
        Gradients of the shape and dtype of x and of y.
    """
    x, y = check_cache("max_backward", cache, "max", 2)
    dout = _upstream("max_backward", dout, np.shape(x), np.shape(y))
    dx = dout * (x > y) + dout * (x == y) / 2  # S: dout where x is larger, half on a tie
    dy = dout - dx  # S: exactly dout, 0 or dout / 2
    return (_sum_to(dx, np.shape(x), np.result_type(x)),
            _sum_to(dy, np.shape(y), np.result_type(y)))
