"""Pictures of a training run: loss and accuracy curves, first-layer weight templates and conv
filters, and the decision regions of a 2-d classifier; and lecture 4's computational graphs,
with the values and gradients on their edges.

Shape letters: N examples, D input features, H hidden units (templates), C channels (1 grey or
3 colour), (h, w) an image's height and width, K classes, M grid points.

Every function builds a :class:`matplotlib.figure.Figure` directly, without pyplot: no window,
no global list of open figures to close, the same under any backend (Agg included). Pass
``path=`` to save a PNG, or call ``fig.savefig``. In a notebook under ``%matplotlib inline``
a returned figure shows as the cell's value (without it, only its text repr does).
"""

import math
import numbers

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from ._files import replaced

DPI = 100


def save_figure(fig, path):
    """Save ``fig`` as a PNG at ``path`` atomically (a reader finds the old file or the new
    one, whole), if a path is given; return it."""
    if path is not None:
        with replaced(path) as file:
            fig.savefig(file, format="png", dpi=DPI)
    return fig


def plot_history(loss_history, train_acc_history, val_acc_history, *, val_loss_history=None,
                 epochs=None, iterations_per_epoch=None, accuracy="Classification accuracy",
                 path=None):
    """Training loss beside train and validation accuracy, the best epoch marked on both.

    Both axes count epochs: the loss of iteration t (1-based) is drawn at epoch
    t / iterations_per_epoch, faint, with the mean loss of each epoch over it, so that the
    curves stay legible over hundreds of epochs. The best epoch (the first of the highest
    validation accuracy) is a dotted line across both axes and a star on the validation curve.
    A loss that became NaN or infinite is marked where it first did.

    Parameters
    ----------
    loss_history : sequence of float, length T
        The loss of every iteration, as ``Solver.loss_history``.
    train_acc_history, val_acc_history : sequence of float, length E
        Accuracies checked once per epoch, as ``Solver.train_acc_history``.
    val_loss_history : sequence of float, length E, optional
        The validation loss at the same epochs, drawn on the loss axes.
    epochs : sequence of int, length E, optional
        The epoch after which each accuracy was checked; by default 1, 2, ..., E. (Pass
        ``range(E)`` for histories whose first entry is checked before any training.)
    iterations_per_epoch : float, optional
        By default T over the last of ``epochs``: right unless a run stopped within an epoch.
    accuracy : str, default 'Classification accuracy'
        The accuracy axes' title ('Next-token accuracy' for a language model).
    path : str or Path, optional
        Where to save the figure as a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes: the losses, and the two accuracies. With no accuracy yet (a run stopped in
        its first epoch) the loss is drawn against iterations.
    """
    func = "plot_history"
    loss = np.asarray(loss_history, dtype=np.float64)
    train_acc = np.asarray(train_acc_history, dtype=np.float64)
    val_acc = np.asarray(val_acc_history, dtype=np.float64)
    if loss.ndim != 1 or train_acc.ndim != 1 or val_acc.shape != train_acc.shape:
        raise ValueError(
            f"{func}: expected a 1-d loss history and two 1-d accuracy histories of "
            f"equal length, got shapes {loss.shape}, {train_acc.shape} and {val_acc.shape}")
    E = len(train_acc)
    epochs = np.arange(1, E + 1) if epochs is None else np.asarray(epochs, dtype=np.float64)
    val_loss = None if val_loss_history is None else np.asarray(val_loss_history, np.float64)
    for name, array in (("epochs", epochs), ("val_loss_history", val_loss)):
        if array is not None and array.shape != (E,):
            raise ValueError(f"{func}: {name} must have one entry per accuracy, shape ({E},), "
                             f"got shape {array.shape}")
    if iterations_per_epoch is None and E and epochs[-1] > 0 and len(loss):
        iterations_per_epoch = len(loss) / epochs[-1]
    if iterations_per_epoch is not None and not (
            isinstance(iterations_per_epoch, numbers.Real)
            and not isinstance(iterations_per_epoch, bool)
            and math.isfinite(iterations_per_epoch) and iterations_per_epoch > 0):
        raise ValueError(f"{func}: iterations_per_epoch must be a number > 0, got "
                         f"{iterations_per_epoch!r}")

    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    finite = np.isfinite(loss)
    shown = np.where(finite, loss, np.nan)  # an infinite loss would wreck the y range
    markers = "o-" if E <= 30 else "-"  # dots stop being legible long before 200 epochs
    if iterations_per_epoch is None:  # nothing to count epochs with
        ax_loss.plot(np.arange(1, len(loss) + 1), shown, lw=0.8, label="train")
        ax_loss.set(xlabel="iteration")
        unit = 1.0
    else:
        unit = float(iterations_per_epoch)
        t = np.arange(1, len(loss) + 1) / unit  # (T,) in epochs
        faint = len(loss) > 2 * unit  # more than two epochs: the per-epoch mean says it better
        ax_loss.plot(t, shown, lw=0.6, alpha=0.35 if faint else 1.0,
                     label="train, per iteration" if faint else "train")
        if faint:
            ends = np.minimum(np.round(epochs[epochs > 0] * unit).astype(int), len(loss))
            starts = np.concatenate([[0], ends[:-1]])
            means = [np.mean(shown[a:b]) if b > a else np.nan for a, b in zip(starts, ends)]
            ax_loss.plot(epochs[epochs > 0], means, markers, color="C0", label="train, mean")
        if val_loss is not None:
            ax_loss.plot(epochs, np.where(np.isfinite(val_loss), val_loss, np.nan), markers,
                         color="C1", label="val")
        ax_loss.set(xlabel="epoch")
    ax_loss.set(title="Loss", ylabel="loss")
    if not finite.all():
        first = int(np.argmin(finite))  # the first NaN or infinite loss
        ax_loss.axvline((first + 1) / unit, color="tab:red", lw=1.0,
                        label=f"loss not finite (iteration {first + 1})")
    ax_acc.plot(epochs, train_acc, markers, label="train")
    ax_acc.plot(epochs, val_acc, markers, label="val")
    if E and np.isfinite(val_acc).any():
        best = int(np.nanargmax(val_acc))  # the first of the highest
        label = f"best val {val_acc[best]:.3f} (epoch {epochs[best]:g})"
        ax_acc.plot(epochs[best], val_acc[best], "*", color="C1", ms=14, mec="k", label=label)
        for ax in (ax_acc, ax_loss) if iterations_per_epoch is not None else (ax_acc,):
            ax.axvline(epochs[best], color="0.4", ls=":", lw=1.0,
                       label=label if ax is ax_loss else None)
    ax_acc.set(title=accuracy, xlabel="epoch", ylabel="accuracy")
    ax_acc.legend(loc="lower right")
    ax_acc.grid(alpha=0.3)
    ax_loss.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(loc="upper right")
    return save_figure(fig, path)


