"""Step 2, sanitize: read a submission and restore everything students may not change.

This is nbgrader's own sanitizing chain (the first half of ``nbgrader autograde``): clear
outputs, restore locked cells (the test cells, hidden tests included) from the gradebook, put
deleted grade cells back, and check the cell metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)

from autograder.course import Course

SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)


class SubmissionError(Exception):
    """This one submission cannot be graded; the message tells the student why."""


def read_notebook(path: Path) -> NotebookNode:
    """Parse and validate a submitted file, with a message a student can act on."""
    raw = path.read_bytes()
    if not raw.strip():
        raise SubmissionError(f"{path.name} is empty: submit the notebook saved from Jupyter")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(
            f"{path.name} is not valid notebook JSON ({exc}); it may be truncated or edited "
            "outside Jupyter: re-download your notebook from Jupyter and submit that file"
        ) from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several kinds for a damaged notebook
        raise SubmissionError(f"{path.name} is not a valid Jupyter notebook: {exc}") from None
    return nb


def grading_resources(course: Course, student: str) -> ResourcesDict:
    resources = ResourcesDict()
    resources["unique_key"] = course.notebook_id
    resources["nbgrader"] = {
        "student": student,
        "assignment": course.assignment_id,
        "notebook": course.notebook_id,
        "db_url": course.db,
    }
    return resources


def sanitize(nb: NotebookNode, course: Course, student: str) -> NotebookNode:
    config = course.nbgrader_config()
    resources = grading_resources(course, student)
    for step in SANITIZERS:
        try:
            nb, resources = step(config=config).preprocess(nb, resources)
        except Exception as exc:
            raise SubmissionError(
                f"nbgrader could not prepare the notebook ({step.__name__}: {exc}); "
                "start again from a fresh copy of the released notebook"
            ) from None
    return nb
