"""Step, execute: run one sandboxed notebook in a worker process and watch it.

The worker (and the kernel it starts) run under the sandbox's environment and limits; this
side enforces what rlimits cannot: the wall clock for the whole notebook and the resident
memory of the whole process tree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbformat.notebooknode import NotebookNode

from autograder.grader.sandbox.folder import Sandbox, environment
from autograder.grader.sandbox.limits import Limits, rlimit_setter
from autograder.grader.sandbox.zygote import Job, Slot, ZygoteError
from autograder.student import runner

POLL_SECONDS = 0.2


@dataclass
class Execution:
    notebook: NotebookNode | None
    export_dir: Path | None = None       # the model saved after the notebook, if any
    problem: str | None = None           # why execution stopped early, for the student
    functions_dir: Path | None = None    # see call_functions
    functions_problem: str | None = None


def _tree_rss(proc: psutil.Process | None) -> int:
    if proc is None:
        return 0
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _Started:
    """A worker started with Popen, as the watch loop sees it (a zygote's Slot is the other)."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.pid = proc, proc.pid

    def poll(self, timeout: float = 0) -> int | None:
        try:
            return self.proc.wait(timeout) if timeout else self.proc.poll()
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        _kill_group(self.proc)

    def wait(self) -> int:
        return self.proc.wait()


def _watch(worker, limits: Limits, what: str, timeout: int) -> tuple[int, str | None]:
    """Watch a started worker's wall time and the memory of its whole process tree;
    (exit status, why it was stopped or None). Everything it started is killed at the end."""
    start = time.monotonic()
    try:
        watched = psutil.Process(worker.pid)
    except psutil.NoSuchProcess:  # a forked worker that ended at once is reaped at once
        watched = None
    problem = None
    while worker.poll(POLL_SECONDS) is None:
        if _tree_rss(watched) > limits.memory:
            problem = (f"{what} used more than {limits.memory / 2**30:.1f} GiB of memory "
                       "and was stopped; look for very large arrays or models")
        elif time.monotonic() - start > timeout:
            problem = (f"{what} ran longer than {timeout} s in total and was stopped; look "
                       "for endless loops or very long training")
        if problem:
            worker.kill()
            break
    worker.kill()  # the kernel or anything the student started must not outlive us
    return worker.wait(), problem


def _run_watched(cmd: list[str], box: Sandbox, limits: Limits, threads: int, err_file: Path,
                 what: str, timeout: int) -> tuple[int, str | None]:
    """Run ``cmd`` in the sandbox under its limits and watch it (see ``_watch``)."""
    with open(err_file, "wb") as err:
        proc = subprocess.Popen(
            cmd, cwd=box.root, env=environment(box, threads), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err, preexec_fn=rlimit_setter(limits),
        )
    return _watch(_Started(proc), limits, what, timeout)


def run_worker(box: Sandbox, limits: Limits, threads: int = 1,
               command_prefix: list[str] | None = None) -> Execution:
    """Run the notebook in a fresh worker process (behind ``command_prefix``, the jail)."""
    cmd = [*(command_prefix or []), *runner.command(box.notebook, box.executed, box.export_dir,
                                                    limits.cell_timeout, limits.output_size,
                                                    consume=True)]
    code, problem = _run_watched(cmd, box, limits, threads, box.root / "worker.err",
                                 "the notebook", limits.notebook_timeout)
    return _executed(box, limits, code, problem)


def run_forked(box: Sandbox, limits: Limits, line: Slot, job: Job) -> Execution:
    """Run the notebook in a worker forked by the zygote over ``line``, locked in as ``job``
    says. ZygoteError: the zygote could not fork it, or ended while it ran (not by the
    student's code when isolated: it cannot reach the zygote)."""
    line.start(job)
    code, problem = _watch(line, limits, "the notebook", limits.notebook_timeout)
    if line.lost and problem is None:  # a time or memory verdict stands as it is
        raise ZygoteError(line.lost)
    return _executed(box, limits, code, problem)


def _executed(box: Sandbox, limits: Limits, code: int, problem: str | None) -> Execution:
    err_file = box.root / "worker.err"
    err = err_file.read_text(errors="replace").strip() if err_file.is_file() else ""
    if problem is None and code != 0:
        problem = _explain_failure(code, err)
    nb = _read_executed(box, limits)
    if nb is None and problem is None:
        problem = "the notebook produced no result"
    return Execution(nb, box.export_dir, problem)


FUNCTION_CALL_SECONDS = 60


def call_functions(box: Sandbox, limits: Limits, files: dict[str, bytes], uid: int | None,
                   command_prefix: list[str] | None = None) -> tuple[Path, str | None]:
    """After the notebook and all it started have ended: lay ``files`` out in a new folder
    of the sandbox and call the student's functions there in a fresh process (see
    ``autograder.grader.sandbox.call_functions``). (the folder, None or why it failed)."""
    # A fresh name: the notebook could have left anything at a fixed one.
    folder = Path(tempfile.mkdtemp(prefix="functions-", dir=box.root))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if uid is not None:
        for path in [folder, *folder.iterdir()]:
            os.lchown(path, uid, uid)
    cmd = [*(command_prefix or []), sys.executable, "-m",
           "autograder.grader.sandbox.call_functions", str(folder)]
    code, problem = _run_watched(cmd, box, limits, 1, box.root / "functions.err",
                                 "calling your functions", FUNCTION_CALL_SECONDS)
    if problem is None and code != 0:
        err = (box.root / "functions.err").read_text(errors="replace").strip()
        problem = f"your functions could not be called: {err.splitlines()[-1] if err else code}"
    return folder, problem


def _explain_failure(code: int, err: str) -> str:
    if "DeadKernelError" in err or "Kernel died" in err:
        return ("the Python kernel died while running the notebook (for example os._exit, "
                "a crash, or running out of memory); the tests after that point did not run")
    if code < 0:
        return f"the grading process was stopped by signal {signal.Signals(-code).name}"
    last = err.splitlines()[-1] if err else f"exit status {code}"
    return f"the notebook could not be run to the end: {last}"


def _read_executed(box: Sandbox, limits: Limits) -> NotebookNode | None:
    path = box.executed
    if not path.is_file():
        return None
    if path.stat().st_size > limits.output_size * 8:
        return None  # the worker caps output; a file this large was not written by it
    try:
        return nbformat.read(path, as_version=4)
    except Exception:
        return None
