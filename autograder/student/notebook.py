"""Reading a submitted notebook, and nbgrader's cell metadata without nbgrader."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.records import SubmissionError

# A notebook of this course is a few MB with its outputs; past this, it is not read at all.
MAX_NOTEBOOK_BYTES = 64 * 2**20


def too_large(path: Path) -> str | None:
    """Why the file at ``path`` is too large to read as a notebook, or None."""
    size = Path(path).stat().st_size
    if size <= MAX_NOTEBOOK_BYTES:
        return None
    return (f"{Path(path).name} is {size / 2**20:.0f} MiB, more than the "
            f"{MAX_NOTEBOOK_BYTES // 2**20} MiB a notebook may be: clear large outputs "
            "(Edit → Clear Outputs of All Cells), save and submit again")


def read_notebook(path: Path) -> NotebookNode:
    """Parse and validate a submitted file, with a message a student can act on."""
    if why := too_large(path):
        raise SubmissionError(why)
    raw = Path(path).read_bytes()
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


# The same rules as nbgrader.utils (is_grade, is_solution, is_locked), on plain metadata.
def nbgrader_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_grade(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_locked(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    if not meta or is_solution(cell):
        return False
    return is_grade(cell) or bool(meta.get("locked"))


def grade_id(cell: NotebookNode) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def autograded_cells(nb: NotebookNode) -> list[NotebookNode]:
    """The autograded test cells: grade cells that are not solution cells."""
    return [c for c in nb.cells if is_grade(c) and not is_solution(c)]
