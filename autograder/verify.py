"""Verdicts that student code cannot fake, computed in the grader's own process.

Anything a student's cell runs before a test can patch what the test calls (numpy,
builtins, ``model.predict``). So after the notebook ran, the sandbox saved the trained model
(``autograder.model_export``) and here, outside the kernel, the saved file is read as data
only (JSON and HDF5 arrays; no Keras deserialization, so no code from the file runs) and
the model tests are decided again: architecture, activations, loss and optimizer, and the
training accuracy recomputed with a numpy forward pass on the trusted data set.

A test that passed in the kernel but fails here loses its points, with the reason.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder import score, trusted

ACCURACY_THRESHOLD = 0.95      # stated in the notebook; the reference reaches ~0.999
MAX_MODEL_BYTES = 20 * 2**20   # a 400-25-15-10 model is ~100 kB
MODEL_TESTS = ("test_model_architecture", "test_model_activations", "test_loss_from_logits",
               "test_training_accuracy")
EXPECTED_UNITS = [25, 15, 10]
EXPECTED_ACTIVATIONS = ["relu", "relu", "linear"]


class UnreadableModel(ValueError):
    pass


@dataclass
class SavedModel:
    layers: list[dict] = field(default_factory=list)   # class_name, units, activation
    weights: list[np.ndarray] = field(default_factory=list)
    loss: object = None
    optimizer: object = None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def read_saved_model(path: Path) -> SavedModel:
    """The layers, weights and compile settings of a ``.keras`` file, read as plain data."""
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise UnreadableModel(f"the saved model is {path.stat().st_size} bytes; far too large")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            with archive.open("model.weights.h5") as raw, h5py.File(raw, "r") as h5:
                return _parse(config, h5)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UnreadableModel(f"the saved model could not be read: {exc}") from None


def _parse(config: dict, h5: h5py.File) -> SavedModel:
    saved = SavedModel()
    counts: dict[str, int] = {}
    for layer in config.get("config", {}).get("layers", []):
        cls = layer.get("class_name")
        if cls == "InputLayer":
            continue
        cfg = layer.get("config", {})
        activation = cfg.get("activation")
        if isinstance(activation, dict):  # a serialized function object
            activation = activation.get("config", {}).get("name") or activation.get("class_name")
        saved.layers.append({"class_name": cls, "units": cfg.get("units"),
                             "activation": activation})
        # Keras names weight groups by class, in layer order: dense, dense_1, ...
        base = _snake(cls)
        n = counts.get(base, 0)
        counts[base] = n + 1
        group = h5.get(f"layers/{base}{'' if n == 0 else f'_{n}'}/vars")
        if group is not None:
            saved.weights += [np.array(group[k]) for k in sorted(group, key=int)]
    compile_config = config.get("compile_config") or {}
    saved.loss = compile_config.get("loss")
    saved.optimizer = compile_config.get("optimizer")
    return saved


def architecture_problem(saved: SavedModel) -> str | None:
    kinds = [layer["class_name"] for layer in saved.layers]
    if kinds != ["Dense"] * 3 or [layer["units"] for layer in saved.layers] != EXPECTED_UNITS:
        return (f"the saved model has layers {kinds} with units "
                f"{[layer['units'] for layer in saved.layers]}; expected three Dense layers "
                f"with units {EXPECTED_UNITS}")
    try:
        trusted.check_weights(saved.weights)
    except trusted.ModelShapeError as exc:
        return f"the saved model's weights are wrong: {exc}"
    return None


def activation_problem(saved: SavedModel) -> str | None:
    found = [layer["activation"] for layer in saved.layers]
    if found != EXPECTED_ACTIVATIONS:
        return f"the saved model's activations are {found}; expected {EXPECTED_ACTIVATIONS}"
    return None


def loss_problem(saved: SavedModel) -> str | None:
    loss, opt = saved.loss, saved.optimizer
    if not isinstance(loss, dict) or loss.get("class_name") != "SparseCategoricalCrossentropy":
        return f"the saved model was compiled with loss {_name(loss)}, not " \
               "SparseCategoricalCrossentropy(from_logits=True)"
    if loss.get("config", {}).get("from_logits") is not True:
        return "the saved model's loss does not use from_logits=True"
    if not isinstance(opt, dict) or opt.get("class_name") != "Adam":
        return f"the saved model was compiled with optimizer {_name(opt)}, not Adam"
    rate = opt.get("config", {}).get("learning_rate")
    if not isinstance(rate, int | float) or abs(rate - 0.001) > 1e-7:
        return f"the saved model's Adam learning rate is {rate}, not 0.001"
    return None


def _name(obj: object) -> str:
    return obj.get("class_name", "?") if isinstance(obj, dict) else repr(obj)


def accuracy_problem(saved: SavedModel, X: np.ndarray, y: np.ndarray) -> str | None:
    try:
        acc = trusted.accuracy(saved.weights, X, y)
    except trusted.ModelShapeError as exc:
        return f"the training accuracy could not be recomputed: {exc}"
    if acc < ACCURACY_THRESHOLD:
        return (f"the trained model's accuracy on the 5000 training examples, recomputed by "
                f"the grader, is {acc:.4f}, below {ACCURACY_THRESHOLD}")
    return None


def verdicts(export_dir: Path, X: np.ndarray, y: np.ndarray) -> dict[str, str | None]:
    """grade_id -> None (confirmed) or the reason the test fails, for every model test."""
    status = _export_status(export_dir)
    if status:
        return dict.fromkeys(MODEL_TESTS, f"the trained model could not be checked outside "
                                          f"the notebook: {status}")
    try:
        saved = read_saved_model(export_dir / "model.keras")
    except UnreadableModel as exc:
        return dict.fromkeys(MODEL_TESTS, str(exc))
    return {
        "test_model_architecture": architecture_problem(saved),
        "test_model_activations": activation_problem(saved),
        "test_loss_from_logits": loss_problem(saved),
        "test_training_accuracy": architecture_problem(saved) or accuracy_problem(saved, X, y),
    }


def _export_status(export_dir: Path) -> str | None:
    try:
        report = json.loads((export_dir / "export.json").read_text())
    except (OSError, ValueError):
        return "the notebook did not finish, so no model was saved"
    if not report.get("model") or not (export_dir / "model.keras").is_file():
        return report.get("error") or "no model was saved"
    return None


@lru_cache(maxsize=1)
def _trusted_data() -> tuple[np.ndarray, np.ndarray]:
    from digit_helpers import load_data  # the grader's own copy, checksum verified

    return load_data(verify=True)


def apply(nb: NotebookNode, export_dir: Path | None) -> None:
    """Fail, with the reason, every model test that passed in the kernel but not here."""
    passed = {gid for gid, result in score.score(nb).items()
              if gid in MODEL_TESTS and result.points > 0}
    if not passed:
        return
    X, y = _trusted_data()
    found = verdicts(export_dir, X, y) if export_dir else dict.fromkeys(
        MODEL_TESTS, "the notebook did not finish, so no model was saved")
    for gid in sorted(passed):
        if found.get(gid):
            score.fail_test(nb, gid, "GraderCheck", found[gid])
