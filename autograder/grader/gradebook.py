"""Every write to nbgrader's gradebook (and the pipeline's reads), in the grader's process only.

- the assignment: nbgrader can only autograde an assignment that ``generate_assignment``
  has written into the gradebook (the locked test cells, hidden tests included, are restored
  from there); :func:`ensure_assignment` runs it when the gradebook lacks the assignment or
  holds older test cells, writing the student version to a throw-away folder;
- the grades: students and submissions (:func:`register`), names from the class list
  (:func:`name_students`), a graded notebook's scores through nbgrader's own
  ``SaveAutoGrades`` (:func:`save_grades`), zero for a submission that could not run
  (:func:`save_failure`), and shards' results (:func:`save_merged`);
- what graders gave by hand in formgrader (:func:`hand_scores`), for the feedback pages.

Cells graded by hand (manually graded answers and tasks) are nbgrader's to keep: they wait
in the gradebook with ``needs_manual_grade`` until a grader scores them, and nbgrader's
totals (``submission.score``, the export) count them from then on.

The grader's ledger keeps its own table in the same database (``steps/ledger.py``).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

import nbformat
import nbgrader.api
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from nbgrader.utils import capture_log, parse_utc
from traitlets.config import Config

from autograder.grader import late
from autograder.grader.course import Course, CourseError
from autograder.records import SubmissionResult, TestResult
from autograder.student.notebook import autograded_cells, grade_id, is_grade, is_locked
from autograder.student.verdicts import graded_cells, is_manual, is_task, max_points


def alembic_head() -> str:
    """The migration a new gradebook is stamped with, read in this process.

    nbgrader's ``Gradebook`` asks for it whenever it creates a gradebook, by running
    ``alembic heads`` in a new Python that imports nbgrader and jsonschema afresh: every
    first ``grade`` of a course and every Gradescope zip built paid seconds for that
    (bench/README.md, "Measurements behind the code"). Same answer
    (tests/test_notebooks.py compares it with what the nbgrader command stamps).
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


nbgrader.api.get_alembic_version = alembic_head


class Person(Protocol):
    """A class list's row, as ``autograder.grader.roster.Student`` holds it."""

    student: str
    lms_id: str
    first_name: str
    last_name: str
    email: str
    deadline: str      # the student's own deadline, ISO 8601 with its zone, or ""
    extension: str     # or their extension of the due date ("2d"), or ""


# --- the assignment -------------------------------------------------------------------------

def _source_tests(course: Course) -> list:
    return autograded_cells(nbformat.read(course.source_notebook, as_version=4))


def source_test_cells(course: Course) -> dict[str, str]:
    """grade_id -> source of every autograded test cell in the source notebook."""
    return {grade_id(c): c.source for c in _source_tests(course)}


def _source_graded(course: Course) -> list:
    return graded_cells(nbformat.read(course.source_notebook, as_version=4))


def points_by_test(course: Course) -> dict[str, float]:
    """grade_id -> max points of every cell with points (autograded tests, and answers and
    tasks graded by hand), in notebook order: nbgrader's maximum is their sum."""
    return {grade_id(c): max_points(c) for c in _source_graded(course)}


def manual_ids(course: Course) -> set[str]:
    """The grade ids of the cells graded by hand (manually graded answers and tasks)."""
    return {grade_id(c) for c in _source_graded(course) if is_manual(c)}


def assignment_fingerprint(course: Course) -> dict[str, list]:
    """What grading restores and scores with: grade_id -> [source of a locked cell, else None;
    points or None] of every locked cell and cell with points of the source notebook. An
    answer's source is not restored (the student's answer replaces it), so it is None."""
    nb = nbformat.read(course.source_notebook, as_version=4)
    return {grade_id(c): [c.source if is_locked(c) else None,
                          max_points(c) if is_grade(c) or is_task(c) else None]
            for c in nb.cells if grade_id(c) and (is_locked(c) or is_grade(c) or is_task(c))}


def gradebook_fingerprint(course: Course) -> dict[str, list] | None:
    """The same, as the gradebook holds it (None when it lacks the assignment)."""
    with Gradebook(course.db, course.id) as gb:
        try:
            notebook = gb.find_notebook(course.notebook_id, course.assignment_id)
        except MissingEntry:
            return None
        points = {g.name: float(g.max_score)
                  for g in [*notebook.grade_cells, *notebook.task_cells]}
        return {c.name: [c.source if c.locked else None, points.get(c.name)]
                for c in notebook.source_cells if c.locked or c.name in points}


