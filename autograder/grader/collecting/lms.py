"""Collect an LMS download (``collect ARCHIVE_OR_FOLDER --from canvas|moodle|blackboard``).

Whose file is whose is read from its name in the download by nbgrader's zip_collect
``FileNameCollectorPlugin`` with one regular expression per LMS (``PATTERNS``). The names, as
each LMS's own code writes them:

- Canvas (``lib/content_zipper.rb``): ``{lastfirst}[_LATE]_{user_id}_{attachment_id}_{file}``,
  ``[LATE_]anon_{id}_{attachment_id}_{file}`` when grading is anonymous. Attachment ids grow
  with every upload, so the larger one is the newer file.
- Moodle (``mod/assign`` downloader): ``{Full Name}_{participant_id}_assignsubmission_file/{file}``
  (in folders, the default) or ``..._assignsubmission_file_{file}`` (flat); ``Participant``
  for the name when marking is blind. No time: the file's time in the archive orders them.
- Blackboard Learn (Assignment File Download):
  ``{assignment}_{username}_attempt_{YYYY-MM-DD-HH-MM-SS}_{file}``, plus one ``.txt`` per
  attempt; the time is the server's local time.

One student must not be able to turn the collection against another, so:

- **Names are read in the download only.** The pattern is matched on the entries of the
  download itself (the LMS's zip, or its unpacked folder, Moodle's per-student folders
  included), never on what is inside a student's own archive: a file found there belongs to
  the uploader, whatever its name (a ``doe_456_999_digit_recognition.ipynb`` inside
  Mallory's zip is Mallory's). Each pattern matches the *outermost* name the LMS wrote (a
  lazy ``.*?/`` prefix; Blackboard's assignment part is lazy too), so what a student appends
  after the LMS's prefix (Blackboard keeps their file name, Moodle their folders) cannot
  name a classmate either.
- **One level of a student's archives.** A student's ``.zip`` or ``.tar[.gz|.bz2|.xz]`` is
  opened and its notebooks are theirs (then the usual rules: newest kept, the others
  noted); an archive inside it is not opened, and they are told.
- **Bounded** (``Bounds``): bytes, bytes per file and files, counted as the bytes come out
  of the decompressor, never as an archive's headers claim. Past the download's bounds
  (``DOWNLOAD``) nothing is collected (a ``CommandError``); past a student's (``UPLOAD``,
  for all their archives together) that archive is not unpacked, and they are told. Only
  what can be graded is written: notebooks, and from the download the students' archives
  to open. A zip member is read only then; a tar is a stream, read (and counted) whole.
- **Each member is written to a new file under a name of ours**, never its own, so no name
  reaches outside the work folder; members with an absolute name or ``..``, links and
  devices are refused anyway and named (stricter than tarfile's ``data`` filter, which
  strips a leading ``/`` and keeps links that stay inside).
- **A broken archive is its uploader's problem**: a note, or their problem when it leaves
  them without a notebook; everyone else is collected.

Anything of a student's that was not unpacked is said to them and listed under "not
collected" (``unmatched``), so ``collect`` exits 1.

nbgrader's ``ExtractorPlugin`` is not used: it unpacks archives inside archives to any
depth with no bound on size or count (a 1.1 MiB upload wrote 1.94 GiB), lays every file in
one tree where the name pattern then reads a student's own files as if the LMS had named
them, and raises at the first unreadable archive, which stopped the whole class. Nor is
``ZipCollectApp``: it stops the whole class at two undated files of one student and copies
every file of any name; here each student's newest notebook is kept, LMS ids are mapped
through the roster, and every file that went nowhere is listed.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from nbgrader.plugins import FileNameCollectorPlugin

from autograder.grader.collected import FILE, Collected, Collection, new_class_dir, with_person
from autograder.grader.collecting.times import HandIn
from autograder.grader.roster import Student
from autograder.grader.steps import report
from autograder.grader.steps.submissions import STUDENT_ID
from autograder.records import CommandError
from autograder.student.notebook import MAX_NOTEBOOK_BYTES

# nbgrader matches from the start of the path ("/" + the entry's name in the download). The
# lazy ".*?/" anchors each pattern at the outermost component the LMS named.
PATTERNS = {
    "canvas": r".*?/(?:(?P<name>[^/]+?)_)??(?P<late>LATE_)?(?P<student_id>anon_[A-Za-z0-9]+|\d+)"
              r"_(?P<order>\d+)_(?P<file_id>[^/]+)$",
    "moodle": r".*?/(?P<name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_file"
              r"(?:_|/(?:[^/]+/)*)(?P<file_id>[^/]+)$",
    "blackboard": r".*?/(?P<assignment>[^/]*?)_(?P<student_id>[^/_]+)_attempt_"
                  r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file_id>[^/]+)|\.txt)$",
}
LMS_TIME = "%Y-%m-%d-%H-%M-%S"
ARCHIVES = {".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar", ".tar.bz2": "tar",
            ".tbz2": "tar", ".tar.xz": "tar", ".txz": "tar"}
COMPRESSIONS = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))
# What a broken archive raises while it is read (gzip's and bz2's errors are OSErrors; a
# member name that is not the UTF-8 its flag claims, a UnicodeDecodeError: a ValueError).
UNREADABLE = (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
              tarfile.TarError, NotImplementedError, ValueError)
KiB, MiB, GiB = 2**10, 2**20, 2**30
CHUNK = MiB
LISTED = 10  # file names listed in one note; the rest are counted


@dataclass(frozen=True)
class Bounds:
    """The most one source may give up: bytes in all, bytes in one written file, files."""

    total_bytes: int
    file_bytes: int
    files: int


# The LMS's own download: a large class with large uploads still fits.
DOWNLOAD = Bounds(total_bytes=16 * GiB, file_bytes=2 * GiB, files=100_000)
# One student's archives together; no notebook larger than `grade` reads.
UPLOAD = Bounds(total_bytes=256 * MiB, file_bytes=MAX_NOTEBOOK_BYTES, files=1_000)


class TooBig(Exception):
    """A bound was crossed; the message says how ("expands past 256 MiB")."""


class FileTooBig(TooBig):
    """One member was larger than the bound per file."""


def _size(n: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


class Meter:
    """What one source has given up so far, counted against its ``Bounds`` as it is read."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds, self.bytes, self.files = bounds, 0, 0

    def count_file(self) -> None:
        self.files += 1
        if self.files > self.bounds.files:
            raise TooBig(f"holds more than {self.bounds.files} files")

    def read(self, stream: BinaryIO, size: int) -> bytes:
        """Up to ``size`` bytes, counted; one read never asks for more than one byte past
        what the bound leaves, so memory cannot fill past it either."""
        room = self.bounds.total_bytes - self.bytes + 1
        data = stream.read(room if size < 0 else min(size, room))
        self.bytes += len(data)
        if self.bytes > self.bounds.total_bytes:
            raise TooBig(f"expands past {_size(self.bounds.total_bytes)}")
        return data


