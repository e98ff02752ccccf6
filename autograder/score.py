"""Step 5, score: turn an executed notebook into per-test points and messages.

Verdicts are written into the notebook's outputs (a test that did not run gets an error
output saying why), so nbgrader's own scoring, the gradebook and the feedback HTML all
agree with the table and JSON printed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import IgnorePattern, LimitOutput
from traitlets.config import Config

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Log lines TensorFlow, absl and Keras may still print to stderr despite the quiet
# environment; they are not the student's fault and must not cost points.
LIBRARY_NOISE = (
    r"(^|\n)(WARNING|I|W|E)[0-9 :.]*(absl|tensorflow|external/|tensorflow/)|"
    r"oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
)


@dataclass
class TestResult:
    points: float
    max_points: float
    feedback: str


def test_cells(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if utils.is_grade(c) and not utils.is_solution(c)]


def first_line(text: str, limit: int = 500) -> str:
    text = ANSI.sub("", text).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def mark_not_run(nb: NotebookNode, reason: str) -> None:
    """A test cell with no execution count never ran; without an error it would score full."""
    for cell in test_cells(nb):
        if cell.get("execution_count") is None and not _has_error(cell):
            cell.outputs = [new_output(
                "error", ename="NotRun", evalue=f"this test did not run: {reason}",
                traceback=[f"NotRun: this test did not run: {reason}"])]


def _has_error(cell: NotebookNode) -> bool:
    return any(o.output_type == "error" for o in cell.get("outputs", []))


def fail_test(nb: NotebookNode, grade_id: str, ename: str, message: str) -> None:
    """Record a failure found outside the kernel as an error output of that test cell."""
    for cell in test_cells(nb):
        if cell.metadata.nbgrader["grade_id"] == grade_id:
            cell.outputs.append(new_output(
                "error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))


def clean_outputs(nb: NotebookNode) -> NotebookNode:
    """nbgrader's post-execution steps: drop library noise from stderr, trim floods."""
    config = Config()
    config.IgnorePattern.enabled = True
    config.IgnorePattern.pattern = LIBRARY_NOISE
    resources = {}
    for step in (IgnorePattern, LimitOutput):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb


TIMED_OUT = ("the cell ran past the grader's time limit per cell and was interrupted: look "
             "for endless loops, long sleeps or very long computations")


def feedback_for(cell: NotebookNode) -> str:
    for out in cell.outputs:
        # nbgrader interrupts a cell at its timeout: the kernel reports KeyboardInterrupt.
        if out.output_type == "error" and out.ename in ("KeyboardInterrupt", "CellTimeoutError"):
            return f"CellTimeoutError: {TIMED_OUT}"
        if out.output_type == "error":
            message = first_line(out.get("evalue", ""))
            return f"{out.ename}: {message}" if message else out.ename
    for out in cell.outputs:
        if out.output_type == "stream" and out.name == "stderr":
            return ("the test wrote to stderr, which nbgrader counts as a failure: "
                    + first_line(out.text))
    return "passed"


def score(nb: NotebookNode) -> dict[str, TestResult]:
    results = {}
    for cell in test_cells(nb):
        points, max_points = utils.determine_grade(cell)
        feedback = feedback_for(cell)
        if points is None:
            points = 0.0
        elif points < max_points and feedback == "passed":
            feedback = f"partial credit: {points:g} of {max_points:g} points"
        results[cell.metadata.nbgrader["grade_id"]] = TestResult(
            float(points), float(max_points), feedback)
    return results
