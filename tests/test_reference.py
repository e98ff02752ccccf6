"""The reference build, the model export cell and the trusted numpy forward pass."""

from __future__ import annotations

import json
import math
from importlib.metadata import version
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.grader.reference import run_notebook, write_reference
from autograder.model.saved_model import (
    ModelShapeError,
    accuracy,
    check_weights,
    forward,
    read_saved_model,
)
from autograder.student.export_cell import export_cell_source

from helpers import SOLUTION, digit_assignment


def load_weights(path: Path) -> list[np.ndarray]:
    return read_saved_model(path, SHAPES).weights

SHAPES = [(400, 25), (25,), (25, 15), (15,), (15, 10), (10,)]
ACTIVATIONS = ("relu", "relu", "linear")


def forward_logits(weights, X):
    return forward(weights, X, ACTIVATIONS)


def random_weights(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.3, size=shape).astype(np.float32) for shape in SHAPES]


# --------------------------------------------------------------- grader/saved_model.py


def test_forward_logits_on_hand_computed_weights():
    weights = [np.zeros(shape) for shape in SHAPES]
    weights[1][:3] = [-1.0, 2.0, 3.0]  # b1: relu keeps 2 and 3 (inputs X are ignored: W1 = 0)
    weights[2][1, 0] = 1.0  # unit 0 of layer 2 gets 2
    weights[2][2, 1] = -1.0  # unit 1 of layer 2 gets -3 -> relu -> 0
    weights[3][2] = -4.0  # unit 2 of layer 2 gets -4 -> relu -> 0
    weights[4][0, 7] = 5.0  # logit 7 = 5 * 2
    weights[4][1, 3] = 100.0  # unit 1 is 0 after relu, so logit 3 stays at its bias
    weights[5][3] = 0.5
    X = np.random.default_rng(1).random((4, 400))
    expected = np.zeros(10)
    expected[7], expected[3] = 10.0, 0.5
    logits = forward_logits(weights, X)
    assert logits.shape == (4, 10)
    np.testing.assert_array_equal(logits, np.tile(expected, (4, 1)))
    assert accuracy(weights, X, np.array([7, 7, 3, 7]), ACTIVATIONS) == 0.75


def test_check_weights_rejects_other_networks():
    weights = random_weights()
    with pytest.raises(ModelShapeError, match="expected weight shapes"):
        check_weights(weights[:4], SHAPES)
    with pytest.raises(ModelShapeError, match="expected weight shapes"):
        check_weights([w.T for w in weights], SHAPES)
    weights[3][0] = np.nan
    with pytest.raises(ModelShapeError, match="NaN"):
        check_weights(weights, SHAPES)