def ensure_assignment(course: Course) -> bool:
    """Write the assignment into the gradebook if it is missing or stale; True if it was."""
    course.check()
    if gradebook_fingerprint(course) == assignment_fingerprint(course):
        return False
    config = course.nbgrader_config()
    with tempfile.TemporaryDirectory(prefix="release-") as release:
        # An absolute release_directory wins over root in os.path.join.
        config.CourseDirectory.release_directory = release
        config.CourseDirectory.assignment_id = course.assignment_id
        coursedir = CourseDirectory(config=config)
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force = True
        app.create_assignment = True
        result = capture_log(app)
    if not result["success"]:
        raise CourseError(
            "nbgrader generate_assignment failed, so nothing can be graded:\n"
            + result.get("error", "") + result.get("log", "")
        )
    return True


def quiet_nbgrader() -> None:
    """Silence what nbgrader writes that means nothing to a grader's user."""
    # Its preprocessors log every restored cell; the score table is what people read.
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    # nbgrader 0.9 triggers SQLAlchemy 2 session warnings.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")


# --- grades ---------------------------------------------------------------------------------

def resources(course: Course, student: str) -> ResourcesDict:
    """What nbgrader's gradebook-backed preprocessors need to find one submission."""
    res = ResourcesDict()
    res["unique_key"] = course.notebook_id
    res["nbgrader"] = {
        "student": student,
        "assignment": course.assignment_id,
        "notebook": course.notebook_id,
        "db_url": course.db,
    }
    return res


def _timestamp(submitted_at: str | None) -> dict:
    """nbgrader's timestamp argument (naive UTC) for an ISO 8601 time, when there is one."""
    return {"timestamp": parse_utc(datetime.fromisoformat(submitted_at))} if submitted_at else {}


def register(course: Course, student: str, submitted_at: str | None = None) -> None:
    """Create (or keep) the student and their submission rows, as nbgrader autograde does,
    with the submission's time when it is known (nbgrader's late penalties use it)."""
    with Gradebook(course.db, course.id) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(course.assignment_id, student,
                                       **_timestamp(submitted_at))


def name_students(course: Course, people: Iterable[Person]) -> None:
    """Names, e-mail addresses and LMS ids from the class list (``grade --roster``), for
    formgrader, the exports and returning grades (the LMS id as nbgrader's ``lms_user_id``);
    an empty field changes nothing. Students on the list who submitted nothing are added
    too, as ``nbgrader db student import`` adds them."""
    with Gradebook(course.db, course.id) as gb:
        for person in people:
            known = {field: value for field in ("first_name", "last_name", "email")
                     if (value := getattr(person, field))}
            if person.lms_id:
                known["lms_user_id"] = person.lms_id
            gb.update_or_create_student(person.student, **known)


def _extension(person: Person, duedate: datetime) -> timedelta | None:
    """How much later than the assignment's due date (naive UTC) the student's is."""
    if person.extension:
        return late.parse_extension(person.extension)
    if person.deadline:
        return parse_utc(late.parse_deadline(person.deadline)) - duedate
    return None


def grant_deadlines(course: Course, people: Iterable[Person]) -> list[str]:
    """Each student's own deadline as nbgrader's extension of the assignment's due date
    (``Gradebook.grant_extension``), so that nbgrader's late penalty, formgrader and the
    exports use it; a student without one gets no extension (an earlier one is removed).
    Returns what could not be granted: without a due date in the gradebook there is
    nothing to extend."""
    people = list(people)
    with Gradebook(course.db, course.id) as gb:
        duedate = gb.find_assignment(course.assignment_id).duedate
        own = [p for p in people if p.deadline or p.extension]
        if duedate is None:
            return [f"{len(own)} student(s) have their own deadline, but {course.assignment_id} "
                    "has no due date in the gradebook, so it cannot be extended: set one "
                    f"(nbgrader db assignment add {course.assignment_id} --duedate=...)"
                    ] if own else []
        for person in people:
            gb.update_or_create_student(person.student)
            gb.update_or_create_submission(course.assignment_id, person.student)
            extension = _extension(person, duedate)
            minutes = extension.total_seconds() / 60 if extension else 0
            gb.grant_extension(course.assignment_id, person.student, minutes=minutes)
    return []


def lateness(course: Course, student: str, marked: bool = False) -> tuple[bool, float]:
    """(late, penalty) as the gradebook holds them after grading: late when handed in after
    the student's due date, or when the LMS ``marked`` it late without a time."""
    with Gradebook(course.db, course.id) as gb:
        try:
            submission = gb.find_submission(course.assignment_id, student)
        except MissingEntry:
            return False, 0.0
        penalty = float(submission.late_submission_penalty or 0.0)
        return late.is_late(submission) or marked, penalty


