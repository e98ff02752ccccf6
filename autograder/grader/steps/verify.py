"""Step, verify: the model tests decided again in the grader's own process.

The verdicts themselves are ``autograder.model.checks`` (secret-free, so the public
Classroom 50 bundle applies the same ones); this step feeds them the assignment's model,
its model checks and the grader's own copy of the data set (the assignment's
``DenseModel.data``). A test that passed in the kernel but fails here loses its points,
with the reason.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder.grader.assignments import function
from autograder.grader.steps import Graded
from autograder.model import checks


@cache
def trusted_data(reference: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from the assignment's helper package, e.g. ``digit_helpers:trusted_data``."""
    return function(reference)()


def apply(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    assignment = outcome.assignment
    model = assignment.model
    return checks.confirm(nb, outcome.saved, model, assignment.model_checks(),
                          lambda: trusted_data(model.data))
