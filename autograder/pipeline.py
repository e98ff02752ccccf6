"""The grading pipeline: collect -> sanitize -> sandbox -> execute -> score -> record -> report.

Everything that touches the gradebook runs in this process, one submission at a time
(``prepare`` and ``finish``); only ``execute`` runs concurrently, in worker processes that
never see the gradebook.
"""

from __future__ import annotations

import os
import queue
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import record, sandbox, score, tampering, verify
from autograder.assignment_db import source_test_cells
from autograder.collect import Submission
from autograder.course import Course
from autograder.execute import Execution, run_worker
from autograder.ledger import Ledger, content_key
from autograder.sandbox import Limits, Sandbox
from autograder.sanitize import SubmissionError, read_notebook, sanitize

UNCHANGED = "unchanged since it was last graded: previous result kept (--force regrades)"


@dataclass
class SubmissionResult:
    student: str
    score: float
    max_score: float
    tests: dict[str, score.TestResult]
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss: int = 0
    tampering: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """One entry of the grade JSON's "submissions" (a documented contract)."""
        return {
            "student": self.student,
            "score": plain_number(self.score),
            "max_score": plain_number(self.max_score),
            "tests": {gid: {"points": plain_number(t.points),
                            "max_points": plain_number(t.max_points),
                            "feedback": t.feedback} for gid, t in self.tests.items()},
            "error": self.error,
            "tampering": self.tampering,
        }

    @classmethod
    def from_dict(cls, data: dict, note: str | None = None) -> SubmissionResult:
        tests = {gid: score.TestResult(t["points"], t["max_points"], t["feedback"])
                 for gid, t in data["tests"].items()}
        return cls(data["student"], data["score"], data["max_score"], tests, data["error"],
                   [note] if note else [], tampering=data.get("tampering", []))


def plain_number(x: float) -> float | int:
    """10.0 -> 10, for JSON and tables that people read."""
    return int(x) if float(x).is_integer() else round(x, 4)


@dataclass
class Options:
    limits: Limits = field(default_factory=Limits)
    workers: int = 1
    keep_sandboxes: bool = False
    isolate: bool = True           # lock each kernel in namespaces (see autograder.jail)
    force: bool = False            # regrade submissions whose content did not change
    hidden: list[Path] = field(default_factory=list)  # extra paths student code must not see

    @property
    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))


def failed(sub: Submission, message: str, points: dict[str, float]) -> SubmissionResult:
    tests = {gid: score.TestResult(0.0, pts, f"not graded: {message}")
             for gid, pts in points.items()}
    notes = [sub.note] if sub.note else []
    return SubmissionResult(sub.student, 0.0, sum(points.values()), tests, message, notes)


def prepare(course: Course, sub: Submission, base: Path) -> Sandbox:
    """Read, register and sanitize one submission, and lay out its sandbox."""
    if sub.error:
        raise SubmissionError(sub.error)
    nb = read_notebook(sub.notebook)
    sub.tampering = tampering.check(course, sub)
    record.register(course, sub.student)
    nb = sanitize(nb, course, sub.student)
    return sandbox.create(nbformat.writes(nb), base)


class Executor:
    """Runs sandboxes on a fixed number of worker slots, each with its own uid."""

    def __init__(self, course: Course, options: Options):
        self.options = options
        self.hidden = [*course.private_paths(), *options.hidden]
        self.uids: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(max(1, options.workers)):
            self.uids.put(sandbox.SANDBOX_UID_BASE + slot)

    def __call__(self, box: Sandbox) -> Execution:
        uid = self.uids.get()
        try:
            prefix = None
            if self.options.isolate:
                sandbox.hand_over(box, uid)
                prefix = sandbox.isolation_prefix(box, uid, self.hidden)
            return run_worker(box, self.options.limits, self.options.threads, prefix)
        finally:
            self.uids.put(uid)


def finish(course: Course, sub: Submission, run: Execution) -> SubmissionResult:
    """Score an executed notebook and record it."""
    if run.notebook is None:
        raise SubmissionError(run.problem or "the notebook could not be run")
    nb = score.clean_outputs(run.notebook)
    if run.problem:
        score.mark_not_run(nb, run.problem)
    verify.apply(nb, run.export_dir)
    tampering.annotate(nb, sub.tampering)
    results = score.score(nb)
    record.save(course, sub.student, nb, run.export_dir)
    notes = [n for n in (sub.note, run.problem) if n]
    return SubmissionResult(
        sub.student, sum(r.points for r in results.values()),
        sum(r.max_points for r in results.values()), results, None, notes,
        run.seconds, run.peak_rss, sub.tampering)


def grade_all(course: Course, subs: list[Submission], options: Options,
              points: dict[str, float],
              on_done: Callable[[SubmissionResult], None] | None = None,
              ) -> list[SubmissionResult]:
    """Grade every submission; a broken one becomes an error result, never a crash.

    Unchanged submissions (same bytes, same tests) keep their recorded result unless
    ``options.force``; each new result is recorded in the ledger after its grades.
    """
    results: dict[int, SubmissionResult] = {}
    ledger = Ledger(course.db, course.assignment_id)
    tests = source_test_cells(course)
    keys: dict[int, str] = {}

    def done(i: int, sub: Submission, result: SubmissionResult) -> None:
        results[i] = result
        if sub.record and i in keys:
            ledger.record(sub.student, keys[i], result.as_dict())
        if on_done:
            on_done(result)

    def fail(i: int, sub: Submission, message: str) -> None:
        if sub.record:
            record.save_failure(course, sub.student)
        done(i, sub, failed(sub, message, points))

    base = sandbox.new_base()
    pending: list[tuple[int, Submission, Sandbox]] = []
    for i, sub in enumerate(subs):
        keys[i] = content_key(sub.read_bytes(), sub.error, tests)
        previous = ledger.lookup(sub.student) if sub.record and not options.force else None
        if previous and previous[0] == keys[i]:
            results[i] = SubmissionResult.from_dict(previous[1], UNCHANGED)
            if on_done:
                on_done(results[i])
            continue
        try:
            pending.append((i, sub, prepare(course, sub, base)))
        except SubmissionError as exc:
            fail(i, sub, str(exc))
        except Exception as exc:
            fail(i, sub, f"internal grading error ({type(exc).__name__}: {exc})")

    execute = Executor(course, options)
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        futures = {pool.submit(execute, box): (i, sub, box) for i, sub, box in pending}
        for future in as_completed(futures):
            i, sub, box = futures[future]
            try:
                done(i, sub, finish(course, sub, future.result()))
            except SubmissionError as exc:
                fail(i, sub, str(exc))
            except Exception as exc:  # a grader bug must not cost the rest of the class
                fail(i, sub, f"internal grading error ({type(exc).__name__}: {exc})")
            finally:
                if not options.keep_sandboxes:
                    box.remove()
    if not options.keep_sandboxes:
        shutil.rmtree(base, ignore_errors=True)
    ledger.close()
    return [results[i] for i in sorted(results)]
