"""What ``collect`` recorded about a class: ``collection.json`` in the class folder.

One entry per student: where the work came from, when it was submitted (and where that time
came from) and which commit was taken (when known), why nothing could be collected, and who
the student is (the roster's names, LMS id and own deadline, given once to ``collect``). It
sits beside the students' folders, never inside one, and ``grade`` reads it only there
(``steps.submissions.class_record``), so nothing a student submits can forge it: the times
and deadlines reach nbgrader's late penalties, the names and LMS ids its gradebook (and so
``return``), and the graded file's name the grade JSON and feedback pages.
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
    entry: str | None = None           # the graded file's name in the LMS download
    time_source: str | None = None     # where submitted_at came from
    # From the roster (or the download): who this is, for the gradebook and the LMS
    lms_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    deadline: str | None = None        # the student's own deadline (ISO 8601), if they have one
    extension: str | None = None       # or their extension of the assignment's due date ("2d")


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
    known = set(Collected.__dataclass_fields__)
    return {student: Collected(student, **{k: v for k, v in entry.items() if k in known})
            for student, entry in data.get("students", {}).items()}


def with_person(entry: Collected, person) -> Collected:
    """``entry`` with the roster row's names, LMS id and own deadline (empty ones left out)."""
    for name in ("lms_id", "first_name", "last_name", "email", "deadline", "extension"):
        if value := getattr(person, name, ""):
            setattr(entry, name, value)
    return entry
