"""Tests for data/digits.npz, its build script and digit_helpers.load_data."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digit_helpers import (
    DATA_FILE,
    DATA_SHA256,
    DataError,
    load_binary_data,
    load_data,
    trusted_binary_data,
)

from helpers import ROOT

SCRIPT = ROOT / "data" / "make_digits.py"
REBUILD = 'python data/make_digits.py'


def _load_script():
    """Import data/make_digits.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("make_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_env_override(monkeypatch):
    # The grading sandbox may set DIGITS_DATA; these tests choose the file themselves.
    monkeypatch.delenv("DIGITS_DATA", raising=False)


@pytest.fixture(scope="module")
def digits():
    return load_data(DATA_FILE)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- content -------------------------------------------------------------------------


def test_default_location_is_repo_data_folder():
    assert DATA_FILE == ROOT / "data" / "digits.npz"
    X, y = load_data()
    assert X.shape == (5000, 400) and y.shape == (5000,)


def test_shapes_dtypes_and_range(digits):
    X, y = digits
    assert X.shape == (5000, 400) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.isfinite(X).all()


def test_500_per_class_sorted_by_label(digits):
    _, y = digits
    assert np.bincount(y, minlength=10).tolist() == [500] * 10
    assert np.array_equal(y, np.repeat(np.arange(10), 500))


def test_every_image_has_ink_and_is_not_duplicated(digits):
    X, _ = digits
    assert (X.max(axis=1) > 0.5).all()
    assert len(np.unique(X, axis=0)) == len(X)


def test_ink_is_centred(digits):
    X, _ = digits
    mean = X.mean(axis=0).reshape(20, 20)
    border = np.concatenate([mean[0], mean[-1], mean[:, 0], mean[:, -1]])
    assert mean[5:15, 5:15].mean() > 10 * border.mean()


def test_images_are_row_major(digits):
    # A mean "1" is a tall vertical stroke; a transposed unroll would make it wide.
    X, y = digits
    ones = X[y == 1].mean(axis=0).reshape(20, 20)
    rows_with_ink = int((ones > 0.2).any(axis=1).sum())
    cols_with_ink = int((ones > 0.2).any(axis=0).sum())
    assert rows_with_ink >= cols_with_ink + 4, (rows_with_ink, cols_with_ink)
    # A mean "7" has its wide horizontal bar in the top half and a narrow stem
    # below; transposed, the widest rows would be in the bottom half instead.
    sevens = X[y == 7].mean(axis=0).reshape(20, 20)
    widths = (sevens > 0.2).sum(axis=1)
    assert widths[:10].max() >= 1.5 * widths[10:].max(), widths.tolist()


def test_returned_arrays_are_writable_copies():
    X1, y1 = load_data()
    X1[0] = 0.5
    y1[0] = 9
    X2, y2 = load_data()
    assert X1.flags.writeable and y1.flags.writeable
    assert not np.all(X2[0] == 0.5)  # the edit did not leak into a later load
    assert y2[0] == 0


# --- checksum and errors -------------------------------------------------------------


def test_sha256_matches_constant_and_readme():
    assert _sha256(DATA_FILE) == DATA_SHA256
    assert DATA_SHA256 in (ROOT / "data" / "README.md").read_text()


def _assert_names_file_and_command(err: DataError, path: Path):
    message = str(err)
    assert str(path) in message
    assert REBUILD in message


def test_corrupt_file_raises_with_path_and_rebuild_command(tmp_path):
    bad = tmp_path / "digits.npz"
    data = bytearray(DATA_FILE.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the archive
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError) as exc:
        load_data(bad, verify=True)
    assert "SHA-256" in str(exc.value)
    _assert_names_file_and_command(exc.value, bad)
    assert isinstance(exc.value, RuntimeError)


def test_file_named_digits_npz_is_verified_by_default(tmp_path):
    bad = tmp_path / "digits.npz"
    bad.write_bytes(DATA_FILE.read_bytes()[:-10])  # truncated
    with pytest.raises(DataError):
        load_data(bad)


def test_missing_file_raises_with_path_and_rebuild_command(tmp_path):
    missing = tmp_path / "nowhere" / "digits.npz"
    with pytest.raises(DataError) as exc:
        load_data(missing)
    assert "not found" in str(exc.value)
    _assert_names_file_and_command(exc.value, missing)


def test_unreadable_file_without_verify_still_raises_data_error(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError) as exc:
        load_data(junk, verify=False)
    _assert_names_file_and_command(exc.value, junk)


def test_custom_file_is_loaded_and_validated(tmp_path, digits):
    X, y = digits
    small = tmp_path / "small.npz"
    np.savez(small, X=X[::50], y=y[::50])
    X_small, y_small = load_data(small)  # other name: no checksum by default
    assert np.array_equal(X_small, X[::50]) and np.array_equal(y_small, y[::50])

    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, X=X[:10].T.copy(), y=y[:10])  # 400 x 10: features/examples swapped
    with pytest.raises(DataError, match="X must be float32"):
        load_data(wrong)

    scaled = tmp_path / "scaled.npz"
    np.savez(scaled, X=X[:10] * 255, y=y[:10])  # 0-255 instead of [0, 1]
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        load_data(scaled)


