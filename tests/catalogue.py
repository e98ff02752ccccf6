"""Submissions for the catalogue tests, generated from the real notebooks so they never drift.

Each builder returns notebook JSON text as a student would hand it in: the solution's
answers (or others) in the solution cells, and the test cells as released (no hidden tests).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from helpers import RELEASE, SOLUTION

HIDDEN = re.compile(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
MARKED = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION", re.S)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def as_student(answers: dict[str, str] | None = None, source: Path = SOLUTION) -> NotebookNode:
    """The solution notebook (``source``, digit_recognition's by default) as handed in:
    hidden tests gone, markers gone, answers swapped."""
    nb = copy.deepcopy(nbformat.read(source, as_version=4))
    for cell in nb.cells:
        cell.source = HIDDEN.sub("\n", cell.source).rstrip()
        gid = _grade_id(cell)
        if answers and gid in answers:
            cell.source = answers[gid]
        else:
            cell.source = MARKED.sub(lambda m: m.group(1), cell.source)
    return nb


def released(release: Path = RELEASE) -> NotebookNode:
    return nbformat.read(release, as_version=4)


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
    """Other styles, student noise on stderr, a deleted and an edited locked test cell: full
    marks."""
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


def cheat_on_tests(release: Path = RELEASE) -> str:
    """The blank release with every test cell emptied and a fake score printed: still 0."""
    nb = released(release)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            c.source = "pass"
            c.metadata.nbgrader.pop("checksum", None)
    nb.cells.append(nbformat.v4.new_code_cell('print("Score: 100/100\\nall tests passed")'))
    return text(nb)


# --- attacks on the function tests ---------------------------------------------------------
# Each makes the notebook's own tests of my_relu / my_softmax pass without implementing
# them, by patching what those tests call. Plain nbgrader gives them full marks on the
# attacked tests (test_catalogue.py shows it); our grader calls the functions itself in a
# fresh process and gives 0. The model is left out: training is not what they attack, and
# without it each grades in seconds.

NO_MODEL = {"model": "pass", "compile": "pass"}

# 1. sys.modules: every later `import numpy` in a test cell gets a fake whose results
#    compare equal to, smaller than and as finite as anything.
FAKE_NUMPY_MODULE = '''import sys, types

class _Anything:
    def __getattr__(self, name): return _Anything()
    def __call__(self, *a, **k): return _Anything()
    def __bool__(self): return True
    def __iter__(self): return iter(())
    __eq__ = __lt__ = __le__ = __gt__ = __ge__ = __sub__ = __rsub__ = __abs__ = __call__
    __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __getitem__ = __call__
    __hash__ = object.__hash__

_real_numpy = sys.modules["numpy"]
_fake = types.ModuleType("numpy")
_fake.__getattr__ = lambda name: _Anything()
_fake.shares_memory = lambda *a, **k: False
sys.modules["numpy"] = _fake

def my_relu(z):
    return _Anything()'''
FAKE_NUMPY_SOFTMAX = '''def my_softmax(z):
    return _Anything()'''
RESTORE_NUMPY_MODULE = 'sys.modules["numpy"] = _real_numpy'

# 2. numpy's own functions: asarray, shape and isfinite answer whatever the test wants.
PATCHED_NUMPY = '''import numpy
_saved = (numpy.asarray, numpy.shape, numpy.isfinite)

class _Anything:
    def __getattr__(self, name): return _Anything()
    def __call__(self, *a, **k): return _Anything()
    def __bool__(self): return True
    __eq__ = __lt__ = __sub__ = __rsub__ = __abs__ = __call__
    __hash__ = object.__hash__

numpy.asarray = numpy.shape = numpy.isfinite = lambda *a, **k: _Anything()

def my_softmax(z):
    return None'''
RESTORE_PATCHED_NUMPY = "numpy.asarray, numpy.shape, numpy.isfinite = _saved"

# 3. builtins: abs() makes every `abs(out - expected).max() < tolerance` pass.
PATCHED_BUILTINS = '''import builtins
_real_abs = builtins.abs
builtins.abs = lambda x: np.zeros(1)

def my_softmax(z):
    return np.zeros(np.shape(z))'''
RESTORE_BUILTINS = "builtins.abs = _real_abs"

ATTACKS = {  # name -> (answers, restore cell, the tests it attacks)
    "attack_fake_numpy_module": ({"my_relu": FAKE_NUMPY_MODULE, "my_softmax": FAKE_NUMPY_SOFTMAX},
                                 RESTORE_NUMPY_MODULE,
                                 {"test_my_relu", "test_my_softmax", "test_softmax_stability"}),
    "attack_patched_numpy": ({"my_softmax": PATCHED_NUMPY}, RESTORE_PATCHED_NUMPY,
                             {"test_my_softmax", "test_softmax_stability"}),
    "attack_patched_builtins": ({"my_softmax": PATCHED_BUILTINS}, RESTORE_BUILTINS,
                                {"test_my_softmax", "test_softmax_stability"}),
}


def attack(name: str) -> str:
    answers, restore, _ = ATTACKS[name]
    nb = as_student({**NO_MODEL, **answers})
    return text(insert_after(nb, "test_softmax_stability", restore))


# --- honest noise ---------------------------------------------------------------------------

RELU_PRINTS_TO_STDERR = '''import sys

def my_relu(z):
    print("debug: my_relu called", file=sys.stderr)  # a leftover debug line
    return np.maximum(0, z)'''

SOFTMAX_LOGS_AND_WARNS = '''import logging, warnings

log = logging.getLogger("my_softmax")
log.addHandler(logging.StreamHandler())  # to stderr
log.propagate = False

def my_softmax(z):
    log.warning("computing softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("this is only a warning", UserWarning)
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z))
    return e / np.sum(e)'''


def noisy_but_correct() -> str:
    """Correct functions that print to stderr, log, and raise a UserWarning while the tests
    call them: nbgrader would score those tests 0; they keep full marks."""
    return text(as_student({"my_relu": RELU_PRINTS_TO_STDERR,
                            "my_softmax": SOFTMAX_LOGS_AND_WARNS}))


# --- hostile files and processes outside the kernel (test_hostile_*.py) ---------------------

RELU_CRASHES_OUTSIDE = '''import os, sys

def my_relu(z):
    if "ipykernel" not in sys.modules:  # called by the grader, outside the notebook
        os._exit(3)
    return np.maximum(0, z)'''


def relu_crashes_outside() -> str:
    """A my_relu that ends its process when the grader calls it: it costs my_relu's test
    only, not my_softmax's (test_hostile_functions.py)."""
    return text(as_student({"my_relu": RELU_CRASHES_OUTSIDE}))


EXTERNAL_STORAGE_SAVE = '''import io, zipfile
import h5py

class _ExternalWeights:
    """The trained model, saved with every kernel's weights stored in another file: an
    HDF5 dataset with external storage, which h5py reads from wherever it says."""
    def __init__(self, model):
        self.model = model
    def save(self, path):
        self.model.save(path)
        with zipfile.ZipFile(path) as saved:
            kept = {n: saved.read(n) for n in saved.namelist() if n != "model.weights.h5"}
        weights = io.BytesIO()
        with h5py.File(weights, "w") as h5:
            for i, layer in enumerate(self.model.layers):
                kernel, bias = (w.numpy() for w in layer.weights)
                group = h5.create_group(f"layers/dense{'_%d' % i if i else ''}/vars")
                group.create_dataset("0", shape=kernel.shape, dtype="<f4",
                                     external=[(SECRET, 0, kernel.nbytes)])
                group.create_dataset("1", data=bias)
        with zipfile.ZipFile(path, "w") as out:
            for name, data in kept.items():
                out.writestr(name, data)
            out.writestr("model.weights.h5", weights.getvalue())

model = _ExternalWeights(model)  # the export cell saves `model` after the tests'''


def model_external_storage(secret, source: Path = SOLUTION) -> str:
    """The solution, whose saved model's weights point at ``secret``, a root-only file of
    the grader's machine (test_hostile_model.py)."""
    nb = as_student(source=source)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"SECRET = {str(secret)!r}\n{EXTERNAL_STORAGE_SAVE}"))
    return text(nb)
