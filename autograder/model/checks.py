"""The model tests, decided again outside the student's kernel from the saved model.

Anything a student's cell runs before a test can patch what the test calls (numpy,
builtins, ``model.predict``). So after the notebook ran, the sandbox saved the trained model
(``autograder.student.export_cell``), and here the saved file is read as data only
(``autograder.model.saved_model``): architecture, activations, loss and optimizer, and the
training accuracy recomputed with a numpy forward pass on trusted data.
"""

from __future__ import annotations

import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder import spec
from autograder.model.saved_model import (
    EXPECTED_SHAPES,
    ModelShapeError,
    SavedModel,
    UnreadableModel,
    accuracy,
    check_weights,
    read_saved_model,
)
from autograder.student.export_cell import NOT_SAVED, Exported
from autograder.student.verdicts import fail_test, score

# The notebook's model tests, each decided again here (their points come from the notebook).
MODEL_TESTS = ("test_model_architecture", "test_model_activations", "test_loss_from_logits",
               "test_training_accuracy")


def architecture_problem(saved: SavedModel) -> str | None:
    kinds = [layer["class_name"] for layer in saved.layers]
    units = [layer["units"] for layer in saved.layers]
    expected = list(spec.LAYER_UNITS)
    if kinds != [spec.LAYER_CLASS] * len(expected) or units != expected:
        return (f"the saved model has layers {kinds} with units {units}; expected "
                f"{len(expected)} {spec.LAYER_CLASS} layers with units {expected}")
    if saved.weight_shapes != EXPECTED_SHAPES:
        return (f"the saved model's weights are wrong: expected weight shapes "
                f"{EXPECTED_SHAPES}, got {saved.weight_shapes}")
    try:
        check_weights(saved.weights)
    except ModelShapeError as exc:
        return f"the saved model's weights are wrong: {exc}"
    return None


def activation_problem(saved: SavedModel) -> str | None:
    found = [layer["activation"] for layer in saved.layers]
    if found != list(spec.ACTIVATIONS):
        return f"the saved model's activations are {found}; expected {list(spec.ACTIVATIONS)}"
    return None


def loss_problem(saved: SavedModel) -> str | None:
    loss, opt = saved.loss, saved.optimizer
    if not isinstance(loss, dict) or loss.get("class_name") != spec.LOSS:
        return (f"the saved model was compiled with loss {_name(loss)}, not "
                f"{spec.LOSS}(from_logits={spec.FROM_LOGITS})")
    if loss.get("config", {}).get("from_logits") is not spec.FROM_LOGITS:
        return f"the saved model's loss does not use from_logits={spec.FROM_LOGITS}"
    if not isinstance(opt, dict) or opt.get("class_name") != spec.OPTIMIZER:
        return f"the saved model was compiled with optimizer {_name(opt)}, not {spec.OPTIMIZER}"
    rate = opt.get("config", {}).get("learning_rate")
    if not isinstance(rate, int | float) or abs(rate - spec.LEARNING_RATE) > 1e-7:
        return (f"the saved model's {spec.OPTIMIZER} learning rate is {rate}, "
                f"not {spec.LEARNING_RATE}")
    return None


def _name(obj: object) -> str:
    return obj.get("class_name", "?") if isinstance(obj, dict) else repr(obj)


def accuracy_problem(saved: SavedModel, X: np.ndarray, y: np.ndarray) -> str | None:
    try:
        acc = accuracy(saved.weights, X, y)
    except ModelShapeError as exc:
        return f"the training accuracy could not be recomputed: {exc}"
    if acc < spec.ACCURACY_THRESHOLD:
        return (f"the trained model's accuracy on the {len(y)} training examples, recomputed "
                f"by the grader, is {acc:.4f}, below {spec.ACCURACY_THRESHOLD}")
    return None


def saved_or_problem(exported: Exported | None, read=read_saved_model) -> SavedModel | str:
    """The model the export cell saved, read by ``read`` (bytes -> SavedModel), or why
    there is none to check."""
    if exported is None:
        return NOT_SAVED
    status = exported.problem()
    if status:
        return f"the trained model could not be checked outside the notebook: {status}"
    try:
        return read(exported.model)
    except UnreadableModel as exc:
        return str(exc)


def verdicts(saved: SavedModel | str, X: np.ndarray, y: np.ndarray) -> dict[str, str | None]:
    """grade_id -> None (confirmed) or the reason the test fails, for every model test;
    ``saved``: the model read as data, or why there is none (see ``saved_or_problem``)."""
    if isinstance(saved, str):
        return dict.fromkeys(MODEL_TESTS, saved)
    return {
        "test_model_architecture": architecture_problem(saved),
        "test_model_activations": activation_problem(saved),
        "test_loss_from_logits": loss_problem(saved),
        "test_training_accuracy": architecture_problem(saved) or accuracy_problem(saved, X, y),
    }


def confirm(nb: NotebookNode, saved: SavedModel | str, data) -> NotebookNode:
    """Fail, with the reason, every model test that passed in the kernel but not here.

    ``saved``: see ``saved_or_problem``. ``data`` is a callable giving the trusted
    ``(X, y)``; it is called only when a model test passed in the kernel.
    """
    passed = {gid for gid, result in score(nb).items()
              if gid in MODEL_TESTS and result.points > 0}
    if not passed:
        return nb
    X, y = (None, None) if isinstance(saved, str) else data()  # the data only when needed
    found = verdicts(saved, X, y)
    for gid in sorted(passed):
        if found.get(gid):
            fail_test(nb, gid, "GraderCheck", found[gid])
    return nb
