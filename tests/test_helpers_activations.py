"""Tests for the activation functions the binary lab passes to its layers (numpy only)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from digit_helpers import sigmoid


def test_sigmoid_is_the_logistic_function():
    z = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert sigmoid(0.0) == 0.5
    assert sigmoid(np.float64(2.0)).shape == ()


def test_large_sums_saturate_without_overflow_or_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would warn
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            out = sigmoid(np.array([-1000.0, 1000.0, -np.inf, np.inf]))
    np.testing.assert_array_equal(out, [0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.float64, np.float64),
                                             (np.int64, np.float64)])
def test_dtype_is_kept_for_floats_and_integers_become_float64(dtype, expected):
    z = np.array([[-1, 0], [1, 2]], dtype=dtype)
    out = sigmoid(z)
    assert out.dtype == expected and out.shape == (2, 2)


def test_the_input_is_left_unchanged():
    z = np.array([-3.0, 0.0, 3.0])
    before = z.copy()
    out = sigmoid(z)
    np.testing.assert_array_equal(z, before)
    assert out is not z


def test_importing_it_does_not_import_matplotlib():
    """The grader imports it in every call process (Fn("digit_helpers:sigmoid")): it stays
    light."""
    code = ("import sys; from digit_helpers import sigmoid; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
