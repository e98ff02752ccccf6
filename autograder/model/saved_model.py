"""The one reader of saved ``.keras`` files, and the trusted forward pass over its weights.

A ``.keras`` file is a zip of ``config.json`` and ``model.weights.h5``; it is read here as
data only (JSON and HDF5 arrays; no Keras deserialization, so no code from the file runs,
and no TensorFlow import). The grader's verdicts, the feedback figures and the reference
build all read models through this module.

The file comes from student code, so every read is bounded before it happens:

- the zip's members are read with a byte cap each, whatever their headers claim;
- in the HDF5 file only hard links are followed (an external or soft link is refused), and
  a weight is read only once its dataset is known to hold no more than the assignment's
  shapes (``DenseModel.weight_shapes``, given by the caller) of plain floats, stored in the
  file itself as Keras writes it: contiguous or compact, no filters (a few kB of compressed
  or fill-valued data can declare gigabytes), no external storage (raw data in any file the
  reader can open) and no virtual dataset (data in other files).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from threadpoolctl import threadpool_limits

from autograder import untrusted
from autograder.student.export_cell import MODEL_BYTES

CONFIG_BYTES = 2**20
WEIGHTS_NAME = "model.weights.h5"
MAX_LAYERS = 64
# How Keras stores a weight: in the file, in one piece (h5py.h5d.CONTIGUOUS, COMPACT).
PLAIN_LAYOUTS = (h5py.h5d.CONTIGUOUS, h5py.h5d.COMPACT)
Shapes = Sequence[tuple[int, ...]]


class UnreadableModel(ValueError):
    """The file is not a saved Keras model this reader understands."""


class ModelShapeError(ValueError):
    """The weights do not belong to the assignment's network of Dense layers."""


@dataclass
class SavedModel:
    layers: list[dict] = field(default_factory=list)   # class_name, units, activation
    # Read only when the shapes are the assignment's (the reader's ``shapes``); else empty.
    weights: list[np.ndarray] = field(default_factory=list)
    weight_shapes: list[tuple[int, ...]] = field(default_factory=list)
    loss: object = None
    optimizer: object = None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def read_saved_model(source: Path | bytes, shapes: Shapes) -> SavedModel:
    """The layers, weights and compile settings of a ``.keras`` file (a path, read under
    ``autograder.untrusted``'s rules, or its bytes), read as plain data; the weights only
    when their shapes are ``shapes``."""
    try:
        data = source if isinstance(source, bytes) else \
            untrusted.read_bytes(Path(source).parent, Path(source).name, MODEL_BYTES)
    except (untrusted.Refused, OSError) as exc:
        raise UnreadableModel(f"the saved model could not be read: {exc}") from None
    if len(data) > MODEL_BYTES:
        raise UnreadableModel(f"the saved model is {len(data)} bytes; far too large")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            config = json.loads(_member(archive, "config.json", CONFIG_BYTES))
            weights = _member(archive, WEIGHTS_NAME, MODEL_BYTES)
        with h5py.File(io.BytesIO(weights), "r") as h5:
            return _parse(config, h5, [tuple(s) for s in shapes])
    except UnreadableModel:
        raise
    except Exception as exc:  # whatever a hostile file makes zipfile, json or h5py raise
        raise UnreadableModel(f"the saved model could not be read: {exc}") from None


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as member:  # KeyError when missing
        data = member.read(limit + 1)   # the header's size may lie
    if len(data) > limit:
        raise UnreadableModel(f"{name} in the saved model is more than {limit} bytes")
    return data


def _parse(config: dict, h5: h5py.File, shapes: list[tuple[int, ...]]) -> SavedModel:
    saved = SavedModel()
    counts: dict[str, int] = {}
    datasets: list[h5py.Dataset] = []
    layers = config.get("config", {}).get("layers", [])
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise UnreadableModel("the saved model's layer list is not one this reader takes")
    for layer in layers:
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
        base = _snake(str(cls))
        n = counts.get(base, 0)
        counts[base] = n + 1
        group = _hard(h5, ["layers", f"{base}{'' if n == 0 else f'_{n}'}", "vars"])
        if group is not None:
            datasets += [_dataset(group, k) for k in sorted(group, key=int)]
    saved.weight_shapes = [tuple(d.shape) for d in datasets]
    saved.weights = _read_weights(datasets, shapes)
    compile_config = config.get("compile_config") or {}
    saved.loss = compile_config.get("loss")
    saved.optimizer = compile_config.get("optimizer")
    return saved


