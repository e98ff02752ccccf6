"""The header of every feedback page: whose page it is, which work it judges, and when.

A page is returned to one student among many, and forwarded, printed and compared, so it
says at its top what it is about: the student (their name from the class list, and their
id), the course, the assignment, the file graded, when it was graded, and whether it came in
on time. The facts come from where they are kept: the gradebook (names, the hand-in time,
the student's due date with their extension, nbgrader's late penalty) and the grader's
ledger (the file and when it was recorded, and the LMS's own "late" marker).

Every value is hostile text: names come from a class list, file names from students, and a
course's id from its configuration. Each is escaped where it is written (``html.escape``),
so nothing in the header is markup but this module's own. Times are shown in UTC, to the
minute, as the gradebook keeps them: a student in another zone reads the same instant.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nbgrader.api import Gradebook, MissingEntry

from autograder.grader.course import Course
from autograder.records import SubmissionResult, plain_number

HEADER_ID = "whose"
LABEL = "Whose feedback this is"

# Text and its background, each pair at least 4.5:1 (WCAG AA for text; tests/test_feedback.py
# measures them).
INK, PAPER = "#1b1f24", "#f4f6f8"
MUTED = "#4a5360"   # labels and the student id
LATE = "#a4161a"    # the late line
RULE = "#8a94a0"    # the border: not text, so no ratio applies
COLOURS = {"text": (INK, PAPER), "label": (MUTED, PAPER), "late": (LATE, PAPER)}

# The page's own font, and its ``container`` for the width: Bootstrap's on nbgrader's page,
# the short pages' own on theirs, so the header lines up with what follows it.
STYLE = f"""<style>
#{HEADER_ID} {{ background: {PAPER}; color: {INK}; border-bottom: 3px solid {RULE};
  padding: 14px 0 10px; margin: 0 0 16px; font-size: 15px; line-height: 1.45; }}
#{HEADER_ID} .container {{ margin-bottom: 0; }}
#{HEADER_ID} h1 {{ font-size: 22px; font-weight: 600; margin: 0 0 8px; color: {INK}; }}
#{HEADER_ID} h1 .whose-id {{ font-size: 15px; font-weight: 400; color: {MUTED}; }}
#{HEADER_ID} dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
  margin: 0; }}
#{HEADER_ID} dl > div {{ display: contents; }}
#{HEADER_ID} dt {{ color: {MUTED}; font-weight: 400; }}
#{HEADER_ID} dd {{ margin: 0; overflow-wrap: anywhere; }}
#{HEADER_ID} code {{ color: {INK}; background: transparent; padding: 0; font-size: 14px; }}
#{HEADER_ID} .whose-late {{ color: {LATE}; font-weight: 600; }}
</style>
"""


def utc(when: datetime) -> str:
    """``2026-12-05 21:14 UTC``: a naive time is the gradebook's, which keeps UTC."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def span(delta: timedelta) -> str:
    """``2 days``, ``1 day 12 hours``, ``90 minutes`` -> ``1 hour 30 minutes``."""
    minutes = round(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts) or "0 minutes"


def _points(penalty: float) -> str:
    return f"−{plain_number(penalty)} point{'' if penalty == 1 else 's'}"


@dataclass(frozen=True)
class Lateness:
    """When the work came and when it was due. ``due`` is the student's own (their
    extension included, as nbgrader's ``SubmittedAssignment.duedate``); ``marked_late``:
    the LMS marked the work late and gave no time (with a time, the time decides);
    ``penalty`` is the points taken off."""

    handed_in: datetime | None = None
    due: datetime | None = None
    extension: timedelta | None = None
    marked_late: bool = False
    penalty: float = 0.0

    @property
    def late_by_time(self) -> bool:
        return (self.handed_in is not None and self.due is not None
                and self.handed_in > self.due)

    @property
    def is_late(self) -> bool:
        return self.late_by_time or self.marked_late

    def line(self, handed: bool = True) -> str | None:
        """One line for the student; None when there is nothing to say (no due date and not
        marked late). ``handed``: False when nothing was handed in, which is neither on time
        nor late: only the due date is said."""
        due = utc(self.due) if self.due is not None else None
        extension = (f"extension of {span(self.extension)} included"
                     if self.extension and due else None)
        penalty = f"; penalty {_points(self.penalty)}" if self.penalty > 0 else ""
        if not handed:
            return None if due is None else f"due {due}" + (f" ({extension})" if extension
                                                            else "")
        if self.late_by_time:
            return (f"late: handed in {utc(self.handed_in)}, due {due}"
                    + (f" ({extension})" if extension else "") + penalty)
        if self.marked_late:
            return ("marked late by the LMS (no hand-in time" + (f"; due {due}" if due else "")
                    + (f", {extension}" if extension else "") + ")" + penalty)
        if due is None:
            return None
        if self.handed_in is None:  # a time is never made up, so on time cannot be said
            return f"due {due}" + (f" ({extension})" if extension else "") + \
                "; no hand-in time was recorded"
        return f"on time (due {due}" + (f", {extension}" if extension else "") + ")"


