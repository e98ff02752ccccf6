"""Tests for the figures and the confusion matrix in digit_helpers (no TensorFlow needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless; must happen before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from digit_helpers import (  # noqa: E402
    alt_text,
    confusion_matrix,
    plot_confusion_matrix,
    plot_digit_grid,
    plot_loss,
    plot_misclassified,
    plot_predictions,
    plot_probabilities,
)

RED = to_rgba("red")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def toy():
    """30 synthetic 20x20 'digits': image i has a bright pixel at a position set by i."""
    n = 30
    X = np.zeros((n, 400), dtype=np.float32)
    X[np.arange(n), np.arange(n) * 13 % 400] = 1.0
    y = np.arange(n) % 10
    return X, y


def _grid(fig: Figure):
    """The grid's one image and its titles: each title is centred just above its tile."""
    (ax,) = fig.axes
    (image,) = ax.images
    return np.ma.filled(image.get_array(), np.nan), ax.texts


def _tile(mosaic: np.ndarray, title) -> np.ndarray:
    x, y = title.get_position()
    row, col = int(round(y)) + 1, int(round(x - 10))
    return mosaic[row:row + 20, col:col + 20]


def _tiles(fig: Figure) -> list[np.ndarray]:
    mosaic, titles = _grid(fig)
    return [_tile(mosaic, t) for t in titles]


def _titles(fig: Figure):
    return [t.get_text() for t in _grid(fig)[1]]


def _shown_rows(fig: Figure, X: np.ndarray) -> list[int]:
    """Which rows of X each tile shows, in title order (compared pixel for pixel)."""
    rows = []
    for tile in _tiles(fig):
        matches = [i for i in range(len(X)) if np.array_equal(X[i].reshape(20, 20), tile)]
        assert len(matches) == 1
        rows.append(matches[0])
    return rows


# --- plot_digit_grid -----------------------------------------------------------------


def test_digit_grid_shows_n_labelled_images(toy):
    X, y = toy
    fig = plot_digit_grid(X, y, n=12, seed=0, cols=5)
    assert isinstance(fig, Figure)
    mosaic, titles = _grid(fig)
    assert len(titles) == 12
    rows = _shown_rows(fig, X)
    assert len(set(rows)) == 12  # sampled without replacement
    assert _titles(fig) == [str(y[i]) for i in rows]
    # 3 rows x 5 columns, left to right then down; the last row's 3 spare cells stay empty.
    corners = [(int(round(t.get_position()[1])), int(round(t.get_position()[0]))) for t in titles]
    assert [r for r, _ in corners] == sorted(r for r, _ in corners)
    assert len({r for r, _ in corners}) == 3 and len({c for _, c in corners}) == 5
    last_row = mosaic[corners[-1][0] + 1:]
    assert np.isnan(last_row[:, corners[-1][1] + 11:]).all()
    assert not fig.axes[0].axison


def test_digit_grid_is_reproducible_and_row_major(toy):
    X, y = toy
    rows_a = _shown_rows(plot_digit_grid(X, y, n=8, seed=3), X)
    rows_b = _shown_rows(plot_digit_grid(X, y, n=8, seed=3), X)
    assert rows_a == rows_b
    # Feature k of the unrolled row is pixel (k // 20, k % 20): row-major, no transpose.
    X2 = np.zeros((1, 400))
    X2[0, 3] = 1.0  # row 0, column 3
    (img,) = _tiles(plot_digit_grid(X2, [7], n=1))
    assert img[0, 3] == 1.0 and img[3, 0] == 0.0


def test_digit_grid_caps_n_at_dataset_size(toy):
    X, y = toy
    assert len(_titles(plot_digit_grid(X, y, n=100, seed=1))) == len(X)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros((5, 784)), np.zeros(5, int), r"\(n, 400\)"),
        (np.zeros((5, 400)), np.zeros(4, int), "4 entries but 5"),
        (np.zeros((5, 400)), np.zeros((5, 10)), "argmax"),
        (np.zeros((5, 400)), np.full(5, 0.5), "whole-number"),
    ],
)
def test_digit_grid_rejects_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        plot_digit_grid(X, y)


