"""Runs inside the sandbox: execute one notebook with nbgrader's Execute, then export the model.

Started by :mod:`autograder.execute` as ``python -m autograder.worker IN OUT EXPORT_DIR``
with the sandbox's environment and limits, so the kernel it starts inherits them. It
never touches the gradebook: it reads one notebook and writes one notebook.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets.config import Config


class GuardedExecute(Execute):
    """nbgrader's Execute with two guards.

    A cell during which the kernel dies (or execution breaks) keeps an error output;
    otherwise a test cell left without outputs scores full marks. And output beyond
    ``output_limit`` bytes is dropped as it arrives (errors and a cell's first stderr
    excepted, as scoring needs them), so a flood cannot exhaust memory.
    """

    output_limit = 2 * 2**20
    _output_bytes = 0
    _flood_noted = False

    def output(self, outs, msg, display_id, cell_index):
        self._output_bytes += len(str(msg.get("content", "")))
        if self._output_bytes <= self.output_limit or msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        if msg["msg_type"] == "stream" and content.get("name") == "stderr" and not any(
                o.get("name") == "stderr" for o in outs):
            content["text"] = content.get("text", "")[:1000]
            return super().output(outs, msg, display_id, cell_index)
        if not self._flood_noted:
            self._flood_noted = True
            outs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"\n[grader: output beyond {self.output_limit // 2**20} MiB dropped]\n"))
        return None

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


def execute(nb_in: str, nb_out: str, export_dir: str, cell_timeout: int,
            output_limit: int = GuardedExecute.output_limit) -> None:
    nb = nbformat.read(nb_in, as_version=4)
    export_source = _export_source(export_dir)
    if export_source:
        nb.cells.append(nbformat.v4.new_code_cell(export_source))
    config = Config()
    # Unix sockets instead of TCP: works inside a network namespace with no interfaces up.
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(os.getcwd(), ".kernel")
    executor = GuardedExecute(config=config, timeout=cell_timeout)
    executor.output_limit = output_limit
    resources = {"metadata": {"path": os.getcwd()}}
    try:
        nb, _ = executor.preprocess(nb, resources)
    finally:
        _stop_leftovers()
        if export_source and nb.cells and nb.cells[-1].source == export_source:
            nb.cells.pop()
        nbformat.write(nb, nb_out)


def _stop_leftovers() -> None:
    """As the first process of a PID namespace (see autograder.jail), end every process
    the notebook left behind before writing results, so none can rewrite them."""
    if os.getpid() != 1:
        return
    try:
        os.kill(-1, signal.SIGKILL)  # everyone in this namespace but us
    except ProcessLookupError:
        pass


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
    parser.add_argument("--output-limit", type=int, default=GuardedExecute.output_limit)
    args = parser.parse_args(argv)
    try:
        execute(args.nb_in, args.nb_out, args.export_dir, args.cell_timeout,
                args.output_limit)
    except Exception as exc:  # reported to the grader through the exit status and stderr
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