def plot_grad_norms(grad_norm_history, clip_norm, *, path=None):
    """The gradients' joint norm before clipping at every iteration, on a log scale, with the
    bound they were clipped to: the spikes above it are the steps clipping cut short.

    Parameters
    ----------
    grad_norm_history : sequence of float, length T
        As ``Solver.grad_norm_history``.
    clip_norm : float
    path : str or Path, optional
    """
    norms = np.asarray(grad_norm_history, dtype=np.float64)
    if norms.ndim != 1:
        raise ValueError(f"plot_grad_norms: expected a 1-d history, got shape {norms.shape}")
    fig = Figure(figsize=(6, 3.6), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    iterations = np.arange(1, len(norms) + 1)
    ax.semilogy(iterations, norms, lw=0.8, label="norm before clipping")
    ax.axhline(clip_norm, color="C3", ls="--", lw=1.0, label=f"clip_norm {clip_norm:g}")
    clipped = np.mean(norms > clip_norm) if len(norms) else 0.0
    ax.set(title=f"Gradient norm ({clipped:.0%} of the steps clipped)", xlabel="iteration",
           ylabel="joint L2 norm")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def weight_grid(W1, image_shape, *, padding=1):
    """The columns of ``W1`` as images in one grid, each rescaled to [0, 1] on its own.

    Parameters
    ----------
    W1 : ndarray of shape (D, H)
        First-layer weights; D = C * h * w, the features of an image flattened from (C, h, w)
        (as ``affine_forward`` flattens its input).
    image_shape : tuple (C, h, w)
        C is 1 (grey) or 3 (red, green, blue).
    padding : int, default 1
        White pixels between templates.

    Returns
    -------
    grid : ndarray of shape (rows * (h + padding) - padding, cols * (w + padding) - padding, C)
        Template i at row i // cols, column i % cols, with cols = ceil(sqrt(H)). A constant
        template (nothing to rescale) shows as mid-grey, 0.5.
    """
    W1 = np.asarray(W1)
    if len(image_shape) != 3 or image_shape[0] not in (1, 3):
        raise ValueError(f"weight_grid: image_shape must be (C, h, w) with C = 1 or 3, "
                         f"got {tuple(image_shape)}")
    C, h, w = image_shape
    if W1.ndim != 2 or W1.shape[0] != C * h * w:
        raise ValueError(f"weight_grid: W1 must have shape (D, H) = ({C * h * w}, H) to match "
                         f"images of shape {tuple(image_shape)}, got W1 of shape {W1.shape}")
    H = W1.shape[1]
    templates = W1.T.reshape(H, C, h, w).astype(np.float64)  # (H, C, h, w)
    low = templates.min(axis=(1, 2, 3), keepdims=True)
    span = templates.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.divide(templates - low, span, out=np.full_like(templates, 0.5), where=span > 0)
    cols = math.ceil(math.sqrt(H))
    rows = math.ceil(H / cols)
    tiles = np.ones((rows * cols, C, h + padding, w + padding))  # white padding, blank tiles
    tiles[:H, :, :h, :w] = scaled
    grid = tiles.reshape(rows, cols, C, h + padding, w + padding).transpose(0, 3, 1, 4, 2)
    grid = grid.reshape(rows * (h + padding), cols * (w + padding), C)
    return grid[:grid.shape[0] - padding, :grid.shape[1] - padding]


def plot_weight_templates(W1, image_shape, *, padding=1, title=None, path=None):
    """First-layer weights as image templates, the way CS231n shows what a net learned.

    Parameters
    ----------
    W1 : ndarray of shape (D, H)
        First-layer weights, D = C * h * w.
    image_shape : tuple (C, h, w)
        C = 1 draws grey templates, C = 3 colour ones.
    padding : int, default 1
    title : str, optional
        Defaults to "First-layer weights (H templates)".
    path : str or Path, optional
        Where to save the figure as a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes holding one image, :func:`weight_grid`.
    """
    grid = weight_grid(W1, image_shape, padding=padding)  # (GH, GW, C)
    height, width = grid.shape[:2]
    scale = 6.0 / max(height, width)
    fig = Figure(figsize=(max(width * scale, 2.0), max(height * scale, 2.0) + 0.4),
                 layout="constrained")
    ax = fig.subplots()
    if grid.shape[2] == 1:
        ax.imshow(grid[:, :, 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or f"First-layer weights ({np.shape(W1)[1]} templates)")
    return save_figure(fig, path)


def plot_conv_filters(w, *, padding=1, title=None, path=None):
    """A conv layer's filters as images, each rescaled to [0, 1] on its own: what the first
    layer of a ConvNet learned to look for.

    Parameters
    ----------
    w : ndarray of shape (F, C, HH, WW)
        The filters, as ``conv_forward_*`` takes them; C is 1 (grey) or 3 (red, green, blue),
        as for the first layer of a net on images.
    padding : int, default 1
    title : str, optional
        Defaults to "First-layer filters (F of C x HH x WW)".
    path : str or Path, optional
        Where to save the figure as a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes holding one image: :func:`weight_grid` of the filters.
    """
    w = np.asarray(w)
    if w.ndim != 4 or w.shape[1] not in (1, 3):
        raise ValueError(f"plot_conv_filters: w must have shape (F, C, HH, WW) with C = 1 or 3 "
                         f"(a first layer on images), got shape {w.shape}")
    F, C, HH, WW = w.shape
    return plot_weight_templates(
        w.reshape(F, C * HH * WW).T, (C, HH, WW), padding=padding, path=path,  # (D, F)
        title=title or f"First-layer filters ({F} of {C} x {HH} x {WW})")


def plot_decision_boundary(predict, X, y, *, split=None, feature_names=("x[0]", "x[1]"),
                           grid_points=200, margin=0.5, path=None):
    """The classes a 2-d classifier assigns over the plane, with the data on top.

    Parameters
    ----------
    predict : callable
        Takes an ndarray of shape (M, 2) (X's dtype) and returns labels of shape (M,) or
        scores of shape (M, K), whose argmax is the label; e.g. ``model.loss``.
    X : ndarray of shape (N, 2)
    y : ndarray of shape (N,), int labels
    split : str, optional
        Which split X is ("train", "val", ...), named in the title.
    feature_names : pair of str, default ("x[0]", "x[1]")
        The axes' labels.
    grid_points : int, default 200
        Points along each axis of the grid on which ``predict`` is evaluated.
    margin : float, default 0.5
        How far the grid reaches beyond the data, in X's units.
    path : str or Path, optional
        Where to save the figure as a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes: filled class regions and the points coloured by label; the title gives the
        split and the accuracy of ``predict`` on the points drawn.
    """
    func = "plot_decision_boundary"
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),) or not len(X):
        raise ValueError(f"{func}: X must have shape (N, 2) and y shape (N,) with N >= 1, "
                         f"got X of shape {X.shape} and y of shape {y.shape}")
    if len(feature_names) != 2:
        raise ValueError(f"{func}: feature_names must name the 2 axes, got {feature_names!r}")

    def labels(points):
        output = np.asarray(predict(points))
        predicted = output.argmax(axis=1) if output.ndim == 2 else output  # (M,) labels
        if predicted.shape != (len(points),):
            raise ValueError(f"{func}: predict must return labels of shape (M,) or scores of "
                             f"shape (M, K) for M = {len(points)} points, got shape "
                             f"{output.shape}")
        return predicted

    axes = [np.linspace(X[:, i].min() - margin, X[:, i].max() + margin, grid_points)
            for i in range(2)]
    xx, yy = np.meshgrid(*axes)  # (M0, M1) each
    points = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(X.dtype)  # (M, 2)
    predicted = labels(points)
    accuracy = np.mean(labels(X) == y)
    K = int(max(predicted.max(), y.max())) + 1
    colours = {"cmap": "Spectral", "vmin": 0, "vmax": max(K - 1, 1)}  # the same for both
    fig = Figure(figsize=(5, 5.3), layout="constrained")
    ax = fig.subplots()
    ax.contourf(xx, yy, predicted.reshape(xx.shape), levels=np.arange(K + 1) - 0.5,
                alpha=0.8, **colours)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=20, edgecolors="k", linewidths=0.5, **colours)
    shown = f"{split} split, {len(X)} points" if split else f"{len(X)} points"
    ax.set(xlim=axes[0][[0, -1]], ylim=axes[1][[0, -1]], aspect="equal",
           xlabel=feature_names[0], ylabel=feature_names[1],
           title=f"Decision regions\n{shown}: accuracy {100 * accuracy:.1f} %")
    return save_figure(fig, path)


