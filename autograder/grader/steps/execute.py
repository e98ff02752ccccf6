"""Steps, execute: lay out the sandbox, run the notebook in a worker process and watch it,
read what it exported, and call the tested functions.

The worker (and the kernel it starts) run under the sandbox's environment and limits; this
side enforces what rlimits cannot: the wall clock for the whole notebook, the memory of all
its processes (as the kernel counts it: ``sandbox.memory``), and (where the sandbox is no
tmpfs of its own) the bytes its folder holds. What the run left comes back through
``sandbox.boundary`` only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from autograder.grader.sandbox import boundary, folder
from autograder.grader.sandbox import call_functions as calling
from autograder.grader.sandbox.boundary import Returned
from autograder.grader.sandbox.folder import Provided, Sandbox, environment, usage
from autograder.grader.sandbox.limits import Limits, rlimit_setter
from autograder.grader.sandbox.memory import Accounting, Meter, PssMeter, joiner
from autograder.grader.sandbox.workers import Place
from autograder.grader.sandbox.zygote import Job, Line, ZygoteError
from autograder.grader.steps import Batch, Graded, verify_functions
from autograder.grader.steps.submissions import Submission
from autograder.model import checks
from autograder.model.isolated import read_apart
from autograder.student import runner

POLL_SECONDS = 0.2
DISK_POLL_SECONDS = 1.0
FUNCTION_SECONDS = 30  # per tested function, each in a process of its own


# --- the steps ---------------------------------------------------------------------------

def lay_out(batch: Batch, sub: Submission, graded: Graded) -> None:
    """Prepare: the sandbox, holding the sanitized notebook and the assignment's data."""
    graded.sandbox = folder.create(graded.source, batch.base, batch.limits.disk,
                                   Provided.of(graded.assignment))


def notebook(graded: Graded, place: Place) -> None:
    """Execute: the notebook, forked by the zygote over the slot's line, else in a fresh
    process behind the jail's prefix; its memory metered as ``place.memory`` can."""
    meter = place.memory.meter(place.limits.memory)
    try:
        if place.line is not None:
            job = Job.of(place.box, place.limits, place.threads, place.uid, place.jail)
            run_forked(graded, place.box, place.limits, place.line, job, meter)
        else:
            run_worker(graded, place.box, place.limits, place.threads, place.prefix, meter)
    finally:
        meter.close()  # and with it whatever of the run is left, in any session or uid


def exports(graded: Graded, place: Place) -> None:
    """Execute: once nothing of the notebook runs any more, what its export cell saved,
    read through the boundary; the model parsed apart, behind the jail too (libhdf5 parses
    the file before any check can run)."""
    place.end_leftovers()
    box, model = place.box, graded.assignment.model
    graded.exported = boundary.exported(box)
    graded.saved = checks.saved_or_problem(graded.exported, lambda data: read_apart(
        data, model.weight_shapes if model else [], place.prefix or (), cwd=str(box.root),
        env=environment(box)))


def functions(graded: Graded, place: Place) -> None:
    """Execute: each tested function called in fresh processes (see call_functions)."""
    tests = graded.assignment.function_checks()
    if graded.notebook is not None and tests:
        graded.functions = call_functions(
            place.box, place.limits, verify_functions.calls(graded.notebook, tests),
            place.uid, place.prefix, place.memory)


# --- running and watching ------------------------------------------------------------------


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _Started:
    """A worker started with Popen, as the watch loop sees it (a zygote's Line is the other)."""

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


def _watch(worker, limits: Limits, what: str, timeout: int, box: Sandbox, meter: Meter
           ) -> tuple[int, str | None]:
    """Watch a started worker's wall time, the memory of its processes (``meter``) and,
    where the sandbox has no tmpfs of its own, the bytes in its folder; (exit status, why it
    was stopped or None). Everything it started is killed at the end."""
    start = time.monotonic()
    try:
        watched = psutil.Process(worker.pid)
    except psutil.NoSuchProcess:  # a forked worker that ended at once is reaped at once
        watched = None
    problem = None
    measured = start
    while worker.poll(POLL_SECONDS) is None:
        now = time.monotonic()
        if box.disk_cap is None and now - measured > DISK_POLL_SECONDS:
            measured = now
            if usage(box.root, limits.disk) > limits.disk:
                problem = disk_problem(what, limits)
        if problem is None and meter.over(watched):
            problem = memory_problem(what, limits)
        if problem is None and now - start > timeout:
            problem = (f"{what} ran longer than {timeout} s in total and was stopped; look "
                       "for endless loops or very long training")
        if problem:
            worker.kill()
            break
    worker.kill()  # the kernel or anything the student started must not outlive us
    code = worker.wait()
    if problem is None and meter.killed():
        problem = memory_problem(what, limits)
    return code, problem


def memory_problem(what: str, limits: Limits) -> str:
    return (f"{what} used more than {limits.memory / 2**30:.1f} GiB of memory and was "
            "stopped; look for very large arrays or models")


def disk_problem(what: str, limits: Limits) -> str:
    return (f"{what} wrote more than {limits.disk / 2**20:.0f} MiB of files into its folder "
            "and was stopped; save less (no copies of the data set, no large outputs)")


def _run_watched(cmd: list[str], box: Sandbox, limits: Limits, threads: int,
                 log: boundary.Log, what: str, timeout: int, meter: Meter,
                 pass_fds: tuple[int, ...] = ()) -> tuple[int, str | None]:
    """Run ``cmd`` in the sandbox under its limits and in ``meter``'s cgroup, stderr into
    ``log``; watch it."""
    proc = subprocess.Popen(
        cmd, cwd=box.root, env=environment(box, threads), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=log.fd,
        preexec_fn=rlimit_setter(limits, joiner(meter.join)), pass_fds=pass_fds,
    )
    return _watch(_Started(proc), limits, what, timeout, box, meter)


