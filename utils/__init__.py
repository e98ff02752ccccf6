"""Helpers for the handwritten-digit assignment (installed as ``digit_helpers``).

Data loading lives in ``digit_helpers.data``, metrics in ``digit_helpers.metrics``
and figures in ``digit_helpers.plots``; this module only re-exports the public names.
"""

from .data import DATA_FILE, DATA_SHA256, DataError, load_data
from .metrics import confusion_matrix
from .plots import (
    plot_confusion_matrix,
    plot_digit_grid,
    plot_loss,
    plot_misclassified,
    plot_predictions,
    plot_probabilities,
)

__all__ = [
    "DATA_FILE",
    "DATA_SHA256",
    "DataError",
    "confusion_matrix",
    "load_data",
    "plot_confusion_matrix",
    "plot_digit_grid",
    "plot_loss",
    "plot_misclassified",
    "plot_predictions",
    "plot_probabilities",
]