class Counted:
    """A stream each read of which a ``Meter`` counts (a zip member, a file, a tar's bytes)."""

    def __init__(self, stream: BinaryIO, meter: Meter) -> None:
        self.stream, self.meter = stream, meter

    def read(self, size: int = -1) -> bytes:
        return self.meter.read(self.stream, size)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Member:
    """One file of an archive or folder: its name there, its time there, why it is refused
    (None for a plain file), and how to read it (once, while it is the current member: a tar
    is read as a stream)."""

    name: str
    mtime: float
    refused: str | None
    open: Callable[[], BinaryIO]


def archive_kind(name: str) -> str | None:
    """``zip`` or ``tar`` by the file name's ending, None for anything else."""
    lower = name.lower()
    return next((kind for end, kind in ARCHIVES.items() if lower.endswith(end)), None)


def _clean(name: str) -> str:
    """A member's name with ``/`` between parts and no empty or ``.`` parts (``tar -c .``
    writes ``./digit_recognition.ipynb``; old Windows tools write ``\\``); a leading ``/``
    stays, to be refused."""
    lead = "/" if name.startswith(("/", "\\")) else ""
    return lead + "/".join(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def _name_refusal(name: str) -> str | None:
    if name.startswith("/"):
        return "has an absolute name"
    return "climbs out of its folder with .." if ".." in name.split("/") else None


def _mode_refusal(mode: int) -> str | None:
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG):  # 0: a zip made without Unix modes
        return None
    return "is a symbolic link" if kind == stat.S_IFLNK else "is not a regular file"


def _tar_refusal(info: tarfile.TarInfo) -> str | None:
    if info.issym():
        return "is a symbolic link"
    if info.islnk():
        return "is a hard link"
    if info.issparse():  # its holes come out of the reader uncounted: a few bytes, gigabytes
        return "is a sparse file"
    return None if info.isreg() else "is a device or a pipe, not a regular file"


