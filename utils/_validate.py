"""Input checks shared by the metrics and plotting helpers (clear errors for students)."""

from __future__ import annotations

import numpy as np

N_FEATURES = 400  # 20 x 20 pixels per digit
IMAGE_SHAPE = (20, 20)


def as_images(X) -> np.ndarray:
    """Return X as a 2-D float array with 400 columns, or raise ValueError."""
    X = np.asarray(X)
    if X.ndim == 1 and X.shape[0] == N_FEATURES:
        X = X[np.newaxis, :]  # a single digit is fine too
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise ValueError(
            f"X must have shape (n, {N_FEATURES}) (20x20 images unrolled), got {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X is empty")
    return X.astype(float, copy=False)


def as_labels(name: str, labels, n: int | None = None) -> np.ndarray:
    """Return labels as a 1-D int64 array (optionally of length n), or raise ValueError."""
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] > 1:
        # The usual slip: passing model.predict() output instead of class labels.
        raise ValueError(
            f"{name} must be 1-D class labels, got shape {arr.shape}; "
            f"for probabilities use np.argmax({name}, axis=1)"
        )
    if arr.ndim == 2:
        arr = arr[:, 0]  # a column vector (n, 1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.number) and np.all(np.mod(arr, 1) == 0)):
            raise ValueError(f"{name} must contain whole-number class labels")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but {n} were expected")
    return arr.astype(np.int64)


def check_count(name: str, value: int) -> int:
    """Positive integer check for n / cols / max_images."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
