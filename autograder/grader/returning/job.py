"""``return``: this assignment's grades from the gradebook into the LMS's own file, and the
feedback pages into the zip the LMS takes in bulk.

The gradebook is the one source: nbgrader's score (manual grades included) less its late
penalty, never below zero, as ``export`` writes it; each student's LMS id is nbgrader's
``lms_user_id``, which ``grade`` keeps from collect's record or the roster. Students are
placed by that id only, never by name. The graded file's name in the download (the
grader's ledger) names each feedback page as the LMS expects it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.grader.course import Course, CourseError
from autograder.grader.returning import SHEETS, feedback_zip
from autograder.grader.returning.marks import Filled, Mark
from autograder.grader.returning.output import replacing
from autograder.grader.steps.ledger import Ledger
from autograder.records import CommandError, plain_number

MAX_LMS_FILE = 64 * 2**20  # a class of thousands is a few MiB


@dataclass
class Graded:
    """One graded student of the gradebook, as the LMS gets them."""

    mark: Mark
    name: str


@dataclass
class Returned:
    filled: Filled
    without_id: list[str] = field(default_factory=list)  # graded, but no LMS id is known
    zipped: feedback_zip.Zipped | None = None

    @property
    def complete(self) -> bool:
        """Every graded student's grade is in the file. (A page left out of the feedback zip
        is listed, not a failure: a student who handed nothing in has no upload in the LMS
        to attach it to.)"""
        return not (self.filled.unmatched or self.filled.skipped or self.without_id)


def _comment(notebook, penalty: float) -> str:
    """Points per test, plain text (the LMS shows it as the grade's comment)."""
    parts = [f"{g.name} {plain_number(g.score)}/{plain_number(g.max_score)}"
             for g in sorted(notebook.grades, key=lambda g: g.cell_id)]
    if penalty:
        parts.append(f"late penalty -{plain_number(penalty)}")
    return "; ".join(parts)


def graded_students(course: Course) -> list[Graded]:
    """Everyone with a submission of this assignment in the gradebook."""
    with Gradebook(course.db, course.id) as gb:
        try:
            assignment = gb.find_assignment(course.assignment_id)
        except MissingEntry:
            raise CourseError(f"the gradebook {course.db} has no {course.assignment_id!r} "
                              "assignment yet: grade the class first") from None
        found = []
        for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
            person = submission.student
            penalty = float(submission.late_submission_penalty or 0.0)
            notebook = next(iter(submission.notebooks), None)
            mark = Mark(person.id, person.lms_user_id or "",
                        max(0.0, float(submission.score) - penalty),
                        float(assignment.max_score),
                        _comment(notebook, penalty) if notebook else "")
            name = " ".join(p for p in (person.first_name, person.last_name) if p)
            found.append(Graded(mark, name))
    return found


def _entries(course: Course, students: list[str]) -> dict[str, str | None]:
    """student -> the graded file's name in the download, from the grader's ledger."""
    book = Ledger(course.db, course.assignment_id)
    try:
        return {s: (found[1].get("file") if (found := book.lookup(s)) else None)
                for s in students}
    finally:
        book.close()


def last_graded(course: Course, students: list[str]) -> datetime:
    """When the grader last recorded any of ``students`` (now, if never): a grade the LMS
    changed after it was given by a person, whom ``return`` must not overwrite."""
    book = Ledger(course.db, course.assignment_id)
    try:
        times = [t for s in students if (t := book.graded_at(s)) is not None]
    finally:
        book.close()
    return max(times, default=datetime.now(UTC))


def read_lms_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_LMS_FILE:
            raise CommandError(f"{path} is larger than an LMS export can be")
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


def pages(course: Course, graded: list[Graded]) -> list[feedback_zip.Page]:
    """Each graded student's feedback page (written by ``feedback``), named for the LMS."""
    entries = _entries(course, [g.mark.student for g in graded])
    found = []
    for g in graded:
        page = (course.feedback_dir / g.mark.student / course.assignment_id
                / f"{course.notebook_id}.html")
        if page.is_file() and g.mark.lms_id:
            found.append(feedback_zip.Page(g.mark.student, page, g.mark.lms_id,
                                           entries[g.mark.student], g.name))
    return found


def give_back(course: Course, lms: str, lms_file: Path, out: Path, column: str | None = None,
              feedback: Path | None = None) -> Returned:
    """Fill ``lms_file`` (as downloaded from ``lms``) into ``out``, and with ``feedback`` the
    pages' zip; nothing is written over the LMS's own file."""
    if lms not in SHEETS:
        raise CommandError(f"unknown LMS {lms!r}: choose one of {', '.join(SHEETS)}")
    if out.resolve() == lms_file.resolve():
        raise CommandError(f"{out} is the LMS's file: write the filled copy elsewhere")
    graded = graded_students(course)
    placeable = [g.mark for g in graded if g.mark.lms_id]
    filled = SHEETS[lms](read_lms_file(lms_file), placeable, column=column,
                         assignment=course.assignment_id,
                         graded_at=last_graded(course, [m.student for m in placeable]))
    with replacing(out) as written:
        written.write(filled.data)
    returned = Returned(filled, [g.mark.student for g in graded if not g.mark.lms_id])
    if feedback is not None:
        returned.zipped = feedback_zip.write(lms, pages(course, graded), feedback,
                                             course.notebook_id)
    return returned
