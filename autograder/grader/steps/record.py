"""Step, record: keep a graded submission. Runs in the grader's process only.

The scores go to the gradebook (``autograder.grader.gradebook``, nbgrader's SaveAutoGrades),
so nbgrader's formgrader, feedback and export see them as usual; the graded notebook and the
trained model are kept in the course folder for the feedback pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.grader import gradebook
from autograder.grader.course import Course

ARTIFACTS = ("model.keras", "history.json")


def save(course: Course, student: str, nb: NotebookNode, export_dir: Path | None = None) -> Path:
    """Store the scores of a graded notebook and keep it, and the trained model, for feedback."""
    gradebook.save_grades(course, student, nb)
    path = course.autograded_notebook(student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)  # never leave a half-written notebook behind
    keep = course.artifacts_dir(student)
    shutil.rmtree(keep, ignore_errors=True)
    for name in ARTIFACTS:
        if export_dir and (export_dir / name).is_file():
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(export_dir / name, keep / name)
    return path


def save_failure(course: Course, student: str) -> None:
    """Zero everywhere for a submission that could not run, and no stale graded notebook."""
    gradebook.save_failure(course, student)
    stale = course.autograded_notebook(student)
    if stale.exists():
        stale.unlink()