def test_digit_grid_rejects_bad_counts(toy):
    X, y = toy
    with pytest.raises(ValueError, match="n must be a positive integer"):
        plot_digit_grid(X, y, n=0)
    with pytest.raises(ValueError, match="cols must be a positive integer"):
        plot_digit_grid(X, y, cols=0)


# --- plot_predictions / plot_misclassified ------------------------------------------


def test_predictions_titles_and_red_for_wrong(toy):
    X, y = toy
    y_pred = y.copy()
    y_pred[[2, 5, 11]] = (y[[2, 5, 11]] + 1) % 10
    fig = plot_predictions(X, y, y_pred, n=30, seed=0)
    assert fig._suptitle.get_text() == "Label, Prediction"
    rows = _shown_rows(fig, X)
    assert sorted(rows) == list(range(30))
    for title, i in zip(_grid(fig)[1], rows, strict=True):
        assert title.get_text() == f"{y[i]},{y_pred[i]}"
        is_red = to_rgba(title.get_color()) == RED
        assert is_red == (y[i] != y_pred[i])


def test_misclassified_shows_only_wrong_ones_with_count(toy):
    X, y = toy
    wrong = [1, 4, 7, 20, 29]
    y_pred = y.copy()
    y_pred[wrong] = (y[wrong] + 3) % 10
    fig = plot_misclassified(X, y, y_pred)
    assert "5 of 30 misclassified" in fig._suptitle.get_text()
    assert _shown_rows(fig, X) == wrong
    assert _titles(fig) == [f"{y[i]},{y_pred[i]}" for i in wrong]
    assert all(to_rgba(t.get_color()) == RED for t in _grid(fig)[1])


@pytest.mark.parametrize("wrong", [[0], [0, 5]])
def test_the_heading_fits_a_grid_of_one_or_two_digits(toy, wrong):
    """A model that gets only one or two digits wrong (the binary lab's gets one) draws a
    grid one or two tiles wide: its heading must still fit inside the figure."""
    X, y = toy
    y_pred = y.copy()
    y_pred[wrong] = (y[wrong] + 1) % 10
    fig = plot_misclassified(X, y, y_pred)
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert fig._suptitle.get_text().startswith(f"{len(wrong)} of 30 misclassified")
    assert 0 <= box.x0 and box.x1 <= fig.bbox.x1, (box, fig.bbox)
    (image,) = fig.axes[0].get_images()  # the tiles, centred under it
    left, right = fig.axes[0].get_position().x0, fig.axes[0].get_position().x1
    assert left == pytest.approx(1 - right)


def test_misclassified_respects_max_images(toy):
    X, y = toy
    y_pred = (y + 1) % 10  # all 30 wrong
    fig = plot_misclassified(X, y, y_pred, max_images=7, cols=4)
    assert len(_titles(fig)) == 7
    assert "30 of 30 misclassified (showing first 7)" in fig._suptitle.get_text()


def test_misclassified_with_none_wrong_says_so(toy):
    X, y = toy
    fig = plot_misclassified(X, y, y.copy())
    assert len(fig.axes) == 1 and not fig.axes[0].images
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["No misclassified digits"]
    assert fig._suptitle.get_text() == "0 of 30 misclassified"


def test_prediction_plots_reject_mismatched_lengths(toy):
    X, y = toy
    with pytest.raises(ValueError, match="y_pred has 29 entries but 30"):
        plot_predictions(X, y, y[:-1])
    with pytest.raises(ValueError, match="y_true has 10 entries but 30"):
        plot_misclassified(X, y[:10], y)


# --- plot_loss -----------------------------------------------------------------------


class FakeHistory:
    """Stands in for keras.callbacks.History, which keeps its logs in `.history`."""

    def __init__(self, logs):
        self.history = logs


def test_loss_curve_from_history_object():
    loss = [2.3, 1.1, 0.7, 0.5]
    fig = plot_loss(FakeHistory({"loss": loss, "accuracy": [0.1, 0.5, 0.8, 0.9]}))
    ax = fig.axes[0]
    assert len(ax.lines) == 1
    x, yv = ax.lines[0].get_data()
    assert list(x) == [1, 2, 3, 4]
    np.testing.assert_array_equal(yv, loss)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("epoch", "loss", "Training loss")
    assert ax.get_legend() is None


