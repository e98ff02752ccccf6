"""Figures for exploring the digits and a trained model's predictions.

Every function builds its figure through ``pyplot``, returns the ``Figure`` and never calls
``plt.show()``. Each figure carries a description of what it shows, in words a screen reader
can read (``digit_helpers.figures``): in Jupyter it is shown at once with it, as the image's
alt text, and closed. Elsewhere, call ``plt.close(fig)`` when you no longer need a figure.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._validate import IMAGE_SHAPE, as_images, as_labels, check_count
from .figures import show
from .metrics import confusion_matrix

RIGHT_COLOR = "black"
WRONG_COLOR = "red"
HIGHLIGHT_COLOR = "tab:orange"
BAR_COLOR = "tab:blue"


# The grid is one image: tiles of 20x20 pixels with a title band above each and gaps between,
# measured in the data set's pixels. One axes instead of one per digit: laying out and drawing
# an axes per digit took seconds a grid, every time a notebook ran (bench/README.md).
_TILE = IMAGE_SHAPE[0]
_GAP = 2
_TITLE_BAND = 7
_CELL_W = _TILE + _GAP
_CELL_H = _TITLE_BAND + _TILE + _GAP


def _image_grid(X: np.ndarray, indices: np.ndarray, cols: int, titles: list[str],
                colors: list[str] | None = None,
                heading: str | None = None) -> Figure:
    """Draw X[indices] as 20x20 images in rows of `cols`, each under its title, beneath an
    optional heading. The tile of image k starts at row `_CELL_H * (k // cols) + _TITLE_BAND`,
    column `_CELL_W * (k % cols)` of the figure's one image; its title is centred above it."""
    n = len(indices)
    cols = min(cols, n)
    rows = -(-n // cols)  # ceiling division
    width, height = _CELL_W * cols - _GAP, _CELL_H * rows - _GAP
    mosaic = np.full((height, width), np.nan)  # NaN: the gaps, drawn in the background colour
    ax_w = 1.1 * cols * 0.96  # inches
    ax_h = ax_w * height / width
    lines = heading.count("\n") + 1 if heading else 0
    top = 0.25 * lines  # inches above the first row's titles
    # Wide enough for the heading too (about 0.1 inch a character): a grid of one or two
    # digits, such as a model's only misclassified one, would cut it at both sides.
    longest = max(map(len, heading.splitlines())) if heading else 0
    fig_w, fig_h = max(1.1 * cols, 0.1 * longest + 0.3), ax_h + top + 0.1
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes(((fig_w - ax_w) / 2 / fig_w, 0.1 / fig_h, ax_w / fig_w, ax_h / fig_h))
    ax.set_axis_off()
    for k, (i, title) in enumerate(zip(indices, titles, strict=True)):
        r, c = divmod(k, cols)
        y0, x0 = _CELL_H * r + _TITLE_BAND, _CELL_W * c
        # Row-major unroll, so reshape directly (no transpose).
        mosaic[y0:y0 + _TILE, x0:x0 + _TILE] = X[i].reshape(IMAGE_SHAPE)
        ax.text(x0 + _TILE / 2, y0 - 1, title, ha="center", va="bottom", fontsize=10,
                color=colors[k] if colors else RIGHT_COLOR)
    # One grey scale for the whole grid so faint digits look faint.
    vmin, vmax = min(0.0, float(X.min())), max(1.0, float(X.max()))
    cmap = plt.get_cmap("gray").with_extremes(bad=fig.get_facecolor())
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=vmin, vmax=vmax,
              interpolation="nearest", aspect="auto")
    if heading:
        fig.suptitle(heading, y=1 - 0.05 / fig_h, va="top")
    return fig


def _sample(count: int, n: int, seed) -> np.ndarray:
    """n distinct random indices out of range(count), reproducible for a given seed."""
    rng = np.random.default_rng(seed)
    return rng.choice(count, size=min(n, count), replace=False)


