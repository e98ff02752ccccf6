"""Locate, verify and load the 5000-digit data set (data/digits.npz)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

# Installed from a wheel, the data set is package data beside this module; in the
# repository (or an editable install, or the student template) utils/digits.npz is absent or
# a link to data/digits.npz, so fall back to the repository's data/ folder.
_PACKAGED = Path(__file__).resolve().parent / "digits.npz"
DATA_FILE = (_PACKAGED if _PACKAGED.is_file()
             else Path(__file__).resolve().parent.parent / "data" / "digits.npz").resolve()
# SHA-256 of the committed data/digits.npz (also listed in data/README.md).
DATA_SHA256 = "f7b832f4a0f562889013ebcfd69948bf30651cbfc28107cbcbd0371aadbbb167"
# Environment override, used e.g. by the grading sandbox where the repo is absent.
ENV_VAR = "DIGITS_DATA"
REBUILD_COMMAND = 'python data/make_digits.py'

N_FEATURES = 400  # 20 x 20 pixels, unrolled row-major
N_CLASSES = 10


class DataError(RuntimeError):
    """The digits file is missing, corrupt or has unexpected content."""

    def __init__(self, path: Path, problem: str):
        self.path = Path(path)
        super().__init__(
            f"{problem}: {self.path}\nRebuild it from the repository root with:  {REBUILD_COMMAND}"
        )


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks so memory use stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_path(path: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """Pick the data file: argument, else $DIGITS_DATA, else the repo's data/digits.npz.

    Also returns whether the file is meant to be the official one (so its
    checksum should be checked by default).
    """
    if path is not None:
        p = Path(path)
        return p, p.name == DATA_FILE.name
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env), True
    return DATA_FILE, True


def _validate(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    """Reject arrays that do not look like the digits set, with a precise reason."""
    if X.dtype != np.float32 or X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise DataError(path, f"X must be float32 (n, {N_FEATURES}), got {X.dtype} {X.shape}")
    if y.dtype != np.int64 or y.shape != (X.shape[0],):
        raise DataError(path, f"y must be int64 ({X.shape[0]},), got {y.dtype} {y.shape}")
    if X.size and not (np.isfinite(X).all() and X.min() >= 0.0 and X.max() <= 1.0):
        raise DataError(path, "X values must lie in [0, 1]")
    if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
        raise DataError(path, f"labels must be integers 0-{N_CLASSES - 1}")


def load_data(
    path: str | os.PathLike | None = None, *, verify: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (X, y): X float32 (5000, 400) in [0, 1], y int64 (5000,) labels 0-9.

    Each row of X is a 20x20 image unrolled row-major: ``X[i].reshape(20, 20)``.

    path:   explicit .npz file; otherwise $DIGITS_DATA, otherwise data/digits.npz.
    verify: check the SHA-256 against DATA_SHA256 first. By default this is done
            for the official file (default location, $DIGITS_DATA, or any file
            named digits.npz); pass verify=False to load a custom file of that name.

    Raises DataError (a RuntimeError) naming the file and the rebuild command
    when the file is missing, fails the checksum, or has unexpected content.
    """
    file, official = resolve_path(path)
    if verify is None:
        verify = official
    if not file.is_file():
        raise DataError(file, "digits data file not found")
    if verify:
        actual = sha256_file(file)
        if actual != DATA_SHA256:
            raise DataError(
                file, f"digits data file is corrupt (SHA-256 {actual}, expected {DATA_SHA256})"
            )
    try:
        # allow_pickle=False: a data file must never be able to run code.
        with np.load(file, allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(file, f"cannot read digits data file ({exc})") from exc
    _validate(file, X, y)
    return X, y


def trusted_data() -> tuple[np.ndarray, np.ndarray]:
    """The bundled data set, checksum verified: what the grader decides the model tests on."""
    return load_data(DATA_FILE, verify=True)


def load_binary_data(
    path: str | os.PathLike | None = None, *, verify: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The zeros and ones of the digits set, for the binary lab: X float32 (1000, 400), y
    int64 (1000, 1), 500 of each label, in the set's order. Same file and checks as
    ``load_data``."""
    X, y = load_data(path, verify=verify)
    keep = y <= 1
    return X[keep], y[keep].reshape(-1, 1)


def trusted_binary_data() -> tuple[np.ndarray, np.ndarray]:
    """The binary set from the bundled file, checksum verified: what the grader decides the
    binary lab's model tests on."""
    return load_binary_data(DATA_FILE, verify=True)

