"""The feedback pages packed as the zip each LMS takes back in bulk (``write``).

Each page is named so that the LMS's own importer gives it to the same student the download
said the graded file came from. What each importer reads, from its code:

- **Canvas** ("Re-Upload Submissions" on the assignment page): instructure/canvas-lms,
  ``app/models/abstract_assignment.rb``, ``generate_comments_from_files`` and
  ``infer_comment_context_from_filename``. Of each file it takes ``File.basename``, splits it
  on ``_``, drops every ``LATE`` part; if the first part left is ``anon`` the next two are
  the anonymous id and the attachment id, else the first two parts matching ``/^\\d+$/``
  are the user id and the attachment id. No attachment id when the last part starts with
  ``link`` or the name with ``._``. The file is taken only if that attachment is one of the
  student's current submission's (``submission.attachments``), so the attachment id must be
  the download's and a student who resubmitted since the download is skipped. Nothing else
  of the name is read. So a page is named the download entry's own prefix, up to and
  including the attachment id (``{lastfirst}[_LATE]_{user_id}_{attachment_id}``, written by
  ``lib/content_zipper.rb``, ``get_filename``: only ``[[:word:]]`` characters), then
  ``_{notebook}_feedback.html``. Canvas attaches it to a comment ("See attached file") under
  the *original* file's display name (``display_name: attachment.display_name``), so the
  student sees the page named like their notebook (canvas-lms issue #2406). Without the
  download entry there is no attachment id, and no name Canvas would take.
- **Moodle** ("Upload multiple feedback files in a zip", feedback plugin ``assignfeedback_file``):
  moodle/moodle, ``mod/assign/feedback/file/importziplib.php``,
  ``assignfeedback_file_zip_importer::is_valid_filename_for_import``. It splits the path on
  ``/`` and each part with ``explode('_', $part, 5)``: the first part with at least four
  pieces whose second is numeric, a participant of the assignment and followed by a plugin
  (``assign::get_plugin_by_type``) names the student; the rest of the path is the feedback
  file's name. The participant id is per assignment (``get_uniqueid_for_user``), the
  ``lms_id`` collect records. The name part is never read. A page goes in the folder the
  submissions download writes (``mod/assign/classes/downloader.php``,
  ``get_student_prefix``: the full name with ``_`` made a space, then ``_{participant id}``;
  ``load_submissionplugin_filelist``: ``{prefix}_assignsubmission_file/``), and is stored
  as the student's feedback file ``{notebook}_feedback.html``. Times are not compared:
  ``is_file_modified`` skips a file only when a current file of that plugin has the same
  name and content, and ``import_zip_files`` replaces a feedback file of the same name, so
  importing again replaces the pages. Only the participants of the group selected on the
  grading page are matched (``groups_get_activity_group``). Moodle needs no download entry:
  without one, the student's name (or id) stands in the name part.
- **Blackboard** Learn has no bulk upload of feedback files: Grade Center's Work Offline >
  Upload takes grades only, keyed by username, and grades and feedback are given per
  attempt on the Grade Assignment page (Blackboard Help, "Grade Assignments" and "Uploading
  or Downloading Grade Center Items for Working Offline"; "Blackboard does not provide a
  batch upload option for sending files back to students", University of Toronto's
  Blackboard guide). The zip holds one folder per username with the page, and
  ``README.txt`` saying how to attach them.

``lms_id``, ``entry`` and ``name`` come from file names in a download that students named,
so a member name is built from checked parts only:

- every part is as the LMS itself writes it (Canvas's prefix: word characters; a Moodle
  name: no control or invisible formatting character, ``/``, ``\\``, ``..``, nor a
  character Windows refuses; a username: letters, digits, ``_.@+-``), and an entry must be
  relative, without ``..``, control characters or backslashes;
- the entry must name the student's ``lms_id``: the download is the LMS's, so an entry that
  reads as someone else is tampering or a mistake, and the page is not given to anyone;
- the name written is read back with the LMS's rule and must give the same student;
- two students the LMS would read as one (the same id), or whose names are the same (case
  and Unicode form aside, as a Mac or Windows unpacks them), are both left out: which of
  them is right cannot be told.

A student left out is listed with the reason, for the instructor to attach by hand. The zip
is written to a temporary file beside ``out`` and renamed, so no half-written zip is ever
``out``; it holds every student's feedback, so it is readable by its owner only. Members
carry a fixed time (nothing reads it) so the same pages make the same zip.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.grader.returning.output import replacing

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry
MAX_NAME_BYTES = 255  # one file name on the file systems these zips are unpacked on
NOTEBOOK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# Ruby's [[:word:]] (Onigmo, Unicode): what Canvas's sanitize_file_name keeps
WORD = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Pc"}
# controls, invisible formatting (bidi overrides, zero widths), surrogates, line breaks
UNSEEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}
WINDOWS_REFUSES = set('<>:"|?*')
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt")
                                                 for i in range(1, 10))}
CANVAS_ID = re.compile(r"[0-9]+|anon_[A-Za-z0-9]+")  # as collect records it
# Ruby's /^\d+$/, /^link/ and /^\._/: line anchors, ASCII digits
RUBY_DIGITS = re.compile(r"^[0-9]+$", re.M)
RUBY_LINK = re.compile(r"^link", re.M)
RUBY_DOT_UNDERSCORE = re.compile(r"^\._", re.M)
MOODLE_ID = re.compile(r"[1-9][0-9]{0,17}")  # a participant id; PHP reads 0123 as 123
PHP_NUMERIC = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
MOODLE_PLUGIN = ["assignsubmission", "file"]
BLACKBOARD_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
BLACKBOARD_ATTEMPT = re.compile(
    r"(?P<before>.*?)_attempt_[0-9]{4}(?:-[0-9]{2}){5}(?:_|\.txt$)", re.S)
README = "README.txt"
BLACKBOARD_README = """\
Feedback pages, one folder per Blackboard username: <username>/{page}

