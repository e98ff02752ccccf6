"""The grade table `grade` prints for a class: a short line per student, problems (an error,
test cells changed) apart from notes, everything whole with --details."""

from __future__ import annotations

import io

from rich.console import Console

from autograder.grader.steps import report
from autograder.records import SubmissionResult, TestResult

TESTS = {"test_add": TestResult(0, 3, "AssertionError: add(1, 2) should be 3"),
         "test_add_strings": TestResult(2, 2, "passed")}


def results() -> list[SubmissionResult]:
    return [
        SubmissionResult.of_tests("ann", dict(TESTS), notes=[
            "graded Copy of tiny_add.ipynb (expected tiny_add.ipynb)",
            "older file not graded: tiny_add-1.ipynb"]),
        SubmissionResult.of_tests("ben", dict(TESTS), tampering=[
            "test cell test_add was changed", "the workflow file .github/x.yml was changed"]),
    ]


def shown(fn, width: int = 100) -> str:
    out = io.StringIO()
    fn(results(), Console(file=out, width=width))
    return out.getvalue()


def test_a_line_a_student_with_changed_test_cells_as_a_problem_and_notes_apart():
    """On a 100-column terminal, each student is one line."""
    lines = [line for line in shown(lambda r, c: report.print_table(r, c, "tiny_add"))
             .splitlines() if line.startswith("│")]
    assert len(lines) == 2, lines
    ann, ben = ([c.strip() for c in line.split("│")[1:-1]] for line in lines)
    assert ann[:4] == ["ann", "2/5", "add", ""] and ann[4] == "graded Copy of tiny_add…"
    assert ben[:3] == ["ben", "2/5", "add"] and ben[3].startswith("test cell test_add was")
    assert len(ben[3]) == 32 and ben[3].endswith("…") and ben[4] == ""


def test_details_print_what_the_table_cuts():
    text = shown(report.print_feedback)
    assert "notes: graded Copy of tiny_add.ipynb (expected tiny_add.ipynb); older file not " \
        "graded: tiny_add-1.ipynb" in " ".join(text.split())
    assert "problem: test cell test_add was changed; the workflow file .github/x.yml was " \
        "changed" in " ".join(text.split())
    assert text.count("test_add (0/3): AssertionError: add(1, 2) should be 3") == 2


def test_a_clean_class_has_no_notes_column():
    clean = [SubmissionResult.of_tests("cy", {"test_add": TestResult(3, 3, "passed")})]
    out = io.StringIO()
    report.print_table(clean, Console(file=out, width=100))
    assert "notes" not in out.getvalue() and "problem" in out.getvalue()