@dataclass(frozen=True)
class Header:
    """What the top of a page says. ``file``: the file graded, as handed in (None: not
    recorded, or nothing handed in, as ``handed`` says)."""

    student: str
    name: str
    course: str
    assignment: str
    file: str | None = None
    graded_at: datetime | None = None
    lateness: Lateness = Lateness()
    handed: bool = True

    @property
    def who(self) -> str:
        return f"{self.name} ({self.student})" if self.name else self.student

    def title(self) -> str:
        """The page's ``<title>``, as text (escape it where it is written)."""
        return f"Feedback for {self.who}: {self.assignment}"

    def rows(self) -> list[tuple[str, str | None]]:
        """(label, value) of each line under the name; None: nothing recorded."""
        file = self.file if self.handed else "none received"
        return [("Course", self.course), ("Assignment", self.assignment), ("File", file),
                ("Graded", utc(self.graded_at) if self.graded_at else None),
                ("Hand-in", self.lateness.line(self.handed))]


def render(header: Header) -> str:
    """The header as HTML: a ``<header>`` landmark (named, for screen readers), every value
    escaped. Its stylesheet is :data:`STYLE`, for the page's ``<head>``."""
    esc = html.escape
    name = (f"{esc(header.name)} <span class=\"whose-id\">(student id: "
            f"{esc(header.student)})</span>" if header.name else esc(header.student))
    rows = []
    for label, value in header.rows():
        if value is None:
            continue
        shown = esc(value)
        if label == "File" and header.handed:
            shown = f"<code>{shown}</code>"
        if label == "Hand-in" and header.lateness.is_late and header.handed:
            shown = f'<span class="whose-late">{shown}</span>'
        rows.append(f"<div><dt>{esc(label)}</dt><dd>{shown}</dd></div>")
    return (f'<header id="{HEADER_ID}" aria-label="{LABEL}"><div class="container">'
            f"<h1>Feedback for {name}</h1><dl>{''.join(rows)}</dl></div></header>\n")


# --- the facts --------------------------------------------------------------------------

def _lateness(gb: Gradebook, course: Course, student: str,
              result: SubmissionResult | None) -> Lateness:
    # The result's ``late`` is also set by time; only without a time is it the LMS's word.
    marked = bool(result and result.late)
    ours = float(result.late_penalty) if result else 0.0
    try:
        sub = gb.find_submission(course.assignment_id, student)
    except MissingEntry:
        return Lateness(marked_late=marked, penalty=ours)
    # nbgrader's duedate adds the extension to the assignment's, which may be unset
    due = sub.assignment.duedate
    if due is not None and sub.extension is not None:
        due = due + sub.extension
    penalty = float(sub.late_submission_penalty or 0.0) or ours  # nbgrader's, when it set one
    return Lateness(sub.timestamp, due, sub.extension, marked and sub.timestamp is None,
                    penalty)


def read(course: Course, student: str, result: SubmissionResult | None = None,
         graded_at: datetime | None = None, handed: bool = True) -> Header:
    """The header of ``student``'s page, from the gradebook and the ledger's ``result``
    (which may be None: nothing recorded) and its ``graded_at``."""
    course_id = course.id
    with Gradebook(course.db, course_id) as gb:
        try:
            person = gb.find_student(student)
            name = " ".join(n.strip() for n in (person.first_name, person.last_name)
                            if n and n.strip())
        except MissingEntry:
            name = ""
        lateness = _lateness(gb, course, student, result)
    return Header(student, name, course_id, course.assignment_id,
                  result.file if result else None, graded_at, lateness, handed)
