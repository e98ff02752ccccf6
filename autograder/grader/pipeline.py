"""The grading pipeline: every submission of a class through the steps of ``STEPS``.

``STEPS`` is the one statement of the order (as nbgrader's converters list their
preprocessors), and ``grade_all`` runs exactly its stages: ``PREPARE`` in this process, one
submission at a time (everything that touches the gradebook runs here); ``EXECUTE`` on the
worker slots (``sandbox.workers``), several submissions at once, in processes that never see
the gradebook; then ``SCORE`` and ``RECORD`` here again. Around them, for the whole class:
the submissions are found (``steps.submissions``), the ledger skips what did not change, and
the report is printed by the ``grade`` command.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.grader.sandbox import folder as sandbox
from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.workers import Setup, Workers
from autograder.grader.sandbox.zygote import Zygote, notebook_imports
from autograder.grader.steps import (
    Batch,
    Graded,
    execute,
    ledger,
    notes,
    record,
    redact,
    sanitize,
    score,
    submissions,
    tamper_check,
    verify,
    verify_functions,
)
from autograder.grader.steps.submissions import Submission
from autograder.records import SubmissionError, SubmissionResult, TestResult

# Every step, in the order a submission meets it, by stage (see ``steps`` for each
# stage's signature). grade_all runs these lists and nothing else.
PREPARE = (submissions.read, tamper_check.check, record.register, sanitize.apply, execute.lay_out)
EXECUTE = (execute.notebook, execute.exports, execute.functions)
SCORE = (score.clean_outputs, score.mark_not_run, verify_functions.apply, verify.apply,
         redact.apply, notes.annotate, tamper_check.annotate)
RECORD = (record.keep,)
STEPS = (*PREPARE, *EXECUTE, *SCORE, *RECORD)

log = logging.getLogger(__name__)
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
    # Fork each worker from one pre-imported process (sandbox/zygote.py) instead of starting
    # Python, Jupyter and TensorFlow afresh for every submission.
    zygote: bool = True

    def threads(self, running: int | None = None) -> int:
        """Threads per worker: the cores shared among the workers that will run at once
        (``running`` submissions at most)."""
        if self.thread_limit:
            return self.thread_limit
        at_once = min(max(1, self.workers), running or self.workers)
        return max(1, (os.cpu_count() or 1) // max(1, at_once))

    def setup(self, course: Course, running: int) -> Setup:
        return Setup(self.workers, self.isolate, self.namespaces, self.zygote,
                     (*course.private_paths(), *self.hidden), self.threads(running),
                     self.limits)


def failed(sub: Submission, message: str, points: dict[str, float]) -> SubmissionResult:
    tests = {gid: TestResult(0.0, pts, f"not graded: {message}") for gid, pts in points.items()}
    return SubmissionResult.of_tests(sub.student, tests, error=message,
                                     notes=[sub.note] if sub.note else [])


def prepare(batch: Batch, sub: Submission) -> Graded:
    """The ``PREPARE`` steps: read, check, register and sanitize one submission, and lay out
    its sandbox."""
    graded = Graded(sub.student, batch.course.assignment)
    for step in PREPARE:
        step(batch, sub, graded)
    return graded


def scored_notebook(graded: Graded) -> NotebookNode:
    """The ``SCORE`` steps: the executed notebook with every verdict written into its test
    cells' outputs."""
    if graded.notebook is None:
        raise SubmissionError(redact.redact_text(
            graded.problem or "the notebook could not be run", graded.hidden).strip())
    graded.notes = [redact.redact_text(n, graded.hidden).strip() for n in graded.notes]
    nb = graded.notebook
    for step in SCORE:
        nb = step(nb, graded)
    graded.notebook = nb
    return nb


def finish(batch: Batch, sub: Submission, graded: Graded) -> SubmissionResult:
    """Score an executed notebook (``SCORE``) and record it (``RECORD``)."""
    results = score.score(scored_notebook(graded))
    for step in RECORD:
        step(batch, sub, graded)
    shown = [redact.redact_text(n, graded.hidden).strip()
             for n in (sub.note, graded.problem, *graded.notes) if n]
    return SubmissionResult.of_tests(sub.student, results, notes=shown,
                                     tampering=graded.tampering)


