"""The grading steps, one module each; ``autograder.grader.pipeline`` runs them in order.

The steps after execution share one signature, as nbgrader's preprocessors do:
``step(nb, outcome) -> nb``, each writing its verdicts into the notebook's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograder.student.export_cell import NOT_SAVED

if TYPE_CHECKING:
    from autograder.assignment import Assignment
    from autograder.grader.sandbox.boundary import Returned
    from autograder.model.saved_model import SavedModel


@dataclass
class Outcome:
    """What the steps before and during execution found for one submission."""

    assignment: Assignment                # what its tests are decided on
    problem: str | None = None            # why execution stopped early, for the student
    # The model the sandbox saved, read as data apart from the grader, or why there is none.
    saved: SavedModel | str = NOT_SAVED
    tampering: list[str] = field(default_factory=list)
    # What each tested function returned when called outside the kernel (None: not called).
    functions: dict[str, Returned] | None = None
    # Hidden-test source lines: never shown to the student, wherever student code put them.
    hidden: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)  # the run's, for the student (a full disk)
