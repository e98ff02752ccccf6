"""Step, notes: what the grader noticed about the run, at the top of the graded notebook.

The notes (a folder that filled up, an executed notebook that was refused beside another
problem) are the student's to read beside the grades, so they head the graded notebook and
with it the feedback page; Gradescope's output and the grade table carry them too
(``SubmissionResult.notes``).
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell

from autograder.grader.steps import Graded


def annotate(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    if outcome.notes:
        lines = "\n".join(f"- {note}" for note in outcome.notes)
        nb.cells.insert(0, new_markdown_cell(f"**Grader note:**\n\n{lines}"))
    return nb
