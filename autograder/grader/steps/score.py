"""Step, score: turn an executed notebook into per-test points and messages.

Verdicts are written into the notebook's outputs (a test that did not run gets an error
output saying why), so nbgrader's own scoring, the gradebook and the feedback HTML all
agree with the table and JSON printed here. The rule itself is the student kit's
(``autograder.student.verdicts``), so the self-check and the grade agree too.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import LimitOutput
from traitlets.config import Config

from autograder.grader.steps import Graded
from autograder.student import verdicts
from autograder.student.verdicts import score

__all__ = ["clean_outputs", "mark_not_run", "score"]


def clean_outputs(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    """Library noise dropped, stderr made a note (``verdicts.tidy``), then nbgrader's
    LimitOutput trims long outputs."""
    nb = verdicts.tidy(nb, outcome.assignment.stderr_noise)
    nb, _ = LimitOutput(config=Config()).preprocess(nb, {})
    return nb


def mark_not_run(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    """When execution stopped early, the tests it never reached fail with the reason."""
    return verdicts.mark_not_run(nb, outcome.problem) if outcome.problem else nb
