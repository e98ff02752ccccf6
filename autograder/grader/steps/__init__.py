"""The grading steps, one module each; ``autograder.grader.pipeline`` runs them in order.

The steps after execution share one signature, as nbgrader's preprocessors do:
``step(nb, outcome) -> nb``, each writing its verdicts into the notebook's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    """What the steps before and during execution found for one submission."""

    problem: str | None = None            # why execution stopped early, for the student
    export_dir: Path | None = None        # the model the sandbox saved after the notebook
    tampering: list[str] = field(default_factory=list)
    functions_dir: Path | None = None     # what the student's functions returned, if called
    functions_problem: str | None = None  # why they could not be called
