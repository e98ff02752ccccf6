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

from autograder.assignment import Assignment
from autograder.grader.assignments import package_folder

FILES = Path(__file__).parent / "files"
# Pythons with TensorFlow 2.21 wheels (checked against the package index): Classroom 50's
# default (3.14) and Ubuntu 22.04's (3.10) have none, so both platforms get a pinned one.
TENSORFLOW_PYTHONS = ("3.11", "3.12", "3.13")


def helper_files(assignment: Assignment) -> dict[str, Path]:
    """``<package>/<file>`` -> file: the assignment's helper packages with their data files,
    as both platforms' copies of the course import them."""
    files = {}
    for name in assignment.packages:
        folder = package_folder(name)
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[f"{name}/{path.relative_to(folder).as_posix()}"] = path
    return files


def runtime_python() -> str:
    """The Python the platforms run: the one this course was installed and tested with, so
    the pinned versions are the ones known to work together."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return version if version in TENSORFLOW_PYTHONS else TENSORFLOW_PYTHONS[-1]
