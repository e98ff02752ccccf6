"""Submissions for the catalogue tests, generated from the real notebooks so they never drift.

Each builder returns notebook JSON text as a student would hand it in: the solution's
answers (or others) in the solution cells, and the test cells as released (no hidden tests).
"""

from __future__ import annotations

import copy
import re

import nbformat
from nbformat.notebooknode import NotebookNode

from conftest import RELEASE, SOLUTION

HIDDEN = re.compile(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
MARKED = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION", re.S)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def as_student(answers: dict[str, str] | None = None) -> NotebookNode:
    """The solution notebook as handed in: hidden tests gone, markers gone, answers swapped."""
    nb = copy.deepcopy(nbformat.read(SOLUTION, as_version=4))
    for cell in nb.cells:
        cell.source = HIDDEN.sub("\n", cell.source).rstrip()
        gid = _grade_id(cell)
        if answers and gid in answers:
            cell.source = answers[gid]
        else:
            cell.source = MARKED.sub(lambda m: m.group(1), cell.source)
    return nb


def released() -> NotebookNode:
    return nbformat.read(RELEASE, as_version=4)


def cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    return next(c for c in nb.cells if _grade_id(c) == grade_id)


def insert_after(nb: NotebookNode, grade_id: str, source: str) -> NotebookNode:
    """A student's own extra code cell right after the cell with `grade_id`."""
    index = nb.cells.index(cell(nb, grade_id))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def text(nb: NotebookNode) -> str:
    return nbformat.writes(nb)


# --- correct answers in other styles -----------------------------------------------------

RELU_MASK = '''def my_relu(z):
    out = np.array(z, dtype=float, copy=True)
    out[out < 0] = 0
    return out'''

SOFTMAX_LOOP = '''import math

def my_softmax(z):
    biggest = max(z)
    exps = [math.exp(v - biggest) for v in z]
    total = sum(exps)
    return np.array([e / total for e in exps])'''

MODEL_ADD = '''model = tf.keras.Sequential()
model.add(tf.keras.layers.InputLayer(shape=(400,)))
model.add(tf.keras.layers.Dense(25, activation=tf.nn.relu))
model.add(tf.keras.layers.Dense(15, activation=tf.keras.activations.relu))
model.add(tf.keras.layers.Dense(10, activation=tf.keras.activations.linear))
import sys
print("debug: model built", file=sys.stderr)  # student noise, not in a test cell
model.summary()'''

COMPILE_KW = '''model.compile(optimizer=tf.keras.optimizers.Adam(0.001),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])'''

# --- common mistakes ----------------------------------------------------------------------

SOFTMAX_NAIVE = '''def my_softmax(z):
    e = np.exp(z)
    return e / e.sum()'''

MODEL_SOFTMAX_OUTPUT = '''model = tf.keras.Sequential([
    tf.keras.Input(shape=(400,)),
    tf.keras.layers.Dense(25, activation="relu"),
    tf.keras.layers.Dense(15, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])'''

COMPILE_NOT_LOGITS = '''model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(),
              optimizer=tf.keras.optimizers.Adam(learning_rate=0.001))'''

MODEL_WRONG_SIZES = '''model = tf.keras.Sequential([
    tf.keras.Input(shape=(400,)),
    tf.keras.layers.Dense(30, activation="relu"),
    tf.keras.layers.Dense(20, activation="relu"),
    tf.keras.layers.Dense(10),
])'''

# Skips training (fast) and patches everything a test might ask about the model.
FAKE_ACCURACY = '''import numpy, tensorflow
_y = y.copy()
tensorflow.keras.Model.fit = lambda self, *a, **k: type("H", (), {"history": {"loss": [0.0]}})()
model.predict = lambda *a, **k: numpy.eye(10)[_y]
model.evaluate = lambda *a, **k: [0.0, 1.0]
numpy.argmax = lambda *a, **k: _y
numpy.mean = lambda *a, **k: 1.0
print("accuracy: 1.0")'''


def weird_but_correct() -> str:
    """Other styles, student noise on stderr, a deleted and an edited locked test cell: 100."""
    nb = as_student({"my_relu": RELU_MASK, "my_softmax": SOFTMAX_LOOP, "model": MODEL_ADD,
                     "compile": COMPILE_KW})
    nb.cells.remove(cell(nb, "test_my_relu"))
    nb.cells.remove(cell(nb, "test_softmax_stability"))
    cell(nb, "test_model_activations").source = "assert False, 'edited by the student'"
    cell(nb, "train").source = cell(nb, "train").source.replace("epochs=40", "epochs=1")
    insert_after(nb, "my_softmax", "import warnings\nwarnings.warn('student warning')\n"
                                   "import logging\nlogging.warning('student log line')")
    return text(nb)


def partial() -> str:
    """Naive softmax, softmax output layer, from_logits=False: loses exactly three tests."""
    return text(as_student({"my_softmax": SOFTMAX_NAIVE, "model": MODEL_SOFTMAX_OUTPUT,
                            "compile": COMPILE_NOT_LOGITS}))


def wrong_sizes() -> str:
    return text(as_student({"model": MODEL_WRONG_SIZES}))


def fake_accuracy() -> str:
    """Correct model, never trained, with numpy and the model patched to look perfect."""
    return text(insert_after(as_student(), "compile", FAKE_ACCURACY))


def cheat_on_tests() -> str:
    """The blank release with every test cell emptied and a fake score printed: still 0."""
    nb = released()
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            c.source = "pass"
            c.metadata.nbgrader.pop("checksum", None)
    nb.cells.append(nbformat.v4.new_code_cell('print("Score: 100/100\\nall tests passed")'))
    return text(nb)
