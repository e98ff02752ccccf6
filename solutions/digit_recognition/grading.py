"""How digit_recognition is graded: every autograded test of the notebook, decided again
outside the student's kernel (docs/adding-an-exercise.md).

Secret: the function probes carry the hidden tests' inputs, so this file stays in
``solutions/`` (hidden from student code, never in a release or a public bundle).
"""

from __future__ import annotations

import numpy as np

from autograder.assignment import (
    TENSORFLOW_STDERR_NOISE,
    Assignment,
    DenseModel,
    Figure,
    FunctionCheck,
    ModelCheck,
)
from autograder.model.saved_model import predict


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


_rng = np.random.default_rng(20240917)

# The network: 400 inputs -> Dense 25 relu -> Dense 15 relu -> Dense 10 linear (logits),
# compiled with SparseCategoricalCrossentropy(from_logits=True) and Adam(0.001); trained as
# the notebook does, it must reach this training accuracy (the reference's own is in
# reference_metrics.json, written by `make reference`).
MODEL = DenseModel(
    input_size=400, units=(25, 15, 10), activations=("relu", "relu", "linear"),
    loss="SparseCategoricalCrossentropy", from_logits=True,
    optimizer="Adam", learning_rate=0.001,
    accuracy_threshold=0.95, data="digit_helpers:trusted_data",
)


def model_figures(history, saved, data) -> list:
    """The feedback page's model section: the loss curve, and on the training digits the
    accuracy, the misclassified digits and the confusion matrix. ``history``: the saved
    training history; ``saved``: the model read as data; ``data``: (X, y) (each None when
    there is none: the page says why)."""
    from digit_helpers import plot_confusion_matrix, plot_loss, plot_misclassified

    parts: list = []
    if history is not None:
        parts.append(Figure("Loss curve", plot_loss(history),
                            "Your training loss, epoch by epoch"))
    if saved is None:
        return parts
    X, y = data
    predicted = predict(saved.weights, X, MODEL.activations)
    parts += [
        f"Accuracy of your trained model on the {len(y)} training digits, recomputed by the "
        f"grader: {float((predicted == y).mean()):.4f}",
        Figure("Misclassified digits", plot_misclassified(X, y, predicted),
               "Training digits your model got wrong, each with its true and predicted label"),
        Figure("Confusion matrix", plot_confusion_matrix(y, predicted),
               "Confusion matrix: how often each true digit was predicted as each digit"),
    ]
    return parts


ASSIGNMENT = Assignment(
    id="digit_recognition",
    packages=("digit_helpers",),
    data={"DIGITS_DATA": "digit_helpers:digits.npz"},
    model=MODEL,
    stderr_noise=TENSORFLOW_STDERR_NOISE,
    feedback=model_figures,
    student_files={"README.md": "template/README.md", "data/digits.npz": "data/digits.npz",
                   "data/README.md": "data/README.md"},
    checks={
        # Every input the notebook's public and hidden tests use (numbers, shapes, dtypes:
        # tests/test_checks_cover_the_notebook.py holds them to it), and a few more.
        "test_my_relu": FunctionCheck("my_relu", relu, (
            np.array([-2.0, -0.5, 0.0, 0.5, 3.0]),
            _rng.normal(scale=10.0, size=(4, 3, 5)),
            np.array([[-7.5, 0.25], [1e6, -1e-9]]),
            np.array([-3, 0, 2, -1]),
            np.array([-1.5, 2.0, -0.25], dtype=np.float32),
            np.array(-3.0), np.array(2.5), np.array(7), np.array(0.0), np.array(-1e-12),
        )),
        "test_my_softmax": FunctionCheck("my_softmax", softmax, (
            np.array([1.0, 2.0, 3.0, 4.0]),
            np.array([0.5, -1.25, 3.0, 2.0, -0.75]),
            np.array([-2.3, 4.1, 0.0, 1.7, -0.4, 2.2, 3.3, -5.0, 0.9, 1.1]),
            np.array([7.0]),
            np.array([-1.0, -1.0, -1.0, -1.0]),
            np.array([0.1, 0.2, 0.7], dtype=np.float32),
        )),
        "test_softmax_stability": FunctionCheck("my_softmax", softmax, (
            np.array([1000.0, 1001.0]),
            np.array([-1000.0, -1001.0]),
            np.array([10000.0, 0.0]),
            np.array([800.0, 800.0, 800.0]),
            np.array([-745.0, 709.0, 709.0]),
            np.array([1000.0, 1001.0], dtype=np.float32),
        )),
        "test_model_architecture": ModelCheck("architecture"),
        "test_model_activations": ModelCheck("activations"),
        "test_loss_from_logits": ModelCheck("loss"),
        "test_training_accuracy": ModelCheck("accuracy"),
    },
)