def _zip_members(path: Path, meter: Meter) -> Iterator[Member]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            meter.count_file()
            name = _clean(info.filename)
            refused = (_name_refusal(name) or _mode_refusal(info.external_attr >> 16)
                       or ("is encrypted" if info.flag_bits & 0x1 else None))
            yield Member(name, time.mktime((*info.date_time, 0, 0, -1)), refused,
                         lambda info=info: Counted(archive.open(info), meter))


def _decompressed(path: Path) -> BinaryIO:
    """A tar's bytes as the tar reader sees them, by the compression its first bytes name:
    decompressed here so that the meter counts what comes out, not what goes in."""
    with path.open("rb") as f:
        head = f.read(6)
    opener = next((o for magic, o in COMPRESSIONS if head.startswith(magic)), None)
    return opener(path) if opener else path.open("rb")


def _tar_members(path: Path, meter: Meter) -> Iterator[Member]:
    with _decompressed(path) as raw, \
            tarfile.open(fileobj=Counted(raw, meter), mode="r|") as archive:
        for info in archive:
            if info.isdir():
                continue
            meter.count_file()
            name = _clean(info.name)
            yield Member(name, float(info.mtime), _name_refusal(name) or _tar_refusal(info),
                         lambda info=info: archive.extractfile(info))


def _folder_members(root: Path, meter: Meter) -> Iterator[Member]:
    for folder, dirs, files in os.walk(root):  # never into a linked folder: it is refused
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                continue
            meter.count_file()
            yield Member(path.relative_to(root).as_posix(), info.st_mtime,
                         _mode_refusal(info.st_mode),
                         lambda path=path: Counted(path.open("rb"), meter))


READERS = {"zip": _zip_members, "tar": _tar_members, "folder": _folder_members}


def _unpack(member: Member, work: Path, limit: int) -> Path:
    """One member's bytes in a new file of ``work`` named by us, at most ``limit`` of them."""
    fd, name = tempfile.mkstemp(dir=work)
    written = 0
    with member.open() as stream, os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise FileTooBig(f"holds {member.name}, larger than {_size(limit)}")
            out.write(chunk)
    return Path(name)


def _litter(name: str) -> bool:
    """macOS and editor litter (``__MACOSX/``, dot files), nobody's work."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _listing(names: list[str]) -> str:
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector with one LMS's pattern; any extension is read, so a
    student's other files are reported rather than silently skipped."""

    def collect(self, submitted_file: str) -> dict | None:
        return self._match(submitted_file)


@dataclass
class Found:
    """One file of a student's: an entry of the download, or a member of their archive."""

    path: Path | None  # our copy (notebooks, and archives to open); None: only listed
    name: str          # as notes name it: its name in the download, or ARCHIVE/MEMBER
    lms_id: str
    file_name: str     # the student's own name for it
    order: tuple       # larger is newer (see _found and _member_found)
    late: bool = False
    submitted_at: datetime | None = None
    entry: str = ""    # its full name in the download (the upload's, for an archive's member)


def _found(member: Member, info: dict, path: Path | None, zone: tzinfo) -> Found:
    when = None
    if info.get("timestamp"):
        when = datetime.strptime(info["timestamp"], LMS_TIME).replace(tzinfo=zone)
    # newest first by the LMS's time, else its upload order, else the file's time
    order = (when.timestamp() if when else 0.0, int(info.get("order") or 0), member.mtime)
    return Found(path, PurePosixPath(member.name).name, info["student_id"],
                 info.get("file_id") or PurePosixPath(member.name).name, order,
                 late=bool(info.get("late")), submitted_at=when, entry=member.name)


def _member_found(upload: Found, member: Member, path: Path | None) -> Found:
    """A member of a student's archive: theirs, as new as the archive; within it the
    notebook named as expected comes first (``choose``), then the newest."""
    file_name = PurePosixPath(member.name).name
    order = (*upload.order, member.mtime)
    return Found(path, f"{upload.name}/{member.name}", upload.lms_id, file_name, order,
                 upload.late, upload.submitted_at, upload.entry)


def _download_entry(member: Member, names: LmsCollector, lms: str, work: Path,
                    bounds: Bounds, zone: tzinfo) -> Found | str | None:
    """The Found for one entry of the download, or why it went nowhere, or None (litter)."""
    if member.refused:  # first: ``..`` would pass for litter
        return f"{member.name} {member.refused}; not unpacked"
    if _litter(member.name):
        return None
    info = names.collect("/" + member.name)
    if info is None:
        return f"{member.name}: not named as {lms.capitalize()} names a submission"
    file_name = info.get("file_id") or PurePosixPath(member.name).name
    wanted = file_name.endswith(".ipynb") or archive_kind(file_name)
    return _found(member, info, _unpack(member, work, bounds.file_bytes) if wanted else None,
                  zone)