# --- computational graphs ------------------------------------------------------------------

FORWARD_COLOUR = "tab:green"
BACKWARD_COLOUR = "tab:red"


def graph_layout(nodes, edges):
    """Where to draw each node of a computational graph, left to right as lecture 4 draws it.

    Inputs (the nodes no edge enters) sit in column 0, in rows 0, 1, 2, ... in the order of
    ``nodes``. Every other node sits one column right of the furthest node feeding it, at the
    mean row of the nodes feeding it, moved down by half a row while that place is taken.

    Parameters
    ----------
    nodes : dict of {str: str}
        Node name to the label drawn for it.
    edges : sequence of (tail, head, value, gradient)
        One per edge, from node ``tail`` into node ``head``; only the names are used here.

    Returns
    -------
    positions : dict of {str: (float, float)}
        ``(column, row)`` of every node; rows grow downwards.
    """
    if not nodes:
        raise ValueError("graph_layout: nodes is empty; pass a dict {name: label} of the nodes")
    feeders = {name: [] for name in nodes}
    for edge in edges:
        if len(edge) != 4:
            raise ValueError(f"graph_layout: each edge must be (tail, head, value, gradient), "
                             f"got {edge!r}")
        tail, head = edge[:2]
        for name in (tail, head):
            if name not in nodes:
                raise ValueError(f"graph_layout: edge ({tail!r}, {head!r}) names {name!r}, "
                                 f"which is not one of the nodes {list(nodes)}")
        feeders[head].append(tail)
    columns = {}

    def column(name, path):
        if name in path:
            raise ValueError(f"graph_layout: the edges make a cycle through {name!r}; "
                             f"a computational graph has none")
        if name not in columns:
            columns[name] = 1 + max((column(tail, path | {name}) for tail in feeders[name]),
                                    default=-1)
        return columns[name]

    for name in nodes:
        column(name, frozenset())
    positions = {}
    inputs = [name for name in nodes if not feeders[name]]
    for row, name in enumerate(inputs):
        positions[name] = (0.0, float(row))
    for name in sorted(nodes, key=columns.get):  # feeders are placed before the nodes they feed
        if feeders[name]:
            row = float(np.mean([positions[tail][1] for tail in feeders[name]]))
            taken = {y for x, y in positions.values() if x == columns[name]}
            while row in taken:
                row += 0.5
            positions[name] = (float(columns[name]), row)
    return positions


