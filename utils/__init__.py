"""Helpers for the handwritten-digit assignment (installed as ``digit_helpers``).

Data loading lives in ``digit_helpers.data``, metrics in ``digit_helpers.metrics``, figures of
the data and of a model's predictions in ``digit_helpers.plots``, figures that explain the ideas
in ``digit_helpers.concepts`` (each shown with a description of what it shows, its alt text:
``digit_helpers.figures``), activation functions in ``digit_helpers.activations``, a model's
weight shapes in ``digit_helpers.layers`` and TensorFlow's import without its start-up log
lines in ``digit_helpers.quiet``; this module only re-exports the public names.
"""

from importlib import import_module

from .activations import sigmoid
from .data import (
    DATA_FILE,
    DATA_SHA256,
    DataError,
    load_binary_data,
    load_data,
    trusted_binary_data,
    trusted_data,
)
from .metrics import confusion_matrix
from .quiet import quiet_tensorflow

# The figures import matplotlib (over a second): they are loaded when first asked for, so that
# the grader, which only needs to know where the data set is, starts without it.
_LAZY = {
    "alt_text": "figures",
    "layer_table": "layers",
    "plot_confusion_matrix": "plots",
    "plot_digit_grid": "plots",
    "plot_loss": "plots",
    "plot_misclassified": "plots",
    "plot_network": "concepts",
    "plot_predictions": "plots",
    "plot_probabilities": "plots",
    "plot_relu": "concepts",
    "plot_sigmoid": "concepts",
    "plot_softmax": "concepts",
}

__all__ = ["DATA_FILE", "DATA_SHA256", "DataError", "confusion_matrix", "load_binary_data",
           "load_data", "quiet_tensorflow", "sigmoid", "trusted_binary_data", "trusted_data",
           *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