def execute_on(workers: Workers, batch: Batch, graded: Graded) -> Graded:
    """The ``EXECUTE`` steps on a free slot (again in a new sandbox if its zygote failed)."""

    def renew() -> None:
        graded.sandbox.remove()
        graded.sandbox = sandbox.create(graded.source, batch.base, batch.limits.disk,
                                        graded.sandbox.provided)

    def work(place) -> Graded:
        for step in EXECUTE:
            step(graded, place)
        return graded

    return workers.run(lambda: graded.sandbox, renew, work, graded.student)


def timing(sub: Submission) -> str | None:
    """What a late penalty depends on besides the notebook: when it was handed in, the
    student's own deadline, the LMS's late marker (a change regrades)."""
    deadline, extension = (getattr(sub.person, name, None) for name in ("deadline", "extension"))
    extra = [f"{label}:{value}" for label, value in (
        ("deadline", deadline), ("extension", extension),
        ("marked", "late" if sub.marked_late else None)) if value]
    return "|".join([sub.submitted_at or "", *extra]) if extra else sub.submitted_at


def grade_all(course: Course, subs: list[Submission], options: Options,
              points: dict[str, float],
              on_done: Callable[[SubmissionResult], None] | None = None,
              started: Zygote | None = None) -> list[SubmissionResult]:
    """Grade every submission; a broken one becomes an error result, never a crash.
    ``started``: a zygote started early for these workers (see ``sandbox.workers``).

    Unchanged submissions (same bytes, same tests) keep their recorded result unless
    ``options.force``; each new result is recorded in the ledger after its grades.
    """
    results: dict[int, SubmissionResult] = {}
    book = ledger.Ledger(course.db, course.assignment_id)
    tests = gradebook.assignment_fingerprint(course)
    keys = {i: ledger.content_key(sub.read_bytes(), sub.error, tests, timing(sub))
            for i, sub in enumerate(subs)}

    def done(i: int, sub: Submission, result: SubmissionResult) -> None:
        result.commit, result.submitted_at, result.file = sub.commit, sub.submitted_at, sub.file
        if sub.record:
            result.late, result.late_penalty = gradebook.lateness(course, sub.student,
                                                                  sub.marked_late)
        results[i] = result
        if sub.record:
            book.record(sub.student, keys[i], result.as_dict())
        if on_done:
            on_done(result)

    def fail(i: int, sub: Submission, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, SubmissionError) else (
            f"internal grading error ({type(exc).__name__}: {exc})")
        if sub.record:
            record.save_failure(course, sub.student, sub.notebook, sub.handed_in(course))
        done(i, sub, failed(sub, message, points))

    todo: list[tuple[int, Submission]] = []
    for i, sub in enumerate(subs):
        previous = book.lookup(sub.student) if sub.record and not options.force else None
        if previous and previous[0] == keys[i]:
            results[i] = SubmissionResult.from_dict(previous[1], UNCHANGED)
            results[i].commit = sub.commit  # same files, perhaps from another commit
            if on_done:
                on_done(results[i])
        else:
            todo.append((i, sub))

    # The sandbox hides what exists when it starts: the folders that grading fills with
    # every student's work (other students' notebooks, graded copies) must exist by then.
    for folder in (course.submitted_dir, course.autograded_dir,
                   course.graded_dir / "graded_models"):
        folder.mkdir(parents=True, exist_ok=True)
    batch = Batch(course, options.limits, sandbox.new_base())
    running = sum(1 for _, sub in todo if not sub.error)
    # The zygote imports while the submissions are prepared.
    workers = Workers(options.setup(course, running), batch.base,
                      lambda: notebook_imports(nbformat.read(course.source_notebook, 4)),
                      expected=running, started=started)
    try:
        pending: list[tuple[int, Submission, Graded]] = []
        for i, sub in todo:
            try:
                pending.append((i, sub, prepare(batch, sub)))
            except Exception as exc:  # one bad submission must not cost the rest of the class
                fail(i, sub, exc)

        with ThreadPoolExecutor(max_workers=workers.count) as pool:
            futures = {pool.submit(execute_on, workers, batch, graded): (i, sub, graded)
                       for i, sub, graded in pending}
            for future in as_completed(futures):
                i, sub, graded = futures[future]
                try:
                    future.result()
                    done(i, sub, finish(batch, sub, graded))
                except Exception as exc:  # a grader bug must not cost the rest of the class
                    fail(i, sub, exc)
                finally:
                    graded.sandbox.remove()
    finally:
        workers.close()
        sandbox.remove_base(batch.base)  # and the tmpfs of any sandbox left, however it ended
    book.close()
    return [results[i] for i in sorted(results)]