def late_policy_without_times(course: Course, untimed: int) -> str | None:
    """A warning when the course penalises late work (a due date in the gradebook and a
    ``penalty_method`` in nbgrader_config.py) but ``untimed`` submissions have no hand-in
    time (an LMS download without times): no penalty applies to them, since a time is
    never invented (a file's modification time is when it was copied)."""
    if not untimed:
        return None
    policy = late.describe(course.nbgrader_config())
    if policy is None:
        return None
    with Gradebook(course.db, course.id) as gb:
        duedate = gb.find_assignment(course.assignment_id).duedate
    if duedate is None:
        return None
    return (f"the late policy ({policy}) is set with the due date {duedate} UTC, but "
            f"{untimed} submission(s) have no hand-in time (an LMS download without times): "
            "no late penalty applies to them")


def save_grades(course: Course, student: str, nb: NotebookNode,
                marked_late: bool = False) -> None:
    """A graded notebook's scores through nbgrader's own SaveAutoGrades, then its late
    penalty (``penalise``), as ``nbgrader autograde`` runs them, with the course's settings."""
    config = course.nbgrader_config()
    SaveAutoGrades(config=config).preprocess(nb, resources(course, student))
    penalise(course, student, marked_late, config)


def penalise(course: Course, student: str, marked_late: bool = False,
             config: Config | None = None) -> None:
    """The late penalty of a scored submission, by nbgrader's own AssignLatePenalties (which
    reads only the gradebook: the time, the student's due date, the score).

    ``marked_late``: the LMS marked the work late but gave no time (Canvas's LATE), so
    nbgrader sees no lateness; the course's policy then takes what the least lateness the
    marker proves would cost (``late.penalty_when_marked_late``)."""
    config = config or course.nbgrader_config()
    AssignLatePenalties(config=config).preprocess(nbformat.v4.new_notebook(),
                                                  resources(course, student))
    if not marked_late:
        return
    with Gradebook(course.db, course.id) as gb:
        submission = gb.find_submission(course.assignment_id, student)
        if submission.timestamp is None:
            notebook = gb.find_submission_notebook(course.notebook_id, course.assignment_id,
                                                   student)
            # 0.0, not None: nbgrader's None means "on time"; a penalty recorded is "late"
            notebook.late_submission_penalty = late.penalty_when_marked_late(
                config, student, notebook.score)
            gb.db.commit()


def save_failure(course: Course, student: str, submitted_at: str | None = None) -> None:
    """A submission that could not be run earns zero everywhere, not 'needs manual grading'."""
    register(course, student, submitted_at)
    with Gradebook(course.db, course.id) as gb:
        submission = gb.find_submission_notebook(course.notebook_id, course.assignment_id,
                                                 student)
        for grade in submission.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def merged_auto_score(test: TestResult, by_hand: bool) -> float | None:
    """What a shard's verdict records as nbgrader's automatic score: a test's points; for a
    cell graded by hand (``by_hand``, from this course's notebook, not the file), none while
    it awaits its grader, else 0 (an answer left as released, a submission that failed)."""
    if not by_hand:
        return test.points
    return None if test.manual else 0.0


def save_merged(course: Course, results: Iterable[SubmissionResult]) -> None:
    """Results graded elsewhere (the shards' grade JSON), test by test, as nbgrader's
    SaveAutoGrades records them: a cell without an automatic score needs a manual grade, and a
    grader's manual score is kept."""
    results = list(results)  # read twice: the grades, then the penalties
    hand = manual_ids(course)
    with Gradebook(course.db, course.id) as gb:
        for result in results:
            gb.update_or_create_student(result.student)
            gb.update_or_create_submission(course.assignment_id, result.student,
                                           **_timestamp(result.submitted_at))
            for gid, test in result.tests.items():
                grade = gb.find_grade(gid, course.notebook_id, course.assignment_id,
                                      result.student)
                grade.auto_score = merged_auto_score(test, gid in hand)
                grade.needs_manual_grade = grade.auto_score is None
            gb.db.commit()
    config = course.nbgrader_config()  # read once for the class, not once a student
    for result in results:  # as grading would have: the shard's own penalty is not believed
        penalise(course, result.student, result.late and not result.submitted_at, config)


def hand_scores(course: Course, student: str) -> dict[str, float]:
    """grade_id -> nbgrader's score of every cell a grader scored by hand (a manual score or
    extra credit, as formgrader writes them); empty when the student has no submission."""
    with Gradebook(course.db, course.id) as gb:
        try:
            notebook = gb.find_submission_notebook(course.notebook_id, course.assignment_id,
                                                   student)
        except MissingEntry:
            return {}
        return {g.name: float(g.score) for g in notebook.grades
                if g.manual_score is not None or g.extra_credit}