Blackboard Learn has no bulk upload of feedback files (Grade Center's Work Offline >
Upload takes grades only), so attach each page to its student's attempt:

- Original courses: Grade Center > Full Grade Center > the student's cell in the
  assignment's column > View Grade Details > the attempt (Grade Attempt); under Feedback
  to Learner attach the page from the student's folder (Browse My Computer), then Submit.
- Ultra courses: Gradebook > the assignment > the student's submission; add the page to
  the feedback with the editor's insert-file button and save.

Students without a folder here were left out by the command that wrote this zip, which
listed each with the reason.
"""


@dataclass(frozen=True)
class Page:
    student: str          # our student id
    path: Path            # the feedback HTML page (exists)
    lms_id: str           # Canvas user id, Moodle participant id, or Blackboard username
    entry: str | None     # the graded file's name in the LMS download, as the download named
                          # it; None when the student has no entry (nothing submitted)
    name: str = ""        # display name, may be empty


@dataclass
class Zipped:
    path: Path
    names: dict[str, str]   # student -> the member name in the zip
    left_out: list[str]     # "student: why"


Named = tuple[tuple[str, ...] | None, str | None, str | None]  # (who, member, why not)


def page_file(notebook: str) -> str:
    """The page's own file name, ``{notebook}_feedback.html``; a stem already ending in
    ``feedback`` (the default) is not doubled. The stem is ours, so a bad one is an error."""
    if not NOTEBOOK.fullmatch(notebook):
        raise ValueError(f"notebook stem {notebook!r}: letters, digits, _ and - only")
    return f"{notebook}.html" if notebook.endswith("feedback") else f"{notebook}_feedback.html"


def _unseen(text: str) -> bool:
    return any(unicodedata.category(c) in UNSEEN for c in text)


def _entry_problem(entry: str, folders: bool) -> str | None:
    """Why a download entry cannot be the LMS's own, or None. Only Moodle's has folders."""
    if _unseen(entry):
        return f"the download entry {entry!r} has a control character"
    if not entry or entry.startswith("/") or "\\" in entry:
        return f"the download entry {entry!r} is empty, absolute or has a backslash"
    parts = entry.split("/")
    if any(p in ("", ".", "..") or ".." in p for p in parts):
        return f"the download entry {entry!r} has an empty part or '..'"
    if len(parts) > 1 and not folders:
        return f"the download entry {entry!r} is in a folder, which this LMS never writes"
    return None


def canvas_reads(name: str) -> tuple[str | None, str | None, int]:
    """Canvas's ``infer_comment_context_from_filename``, without its database: the student
    (``anon_<id>`` or the user id), the attachment id (None when Canvas would take none),
    and the attachment id's index in ``basename.split("_")``."""
    base = name.rsplit("/", 1)[-1]
    parts = base.split("_")
    while parts and parts[-1] == "":  # Ruby's String#split drops trailing empty fields
        parts.pop()
    kept = [i for i, p in enumerate(parts) if p != "LATE"]
    if kept and parts[kept[0]] == "anon":
        who = f"anon_{parts[kept[1]]}" if len(kept) > 1 else None
        at = kept[2] if len(kept) > 2 else None
    else:
        digits = [i for i in kept if RUBY_DIGITS.search(parts[i])]
        who = parts[digits[0]] if digits else None
        at = digits[1] if len(digits) > 1 else None
    if at is None or RUBY_LINK.search(parts[kept[-1]]) or RUBY_DOT_UNDERSCORE.search(base):
        return who, None, -1
    return who, parts[at], at


