"""Step, sanitize: read a submission and restore everything students may not change.

This is nbgrader's own sanitizing chain (the first half of ``nbgrader autograde``): clear
outputs, restore locked cells (the test cells, hidden tests included) from the gradebook, put
deleted grade cells back, and check the cell metadata.
"""

from __future__ import annotations

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)

from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.grader.hide_hidden import secret_lines
from autograder.grader.steps import Batch, Graded
from autograder.grader.steps.submissions import Submission
from autograder.records import SubmissionError

SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)


def apply(batch: Batch, sub: Submission, graded: Graded) -> None:
    """Prepare: the notebook handed in, sanitized, and its hidden-test lines."""
    sanitized = sanitize(graded.handed, batch.course, sub.student)
    graded.source = nbformat.writes(sanitized)
    graded.hidden = hidden_lines(sanitized, batch.course)


def sanitize(nb: NotebookNode, course: Course, student: str) -> NotebookNode:
    config = course.nbgrader_config()
    resources = gradebook.resources(course, student)
    for step in SANITIZERS:
        try:
            nb, resources = step(config=config).preprocess(nb, resources)
        except Exception as exc:
            raise SubmissionError(
                f"nbgrader could not prepare the notebook ({step.__name__}: {exc}); "
                "start again from a fresh copy of the released notebook"
            ) from None
    return nb


def hidden_lines(nb: NotebookNode, course: Course) -> frozenset[str]:
    """The sanitized notebook's hidden-test lines (by the course's markers): no output a
    student is shown may hold them (``steps/redact.py``)."""
    markers = ClearHiddenTests(config=course.nbgrader_config())
    return secret_lines(nb, markers.begin_test_delimeter, markers.end_test_delimeter)
