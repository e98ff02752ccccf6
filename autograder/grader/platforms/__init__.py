"""Autograders for the platforms classes grade on, built from this course (as ``otter
generate`` builds one for Gradescope).

- ``gradescope``: ``python -m autograder gradescope OUT.zip`` writes the zip;
  ``gradescope_run`` is what its ``run_autograder`` runs in Gradescope's container (the full
  pipeline, hidden tests included).
- ``classroom50``: ``python -m autograder classroom50 OUT_DIR`` writes the public bundle,
  which runs ``autograder.public`` (public tests and secret-free checks only).
- ``requirements``: the pinned dependencies both install.
- ``files/``: the scripts the platforms call, copied as they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

FILES = Path(__file__).parent / "files"
# Pythons with TensorFlow 2.21 wheels (checked against the package index): Classroom 50's
# default (3.14) and Ubuntu 22.04's (3.10) have none, so both platforms get a pinned one.
TENSORFLOW_PYTHONS = ("3.11", "3.12", "3.13")


def helper_files() -> dict[str, Path]:
    """``digit_helpers/<file>`` -> file: the helpers and their data set, as both platforms'
    copies of the course import them."""
    import digit_helpers

    folder = Path(digit_helpers.__file__).parent
    files = {f"digit_helpers/{path.name}": path for path in sorted(folder.glob("*.py"))}
    files["digit_helpers/digits.npz"] = Path(digit_helpers.DATA_FILE)
    return files


def runtime_python() -> str:
    """The Python the platforms run: the one this course was installed and tested with, so
    the pinned versions are the ones known to work together."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return version if version in TENSORFLOW_PYTHONS else TENSORFLOW_PYTHONS[-1]