def _hard(h5: h5py.File, path: list[str]) -> h5py.Group | None:
    """The group at ``path`` through hard links only; None when it is not there."""
    group = h5
    for name in path:
        link = group.get(name, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise UnreadableModel(f"the saved model's {name!r} is a {type(link).__name__}, "
                                  "which points outside the file; it is not followed")
        group = group[name]
        if not isinstance(group, h5py.Group):
            return None
    return group


def _dataset(group: h5py.Group, name: str) -> h5py.Dataset:
    """A weight's dataset, once its storage is known to be plain data inside the file."""
    if not isinstance(group.get(name, getlink=True), h5py.HardLink):
        raise UnreadableModel(f"weight {name!r} is a link to elsewhere; it is not followed")
    dataset = group[name]
    if not isinstance(dataset, h5py.Dataset):
        raise UnreadableModel(f"weight {name!r} is not an array")
    plist = dataset.id.get_create_plist()
    if plist.get_layout() not in PLAIN_LAYOUTS:
        raise UnreadableModel(f"weight {name!r} is not stored as Keras stores weights "
                              "(chunked, virtual or external data is not read)")
    if plist.get_external_count() or plist.get_nfilters():
        raise UnreadableModel(f"weight {name!r} uses external storage or filters, which "
                              "Keras does not write; it is not read")
    if dataset.dtype.kind != "f" or dataset.dtype.itemsize > 8:
        raise UnreadableModel(f"weight {name!r} holds {dataset.dtype}, not floats")
    return dataset


def _read_weights(datasets: list[h5py.Dataset], shapes: list[tuple[int, ...]]
                  ) -> list[np.ndarray]:
    """The weights, read only when their declared shapes are ``shapes`` (a few kB can
    declare gigabytes); none otherwise."""
    if [tuple(d.shape) for d in datasets] != shapes:
        return []
    return [np.array(d[()], dtype=np.float64) for d in datasets]


def check_weights(weights: Sequence[np.ndarray], shapes: Shapes) -> list[np.ndarray]:
    """``[W1, b1, W2, b2, ...]`` as float64 arrays after checking they have ``shapes``."""
    arrays = [np.asarray(w, dtype=np.float64) for w in weights]
    found = [a.shape for a in arrays]
    if found != [tuple(s) for s in shapes]:
        raise ModelShapeError(f"expected weight shapes {list(shapes)}, got {found}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ModelShapeError("the weights contain NaN or infinite values")
    return arrays


ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
}


def forward(weights: Sequence[np.ndarray], X: np.ndarray, activations: Sequence[str]
            ) -> np.ndarray:
    """The output of the network of Dense layers ``g_k(a W_k + b_k)``, one per activation
    (a final ``linear`` gives logits)."""
    if len(weights) != 2 * len(activations):
        raise ModelShapeError(f"{len(weights)} weight arrays for {len(activations)} layers")
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown:
        raise ModelShapeError(f"no numpy forward pass for activation {unknown[0]!r}")
    # One BLAS thread: the grader forks workers from other threads meanwhile, and OpenBLAS's
    # fork handler stops its thread pool under a running multi-threaded call, which then
    # spins forever (seen here). The products are small: milliseconds anyway.
    with threadpool_limits(limits=1, user_api="blas"):
        a = np.asarray(X, dtype=np.float64)
        for k, name in enumerate(activations):
            a = ACTIVATIONS[name](a @ weights[2 * k] + weights[2 * k + 1])
        return a


def predict(weights: Sequence[np.ndarray], X: np.ndarray, activations: Sequence[str]
            ) -> np.ndarray:
    """The predicted label of each row: the arg-max output, or, for one output unit, 1
    where it is past the middle (0.5 for a sigmoid, 0 for logits)."""
    out = forward(weights, X, activations)
    if out.shape[1] > 1:
        return np.argmax(out, axis=1)
    middle = 0.5 if activations[-1] == "sigmoid" else 0.0
    return (out[:, 0] >= middle).astype(np.int64)


def accuracy(weights: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray,
             activations: Sequence[str]) -> float:
    """Fraction of rows of ``X`` whose predicted label equals the label in ``y``."""
    return float(np.mean(predict(weights, X, activations) == np.asarray(y).reshape(-1)))
