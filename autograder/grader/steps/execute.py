"""Step, execute: run one sandboxed notebook in a worker process and watch it.

The worker (and the kernel it starts) run under the sandbox's environment and limits; this
side enforces what rlimits cannot: the wall clock for the whole notebook and the resident
memory of the whole process tree.
"""

from __future__ import annotations

import os
import signal
import subprocess
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


def run_worker(box: Sandbox, limits: Limits, threads: int = 1,
               command_prefix: list[str] | None = None) -> Execution:
    cmd = [*(command_prefix or []), *runner.command(box.notebook, box.executed, box.export_dir,
                                                    limits.cell_timeout, limits.output_size)]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=box.root, env=environment(box, threads), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=open(box.root / "worker.err", "wb"),
        preexec_fn=rlimit_setter(limits),
    )
    watched = psutil.Process(proc.pid)
    problem = None
    peak = 0
    while proc.poll() is None:
        elapsed = time.monotonic() - start
        peak = max(peak, _tree_rss(watched))
        if peak > limits.memory:
            problem = (f"the notebook used more than {limits.memory / 2**30:.1f} GiB of memory "
                       "and was stopped; look for very large arrays or models")
        elif elapsed > limits.notebook_timeout:
            problem = (f"the notebook ran longer than {limits.notebook_timeout} s in total and "
                       "was stopped; look for endless loops or very long training")
        if problem:
            _kill_group(proc)
            proc.wait()
            break
        time.sleep(POLL_SECONDS)
    _kill_group(proc)  # the kernel or anything the student started must not outlive us
    err = (box.root / "worker.err").read_text(errors="replace").strip()
    if problem is None and proc.returncode != 0:
        problem = _explain_failure(proc.returncode, err)
    nb = _read_executed(box, limits)
    if nb is None and problem is None:
        problem = "the notebook produced no result"
    return Execution(nb, box.export_dir, problem)


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
