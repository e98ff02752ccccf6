"""Step, sanitize: read a submission and restore everything students may not change.

This is nbgrader's own sanitizing chain (the first half of ``nbgrader autograde``): clear
outputs, restore locked cells (the test cells, hidden tests included) from the gradebook, put
deleted grade cells back, and check the cell metadata.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)

from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.records import SubmissionError

SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)


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
