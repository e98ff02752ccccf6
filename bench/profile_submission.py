"""Where one graded submission's time goes, phase by phase, in wall and CPU seconds.

Two runs of the solution notebook:

1. **graded**: ``pipeline.grade_all`` on one copy, exactly as ``grade`` runs it (isolated
   when run as root), with each step's function wrapped in a timer (wall: perf_counter; CPU:
   this process and every child it waited for, from getrusage). The worker's own time is
   split with the cell timings nbclient records in the executed notebook: worker start to
   the first cell (process, jail and kernel start), each section of the notebook, and the
   last cell to the worker's end (model export, writing the result, teardown).
2. **floor**: the notebook's code cells run in one plain Python process, no Jupyter, with
   ``time.process_time`` (every thread of the process) around each cell: what the imports
   and the training cost with nothing around them.

It prints both tables and the ratio the grader is judged by: CPU seconds per graded
submission / CPU seconds of the training cell alone.

    .venv/bin/python bench/profile_submission.py [--json OUT]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "digit_recognition"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
TRAINING_CELL = "train"  # the grade id of the cell that calls model.fit


def cpu() -> float:
    """CPU seconds of this process and of every child it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Phases:
    """Wall and CPU seconds per named phase, in the order first seen."""

    def __init__(self, clock=None):
        self.rows: dict[str, list[float]] = {}
        self.clock = clock or cpu  # CPU seconds: this process and its children, or a thread's

    def add(self, name: str, wall: float, cpu_s: float | None) -> None:
        row = self.rows.setdefault(name, [0.0, 0.0])
        row[0] += wall
        row[1] += cpu_s or 0.0

    def wrap(self, owner, attr: str, name: str, after=None) -> None:
        """Replace owner.attr by a timed copy; ``after(args, started)`` sees each call's
        arguments."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            started, wall0, cpu0 = datetime.now().astimezone(), time.perf_counter(), self.clock()
            result = fn(*args, **kwargs)
            self.add(name, time.perf_counter() - wall0, self.clock() - cpu0)
            if after:
                after(args, started)
            return result

        setattr(owner, attr, timed)

    def timed_step(self, step):
        """A scoring step (``step(nb, graded) -> nb``) that times itself."""
        name = f"scoring: {step.__module__.rsplit('.', 1)[-1]}.{step.__name__}"

        @functools.wraps(step)
        def timed(nb, graded):
            wall0, cpu0 = time.perf_counter(), self.clock()
            out = step(nb, graded)
            self.add(name, time.perf_counter() - wall0, self.clock() - cpu0)
            return out

        return timed


def _stamp(cell, key: str) -> datetime | None:
    text = cell.get("metadata", {}).get("execution", {}).get(key)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def sections(nb) -> list[tuple[str, list]]:
    """(heading, code cells) per '## ' section of the notebook."""
    out: list[tuple[str, list]] = [("(before the first section)", [])]
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            out.append((cell.source.splitlines()[0][3:], []))
        elif cell.cell_type == "code":
            out[-1][1].append(cell)
    return [(title, cells) for title, cells in out if cells]


def split_worker(phases: Phases, run, started: datetime, worker_wall: float) -> None:
    """The worker's wall time by section, from the executed notebook's cell timings."""
    nb = run.notebook
    if nb is None:
        return
    cells = [c for c in nb.cells if c.cell_type == "code" and _stamp(c, "iopub.status.busy")]
    if not cells:
        return
    first, last = _stamp(cells[0], "iopub.status.busy"), _stamp(cells[-1], "shell.execute_reply")
    phases.add("  worker: process, jail and kernel start", (first - started).total_seconds(),
               None)
    for title, group in sections(nb):
        spans = [(_stamp(c, "iopub.status.busy"), _stamp(c, "shell.execute_reply"))
                 for c in group]
        wall = sum((b - a).total_seconds() for a, b in spans if a and b)
        label = "training" if any(
            c.metadata.get("nbgrader", {}).get("grade_id") == TRAINING_CELL for c in group) \
            else title
        phases.add(f"  notebook: {label}", wall, None)
    phases.add("  worker: after the last cell (export, result, teardown)",
               worker_wall - (last - started).total_seconds(), None)


def graded(work: Path) -> Phases:
    from autograder.grader import gradebook, pipeline
    from autograder.grader.course import Course
    from autograder.grader.sandbox import folder as sandbox
    from autograder.grader.sandbox.isolation import isolation_problem
    from autograder.grader.steps import (
        execute,
        ledger,
        record,
        report,
        sanitize,
        submissions,
        tamper_check,
    )

    course_dir = work / "course"
    # a course of this assignment alone, however many the repository holds
    (course_dir / "solutions").mkdir(parents=True)
    (course_dir / "solutions" / ASSIGNMENT).symlink_to(ROOT / "solutions" / ASSIGNMENT,
                                                       target_is_directory=True)
    course = Course(course_dir, None, ASSIGNMENT)
    gradebook.quiet_nbgrader()
    gradebook.ensure_assignment(course)  # once per class, not per submission
    subs = work / "class" / "student01"
    subs.mkdir(parents=True)
    shutil.copy(SOLUTION, subs)

    phases = Phases()
    worker: dict = {}

    def after_worker(args, started):  # run_worker(graded, ...) / run_forked(graded, ...)
        worker["run"], worker["started"] = args[0], started

    phases.wrap(submissions, "find", "find submissions")
    phases.wrap(ledger.Ledger, "lookup", "ledger: lookup")
    phases.wrap(tamper_check, "find", "tamper check")
    phases.wrap(gradebook, "register", "gradebook: register")
    phases.wrap(sanitize, "sanitize", "sanitize")
    phases.wrap(sandbox, "create", "sandbox set-up")
    name = "worker: notebook run (jail, runner, kernel)"
    for attr in ("run_worker", "run_forked"):  # a fresh process, or forked by the zygote
        phases.wrap(execute, attr, name, after_worker)
    phases.wrap(execute, "call_functions", "functions called in a fresh process")
    pipeline.SCORE = tuple(phases.timed_step(step) for step in pipeline.SCORE)
    phases.wrap(record, "save", "record: gradebook and graded notebook")
    phases.wrap(ledger.Ledger, "record", "ledger: record")

    options = pipeline.Options(workers=1, isolate=isolation_problem() is None)
    wall0, cpu0 = time.perf_counter(), cpu()
    results = pipeline.grade_all(course, submissions.find([work / "class"],
                                                         expected=course.assignment.notebook),
                                 options,
                                 gradebook.points_by_test(course))
    phases.add("report (JSON)", *_timed(lambda: report.write_json(
        work / "grades.json", course.assignment_id, results)))
    total_wall, total_cpu = time.perf_counter() - wall0, cpu() - cpu0
    [result] = results
    if result.score != result.max_score:
        raise SystemExit(f"the solution scored {result.score}/{result.max_score}: "
                         f"{result.error or result.tests}")
    split_worker(phases, worker["run"], worker["started"], phases.rows[name][0])
    accounted = sum(w for n, (w, _) in phases.rows.items() if not n.startswith("  "))
    phases.add("other (the pipeline's own code between steps)", total_wall - accounted, None)
    phases.add("TOTAL, one graded submission" + ("" if options.isolate else " (not isolated)"),
               total_wall, total_cpu)
    return phases


def _timed(fn) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - wall0, cpu() - cpu0


FLOOR_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import matplotlib
    matplotlib.use("Agg")
    import nbformat
    nb = nbformat.read(sys.argv[1], as_version=4)
    scope, rows = {}, []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\\n".join(line for line in cell.source.splitlines()
                            if not line.lstrip().startswith("%"))
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        wall0, cpu0 = time.perf_counter(), time.process_time()
        try:
            exec(compile(source, gid or "cell", "exec"), scope)
        except AssertionError:
            pass
        rows.append([gid, time.perf_counter() - wall0, time.process_time() - cpu0])
    print(json.dumps(rows))
""")


