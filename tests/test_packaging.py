"""A plain (non-editable) install: every package is in the wheel and the data set loads."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow  # builds a wheel (a few seconds)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the venv's setuptools, no download.
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (found,) = out.glob("*.whl")
    return found


def test_every_package_of_the_repository_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = [p.parent.relative_to(ROOT).as_posix()
                for p in (ROOT / "autograder").rglob("__init__.py")]
    assert packages, "no packages found"
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert missing == [], f"add these to [tool.setuptools] packages: {missing}"


def test_installed_helpers_find_the_data_set_without_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                           "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    packaged = target / "digit_helpers" / "digits.npz"
    assert packaged.is_file() and not packaged.is_symlink()
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import digit_helpers; "
            "X, y = digit_helpers.load_data(); print(digit_helpers.DATA_FILE, X.shape)")
    # The wheel's copy comes first on the path; the run is outside the repository.
    proc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert str(packaged) in proc.stdout and "(5000, 400)" in proc.stdout
