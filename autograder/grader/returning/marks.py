"""What is returned and what came of it, and the rules every LMS's sheet shares.

- :class:`Mark`: one student's grade as we give it to an LMS; :class:`Filled`: the new file
  and, student by student, what happened to each grade;
- :func:`by_lms_id`: the marks keyed by the LMS's id of the student, the only key a row is
  matched by (a display name is neither unique nor stable, and a student may choose it);
- :func:`choose`: the one column of the file to fill, from the instructor's ``--column`` or
  from our assignment id; none or several is an error that lists the file's columns, since
  a grade written into the wrong column is worse than none;
- :func:`check_out_of`: the column's points must be the assignment's, as we write points and
  never rescale them;
- :func:`place`: each mark into its student's rows, or why not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autograder.records import CommandError


@dataclass(frozen=True)
class Mark:
    student: str        # our student id (for reports only)
    # the LMS's id of the student: Canvas user id (the export's `ID` column), Moodle
    # participant id (the digits of the worksheet's "Participant 123"), Blackboard username
    lms_id: str
    score: float        # points after any late penalty
    max_score: float
    comment: str = ""   # plain text, for an LMS that takes a comment in the same file (Moodle)


@dataclass
class Filled:
    data: bytes                 # the whole new file
    column: str                 # the header of the column filled, as the file names it
    placed: list[str]           # our student ids whose grade was written
    unmatched: list[str]        # our student ids with no row in the file, "student (<lms> id X)"
    skipped: list[str]          # "student: why" for rows found but deliberately left alone


@dataclass(frozen=True)
class Column:
    """One assignment column of a sheet: where it is, its header, and the parts of the header
    an instructor may name it by."""
    index: int
    header: str
    name: str           # the assignment's name in the LMS
    id: str             # the LMS's id of the column ("" if it has none)


def by_lms_id(marks: Sequence[Mark], lms: str) -> dict[str, Mark]:
    """The marks keyed by LMS id (stripped, as the LMS's cells are compared).

    Two students with one LMS id would get each other's grade, and a score that is negative
    or not a number cannot be written as a grade: both are errors of the class record, so
    nothing is written."""
    keyed: dict[str, Mark] = {}
    for mark in marks:
        if not (math.isfinite(mark.score) and mark.score >= 0):
            raise CommandError(f"{mark.student}: a score of {mark.score} cannot be returned")
        key = mark.lms_id.strip()
        if key and key in keyed:
            raise CommandError(f"{keyed[key].student} and {mark.student} have the same {lms} "
                               f"id {key!r}: correct the class list")
        keyed[key] = mark
    keyed.pop("", None)  # no id matches no row; such a mark is reported unmatched
    return keyed


def unmatched(mark: Mark, lms: str) -> str:
    return f"{mark.student} ({lms} id {mark.lms_id})"


Cells = dict[tuple[int, int], str]  # (row, column) -> the new cell's text


@dataclass
class Placed:
    values: Cells
    placed: list[str]
    missing: list[str]
    skipped: list[str]


def place(marks: Sequence[Mark], rows_by_id: dict[str, list[int]], lms: str,
          refusal: Callable[[Mark, list[int]], str | None],
          cells: Callable[[Mark, int], Cells]) -> Placed:
    """Each mark into every row of its LMS id (``cells``), unless the file has no such row
    (missing) or ``refusal`` says why its rows are left as they are (skipped)."""
    done = Placed({}, [], [], [])
    for mark in marks:
        rows = rows_by_id.get(mark.lms_id.strip())
        if not rows:
            done.missing.append(unmatched(mark, lms))
        elif why := refusal(mark, rows):
            done.skipped.append(f"{mark.student}: {why}")
        else:
            for r in rows:
                done.values.update(cells(mark, r))
            done.placed.append(mark.student)
    return done


def key(name: str) -> str:
    """A name as compared with an assignment id: case, ``_``, ``-`` and runs of spaces do
    not count (``Digit Recognition`` is ``digit_recognition``)."""
    return " ".join(re.sub(r"[_\-\s]+", " ", name).split()).casefold()


def choose(columns: Sequence[Column], column: str | None, assignment: str | None,
           lms: str) -> Column:
    """The column to fill: ``column`` names it by its whole header, its name or its id (an
    id as Blackboard writes it, ``|123``, too); without it, the column whose name is the
    assignment's id (:func:`key`). Anything but exactly one column is an error."""
    if column is not None:
        wanted = column.strip()
        ident = wanted.removeprefix("|").strip()
        fits = [c for c in columns if c.header.strip() == wanted]
        fits = fits or [c for c in columns if c.id and c.id == ident]
        fits = fits or [c for c in columns if c.name.strip() == wanted]
        asked = f"--column {column!r}"
    elif assignment is not None:
        fits = [c for c in columns if key(c.name) == key(assignment)]
        asked = f"the assignment {assignment!r}"
    else:
        fits, asked = [], "no column"
    if len(fits) == 1:
        return fits[0]
    listing = "; ".join(repr(c.header) for c in columns) or "none"
    found = "several columns fit" if fits else "no column fits"
    raise CommandError(f"{found} {asked} in this {lms} file; its assignment columns are: "
                       f"{listing}. Pass --column with one of them (the header, its name or "
                       "its id)")


def check_out_of(points: float | None, marks: Sequence[Mark], column: Column,
                 lms: str) -> None:
    """A column out of other points than the assignment's is another assignment's (or must
    be set up first): writing our points there would misgrade everyone. ``points`` None: the
    file does not say, nothing to check."""
    if points is None:
        return
    for mark in marks:
        if abs(mark.max_score - points) > 1e-6:
            raise CommandError(
                f"the {lms} column {column.header!r} is out of {points:g} and the assignment "
                f"out of {mark.max_score:g}: pick this assignment's column with --column, "
                f"or set its points in {lms} to {mark.max_score:g} and download it again")
