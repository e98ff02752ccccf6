"""The one way a notebook is run: as nbgrader's Execute does, then the model is exported.

Grading (inside the sandbox, with its environment and limits, which the kernel inherits),
the student's self-check and ``make reference`` all start it the same way, as
``python -m autograder.student.runner IN OUT EXPORT_DIR`` (see :func:`command`). It never
touches the gradebook: it reads one notebook and writes one notebook and the export folder.

When grading, OUT is a descriptor of a file the grader made outside the sandbox
(``--out-fd``), not a name in the sandbox: student code cannot replace it with a link, and a
sandbox that student code filled to its cap still leaves room for the result. The kernel
never holds that descriptor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets.config import Config

from autograder.assignment import CELL_TIMEOUT
from autograder.student.export_cell import export_cell_source

KERNEL_ARGS = ("--HistoryManager.hist_file=:memory:",
               "--InteractiveShellApp.extensions=autograder.student.inline_figures")


class GuardedExecute(NotebookClient):
    """nbgrader's Execute preprocessor, on nbclient directly, with two guards.

    nbgrader's Execute is nbclient with the settings below and the ``on_cell_executed``
    hook; importing it pulls in nbgrader's Jupyter server extensions (seconds per
    submission), so the same settings are applied here instead.

    A cell during which the kernel dies (or execution breaks) keeps an error output;
    otherwise a test cell left without outputs scores full marks. And output beyond
    ``output_limit`` bytes is dropped as it arrives (errors and a cell's first stderr
    excepted, as scoring needs them), so a flood cannot exhaust memory.
    """

    output_limit = 2 * 2**20
    _output_bytes = 0
    _flood_noted = False

    def __init__(self, nb, timeout: int, **kwargs):
        super().__init__(
            nb, timeout=timeout, interrupt_on_timeout=True, allow_errors=True,
            raise_on_iopub_timeout=True, extra_arguments=list(KERNEL_ARGS),
            # Killed once the last cell is done: a graceful exit tears TensorFlow down
            # (CPU seconds) for nothing, since every output has arrived by then.
            shutdown_kernel="immediate",
            error_on_timeout={
                "ename": "CellTimeoutError", "evalue": "",
                "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before "
                              "timeout"]},
            **kwargs)

    def on_cell_executed(self, **kwargs):
        # As nbgrader: an error reply with no matching output (a timeout) becomes an output.
        cell, reply = kwargs["cell"], kwargs["execute_reply"]
        content = reply["content"]
        if content["status"] != "error":
            return
        if not any(o.output_type == "error" and o.ename == content["ename"]
                   for o in cell.outputs):
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=content["ename"], evalue=content["evalue"],
                traceback=content["traceback"] or ["ERROR: An error occurred while showtraceback"
                                                   " was disabled"]))

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

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        except Exception as exc:
            message = ("the Python kernel died while running this cell"
                       if isinstance(exc, DeadKernelError) else f"execution stopped: {exc}")
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=type(exc).__name__, evalue=message,
                traceback=[f"{type(exc).__name__}: {message}"]))
            raise


def command(nb_in: Path, nb_out: Path | int, export_dir: Path, cell_timeout: int = CELL_TIMEOUT,
            output_limit: int = GuardedExecute.output_limit, consume: bool = False
            ) -> list[str]:
    """The command line that runs ``nb_in`` into ``nb_out`` (a path, or a descriptor the
    process inherits) in a fresh process.

    ``consume`` deletes ``nb_in`` once read: grading restores the hidden tests into it,
    and student code runs in the same folder.
    """
    out = ["-", "--out-fd", str(nb_out)] if isinstance(nb_out, int) else [str(nb_out)]
    return [sys.executable, "-m", "autograder.student.runner", str(nb_in), out[0],
            str(export_dir), *out[1:], "--cell-timeout", str(cell_timeout),
            "--output-limit", str(output_limit), *(["--consume"] if consume else [])]


def execute(nb_in: str, nb_out: str | int, export_dir: str, cell_timeout: int,
            output_limit: int = GuardedExecute.output_limit, consume: bool = False,
            fork: bool = False) -> None:
    """Run ``nb_in`` into ``nb_out`` (a path, or an open descriptor); ``fork``: fork the
    kernel from this process (which has imported what the notebook needs, see
    ``autograder.student.forked_kernel``) instead of starting a new one."""
    if isinstance(nb_out, int):
        os.set_inheritable(nb_out, False)  # no kernel or process it starts gets it
    nb = nbformat.read(nb_in, as_version=4)
    if consume:
        os.unlink(nb_in)  # before any student code runs
    export_source = export_cell_source(export_dir)
    nb.cells.append(nbformat.v4.new_code_cell(export_source))
    config = Config()
    sockets = tempfile.mkdtemp(prefix="k")
    if sys.platform != "win32":
        # Unix sockets instead of TCP: works inside a network namespace with no interfaces
        # up. Their paths are capped at 107 bytes: keep them in a short temporary folder
        # (TMPDIR is the sandbox when grading), not beside a deeply nested notebook.
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(sockets, "kernel")
    km = kernel = None
    if fork:
        from autograder.student.forked_kernel import fork_kernel

        km = fork_kernel(sockets, list(KERNEL_ARGS),
                         close=(nb_out,) if isinstance(nb_out, int) else ())
        kernel = km.provisioner.process  # held here: nbclient may drop the provisioner
    executor = GuardedExecute(nb, cell_timeout, config=config, km=km,
                              resources={"metadata": {"path": os.getcwd()}})
    executor.output_limit = output_limit
    try:
        executor.execute()
    finally:
        if kernel is not None:  # an adopted kernel is not nbclient's to stop
            kernel.kill()
            kernel.wait()
        _stop_leftovers()
        if nb.cells and nb.cells[-1].source == export_source:
            nb.cells.pop()
        _write(nb, nb_out)
        shutil.rmtree(sockets, ignore_errors=True)


def _write(nb, nb_out: str | int) -> None:
    if isinstance(nb_out, int):
        with os.fdopen(nb_out, "w", encoding="utf-8") as out:
            nbformat.write(nb, out)
    else:
        nbformat.write(nb, nb_out)


def _stop_leftovers() -> None:
    """As the first process of a PID namespace (see autograder.grader.sandbox.jail), end
    every process the notebook left behind before writing results, so none can rewrite them."""
    if os.getpid() != 1:
        return
    try:
        os.kill(-1, signal.SIGKILL)  # everyone in this namespace but us
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.student.runner")
    parser.add_argument("nb_in")
    parser.add_argument("nb_out", help="the executed notebook's path (- with --out-fd)")
    parser.add_argument("export_dir")
    parser.add_argument("--out-fd", type=int, help="write the executed notebook here instead")
    parser.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT)
    parser.add_argument("--output-limit", type=int, default=GuardedExecute.output_limit)
    parser.add_argument("--consume", action="store_true", help="delete NB_IN once read")
    args = parser.parse_args(argv)
    try:
        out = args.out_fd if args.out_fd is not None else args.nb_out
        execute(args.nb_in, out, args.export_dir, args.cell_timeout,
                args.output_limit, args.consume)
    except Exception as exc:  # reported to the grader through the exit status and stderr
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