def read_download(source: Path, lms: str, work: Path, zone: tzinfo,
                  bounds: Bounds = DOWNLOAD) -> tuple[list[Found], list[str]]:
    """Every entry of the download that names a student, and why each other one went
    nowhere. Past ``bounds``, or unreadable, the download is a ``CommandError``."""
    if lms not in PATTERNS:
        raise CommandError(f"unknown LMS {lms!r}: choose one of {', '.join(PATTERNS)}")
    if not source.exists():
        raise CommandError(f"no such file or folder: {source}")
    kind = "folder" if source.is_dir() else archive_kind(source.name)
    if kind is None:
        raise CommandError(f"{source} is neither a folder nor a .zip or .tar archive")
    names = LmsCollector(named_regexp=PATTERNS[lms])
    found, unmatched = [], []
    try:
        for member in READERS[kind](source, Meter(bounds)):
            entry = _download_entry(member, names, lms, work, bounds, zone)
            if isinstance(entry, Found):
                found.append(entry)
            elif entry:
                unmatched.append(entry)
    except TooBig as exc:
        raise CommandError(f"the download {source} {exc}; nothing was collected (its bounds "
                           "are DOWNLOAD in autograder/grader/collecting/lms.py)") from None
    except UNREADABLE as exc:
        raise CommandError(f"could not read the download {source}: {exc}") from None
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
                unmatched.append(f"{f.name}: {lms} id {f.lms_id} is not in the roster")
                continue
        else:
            student = f.lms_id
            if not STUDENT_ID.match(student):
                unmatched.append(f"{f.name}: {lms} id {student!r} is not usable as a "
                                 "student id; give a roster that maps it")
                continue
        owned.setdefault(student, []).append(f)
    return owned, unmatched


def _upload_member(upload: Found, member: Member, work: Path, bounds: Bounds
                   ) -> Found | str | None:
    """The Found for one member of a student's archive, or what to tell them, or None."""
    holds = f"your upload {upload.file_name} holds {member.name}"
    if member.refused:  # first: ``..`` would pass for litter
        return f"{holds}, which {member.refused}; it was not unpacked"
    if _litter(member.name):
        return None
    if archive_kind(member.name):
        return f"{holds}, an archive inside an archive; it was not opened"
    wanted = member.name.endswith(".ipynb")
    return _member_found(upload, member,
                         _unpack(member, work, bounds.file_bytes) if wanted else None)


def _open_upload(upload: Found, kind: str, meter: Meter, work: Path
                 ) -> tuple[list[Found], list[str]]:
    """The files in one student's archive, and what to tell them. Past the bounds, or
    unreadable, none of it is used."""
    files, said = [], []
    together = " (with your other uploads)" if meter.files else ""
    try:
        for member in READERS[kind](upload.path, meter):
            try:
                entry = _upload_member(upload, member, work, meter.bounds)
            except FileTooBig as exc:
                said.append(f"your upload {upload.file_name} {exc}; that file was not unpacked")
                continue
            if isinstance(entry, Found):
                files.append(entry)
            elif entry:
                said.append(entry)
    except TooBig as exc:
        return [], [f"your upload {upload.file_name} {exc}{together}; it was not unpacked"]
    except Exception as exc:  # whatever a crafted archive makes zipfile or tarfile raise
        return [], [f"your upload {upload.file_name} is not a readable {kind} archive "
                    f"({exc}); it was not unpacked"]
    return files, said


def open_uploads(files: list[Found], work: Path, bounds: Bounds = UPLOAD
                 ) -> tuple[list[Found], list[str]]:
    """One student's files with each of their archives replaced by what it holds (all of it
    theirs), and what of theirs was not unpacked, said to them. ``bounds`` covers all their
    archives together."""
    meter = Meter(bounds)
    opened, said = [], []
    for f in files:
        kind = archive_kind(f.file_name)
        if kind is None:
            opened.append(f)
            continue
        inside, told = _open_upload(f, kind, meter, work)
        opened += inside
        said += told
    return opened, said


