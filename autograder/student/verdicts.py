"""An executed notebook's test cells turned into points and a message each.

The rule is nbgrader's (``nbgrader.utils.determine_grade`` for autograded test cells: an
error scores 0, otherwise full points or a partial grade the cell returns), written on plain
metadata so that the self-check needs no nbgrader; tests/test_verdicts.py checks that both
agree. One difference, on purpose: nbgrader also scores 0 for any stderr output, which
costs an honest student a whole test for a warning or a log line. :func:`stderr_as_notes`
turns a test cell's stderr into a visible note first, so it never costs points, in the
self-check and in the gradebook alike.
"""

from __future__ import annotations

import re

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output

from autograder.records import TestResult
from autograder.student.notebook import autograded_cells, grade_id, nbgrader_meta

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Log lines TensorFlow, absl and Keras may still print to stderr despite the quiet
# environment; they are not the student's fault and must not cost points.
LIBRARY_NOISE = (
    r"(^|\n)(WARNING|I|W|E)[0-9 :.]*(absl|tensorflow|external/|tensorflow/)|"
    r"oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
)
STDERR_NOTE = "[note: this test wrote to stderr; that does not cost points]\n"
TIMED_OUT = ("the cell ran past the grader's time limit per cell and was interrupted: look "
             "for endless loops, long sleeps or very long computations")


def first_line(text: str, limit: int = 500) -> str:
    text = ANSI.sub("", text).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def drop_library_noise(nb: NotebookNode) -> NotebookNode:
    """Remove stderr output that is library logging (nbgrader's IgnorePattern, this pattern)."""
    noise = re.compile(LIBRARY_NOISE)
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


def tidy(nb: NotebookNode) -> NotebookNode:
    """What every executed notebook goes through before it is scored (check and grade)."""
    return stderr_as_notes(drop_library_noise(nb))


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


def score(nb: NotebookNode) -> dict[str, TestResult]:
    """grade id -> points, maximum and message, for every autograded test cell in order."""
    results = {}
    for cell in autograded_cells(nb):
        max_points = float(nbgrader_meta(cell).get("points", 0) or 0)
        points = _points(cell, max_points)
        feedback = feedback_for(cell)
        if points < max_points and feedback.startswith("passed"):
            feedback = f"partial credit: {points:g} of {max_points:g} points"
        results[grade_id(cell)] = TestResult(points, max_points, feedback)
    return results
