"""The grading steps, one module each; ``autograder.grader.pipeline.STEPS`` is their order,
and ``pipeline.grade_all`` runs exactly that list.

Every step works on one ``Graded``: what the steps before it found or made for one
submission. The steps of a stage share one signature, as nbgrader's preprocessors do:

- prepare (in the grader's process, one submission at a time): ``step(batch, sub, graded)``;
- execute (on a worker slot, several submissions at once): ``step(graded, place)``;
- score: ``step(nb, graded) -> nb``, each writing its verdicts into the notebook's outputs;
- record: ``step(batch, sub, graded)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.student.export_cell import NOT_SAVED

if TYPE_CHECKING:
    from nbformat.notebooknode import NotebookNode

    from autograder.assignment import Assignment
    from autograder.grader.course import Course
    from autograder.grader.sandbox.boundary import Returned
    from autograder.grader.sandbox.folder import Sandbox
    from autograder.grader.sandbox.limits import Limits
    from autograder.model.saved_model import SavedModel
    from autograder.student.export_cell import Exported


@dataclass(frozen=True)
class Batch:
    """What every submission of one ``grade_all`` shares."""

    course: Course
    limits: Limits
    base: Path          # where the sandboxes are made (``folder.new_base``)


@dataclass
class Graded:
    """One submission on its way through the steps: what each step found or made. Nothing
    here comes from the student unchecked: the notebook is the grader's sanitized one with
    the run's outputs taken onto it, the rest was read through the sandbox's boundary."""

    student: str
    assignment: Assignment
    handed: NotebookNode | None = None     # the notebook as handed in, parsed (read)
    tampering: list[str] = field(default_factory=list)
    # The sanitized notebook: the runner deletes the sandbox's copy once read, and the
    # executed notebook's outputs are taken onto it (boundary.outputs_onto).
    source: str = ""
    hidden: frozenset[str] = frozenset()  # its hidden-test lines (see steps/redact.py)
    sandbox: Sandbox | None = None
    notebook: NotebookNode | None = None   # the source with the run's outputs
    problem: str | None = None             # why execution stopped early, for the student
    exported: Exported | None = None       # the model saved after the notebook, read as data
    # That model read as data apart from the grader (model/isolated.py), or why there is none.
    saved: SavedModel | str = NOT_SAVED
    # What each tested function returned when called outside the kernel (None: not called).
    functions: dict[str, Returned] | None = None
    notes: list[str] = field(default_factory=list)  # the run's, for the student (a full disk)
