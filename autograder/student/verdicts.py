"""An executed notebook's test cells turned into points and a message each.

The rule is nbgrader's (``nbgrader.utils.determine_grade`` for autograded test cells: an
error scores 0, otherwise full points or a partial grade the cell returns), written on plain
metadata so that the self-check needs no nbgrader; tests/test_verdicts.py checks that both
agree. One difference, on purpose: nbgrader also scores 0 for any stderr output, which
costs an honest student a whole test for a warning or a log line. :func:`stderr_as_notes`
turns a test cell's stderr into a visible note first, so it never costs points, in the
self-check and in the gradebook alike.

Cells graded by hand (nbgrader's manually graded answers, grade and solution cells, code or
markdown, and its tasks) are listed too, as nbgrader lists them: their points are a
grader's, so they score 0 and say "graded by hand" until one gives them (in formgrader),
except an answer left as released, which nbgrader scores 0 itself (:func:`unanswered`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output

from autograder.records import TestResult
from autograder.student.notebook import (
    autograded_cells,
    grade_id,
    is_grade,
    is_locked,
    is_solution,
    nbgrader_meta,
)

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STDERR_NOTE = "[note: this test wrote to stderr; that does not cost points]\n"
BY_HAND = "graded by hand"
BY_HAND_FEEDBACK = f"{BY_HAND}: a person scores this cell, not a test"
NOT_ANSWERED = "not answered (the cell is as it was released): 0 points"
TIMED_OUT = ("the cell ran past the grader's time limit per cell and was interrupted: look "
             "for endless loops, long sleeps or very long computations")


def first_line(text: str, limit: int = 500) -> str:
    text = ANSI.sub("", text).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def drop_library_noise(nb: NotebookNode, patterns: Sequence[str]) -> NotebookNode:
    """Remove stderr output that is library logging: what matches one of ``patterns`` (the
    assignment's ``stderr_noise``; nbgrader's IgnorePattern does the same with one)."""
    if not patterns:
        return nb
    noise = re.compile("|".join(f"(?:{p})" for p in patterns))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.output_type == "stream" and o.name == "stderr"
                                    and noise.search(o.text))]
    return nb


def stderr_as_notes(nb: NotebookNode) -> NotebookNode:
    """A test cell's stderr output becomes a stdout note, shown in the feedback, not a 0."""
    for cell in autograded_cells(nb):
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stderr":
                out.name = "stdout"
                out.text = STDERR_NOTE + out.text
    return nb


def tidy(nb: NotebookNode, noise: Sequence[str] = ()) -> NotebookNode:
    """What every executed notebook goes through before it is scored (check and grade);
    ``noise``: the assignment's ``stderr_noise``."""
    return stderr_as_notes(drop_library_noise(nb, noise))


def _has_error(cell: NotebookNode) -> bool:
    return any(o.output_type == "error" for o in cell.get("outputs", []))


def mark_not_run(nb: NotebookNode, reason: str) -> NotebookNode:
    """A test cell with no execution count never ran; without an error it would score full."""
    for cell in autograded_cells(nb):
        if cell.get("execution_count") is None and not _has_error(cell):
            cell.outputs = [new_output(
                "error", ename="NotRun", evalue=f"this test did not run: {reason}",
                traceback=[f"NotRun: this test did not run: {reason}"])]
    return nb


def fail_test(nb: NotebookNode, gid: str, ename: str, message: str) -> None:
    """Record a failure found outside the kernel as an error output of that test cell."""
    for cell in autograded_cells(nb):
        if grade_id(cell) == gid:
            # First: nbgrader stops at the first output that decides a grade.
            cell.outputs.insert(0, new_output(
                "error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))


def feedback_for(cell: NotebookNode) -> str:
    for out in cell.get("outputs", []):
        # A cell interrupted at its timeout: the kernel reports KeyboardInterrupt.
        if out.output_type == "error" and out.ename in ("KeyboardInterrupt", "CellTimeoutError"):
            return f"CellTimeoutError: {TIMED_OUT}"
        if out.output_type == "error":
            message = first_line(out.get("evalue", ""))
            return f"{out.ename}: {message}" if message else out.ename
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stderr":  # not tidied: nbgrader's rule
            return ("the test wrote to stderr, which nbgrader counts as a failure: "
                    + first_line(out.text))
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.text.startswith(STDERR_NOTE):
            return ("passed (note: it wrote to stderr: "
                    + first_line(out.text.removeprefix(STDERR_NOTE), 200) + ")")
    return "passed"


def _points(cell: NotebookNode, max_points: float) -> float:
    for out in cell.get("outputs", []):
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
            return 0.0
    for out in cell.get("outputs", []):
        if out.output_type == "execute_result":
            try:  # a cell may return its own partial grade, as nbgrader allows
                value = float(out.get("data", {}).get("text/plain", ""))
            except ValueError:
                continue
            return min(max(value, 0.0), max_points)
    return max_points


def is_task(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("task"))


def is_manual(cell: NotebookNode) -> bool:
    """Graded by hand: a manually graded answer (grade and solution) or a task."""
    return (is_grade(cell) and is_solution(cell)) or is_task(cell)


def graded_cells(nb: NotebookNode) -> list[NotebookNode]:
    """Every cell with points, in notebook order: autograded tests, answers, tasks."""
    return [c for c in nb.cells if is_grade(c) or is_task(c)]


def max_points(cell: NotebookNode) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def checksum(cell: NotebookNode) -> str:
    """nbgrader's ``compute_checksum``: what a released cell's metadata records of it."""
    digest = hashlib.md5(usedforsecurity=False)
    for part in (cell.source, cell.cell_type, str(is_grade(cell)), str(is_solution(cell)),
                 str(is_locked(cell)), grade_id(cell) or ""):
        digest.update(part.encode("utf-8"))
    if is_grade(cell):
        digest.update(str(max_points(cell)).encode("utf-8"))
    return digest.hexdigest()


def unanswered(cell: NotebookNode) -> bool:
    """nbgrader's rule (``determine_grade``): an answer cell whose checksum is still the
    released one holds no answer; it scores 0 and needs no grader."""
    recorded = nbgrader_meta(cell).get("checksum")
    return is_grade(cell) and is_solution(cell) and recorded == checksum(cell)


def by_hand(cell: NotebookNode) -> TestResult:
    """A cell graded by hand, as grading finds it: 0 points until a grader scores it."""
    if unanswered(cell):
        return TestResult(0.0, max_points(cell), NOT_ANSWERED)
    return TestResult(0.0, max_points(cell), BY_HAND_FEEDBACK, manual=True)


def autograded(cell: NotebookNode) -> TestResult:
    """An autograded test cell's points and message, from its outputs."""
    most = max_points(cell)
    points = _points(cell, most)
    feedback = feedback_for(cell)
    if points < most and feedback.startswith("passed"):
        feedback = f"partial credit: {points:g} of {most:g} points"
    return TestResult(points, most, feedback)


def score(nb: NotebookNode) -> dict[str, TestResult]:
    """grade id -> points, maximum and message of every cell with points, in notebook
    order: each autograded test from its outputs, each cell graded by hand as ``by_hand``."""
    return {grade_id(c): by_hand(c) if is_manual(c) else autograded(c)
            for c in graded_cells(nb)}