@pytest.mark.slow  # imports Keras and TensorFlow
def test_forward_logits_matches_keras_dense_layers():
    import keras

    weights = random_weights(seed=7)
    model = keras.Sequential([
        keras.Input(shape=(400,)),
        keras.layers.Dense(25, activation="relu"),
        keras.layers.Dense(15, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.set_weights(weights)
    X = np.random.default_rng(2).random((50, 400)).astype(np.float32)
    np.testing.assert_allclose(
        forward_logits(weights, X), model.predict(X, verbose=0), rtol=1e-4, atol=1e-4
    )


# --------------------------------------------------------------- student/export_cell.py


EXPORT_SCENARIO = """
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import warnings

warnings.filterwarnings("ignore")
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(400,)),
    keras.layers.Dense(25, activation="relu"),
    keras.layers.Dense(15, activation="relu"),
    keras.layers.Dense(10),
])
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="adam")
rng = np.random.default_rng(0)
X = rng.random((64, 400)).astype("float32")
y = rng.integers(0, 10, 64)
history = model.fit(X, y, epochs=2, verbose=0)
np.save("X.npy", X)
np.save("logits.npy", model.predict(X, verbose=0))
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Run the export cell in one real kernel after three kinds of student namespace."""
    work = tmp_path_factory.mktemp("export")
    cells = [
        export_cell_source(str(work / "empty")),  # nothing defined yet
        # student code that broke the names the export could rely on
        "model = object()\nhistory = {'loss': [2.5, 1.25]}\n"
        "open = json = os = str = Exception = BaseException = globals = print = None",
        export_cell_source(str(work / "broken")),
        "del open, json, os, str, Exception, BaseException, globals, print",
        EXPORT_SCENARIO,
        export_cell_source(str(work / "trained")),
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}},
    )
    nbformat.write(nb, work / "export.ipynb")
    executed = run_notebook(work / "export.ipynb")
    assert not [o for c in executed.cells for o in c.outputs if o.output_type == "error"]
    for index in (0, 2, 5):
        assert executed.cells[index].outputs == [], "the export cell must print nothing"
    return work


def read_report(folder: Path) -> dict:
    return json.loads((folder / "export.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_export_without_model_records_the_problem(exports):
    report = read_report(exports / "empty")
    assert report == {
        "model": False, "history": False, "error": "the notebook defines no variable named model"
    }
    assert sorted(p.name for p in (exports / "empty").iterdir()) == ["export.json"]


@pytest.mark.slow
def test_export_survives_shadowed_builtins_and_a_bad_model(exports):
    report = read_report(exports / "broken")
    assert report["model"] is False and report["history"] is True
    assert report["error"].startswith("cannot save model: AttributeError")
    history = json.loads((exports / "broken" / "history.json").read_text(encoding="utf-8"))
    assert history == {"loss": [2.5, 1.25]}


@pytest.mark.slow
def test_export_of_a_trained_model_reloads_with_the_same_logits(exports):
    folder = exports / "trained"
    assert read_report(folder) == {"model": True, "history": True, "error": None}
    history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    assert list(history) == ["loss"] and len(history["loss"]) == 2
    weights = load_weights(folder / "model.keras")
    assert [w.shape for w in weights] == SHAPES
    X, logits = np.load(exports / "X.npy"), np.load(exports / "logits.npy")
    np.testing.assert_allclose(forward_logits(weights, X), logits, rtol=1e-4, atol=1e-4)
    labels = logits.argmax(axis=1)
    assert accuracy(load_weights(folder / "model.keras"), X, labels, ACTIVATIONS) == 1.0


# ----------------------------------------------------------------- grader/reference.py


@pytest.mark.slow
def test_build_reference(solution_run, tmp_path):
    """``make reference``'s two steps; the first, ``run_solution``, is the shared run."""
    metrics = write_reference(solution_run[1], tmp_path, digit_assignment().model)

    # The run wrote nothing beside the notebook (it runs there, as make reference runs it).
    made = {p.name for p in SOLUTION.parent.iterdir()} - {SOLUTION.name, "grading.py",
                                                          "__pycache__"}
    assert made <= {"reference_model.keras", "reference_metrics.json"}, made
    saved = json.loads((tmp_path / "reference_metrics.json").read_text(encoding="utf-8"))
    assert saved == metrics
    assert metrics["threshold"] == 0.95
    assert metrics["training_accuracy"] >= metrics["threshold"] + 0.03
    assert metrics["epochs"] == 40
    assert math.isfinite(metrics["final_loss"]) and 0 < metrics["final_loss"] < 0.2
    assert metrics["versions"]["keras"] == version("keras")
    assert metrics["versions"]["numpy"] == version("numpy")
    assert metrics["versions"]["tensorflow"].startswith("2.")
    assert metrics["versions"]["python"].count(".") == 2

    import keras

    model = keras.saving.load_model(
        tmp_path / "reference_model.keras", compile=False, safe_mode=True
    )
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 3 and len(model.layers) == 3
    assert [layer.units for layer in dense] == [25, 15, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "linear"]
    assert [w.shape for w in load_weights(tmp_path / "reference_model.keras")] == SHAPES
