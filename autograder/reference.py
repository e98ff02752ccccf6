"""Build the reference model and metrics by executing the solution notebook end to end.

``python -m autograder.reference`` runs the instructor notebook in a real Jupyter kernel,
exports its trained model with ``autograder.model_export`` and writes, beside the notebook,

- ``reference_model.keras``  the trained solution model;
- ``reference_metrics.json`` ``training_accuracy`` (recomputed here with numpy from the
  saved weights, see ``autograder.trusted``), ``final_loss``, ``epochs``, ``seed``,
  ``threshold`` and the versions of Python, TensorFlow, Keras and numpy.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat
import zmq
from nbclient import NotebookClient

from autograder.model_export import export_cell_source

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTION_NOTEBOOK = REPO_ROOT / "solutions" / "digit_recognition" / "digit_recognition.ipynb"
SEED = 1234  # the seed the notebook's training cell sets
THRESHOLD = 0.95  # training accuracy test_training_accuracy requires
CELL_TIMEOUT = 600  # seconds per cell


def kernel_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus TF_CPP_MIN_LOG_LEVEL=3 and ``overrides``."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(overrides or {})
    return env


def run_notebook(
    notebook: str | os.PathLike,
    *,
    export_dir: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    timeout: int = CELL_TIMEOUT,
    allow_errors: bool = False,
) -> nbformat.NotebookNode:
    """Execute ``notebook`` in a fresh python3 kernel and return the executed copy.

    cwd:          the kernel's working folder (default: the notebook's folder).
    env:          the kernel's whole environment (default: ``kernel_env()``).
    export_dir:   if given, run ``export_cell_source(export_dir)`` in the same kernel
                  after the last cell (it is appended to the returned notebook).
    allow_errors: record failing cells and go on, instead of raising
                  ``nbclient.exceptions.CellExecutionError``.
    """
    notebook = Path(notebook).resolve()
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(Path(cwd or notebook.parent).resolve())}},
    )
    launch = {"env": dict(env) if env is not None else kernel_env()}
    if zmq.has("curve"):
        # encrypt the kernel's sockets (and avoid ipykernel's "running over TCP without
        # encryption" warning on stderr)
        launch["transport_encryption"] = "auto"
    with client.setup_kernel(**launch):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        if export_dir is not None:
            nb.cells.append(nbformat.v4.new_code_cell(export_cell_source(str(export_dir))))
            client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    return nb


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


def build_reference(
    notebook: str | os.PathLike = SOLUTION_NOTEBOOK,
    out_dir: str | os.PathLike | None = None,
) -> dict:
    """Execute ``notebook``, save its model and metrics into ``out_dir``; return the metrics.

    ``out_dir`` defaults to the notebook's folder. Raises ``CellExecutionError`` if a cell
    of the notebook fails and ``RuntimeError`` if the model or history cannot be exported.
    """
    from autograder.trusted import training_accuracy
    from digit_helpers import load_data

    notebook = Path(notebook).resolve()
    out_dir = Path(out_dir) if out_dir is not None else notebook.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "reference_model.keras"
    with tempfile.TemporaryDirectory(prefix="digit-reference-") as tmp:
        export_dir = Path(tmp)
        run_notebook(notebook, export_dir=export_dir)
        export = json.loads((export_dir / "export.json").read_text(encoding="utf-8"))
        if export["error"] or not (export["model"] and export["history"]):
            raise RuntimeError(f"could not export the solution's model and history: {export}")
        history = json.loads((export_dir / "history.json").read_text(encoding="utf-8"))
        shutil.copyfile(export_dir / "model.keras", model_path)

    X, y = load_data()
    metrics = {
        "training_accuracy": training_accuracy(model_path, X, y),
        "final_loss": float(history["loss"][-1]),
        "epochs": len(history["loss"]),
        "seed": SEED,
        "threshold": THRESHOLD,
        "versions": versions(),
    }
    (out_dir / "reference_metrics.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )
    return metrics


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.perf_counter()
    metrics = build_reference()
    print(json.dumps(metrics, indent=2))
    print(
        f"wrote {SOLUTION_NOTEBOOK.parent / 'reference_model.keras'} and "
        f"reference_metrics.json in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