def test_env_var_is_honoured(tmp_path, monkeypatch, digits):
    copy = tmp_path / "elsewhere" / "digits.npz"
    copy.parent.mkdir()
    shutil.copyfile(DATA_FILE, copy)
    monkeypatch.setenv("DIGITS_DATA", str(copy))
    X, y = load_data()
    assert np.array_equal(X, digits[0]) and np.array_equal(y, digits[1])

    copy.unlink()  # now the env var points nowhere: the error must name that path
    with pytest.raises(DataError) as exc:
        load_data()
    _assert_names_file_and_command(exc.value, copy)


# --- build script --------------------------------------------------------------------


def test_area_resampling_keeps_the_whole_digit():
    make = _load_script()
    w = make.area_weights()
    assert w.shape == (20, 28)
    assert (w.sum(axis=1) == 28).all() and (w.sum(axis=0) == 20).all()

    # Ink at the very edges survives (no crop) and total ink is conserved.
    img = np.zeros((1, 28, 28), dtype=np.int64)
    img[0, :, 0] = 255  # left column
    img[0, 27, :] = 255  # bottom row
    out = make.downsample(img)[0]
    assert out.shape == (20, 20) and out.dtype == np.float32
    assert out[:, 0].min() > 0 and out[-1, :].min() > 0
    assert out[:-1, 1:].max() == 0.0
    np.testing.assert_allclose(out.sum() * (28 / 20) ** 2, img.sum() / 255, rtol=1e-6)

    # A full-intensity image stays exactly 1 everywhere.
    assert (make.downsample(np.full((1, 28, 28), 255)) == 1.0).all()


@pytest.mark.slow  # rebuilds the data set from MNIST (several seconds)
def test_rebuild_is_byte_identical(tmp_path):
    out = tmp_path / "rebuilt.npz"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert DATA_SHA256 in result.stdout
    assert _sha256(out) == DATA_SHA256


def test_the_binary_set_is_the_500_zeros_and_500_ones_in_order():
    X, y = load_binary_data()
    assert X.shape == (1000, 400) and X.dtype == np.float32
    assert y.shape == (1000, 1) and y.dtype == np.int64
    assert int((y == 0).sum()) == 500 and int((y == 1).sum()) == 500
    X10, y10 = load_data()
    np.testing.assert_array_equal(X, X10[y10 <= 1])  # the same rows, in the set's order
    np.testing.assert_array_equal(y[:, 0], y10[y10 <= 1])
    Xt, yt = trusted_binary_data()
    np.testing.assert_array_equal(Xt, X)
    np.testing.assert_array_equal(yt, y)