def plot_computational_graph(nodes, edges, *, fmt="{:.2f}", title=None, path=None):
    """A computational graph as lecture 4 draws it, with values in green and gradients in red.

    On each edge the value flowing forward is written above it, the gradient flowing back below
    it. Nodes that edges both enter and leave are gates, drawn as circles around their labels
    (``"+"``, ``"*"``, ``"exp"``); inputs and outputs are drawn as bare labels. The layout is
    :func:`graph_layout`'s.

    Parameters
    ----------
    nodes : dict of {str: str}
        Node name to its label, e.g. ``{"x": "x", "y": "y", "q": "+", "f": "f"}``. Inputs are
        stacked top to bottom in this order.
    edges : sequence of (tail, head, value, gradient)
        One per edge: the node it leaves, the node it enters, the value carried forward (the
        tail's output) and the gradient of the graph's output with respect to that value, as
        carried back along this edge (what the head gate's backward returns for this input).
        Values and gradients are real numbers.
    fmt : str, default "{:.2f}"
        How the numbers are written, as ``str.format``.
    title : str, optional
    path : str or Path, optional
        Where to save the figure as a PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes holding the drawing.
    """
    positions = graph_layout(nodes, edges)
    for tail, head, value, gradient in edges:
        if np.ndim(value) != 0 or np.ndim(gradient) != 0:
            raise ValueError(
                f"plot_computational_graph: edge ({tail!r}, {head!r}) must carry a number "
                f"forward and back, got shapes {np.shape(value)} and {np.shape(gradient)}")
    gates = {head for _, head, _, _ in edges} & {tail for tail, _, _, _ in edges}
    width = max(x for x, _ in positions.values()) + 1
    height = max(y for _, y in positions.values()) + 1
    fig = Figure(figsize=(1.3 * width, 1.3 * height + (0.4 if title else 0.0)),
                 layout="constrained")
    ax = fig.subplots()
    radius = 0.2
    for name, label in nodes.items():
        if name in gates:
            ax.add_patch(Circle(positions[name], radius, facecolor="white", edgecolor="black"))
        ax.text(*positions[name], label, ha="center", va="center", fontsize=12)
    for tail, head, value, gradient in edges:
        (x0, y0), (x1, y1) = positions[tail], positions[head]
        length = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length  # unit vector along the edge
        start = radius + 0.05 if tail in gates else 0.15
        stop = radius + 0.02 if head in gates else 0.15
        ax.annotate("", xy=(x1 - stop * ux, y1 - stop * uy),
                    xytext=(x0 + start * ux, y0 + start * uy),
                    arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.2})
        # The numbers sit near the tail, where edges into the same gate are still apart: the
        # value on the upper side of the edge, the gradient on the lower side.
        along = min(start + 0.3, length / 2)
        mx, my = x0 + along * ux, y0 + along * uy
        nx, ny = uy, -ux  # unit normal on the upper side (rows grow downwards)
        upper = "left" if nx > 0.3 else "right" if nx < -0.3 else "center"
        lower = {"left": "right", "right": "left", "center": "center"}[upper]
        ax.text(mx + 0.07 * nx, my + 0.07 * ny, fmt.format(float(value)), ha=upper,
                va="bottom", color=FORWARD_COLOUR, fontsize=10, fontweight="bold")
        ax.text(mx - 0.07 * nx, my - 0.07 * ny, fmt.format(float(gradient)), ha=lower,
                va="top", color=BACKWARD_COLOUR, fontsize=10, fontweight="bold")
    ax.set(xlim=(-0.4, width - 0.6), ylim=(height - 0.5, -0.5), aspect="equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
