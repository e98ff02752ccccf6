"""Trusted recomputation of a trained digit network's verdict, outside the student's kernel.

A student's code runs in the same kernel as the notebook's tests, so it can patch
``model.predict``, numpy functions or the data. The grader therefore saves the trained
model (see ``autograder.model_export``) and recomputes the training accuracy here, in its
own process, from the saved weights alone with a plain numpy forward pass of the
400-25-15-10 network (ReLU, ReLU, linear).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

# (input, output) sizes of the three Dense layers the assignment asks for.
LAYER_SIZES = ((400, 25), (25, 15), (15, 10))


class ModelShapeError(ValueError):
    """The weights do not belong to a 400-25-15-10 network of Dense layers."""


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


def load_weights(model_path: str | os.PathLike) -> list[np.ndarray]:
    """Weights of the Dense layers of a saved ``.keras`` model, in layer order.

    The model is loaded without its optimizer (``compile=False``) and with
    ``safe_mode=True``, so a saved file cannot run arbitrary code (no lambdas).
    Raises ``ModelShapeError`` when a layer with weights is not a Dense layer.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # imported late: TensorFlow takes seconds to import

    model = keras.saving.load_model(Path(model_path), compile=False, safe_mode=True)
    weights: list[np.ndarray] = []
    for layer in model.layers:
        if not layer.weights:
            continue  # e.g. InputLayer, Flatten, Dropout
        if not isinstance(layer, keras.layers.Dense):
            raise ModelShapeError(f"layer {layer.name!r} is a {type(layer).__name__}, not Dense")
        # Variable.numpy(): np.array(variable) and keras.ops.convert_to_numpy(variable)
        # raise a numpy 2 DeprecationWarning (Keras variables' __array__ lacks `copy`)
        weights.extend(w.numpy() for w in layer.weights)
    return weights


def training_accuracy(model_path: str | os.PathLike, X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy on ``(X, y)`` of the saved model, recomputed with numpy from its weights."""
    return accuracy(load_weights(model_path), X, y)
