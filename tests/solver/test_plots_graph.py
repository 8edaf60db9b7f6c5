"""solver.plots' computational graphs: graph_layout and plot_computational_graph."""

import matplotlib.colors
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.text import Annotation

from solver.plots import (
    BACKWARD_COLOUR, FORWARD_COLOUR, graph_layout, plot_computational_graph)

# Lecture 4's first graph, f = (x + y) z at x = -2, y = 5, z = -4.
NODES = {"x": "x", "y": "y", "z": "z", "q": "+", "f": "*", "out": "f"}
EDGES = [("x", "q", -2.0, -4.0), ("y", "q", 5.0, -4.0), ("q", "f", 3.0, -4.0),
         ("z", "f", -4.0, 3.0), ("f", "out", -12.0, 1.0)]


def texts_in(fig, colour):
    rgba = matplotlib.colors.to_rgba(colour)
    return sorted(text.get_text() for ax in fig.axes for text in ax.texts
                  if matplotlib.colors.to_rgba(text.get_color()) == rgba)


def test_layout_puts_inputs_left_in_order_and_gates_after_their_feeders():
    positions = graph_layout(NODES, EDGES)
    assert positions == {"x": (0.0, 0.0), "y": (0.0, 1.0), "z": (0.0, 2.0),
                         "q": (1.0, 0.5), "f": (2.0, 1.25), "out": (3.0, 1.25)}


def test_layout_column_is_the_longest_path_and_a_chain_keeps_its_row():
    nodes = {"a": "a", "b": "b", "s": "+", "e": "exp", "r": "1/x", "t": "+"}
    edges = [("a", "s", 0, 0), ("b", "s", 0, 0), ("s", "e", 0, 0), ("e", "r", 0, 0),
             ("r", "t", 0, 0), ("s", "t", 0, 0)]
    positions = graph_layout(nodes, edges)
    assert [positions[name] for name in "set"] == [(1.0, 0.5), (2.0, 0.5), (4.0, 0.5)]
    assert positions["r"] == (3.0, 0.5)


def test_layout_moves_a_node_down_when_its_place_is_taken():
    nodes = {"a": "a", "b": "b", "g": "*", "h": "+"}
    edges = [("a", "g", 0, 0), ("b", "g", 0, 0), ("a", "h", 0, 0), ("b", "h", 0, 0)]
    positions = graph_layout(nodes, edges)
    assert positions["g"] == (1.0, 0.5)
    assert positions["h"] == (1.0, 1.0)


@pytest.mark.parametrize("nodes, edges, message", [
    ({}, [], "nodes is empty"),
    ({"a": "a"}, [("a", "b", 0, 0)], "names 'b'"),
    ({"a": "a", "b": "b"}, [("a", "b", 0)], r"\(tail, head, value, gradient\)"),
    ({"a": "a", "b": "+", "c": "*"}, [("a", "b", 0, 0), ("b", "c", 0, 0), ("c", "b", 0, 0)],
     "cycle"),
])
def test_layout_refuses_malformed_graphs(nodes, edges, message):
    with pytest.raises(ValueError, match=f"graph_layout: .*{message}"):
        graph_layout(nodes, edges)


def test_plot_writes_values_in_green_and_gradients_in_red():
    fig = plot_computational_graph(NODES, EDGES, title="f = (x + y) z")
    assert isinstance(fig, Figure)
    assert texts_in(fig, FORWARD_COLOUR) == sorted(
        ["-2.00", "5.00", "3.00", "-4.00", "-12.00"])
    assert texts_in(fig, BACKWARD_COLOUR) == sorted(["-4.00", "-4.00", "-4.00", "3.00", "1.00"])
    ax, = fig.axes
    assert ax.get_title() == "f = (x + y) z"
    gates = [patch for patch in ax.patches if isinstance(patch, Circle)]
    assert sorted(patch.center for patch in gates) == [(1.0, 0.5), (2.0, 1.25)]
    arrows = [text for text in ax.texts if isinstance(text, Annotation)]
    assert len(arrows) == len(EDGES)
    labels = sorted(text.get_text() for text in ax.texts
                    if not isinstance(text, Annotation) and text.get_color() == "black")
    assert labels == sorted(NODES.values())


def test_plot_puts_the_value_above_and_the_gradient_below_each_edge():
    fig = plot_computational_graph({"a": "a", "g": "exp", "f": "f"},
                                   [("a", "g", 1.0, 2.718), ("g", "f", 2.718, 1.0)], fmt="{:.3f}")
    ax, = fig.axes
    green = {t.get_text(): t.get_position() for t in ax.texts if t.get_color() == FORWARD_COLOUR}
    red = {t.get_text(): t.get_position() for t in ax.texts if t.get_color() == BACKWARD_COLOUR}
    assert set(green) == {"1.000", "2.718"} and set(red) == {"2.718", "1.000"}
    for value, gradient in (("1.000", "2.718"), ("2.718", "1.000")):
        assert green[value][0] == pytest.approx(red[gradient][0])
        assert green[value][1] < red[gradient][1]  # rows grow downwards: above is smaller
    assert ax.yaxis_inverted()


def test_plot_saves_a_png(tmp_path):
    path = tmp_path / "graph.png"
    plot_computational_graph(NODES, EDGES, path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_refuses_an_array_on_an_edge():
    edges = EDGES[:-1] + [("f", "out", np.array([-12.0, 1.0]), 1.0)]
    with pytest.raises(ValueError, match=r"plot_computational_graph: edge \('f', 'out'\)"):
        plot_computational_graph(NODES, edges)
