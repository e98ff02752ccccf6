"""How digit_recognition_binary is graded: every autograded test of the notebook, decided
again outside the student's kernel (docs/adding-an-exercise.md).

Secret: the function probes carry the hidden tests' inputs, so this file stays in
``solutions/`` (hidden from student code, never in a release or a public bundle).

``Fn("digit_helpers:sigmoid")`` names the activation the grader passes as ``g``: the grader
and every call process import it by that name.
"""

from __future__ import annotations

import numpy as np

from autograder.assignment import (
    TENSORFLOW_STDERR_NOISE,
    Assignment,
    DenseModel,
    Figure,
    Fn,
    FunctionCheck,
    ModelCheck,
)
from autograder.model.saved_model import predict


def dense(a_in: np.ndarray, W: np.ndarray, b: np.ndarray, g) -> np.ndarray:
    """One dense layer on one example: g(a_in W + b), shape (units,)."""
    return g(np.asarray(a_in, dtype=np.float64) @ np.asarray(W, dtype=np.float64) + b)


def dense_v(A_in: np.ndarray, W: np.ndarray, b: np.ndarray, g) -> np.ndarray:
    """One dense layer on a batch, one example per row: g(A_in W + b), shape (m, units)."""
    return g(np.asarray(A_in, dtype=np.float64) @ np.asarray(W, dtype=np.float64) + b)


SIGMOID = Fn("digit_helpers:sigmoid")
IDENTITY = Fn("numpy:positive")
TANH = Fn("numpy:tanh")

# The layer of test_my_dense's public part: 2 inputs, 3 units.
_W = np.array([[1.0, -3.0, 5.0], [2.0, 4.0, -6.0]])
_b = np.array([-1.0, 1.0, 2.0])
# The one-unit layer of the hidden parts.
_W1 = np.array([[1.0], [2.0], [0.25]])
_b1 = np.array([0.5])

# The hidden tests' random layers: the same generator, seeds and order of draws as the
# notebook's hidden tests (tests/test_checks_cover_the_notebook.py compares them).
_rng = np.random.default_rng(20250301)
_dense_cases = [
    (_rng.normal(size=400), _rng.normal(scale=0.1, size=(400, 25)), _rng.normal(size=25),
     SIGMOID),
    (_rng.normal(size=25), _rng.normal(size=(25, 15)), _rng.normal(size=15), IDENTITY),
]
_rng = np.random.default_rng(20250302)
_dense_v_cases = [
    (_rng.normal(size=(5, 400)), _rng.normal(scale=0.1, size=(400, 25)), _rng.normal(size=25),
     SIGMOID),
    (_rng.normal(size=(7, 25)), _rng.normal(size=(25, 15)), _rng.normal(size=15), IDENTITY),
]
# More than the notebook's tests: other seeds, a transposed-looking square layer (a W used
# as W.T gives other numbers), float32 inputs as Keras' weights are, and large sums.
_extra = np.random.default_rng(7)
_square = (_extra.normal(size=4), _extra.normal(size=(4, 4)), _extra.normal(size=4))
_f32 = (_extra.normal(size=400).astype(np.float32) ** 2,
        _extra.normal(scale=0.05, size=(400, 25)).astype(np.float32),
        _extra.normal(size=25).astype(np.float32))

# The network: 400 inputs -> Dense 25 sigmoid -> Dense 15 sigmoid -> Dense 1 sigmoid,
# compiled with BinaryCrossentropy() (from_logits=False) and Adam(0.001); trained as the
# notebook does (20 epochs, batches of 32), the reference reaches a training accuracy of
# 0.999 (1 of 1000 misclassified), so 0.95 leaves a wide margin.
MODEL = DenseModel(
    input_size=400, units=(25, 15, 1), activations=("sigmoid", "sigmoid", "sigmoid"),
    loss="BinaryCrossentropy", from_logits=False,
    optimizer="Adam", learning_rate=0.001,
    accuracy_threshold=0.95, data="digit_helpers:trusted_binary_data",
)


def model_figures(history, saved, data) -> list:
    """The feedback page's model section: the loss curve, and on the training digits the
    accuracy, the misclassified digits and the 2x2 confusion matrix. ``history``: the saved
    training history; ``saved``: the model read as data; ``data``: (X, y), y of shape
    (1000, 1) (each None when there is none: the page says why)."""
    from digit_helpers import plot_confusion_matrix, plot_loss, plot_misclassified

    parts: list = []
    if history is not None:
        parts.append(Figure("Loss curve", plot_loss(history),
                            "Your training loss, epoch by epoch"))
    if saved is None:
        return parts
    X, y = data
    y = np.asarray(y).reshape(-1)
    # 1 where the output is at least 0.5 (the sigmoid's middle), else 0
    predicted = predict(saved.weights, X, MODEL.activations)
    parts += [
        f"Accuracy of your trained model on the {len(y)} training digits, recomputed by the "
        f"grader: {float((predicted == y).mean()):.4f}",
        Figure("Misclassified digits", plot_misclassified(X, y, predicted),
               "Training digits your model got wrong, each with its true and predicted label"),
        Figure("Confusion matrix", plot_confusion_matrix(y, predicted, num_classes=2),
               "Confusion matrix: how often each true label (0 or 1) was predicted as each"),
    ]
    return parts


ASSIGNMENT = Assignment(
    id="digit_recognition_binary",
    packages=("digit_helpers",),
    data={"DIGITS_DATA": "digit_helpers:digits.npz"},
    model=MODEL,
    stderr_noise=TENSORFLOW_STDERR_NOISE,
    feedback=model_figures,
    # The student's README is this lab's own (its notebook, its exercises), beside this file.
    student_files={"README.md": "solutions/digit_recognition_binary/README.md",
                   "data/digits.npz": "data/digits.npz", "data/README.md": "data/README.md"},
    checks={
        "test_model_architecture": ModelCheck("architecture"),
        "test_model_activations": ModelCheck("activations"),
        "test_model_loss": ModelCheck("loss"),
        "test_training_accuracy": ModelCheck("accuracy"),
        # Every input the notebook's public and hidden tests use (numbers, shapes, dtypes,
        # the activation by name), and a few more.
        "test_my_dense": FunctionCheck("my_dense", dense, (
            (np.array([1.0, 2.0]), _W, _b, IDENTITY),
            (np.array([1.0, 2.0]), _W, _b, SIGMOID),
            *_dense_cases,
            (np.array([0.5, -1.0, 2.0]), _W1, _b1, TANH),
            (*_square, SIGMOID),
            (*_square, TANH),
            (*_f32, SIGMOID),
            (np.array([30.0, -30.0]), _W, _b, SIGMOID),
        )),
        "test_my_dense_v": FunctionCheck("my_dense_v", dense_v, (
            (np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]]), _W, _b, IDENTITY),
            (np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]]), _W, _b, SIGMOID),
            *_dense_v_cases,
            (np.array([[0.5, -1.0, 2.0]]), _W1, _b1, TANH),
            (np.stack([_square[0], -_square[0], 2 * _square[0]]), *_square[1:], SIGMOID),
            (np.stack([_f32[0], _f32[0] / 2]), *_f32[1:], SIGMOID),
        )),
    },
)
