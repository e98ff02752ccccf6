"""Moodle: an assignment's offline grading worksheet, its Grade and Feedback comments filled in.

The worksheet is what "Download grading worksheet" gives (moodle/moodle,
``mod/assign/feedback/offline/locallib.php``, ``download_grades``, written by
``mod/assign/gradingtable.php``); "Upload grading worksheet" reads it back
(``process_import_grades`` there, with ``importgradeslib.php``'s
``assignfeedback_offline_grade_importer``):

- the header names the columns it reads, in the site's language (English here): the
  participant in ``Identifier`` (``get_string('recordid', 'assign')``), the grade in
  ``Grade``, when it was last graded in ``Last modified (grade)`` (the import fails without
  any of the three, ``init``), and each feedback plugin's text by its name: ``Feedback
  comments`` for the comments plugin (``get_editor_fields``);
- a row is found by the number after ``Participant `` (``next``: it strips the length of
  ``get_string('hiddenuser', 'assign')``), the assignment's own id for the student, never
  the name;
- a grade is read by ``unformat_float`` (a decimal comma is read as a point); an empty or
  negative grade, one above the assignment's maximum, one Moodle says cannot be changed
  (``grading_disabled``, the worksheet's ``Grade can be changed: No``) and, unless the
  instructor ticks "ignore modified", one changed in Moodle more than 60 seconds after the
  worksheet's ``Last modified (grade)`` are skipped;
- ``Last modified (grade)`` is ``userdate($row->timemarked)`` (``col_timemarked``), the
  language's ``strftimedaydatetime``, ``%A, %d %B %Y, %I:%M %p`` in English, without the
  leading zeros of the day and the hour: ``Tuesday, 2 December 2025, 9:15 AM``, in the
  downloading user's time zone, which the file does not say; ``-`` when never graded;
- imported feedback comments are stored as HTML (``assign_feedback_comments::
  set_editor_text`` gives a new one ``FORMAT_HTML``).

Our rules on top: a row that says its grade cannot be changed, and a row graded in Moodle
after we graded (``graded_at``, any aware time) are left alone and reported, so that no
grade given in Moodle since is overwritten by ours. The worksheet's times are the Moodle
user's wall-clock times and do not say their zone; we read them in this machine's (as
``collect`` does by default), the instructor's own when the instructor runs this; ``TZ=...``
sets another. They lose their seconds, so a Moodle grade in the same minute as ours counts
as after it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from autograder.grader.moodle_time import read_userdate
from autograder.grader.returning.cells import Cell, Sheet, decode, number, text, tokenize
from autograder.grader.returning.marks import (
    Column,
    Filled,
    Mark,
    by_lms_id,
    check_out_of,
    place,
)
from autograder.records import CommandError

LMS = "Moodle"
PARTICIPANT = "Participant "
GRADE, MAXIMUM, CAN_CHANGE = "Grade", "Maximum grade", "Grade can be changed"
IDENTIFIER, MODIFIED, COMMENTS = "Identifier", "Last modified (grade)", "Feedback comments"
REQUIRED = (IDENTIFIER, GRADE, MAXIMUM, CAN_CHANGE, MODIFIED)
MINUTE = timedelta(seconds=60)


def fill(data: bytes, marks: Sequence[Mark], *, column: str | None = None,
         assignment: str | None = None, graded_at: datetime | None = None) -> Filled:
    """The worksheet with each mark's grade, and its comment when it has one, written in its
    participant's row. A worksheet is one assignment's: ``column``, if given, must be
    ``Grade``, and ``assignment`` is not needed. ``graded_at``, an aware time, is required."""
    if graded_at is None or graded_at.utcoffset() is None:
        raise ValueError("moodle.fill needs graded_at, an aware datetime")
    if column is not None and column.strip() != GRADE:
        raise CommandError(f"a Moodle grading worksheet is one assignment's and grades go "
                           f"in its {GRADE!r} column: leave out --column {column!r}")
    by_lms_id(marks, LMS)  # refuses shared ids and impossible scores before anything
    sheet = Sheet.read(data, _delimiter(decode(data)[2]))
    at = _columns(sheet, any(m.comment for m in marks))
    target = Column(at[GRADE], GRADE, GRADE, "")

    participants: dict[str, list[int]] = {}
    for r, row in enumerate(sheet.rows[1:], start=1):
        if len(row) == 1 and not row[0].quoted and not row[0].value:
            continue  # an empty line, which fgetcsv skips
        if len(row) != len(sheet.rows[0]):
            # load_csv_content refuses the whole file then ('csvweirdcolumns')
            raise CommandError(f"row {r + 1} of the Moodle worksheet has {len(row)} cells and "
                               f"its header {len(sheet.rows[0])}: Moodle would not import it; "
                               "download the worksheet again")
        ident = row[at[IDENTIFIER]].value.strip()
        if ident.startswith(PARTICIPANT) and ident[len(PARTICIPANT):].strip():
            participants.setdefault(ident[len(PARTICIPANT):].strip(), []).append(r)

    def refusal(mark: Mark, rows: list[int]) -> str | None:
        for r in rows:  # another assignment's worksheet is an error, even in a row left alone
            check_out_of(_maximum(sheet.rows[r], at)[0], [mark], target, LMS)
        return next(filter(None, (_refusal(sheet.rows[r], at, mark, graded_at) for r in rows)),
                    None)

    def cells(mark: Mark, r: int) -> dict[tuple[int, int], str]:
        new = {(r, at[GRADE]): number(mark.score, _maximum(sheet.rows[r], at)[1])}
        if mark.comment:
            new[r, at[COMMENTS]] = text(as_html(mark.comment))
        return new

    done = place(marks, participants, LMS, refusal, cells)
    return Filled(sheet.write(done.values), GRADE, done.placed, done.missing, done.skipped)


def as_html(comment: str) -> str:
    """Plain text as the HTML Moodle keeps a comment in: ``<``, ``>`` and ``&`` shown as
    themselves, each line break a ``<br>``. The CSV could hold the line breaks quoted (the
    importer's ``fgetcsv`` reads them), but HTML would run the lines together."""
    return re.sub(r"\r\n|\r|\n", "<br>", html.escape(comment, quote=False))


def _delimiter(text_: str) -> str:
    """The upload form lets the instructor pick the separator (``uploadgradesform.php``); the
    download writes commas. Ours: the one that splits the header into Moodle's columns."""
    for sep in (",", ";", "\t"):
        try:
            header = [c.value.strip() for c in (tokenize(text_, sep)[:1] or [[]])[0]]
        except CommandError:
            continue
        if IDENTIFIER in header and GRADE in header:
            return sep
    return ","


def _columns(sheet: Sheet, comments: bool) -> dict[str, int]:
    """Where each column we read or write is; a missing one is an error naming it."""
    header = [c.value.strip() for c in sheet.rows[0]] if sheet.rows else []
    needed = REQUIRED + ((COMMENTS,) if comments else ())
    missing = [name for name in needed if name not in header]
    if "Scale" in header and MAXIMUM in missing:
        raise CommandError("this Moodle assignment is graded on a scale, and we return points:"
                           " set its grade type to Point and download the worksheet again")
    if missing:
        hint = (" (the assignment has no feedback comments: enable them in its settings and "
                "download the worksheet again, or return the grades without comments)"
                if missing == [COMMENTS] else
                " (is it the assignment's grading worksheet, downloaded from Moodle in "
                "English?)")
        raise CommandError(f"not a Moodle grading worksheet as expected: no "
                           f"{', '.join(map(repr, missing))} column{hint}")
    return {name: header.index(name) for name in (*REQUIRED, COMMENTS) if name in header}


def _refusal(row: list[Cell], at: dict[str, int], mark: Mark,
             graded_at: datetime) -> str | None:
    """Why a participant's row is left alone, if it is."""
    if row[at[CAN_CHANGE]].value.strip().casefold() == "no":
        return "Moodle says its grade cannot be changed (Grade can be changed: No); left as it is"
    modified = row[at[MODIFIED]].value.strip()
    if modified not in ("", "-"):
        when = read_userdate(modified)
        if when is None:
            return (f"cannot read when Moodle last graded it ({modified!r}), which may be after "
                    "our grading; left as it is")
        if when + MINUTE > graded_at:
            return (f"graded in Moodle at {modified}, not before our grading at "
                    f"{graded_at.astimezone():%Y-%m-%d %H:%M:%S %z}; left as it is")
    maximum, _ = _maximum(row, at)
    if mark.score > maximum + 1e-9:
        return (f"its score {number(mark.score)} is above the assignment's maximum "
                f"{maximum:g}, which Moodle would not import; left as it is")
    return None


def _maximum(row: list[Cell], at: dict[str, int]) -> tuple[float, int]:
    """The row's ``Maximum grade`` (``col_grademax``: ``format_float`` with the grade item's
    decimals) and how many decimals it is written with, which our grade follows (``100.00``:
    ``85.50``)."""
    value = row[at[MAXIMUM]].value
    match = re.fullmatch(r"(\d+)(?:[.,](\d+))?", value.strip())
    if not match:
        raise CommandError(f"cannot read the worksheet's Maximum grade {value!r}")
    whole, fraction = match.groups()
    return float(f"{whole}.{fraction or 0}"), len(fraction or "")
