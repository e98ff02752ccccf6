"""The model tests, decided again outside the student's kernel from the saved model.

Anything a student's cell runs before a test can patch what the test calls (numpy,
builtins, ``model.predict``). So after the notebook ran, the sandbox saved the trained model
(``autograder.student.export_cell``), and here the saved file is read as data only
(``autograder.model.saved_model``): architecture, activations, loss and optimizer, and the
training accuracy recomputed with a numpy forward pass on trusted data. What the model
must be is the assignment's ``DenseModel``; which test decides which aspect, its
``ModelCheck``s.
"""

from __future__ import annotations

import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder.assignment import DenseModel, ModelCheck
from autograder.model.saved_model import (
    ModelShapeError,
    SavedModel,
    UnreadableModel,
    accuracy,
    check_weights,
)
from autograder.student.export_cell import NOT_SAVED, Exported
from autograder.student.verdicts import fail_test, score


def architecture_problem(saved: SavedModel, model: DenseModel) -> str | None:
    kinds = [layer["class_name"] for layer in saved.layers]
    units = [layer["units"] for layer in saved.layers]
    expected = list(model.units)
    if kinds != [model.layer_class] * len(expected) or units != expected:
        return (f"the saved model has layers {kinds} with units {units}; expected "
                f"{len(expected)} {model.layer_class} layers with units {expected}")
    if saved.weight_shapes != model.weight_shapes:
        return (f"the saved model's weights are wrong: expected weight shapes "
                f"{model.weight_shapes}, got {saved.weight_shapes}")
    try:
        check_weights(saved.weights, model.weight_shapes)
    except ModelShapeError as exc:
        return f"the saved model's weights are wrong: {exc}"
    return None


def activation_problem(saved: SavedModel, model: DenseModel) -> str | None:
    found = [layer["activation"] for layer in saved.layers]
    if found != list(model.activations):
        return f"the saved model's activations are {found}; expected {list(model.activations)}"
    return None


def loss_problem(saved: SavedModel, model: DenseModel) -> str | None:
    loss, opt = saved.loss, saved.optimizer
    if not isinstance(loss, dict) or loss.get("class_name") != model.loss:
        return (f"the saved model was compiled with loss {_name(loss)}, not "
                f"{model.loss}(from_logits={model.from_logits})")
    if bool(loss.get("config", {}).get("from_logits")) is not model.from_logits:
        return f"the saved model's loss does not use from_logits={model.from_logits}"
    if not isinstance(opt, dict) or opt.get("class_name") != model.optimizer:
        return (f"the saved model was compiled with optimizer {_name(opt)}, not "
                f"{model.optimizer}")
    rate = opt.get("config", {}).get("learning_rate")
    if not isinstance(rate, int | float) or abs(rate - model.learning_rate) > 1e-7:
        return (f"the saved model's {model.optimizer} learning rate is {rate}, "
                f"not {model.learning_rate}")
    return None


def _name(obj: object) -> str:
    return obj.get("class_name", "?") if isinstance(obj, dict) else repr(obj)


def accuracy_problem(saved: SavedModel, model: DenseModel, X: np.ndarray, y: np.ndarray
                     ) -> str | None:
    try:
        acc = accuracy(saved.weights, X, y, model.activations)
    except ModelShapeError as exc:
        return f"the training accuracy could not be recomputed: {exc}"
    if acc < model.accuracy_threshold:
        return (f"the trained model's accuracy on the {len(y)} training examples, recomputed "
                f"by the grader, is {acc:.4f}, below {model.accuracy_threshold}")
    return None


def saved_or_problem(exported: Exported | None, read) -> SavedModel | str:
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


def verdicts(saved: SavedModel | str, model: DenseModel, checks: dict[str, ModelCheck],
             X: np.ndarray, y: np.ndarray) -> dict[str, str | None]:
    """grade_id -> None (confirmed) or the reason the test fails, for each model check;
    ``saved``: the model read as data, or why there is none (see ``saved_or_problem``)."""
    if isinstance(saved, str):
        return dict.fromkeys(checks, saved)
    decide = {
        "architecture": lambda: architecture_problem(saved, model),
        "activations": lambda: activation_problem(saved, model),
        "loss": lambda: loss_problem(saved, model),
        "accuracy": lambda: (architecture_problem(saved, model)
                             or accuracy_problem(saved, model, X, y)),
    }
    return {gid: decide[check.aspect]() for gid, check in checks.items()}


def confirm(nb: NotebookNode, saved: SavedModel | str, model: DenseModel | None,
            checks: dict[str, ModelCheck], data) -> NotebookNode:
    """Fail, with the reason, every model test that passed in the kernel but not here.

    ``saved``: see ``saved_or_problem``. ``data`` is a callable giving the trusted
    ``(X, y)``; it is called only when a model test passed in the kernel.
    """
    passed = {gid for gid, result in score(nb).items()
              if gid in checks and result.points > 0}
    if not passed or model is None:
        return nb
    X, y = (None, None) if isinstance(saved, str) else data()  # the data only when needed
    found = verdicts(saved, model, checks, X, y)
    for gid in sorted(passed):
        if found.get(gid):
            fail_test(nb, gid, "GraderCheck", found[gid])
    return nb