def test_loss_curve_with_validation_from_dict():
    logs = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.2, 0.8, 0.7]}
    ax = plot_loss(logs).axes[0]
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), logs["loss"])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), logs["val_loss"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["training loss", "validation loss"]


def test_loss_errors():
    with pytest.raises(ValueError, match="no 'loss'"):
        plot_loss({"accuracy": [0.5]})
    with pytest.raises(ValueError, match="empty"):
        plot_loss({"loss": []})
    with pytest.raises(TypeError, match="History"):
        plot_loss([1.0, 0.5])


# --- plot_probabilities --------------------------------------------------------------


def test_probability_bars_match_input_and_highlight_argmax():
    probs = np.array([0.01, 0.02, 0.05, 0.80, 0.02, 0.03, 0.01, 0.02, 0.03, 0.01])
    fig = plot_probabilities(probs, label=3)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 10
    np.testing.assert_allclose([b.get_height() for b in bars], probs)
    assert [round(b.get_x() + b.get_width() / 2) for b in bars] == list(range(10))
    colors = [b.get_facecolor() for b in bars]
    assert all(c != colors[3] for i, c in enumerate(colors) if i != 3)
    assert len(set(colors)) == 2
    assert ax.get_title() == "Prediction: 3 (p=0.80), label: 3"


def test_probability_title_without_label_and_batch_of_one():
    probs = np.zeros((1, 10))
    probs[0, 7] = 1.0
    assert plot_probabilities(probs).axes[0].get_title() == "Prediction: 7 (p=1.00)"


@pytest.mark.parametrize(
    ("probs", "match"),
    [
        (np.full(9, 0.1), r"shape \(10,\)"),
        (np.full((2, 10), 0.1), r"shape \(10,\)"),
        (np.linspace(-3, 3, 10), "softmax"),
    ],
)
def test_probability_rejects_bad_input(probs, match):
    with pytest.raises(ValueError, match=match):
        plot_probabilities(probs)


# --- confusion matrix ----------------------------------------------------------------


def test_confusion_matrix_small_example():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    cm = confusion_matrix(y_true, y_pred, num_classes=3)
    expected = np.array([[1, 1, 0], [0, 2, 1], [1, 0, 0]])
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == 6 and np.trace(cm) == 3


def test_confusion_matrix_figure_shows_counts():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    fig = plot_confusion_matrix(y_true, y_pred, num_classes=3)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    np.testing.assert_array_equal(ax.images[0].get_array(), confusion_matrix(y_true, y_pred, 3))
    # Texts are written row by row: cell (i, j) sits at x=j, y=i.
    cells = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {
        (0, 0): "1",
        (0, 1): "1",
        (0, 2): "0",
        (1, 0): "0",
        (1, 1): "2",
        (1, 2): "1",
        (2, 0): "1",
        (2, 1): "0",
        (2, 2): "0",
    }
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "predicted",
        "true",
        "Confusion matrix",
    )


def test_confusion_matrix_default_is_10x10():
    y = np.arange(10).repeat(3)
    cm = confusion_matrix(y, y)
    assert cm.shape == (10, 10)
    np.testing.assert_array_equal(cm, 3 * np.eye(10, dtype=int))


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="lie in 0..2"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match="lie in 0..9"):
        confusion_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match="2 entries but 3"):
        plot_confusion_matrix([0, 1, 2], [0, 1])


