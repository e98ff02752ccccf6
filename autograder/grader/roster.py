"""The class list: a CSV file with a header row, one student per row.

``student`` (required) is the id the grader uses: the folder name, the gradebook key. The
other columns are optional and each serves one job: ``lms_id`` maps an LMS download's files
to the student (``collect --from``), ``repo`` is the student's repository, a URL or a local
path (``collect --git``), and ``first_name``, ``last_name``, ``email`` are for people.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from autograder.grader.steps.submissions import STUDENT_ID
from autograder.records import CommandError

COLUMNS = ("student", "lms_id", "repo", "first_name", "last_name", "email")


@dataclass(frozen=True)
class Student:
    student: str
    lms_id: str = ""
    repo: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def read(path: Path, needs: str | None = None) -> list[Student]:
    """Every row of the roster; CommandError naming the file and row for anything wrong.

    ``needs``: a column every row must fill (``repo`` for ``collect --git``).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets save a BOM
    except OSError as exc:
        raise CommandError(f"cannot read the roster {path}: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if "student" not in header:
        raise CommandError(f"{path}: the first row must name the columns, one of them "
                           f"`student` (allowed: {', '.join(COLUMNS)})")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise CommandError(f"{path}: unknown column(s) {', '.join(unknown)} "
                           f"(allowed: {', '.join(COLUMNS)})")
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        entry = Student(**values)
        if not STUDENT_ID.match(entry.student):
            raise CommandError(f"{path}, row {line}: student id {entry.student!r} is not "
                               "usable (letters, digits and ._@+- only)")
        if entry.student in seen:
            raise CommandError(f"{path}, row {line}: student {entry.student!r} is already "
                               f"on row {seen[entry.student]}")
        if needs and not getattr(entry, needs):
            raise CommandError(f"{path}, row {line}: student {entry.student!r} has no "
                               f"`{needs}`")
        seen[entry.student] = line
        students.append(entry)
    if not students:
        raise CommandError(f"{path}: the roster lists no students")
    return students
