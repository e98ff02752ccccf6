"""``python -m autograder check NOTEBOOK``: a student's self-check with the public tests.

Runs the notebook as it is (its own test cells are the public tests; hidden tests exist only
at grading time) in a fresh kernel, in the notebook's folder, without changing the file.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder import score
from autograder.sanitize import read_notebook


def run_public_tests(notebook: Path, cell_timeout: int = 300) -> dict[str, score.TestResult]:
    read_notebook(notebook)  # a clear message for an empty or damaged file
    with tempfile.TemporaryDirectory(prefix="check-") as tmp:
        executed = Path(tmp) / "executed.ipynb"
        proc = subprocess.run(
            [sys.executable, "-m", "autograder.worker", str(notebook.resolve()), str(executed),
             str(Path(tmp) / "export"), "--cell-timeout", str(cell_timeout)],
            cwd=notebook.resolve().parent, capture_output=True, text=True)
        if not executed.is_file():
            raise RuntimeError(f"the notebook could not be run: {proc.stderr.strip()}")
        nb = score.clean_outputs(nbformat.read(executed, as_version=4))
    if proc.returncode != 0:
        score.mark_not_run(nb, proc.stderr.strip().splitlines()[-1] if proc.stderr else
                           "the notebook stopped early")
    return score.score(nb)
