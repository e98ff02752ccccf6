"""The grading pipeline: one submission through the steps, for a whole class.

The steps run in the order of ``STEPS`` (as nbgrader's converters list their
preprocessors). Everything that touches the gradebook runs in this process, one submission
at a time (``prepare`` and ``finish``); only ``execute`` runs concurrently, in worker
processes that never see the gradebook.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.assignment import Assignment
from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.grader.sandbox import boundary
from autograder.grader.sandbox import folder as sandbox
from autograder.grader.sandbox.folder import Sandbox
from autograder.grader.sandbox.isolation import (
    isolation_prefix,
    jail_paths,
    kill_uid,
    uid_prefix,
)
from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.uids import UidLease
from autograder.grader.sandbox.zygote import (
    Job,
    Slot,
    Zygote,
    ZygoteError,
    notebook_imports,
    unavailable,
)
from autograder.grader.steps import (
    Outcome,
    collect,
    execute,
    ledger,
    notes,
    record,
    redact,
    report,
    sanitize,
    score,
    tamper_check,
    verify,
    verify_functions,
)
from autograder.grader.steps.collect import Submission
from autograder.grader.steps.execute import Execution
from autograder.model import checks
from autograder.model.isolated import read_apart
from autograder.records import SubmissionError, SubmissionResult, TestResult
from autograder.student.notebook import read_notebook

# Every step, in the order a submission meets it (report runs once, for the whole class).
STEPS = (collect, ledger, tamper_check, sanitize, sandbox, execute, score, verify_functions,
         verify, redact, record, report)
# After execution: each step writes its verdicts into the notebook (step(nb, outcome) -> nb).
SCORING = (score.clean_outputs, score.mark_not_run, verify_functions.apply, verify.apply,
           redact.apply, notes.annotate, tamper_check.annotate)

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


@dataclass
class Prepared:
    """What the steps before execution made and found for one submission."""

    sandbox: Sandbox
    tampering: list[str]
    # The sanitized notebook: the runner deletes the sandbox's copy once read, and the
    # executed notebook's outputs are taken onto it (boundary.outputs_onto).
    source: str
    hidden: frozenset[str] = frozenset()  # its hidden-test lines (see steps/redact.py)


def failed(sub: Submission, message: str, points: dict[str, float]) -> SubmissionResult:
    tests = {gid: TestResult(0.0, pts, f"not graded: {message}") for gid, pts in points.items()}
    return SubmissionResult.of_tests(sub.student, tests, error=message,
                                     notes=[sub.note] if sub.note else [])


def prepare(course: Course, sub: Submission, base: Path, limits: Limits | None = None
            ) -> Prepared:
    """Read, check, register and sanitize one submission, and lay out its sandbox."""
    if sub.error:
        raise SubmissionError(sub.error)
    nb = read_notebook(sub.notebook)
    tampering = tamper_check.find(course, sub)
    handed_in = sub.handed_in(course)
    gradebook.register(course, sub.student, handed_in)
    record.keep_submission(course, sub.student, sub.notebook, handed_in)
    sanitized = sanitize.sanitize(nb, course, sub.student)
    source = nbformat.writes(sanitized)
    hidden = sanitize.hidden_lines(sanitized, course)
    box = sandbox.create(source, base, (limits or Limits()).disk,
                         sandbox.Provided.of(course.assignment))
    return Prepared(box, tampering, source, hidden)


class Executor:
    """Runs sandboxes on a fixed number of worker slots, each with its own uid and, unless
    ``options.zygote`` is off or none can work here, its line to the one zygote."""

    def __init__(self, course: Course, options: Options, base: Path, expected: int = 1,
                 started: Zygote | None = None):
        """``expected``: submissions that may run; if any, the zygote starts importing now,
        while the grader prepares the submissions, unless one ``started`` already (see
        ``zygote.start``): that one is used if it can be, and closed if not."""
        self.options = options
        self.base = base
        self.assignment = course.assignment
        self.hidden = [*course.private_paths(), *options.hidden]
        self.workers = max(1, options.workers)
        self.slots: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(self.workers):
            self.slots.put(slot)
        self.lease = UidLease()
        self.uids = [self.lease.take() if options.isolate else None
                     for _ in range(self.workers)]
        self.zygote: Zygote | None = None
        self.retired: list[Zygote] = []  # ended, but a slot's thread may still hold its line
        self.lock = threading.Lock()     # the slots' threads share the zygote
        self.fresh_because: str | None = "turned off" if not options.zygote else unavailable()
        if options.zygote and self.fresh_because:
            log.warning("grading with a fresh process per submission: %s", self.fresh_because)
        self.preload = notebook_imports(nbformat.read(course.source_notebook, as_version=4)) \
            if self.fresh_because is None else []
        self.threads = options.threads(expected)
        if started is not None and (not expected or self.fresh_because is not None
                                    or len(started.slots) != self.workers):
            started.close()  # nothing to run, or not for these slots
        elif started is not None:
            self.zygote = started
        elif expected:
            self._start_zygote()

    def _start_zygote(self) -> None:
        if self.fresh_because is not None:
            return
        try:
            self.zygote = Zygote(self.base / f"zygote-{time.monotonic_ns()}", self.preload,
                                 slots=self.workers)
        except OSError as exc:
            self._fall_back(exc)

    def _fall_back(self, why: Exception, failed: Zygote | None = None) -> None:
        """No zygote from now on: every slot runs fresh processes. (Only a zygote that
        could not start or never became ready comes here, so no slot's worker is lost.)"""
        if self.fresh_because is None:
            self.fresh_because = str(why)
            log.warning("grading with a fresh process per submission: no zygote (%s)", why)
        self._retire(failed)

    def _retire(self, zygote: Zygote | None) -> None:
        """End ``zygote`` (if still current); its lines are closed with the executor, since
        another slot's thread may still be reading its own."""
        if zygote is not None and zygote is self.zygote:
            zygote.end()
            self.retired.append(zygote)
            self.zygote = None

    def _line(self, slot: int) -> Slot | None:
        """The slot's line to the zygote, started or restarted as needed and ready; None:
        fresh processes."""
        with self.lock:
            old = self.zygote
            if old is not None and not old.alive and old.import_seconds is not None:
                self._retire(old)  # it served before, so it can be started again
            if self.zygote is None:
                self._start_zygote()
            if self.zygote is None:
                return None
            line = self.zygote.slots[slot]
        try:
            line.ready()
        except ZygoteError as exc:  # it cannot work here (imports, threads): none will
            with self.lock:
                self._fall_back(exc, line.zygote)
            return None
        return line

    def __call__(self, prep: Prepared, student: str) -> Execution:
        """Run ``prep``'s notebook on a free slot. A worker the zygote could not fork, or
        lost because the zygote ended (retired after another slot's error, or killed), is
        run again in a fresh process, in a new sandbox: ``prep.sandbox`` is replaced."""
        slot = self.slots.get()
        try:
            line = self._line(slot)
            if line is not None:
                try:
                    run = self._run(prep, slot, line)
                except ZygoteError as exc:
                    log.warning("%s: %s; running it again in a fresh process",
                                student, exc)
                    with self.lock:
                        self._retire(line.zygote)
                    self._end_leftovers(slot)
                    # What the lost worker wrote must not be seen by the new run.
                    prep.sandbox.remove()
                    prep.sandbox = sandbox.create(prep.source, self.base,
                                                  self.options.limits.disk,
                                                  prep.sandbox.provided)
                else:
                    if line.lost:  # its time or memory verdict stands; the zygote serves no more
                        with self.lock:
                            self._retire(line.zygote)
                    return run
            return self._run(prep, slot, None)
        finally:
            self._end_leftovers(slot)
            self.slots.put(slot)

    def _run(self, prep: Prepared, slot: int, line: Slot | None) -> Execution:
        """The notebook, forked over ``line`` (None: a fresh process), then each of the
        student's functions in a fresh process."""
        box = prep.sandbox
        uid = self.uids[slot]
        isolate = self.options.isolate
        prefix = None
        if isolate:
            sandbox.hand_over(box, uid)
            prefix = (isolation_prefix(box, uid, self.hidden) if self.options.namespaces
                      else uid_prefix(uid))
        if line is not None:
            paths = jail_paths(box, self.hidden) if isolate and self.options.namespaces \
                else None
            job = Job.of(box, self.options.limits, self.threads, uid if isolate else None,
                         paths)
            run = execute.run_forked(box, prep.source, self.options.limits, line, job)
        else:
            run = execute.run_worker(box, prep.source, self.options.limits, self.threads, prefix)
        self._end_leftovers(slot)  # nothing of the notebook's runs beside what follows
        run.exported = boundary.exported(box)
        # Apart, behind the jail too: libhdf5 parses the file before any check can run.
        model = self.assignment.model
        run.saved = checks.saved_or_problem(run.exported, lambda data: read_apart(
            data, model.weight_shapes if model else [], prefix or (), cwd=str(box.root),
            env=sandbox.environment(box)))
        tests = self.assignment.function_checks()
        if run.notebook is not None and tests:  # fresh processes, after the notebook ended
            run.functions = execute.call_functions(
                box, self.options.limits, verify_functions.calls(run.notebook, tests),
                uid if isolate else None, prefix)
        return run

    def _end_leftovers(self, slot: int) -> None:
        if self.options.isolate and not self.options.namespaces:
            kill_uid(self.uids[slot])  # no PID namespace to end what the student left running

    def close(self) -> None:
        for zygote in [*self.retired, *([self.zygote] if self.zygote else [])]:
            zygote.close()
        self.lease.release()


def scored_notebook(assignment: Assignment, run: Execution, tampering: list[str],
                    hidden: frozenset[str] = frozenset()) -> NotebookNode:
    """The executed notebook with every verdict written into its test cells' outputs."""
    if run.notebook is None:
        raise SubmissionError(redact.redact_text(run.problem or "the notebook could not be run",
                                                 hidden).strip())
    outcome = Outcome(assignment, run.problem, run.saved, tampering, run.functions, hidden,
                      [redact.redact_text(n, hidden).strip() for n in run.notes])
    nb = run.notebook
    for step in SCORING:
        nb = step(nb, outcome)
    return nb


def finish(course: Course, sub: Submission, prepared: Prepared, run: Execution
           ) -> SubmissionResult:
    """Score an executed notebook and record it."""
    nb = scored_notebook(course.assignment, run, prepared.tampering, prepared.hidden)
    results = score.score(nb)
    record.save(course, sub.student, nb, run.exported)
    notes = [redact.redact_text(n, prepared.hidden).strip()
             for n in (sub.note, run.problem, *run.notes) if n]
    return SubmissionResult.of_tests(sub.student, results, notes=notes,
                                     tampering=prepared.tampering)


def grade_all(course: Course, subs: list[Submission], options: Options,
              points: dict[str, float],
              on_done: Callable[[SubmissionResult], None] | None = None,
              started: Zygote | None = None) -> list[SubmissionResult]:
    """Grade every submission; a broken one becomes an error result, never a crash.
    ``started``: a zygote started early for these workers (see ``Executor``).

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
    base = sandbox.new_base()
    # The zygote imports while the submissions are prepared.
    run = Executor(course, options, base, expected=sum(1 for _, sub in todo if not sub.error),
                   started=started)
    try:
        pending: list[tuple[int, Submission, Prepared]] = []
        for i, sub in todo:
            try:
                pending.append((i, sub, prepare(course, sub, base, options.limits)))
            except Exception as exc:  # one bad submission must not cost the rest of the class
                fail(i, sub, exc)

        with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
            futures = {pool.submit(run, prep, sub.student): (i, sub, prep)
                       for i, sub, prep in pending}
            for future in as_completed(futures):
                i, sub, prep = futures[future]
                try:
                    done(i, sub, finish(course, sub, prep, future.result()))
                except Exception as exc:  # a grader bug must not cost the rest of the class
                    fail(i, sub, exc)
                finally:
                    prep.sandbox.remove()
    finally:
        run.close()
        sandbox.remove_base(base)  # and the tmpfs of any sandbox left, however it ended
    book.close()
    return [results[i] for i in sorted(results)]
