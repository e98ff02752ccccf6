"""Step 6, record: the only code that writes grades. It runs in the grader's process.

Workers hand back executed notebooks; grades reach the gradebook through nbgrader's own
SaveAutoGrades, so nbgrader's formgrader, feedback and export see them as usual.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from autograder.course import Course
from autograder.sanitize import grading_resources


def register(course: Course, student: str) -> None:
    """Create (or keep) the student and their submission rows, as nbgrader autograde does."""
    with Gradebook(course.db, course.id) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(course.assignment_id, student)


ARTIFACTS = ("model.keras", "history.json")


def save(course: Course, student: str, nb: NotebookNode, export_dir: Path | None = None) -> Path:
    """Store the scores of a graded notebook and keep it, and the trained model, for feedback."""
    SaveAutoGrades(config=course.nbgrader_config()).preprocess(
        nb, grading_resources(course, student))
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
    """A submission that could not be run earns zero everywhere, not 'needs manual grading'."""
    register(course, student)
    with Gradebook(course.db, course.id) as gb:
        submission = gb.find_submission_notebook(course.notebook_id, course.assignment_id,
                                                 student)
        for grade in submission.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()
    stale = course.autograded_notebook(student)
    if stale.exists():
        stale.unlink()
