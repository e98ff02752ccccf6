"""verify: the model tests decided outside the kernel, from a saved .keras file read as data."""

import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder.grader.steps import Graded, verify
from autograder.model import checks
from autograder.model.saved_model import SavedModel, read_saved_model
from autograder.student import verdicts
from autograder.student.export_cell import read_exported
from digit_helpers import load_data

from helpers import digit_assignment

DIGIT = digit_assignment()
MODEL_TESTS = tuple(DIGIT.model_checks())

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _save(folder: Path, *, output="linear", from_logits=True, rate=0.001) -> Path:
    """An untrained model, saved as the export cell saves one."""
    import keras

    keras.utils.set_random_seed(1234)
    model = keras.Sequential([keras.Input(shape=(400,)),
                              keras.layers.Dense(25, activation="relu"),
                              keras.layers.Dense(15, activation=keras.activations.relu),
                              keras.layers.Dense(10, activation=output)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
                  optimizer=keras.optimizers.Adam(learning_rate=rate))
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    (folder / "export.json").write_text(json.dumps({"model": True, "history": False,
                                                    "error": None}))
    return folder


def model_verdicts(saved, X, y):
    return checks.verdicts(saved, DIGIT.model, DIGIT.model_checks(), X, y)


def exported(folder: Path) -> SavedModel | str:
    """An export folder read as the boundary reads the sandbox's, and its model (or why
    there is none)."""
    return checks.saved_or_problem(read_exported(folder, ""), lambda raw: read_saved_model(
        raw, DIGIT.model.weight_shapes))


@pytest.fixture(scope="module")
def data():
    return load_data()


@pytest.mark.slow  # the solution notebook's run (shared: conftest's solution_run)
def test_a_trained_correct_model_is_confirmed(solution_run, data):
    _, folder = solution_run  # the model the solution trained, as its export cell saved it
    assert model_verdicts(exported(folder), *data) == dict.fromkeys(MODEL_TESTS)


@pytest.mark.slow  # saves a Keras model (imports TensorFlow)
def test_an_untrained_model_fails_only_the_recomputed_accuracy(tmp_path, data):
    found = model_verdicts(exported(_save(tmp_path)), *data)
    assert [g for g, problem in found.items() if problem] == ["test_training_accuracy"]
    assert "recomputed by the grader" in found["test_training_accuracy"]


@pytest.mark.slow  # saves a Keras model (imports TensorFlow)
def test_softmax_output_and_wrong_compile_are_caught(tmp_path, data):
    saved = exported(_save(tmp_path, output="softmax", from_logits=False, rate=0.01))
    found = model_verdicts(saved, *data)
    assert "softmax" in found["test_model_activations"]
    assert "from_logits" in found["test_loss_from_logits"]
    assert found["test_model_architecture"] is None


def test_missing_or_unreadable_exports_fail_every_model_test(tmp_path, data):
    found = model_verdicts(exported(tmp_path), *data)
    assert all("did not finish" in problem for problem in found.values())
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    (tmp_path / "export.json").write_text('{"model": true}')
    found = model_verdicts(exported(tmp_path), *data)
    assert all("could not be read" in problem for problem in found.values())


@pytest.mark.slow  # saves a Keras model (imports TensorFlow)
def test_apply_fails_a_test_that_passed_in_the_kernel_but_not_here(tmp_path):
    nb = nbformat.v4.new_notebook()
    for gid in (*MODEL_TESTS, "test_my_relu"):
        cell = nbformat.v4.new_code_cell("pass", execution_count=1)
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                     "grade_id": gid, "points": 10, "schema_version": 3}
        nb.cells.append(cell)
    verify.apply(nb, Graded("amy", DIGIT, saved=exported(_save(tmp_path))))  # an untrained model
    results = verdicts.score(nb)
    assert results["test_training_accuracy"].points == 0
    assert results["test_training_accuracy"].feedback.startswith("GraderCheck: ")
    assert all(r.points == 10 for g, r in results.items() if g != "test_training_accuracy")
