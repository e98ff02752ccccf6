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
from autograder.student import runner

POLL_SECONDS = 0.2


@dataclass
class Execution:
    notebook: NotebookNode | None
    export_dir: Path | None = None       # the model saved after the notebook, if any
    problem: str | None = None           # why execution stopped early, for the student
    functions_dir: Path | None = None    # see call_functions
    functions_problem: str | None = None


def _tree_rss(proc: psutil.Process) -> int:
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


def _run_watched(cmd: list[str], box: Sandbox, limits: Limits, threads: int, err_file: Path,
                 what: str, timeout: int) -> tuple[int, str | None]:
    """Run ``cmd`` in the sandbox under its limits and watch its wall time and memory;
    (exit status, why it was stopped or None). Everything it started is killed at the end."""
    start = time.monotonic()
    with open(err_file, "wb") as err:
        proc = subprocess.Popen(
            cmd, cwd=box.root, env=environment(box, threads), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err, preexec_fn=rlimit_setter(limits),
        )
    watched = psutil.Process(proc.pid)
    problem = None
    while proc.poll() is None:
        if _tree_rss(watched) > limits.memory:
            problem = (f"{what} used more than {limits.memory / 2**30:.1f} GiB of memory "
                       "and was stopped; look for very large arrays or models")
        elif time.monotonic() - start > timeout:
            problem = (f"{what} ran longer than {timeout} s in total and was stopped; look "
                       "for endless loops or very long training")
        if problem:
            _kill_group(proc)
            proc.wait()
            break
        time.sleep(POLL_SECONDS)
    _kill_group(proc)  # the kernel or anything the student started must not outlive us
    return proc.returncode, problem


def run_worker(box: Sandbox, limits: Limits, threads: int = 1,
               command_prefix: list[str] | None = None) -> Execution:
    cmd = [*(command_prefix or []), *runner.command(box.notebook, box.executed, box.export_dir,
                                                    limits.cell_timeout, limits.output_size,
                                                    consume=True)]
    err_file = box.root / "worker.err"
    code, problem = _run_watched(cmd, box, limits, threads, err_file, "the notebook",
                                 limits.notebook_timeout)
    err = err_file.read_text(errors="replace").strip()
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