def _canvas(page: Page, page_name: str) -> Named:
    if not CANVAS_ID.fullmatch(page.lms_id):
        return None, None, f"lms_id {page.lms_id!r} is not a Canvas user id"
    if page.entry is None:
        return None, None, ("Canvas takes a page back only under the download's name for the "
                            "student's file (its attachment id), and there is none")
    if problem := _entry_problem(page.entry, folders=False):
        return None, None, problem
    who, attachment, at = canvas_reads(page.entry)
    if who != page.lms_id:
        return None, None, (f"Canvas reads the download entry {page.entry!r} as user {who!r}, "
                            f"not the student's lms_id {page.lms_id!r}")
    if attachment is None:
        return None, None, (f"the download entry {page.entry!r} names no uploaded file "
                            "(a text or URL submission), which Canvas cannot answer with a file")
    prefix = "_".join(page.entry.split("_")[:at + 1])
    if not all(unicodedata.category(c) in WORD for c in prefix):
        return None, None, (f"the download entry's prefix {prefix!r} is not as Canvas writes "
                            "it (letters, digits and _ only)")
    member = f"{prefix}_{page_name}"
    if canvas_reads(member)[:2] != (page.lms_id, attachment):
        return None, None, f"Canvas would not read {member!r} as this student's"
    return ("canvas", page.lms_id), member, None


def moodle_reads(path: str) -> str | None:
    """The participant id Moodle's ``is_valid_filename_for_import`` reads from a zip member
    (extracted under ``/import/``), when exactly one part of its path can name one: parts
    with fewer than four ``_`` pieces, or a second piece that is not numeric, are passed."""
    candidates = []
    for part in f"/import/{path}".split("/"):
        info = part.split("_", 4)  # PHP's explode('_', $part, 5)
        if len(info) >= 4 and PHP_NUMERIC.fullmatch(info[1]):
            candidates.append(info)
    if len(candidates) != 1 or candidates[0][2:4] != MOODLE_PLUGIN:
        return None
    return candidates[0][1]


def _person_problem(person: str) -> str | None:
    if (_unseen(person) or "/" in person or "\\" in person or ".." in person
            or WINDOWS_REFUSES & set(person)):
        return (f"the name {person!r} has a character no Moodle download name has (a control "
                "character, / \\ .. or one of <>:\"|?*)")
    return None


def _moodle(page: Page, page_name: str) -> Named:
    if not MOODLE_ID.fullmatch(page.lms_id):
        return None, None, f"lms_id {page.lms_id!r} is not a Moodle participant id"
    if page.entry is None:
        person = (page.name or page.student).replace("_", " ")  # as the downloader does
    else:
        if problem := _entry_problem(page.entry, folders=True):
            return None, None, problem
        info = page.entry.split("/", 1)[0].split("_", 4)
        if len(info) < 4 or info[2:4] != MOODLE_PLUGIN:
            return None, None, (f"the download entry {page.entry!r} is not named as Moodle's "
                                "download names a file submission")
        if info[1] != page.lms_id:
            return None, None, (f"the download entry {page.entry!r} names participant "
                                f"{info[1]!r}, not the student's lms_id {page.lms_id!r}")
        person = info[0]
    if problem := _person_problem(person):
        return None, None, problem
    member = f"{person}_{page.lms_id}_{'_'.join(MOODLE_PLUGIN)}/{page_name}"
    if moodle_reads(member) != page.lms_id:
        return None, None, f"Moodle would not read {member!r} as this student's"
    return ("moodle", page.lms_id), member, None


