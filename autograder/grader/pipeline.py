"""The grading pipeline: one submission through the steps, for a whole class.

The steps run in the order of ``STEPS`` (as nbgrader's converters list their
preprocessors). Everything that touches the gradebook runs in this process, one submission
at a time (``prepare`` and ``finish``); only ``execute`` runs concurrently, in worker
processes that never see the gradebook.
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
from nbformat.notebooknode import NotebookNode

from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.grader.sandbox import folder as sandbox
from autograder.grader.sandbox.folder import Sandbox
from autograder.grader.sandbox.isolation import (
    SANDBOX_UID_BASE,
    isolation_prefix,
    kill_uid,
    uid_prefix,
)
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps import (
    Outcome,
    collect,
    execute,
    ledger,
    record,
    report,
    sanitize,
    score,
    tamper_check,
    verify,
    verify_functions,
)
from autograder.grader.steps.collect import Submission
from autograder.grader.steps.execute import Execution
from autograder.records import SubmissionError, SubmissionResult, TestResult
from autograder.student.notebook import read_notebook

# Every step, in the order a submission meets it (report runs once, for the whole class).
STEPS = (collect, ledger, tamper_check, sanitize, sandbox, execute, score, verify_functions,
         verify, record, report)
# After execution: each step writes its verdicts into the notebook (step(nb, outcome) -> nb).
SCORING = (score.clean_outputs, score.mark_not_run, verify_functions.apply, verify.apply,
           tamper_check.annotate)

UNCHANGED = "unchanged since it was last graded: previous result kept (--force regrades)"


@dataclass
class Options:
    limits: Limits = field(default_factory=Limits)
    workers: int = 1
    isolate: bool = True           # run each kernel as its own uid, locked in (sandbox/jail.py)
    # False where namespaces are forbidden (a container): the uid alone, so what student
    # code must not read has to be closed by file permissions (the Gradescope run does).
    namespaces: bool = True
    force: bool = False            # regrade submissions whose content did not change
    hidden: list[Path] = field(default_factory=list)  # extra paths student code must not see
    thread_limit: int | None = None  # threads per worker (default: the cores shared out)

    @property
    def threads(self) -> int:
        if self.thread_limit:
            return self.thread_limit
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))


@dataclass
class Prepared:
    """What the steps before execution made and found for one submission."""

    sandbox: Sandbox
    tampering: list[str]


def failed(sub: Submission, message: str, points: dict[str, float]) -> SubmissionResult:
    tests = {gid: TestResult(0.0, pts, f"not graded: {message}") for gid, pts in points.items()}
    return SubmissionResult.of_tests(sub.student, tests, error=message,
                                     notes=[sub.note] if sub.note else [])


def prepare(course: Course, sub: Submission, base: Path) -> Prepared:
    """Read, check, register and sanitize one submission, and lay out its sandbox."""
    if sub.error:
        raise SubmissionError(sub.error)
    nb = read_notebook(sub.notebook)
    tampering = tamper_check.find(course, sub)
    gradebook.register(course, sub.student, sub.submitted_at)
    nb = sanitize.sanitize(nb, course, sub.student)
    return Prepared(sandbox.create(nbformat.writes(nb), base), tampering)


class Executor:
    """Runs sandboxes on a fixed number of worker slots, each with its own uid."""

    def __init__(self, course: Course, options: Options):
        self.options = options
        self.hidden = [*course.private_paths(), *options.hidden]
        self.uids: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(max(1, options.workers)):
            self.uids.put(SANDBOX_UID_BASE + slot)

    def __call__(self, box: Sandbox) -> Execution:
        uid = self.uids.get()
        try:
            prefix = None
            if self.options.isolate:
                sandbox.hand_over(box, uid)
                prefix = (isolation_prefix(box, uid, self.hidden) if self.options.namespaces
                          else uid_prefix(uid))
            run = execute.run_worker(box, self.options.limits, self.options.threads, prefix)
            if run.notebook is not None:  # in a fresh process, after the notebook has ended
                run.functions_dir, run.functions_problem = execute.call_functions(
                    box, self.options.limits, verify_functions.files(run.notebook),
                    uid if self.options.isolate else None, prefix)
            return run
        finally:
            if self.options.isolate and not self.options.namespaces:
                kill_uid(uid)  # no PID namespace to end what the student left running
            self.uids.put(uid)


def scored_notebook(run: Execution, tampering: list[str]) -> NotebookNode:
    """The executed notebook with every verdict written into its test cells' outputs."""
    if run.notebook is None:
        raise SubmissionError(run.problem or "the notebook could not be run")
    outcome = Outcome(run.problem, run.export_dir, tampering, run.functions_dir,
                      run.functions_problem)
    nb = run.notebook
    for step in SCORING:
        nb = step(nb, outcome)
    return nb


def finish(course: Course, sub: Submission, prepared: Prepared, run: Execution
           ) -> SubmissionResult:
    """Score an executed notebook and record it."""
    nb = scored_notebook(run, prepared.tampering)
    results = score.score(nb)
    record.save(course, sub.student, nb, run.export_dir)
    return SubmissionResult.of_tests(
        sub.student, results, notes=[n for n in (sub.note, run.problem) if n],
        tampering=prepared.tampering)


def grade_all(course: Course, subs: list[Submission], options: Options,
              points: dict[str, float],
              on_done: Callable[[SubmissionResult], None] | None = None,
              ) -> list[SubmissionResult]:
    """Grade every submission; a broken one becomes an error result, never a crash.

    Unchanged submissions (same bytes, same tests) keep their recorded result unless
    ``options.force``; each new result is recorded in the ledger after its grades.
    """
    results: dict[int, SubmissionResult] = {}
    book = ledger.Ledger(course.db, course.assignment_id)
    tests = gradebook.assignment_fingerprint(course)
    keys = {i: ledger.content_key(sub.read_bytes(), sub.error, tests, sub.submitted_at)
            for i, sub in enumerate(subs)}

    def done(i: int, sub: Submission, result: SubmissionResult) -> None:
        result.commit, result.submitted_at = sub.commit, sub.submitted_at
        results[i] = result
        if sub.record:
            book.record(sub.student, keys[i], result.as_dict())
        if on_done:
            on_done(result)

    def fail(i: int, sub: Submission, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, SubmissionError) else (
            f"internal grading error ({type(exc).__name__}: {exc})")
        if sub.record:
            record.save_failure(course, sub.student)
        done(i, sub, failed(sub, message, points))

    base = sandbox.new_base()
    pending: list[tuple[int, Submission, Prepared]] = []
    for i, sub in enumerate(subs):
        previous = book.lookup(sub.student) if sub.record and not options.force else None
        if previous and previous[0] == keys[i]:
            results[i] = SubmissionResult.from_dict(previous[1], UNCHANGED)
            results[i].commit = sub.commit  # same files, perhaps from another commit
            if on_done:
                on_done(results[i])
            continue
        try:
            pending.append((i, sub, prepare(course, sub, base)))
        except Exception as exc:  # one bad submission must not cost the rest of the class
            fail(i, sub, exc)

    run = Executor(course, options)
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        futures = {pool.submit(run, prep.sandbox): (i, sub, prep) for i, sub, prep in pending}
        for future in as_completed(futures):
            i, sub, prep = futures[future]
            try:
                done(i, sub, finish(course, sub, prep, future.result()))
            except Exception as exc:  # a grader bug must not cost the rest of the class
                fail(i, sub, exc)
            finally:
                prep.sandbox.remove()
    shutil.rmtree(base, ignore_errors=True)
    book.close()
    return [results[i] for i in sorted(results)]
