"""Blackboard Learn: the Grade Center's "Work Offline > Download", one column filled in.

Blackboard's help, "Work offline with Grade Center data"
(https://help.blackboard.com/Learn/Instructor/Original/Grade/Grading_Tasks/Work_Offline_With_Grade_Data,
and the older "Uploading or Downloading Grade Center Items for Working Offline",
http://library.blackboard.com/ref/3ea64795-6ecc-4abd-b595-0a9a8dfdec94/Content/_instructor_grade_center/grade_center_upload_download.htm):

- the download is tab-delimited with the extension ``.xls`` (UTF-16 with its byte order
  mark, every cell quoted) or comma-delimited ``.csv``, whose cells must be quoted; the
  upload reads either ("Delimiter Type": Comma, Tab or Auto);
- "the unique identifier used for each Student is the Student's User Name", the
  ``Username`` column; the user columns come first (``Last Name``, ``First Name``,
  ``Username``, ``Student ID``, ``Last Access``, ``Availability``);
- "the unique identifier for each column is a Column ID number": a Grade Center column's
  header ends in ``|<id>``, as in ``Digits [Total Pts: 100 Score] |123456``; a column
  without one would be created as a new text column, so we only ever fill one with an id.
  A calculated column (``Total Pts: up to N``) is Blackboard's to compute.

We fill the column in the rows of the students we have a mark for, matched by ``Username``
only. The column must be out of the assignment's points (``Total Pts``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from autograder.grader.returning.cells import Sheet, decode, number, tokenize
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

LMS = "Blackboard"
USERNAME = "Username"
GRADE_COLUMN = re.compile(r"\A(?P<label>.*?)\s*\|\s*(?P<id>\d+)\s*\Z", re.S)
TOTAL = re.compile(r"\A(?P<name>.*?)\s*\[Total Pts:\s*(?P<up_to>up to\s+)?"
                   r"(?P<points>\d+(?:\.\d+)?)\b[^\]]*\]\s*\Z", re.S)


def fill(data: bytes, marks: Sequence[Mark], *, column: str | None = None,
         assignment: str | None = None, graded_at: datetime | None = None) -> Filled:
    """The download with the marks written into one Grade Center column (``column``: its
    header, name or id; or the one named like ``assignment``); ``graded_at`` is not
    needed."""
    by_lms_id(marks, LMS)  # refuses shared ids and impossible scores before anything
    sheet = Sheet.read(data, _delimiter(decode(data)[2]))
    header = [c.value.strip() for c in sheet.rows[0]] if sheet.rows else []
    if USERNAME not in header:
        raise CommandError(f"not a Blackboard Grade Center download: no {USERNAME!r} column "
                           "(download it with the user information)")
    user_at = header.index(USERNAME)
    target = choose(_columns(header), column, assignment, LMS)
    total = TOTAL.match(GRADE_COLUMN.match(target.header).group("label"))
    if total and total.group("up_to"):
        raise CommandError(f"{target.header!r} is a calculated column, which Blackboard "
                           "computes: pick the assignment's own column with --column")
    check_out_of(float(total.group("points")) if total else None, marks, target, LMS)

    users: dict[str, list[int]] = {}
    for r, row in enumerate(sheet.rows[1:], start=1):
        if len(row) > user_at and row[user_at].value.strip():
            users.setdefault(row[user_at].value.strip(), []).append(r)

    def refusal(mark: Mark, rows: list[int]) -> str | None:
        if any(len(sheet.rows[r]) <= target.index for r in rows):
            return f"its row has no cell for {target.header!r}; left as it is"
        return None

    done = place(marks, users, LMS, refusal,
                 lambda mark, r: {(r, target.index): number(mark.score)})
    return Filled(sheet.write(done.values), target.header, done.placed, done.missing,
                  done.skipped)


def _delimiter(text: str) -> str:
    """Tab (the ``.xls``) or comma (the ``.csv``): the one whose header has ``Username``."""
    for sep in ("\t", ","):
        try:
            first = tokenize(text, sep)[:1]
        except CommandError:
            continue
        if first and USERNAME in (c.value.strip() for c in first[0]):
            return sep
    return "\t"


def _columns(header: list[str]) -> list[Column]:
    """The Grade Center columns: those whose header ends in ``|<column id>``; their name is
    what comes before ``[Total Pts: ...]``."""
    columns = []
    for i, head in enumerate(header):
        match = GRADE_COLUMN.match(head)
        if match:
            total = TOTAL.match(match.group("label"))
            name = total.group("name") if total else match.group("label")
            columns.append(Column(i, head, name, match.group("id")))
    return columns
