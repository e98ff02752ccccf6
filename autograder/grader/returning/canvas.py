"""Canvas: the gradebook export (Grades > Export > CSV), one assignment's column filled in.

The file is read as Canvas's importer reads it (instructure/canvas-lms,
``app/models/gradebook_importer.rb``; the export is ``app/models/gradebook_exporter.rb``):

- the delimiter is ``,`` or ``;``, whichever splits the first lines into the same number of
  cells, ``;`` winning when it gives more (``identify_delimiter``; the exporter writes ``;``
  where the decimal point is a comma);
- the first row is the header: ``Student``, ``ID`` (or ``LastName``, ``FirstName``, ``ID``),
  then optionally ``SIS User ID``, ``SIS Login ID`` and more, up to ``Section``
  (``row_has_student_headers?``, ``header?``); after them custom columns, the assignments,
  then totals, whose names contain ``Current Score``, ``Final Points`` and the like (also
  with ``Unposted``), which are not assignments (``strip_non_assignment_columns``);
- an assignment column is named ``<name> (<assignment id>)`` (``Assignment.title_and_id``
  in ``app/models/assignment.rb``);
- a row whose first cell contains ``Points Possible`` gives the points (``process_pp``; a
  column whose cell there says ``read only`` is never imported, ``readonly_assignment?``),
  a row of nothing but ``Muted`` or ``Manual Posting...`` is skipped
  (``check_for_non_student_row``), a line of only delimiters and spaces too (``skip_lines``);
- any other row is a student's, found by the Canvas user id in ``ID`` (``process_student``;
  SIS ids and then names are its fallbacks, which our rows never need);
- a grade is the cell's text, stripped, a decimal comma read as a point
  (``process_submissions``, ``decimal_comma_to_period``); ``N/A`` is what the exporter writes
  where the assignment is not assigned to the student, and the importer ignores such cells
  (``assignment_assigned_to_student``).

We fill the assignment's column in the rows of the students we have a mark for (matched by
``ID`` only) and leave a cell alone where Canvas says the student is excused (``EX``) or
not assigned (``N/A``): those are decisions taken in Canvas that a number would undo.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from autograder.grader.returning.cells import Cell, Sheet, decode, number, tokenize
from autograder.grader.returning.marks import (
    Column,
    Filled,
    Mark,
    by_lms_id,
    check_out_of,
    choose,
    place,
)
from autograder.records import CommandError

LMS = "Canvas"
TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.S)  # Assignment.title_and_id
NON_ASSIGNMENT = re.compile("Current Score|Current Points|Current Grade|Final Score|"
                            "Final Points|Final Grade|Override Score|Override Grade|"
                            "Override Status")
MUTED = re.compile(r"\A\s*(Muted|Manual Posting.*)?\s*\Z", re.I | re.S)
BLANK = re.compile(r"\A[;, ]+\Z")
POINTS = re.compile(r"\A\d+(?:[.,]\d{1,2})?\Z")  # points we can read whatever the locale


def fill(data: bytes, marks: Sequence[Mark], *, column: str | None = None,
         assignment: str | None = None, graded_at: datetime | None = None) -> Filled:
    """The export with the marks written into one assignment's column (``column`` or the
    one named like ``assignment``); ``graded_at`` is not needed."""
    by_lms_id(marks, LMS)  # refuses shared ids and impossible scores before anything
    sheet = Sheet.read(data, _delimiter(decode(data)[2]))
    if not sheet.rows:
        raise CommandError("the Canvas file is empty: export the gradebook again")
    id_at, columns = _header([c.value for c in sheet.rows[0]])
    target = choose(columns, column, assignment, LMS)

    students: dict[str, list[int]] = {}
    for r, row in enumerate(sheet.rows[1:], start=1):
        kind = _kind(sheet, r)
        if kind == "points":
            _check_points(row, target, marks)
        elif kind == "student" and len(row) > id_at and row[id_at].value.strip():
            students.setdefault(row[id_at].value.strip(), []).append(r)

    done = place(marks, students, LMS,
                 lambda mark, rows: next(filter(None, (_refusal(sheet.rows[r], target)
                                                       for r in rows)), None),
                 lambda mark, r: {(r, target.index): number(mark.score)})
    return Filled(sheet.write(done.values), target.header, done.placed, done.missing,
                  done.skipped)


def _delimiter(text: str) -> str:
    """``identify_delimiter``: the separator that splits the first three rows into equally
    many cells; ``;`` only when that is more cells than ``,`` gives. (Canvas reads the first
    three physical lines; we read rows, the same unless a header cell holds a line break.)"""
    counts = {}
    for sep in (",", ";"):
        try:
            widths = {len(row) for row in tokenize(text, sep)[:3]}
        except CommandError:
            widths = set()
        counts[sep] = widths.pop() if len(widths) == 1 else 0
    return ";" if counts[";"] > counts[","] else ","


def _header(header: list[str]) -> tuple[int, list[Column]]:
    """Where the user id is, and the assignment columns (``header?``, ``process_header``)."""
    if len(header) > 4 and "LastName" in header[0] and "FirstName" in header[1] \
            and "ID" in header[2]:
        id_at = 2
    elif len(header) > 3 and "Student" in header[0] and "ID" in header[1]:
        id_at = 1
    else:
        found = ",".join(header[:3])
        raise CommandError(f"not a Canvas gradebook export: its first row should begin "
                           f"with the columns Student,ID (found {found!r})")
    section = next((i for i in range(id_at + 1, len(header)) if "Section" in header[i]), None)
    if section is None:
        raise CommandError("not a Canvas gradebook export: it has no Section column")
    columns = []
    for i in range(section + 1, len(header)):
        match = TITLE_AND_ID.match(header[i])
        if match and not NON_ASSIGNMENT.search(header[i]):
            columns.append(Column(i, header[i], match.group(1), match.group(2)))
    return id_at, columns


def _kind(sheet: Sheet, r: int) -> str:
    """``check_for_non_student_row`` and ``skip_lines``: points, muted, blank or student."""
    row = sheet.rows[r]
    if "Points Possible" in row[0].value:
        return "points"
    if BLANK.match(sheet.raw(r)) or all(MUTED.match(c.value) for c in row):
        return "skipped"
    return "student"


def _check_points(row: list[Cell], target: Column, marks: Sequence[Mark]) -> None:
    if target.index >= len(row):
        return
    cell = row[target.index].value.strip()
    if re.search(r"read\s+only", cell):
        raise CommandError(f"Canvas does not import the column {target.header!r} (its "
                           f"Points Possible says {cell!r}): pick another with --column")
    if POINTS.match(cell):
        check_out_of(float(cell.replace(",", ".")), marks, target, LMS)


def _refusal(row: list[Cell], target: Column) -> str | None:
    """Why a student's cell is left alone, if it is."""
    if target.index >= len(row):
        return f"its row has no cell for {target.header!r}; left as it is"
    cell = row[target.index].value.strip()
    if cell.casefold() == "ex":
        return "excused in Canvas (EX); left as it is"
    if cell == "N/A":
        return "the assignment is not assigned to them in Canvas (N/A); left as it is"
    return None
