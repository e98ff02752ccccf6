"""The class list: a CSV file with a header row, one student per row.

``student`` (required) is the id the grader uses: the folder name, the gradebook key. The
other columns are optional and each serves one job: ``lms_id`` maps an LMS download's files
to the student (``collect --from``) and is kept as nbgrader's ``lms_user_id``, ``repo`` is
the student's repository, a URL or a local path (``collect --git``), and ``first_name``,
``last_name``, ``email`` are for people. A student's own deadline is ``deadline`` (ISO 8601
with its zone) or ``extension`` (``2d``, ``36h``: added to the assignment's due date), not
both: ``collect --git`` takes each student's work at their deadline, and ``grade`` gives it to
nbgrader as that student's extension. Other columns are listed and ignored.

Canvas's own gradebook export serves as a roster as it is downloaded: recognised by its
``Student`` and ``ID`` columns, ``ID`` (the Canvas user id, what its submission downloads
carry) is the LMS id, ``Student`` ("Last, First") the name, and the student id the first of
``SIS Login ID``, ``SIS User ID`` and ``ID`` that is filled. Rows without an ``ID`` (its
``Points Possible`` row) are not students.

Moodle's offline grading worksheet serves too (recognised by ``Identifier`` and ``Full
name``): the participant number of ``Identifier`` ("Participant 123", what its submission
downloads carry) is the LMS id, ``Email address`` the student id, ``Full name`` the name.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.grader import late
from autograder.grader.steps.submissions import STUDENT_ID
from autograder.records import CommandError

COLUMNS = ("student", "lms_id", "repo", "first_name", "last_name", "email", "deadline",
           "extension")
# Canvas's gradebook export: the columns read (every other one is an assignment or a total).
CANVAS_NAME, CANVAS_ID = "Student", "ID"
CANVAS_STUDENT_IDS = ("SIS Login ID", "SIS User ID", CANVAS_ID)
MOODLE_ID, MOODLE_NAME, MOODLE_EMAIL = "Identifier", "Full name", "Email address"
MOODLE_PARTICIPANT = re.compile(r"^\D*(\d+)$")  # "Participant 123", in the site's language


@dataclass(frozen=True)
class Student:
    student: str
    lms_id: str = ""
    repo: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    deadline: str = ""   # ISO 8601 with its zone, as written
    extension: str = ""  # e.g. 2d, 36h


@dataclass(frozen=True)
class Roster:
    """The students, in the file's order; ``ignored``: the file's columns no command uses;
    ``shape``: ``"course"`` (the columns above), ``"canvas"`` (its gradebook export) or
    ``"moodle"`` (its grading worksheet)."""

    students: list[Student]
    ignored: tuple[str, ...] = ()
    shape: str = "course"

    def note(self, path: Path) -> str | None:
        """What to tell the instructor about the file's shape and unused columns."""
        shapes = {"canvas": "Canvas's gradebook export", "moodle": "Moodle's grading worksheet"}
        parts = [f"read as {shapes[self.shape]}"] if self.shape in shapes else []
        if self.ignored:
            shown = ", ".join(self.ignored[:8]) + (", ..." if len(self.ignored) > 8 else "")
            parts.append(f"{len(self.ignored)} column(s) not used: {shown}")
        return f"roster {path.name}: " + "; ".join(parts) if parts else None


def as_student(source: object) -> Student:
    """A roster row from anything with its fields (collect's record of a student)."""
    return Student(**{name: getattr(source, name, None) or ""
                      for name in Student.__dataclass_fields__})


def read(path: Path, needs: str | None = None) -> Roster:
    """Every row of the roster; CommandError naming the file and row for anything wrong.

    ``needs``: a column every row must fill (``repo`` for ``collect --git``).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets save a BOM
    except OSError as exc:
        raise CommandError(f"cannot read the roster {path}: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    rows = [(line, {k.strip(): (v or "").strip() for k, v in row.items() if k})
            for line, row in enumerate(reader, start=2)]
    if "student" not in header and {CANVAS_NAME, CANVAS_ID} <= set(header):
        used = {CANVAS_NAME, *CANVAS_STUDENT_IDS}
        rows = [(line, _from_canvas(row)) for line, row in rows if row.get(CANVAS_ID)]
        shape = "canvas"
    elif "student" not in header and {MOODLE_ID, MOODLE_NAME} <= set(header):
        used = {MOODLE_ID, MOODLE_NAME, MOODLE_EMAIL}
        rows = [(line, _from_moodle(row)) for line, row in rows]
        shape = "moodle"
    elif "student" in header:
        used, shape = set(COLUMNS), "course"
    else:
        raise CommandError(f"{path}: the first row must name the columns, one of them "
                           f"`student` (allowed: {', '.join(COLUMNS)}), or be Canvas's "
                           f"gradebook export (`{CANVAS_NAME}`, `{CANVAS_ID}`, ...)")
    students = _students(path, rows, needs)
    return Roster(students, tuple(h for h in header if h and h not in used), shape)


def _from_canvas(row: dict[str, str]) -> dict[str, str]:
    last, _, first = row.get(CANVAS_NAME, "").partition(", ")
    student = next((row[c] for c in CANVAS_STUDENT_IDS if row.get(c)), "")
    return {"student": student, "lms_id": row[CANVAS_ID], "first_name": first.strip(),
            "last_name": last.strip()}


def _from_moodle(row: dict[str, str]) -> dict[str, str]:
    first, _, last = row.get(MOODLE_NAME, "").partition(" ")
    number = MOODLE_PARTICIPANT.match(row.get(MOODLE_ID, ""))
    return {"student": row.get(MOODLE_EMAIL, ""), "lms_id": number[1] if number else "",
            "first_name": first, "last_name": last.strip()}


def _own_deadline(path: Path, line: int, entry: Student) -> None:
    """A student's deadline or extension, checked as the grader will read it."""
    if entry.deadline and entry.extension:
        raise CommandError(f"{path}, row {line}: give {entry.student!r} a `deadline` or an "
                           "`extension`, not both")
    try:
        if entry.deadline:
            late.parse_deadline(entry.deadline)
        if entry.extension:
            late.parse_extension(entry.extension)
    except ValueError as exc:
        raise CommandError(f"{path}, row {line}: {exc}") from None


def _students(path: Path, rows: list[tuple[int, dict[str, str]]],
              needs: str | None) -> list[Student]:
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, values in rows:
        entry = Student(**{k: v for k, v in values.items() if k in COLUMNS})
        if not STUDENT_ID.match(entry.student):
            raise CommandError(f"{path}, row {line}: student id {entry.student!r} is not "
                               "usable (letters, digits and ._@+- only)")
        if entry.student in seen:
            raise CommandError(f"{path}, row {line}: student {entry.student!r} is already "
                               f"on row {seen[entry.student]}")
        if needs and not getattr(entry, needs):
            raise CommandError(f"{path}, row {line}: student {entry.student!r} has no "
                               f"`{needs}`")
        _own_deadline(path, line, entry)
        seen[entry.student] = line
        students.append(entry)
    if not students:
        raise CommandError(f"{path}: the roster lists no students")
    return students
