"""Runs inside the sandbox: execute one notebook with nbgrader's Execute, then export the model.

Started by :mod:`autograder.execute` as ``python -m autograder.worker IN OUT EXPORT_DIR``
with the sandbox's environment and limits, so the kernel it starts inherits them. It
never touches the gradebook: it reads one notebook and writes one notebook.
"""

from __future__ import annotations

import argparse
import os
import sys

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets.config import Config


class GuardedExecute(Execute):
    """nbgrader's Execute, but a cell during which the kernel dies (or execution breaks)
    keeps an error output; otherwise a test cell left without outputs scores full marks."""

    def preprocess_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception as exc:
            message = ("the Python kernel died while running this cell"
                       if isinstance(exc, DeadKernelError) else f"execution stopped: {exc}")
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=type(exc).__name__, evalue=message,
                traceback=[f"{type(exc).__name__}: {message}"]))
            raise


def execute(nb_in: str, nb_out: str, export_dir: str, cell_timeout: int) -> None:
    nb = nbformat.read(nb_in, as_version=4)
    export_source = _export_source(export_dir)
    if export_source:
        nb.cells.append(nbformat.v4.new_code_cell(export_source))
    config = Config()
    # Unix sockets instead of TCP: works inside a network namespace with no interfaces up.
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(os.getcwd(), ".kernel")
    executor = GuardedExecute(config=config, timeout=cell_timeout)
    resources = {"metadata": {"path": os.getcwd()}}
    try:
        nb, _ = executor.preprocess(nb, resources)
    finally:
        if export_source and nb.cells and nb.cells[-1].source == export_source:
            nb.cells.pop()
        nbformat.write(nb, nb_out)


def _export_source(export_dir: str) -> str | None:
    try:
        from autograder.model_export import export_cell_source
    except ImportError:
        return None
    return export_cell_source(export_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.worker")
    parser.add_argument("nb_in")
    parser.add_argument("nb_out")
    parser.add_argument("export_dir")
    parser.add_argument("--cell-timeout", type=int, default=120)
    args = parser.parse_args(argv)
    try:
        execute(args.nb_in, args.nb_out, args.export_dir, args.cell_timeout)
    except Exception as exc:  # reported to the grader through the exit status and stderr
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