# --- descriptions: what each figure shows, in words a screen reader can read ----------------

MISTAKES_NAMED = 10  # a description names at most this many misclassified digits


def _g(value: float) -> str:
    """A number as a figure's labels write it: 3 significant digits."""
    return f"{value:.3g}"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _layout(n: int, cols: int) -> str:
    """'in 8 rows of 8', 'in 3 rows of 5 (the last one shorter)', 'in one row'."""
    cols = min(cols, n)
    rows = -(-n // cols)
    if rows == 1:
        return "in one row"
    return f"in {rows} rows of {cols}" + (" (the last one shorter)" if n % cols else "")


TILE = "a 20×20 grayscale image (white strokes on black)"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _by_label(labels: np.ndarray) -> str:
    """'31 zeros and 33 ones': how many of each label, in order."""
    values, counts = np.unique(labels, return_counts=True)
    return _and([_count(int(c), DIGITS[v], DIGITS[v] + ("es" if v == 6 else "s"))
                 if 0 <= v < len(DIGITS) else f"{c} labelled {v}"
                 for v, c in zip(values, counts, strict=True)])


def _mistakes(idx, y_true, y_pred) -> str:
    """'label 1 predicted as 0, label 4 predicted as 9 and 3 more' for the wrong ones."""
    wrong = [i for i in idx if y_true[i] != y_pred[i]]
    named = [f"label {y_true[i]} predicted as {y_pred[i]}" for i in wrong[:MISTAKES_NAMED]]
    if len(wrong) > MISTAKES_NAMED:
        named.append(f"{len(wrong) - MISTAKES_NAMED} more")
    return _and(named)


# --- the figures ---------------------------------------------------------------------------


def plot_digit_grid(X, y, n: int = 64, seed=None, cols: int = 8) -> Figure:
    """Show n random digits from X, each titled with its label y."""
    X = as_images(X)
    y = as_labels("y", y, n=X.shape[0])
    idx = _sample(X.shape[0], check_count("n", n), seed)
    cols = check_count("cols", cols)
    fig = _image_grid(X, idx, cols, [str(y[i]) for i in idx])
    return show(fig, f"{_count(len(idx), 'handwritten digit')} picked at random, each {TILE} "
                     f"titled with its label, {_layout(len(idx), cols)}. They show "
                     f"{_by_label(y[idx])}.")


def _prediction_grid(X, idx, cols, y_true, y_pred, heading: str) -> Figure:
    """The images X[idx] titled 'label,pred', red where the prediction is wrong."""
    titles = [f"{y_true[i]},{y_pred[i]}" for i in idx]
    colors = [WRONG_COLOR if y_true[i] != y_pred[i] else RIGHT_COLOR for i in idx]
    return _image_grid(X, idx, cols, titles, colors, heading)


def plot_predictions(X, y_true, y_pred, n: int = 64, seed=None, cols: int = 8) -> Figure:
    """Show n random digits titled 'label,prediction' (red where wrong)."""
    X = as_images(X)
    y_true = as_labels("y_true", y_true, n=X.shape[0])
    y_pred = as_labels("y_pred", y_pred, n=X.shape[0])
    idx = _sample(X.shape[0], check_count("n", n), seed)
    cols = check_count("cols", cols)
    fig = _prediction_grid(X, idx, cols, y_true, y_pred, "Label, Prediction")
    wrong = int((y_true[idx] != y_pred[idx]).sum())
    alt = (f"{_count(len(idx), 'digit')} picked at random, each {TILE} titled "
           f"'label,prediction', {_layout(len(idx), cols)}: {len(idx) - wrong} predicted "
           "correctly, ")
    alt += (f"{wrong} wrongly, their titles in red: {_mistakes(idx, y_true, y_pred)}."
            if wrong else "none wrongly.")
    return show(fig, alt)


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
        return show(fig, f"No misclassified digits: all {len(y_true)} are predicted correctly.")
    shown = wrong[:max_images]
    if len(shown) < len(wrong):
        summary += f" (showing first {len(shown)})"
    fig = _prediction_grid(X, shown, cols, y_true, y_pred, f"{summary}\nLabel, Prediction")
    if len(wrong) == 1:
        alt = (f"The one digit of {len(y_true)} the model misclassifies, {TILE} titled "
               f"'label,prediction' in red: {_mistakes(shown, y_true, y_pred)}.")
    else:
        first = f" (showing the first {len(shown)})" if len(shown) < len(wrong) else ""
        alt = (f"The {len(wrong)} digits of {len(y_true)} the model misclassifies{first}, "
               f"each {TILE} titled 'label,prediction' in red, "
               f"{_layout(len(shown), cols)}, in data order: "
               f"{_mistakes(shown, y_true, y_pred)}.")
    return show(fig, alt)


def _curve(name: str, values: np.ndarray) -> str:
    """'the training loss falls from 0.693 at epoch 1 to 0.0269 at epoch 20 (lowest ...)'."""
    first, last, low = values[0], values[-1], int(np.argmin(values))
    if values.size == 1:
        return f"the {name} is {_g(first)} at epoch 1"
    trend = "falls" if last < first else "rises" if last > first else "ends where it starts"
    text = f"the {name} {trend} from {_g(first)} at epoch 1 to {_g(last)} at epoch {values.size}"
    if low != values.size - 1 and values[low] < min(first, last):
        text += f" (lowest: {_g(values[low])} at epoch {low + 1})"
    return text


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
    curves = []
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        if key not in logs:
            continue
        values = np.asarray(logs[key], dtype=float).ravel()
        if values.size == 0:
            plt.close(fig)  # do not leak a half-built figure on error
            raise ValueError(f"history['{key}'] is empty")
        ax.plot(np.arange(1, values.size + 1), values, marker=".", label=label)
        curves.append(_curve(label, values))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    if "val_loss" in logs:
        ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    epochs = len(np.ravel(logs["loss"]))
    lines = "Line chart" if len(curves) == 1 else "Line chart of two curves"
    return show(fig, f"{lines} of the loss per epoch, epochs 1 to {epochs}: "
                     + "; ".join(curves) + ".")


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
    labelled = f", and the label is {int(label)}" if label is not None else ""
    each = ", ".join(f"{d}: {p[d]:.2f}" for d in range(10))
    return show(fig, f"Bar chart of the probability of each digit, 0 to 9: the prediction is "
                     f"{pred}, with probability {p[pred]:.2f} (the orange bar){labelled}. "
                     f"Each digit's probability: {each}.")


def _confusion_alt(cm: np.ndarray) -> str:
    """The matrix's size, how many on and off the diagonal, and its rows (small) or its most
    frequent mistakes (large)."""
    k, total, right = cm.shape[0], int(cm.sum()), int(np.trace(cm))
    text = (f"Confusion matrix of {total} digits, {k} by {k}: a row for each true label, "
            f"{_and([str(i) for i in range(k)]) if k <= 3 else f'0 to {k - 1}'}, a column for "
            "each predicted one, and the count in each cell. "
            f"{right} lie on the diagonal (predicted correctly), {total - right} off it.")
    if k <= 3:
        return text + "".join(
            f" Of the {int(cm[i].sum())} labelled {i}: "
            + _and([f"{int(cm[i, j])} predicted {j}" for j in range(k)]) + "."
            for i in range(k))
    off = [(int(cm[i, j]), i, j) for i in range(k) for j in range(k) if i != j and cm[i, j]]
    off.sort(key=lambda t: (-t[0], t[1], t[2]))
    if off:
        times = {1: "once", 2: "twice"}
        text += " The most frequent mistakes: " + _and(
            [f"{i} predicted as {j} ({times.get(n, f'{n} times')})" for n, i, j in off[:5]]) + "."
    return text


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
    return show(fig, _confusion_alt(cm))