def gather(source: Path, lms: str, work: Path, roster: list[Student] | None, zone: tzinfo,
           download: Bounds = DOWNLOAD, upload: Bounds = UPLOAD
           ) -> tuple[dict[str, list[Found]], dict[str, list[str]], list[str]]:
    """student -> their files, student -> what of theirs was not unpacked, and every line
    for "not collected" (files of no one, and each student's files not unpacked). All that
    is written goes under ``work``."""
    found, unmatched = read_download(source, lms, work, zone, download)
    owned, unassigned = assign(found, roster, lms)
    troubles = {}
    for student, files in owned.items():
        owned[student], troubles[student] = open_uploads(files, work, upload)
    not_unpacked = [f"{student}: {line}" for student, lines in sorted(troubles.items())
                    for line in lines]
    return owned, troubles, unmatched + unassigned + not_unpacked


def _no_notebook(troubles: list[str], others: list[str]) -> str:
    if troubles:
        return "the download has no notebook from this student: " + "; ".join(troubles)
    if others:
        return f"the download has no notebook from this student (only {_listing(others)})"
    return "the download has no notebook from this student (their archives held no files)"


def _newest_first(found: Found, notebook: str) -> tuple:
    """The upload's order (its time, its place, the file's time), then within one archive
    the notebook named ``notebook`` before the others, then the newest member."""
    return (found.order[:3], found.file_name == notebook, found.order[3:])


def choose(student: str, files: list[Found], troubles: list[str], source: str, notebook: str
           ) -> tuple[Collected, Path | None]:
    """The student's newest notebook, and notes on everything else of theirs; with no
    notebook, their problem says why."""
    notebooks = sorted((f for f in files if f.file_name.endswith(".ipynb")),
                       key=lambda f: _newest_first(f, notebook), reverse=True)
    others = [f.name for f in files if not f.file_name.endswith(".ipynb")]
    notes = [f"not a notebook, not graded: {_listing(others)}"] if others else []
    if not notebooks:
        return Collected(student, source, problem=_no_notebook(troubles, others),
                         notes=notes), None
    kept = notebooks[0]
    notes = troubles + notes + [f"older file not graded: {f.name}" for f in notebooks[1:]]
    if kept.file_name != notebook:
        notes.append(f"submitted as {kept.file_name}")
    when = kept.submitted_at.isoformat() if kept.submitted_at else None
    return Collected(student, kept.name, submitted_at=when, late=kept.late, notes=notes,
                     entry=kept.entry, lms_id=kept.lms_id,
                     time_source="blackboard attempt name" if when else None), kept.path


def with_time(entry: Collected, handed: HandIn | None) -> Collected:
    """``entry`` with the hand-in time and late verdict of the LMS's export, when it has one
    for this student; the download's LATE marker stays when the export gives no verdict."""
    if handed is None or entry.problem:
        return entry
    if handed.submitted_at is not None:
        entry.submitted_at = handed.submitted_at.isoformat()
        entry.time_source = handed.source
    if handed.late is not None:
        entry.late = handed.late
    return entry


def collect(source: Path, lms: str, out_dir: Path, notebook: str,
            roster: list[Student] | None = None, zone: tzinfo | None = None,
            download: Bounds = DOWNLOAD, upload: Bounds = UPLOAD,
            times: dict[str, HandIn] | None = None) -> Collection:
    """Write ``out_dir/<student>/<notebook>`` (the assignment's notebook name) and
    ``collection.json``.

    ``zone``: the LMS server's time zone, for times it writes without one (default: this
    machine's). ``download`` bounds the LMS's download, ``upload`` each student's archives.
    ``times``: LMS id -> what the LMS's own export says of the hand-in (``times.py``)."""
    zone = zone or datetime.now().astimezone().tzinfo
    new_class_dir(out_dir)
    with tempfile.TemporaryDirectory(prefix="collect-") as tmp:
        owned, troubles, unmatched = gather(source, lms, Path(tmp), roster, zone, download,
                                            upload)
        people = {s.student: s for s in roster or []}
        students = []
        for student in sorted(set(owned) | set(people)):
            (out_dir / student).mkdir(parents=True)  # even when empty: grade reports why
            if student not in owned:
                students.append(with_person(Collected(student, str(source), problem=(
                    f"nothing in the download for this student ({lms} id "
                    f"{people[student].lms_id})")), people[student]))
                continue
            entry, kept = choose(student, owned[student], troubles[student], str(source),
                                 notebook)
            if kept is not None:
                shutil.copyfile(kept, out_dir / student / notebook)
            entry = with_time(entry, (times or {}).get(entry.lms_id or ""))
            students.append(with_person(entry, people[student]) if student in people else entry)
    collection = Collection(lms, str(source), students, unmatched)
    report.write_document(out_dir / FILE, collection.as_dict())
    return collection
