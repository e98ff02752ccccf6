"""gradebook (every read and write of nbgrader's gradebook) and record (keeping a graded
submission), on the tiny assignment in a real SQLite gradebook, read back with nbgrader's
own API. No kernel: the "executed" notebooks are built with the outputs a kernel leaves.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from autograder.grader import gradebook
from autograder.grader.assignments import AssignmentError
from autograder.grader.course import Course
from autograder.grader.steps import record
from autograder.grader.steps.sanitize import sanitize
from autograder.records import SubmissionResult, TestResult
from autograder.student import verdicts
from autograder.student.export_cell import read_exported
from autograder.student.notebook import grade_id

from helpers import TINY_ID, tiny_course_at, tiny_submission

# nbgrader 0.9 with SQLAlchemy 2 warns on every submission; the grader silences it too.
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")

ASSIGNMENT = NOTEBOOK = TINY_ID


def grades_of(course: Course, student: str) -> dict[str, tuple[float | None, bool]]:
    """test -> (auto score, needs manual grading?), as nbgrader reads them."""
    with Gradebook(course.db, course.id) as gb:
        sub = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {g.name: (g.auto_score, g.needs_manual_grade) for g in sub.grades}


def scores(course: Course) -> dict[str, float]:
    with Gradebook(course.db, course.id) as gb:
        return {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}


def graded(course: Course, student: str, fail: str | None = None):
    """The tiny submission, sanitized, as the kernel leaves it: `fail` raised an error."""
    nb = sanitize(nbformat.reads(tiny_submission(), as_version=4), course, student)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1
            if grade_id(cell) == fail:
                cell.outputs = [new_output("error", ename="AssertionError", evalue="wrong",
                                           traceback=["AssertionError: wrong"])]
    return nb


# -- the assignment ---------------------------------------------------------------------------

@pytest.fixture
def fresh_course(tmp_path: Path, empty_gradebook: Path) -> Course:
    """The tiny course with a gradebook that does not hold the assignment yet."""
    course = Course(tiny_course_at(tmp_path / "course"))
    shutil.copyfile(empty_gradebook, course.root / "gradebook.db")
    return course


def test_ensure_assignment_writes_it_once_then_only_when_the_tests_change(fresh_course):
    course = fresh_course
    assert gradebook.gradebook_fingerprint(course) is None
    assert gradebook.ensure_assignment(course) is True
    assert gradebook.gradebook_fingerprint(course) == gradebook.assignment_fingerprint(course)
    assert gradebook.ensure_assignment(course) is False  # nothing changed: nothing written
    assert not (course.root / "assignments").exists()  # the release went to a temporary folder

    # the instructor edits a hidden test: the gradebook must follow
    nb = nbformat.read(course.source_notebook, as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("add(-1, 1) == 0", "add(-2, 2) == 0")
    nbformat.write(nb, course.source_notebook)
    assert gradebook.ensure_assignment(course) is True
    assert "add(-2, 2) == 0" in gradebook.gradebook_fingerprint(course)["test_add"][0]
    assert gradebook.ensure_assignment(course) is False


def test_ensure_assignment_follows_edited_locked_cells_and_points(tiny_gradebook_course):
    course = tiny_gradebook_course
    nb = nbformat.read(course.source_notebook, as_version=4)
    nb.cells[0].source = "# Tiny assignment, corrected"  # the locked intro
    nb.cells[2].metadata.nbgrader["points"] = 4  # test_add
    nbformat.write(nb, course.source_notebook)
    gradebook.ensure_assignment(course)
    out = sanitize(nbformat.reads(tiny_submission(), as_version=4), course, "amy")
    assert out.cells[0].source == "# Tiny assignment, corrected"
    assert out.cells[2].metadata.nbgrader["points"] == gradebook.points_by_test(course)[
        "test_add"] == 4


def test_ensure_assignment_without_a_source_notebook_says_what_to_do(tmp_path: Path):
    # A folder without solutions/<id>/<id>.ipynb is no course: refused before any gradebook.
    with pytest.raises(AssignmentError, match="no assignment in .*pass --course-dir"):
        gradebook.ensure_assignment(Course(tmp_path))


def test_tests_and_points_come_from_the_source_notebook(tiny_gradebook_course):
    course = tiny_gradebook_course
    points = gradebook.points_by_test(course)
    assert list(points.items()) == [("test_add", 3.0), ("test_add_strings", 2.0)]
    tests = gradebook.source_test_cells(course)
    assert list(tests) == ["test_add", "test_add_strings"]
    assert all("### BEGIN HIDDEN TESTS" in source for source in tests.values())


# -- grades -----------------------------------------------------------------------------------

def test_register_creates_the_student_and_an_ungraded_submission(tiny_gradebook_course):
    course = tiny_gradebook_course
    gradebook.register(course, "amy")
    gradebook.register(course, "amy")  # as a rerun does: still one of each
    with Gradebook(course.db, course.id) as gb:
        assert [s.id for s in gb.students] == ["amy"]
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == 1
    # no score yet, and nbgrader would list it for manual grading (see save_failure)
    assert grades_of(course, "amy") == {"test_add": (None, True),
                                        "test_add_strings": (None, True)}


def test_save_grades_scores_as_the_table_does(tiny_gradebook_course):
    course = tiny_gradebook_course
    gradebook.register(course, "amy")
    nb = graded(course, "amy", fail="test_add")
    gradebook.save_grades(course, "amy", nb)
    assert grades_of(course, "amy") == {"test_add": (0, False), "test_add_strings": (2, False)}
    assert scores(course) == {"amy": sum(r.points for r in verdicts.score(nb).values())}


@pytest.mark.parametrize(("submitted_at", "method", "late", "penalty"), [
    ("2026-12-01T23:00:00+01:00", "zero", 0, None),     # on time: no penalty
    ("2026-12-02T01:00:00+01:00", "zero", 3600, 3.0),   # an hour late, "zero": all points
    ("2026-12-02T01:00:00+01:00", "none", 3600, None),  # late, but no penalty configured
])
def test_the_submission_time_reaches_nbgraders_late_penalties(
        tiny_gradebook_course, monkeypatch, submitted_at, method, late, penalty):
    course = tiny_gradebook_course
    with Gradebook(course.db, course.id) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2026, 12, 1, 23, 0))  # UTC
    config = course.nbgrader_config()
    config.LateSubmissionPlugin.penalty_method = method
    monkeypatch.setattr(Course, "nbgrader_config", lambda self: config)
    gradebook.register(course, "amy", submitted_at)
    gradebook.save_grades(course, "amy", graded(course, "amy", fail="test_add_strings"))
    with Gradebook(course.db, course.id) as gb:
        sub = gb.find_submission(ASSIGNMENT, "amy")
        notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "amy")
        assert (sub.total_seconds_late, notebook.score, notebook.late_submission_penalty) == (
            late, 3.0, penalty)


@pytest.mark.parametrize(("method", "duedate", "untimed", "warned"), [
    ("zero", datetime(2026, 12, 1, 23, 0), 3, True),   # a policy, a due date, no times
    ("zero", datetime(2026, 12, 1, 23, 0), 0, False),  # every submission has its time
    ("zero", None, 3, False),                          # no due date: nothing is late
    ("none", datetime(2026, 12, 1, 23, 0), 3, False),  # no penalty configured
])
def test_a_late_policy_over_submissions_without_times_is_warned_of(
        tiny_gradebook_course, monkeypatch, method, duedate, untimed, warned):
    """An LMS download without hand-in times under a late policy: no time is invented (a
    file's modification time is when `collect` copied it, which would make everyone late),
    so no penalty applies, and `grade` says so."""
    course = tiny_gradebook_course
    with Gradebook(course.db, course.id) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=duedate)
    config = course.nbgrader_config()
    config.LateSubmissionPlugin.penalty_method = method
    monkeypatch.setattr(Course, "nbgrader_config", lambda self: config)
    said = gradebook.late_policy_without_times(course, untimed)
    assert (said is not None) == warned
    if warned:
        assert said == ("the late policy (a late submission scores zero) is set with the due "
                        "date 2026-12-01 23:00:00 "
                        "UTC, but 3 submission(s) have no hand-in time (an LMS download "
                        "without times): no late penalty applies to them")


def test_save_failure_gives_zero_everywhere_not_needs_manual_grading(tiny_gradebook_course):
    course = tiny_gradebook_course
    gradebook.save_failure(course, "zoe")  # never registered: it registers her
    gradebook.save_failure(course, "zoe")
    assert grades_of(course, "zoe") == {"test_add": (0, False), "test_add_strings": (0, False)}
    assert scores(course) == {"zoe": 0}
    # a failure after a good grade replaces it
    gradebook.save_grades(course, "zoe", graded(course, "zoe"))
    assert scores(course) == {"zoe": 5}
    gradebook.save_failure(course, "zoe")
    assert scores(course) == {"zoe": 0}


def test_save_merged_writes_each_test_of_each_student(tiny_gradebook_course):
    course = tiny_gradebook_course
    gradebook.save_merged(course, [
        SubmissionResult.of_tests("amy", {"test_add": TestResult(3, 3, "passed"),
                                          "test_add_strings": TestResult(0, 2, "strings too")}),
        SubmissionResult.of_tests("bob", {"test_add": TestResult(3, 3, "passed"),
                                          "test_add_strings": TestResult(2, 2, "passed")},
                                  commit="ab" * 20, submitted_at="2026-12-01T23:00:00+01:00"),
    ])
    assert scores(course) == {"amy": 3, "bob": 5}
    assert grades_of(course, "amy") == {"test_add": (3, False), "test_add_strings": (0, False)}
    with Gradebook(course.db, course.id) as gb:  # the shard's submission time, as naive UTC
        assert gb.find_submission(ASSIGNMENT, "bob").timestamp == datetime(2026, 12, 1, 22, 0)


# -- record: what is kept of a graded submission ----------------------------------------------

def test_record_keeps_the_graded_notebook_and_the_model_for_feedback(tiny_gradebook_course,
                                                                    tmp_path: Path):
    course = tiny_gradebook_course
    gradebook.register(course, "amy")
    export = tmp_path / "export"
    export.mkdir()
    (export / "model.keras").write_bytes(b"a model")
    (export / "history.json").write_text('{"loss": [1.0]}')
    (export / "export.json").write_text("{}")
    nb = graded(course, "amy")
    path = record.save(course, "amy", nb, read_exported(tmp_path))
    assert path == course.autograded_notebook("amy")
    assert nbformat.read(path, as_version=4) == nb
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file
    kept = course.artifacts_dir("amy")
    assert sorted(p.name for p in kept.iterdir()) == ["history.json", "model.keras"]
    assert scores(course) == {"amy": 5}

    record.save(course, "amy", nb, None)  # graded again, and this time no model was saved
    assert not kept.exists()  # the old model would describe another submission

    record.save_failure(course, "amy")
    assert not path.exists()  # no graded notebook for a submission that could not run
    assert scores(course) == {"amy": 0}

