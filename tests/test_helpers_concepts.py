"""Tests for the figures that explain ReLU, softmax, the sigmoid and the network (no TensorFlow
needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless; must happen before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

from digit_helpers import (  # noqa: E402
    alt_text,
    plot_network,
    plot_relu,
    plot_sigmoid,
    plot_softmax,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# --- plot_relu -----------------------------------------------------------------------


def test_relu_curve_is_max_of_zero_and_z_on_both_sides_of_the_kink():
    fig = plot_relu(-3, 4)
    (ax,) = fig.axes
    (curve,) = [line for line in ax.lines if len(line.get_xdata()) > 2]
    z, r = curve.get_xdata(), curve.get_ydata()
    assert z.min() == -3 and z.max() == 4
    np.testing.assert_array_equal(r, np.maximum(0, z))
    assert (z < 0).sum() > 50 and (z > 0).sum() > 50
    assert "max(0, z)" in ax.get_title()


@pytest.mark.parametrize("lo, hi", [(1, 5), (-5, -1), (0, 5), (-np.inf, 5), (2, -2)])
def test_relu_range_must_straddle_zero(lo, hi):
    with pytest.raises(ValueError, match="lo < 0 < hi"):
        plot_relu(lo, hi)


# --- plot_softmax ----------------------------------------------------------------------


def _bars(ax) -> np.ndarray:
    return np.array([patch.get_height() for patch in ax.patches])


def test_softmax_bars_are_the_logits_and_the_probabilities_given():
    z = np.array([1.0, 2.0, 3.0, 4.0])
    probs = np.exp(z) / np.exp(z).sum()
    fig = plot_softmax(z, probs)
    left, right = fig.axes
    np.testing.assert_allclose(_bars(left), z)
    np.testing.assert_allclose(_bars(right), probs)
    assert "0.644" in _texts(fig)  # each bar is labelled with its value
    assert right.get_title() == "probabilities: sum 1"
    np.testing.assert_array_equal(z, [1.0, 2.0, 3.0, 4.0])


def test_a_wrong_or_unstable_softmax_is_drawn_as_it_is():
    """The figure checks the student's result by eye: it must not correct it."""
    fig = plot_softmax([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(_bars(fig.axes[1]), [0.5, 0.5, 0.5])
    assert fig.axes[1].get_title() == "probabilities: sum 1.5"
    fig = plot_softmax([1000.0, 1001.0], [np.nan, np.nan])  # the naive formula's result
    assert "nan" in _texts(fig) and "sum nan" in fig.axes[1].get_title()


def test_softmax_highlights_the_largest_logit_in_both_panels():
    fig = plot_softmax([0.5, 3.0, -1.0], [0.1, 0.8, 0.1])
    for ax in fig.axes:
        colors = [patch.get_facecolor() for patch in ax.patches]
        assert colors[1] != colors[0] and colors[0] == colors[2]


@pytest.mark.parametrize("z, probs, match", [
    ([[1.0, 2.0]], [[0.3, 0.7]], "1-D"), ([3.0], [1.0], "at least 2"),
    ([1.0, np.nan], [0.5, 0.5], "finite"), ([1.0, 2.0], [0.2, 0.3, 0.5], "the shape of z"),
])
def test_softmax_figure_rejects_bad_input(z, probs, match):
    with pytest.raises(ValueError, match=match):
        plot_softmax(z, probs)


# --- plot_network ----------------------------------------------------------------------


def _columns(fig) -> list[int]:
    """How many units are drawn in each column, left to right."""
    (ax,) = fig.axes
    points = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    xs = np.round(points[:, 0]).astype(int)
    return [int((xs == x).sum()) for x in range(xs.max() + 1)]


def test_network_diagram_draws_every_layer_with_its_shapes():
    fig = plot_network()
    assert _columns(fig) == [10, 10, 10, 10]  # 400, 25 and 15 cut to 10 with an ellipsis
    texts = _texts(fig)
    assert texts.count("⋮") == 3
    for label in ["Dense 25, relu\nW (400, 25)\nb (25,)", "Dense 15, relu\nW (25, 15)\nb (15,)",
                  "Dense 10, linear\nW (15, 10)\nb (10,)"]:
        assert label in texts
    assert [str(d) for d in range(10)] == [t for t in texts if t.isdigit() and len(t) == 1]
    assert "10 575 parameters" in fig.axes[0].get_title()


def test_network_diagram_joins_every_drawn_unit_to_the_next_layer():
    fig = plot_network([3, 2, 4], ["relu", "linear"])
    assert _columns(fig) == [3, 2, 4]
    (edges,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(edges.get_segments()) == 3 * 2 + 2 * 4
    assert "3 → 2 → 4: 20 parameters" in fig.axes[0].get_title()


def test_a_binary_network_labels_its_one_output_unit():
    fig = plot_network((400, 25, 15, 1), ("sigmoid",) * 3, outputs=("P(1)",))
    assert _columns(fig) == [10, 10, 10, 1]
    texts = _texts(fig)
    assert "Dense 1, sigmoid\nW (15, 1)\nb (1,)" in texts
    assert "P(1)" in texts
    assert not [t for t in texts if t.isdigit()]  # no digit label beside a single output
    assert "10 431 parameters" in fig.axes[0].get_title()


@pytest.mark.parametrize("outputs", [(), ("a", "b")])
def test_output_labels_must_match_the_output_units(outputs):
    with pytest.raises(ValueError, match="a label for each of the 1 output units"):
        plot_network((4, 1), ("sigmoid",), outputs=outputs)


# --- plot_sigmoid ----------------------------------------------------------------------


def test_sigmoid_curve_crosses_one_half_at_zero_and_marks_the_decision():
    fig = plot_sigmoid(-4, 5)
    (ax,) = fig.axes
    (curve,) = [line for line in ax.lines if len(line.get_xdata()) > 2]
    z, g = curve.get_xdata(), curve.get_ydata()
    assert z.min() == -4 and z.max() == 5
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-z)))
    assert np.all(np.diff(g) > 0)
    assert any(line.get_ydata()[0] == 0.5 for line in ax.lines if len(line.get_ydata()) == 2)
    assert any("predict 1" in t for t in _texts(fig))
    assert any("predict 0" in t for t in _texts(fig))


