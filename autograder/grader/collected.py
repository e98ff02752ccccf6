"""What ``collect`` recorded about a class: ``collection.json`` in the class folder.

One entry per student: where the work came from, when it was submitted and which commit was
taken (when known), and why nothing could be collected. It sits beside the students'
folders, never inside one, and ``grade`` reads it only there (``steps.submissions.class_record``),
so nothing a student submits can forge it. ``grade`` reads it
(``steps/collect.py``): the times reach nbgrader's late-penalty settings and the grade JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.records import CommandError

FILE = "collection.json"


@dataclass
class Collected:
    student: str
    source: str                        # the file in the download, or the repository
    submitted_at: str | None = None    # ISO 8601 with its offset
    commit: str | None = None          # the graded commit's full SHA
    late: bool = False                 # the LMS marked it late, or commits came after the deadline
    problem: str | None = None         # why nothing was collected; graded as this student's error
    notes: list[str] = field(default_factory=list)
    ref: str | None = None             # the tag taken (collect --git --ref), if one was


@dataclass
class Collection:
    origin: str                        # canvas, moodle, blackboard or git
    source: str                        # the download or the roster
    students: list[Collected]
    # files not collected: a file of no student, or a student's file that could not be unpacked
    unmatched: list[str] = field(default_factory=list)
    deadline: str | None = None

    def as_dict(self) -> dict:
        """The document ``FILE`` holds: students keyed by id."""
        data = asdict(self)
        data["students"] = {s.pop("student"): s for s in data["students"]}
        return data


def new_class_dir(class_dir: Path) -> None:
    """Collect into a new or empty folder only: two collections never mix."""
    if class_dir.exists() and any(class_dir.iterdir()):
        raise CommandError(f"{class_dir} is not empty: collect into a new folder")
    class_dir.mkdir(parents=True, exist_ok=True)


def read(class_dir: Path) -> dict[str, Collected]:
    """student -> what was collected, from ``class_dir``'s record ({} when there is none)."""
    path = class_dir / FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {student: Collected(student, **entry)
            for student, entry in data.get("students", {}).items()}
