"""Figures for exploring the digits and a trained model's predictions.

Every function builds its figure with ``plt.subplots`` (so Jupyter shows it
inline), returns the ``Figure`` and never calls ``plt.show()``. Call
``plt.close(fig)`` when you no longer need a figure.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._validate import IMAGE_SHAPE, as_images, as_labels, check_count
from .metrics import confusion_matrix

RIGHT_COLOR = "black"
WRONG_COLOR = "red"
HIGHLIGHT_COLOR = "tab:orange"
BAR_COLOR = "tab:blue"


def _image_grid(X: np.ndarray, indices: np.ndarray, cols: int,
                heading: str | None = None) -> tuple[Figure, list]:
    """Draw X[indices] as 20x20 images in a grid, each with room for a one-line title, under
    an optional heading; return the figure and the used axes."""
    n = len(indices)
    cols = min(cols, n)
    rows = -(-n // cols)  # ceiling division
    lines = heading.count("\n") + 1 if heading else 0
    top = 0.15 + 0.25 * lines  # inches above the first row's titles
    height = 1.45 * rows + top + 0.1
    # Fixed margins: every cell is the same size, so no tight_layout pass (which measured
    # each of up to 64 axes and took about as long as drawing them).
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, height), squeeze=False,
                             gridspec_kw={"left": 0.02, "right": 0.98, "bottom": 0.05 / height,
                                          "top": 1 - (top + 0.3) / height, "hspace": 0.3,
                                          "wspace": 0.1})
    # One grey scale for the whole grid so faint digits look faint.
    vmin, vmax = min(0.0, float(X.min())), max(1.0, float(X.max()))
    flat = axes.ravel()
    if heading:
        fig.suptitle(heading)
    for ax in flat:
        ax.set_axis_off()  # also hides the spare cells of the last row
    for ax, i in zip(flat, indices, strict=False):
        # Row-major unroll, so reshape directly (no transpose).
        ax.imshow(X[i].reshape(IMAGE_SHAPE), cmap="gray", vmin=vmin, vmax=vmax)
    return fig, list(flat[:n])


def _sample(count: int, n: int, seed) -> np.ndarray:
    """n distinct random indices out of range(count), reproducible for a given seed."""
    rng = np.random.default_rng(seed)
    return rng.choice(count, size=min(n, count), replace=False)


def plot_digit_grid(X, y, n: int = 64, seed=None, cols: int = 8) -> Figure:
    """Show n random digits from X, each titled with its label y."""
    X = as_images(X)
    y = as_labels("y", y, n=X.shape[0])
    idx = _sample(X.shape[0], check_count("n", n), seed)
    fig, axes = _image_grid(X, idx, check_count("cols", cols))
    for ax, i in zip(axes, idx, strict=True):
        ax.set_title(str(y[i]), fontsize=10)
    return fig


def _title_predictions(axes, idx, y_true, y_pred) -> None:
    """Title each image 'label,pred', red where the prediction is wrong."""
    for ax, i in zip(axes, idx, strict=True):
        wrong = y_true[i] != y_pred[i]
        ax.set_title(
            f"{y_true[i]},{y_pred[i]}", fontsize=10, color=WRONG_COLOR if wrong else RIGHT_COLOR
        )


def plot_predictions(X, y_true, y_pred, n: int = 64, seed=None, cols: int = 8) -> Figure:
    """Show n random digits titled 'label,prediction' (red where wrong)."""
    X = as_images(X)
    y_true = as_labels("y_true", y_true, n=X.shape[0])
    y_pred = as_labels("y_pred", y_pred, n=X.shape[0])
    idx = _sample(X.shape[0], check_count("n", n), seed)
    fig, axes = _image_grid(X, idx, check_count("cols", cols), "Label, Prediction")
    _title_predictions(axes, idx, y_true, y_pred)
    return fig


def plot_misclassified(X, y_true, y_pred, max_images: int = 64, cols: int = 8) -> Figure:
    """Show the misclassified digits (first max_images, in data order)."""
    X = as_images(X)
    y_true = as_labels("y_true", y_true, n=X.shape[0])
    y_pred = as_labels("y_pred", y_pred, n=X.shape[0])
    max_images = check_count("max_images", max_images)
    cols = check_count("cols", cols)
    wrong = np.flatnonzero(y_true != y_pred)
    summary = f"{len(wrong)} of {len(y_true)} misclassified"
    if len(wrong) == 0:
        # A perfect score is a normal outcome, so say so instead of raising.
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No misclassified digits", ha="center", va="center", fontsize=12)
        fig.suptitle(summary)
        return fig
    shown = wrong[:max_images]
    if len(shown) < len(wrong):
        summary += f" (showing first {len(shown)})"
    fig, axes = _image_grid(X, shown, cols, f"{summary}\nLabel, Prediction")
    _title_predictions(axes, shown, y_true, y_pred)
    return fig


def plot_loss(history) -> Figure:
    """Plot training (and validation, if present) loss per epoch.

    history: a Keras ``History`` (uses its ``.history`` dict) or a dict with a
    "loss" list and optionally "val_loss".
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"expected a Keras History or a dict with 'loss', got {type(history).__name__}"
        )
    if "loss" not in logs:
        raise ValueError(f"history has no 'loss' entry (keys: {sorted(logs)})")
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        if key not in logs:
            continue
        values = np.asarray(logs[key], dtype=float).ravel()
        if values.size == 0:
            plt.close(fig)  # do not leak a half-built figure on error
            raise ValueError(f"history['{key}'] is empty")
        ax.plot(np.arange(1, values.size + 1), values, marker=".", label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    if "val_loss" in logs:
        ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def plot_probabilities(probs, label=None) -> Figure:
    """Bar chart of the 10 class probabilities for one digit; the predicted class is highlighted."""
    p = np.asarray(probs, dtype=float)
    if p.shape == (1, 10):
        p = p[0]  # model.predict() on a single example
    if p.shape != (10,):
        raise ValueError(f"probs must be 10 class probabilities (shape (10,)), got {p.shape}")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1 + 1e-6:
        # Typical cause: a linear output layer, whose logits still need a softmax.
        raise ValueError("probs must lie in [0, 1]; apply a softmax to logits first")
    pred = int(np.argmax(p))
    fig, ax = plt.subplots(figsize=(5, 3))
    colors = [HIGHLIGHT_COLOR if d == pred else BAR_COLOR for d in range(10)]
    ax.bar(np.arange(10), p, color=colors)
    ax.set_xticks(np.arange(10))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    title = f"Prediction: {pred} (p={p[pred]:.2f})"
    if label is not None:
        title += f", label: {int(label)}"
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, num_classes: int = 10) -> Figure:
    """Confusion matrix as an image with the count written in each cell."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    k = cm.shape[0]
    fig, ax = plt.subplots(figsize=(0.55 * k + 1.5, 0.55 * k + 1.2))
    ax.imshow(cm, cmap="Blues", vmin=0)
    # White text on dark cells, black on light ones, so every count stays readable.
    threshold = cm.max() / 2 if cm.max() else 1
    for i in range(k):
        for j in range(k):
            color = "white" if cm[i, j] > threshold else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color, fontsize=8)
    ax.set_xticks(np.arange(k))
    ax.set_yticks(np.arange(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    return fig
