"""Collect an LMS download (``collect ARCHIVE_OR_FOLDER --from canvas|moodle|blackboard``).

nbgrader's zip_collect does the LMS-specific part: its ``ExtractorPlugin`` unpacks the
download, and a ``FileNameCollectorPlugin`` with one regular expression per LMS reads the
student's LMS id (and, for Blackboard, the time) from each file name. What nbgrader's
``ZipCollectApp`` would then do is done here instead, because it stops the whole class at
two undated files of one student and copies every file of any name: we keep each student's
newest notebook, map LMS ids through the roster, and list every file that went nowhere.

The file names, as each LMS's own code writes them:

- Canvas (``lib/content_zipper.rb``): ``{lastfirst}[_LATE]_{user_id}_{attachment_id}_{file}``,
  ``[LATE_]anon_{id}_{attachment_id}_{file}`` when grading is anonymous. Attachment ids grow
  with every upload, so the larger one is the newer file.
- Moodle (``mod/assign`` downloader): ``{Full Name}_{participant_id}_assignsubmission_file/{file}``
  (in folders, the default) or ``..._assignsubmission_file_{file}`` (flat); ``Participant``
  for the name when marking is blind. No time: the file's time in the archive orders them.
- Blackboard Learn (Assignment File Download):
  ``{assignment}_{username}_attempt_{YYYY-MM-DD-HH-MM-SS}_{file}``, plus one ``.txt`` per
  attempt; the time is the server's local time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

from autograder.grader.collected import FILE, Collected, Collection, new_class_dir
from autograder.grader.roster import Student
from autograder.grader.steps import report
from autograder.grader.steps.collect import STUDENT_ID
from autograder.records import CommandError
from autograder.spec import NOTEBOOK_NAME

# nbgrader matches from the start of the absolute path: each pattern starts with ".*/".
PATTERNS = {
    "canvas": r".*/(?:(?P<name>[^/]+?)_)??(?P<late>LATE_)?(?P<student_id>anon_[A-Za-z0-9]+|\d+)"
              r"_(?P<order>\d+)_(?P<file_id>[^/]+)$",
    "moodle": r".*/(?P<name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_file"
              r"(?:_|/(?:[^/]+/)*)(?P<file_id>[^/]+)$",
    "blackboard": r".*/(?P<assignment>[^/]*)_(?P<student_id>[^/_]+)_attempt_"
                  r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file_id>[^/]+)|\.txt)$",
}
LMS_TIME = "%Y-%m-%d-%H-%M-%S"


class TimedExtractor(ExtractorPlugin):
    """nbgrader's extractor, keeping each file's time from the download (its copies and
    unpacking stamp everything "now"), so that a student's newest file can be told."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        super().extract(archive_path, extracted_path)
        src, dest = Path(archive_path), Path(extracted_path)
        for path in src.rglob("*"):
            if not path.is_file():
                continue
            target = dest / path.relative_to(src)
            if path.suffix in self.zip_ext and zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        name = Path(info.filename)
                        if info.is_dir() or name.is_absolute() or ".." in name.parts:
                            continue  # never unpacked (setuptools' unpacker skips them too)
                        inner = target.with_suffix("") / name
                        if inner.is_file():
                            stamp = time.mktime((*info.date_time, 0, 0, -1))
                            os.utime(inner, (stamp, stamp))
            elif target.is_file():
                os.utime(target, (path.stat().st_atime, path.stat().st_mtime))


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector with one LMS's pattern; any extension is read, so a
    student's other files are reported rather than silently skipped."""

    def collect(self, submitted_file: str) -> dict | None:
        return self._match(submitted_file)


@dataclass
class Found:
    """One file of the download that names a student."""

    path: Path
    lms_id: str
    file_name: str
    order: tuple
    late: bool = False
    submitted_at: datetime | None = None


def _found(path: Path, info: dict, zone: tzinfo) -> Found:
    when = None
    if info.get("timestamp"):
        when = datetime.strptime(info["timestamp"], LMS_TIME).replace(tzinfo=zone)
    # newest first by the LMS's time, else its upload order, else the file's time
    order = (when.timestamp() if when else 0.0, int(info.get("order") or 0),
             path.stat().st_mtime)
    return Found(path, info["student_id"], info.get("file_id") or path.name, order,
                 late=bool(info.get("late")), submitted_at=when)