def test_matplotlib_is_imported_only_when_a_figure_is_asked_for():
    """The grader imports digit_helpers for the data set's location; it must start fast."""
    import subprocess
    import sys

    code = ("import sys, digit_helpers\n"
            "assert 'matplotlib' not in sys.modules, 'imported with the package'\n"
            "from digit_helpers import plot_loss, plot_relu, layer_table\n"
            "assert 'matplotlib.pyplot' in sys.modules\n"
            "assert sorted(dir(digit_helpers)) == sorted(digit_helpers.__all__)\n"
            "try:\n    digit_helpers.plot_nothing\nexcept AttributeError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "module 'digit_helpers' has no attribute 'plot_nothing'"


# --- what each figure says it shows (its alt text) ------------------------------------------

TILE = "a 20×20 grayscale image (white strokes on black)"


def test_a_digit_grid_says_how_many_digits_of_each_label(toy):
    X, y = toy
    fig = plot_digit_grid(X, y % 2, n=30, seed=0, cols=8)
    assert alt_text(fig) == (f"30 handwritten digits picked at random, each {TILE} titled with "
                             "its label, in 4 rows of 8 (the last one shorter). They show 15 "
                             "zeros and 15 ones.")
    fig = plot_digit_grid(X, y, n=12, seed=3, cols=6)
    shown, said = [int(t) for t in _titles(fig)], alt_text(fig)
    assert "in 2 rows of 6. They show " in said
    for digit, name in enumerate(("zero", "one", "two", "three", "four", "five", "six",
                                  "seven", "eight", "nine")):
        count = shown.count(digit)
        if count:
            assert f"{count} {name}" in said, (digit, said)


def test_predictions_and_misclassified_name_each_mistake(toy):
    X, y = toy
    wrong = [1, 4, 7, 20, 29]
    y_pred = y.copy()
    y_pred[wrong] = (y[wrong] + 3) % 10
    mistakes = [f"label {y[i]} predicted as {y_pred[i]}" for i in wrong]
    assert alt_text(plot_misclassified(X, y, y_pred)) == (
        f"The 5 digits of 30 the model misclassifies, each {TILE} titled 'label,prediction' "
        f"in red, in one row, in data order: {', '.join(mistakes[:4])} and {mistakes[4]}.")
    said = alt_text(plot_predictions(X, y, y_pred, n=30, seed=0))
    assert said.startswith(f"30 digits picked at random, each {TILE} titled 'label,prediction',"
                           " in 4 rows of 8 (the last one shorter): 25 predicted correctly, 5 "
                           "wrongly, their titles in red: label ")
    assert all(m in said for m in mistakes), said
    assert alt_text(plot_predictions(X, y, y, n=8)).endswith("8 predicted correctly, "
                                                              "none wrongly.")
    assert alt_text(plot_misclassified(X, y, y)) == ("No misclassified digits: all 30 are "
                                                     "predicted correctly.")
    assert alt_text(plot_misclassified(X[:3], y[:3], [0, 2, 2])) == (
        f"The one digit of 3 the model misclassifies, {TILE} titled 'label,prediction' in red: "
        "label 1 predicted as 2.")
    # at most ten are named; the first ones shown, and how many of all there are
    said = alt_text(plot_misclassified(X, y, (y + 1) % 10, max_images=12, cols=6))
    assert said.startswith("The 30 digits of 30 the model misclassifies (showing the first 12)")
    assert "label 9 predicted as 0 and 2 more." in said and "label 0 predicted as 1, " in said


def test_the_loss_curve_says_where_it_starts_ends_and_bottoms_out():
    assert alt_text(plot_loss({"loss": [0.693, 0.2, 0.0269]})) == (
        "Line chart of the loss per epoch, epochs 1 to 3: the training loss falls from 0.693 "
        "at epoch 1 to 0.0269 at epoch 3.")
    assert alt_text(plot_loss(FakeHistory({"loss": [1.0, 0.6, 0.4],
                                           "val_loss": [1.2, 0.8, 0.9]}))) == (
        "Line chart of two curves of the loss per epoch, epochs 1 to 3: the training loss "
        "falls from 1 at epoch 1 to 0.4 at epoch 3; the validation loss falls from 1.2 at "
        "epoch 1 to 0.9 at epoch 3 (lowest: 0.8 at epoch 2).")


def test_the_probabilities_say_the_prediction_and_every_value():
    probs = np.array([0.01, 0.02, 0.05, 0.80, 0.02, 0.03, 0.01, 0.02, 0.03, 0.01])
    assert alt_text(plot_probabilities(probs, label=5)) == (
        "Bar chart of the probability of each digit, 0 to 9: the prediction is 3, with "
        "probability 0.80 (the orange bar), and the label is 5. Each digit's probability: "
        "0: 0.01, 1: 0.02, 2: 0.05, 3: 0.80, 4: 0.02, 5: 0.03, 6: 0.01, 7: 0.02, 8: 0.03, 9: 0.01.")


def test_the_confusion_matrix_says_its_counts():
    said = alt_text(plot_confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 0], 3))
    assert said == ("Confusion matrix of 6 digits, 3 by 3: a row for each true label, 0, 1 and "
                    "2, a column for each predicted one, and the count in each cell. 3 lie on "
                    "the diagonal (predicted correctly), 3 off it. Of the 2 labelled 0: 1 "
                    "predicted 0, 1 predicted 1 and 0 predicted 2. Of the 3 labelled 1: 0 "
                    "predicted 0, 2 predicted 1 and 1 predicted 2. Of the 1 labelled 2: 1 "
                    "predicted 0, 0 predicted 1 and 0 predicted 2.")
    y = np.repeat(np.arange(10), 5)
    y_pred = y.copy()
    y_pred[[0, 1, 2]] = 6  # three 0s as 6
    y_pred[[45, 46]] = 4  # two 9s as 4
    y_pred[20] = 7  # one 4 as 7
    assert alt_text(plot_confusion_matrix(y, y_pred)) == (
        "Confusion matrix of 50 digits, 10 by 10: a row for each true label, 0 to 9, a column "
        "for each predicted one, and the count in each cell. 44 lie on the diagonal (predicted "
        "correctly), 6 off it. The most frequent mistakes: 0 predicted as 6 (3 times), 9 "
        "predicted as 4 (twice) and 4 predicted as 7 (once).")


