"""Step, report: the score table on the terminal and the grade JSON.

Student text (a student id, which is a folder's name; an error quoting a student's exception;
a note naming a student's files; a test's feedback) reaches the instructor's terminal only
through :func:`plain`: rich reads ``[...]`` in it as markup, and passes ESC and C1 controls
through, which a terminal obeys (OSC 8 links, window titles, cursor moves, clearing).

Cells graded by hand (``TestResult.manual``) are no lost points: the table lists them in a
column of their own, shown only when some submission has one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.records import SubmissionResult, TestResult, plain_number


def to_json(assignment: str, results: list[SubmissionResult]) -> dict:
    """The documented grade JSON (keys and types are a contract for outside tools)."""
    return {
        "assignment": assignment,
        "submissions": [r.as_dict() for r in results],
    }


def write_json(path: Path, assignment: str, results: list[SubmissionResult]) -> None:
    write_document(path, to_json(assignment, results))


def write_document(path: Path, doc: dict) -> None:
    """``doc`` as JSON at ``path``, replaced whole: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# C0 controls but tab and newline, DEL, C1 controls: without ESC (and CSI, U+009B) no escape
# sequence starts; what follows it is left as inert, readable text.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """``text`` as rich markup that prints it literally: control characters removed, markup
    escaped. For student text anywhere rich reads markup (table cells, ``console.print``)."""
    return escape(CONTROL.sub("", text))


def lost_on(r: SubmissionResult) -> str:
    """The tests that lost points ("all tests" when every autograded one did, or the
    submission failed); cells graded by hand are not among them."""
    autograded = [g for g, x in r.tests.items() if not x.manual]
    lost = [g.removeprefix("test_") for g, x in r.tests.items() if not x.passed]
    return "all tests" if r.error or (lost and len(lost) == len(autograded)) else ", ".join(lost)


def by_hand(tests: dict[str, TestResult]) -> str:
    """The cells graded by hand, with their points: "explain (5), task (3)"."""
    return ", ".join(f"{g} ({plain_number(x.max_points)})" for g, x in tests.items()
                     if x.manual)


def short(text: str, limit: int) -> str:
    """``text`` made inert and cut to ``limit`` characters: a table line per student
    (``grade --details`` prints it whole)."""
    text = plain(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def problem(r: SubmissionResult) -> str:
    """What the instructor must look at: why the submission could not be graded, and test
    cells it changed (reported, never counted)."""
    changed = [t.splitlines()[0] for t in r.tampering]
    return "; ".join([*([r.error] if r.error else []), *changed])


def table(results: list[SubmissionResult], assignment_id: str | None = None) -> Table:
    """The grade table, a short line per student, titled with the assignment (a course may
    grade several in a row): its problems apart from its notes (which file was taken)."""
    manual = any(x.manual for r in results for x in r.tests.values())
    notes = any(r.notes for r in results)
    t = Table(title=f"Grades: {plain(assignment_id)}" if assignment_id else "Grades")
    t.add_column("student", no_wrap=True)
    t.add_column("score", justify="right", no_wrap=True)
    t.add_column("lost points on")
    if manual:
        t.add_column("graded by hand")
    t.add_column("problem")
    if notes:
        t.add_column("notes")
    for r in results:
        hand = [short(by_hand(r.tests), 30)] if manual else []
        note = [short("; ".join(r.notes), 24)] if notes else []
        t.add_row(plain(r.student), f"{plain_number(r.score)}/{plain_number(r.max_score)}",
                  short(lost_on(r), 30), *hand, short(problem(r), 32), *note)
    return t


def print_table(results: list[SubmissionResult], console: Console | None = None,
                assignment_id: str | None = None) -> None:
    console = console or Console()
    console.print(table(results, assignment_id))


def print_feedback(results: list[SubmissionResult], console: Console | None = None) -> None:
    """Everything the table cuts, student by student (``grade --details``): the problem and
    the notes whole, and what each lost point was for."""
    console = console or Console()
    for r in results:
        lost = [(g, t) for g, t in r.tests.items() if not t.passed]
        if not (lost or problem(r) or r.notes):
            continue
        console.print(f"[bold]{plain(r.student)}[/bold]")
        for label, text in (("problem", problem(r)), ("notes", "; ".join(r.notes))):
            if text:
                console.print(plain(f"  {label}: {text}"), highlight=False)
        for gid, t in lost:
            got = f"{plain_number(t.points)}/{plain_number(t.max_points)}"
            console.print(plain(f"  {gid} ({got}): {t.feedback}"), highlight=False)