def read_download(source: Path, lms: str, work: Path, zone: tzinfo
                  ) -> tuple[list[Found], list[str]]:
    """Every file of the download that names a student, and the names of those that don't."""
    if lms not in PATTERNS:
        raise CommandError(f"unknown LMS {lms!r}: choose one of {', '.join(PATTERNS)}")
    if not source.exists():
        raise CommandError(f"no such file or folder: {source}")
    archive_dir, extracted = work / "archive", work / "extracted"
    extracted.mkdir(parents=True)
    if source.is_dir():
        archive_dir = source
    else:
        archive_dir.mkdir()
        shutil.copy2(source, archive_dir / source.name)
    TimedExtractor().extract(str(archive_dir), str(extracted))
    collector = LmsCollector(named_regexp=PATTERNS[lms])
    found, unmatched = [], []
    for path in sorted(p for p in extracted.rglob("*") if p.is_file()):
        rel = path.relative_to(extracted).as_posix()
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.split("/")):
            continue  # macOS and editor litter, not anyone's work
        info = collector.collect(str(path))
        if info is None:
            unmatched.append(f"{rel}: not named as {lms.capitalize()} names a submission")
        else:
            found.append(_found(path, info, zone))
    return found, unmatched


def assign(found: list[Found], roster: list[Student] | None, lms: str
           ) -> tuple[dict[str, list[Found]], list[str]]:
    """student -> their files, through the roster's ``lms_id`` when there is a roster."""
    by_lms = {s.lms_id: s.student for s in roster or [] if s.lms_id}
    owned: dict[str, list[Found]] = {}
    unmatched = []
    for f in found:
        if roster is not None:
            student = by_lms.get(f.lms_id)
            if student is None:
                unmatched.append(f"{f.path.name}: {lms} id {f.lms_id} is not in the roster")
                continue
        else:
            student = f.lms_id
            if not STUDENT_ID.match(student):
                unmatched.append(f"{f.path.name}: {lms} id {student!r} is not usable as a "
                                 "student id; give a roster that maps it")
                continue
        owned.setdefault(student, []).append(f)
    return owned, unmatched


def choose(student: str, files: list[Found], source: str) -> tuple[Collected, Path | None]:
    """The student's newest notebook, and notes on every other file of theirs."""
    notebooks = sorted((f for f in files if f.file_name.endswith(".ipynb")),
                       key=lambda f: f.order, reverse=True)
    others = [f.path.name for f in files if not f.file_name.endswith(".ipynb")]
    notes = [f"not a notebook, not graded: {', '.join(others)}"] if others else []
    if not notebooks:
        return Collected(student, source, problem="the download has no notebook from this "
                         f"student (only {', '.join(others)})", notes=notes), None
    kept = notebooks[0]
    notes += [f"older file not graded: {f.path.name}" for f in notebooks[1:]]
    if kept.file_name != NOTEBOOK_NAME:
        notes.append(f"submitted as {kept.file_name}")
    when = kept.submitted_at.isoformat() if kept.submitted_at else None
    return Collected(student, kept.path.name, submitted_at=when, late=kept.late,
                     notes=notes), kept.path


def collect(source: Path, lms: str, out_dir: Path, roster: list[Student] | None = None,
            zone: tzinfo | None = None) -> Collection:
    """Write ``out_dir/<student>/digit_recognition.ipynb`` and ``collection.json``.

    ``zone``: the LMS server's time zone, for times it writes without one (default: this
    machine's)."""
    zone = zone or datetime.now().astimezone().tzinfo
    new_class_dir(out_dir)
    with tempfile.TemporaryDirectory(prefix="collect-") as tmp:
        found, unmatched = read_download(source, lms, Path(tmp), zone)
        owned, unassigned = assign(found, roster, lms)
        lms_ids = {s.student: s.lms_id for s in roster or []}
        students = []
        for student in sorted(set(owned) | set(lms_ids)):
            (out_dir / student).mkdir(parents=True)  # even when empty: grade reports why
            if student not in owned:
                students.append(Collected(student, str(source), problem=(
                    f"nothing in the download for this student ({lms} id {lms_ids[student]})")))
                continue
            entry, notebook = choose(student, owned[student], str(source))
            if notebook is not None:
                shutil.copyfile(notebook, out_dir / student / NOTEBOOK_NAME)
            students.append(entry)
    collection = Collection(lms, str(source), students, unmatched + unassigned)
    report.write_document(out_dir / FILE, collection.as_dict())
    return collection
