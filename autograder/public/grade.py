"""A notebook graded with the public tests and the secret-free checks.

A student's repository is theirs to edit: its test cells, helpers and workflow may have
been changed. So the notebook that runs is the released one (shipped in the bundle), with
only the student's answer cells (nbgrader solution cells, by grade id) taken over, and the
model tests are decided again from the saved model with the bundle's own data set. What the
model must be comes from the release's metadata (``Assignment.public()``, stamped by
``make release``), never from the student's copy.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.assignment import CELL_TIMEOUT, Assignment, named, public_facts
from autograder.model import checks
from autograder.model.saved_model import read_saved_model
from autograder.records import SubmissionError, TestResult
from autograder.student import verdicts
from autograder.student.check import run_notebook
from autograder.student.export_cell import read_exported
from autograder.student.notebook import grade_id, is_solution, read_notebook


@dataclass
class PublicGrade:
    tests: dict[str, TestResult]
    error: str | None = None       # why the notebook could not be graded at all
    notes: list[str] = field(default_factory=list)


def with_answers(release: NotebookNode, student: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The release with each answer cell replaced by the student's cell of the same grade id
    (a missing one keeps the release's stub); notes on what was not taken over."""
    answers = {grade_id(c): c for c in student.cells if is_solution(c) and grade_id(c)}
    merged = nbformat.from_dict(release)
    notes = []
    for i, cell in enumerate(merged.cells):
        gid = grade_id(cell)
        if not is_solution(cell) or not gid:
            continue
        mine = answers.get(gid)
        if mine is None or mine.cell_type != cell.cell_type:
            notes.append(f"answer cell {gid} is missing from your notebook: its empty stub "
                         "was graded")
            continue
        merged.cells[i].source = mine.source
    return merged, notes


def trusted_data(facts: Assignment):
    """The trusted ``(X, y)`` its model is checked on, from the bundle's helper package."""
    return named(facts.model.data)()


def grade(notebook: Path | None, release: Path, data=None, cell_timeout: int | None = None,
          env: dict[str, str] | None = None) -> PublicGrade:
    """Grade ``notebook`` against ``release``; ``data`` gives the trusted ``(X, y)`` (None:
    the helper package's that the release names)."""
    release_nb = nbformat.read(release, as_version=4)
    facts = public_facts(release_nb.metadata) or Assignment("unknown", {})
    cell_timeout = cell_timeout or facts.cell_timeout or CELL_TIMEOUT
    points = verdicts.score(release_nb)  # every test, at the release's points, none passed
    try:
        if notebook is None or not notebook.is_file():
            raise SubmissionError(f"no notebook at {notebook}: keep the assignment's notebook "
                                  "where it was released")
        merged, notes = with_answers(release_nb, read_notebook(notebook))
    except SubmissionError as exc:
        return PublicGrade(_all_failed(points, str(exc)), str(exc))
    with tempfile.TemporaryDirectory(prefix="public-") as tmp:
        work = Path(tmp)
        # Beside the student's notebook, so relative paths in their cells still resolve.
        runnable = notebook.parent / f".graded-{work.name}.ipynb"
        nbformat.write(merged, runnable)
        try:
            nb = run_notebook(runnable, work, cell_timeout, env)
        except RuntimeError as exc:
            return PublicGrade(_all_failed(points, str(exc)), str(exc), notes)
        finally:
            runnable.unlink(missing_ok=True)
        model = facts.model
        saved = checks.saved_or_problem(
            read_exported(work),
            lambda raw: read_saved_model(raw, model.weight_shapes if model else []))
        nb = checks.confirm(nb, saved, model, facts.model_checks(),
                            data or (lambda: trusted_data(facts)))
        return PublicGrade(verdicts.score(nb), None, notes)


def _all_failed(points: dict[str, TestResult], why: str) -> dict[str, TestResult]:
    return {gid: TestResult(0.0, r.max_points, f"not graded: {why}") for gid, r in points.items()}