def thread_env(threads: int) -> dict[str, str]:
    """The thread settings a grading worker with ``threads`` threads gets."""
    return {name: str(threads) for name in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}


def floor(work: Path, threads: int | None = None) -> Phases:
    """The notebook's code cells in one plain Python process, CPU per cell (with a
    worker's thread settings when ``threads`` is given)."""
    notebook = work / f"floor-{threads}" / SOLUTION.name
    notebook.parent.mkdir()
    shutil.copy(SOLUTION, notebook)
    start_wall, start_cpu = time.perf_counter(), cpu()
    out = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, str(notebook)], cwd=notebook.parent,
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                              **(thread_env(threads) if threads else {})})
    total_wall, total_cpu = time.perf_counter() - start_wall, cpu() - start_cpu
    phases = Phases()
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    names = {"setup": "imports (setup cell)", TRAINING_CELL: "training cell"}
    for gid, wall, cpu_s in rows:
        phases.add(names.get(gid, "every other cell"), wall, cpu_s)
    phases.add("process start and exit", total_wall - sum(r[1] for r in rows),
               total_cpu - sum(r[2] for r in rows))
    phases.add("TOTAL, the notebook in one plain process", total_wall, total_cpu)
    return phases


def show(title: str, phases: Phases) -> None:
    print(f"\n{title}\n\n| phase | wall s | CPU s |\n|---|---|---|")
    for name, (wall, cpu_s) in phases.rows.items():
        cpu_text = f"{cpu_s:.2f}" if cpu_s else ""
        print(f"| {name.replace('  ', '&nbsp;&nbsp;')} | {wall:.2f} | {cpu_text} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path, metavar="OUT")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp:
        work = Path(tmp)
        base = floor(work)
        ours = graded(work)
    show("One graded submission (the grader's steps; indented rows split the worker):", ours)
    show("The notebook alone, in one plain Python process:", base)
    training = base.rows["training cell"][1]
    total = ours.rows[next(n for n in ours.rows if n.startswith("TOTAL"))][1]
    print(f"\nCPU per graded submission / CPU of the training cell alone: "
          f"{total:.1f} / {training:.1f} = {total / training:.2f}x (target <= 2.0x)")
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps({"graded": ours.rows, "floor": base.rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