def run_worker(graded: Graded, box: Sandbox, limits: Limits, threads: int,
               command_prefix: list[str] | None, meter: Meter) -> None:
    """Run the notebook in a fresh worker process (behind ``command_prefix``, the jail),
    its memory counted by ``meter``; its outputs are taken onto ``graded.source``, the
    grader's sanitized notebook."""
    with boundary.Log(box, "worker.err") as log, boundary.Log(box, "executed") as out:
        cmd = [*(command_prefix or []),
               *runner.command(box.notebook, out.fd, box.export_dir, limits.cell_timeout,
                               limits.output_size, consume=True)]
        code, problem = _run_watched(cmd, box, limits, threads, log, "the notebook",
                                     limits.notebook_timeout, meter, pass_fds=(out.fd,))
        _executed(graded, box, limits, code, problem, log.tail(), out)


def run_forked(graded: Graded, box: Sandbox, limits: Limits, line: Line, job: Job,
               meter: Meter) -> None:
    """Run the notebook in a worker forked by the zygote over ``line``, locked in as ``job``
    says, its memory counted by ``meter``. ZygoteError: the zygote could not fork it, or
    ended while it ran (not by the student's code when isolated: it cannot reach the
    zygote)."""
    with boundary.Log(box, "worker.err") as log, boundary.Log(box, "executed") as out:
        job.err_file, job.out_file = str(log.path), str(out.path)
        job.cgroup = meter.join or ""
        line.start(job)
        code, problem = _watch(line, limits, "the notebook", limits.notebook_timeout, box,
                               meter)
        if line.lost and problem is None:  # a time or memory verdict stands as it is
            raise ZygoteError(line.lost)
        _executed(graded, box, limits, code, problem, log.tail(), out)


def _executed(graded: Graded, box: Sandbox, limits: Limits, code: int, problem: str | None,
              err: str, out: boundary.Log) -> None:
    if problem is None and code != 0:
        problem = _explain_failure(code, err.strip())
    # The notebook as handed in (its markdown, attachments) and the outputs the runner keeps.
    own = graded.source
    nb, refused = boundary.executed_notebook(out, own, len(own.encode()) + limits.output_size * 8)
    notes = [refused] if refused and problem else []
    if nb is None and problem is None:
        problem = refused or "the notebook produced no result"
    if box.filled():
        notes.append(f"your notebook filled the {box.disk_cap / 2**20:.0f} MiB its folder may "
                     "hold, so its writes after that failed (No space left on device)")
    graded.notebook, graded.problem, graded.notes = nb, problem, notes


def call_functions(box: Sandbox, limits: Limits, calls: dict[str, list[dict[str, bytes]]],
                   uid: int | None, command_prefix: list[str] | None = None,
                   memory: Accounting | None = None) -> dict[str, Returned]:
    """After the notebook and all it started have ended: call each tested function in a
    fresh process of its own, with its own time, on the files ``calls`` gives it (see
    ``autograder.grader.sandbox.call_functions``); a run that hangs, crashes or has a call
    raise is tried again with the next files given, if any, and the run with the fewest
    failures counts. function -> what it returned."""
    found = {}
    boundary.clear(box)  # the notebook's results are read: its files go
    for function, tries in calls.items():
        for files in tries:
            got = _call(box, limits, function, files, uid, command_prefix, memory)
            if function not in found or _failures(got) < _failures(found[function]):
                found[function] = got
            if got.problem is None and not got.errors:
                break
    return found


def _failures(got: Returned) -> tuple[bool, int]:
    return got.problem is not None, len(got.errors)


def _call(box: Sandbox, limits: Limits, function: str, files: dict[str, bytes],
          uid: int | None, command_prefix: list[str] | None,
          memory: Accounting | None) -> Returned:
    try:
        folder = boundary.new_folder(box, f"call-{function}-", files, uid)
    except OSError as exc:
        return Returned(problem=f"{function} could not be called: {exc}")
    cmd = [*(command_prefix or []), sys.executable, "-m",
           "autograder.grader.sandbox.call_functions", str(box.root / folder),
           str(calling.ALARM_SECONDS)]
    meter = memory.meter(limits.memory) if memory else PssMeter(limits.memory)
    try:
        with boundary.Log(box, f"{folder}.err") as log:
            code, problem = _run_watched(cmd, box, limits, 1, log, f"calling {function}",
                                         FUNCTION_SECONDS, meter)
            err = log.tail().strip()
    finally:
        meter.close()
    if problem is None and code != 0:
        last = err.splitlines()[-1] if err else _exit_status(code)
        problem = f"{function} could not be called: {last}"
    return Returned(problem=problem) if problem else \
        boundary.returned(box, folder, calling.MAX_ELEMENTS)


def _exit_status(code: int) -> str:
    return f"its process was stopped by signal {signal.Signals(-code).name}" if code < 0 \
        else f"its process ended with exit status {code}"


def _explain_failure(code: int, err: str) -> str:
    if "DeadKernelError" in err or "Kernel died" in err:
        return ("the Python kernel died while running the notebook (for example os._exit, "
                "a crash, or running out of memory); the tests after that point did not run")
    if code < 0:
        return f"the grading process was stopped by signal {signal.Signals(-code).name}"
    last = err.splitlines()[-1] if err else f"exit status {code}"
    return f"the notebook could not be run to the end: {last}"
