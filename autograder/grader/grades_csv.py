"""The grades CSV: nbgrader's columns, rows and values, written so that no text can bend them.

nbgrader's own ``CsvExportPlugin`` joins fields with commas and quotes nothing, so a name from
the class list that holds a comma or a double quote moves every later column of its row (a
student who submitted nothing can read full marks), and a name beginning with ``=`` reaches
the spreadsheet as a live formula. :class:`SafeCsvExportPlugin` writes the same table with
these rules:

- RFC 4180 CSV through Python's ``csv`` module: every text field is quoted, a double quote
  in it doubled, lines end in CRLF; numbers are written bare;
- OWASP's CSV-injection rule (www-community, "CSV Injection"; ASVS 5.0 requirement 1.2.10):
  a text field that begins with ``=``, ``+``, ``-``, ``@``, tab, carriage return, line feed
  (OWASP's list) or NUL (ASVS adds it) gets a single quote ``'`` in front, which spreadsheets
  read as "this cell is text". A reader of the CSV who wants the original value drops it;
- two changes to nbgrader's table, both for per-student deadlines: ``duedate`` is the
  student's own (the assignment's plus their extension), and a last column ``late``;
- numbers are never prefixed, negative ones included: they are the gradebook's floats,
  never student text, and a spreadsheet reads ``-2.0`` as the number -2, not as a formula.

``python -m autograder export`` uses it; ``nbgrader export`` does too when the course's
``nbgrader_config.py`` says ``c.ExportApp.plugin_class =
"autograder.grader.grades_csv.SafeCsvExportPlugin"``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from autograder.grader.course import Course, CourseError
from autograder.grader.late import is_late

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
           "email", "raw_score", "late_submission_penalty", "score", "max_score", "late")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def cell(value: object) -> object:
    """One value as the CSV holds it: a number stays a number (written bare), None is empty
    text (as nbgrader writes it), anything else is text that cannot start a formula."""
    if isinstance(value, (int, float)):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _scores(gradebook: Gradebook, assignment: str, student: str) -> dict:
    """nbgrader's rule: no submission scores zero with no timestamp; the score is the raw
    score less the late penalty, never below zero. Ours: ``duedate`` is the student's own
    (nbgrader's, with their extension), and ``late`` says ``yes`` when the work came after
    it or was penalised as late (an LMS's marker without a time)."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return {"timestamp": None, "raw_score": 0.0, "late_submission_penalty": 0.0,
                "score": 0.0, "late": ""}
    penalty = submission.late_submission_penalty
    late = is_late(submission)
    return {"timestamp": submission.timestamp, "raw_score": submission.score,
            "late_submission_penalty": penalty, "score": max(0.0, submission.score - penalty),
            "duedate": submission.duedate, "late": "yes" if late else ""}


def grade_rows(gradebook: Gradebook, assignments: list[str], students: list[str]
               ) -> Iterator[dict]:
    """nbgrader's rows: every student of the gradebook for every assignment, in its order;
    a non-empty ``assignments`` or ``students`` keeps only those named."""
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            yield {"assignment": assignment.name, "duedate": assignment.duedate,
                   "student_id": student.id, "last_name": student.last_name,
                   "first_name": student.first_name, "email": student.email,
                   "max_score": assignment.max_score,
                   **_scores(gradebook, assignment.name, student.id)}


class SafeCsvExportPlugin(ExportPlugin):
    """nbgrader's CSV export (its columns, rows, values and ``--to``, ``--assignment``,
    ``--student`` options) under the rules of this module."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"  # nbgrader's default
        self.log.info("Exporting grades to %s", dest)
        rows = grade_rows(gradebook, [str(a) for a in self.assignment],
                          [str(s) for s in self.student])
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, COLUMNS, quoting=csv.QUOTE_NONNUMERIC)
            writer.writeheader()
            writer.writerows({key: cell(value) for key, value in row.items()} for row in rows)


def check_gradebook(course: Course) -> None:
    """Opening a missing SQLite gradebook would create an empty one; say what to do instead."""
    if course.sqlite_file and not course.sqlite_file.is_file():
        raise CourseError(f"no gradebook at {course.sqlite_file}: grade the class first "
                          "(python -m autograder grade PATH ...), or pass --db")


def export_grades(course: Course, out: Path, only: list[str] | None = None) -> Path:
    """Write one CSV row per student and assignment of the gradebook (nbgrader's columns),
    every assignment or ``only`` those named; return the file."""
    check_gradebook(course)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # The course's nbgrader_config.py may configure ExportPlugin, as for `nbgrader export`.
    plugin = SafeCsvExportPlugin(config=course.nbgrader_config())
    plugin.to = str(out)
    plugin.assignment = list(only or [])
    with Gradebook(course.db, course.id) as gb:
        for name in only or []:
            try:
                gb.find_assignment(name)
            except MissingEntry:
                raise CourseError(f"the gradebook {course.db} has no {name!r} assignment "
                                  "yet: grade the class first") from None
        if not gb.assignments:
            raise CourseError(f"the gradebook {course.db} has no assignment yet: grade the "
                              "class first")
        plugin.export(gb)
    return out
