"""An executed notebook's test cells turned into points and a message each.

The rule is nbgrader's own (``nbgrader.utils.determine_grade`` for autograded test cells:
an error or any stderr output scores 0, otherwise full points or a partial grade the cell
returns), written on plain metadata so that the self-check needs no nbgrader;
tests/test_verdicts.py checks that both agree. The grader applies the same functions after
its own clean-up steps, so a student's self-check and the grade say the same thing.
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
            cell.outputs.append(new_output(
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
        if out.output_type == "stream" and out.name == "stderr":
            return ("the test wrote to stderr, which nbgrader counts as a failure: "
                    + first_line(out.text))
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
        if points < max_points and feedback == "passed":
            feedback = f"partial credit: {points:g} of {max_points:g} points"
        results[grade_id(cell)] = TestResult(points, max_points, feedback)
    return results
