"""Step, verify: the model tests decided again in the grader's own process.

The verdicts themselves are ``autograder.model.checks`` (secret-free, so the public
Classroom 50 bundle applies the same ones); this step feeds them the assignment's model,
its model checks and the grader's own copy of the data set (the assignment's
``DenseModel.data``). A test that passed in the kernel but fails here loses its points,
with the reason.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode

from autograder.grader.assignments import trusted_data
from autograder.grader.steps import Graded
from autograder.model import checks


def apply(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    assignment = outcome.assignment
    model = assignment.model
    return checks.confirm(nb, outcome.saved, model, assignment.model_checks(),
                          lambda: trusted_data(model.data))
