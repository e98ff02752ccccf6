"""Hand-in times from the LMS's own exports, for downloads whose file names carry none.

A time is only ever read from the LMS: Canvas's and Moodle's download names have no time, and
a file's modification time there is when the archive was made or unpacked, so without one of
these exports a submission has no time (and no late penalty; ``grade`` warns).

- Moodle (``collect --worksheet FILE``): the assignment's offline grading worksheet
  (Grading action "Download grading worksheet"). ``Identifier`` is ``Participant N``, the N
  its submission download carries; ``Last modified (submission)`` is ``userdate()`` of the
  submission's time (``autograder.grader.moodle_time``), in the downloading user's time
  zone, which the file does not say (``--timezone``); ``-`` when none.
- Canvas (``collect --submissions FILE``): the assignment's submissions as its REST API
  gives them (``GET /api/v1/courses/:course/assignments/:assignment/submissions``, a JSON
  list, or a CSV with the same field names as columns): ``user_id``, ``submitted_at`` (ISO
  8601, UTC) and ``late`` (Canvas's own verdict, with the student's due date and any
  extension applied).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from autograder.grader.moodle_time import read_userdate
from autograder.grader.roster import MOODLE_PARTICIPANT
from autograder.records import CommandError

MOODLE_COLUMNS = ("Identifier", "Last modified (submission)")
MAX_EXPORT_BYTES = 64 * 2**20


@dataclass(frozen=True)
class HandIn:
    """What the LMS says of one student's submission."""

    submitted_at: datetime | None
    late: bool | None   # the LMS's own verdict, when it gives one
    source: str         # where the time came from, for collection.json


def _text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise CommandError(f"{path} is larger than an LMS export can be")
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None


def moodle_time(text: str, zone: tzinfo) -> datetime | None:
    """A worksheet's time in ``zone``; None for ``-`` or empty, ValueError for anything else."""
    if text.strip() in ("", "-"):
        return None
    if (when := read_userdate(text, zone)) is None:
        raise ValueError(f"{text.strip()!r} is not a time as Moodle writes it in English "
                         '("Friday, 4 December 2026, 9:05 AM")')
    return when


def moodle_worksheet(path: Path, zone: tzinfo) -> dict[str, HandIn]:
    """participant number -> hand-in time, from Moodle's grading worksheet."""
    rows = list(csv.DictReader(_text(path).splitlines()))
    if not rows or not set(MOODLE_COLUMNS) <= set(rows[0]):
        raise CommandError(f"{path} is not Moodle's grading worksheet: it needs the columns "
                           + ", ".join(MOODLE_COLUMNS))
    found = {}
    for line, row in enumerate(rows, start=2):
        number = MOODLE_PARTICIPANT.match(row["Identifier"] or "")
        if number is None:
            raise CommandError(f"{path}, row {line}: {row['Identifier']!r} is not "
                               "'Participant N'")
        try:
            when = moodle_time(row["Last modified (submission)"] or "", zone)
        except ValueError as exc:
            raise CommandError(f"{path}, row {line}: {exc}") from None
        found[number[1]] = HandIn(when, None, "moodle grading worksheet")
    return found


def _canvas_rows(path: Path) -> list[dict]:
    text = _text(path)
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from None
    else:
        rows = list(csv.DictReader(text.splitlines()))
    if not all(isinstance(r, dict) and "user_id" in r and "submitted_at" in r for r in rows):
        raise CommandError(f"{path} is not Canvas's submissions list: each entry needs "
                           "user_id and submitted_at")
    return rows


def _late(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    return {"true": True, "false": False}.get(text)


def canvas_submissions(path: Path) -> dict[str, HandIn]:
    """Canvas user id -> hand-in time and Canvas's late verdict."""
    found = {}
    for row in _canvas_rows(path):
        when = None
        if row["submitted_at"]:
            try:
                when = datetime.fromisoformat(str(row["submitted_at"]).replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"{path}: user {row['user_id']}: submitted_at "
                                   f"{row['submitted_at']!r} is not an ISO 8601 time") from None
            if when.tzinfo is None:
                raise CommandError(f"{path}: user {row['user_id']}: submitted_at has no zone")
        found[str(row["user_id"])] = HandIn(when, _late(row.get("late")),
                                            "canvas submissions export")
    return found
