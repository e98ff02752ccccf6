"""Step, tamper check: what a submission changed that it should not, against the
instructor's own manifest (the copy in a student's repository can only warn).

Locked cells are restored by nbgrader anyway (``sanitize``); this step says so, in the grade
JSON (``"tampering"``) and at the top of the graded notebook, which the feedback shows.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell

from autograder.grader.course import REPO_ROOT, Course
from autograder.grader.steps import Batch, Graded
from autograder.grader.steps.submissions import Submission
from autograder.student.manifest import find_tampering, tamper_manifest

WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
TEMPLATE_WORKFLOW = REPO_ROOT / "template" / WORKFLOW


@lru_cache(maxsize=4)
def _manifest(release: Path) -> dict:
    workflow = TEMPLATE_WORKFLOW if TEMPLATE_WORKFLOW.is_file() else None
    return tamper_manifest(release, workflow)


def find(course: Course, sub: Submission) -> list[str]:
    """One sentence per locked cell, test's points or workflow the student changed."""
    release = course.release_notebook
    if release is None or sub.notebook is None:
        return []
    # Only a repository clone is expected to hold the workflow; an LMS upload is not.
    folder = sub.folder
    is_repo = folder is not None and ((folder / ".git").exists() or (folder / ".github").is_dir())
    return find_tampering(sub.notebook, folder / WORKFLOW if is_repo else None,
                          _manifest(release))


def check(batch: Batch, sub: Submission, graded: Graded) -> None:
    """Prepare: what the submission changed that it should not (``find``)."""
    graded.tampering = find(batch.course, sub)


def annotate(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    """A note at the top of the graded notebook (and so of the feedback page)."""
    if outcome.tampering:
        lines = "\n".join(f"- {p}" for p in outcome.tampering)
        nb.cells.insert(0, new_markdown_cell(
            "**Grader note: this submission changed parts of the assignment it should not.**"
            f"\n\n{lines}\n\nLocked cells and tests were restored from the released assignment "
            "before grading, so the changes had no effect on the score."))
    return nb