@pytest.mark.parametrize("lo, hi", [(1, 5), (-5, -1), (-np.inf, 3)])
def test_sigmoid_curve_needs_both_sides_of_zero(lo, hi):
    with pytest.raises(ValueError, match="lo < 0 < hi"):
        plot_sigmoid(lo, hi)


@pytest.mark.parametrize("sizes, activations, match", [
    ([400], [], "at least one layer"),
    ([400, 0], ["relu"], "positive integer"),
    ([400, 25], ["relu", "relu"], r"1 activation\(s\) are needed, got 2"),
])
def test_network_diagram_rejects_bad_shapes(sizes, activations, match):
    with pytest.raises(ValueError, match=match):
        plot_network(sizes, activations)


# --- what each figure says it shows (its alt text) ------------------------------------------


def test_the_curves_say_their_shape_in_words():
    assert alt_text(plot_relu(-3, 4)) == (
        "ReLU(z) = max(0, z) for z from -3 to 4: a flat line at 0 for every negative z, then, "
        "from a kink at z = 0, a straight line rising with slope 1 (ReLU(z) = z), up to 4 at "
        "z = 4.")
    assert alt_text(plot_sigmoid()) == (
        "Sigmoid g(z) = 1 / (1 + e^(-z)) for z from -6 to 6: an S-shaped curve rising from "
        "near 0 (0.002 at z = -6) to near 1 (0.998 at z = 6), 0.5 at z = 0. A dashed line at "
        "0.5 marks the decision: predict 1 where g(z) ≥ 0.5 (z ≥ 0), predict 0 below.")


def test_the_softmax_figure_says_the_values_it_was_given():
    z = np.array([1.0, 2.0, 3.0, 4.0])
    assert alt_text(plot_softmax(z, np.exp(z) / np.exp(z).sum())) == (
        "Two bar charts side by side, one bar for each j from 0 to 3. Left, the logits z: 1, "
        "2, 3, 4. Right, the probabilities computed from them: 0.0321, 0.0871, 0.237, 0.644, "
        "which sum to 1. The bars of the largest logit, j = 3, are orange.")
    # a wrong softmax is described as it is drawn, so a screen reader user sees it too
    assert "computed from them: nan, nan, which sum to nan." in alt_text(
        plot_softmax([1000.0, 1001.0], [np.nan, np.nan]))


def test_the_network_diagram_says_each_layer_and_its_shapes():
    assert alt_text(plot_network()) == (
        "Diagram of a dense network, 400 → 25 → 15 → 10, with 10 575 parameters: a column of "
        "units for each layer, every unit joined by a line to every unit of the next layer. "
        "Under the columns, left to right: input, 400 values; Dense 25, relu, W (400, 25), b "
        "(25,); Dense 15, relu, W (25, 15), b (15,); Dense 10, linear, W (15, 10), b (10,). "
        "Layers of more than 10 units are drawn with 10 of them and a vertical ellipsis. The "
        "output units are labelled 0 to 9, top to bottom.")
    said = alt_text(plot_network((400, 25, 15, 1), ("sigmoid",) * 3, outputs=("P(1)",)))
    assert said.startswith("Diagram of a dense network, 400 → 25 → 15 → 1, with 10 431 "
                           "parameters")
    assert "Dense 1, sigmoid, W (15, 1), b (1,)." in said
    assert said.endswith(" The output unit is labelled P(1).")
    said = alt_text(plot_network([3, 2, 4], ["relu", "linear"]))
    assert "ellipsis" not in said and said.endswith("labelled 0 to 3, top to bottom.")
    assert "with 20 parameters" in said
