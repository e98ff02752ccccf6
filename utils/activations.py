"""Activation functions the notebooks pass to the layers they write (numpy only).

Kept light: the grader imports them by name (``Fn("digit_helpers:sigmoid")``) in its own
process and in every call process, so importing this module must not pull in matplotlib.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    """Element-wise logistic sigmoid, 1 / (1 + e^(-z)), of a number or an array of any shape.

    Computed as exp(-log(1 + e^(-z))) (``np.logaddexp``), so that it neither overflows nor
    warns for large |z|: sigmoid(-1000) is 0.0 and sigmoid(1000) is 1.0. Returns a new array
    (a numpy scalar for a number) of z's shape, float32 for float32 input, else float64; z
    is left unchanged.
    """
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    return np.exp(-np.logaddexp(z.dtype.type(0), -z))
