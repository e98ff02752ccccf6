"""The Gradescope autograder's settings (``gradescope.json`` in the zip): written by the
builder, read by ``run_autograder``, offered by the CLI. Standard library only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from autograder.grader.sandbox.limits import Limits

GRADEBOOK = "gradebook.db"  # in the zip's root: the assignment, no students

# Gradescope's names for who sees a test's result, and when.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
# Every test of this assignment holds hidden checks: showing their results before the
# deadline would let students probe them by resubmitting, while `check` and CI already show
# the public tests on every push. So students see each test after the due date.
DEFAULT_VISIBILITY = "after_due_date"
# Gradescope's default container: grading the solution with one thread fits in it, counted
# as the kernel counts it (the measured peaks: docs/gradescope.md).
MEMORY_NEEDED_MB = 768


@dataclass(frozen=True)
class Settings:
    """``gradescope.json``: what ``run_autograder`` reads (the instructor may edit it)."""

    visibility: str = DEFAULT_VISIBILITY
    memory_needed_mb: int = MEMORY_NEEDED_MB
    cell_timeout: int = Limits.cell_timeout
    notebook_timeout: int = Limits.notebook_timeout
    python: str = ""

    @classmethod
    def load(cls, path: Path) -> Settings:
        data = json.loads(path.read_text("utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