def _blackboard(page: Page, page_name: str) -> Named:
    user = page.lms_id
    if (not BLACKBOARD_USER.fullmatch(user) or ".." in user
            or user.split(".")[0].casefold() in WINDOWS_DEVICES
            or user.casefold() == README.casefold()):
        return None, None, (f"lms_id {user!r} cannot be a folder name here (letters, digits "
                            "and _.@+- only, not a Windows device name nor README.txt)")
    if page.entry is not None:
        if problem := _entry_problem(page.entry, folders=False):
            return None, None, problem
        attempt = BLACKBOARD_ATTEMPT.match(page.entry)
        if not attempt or not attempt["before"].endswith(f"_{user}"):
            return None, None, (f"the download entry {page.entry!r} is not the attempt of "
                                f"username {user!r}")
    return ("blackboard", user.casefold()), f"{user}/{page_name}", None


NAMERS: dict[str, Callable[[Page, str], Named]] = {
    "canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard}
LMS_NAMES = {"canvas": "Canvas", "moodle": "Moodle", "blackboard": "Blackboard"}


def member_problem(name: str) -> str | None:
    """Why a member name could reach outside the folder it is unpacked in, or None: at most
    one folder level, no empty, ``.`` or ``..`` part, no backslash, control character or
    absolute path, no part longer than a file name can be."""
    parts = name.split("/")
    if (_unseen(name) or "\\" in name or ".." in name or len(parts) > 2
            or any(p in ("", ".") for p in parts)):
        return f"the name {name!r} is not a safe zip member name"
    if any(len(p.encode()) > MAX_NAME_BYTES for p in parts):
        return f"the name {name!r} is longer than a file name can be"
    return None


def _fold(name: str) -> str:
    """A name as a case-insensitive file system that normalizes Unicode sees it."""
    return unicodedata.normalize("NFC", name).casefold()


def _choose(lms: str, pages: Sequence[Page], page_name: str
            ) -> tuple[list[tuple[Page, str]], list[str]]:
    """Each page's member name, or why it is left out."""
    left_out, named = [], []
    listed = Counter(p.student for p in pages)
    for page in pages:
        who = member = None
        if listed[page.student] > 1:
            why = f"listed {listed[page.student]} times"
        elif not page.path.is_file():
            why = f"no feedback page at {page.path}"
        else:
            who, member, why = NAMERS[lms](page, page_name)
            why = why or member_problem(member or "")
        if why:
            left_out.append(f"{page.student}: {why}")
        else:
            named.append((page, who, member))
    claims: dict[object, set[str]] = defaultdict(set)
    for page, who, member in named:
        claims[who].add(page.student)
        claims[_fold(member)].add(page.student)
    chosen = []
    for page, who, member in named:
        others = (claims[who] | claims[_fold(member)]) - {page.student}
        if others:
            left_out.append(f"{page.student}: {LMS_NAMES[lms]} would take "
                            f"{', '.join(sorted(others))} for the same student or file; which "
                            "is right cannot be told")
        else:
            chosen.append((page, member))
    return chosen, left_out


def _zip_to(out: Path, members: list[tuple[str, Path | str]]) -> None:
    """The whole zip or none (``output.replacing``)."""
    with replacing(out) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in members:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16  # a plain file, rw-r--r--
            if isinstance(source, str):
                archive.writestr(info, source)
                continue
            with source.open("rb") as src, archive.open(info, "w") as dst:
                shutil.copyfileobj(src, dst)


def write(lms: str, pages: Sequence[Page], out: Path, notebook: str = "feedback") -> Zipped:
    """The pages as the zip ``lms`` takes in bulk (``canvas``, ``moodle``, ``blackboard``),
    written to ``out``; the students left out, each with the reason."""
    if lms not in NAMERS:
        raise ValueError(f"unknown LMS {lms!r}: one of {', '.join(NAMERS)}")
    page_name = page_file(notebook)
    chosen, left_out = _choose(lms, pages, page_name)
    members: list[tuple[str, Path | str]] = [(m, p.path) for p, m in chosen]
    if lms == "blackboard":
        members.insert(0, (README, BLACKBOARD_README.format(page=page_name)))
    _zip_to(out, members)
    return Zipped(out, {p.student: m for p, m in chosen}, left_out)
