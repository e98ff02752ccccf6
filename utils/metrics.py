"""Plain-numpy metrics (no scikit-learn needed)."""

from __future__ import annotations

import numpy as np

from ._validate import as_labels, check_count


def confusion_matrix(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """Counts C[i, j] = number of examples with true label i predicted as j.

    Returns an int64 array of shape (num_classes, num_classes); rows are true
    labels, columns are predictions.
    """
    k = check_count("num_classes", num_classes)
    y_true = as_labels("y_true", y_true)
    y_pred = as_labels("y_pred", y_pred, n=y_true.shape[0])
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise ValueError(f"{name} labels must lie in 0..{k - 1}")
    # Each (true, pred) pair maps to one flat cell index; bincount tallies them.
    counts = np.bincount(y_true * k + y_pred, minlength=k * k)
    return counts.reshape(k, k).astype(np.int64)
