"""Step, record: keep a graded submission. Runs in the grader's process only.

The scores go to the gradebook (``autograder.grader.gradebook``, nbgrader's SaveAutoGrades),
so nbgrader's formgrader, feedback and export see them as usual; the graded notebook and the
trained model are kept in the course folder for the feedback pages. The notebook as handed
in is kept where nbgrader keeps submissions (:func:`keep_submission`), so formgrader counts
it and shows its time.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.utils import parse_utc

from autograder.grader import gradebook
from autograder.grader.course import Course
from autograder.grader.steps import Batch, Graded
from autograder.grader.steps.submissions import TIMESTAMP_FILE, Submission
from autograder.student.export_cell import HISTORY, MODEL, Exported


def register(batch: Batch, sub: Submission, graded: Graded) -> None:
    """Prepare: the student and their submission in the gradebook, and the notebook as
    handed in kept where nbgrader keeps it (``keep_submission``)."""
    handed_in = sub.handed_in(batch.course)
    gradebook.register(batch.course, sub.student, handed_in)
    keep_submission(batch.course, sub.student, sub.notebook, handed_in)


def keep(batch: Batch, sub: Submission, graded: Graded) -> None:
    """Record: the scored notebook's grades, it and its model (``save``)."""
    save(batch.course, sub.student, graded.notebook, graded.exported, sub.marked_late)


def save(course: Course, student: str, nb: NotebookNode, exported: Exported | None = None,
         marked_late: bool = False) -> Path:
    """Store the scores of a graded notebook (and its late penalty) and keep it, and the
    trained model and history (bytes the boundary read, written into new files here), for
    feedback."""
    gradebook.save_grades(course, student, nb, marked_late)
    path = course.autograded_notebook(student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)  # never leave a half-written notebook behind
    keep = course.artifacts_dir(student)
    shutil.rmtree(keep, ignore_errors=True)
    kept = {MODEL: exported.model, HISTORY: exported.history} if exported else {}
    for name, data in kept.items():
        if data is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / name).write_bytes(data)
    return path


def keep_submission(course: Course, student: str, notebook: Path | None,
                    handed_in: str | None) -> None:
    """The notebook as handed in and its time, in nbgrader's layout:
    ``submitted/<student>/<assignment>/<notebook>.ipynb`` and ``timestamp.txt``.

    formgrader counts these folders as the assignment's submissions, checks that
    ``timestamp.txt`` matches the gradebook's time (``handed_in``, which ``register`` wrote)
    before it lists a submission as graded, and its Autograde button regrades from here
    (``autograder.grader.nbgrader_autograde``). No notebook: no submission is kept.
    """
    folder = course.submitted_notebook(student).parent
    if notebook is not None and folder.resolve() in notebook.resolve().parents:
        return  # graded from this folder (formgrader's Autograde button): it is the record
    shutil.rmtree(folder, ignore_errors=True)  # an earlier submission's files
    if notebook is None or not notebook.is_file():
        return
    folder.mkdir(parents=True)
    shutil.copyfile(notebook, course.submitted_notebook(student))
    if handed_in:
        # nbgrader's format (exchange submit, nbgrader.utils.parse_utc reads it): UTC
        when = parse_utc(datetime.fromisoformat(handed_in))
        (folder / TIMESTAMP_FILE).write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
                                             encoding="utf-8")


def save_failure(course: Course, student: str, notebook: Path | None = None,
                 handed_in: str | None = None) -> None:
    """Zero everywhere for a submission that could not run, and no stale graded notebook;
    the file handed in, if there is one, is kept as any submission is."""
    gradebook.save_failure(course, student, handed_in)
    keep_submission(course, student, notebook, handed_in)
    stale = course.autograded_notebook(student)
    if stale.exists():
        stale.unlink()
