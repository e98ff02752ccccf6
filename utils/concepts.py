"""Figures that explain the ideas of the assignments: ReLU, softmax, the sigmoid and the
network's shape.

They need no data and no TensorFlow. None of them holds an exercise's answer: the softmax
figure draws the probabilities it is given (the student's own ``my_softmax``), so that a
wrong result shows as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ._validate import check_count
from .activations import sigmoid
from .figures import show
from .plots import BAR_COLOR, HIGHLIGHT_COLOR, _g

NETWORK = (400, 25, 15, 10)  # the assignment's layer sizes, input first
ACTIVATIONS = ("relu", "relu", "linear")
EDGE_COLOR = "0.8"


def plot_relu(lo: float = -5.0, hi: float = 5.0) -> Figure:
    """ReLU(z) = max(0, z) for z from lo to hi."""
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < 0 < hi):
        raise ValueError(f"need lo < 0 < hi so that both sides of the kink show, got {lo}, {hi}")
    z = np.linspace(lo, hi, 201)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.plot(z, np.maximum(0.0, z), color=BAR_COLOR, linewidth=2.5, label="ReLU(z) = max(0, z)")
    ax.annotate("0 for z < 0", xy=(lo / 2, 0), xytext=(lo / 2, hi / 3), ha="center",
                arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax.annotate("z for z ≥ 0", xy=(hi / 2, hi / 2), xytext=(hi / 5, hi * 0.8), ha="center",
                arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax.set_xlabel("z")
    ax.set_ylabel("ReLU(z)")
    ax.set_title("ReLU(z) = max(0, z)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return show(fig, f"ReLU(z) = max(0, z) for z from {lo:g} to {hi:g}: a flat line at 0 for "
                     "every negative z, then, from a kink at z = 0, a straight line rising "
                     f"with slope 1 (ReLU(z) = z), up to {hi:g} at z = {hi:g}.")


def plot_sigmoid(lo: float = -6.0, hi: float = 6.0) -> Figure:
    """sigmoid(z) for z from lo to hi, with the 0.5 line where the prediction switches from 0
    to 1."""
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < 0 < hi):
        raise ValueError(f"need lo < 0 < hi so that both sides of 0 show, got {lo}, {hi}")
    z = np.linspace(lo, hi, 201)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.axhline(0.5, color="0.6", linewidth=0.8, linestyle="--")
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.plot(z, sigmoid(z), color=BAR_COLOR, linewidth=2.5, label="sigmoid(z)")
    ax.text(hi * 0.25, 0.6, "predict 1\ng(z) ≥ 0.5", ha="left", va="center", fontsize=9)
    ax.text(lo * 0.95, 0.35, "predict 0\ng(z) < 0.5", ha="left", va="center", fontsize=9)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("z")
    ax.set_ylabel("g(z)")
    ax.set_title("sigmoid g(z) = 1 / (1 + e^(-z))")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return show(fig, f"Sigmoid g(z) = 1 / (1 + e^(-z)) for z from {lo:g} to {hi:g}: an S-shaped "
                     f"curve rising from near 0 ({sigmoid(lo):.3f} at z = {lo:g}) to near 1 "
                     f"({sigmoid(hi):.3f} at z = {hi:g}), 0.5 at z = 0. A dashed line at 0.5 "
                     "marks the decision: predict 1 where g(z) ≥ 0.5 (z ≥ 0), predict 0 below.")


def plot_softmax(z, probs) -> Figure:
    """The logits z beside the probabilities computed from them, each bar labelled with its
    value. Drawn as given (no softmax is computed here), so a wrong result shows."""
    logits = np.array(z, dtype=np.float64)
    if logits.ndim != 1 or logits.size < 2:
        raise ValueError(
            f"z must be a 1-D array of at least 2 logits, got shape {logits.shape}")
    if not np.isfinite(logits).all():
        raise ValueError("z must hold finite numbers")
    a = np.array(probs, dtype=np.float64)
    if a.shape != logits.shape:
        raise ValueError(f"probs must have the shape of z, {logits.shape}, got {a.shape}")
    j = np.arange(logits.size)
    colors = [HIGHLIGHT_COLOR if k == np.argmax(logits) else BAR_COLOR for k in j]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.bar(j, logits, color=colors)
    left.set_title("logits z")
    right.bar(j, np.nan_to_num(a), color=colors)
    right.set_ylim(min(0.0, np.min(a[np.isfinite(a)], initial=0.0)), 1.1)
    right.set_title(f"probabilities: sum {a.sum():.4g}")
    for ax, values in ((left, logits), (right, a)):
        ax.set_xticks(j)
        ax.set_xlabel("j")
        ax.axhline(0, color="0.6", linewidth=0.8)
        for k, v in zip(j, values, strict=True):
            up = not np.isfinite(v) or v >= 0
            ax.annotate(f"{v:.3g}", (k, v if np.isfinite(v) else 0), ha="center",
                        va="bottom" if up else "top", fontsize=8, xytext=(0, 2 if up else -2),
                        textcoords="offset points")
    fig.tight_layout()
    top = int(np.argmax(logits))
    return show(fig, f"Two bar charts side by side, one bar for each j from 0 to {logits.size - 1}"
                     f". Left, the logits z: {', '.join(map(_g, logits))}. Right, the "
                     f"probabilities computed from them: {', '.join(map(_g, a))}, which sum to "
                     f"{a.sum():.4g}. The bars of the largest logit, j = {top}, are orange.")


def _column(n: int, shown: int) -> tuple[np.ndarray, bool]:
    """Heights of the circles drawn for a layer of n units (at most `shown`), centred on 0.

    With more units than `shown`, a gap is left in the middle for an ellipsis.
    """
    if n <= shown:
        return np.arange(n) - (n - 1) / 2, False
    half = shown // 2
    top = np.arange(half) + 1.0
    return np.concatenate([-top[::-1] - 0.5, top + 0.5]), True


def plot_network(sizes: Sequence[int] = NETWORK, activations: Sequence[str] = ACTIVATIONS,
                 shown: int = 10, outputs: Sequence[str] | None = None) -> Figure:
    """A diagram of a dense network: a column of units per layer, every unit joined to every
    unit of the next layer, and under each layer its size, activation and the shapes of W, b.

    Layers wider than `shown` units are drawn with `shown` of them and an ellipsis. Each
    output unit is labelled with its entry of `outputs`, top first (by default the digits
    0, 1, ... of a classifier with one output per digit; ``("P(1)",)`` for a binary one).
    """
    sizes = [check_count("a layer size", n) for n in sizes]
    shown = check_count("shown", shown)
    if len(sizes) < 2:
        raise ValueError(f"a network needs an input and at least one layer, got sizes {sizes}")
    if len(activations) != len(sizes) - 1:
        raise ValueError(
            f"sizes give {len(sizes) - 1} layer(s), so {len(sizes) - 1} activation(s) are needed, "
            f"got {len(activations)}"
        )
    fig, ax = plt.subplots(figsize=(2.3 * len(sizes) + 0.5, 4.6))
    columns = [_column(n, shown) for n in sizes]
    edges = []
    for x, ((left, _), (right, _)) in enumerate(pairwise(columns)):
        edges += [[(x, a), (x + 1, b)] for a in left for b in right]
    ax.add_collection(LineCollection(edges, colors=EDGE_COLOR, linewidths=0.5, zorder=1))
    for x, (heights, cut) in enumerate(columns):
        color = "0.85" if x == 0 else BAR_COLOR
        ax.scatter(np.full(heights.size, x), heights, s=110, color=color, edgecolors="0.3",
                   zorder=2)
        if cut:
            ax.text(x, 0, "⋮", ha="center", va="center", fontsize=16)
    ax.text(0, -shown / 2 - 1.2, f"input\n{sizes[0]} values", ha="center", va="top")
    layers = zip(pairwise(sizes), activations, strict=True)
    for x, ((n_in, n_out), act) in enumerate(layers, start=1):
        ax.text(x, -shown / 2 - 1.2, f"Dense {n_out}, {act}\nW {(n_in, n_out)}\nb ({n_out},)",
                ha="center", va="top")
    heights, cut = columns[-1]
    if outputs is None:  # a digit classifier's output units: one per digit
        outputs = [str(k) for k in range(sizes[-1])] if sizes[-1] <= 10 else []
    elif cut or len(outputs) != sizes[-1]:
        raise ValueError(f"outputs needs a label for each of the {sizes[-1]} output units "
                         f"(at most {shown}), got {len(outputs)}")
    if not cut:
        for label, h in zip(outputs, heights[::-1], strict=False):
            ax.text(len(sizes) - 1 + 0.18, h, str(label), va="center", fontsize=8)
    ax.set_xlim(-0.6, len(sizes) - 0.4)
    ax.set_ylim(-shown / 2 - 3.4, shown / 2 + 0.8)
    ax.set_axis_off()
    params = sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
    ax.set_title(f"{' → '.join(map(str, sizes))}: {params:,} parameters".replace(",", " "))
    fig.tight_layout()
    return show(fig, _network_alt(sizes, activations, shown, outputs if not cut else [], params))


def _network_alt(sizes, activations, shown: int, outputs, params: int) -> str:
    """The diagram in words: the layers left to right with what is written under each, how
    wide layers are drawn, and the output units' labels."""
    layers = [f"input, {sizes[0]} values"] + [
        f"Dense {n_out}, {act}, W ({n_in}, {n_out}), b ({n_out},)"
        for (n_in, n_out), act in zip(pairwise(sizes), activations, strict=True)]
    count = f"{params:,}".replace(",", " ")  # as the title writes it: 10 575
    text = (f"Diagram of a dense network, {' → '.join(map(str, sizes))}, with {count} "
            "parameters: a column of units for each layer, "
            "every unit joined by a line to every unit of the next layer. Under the columns, "
            f"left to right: {'; '.join(layers)}.")
    if max(sizes) > shown:
        text += (f" Layers of more than {shown} units are drawn with {shown} of them and a "
                 "vertical ellipsis.")
    labels = [str(label) for label in outputs]
    if labels == [str(k) for k in range(len(labels))] and len(labels) > 1:
        text += f" The output units are labelled 0 to {len(labels) - 1}, top to bottom."
    elif len(labels) == 1:
        text += f" The output unit is labelled {labels[0]}."
    elif labels:
        text += f" The output units are labelled {', '.join(labels)}, top to bottom."
    return text
