"""Step, find the submissions: the paths on the command line, one submission per student.

A path is a notebook (student id = its folder's name, or ``--student``), a student's folder
holding the notebook somewhere inside, or a class folder whose immediate subfolders are
students (as ``git clone`` of each student repository or an LMS zip leaves them).

What the student's folder holds is theirs to choose, so nothing in it is believed: a
notebook that is a symbolic link is refused (whether found or named on the command line),
and when and which commit was handed in comes only from records the student cannot write
(``handed_in``, ``class_record``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import untrusted
from autograder.grader import collected
from autograder.grader.collected import Collected
from autograder.records import SubmissionError
from autograder.student.notebook import read_notebook, too_large

if TYPE_CHECKING:
    from autograder.grader.course import Course
    from autograder.grader.steps import Batch, Graded

# Student ids become folder names and database keys: keep them boring.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
SKIP_DIRS = {".ipynb_checkpoints", ".git", "__pycache__", "__MACOSX", ".github"}
# nbgrader's record of when a submission arrived, beside the notebook in its submitted/ folder
TIMESTAMP_FILE = "timestamp.txt"


@dataclass
class Submission:
    student: str
    notebook: Path | None
    error: str | None = None
    note: str | None = None
    # False for a repeated student id: its error is reported but must not touch the grades
    # the first copy earned.
    record: bool = True
    folder: Path | None = None       # the student's folder (a repository clone, a zip's folder)
    # From the class folder's collection.json, when `collect` made it (autograder.grader.collected)
    commit: str | None = None
    submitted_at: str | None = None
    collected: Collected | None = None  # the whole record: names, LMS id, deadline, marker
    # Who this is and their own deadline: the roster's row (grade --roster), else collect's
    person: object | None = None

    @property
    def marked_late(self) -> bool:
        """The LMS marked the work late without saying when (Canvas's LATE in the name)."""
        return bool(self.collected and self.collected.late and not self.submitted_at)

    @property
    def file(self) -> str | None:
        """The graded file as it was handed in: its name in the LMS download, else its path
        under the student's folder (None: nothing was handed in)."""
        if self.notebook is None:
            return None
        if self.collected and self.collected.entry:
            return self.collected.entry
        if self.folder and self.folder in self.notebook.parents:
            return self.notebook.relative_to(self.folder).as_posix()
        return self.notebook.name

    def read_bytes(self) -> bytes | None:
        if self.notebook is None or not self.notebook.is_file():
            return None
        return self.notebook.read_bytes()

    def handed_in(self, course: Course | None = None) -> str | None:
        """When the work was handed in (ISO 8601), from a record the student cannot write:
        ``submitted_at`` from collect's record; else the ``timestamp.txt`` beside a notebook
        in ``course``'s ``submitted/`` folder (written by nbgrader's exchange, or by an
        earlier ``grade``); else None. A ``timestamp.txt`` in a student's own folder is
        theirs to write, and a file's modification time is when it was copied.

        For the gradebook and formgrader only: the grade JSON and the ledger keep
        ``submitted_at``, which only ``collect`` sets.
        """
        if self.submitted_at:
            return self.submitted_at
        if self.notebook is None or course is None:
            return None
        submitted = course.submitted_dir.absolute()
        if submitted not in self.notebook.absolute().parents:
            return None
        from nbgrader.utils import parse_utc  # not at import: the CLI's parser is light

        try:
            stamp = untrusted.read_text(self.notebook.parent, TIMESTAMP_FILE, 100)
            return parse_utc(stamp.strip()).replace(tzinfo=UTC).isoformat()
        except (OSError, ValueError, OverflowError):
            return None  # none, or not a time nbgrader could read either


def _notebooks_in(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        found.append(path)
    return found


def pick_notebook(student: str, folder: Path, expected: str) -> Submission:
    """The student's notebook in ``folder``: the ``expected`` name (the assignment's
    notebook), else the only notebook."""
    sub = _pick(student, folder, expected)
    sub.folder = folder
    if folder.is_symlink():
        return _linked(sub, folder.name)
    if sub.notebook is not None and sub.notebook.is_symlink():
        return _linked(sub, str(sub.notebook.relative_to(folder)))
    return sub


def _linked(sub: Submission, shown: str) -> Submission:
    # a link could point the grader at any file it can read, a solution among them
    sub.error = f"{shown} is a symbolic link: submit the notebook itself"
    sub.notebook = None
    return sub


def class_record(sub: Submission) -> Path | None:
    """The folder whose ``collection.json`` speaks for ``sub``: the one holding the
    outermost folder named as the student on the way to the notebook (a folder ``collect``
    made), when it has a record. A student's own folder cannot hold a folder above itself,
    so a record planted inside it is never the one read, even when the class has none."""
    start = sub.folder or (sub.notebook.parent if sub.notebook else None)
    if start is None:
        return None
    start = start.absolute()
    outermost = next((p for p in [*reversed(start.parents), start] if p.name == sub.student),
                     None)
    if outermost is None or not (outermost.parent / collected.FILE).is_file():
        return None
    return outermost.parent


def _pick(student: str, folder: Path, expected: str) -> Submission:
    notebooks = _notebooks_in(folder)
    named = [p for p in notebooks if p.name == expected]
    if len(named) == 1:
        extra = [p.name for p in notebooks if p != named[0]]
        note = f"ignored other notebooks: {', '.join(extra)}" if extra else None
        return Submission(student, named[0], note=note)
    if len(named) > 1:
        places = ", ".join(str(p.relative_to(folder)) for p in named)
        return Submission(student, None, f"several copies of {expected} ({places}); "
                          "keep exactly one")
    if len(notebooks) == 1:
        return Submission(student, notebooks[0],
                          note=f"graded {notebooks[0].name} (expected {expected})")
    if not notebooks:
        return Submission(student, None, f"no notebook found: expected {expected}")
    names = ", ".join(p.name for p in notebooks)
    return Submission(student, None, f"several notebooks and none named {expected} "
                      f"({names}); rename yours to {expected}")


def _check_id(sub: Submission) -> Submission:
    if not STUDENT_ID.match(sub.student):
        sub.error = (f"student id {sub.student!r} is not usable: use letters, digits and "
                     "._@+- only (rename the folder or pass --student)")
        sub.notebook = None
    return sub


def find(paths: list[Path], student: str | None = None, *, expected: str
            ) -> list[Submission]:
    """One Submission per student, in a stable order; problems become per-student errors.
    ``expected``: the assignment's notebook name."""
    subs: list[Submission] = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_file():
            sub = Submission(student or path.absolute().parent.name, path,
                             folder=path.absolute().parent)
            subs.append(_linked(sub, str(path)) if path.is_symlink() else sub)
        elif student is not None or (path / expected).is_file():
            subs.append(pick_notebook(student or path.resolve().name, path, expected))
        else:
            for folder in sorted(p for p in path.iterdir() if p.is_dir()):
                if folder.name in SKIP_DIRS or folder.name.startswith("."):
                    continue
                subs.append(pick_notebook(folder.name, folder, expected))
    records: dict[Path, dict[str, Collected]] = {}
    seen: dict[str, Submission] = {}
    for sub in subs:
        _check_id(sub)
        if sub.notebook is not None and (why := too_large(sub.notebook)):
            sub.error, sub.notebook = why, None
        parent = class_record(sub)
        if parent is not None:
            if parent not in records:  # read once per class folder, not once per student
                records[parent] = collected.read(parent)
            _apply(sub, records[parent].get(sub.student))
        if sub.student in seen and sub.error is None:
            first = seen[sub.student]
            sub.error = (f"student {sub.student!r} was given twice ({first.notebook} and "
                         f"{sub.notebook}); only the first is graded")
            sub.notebook = None
            sub.record = False
        seen.setdefault(sub.student, sub)
    return subs


def _apply(sub: Submission, record: Collected | None) -> None:
    """What `collect` found for this student: the time and commit, or why nothing came."""
    if record is None:
        return
    sub.collected = sub.person = record
    sub.commit, sub.submitted_at = record.commit, record.submitted_at
    if record.problem:
        sub.error, sub.notebook = f"not collected: {record.problem}", None
    if record.notes:
        sub.note = "; ".join(n for n in (sub.note, *record.notes) if n)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N), with 1 <= I <= N; ValueError with the reason otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"{text!r} is not I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: I must be from 1 to N")
    return index, count


def shard_of(student: str, count: int) -> int:
    """The shard (1-based) a student belongs to: stable however the class list grows."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % count + 1


def select_shard(subs: list[Submission], index: int, count: int) -> list[Submission]:
    """Shard ``index`` of ``count`` (1-based): a stable slice by student id."""
    return [s for s in subs if shard_of(s.student, count) == index]


def read(batch: Batch, sub: Submission, graded: Graded) -> None:
    """Prepare: the notebook handed in, parsed and checked (or why this one cannot be)."""
    if sub.error:
        raise SubmissionError(sub.error)
    graded.handed = read_notebook(sub.notebook)
