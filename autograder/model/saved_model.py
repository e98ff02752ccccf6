"""The one reader of saved ``.keras`` files, and the trusted forward pass over its weights.

A ``.keras`` file is a zip of ``config.json`` and ``model.weights.h5``; it is read here as
data only (JSON and HDF5 arrays; no Keras deserialization, so no code from the file runs,
and no TensorFlow import). The grader's verdicts, the feedback figures and the reference
build all read models through this module.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from threadpoolctl import threadpool_limits

from autograder.spec import LAYER_SIZES

MAX_MODEL_BYTES = 20 * 2**20   # a 400-25-15-10 model is ~100 kB


class UnreadableModel(ValueError):
    """The file is not a saved Keras model this reader understands."""


class ModelShapeError(ValueError):
    """The weights do not belong to the assignment's network of Dense layers."""


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
    path = Path(path)
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


def check_weights(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Return ``[W1, b1, W2, b2, W3, b3]`` as float64 arrays after checking their shapes."""
    expected = [shape for n_in, n_out in LAYER_SIZES for shape in ((n_in, n_out), (n_out,))]
    arrays = [np.asarray(w, dtype=np.float64) for w in weights]
    shapes = [a.shape for a in arrays]
    if shapes != expected:
        raise ModelShapeError(f"expected weight shapes {expected}, got {shapes}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ModelShapeError("the weights contain NaN or infinite values")
    return arrays


def forward_logits(weights: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
    """Logits (n, 10) of the network ``relu(X W1 + b1) -> relu(. W2 + b2) -> . W3 + b3``."""
    w1, b1, w2, b2, w3, b3 = check_weights(weights)
    # One BLAS thread: the grader forks workers from other threads meanwhile, and OpenBLAS's
    # fork handler stops its thread pool under a running multi-threaded call, which then
    # spins forever (seen here). The product is 5000x400 by 400x25: milliseconds anyway.
    with threadpool_limits(limits=1, user_api="blas"):
        a1 = np.maximum(np.asarray(X, dtype=np.float64) @ w1 + b1, 0.0)
        a2 = np.maximum(a1 @ w2 + b2, 0.0)
        return a2 @ w3 + b3


def accuracy(weights: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of ``X`` whose arg-max logit equals the label in ``y``."""
    predictions = np.argmax(forward_logits(weights, X), axis=1)
    return float(np.mean(predictions == np.asarray(y)))
