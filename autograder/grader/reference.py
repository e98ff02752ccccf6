"""Build the reference model and metrics by executing the solution notebook end to end.

``python -m autograder.grader.reference`` (``make reference``) runs the instructor notebook
with the student kit's runner (the same way grading and ``check`` run notebooks), then
writes, beside the notebook of every assignment that trains a model (``Assignment.model``),

- ``reference_model.keras``  the trained solution model;
- ``reference_metrics.json`` ``training_accuracy`` (recomputed with numpy from the saved
  weights, see ``autograder.model.saved_model``), ``final_loss``, ``epochs``,
  ``threshold`` and the versions of Python, TensorFlow, Keras and numpy.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.assignment import DenseModel
from autograder.grader.assignments import ids, trusted_data
from autograder.grader.course import REPO_ROOT, Course
from autograder.model.saved_model import accuracy, read_saved_model
from autograder.student import runner

CELL_TIMEOUT = 600  # seconds per cell: a slow machine must not fail the reference build


class ReferenceError(RuntimeError):
    """The solution notebook did not run cleanly, so there is no reference."""


def run_notebook(notebook: Path, export_dir: Path | None = None, *, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Execute ``notebook`` with the runner; return the executed copy (errors recorded in
    their cells' outputs, as grading records them).

    ``export_dir``: where the runner's export cell saves the model (default: a temporary
    folder). ``cwd``: the kernel's working folder (default: the notebook's). ``env``: the
    runner's whole environment (default: this process's).
    """
    notebook = Path(notebook).resolve()
    with tempfile.TemporaryDirectory(prefix="reference-run-") as tmp:
        executed = Path(tmp) / "executed.ipynb"
        cmd = runner.command(notebook, executed, export_dir or Path(tmp) / "export",
                             CELL_TIMEOUT)
        proc = subprocess.run(cmd, cwd=cwd or notebook.parent, capture_output=True, text=True,
                              env=env)
        if not executed.is_file():
            raise ReferenceError(f"{notebook.name} could not be run: {proc.stderr.strip()}")
        return nbformat.read(executed, as_version=4)


def versions() -> dict[str, str]:
    """Versions of the pieces that decide the trained weights."""
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


def run_solution(notebook: Path, export_dir: Path,
                 env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Execute ``notebook``, its model and history exported into ``export_dir``; return the
    executed copy. Raises ``ReferenceError`` if a cell fails. ``env``: as ``run_notebook``
    (default: this process's, TensorFlow's C++ log quiet)."""
    env = env if env is not None else {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    executed = run_notebook(notebook, export_dir, env=env)
    if errors := _errors(executed):
        raise ReferenceError(f"{Path(notebook).name} has failing cells: {'; '.join(errors)}")
    return executed


def write_reference(export_dir: Path, out_dir: Path, model: DenseModel) -> dict:
    """Save the model ``run_solution`` exported and its metrics into ``out_dir``; return the
    metrics. Raises ``ReferenceError`` if the model or history was not exported."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "reference_model.keras"
    export = json.loads((export_dir / "export.json").read_text(encoding="utf-8"))
    if export["error"] or not (export["model"] and export["history"]):
        raise ReferenceError(f"could not export the solution's model and history: {export}")
    history = json.loads((export_dir / "history.json").read_text(encoding="utf-8"))
    shutil.copyfile(export_dir / "model.keras", model_path)

    X, y = trusted_data(model.data)
    weights = read_saved_model(model_path, model.weight_shapes).weights
    metrics = {
        "training_accuracy": accuracy(weights, X, y, model.activations),
        "final_loss": float(history["loss"][-1]),
        "epochs": len(history["loss"]),
        "threshold": model.accuracy_threshold,
        "versions": versions(),
    }
    (out_dir / "reference_metrics.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )
    return metrics


def build_reference(course: Course, out_dir: Path | None = None) -> dict:
    """Execute the assignment's source notebook, save its model and metrics into
    ``out_dir`` (default: the notebook's folder); return the metrics."""
    notebook = course.source_notebook.resolve()
    with tempfile.TemporaryDirectory(prefix="reference-") as tmp:
        run_solution(notebook, Path(tmp))
        return write_reference(Path(tmp), Path(out_dir) if out_dir is not None
                               else notebook.parent, course.assignment.model)


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.grader.reference [ID ...]``: every assignment of the
    repository that trains a model (or those named; the Makefile runs one per process, so
    that ``make -j`` builds them side by side)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for assignment_id in (sys.argv[1:] if argv is None else argv) or ids(REPO_ROOT):
        course = Course(REPO_ROOT, None, assignment_id)
        if course.assignment.model is None:
            continue
        start = time.perf_counter()
        metrics = build_reference(course)
        print(json.dumps(metrics, indent=2))
        print(f"wrote {course.source_notebook.parent / 'reference_model.keras'} and "
              f"reference_metrics.json in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