# Each helper called in a real Jupyter kernel, as a notebook calls it (with ";").
KERNEL_DATA = """import numpy as np
from digit_helpers import *
X = np.random.default_rng(0).random((30, 400))
y = np.arange(30) % 10
y_pred = np.where(np.arange(30) % 7 == 0, (y + 1) % 10, y)"""
KERNEL_CALLS = [
    "plot_digit_grid(X, y, n=16, seed=1)", "plot_predictions(X, y, y_pred, n=12, seed=2)",
    "plot_misclassified(X, y, y_pred)", "plot_misclassified(X, y, y)",
    "plot_loss({'loss': [2.3, 0.9, 0.4], 'val_loss': [2.2, 1.0, 0.6]})",
    "plot_probabilities(np.full(10, 0.1))", "plot_confusion_matrix(y, y_pred)",
    "plot_relu()", "plot_sigmoid()", "plot_softmax([1.0, 2.0], [0.27, 0.73])",
    "plot_network()", "plot_network((400, 25, 1), ('sigmoid', 'sigmoid'), outputs=('P(1)',))",
]
PLACEHOLDER = "No description has been provided for this image"


@pytest.mark.slow  # a kernel: about 2 s
def test_in_jupyter_each_figure_is_shown_once_with_its_description():
    """In a Jupyter kernel (inline backend) each helper shows its figure once, as it is
    called, with its description as the PNG's alt text (output metadata) and as its text;
    nbconvert's classic HTML, which nbgrader's feedback and formgrader pages extend and the
    course configures (nbgrader_config.py: the sanitizers), writes it as the <img>'s alt."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    from traitlets.config.loader import PyFileConfigLoader

    from helpers import ROOT

    names: dict = {}
    exec(KERNEL_DATA, names)
    expected = [alt_text(eval(call, names)) for call in KERNEL_CALLS]
    assert all(expected) and len(set(expected)) == len(expected)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_DATA)] + [
        nbformat.v4.new_code_cell(call + ";") for call in KERNEL_CALLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell, alt in zip(nb.cells[1:], expected, strict=True):
        (output,) = cell.outputs  # shown once: not again by the backend at the cell's end
        assert output.output_type == "display_data", output
        assert output.metadata == {"image/png": {"alt": alt}}
        assert output.data["text/plain"] == alt and output.data["image/png"]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    for library in ("jquery_url", "require_js_url", "mathjax_url"):  # no CDN: offline, fast
        config.HTMLExporter[library] = ""
    page, _ = HTMLExporter(config=config, template_name="classic").from_notebook_node(nb)
    assert image_alts(page) == expected
    assert PLACEHOLDER not in page


def image_alts(page: str) -> list[str | None]:
    """The alt text of each <img> of an HTML page, in order (None: it has none)."""
    from html.parser import HTMLParser

    class Images(HTMLParser):
        alts: list[str | None] = []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.alts.append(dict(attrs).get("alt"))

    parser = Images()
    parser.alts = []
    parser.feed(page)
    return parser.alts
