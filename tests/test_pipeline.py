"""pipeline: the order of the steps, and what the grader does around execution (prepare,
score, record, skip), on the tiny assignment with a real SQLite gradebook and no kernel.
Execution itself (kernels, sandboxes) is tested through `grade` in test_grade_mechanics.py.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from autograder.assignment import KernelOnly
from autograder.grader import gradebook, pipeline
from autograder.grader.assignments import load as load_assignment
from autograder.grader.course import Course
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps import (
    Batch,
    Graded,
    ledger,
    score,
)
from autograder.grader.steps.submissions import Submission, find
from autograder.records import SubmissionError, SubmissionResult, TestResult
from autograder.student.notebook import grade_id

from helpers import ROOT, TINY_GRADING, TINY_ID, TINY_NAME, place, tiny_submission

pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")  # nbgrader 0.9 noise

POINTS = {"test_add": 3.0, "test_add_strings": 2.0}
TINY = load_assignment(TINY_GRADING.parents[2], TINY_ID)
# For verdicts written without a run outside the kernel: no test waits for one.
TINY_IN_KERNEL = dataclasses.replace(TINY, checks=dict.fromkeys(TINY.checks, KernelOnly("here")))


def name(step) -> str:
    return f"{step.__module__.removeprefix('autograder.grader.')}.{step.__name__}"


def test_steps_are_declared_once_in_order():
    assert [name(step) for step in pipeline.STEPS] == [
        "steps.submissions.read",         # the notebook handed in, parsed and checked
        "steps.tamper_check.check",     # what the student changed that they should not have
        "steps.record.register",        # the student and the submission in the gradebook
        "steps.sanitize.apply",         # ...restored by nbgrader from the gradebook
        "steps.execute.lay_out",        # a throw-away folder with the sanitized notebook
        "steps.execute.notebook",       # the notebook run there, watched
        "steps.execute.exports",        # the saved model, read through the boundary
        "steps.execute.functions",      # the tested functions called in fresh processes
        "steps.score.clean_outputs",    # library noise dropped, stderr a note
        "steps.score.mark_not_run",     # tests that never ran fail with the reason
        "steps.verify_functions.apply", "steps.verify.apply",  # verdicts code cannot fake
        "steps.redact.apply",           # no hidden-test text in what the student is shown
        "steps.notes.annotate", "steps.tamper_check.annotate",
        "steps.record.keep",            # the gradebook and the graded notebook
    ]
    assert pipeline.STEPS == (*pipeline.PREPARE, *pipeline.EXECUTE, *pipeline.SCORE,
                              *pipeline.RECORD)


def test_the_architecture_page_lists_the_steps_in_their_order():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = page.split("<!-- steps:")[1].split("<!-- end steps -->")[0]
    listed = re.findall(r"^\| (\w+) \| `([\w.]+)` \|", table, re.M)
    stages = {"prepare": pipeline.PREPARE, "execute": pipeline.EXECUTE,
              "score": pipeline.SCORE, "record": pipeline.RECORD}
    assert listed == [(stage, name(step)) for stage, steps in stages.items()
                      for step in steps]


@pytest.mark.slow  # runs the tiny notebook (a kernel)
def test_grade_all_runs_exactly_the_declared_steps(tiny_gradebook_course, tmp_path,
                                                     monkeypatch):
    ran: list[str] = []

    def spied(step):
        def spy(*args):
            ran.append(name(step))
            return step(*args)
        return spy

    for stage in ("PREPARE", "EXECUTE", "SCORE", "RECORD"):
        monkeypatch.setattr(pipeline, stage, tuple(spied(s) for s in getattr(pipeline, stage)))
    subs = find([place(tmp_path / "subs", "amy", tiny_submission())], expected=TINY_NAME)
    [result] = pipeline.grade_all(tiny_gradebook_course, subs,
                                  pipeline.Options(isolate=False, zygote=False), POINTS)
    assert result.score == 5, result
    assert ran == [name(step) for step in pipeline.STEPS]


# -- after execution --------------------------------------------------------------------------

def executed_tiny(ran: dict[str, bool], stderr_in: str | None = None):
    """The tiny submission as the kernel left it: test cells that ran passed."""
    nb = nbformat.reads(tiny_submission(), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1 if ran.get(grade_id(cell), True) else None
            if grade_id(cell) == stderr_in:
                cell.outputs = [new_output("stream", name="stderr", text="a warning\n")]
    return nb


def test_scored_notebook_writes_every_verdict_into_the_notebook():
    run = Graded("amy", TINY_IN_KERNEL,
                 notebook=executed_tiny({"test_add_strings": False}, stderr_in="test_add"),
                 problem="the notebook ran longer than 600 s in total and was stopped",
                 tampering=["test cell test_add was changed"])
    nb = pipeline.scored_notebook(run)
    assert nb.cells[0].cell_type == "markdown"
    assert "- test cell test_add was changed" in nb.cells[0].source
    results = score.score(nb)
    assert results["test_add"] == TestResult(
        3.0, 3.0, "passed (note: it wrote to stderr: a warning)")
    assert results["test_add_strings"] == TestResult(
        0.0, 2.0, "NotRun: this test did not run: the notebook ran longer than 600 s in total "
                  "and was stopped")


def test_a_run_without_a_notebook_is_a_submission_error():
    with pytest.raises(SubmissionError, match="used more than 3.0 GiB"):
        pipeline.scored_notebook(Graded("amy", TINY, problem="the notebook used more than "
                                                            "3.0 GiB"))
    with pytest.raises(SubmissionError, match="could not be run"):
        pipeline.scored_notebook(Graded("amy", TINY))


def test_failed_gives_every_test_zero_with_the_reason():
    sub = Submission("amy", None, note=f"graded mine.ipynb (expected {TINY_NAME})")
    result = pipeline.failed(sub, "mine.ipynb is empty", POINTS)
    assert (result.student, result.score, result.max_score) == ("amy", 0, 5)
    assert result.error == "mine.ipynb is empty"
    assert result.notes == [sub.note]
    assert result.tests == {gid: TestResult(0.0, pts, "not graded: mine.ipynb is empty")
                            for gid, pts in POINTS.items()}


# -- before execution -------------------------------------------------------------------------

@pytest.fixture
def course(tiny_gradebook_course: Course) -> Course:
    """The tiny course with a release to compare submissions with (for tamper_check)."""
    release = tiny_gradebook_course.root / "assignments" / TINY_ID / TINY_NAME
    release.parent.mkdir(parents=True)
    release.write_text(tiny_submission(None), encoding="utf-8")
    return tiny_gradebook_course


def students(course: Course) -> list[str]:
    with Gradebook(course.db, course.id) as gb:
        return [s.id for s in gb.students]


def test_prepare_reports_tampering_and_leaves_the_submission_as_it_was(course, tmp_path: Path,
                                                                     request):
    nb = nbformat.reads(tiny_submission(), as_version=4)
    nb.cells[2].source = "pass  # no tests for me"
    [sub] = find([place(tmp_path / "subs", "amy", nbformat.writes(nb))], expected=TINY_NAME)
    before = copy.deepcopy(sub)
    base = tmp_path / "sandboxes"  # as sandbox.new_base() makes it for a run
    base.mkdir()

    prepared = pipeline.prepare(Batch(course, Limits(), base), sub)

    assert prepared.tampering == ["test cell test_add was changed"]
    assert sub == before  # findings are returned, not written into the submission
    assert sub.notebook.read_text(encoding="utf-8") == nbformat.writes(nb)  # file untouched
    box = prepared.sandbox
    request.addfinalizer(box.remove)  # a tmpfs of its own where the grader may mount
    assert box.root.parent == base
    assert sorted(p.name for p in box.root.iterdir()) == ["data", "export", "submission.ipynb"]
    sandboxed = nbformat.read(box.notebook, as_version=4)
    assert sandboxed.cells[2].source == gradebook.source_test_cells(course)["test_add"]
    assert students(course) == ["amy"]


def test_prepare_an_untouched_submission_finds_nothing(course, tmp_path: Path):
    [sub] = find([place(tmp_path / "subs", "bob", tiny_submission())], expected=TINY_NAME)
    prepared = pipeline.prepare(Batch(course, Limits(), tmp_path), sub)
    prepared.sandbox.remove()
    assert prepared.tampering == []


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("{not json", "not valid notebook JSON"),
])
def test_prepare_refuses_a_file_that_is_not_a_notebook(course, tmp_path, content, message):
    [sub] = find([place(tmp_path / "subs", "carl", content)], expected=TINY_NAME)
    with pytest.raises(SubmissionError, match=message):
        pipeline.prepare(Batch(course, Limits(), tmp_path), sub)
    assert students(course) == []  # nothing was registered for it


def test_prepare_refuses_what_collect_could_not_find(course, tmp_path):
    with pytest.raises(SubmissionError, match="no notebook found"):
        pipeline.prepare(Batch(course, Limits(), tmp_path),
                         Submission("dora", None, "no notebook found"))


# -- a class, without running anything --------------------------------------------------------

def test_grade_all_keeps_unchanged_results_and_records_failures(course, tmp_path: Path):
    subs_dir = tmp_path / "subs"
    place(subs_dir, "amy", tiny_submission())
    place(subs_dir, "carl", "")
    (subs_dir / "dora").mkdir()
    (subs_dir / "dora" / "notes.txt").write_text("I could not do it")
    subs = find([subs_dir], expected=TINY_NAME)
    # amy was graded before, with these very bytes and tests
    earlier = SubmissionResult.of_tests("amy", {"test_add": TestResult(3, 3, "passed"),
                                                "test_add_strings": TestResult(2, 2, "passed")})
    book = ledger.Ledger(course.db, course.assignment_id)
    key = ledger.content_key(subs[0].read_bytes(), None,
                             gradebook.assignment_fingerprint(course))
    book.record("amy", key, earlier.as_dict())

    seen: list[str] = []
    options = pipeline.Options(isolate=False)
    results = pipeline.grade_all(course, subs, options, POINTS,
                                 lambda r: seen.append(r.student))

    amy, carl, dora = results
    assert [r.student for r in results] == ["amy", "carl", "dora"]
    assert sorted(seen) == ["amy", "carl", "dora"]
    assert amy.tests == earlier.tests and amy.notes == [pipeline.UNCHANGED]
    assert "is empty" in carl.error and carl.score == 0
    assert "no notebook found" in dora.error and dora.score == 0
    with Gradebook(course.db, course.id) as gb:  # failures are zero in the gradebook too
        graded = {s.student.id: s.score for s in gb.find_assignment(TINY_ID)
                  .submissions}
    assert graded == {"carl": 0, "dora": 0}

    # a second run changes nothing: every result is now in the ledger
    again = pipeline.grade_all(course, find([subs_dir], expected=TINY_NAME), options, POINTS)
    assert [r.notes for r in again] == [[pipeline.UNCHANGED]] * 3
    assert [r.as_dict() for r in again] == [r.as_dict() for r in results]
    book.close()
