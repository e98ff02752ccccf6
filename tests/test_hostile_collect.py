"""collect --from LMS against a hostile classmate: each attack is first shown working on the
flow main had (plain nbgrader: its ``ExtractorPlugin`` unpacks the download and every
archive in it, then its ``FileNameCollectorPlugin`` with main's pattern reads every unpacked
notebook's path), then failing on ``collect``. Every download is built here with zipfile and
tarfile, in each LMS's own naming (tests/test_collect_lms.py shows the honest cases).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from datetime import UTC
from pathlib import Path

import pytest
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from setuptools.archive_util import UnrecognizedFormat

from autograder.cli import main
from autograder.grader.collected import FILE
from autograder.grader.collecting import lms
from autograder.records import CommandError

from helpers import ASSIGNMENT_ID, NOTEBOOK_NAME, ROOT

MiB = 2**20
# The patterns on main (before this change): a greedy ".*/" reads the innermost name.
MAIN_PATTERNS = {
    "canvas": r".*/(?:(?P<name>[^/]+?)_)??(?P<late>LATE_)?(?P<student_id>anon_[A-Za-z0-9]+|\d+)"
              r"_(?P<order>\d+)_(?P<file_id>[^/]+)$",
    "moodle": r".*/(?P<name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_file"
              r"(?:_|/(?:[^/]+/)*)(?P<file_id>[^/]+)$",
    "blackboard": r".*/(?P<assignment>[^/]*)_(?P<student_id>[^/_]+)_attempt_"
                  r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file_id>[^/]+)|\.txt)$",
}


def nb(marker: str) -> str:
    return json.dumps({"cells": [], "metadata": {"who": marker}, "nbformat": 4,
                       "nbformat_minor": 5})


def zip_bytes(entries: dict[str, str | bytes], modes: dict[str, int] | None = None,
              method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip in memory; ``modes`` gives a member a Unix file type (a link, a device)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, (2026, 11, 30, 12, 0, 0))
            info.compress_type = method
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def tar_member(name: str, data: str | None = None, **fields) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    raw = (data or "").encode()
    info.size, info.mtime = len(raw), 1_796_000_000
    for key, value in fields.items():
        setattr(info, key, value)
    return info, raw


def tar_gz_bytes(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, raw in members:
            archive.addfile(info, io.BytesIO(raw) if info.isreg() else None)
    return buffer.getvalue()


def make_download(path: Path, entries: dict[str, str | bytes], form: str = "zip") -> Path:
    """The LMS's download as a zip, or as the folder it unpacks to."""
    if form == "zip":
        path.write_bytes(zip_bytes(entries))
        return path
    for name, data in entries.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def on_main(download: Path, lms_name: str, work: Path) -> dict[str, list[tuple[int, str]]]:
    """Main's flow from nbgrader's own classes: LMS id -> (upload order, marker) of each
    notebook its pattern gave that id (main kept the largest order)."""
    archive, extracted = work / "archive", work / "extracted"
    extracted.mkdir(parents=True)
    if download.is_dir():
        archive = download
    else:
        archive.mkdir()
        shutil.copy(download, archive)
    ExtractorPlugin().extract(str(archive), str(extracted))
    names = FileNameCollectorPlugin(named_regexp=MAIN_PATTERNS[lms_name])
    owners: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(extracted.rglob("*.ipynb")):
        info = names.collect(str(path))
        if info:
            who = json.loads(path.read_text())["metadata"]["who"]
            owners.setdefault(info["student_id"], []).append((int(info.get("order") or 0), who))
    return owners


def bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def kept(out: Path, student: str) -> str:
    return json.loads((out / student / NOTEBOOK_NAME).read_text())["metadata"]["who"]


def record(out: Path) -> dict:
    return json.loads((out / FILE).read_text())


def run(*args) -> int:
    """`collect ARGS` for the repository's digit_recognition, named (it may hold others)."""
    return main(["collect", *map(str, args), "--assignment", ASSIGNMENT_ID])


def test_a_notebook_inside_a_canvas_upload_is_its_uploaders(tmp_path: Path):
    """Mallory's zip carries notebooks named as Jane's Canvas upload (with a larger
    attachment id) and as a student who submitted nothing."""
    download = make_download(tmp_path / "submissions.zip", {
        "doejane_456_900_digit_recognition.ipynb": nb("jane"),
        "malloryeve_777_901_work.zip": zip_bytes({
            NOTEBOOK_NAME: nb("mallory"),
            "doejane_456_999_digit_recognition.ipynb": nb("forged for jane"),
            "nobodyghost_555_999_digit_recognition.ipynb": nb("forged for ghost")})})

    owners = on_main(download, "canvas", tmp_path / "main")
    assert max(owners["456"]) == (999, "forged for jane")  # replaces Jane's notebook
    assert owners["555"] == [(999, "forged for ghost")]  # someone who submitted nothing
    assert "777" not in owners  # and Mallory's own notebook in her zip went to no one

    out = tmp_path / "class"
    done = subprocess.run([sys.executable, "-m", "autograder", "collect", str(download),
                           "--from", "canvas", str(out), "--assignment", ASSIGNMENT_ID],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["456", "777", FILE]
    assert kept(out, "456") == "jane" and kept(out, "777") == "mallory"
    mallory = record(out)["students"]["777"]
    assert mallory["source"] == "malloryeve_777_901_work.zip/digit_recognition.ipynb"
    assert "older file not graded: malloryeve_777_901_work.zip/doejane_456_999_digit_" \
           "recognition.ipynb" in mallory["notes"]


def test_a_notebook_inside_a_moodle_upload_is_its_uploaders(tmp_path: Path):
    """Eve's zip holds Jane's Moodle folder and a blind-marking name of someone else: both
    notebooks are Eve's (the one named as expected is kept)."""
    download = make_download(tmp_path / "course-Digits-42.zip", {
        "Jane Doe_1234568_assignsubmission_file/digit_recognition.ipynb": nb("jane"),
        "Eve Mallory_1234567_assignsubmission_file/work.zip": zip_bytes({
            "Jane Doe_1234568_assignsubmission_file/digit_recognition.ipynb": nb("forged"),
            "Participant_1234599_assignsubmission_file_digit_recognition.ipynb":
                nb("forged for ghost")})})

    owners = on_main(download, "moodle", tmp_path / "main")
    assert (0, "forged") in owners["1234568"]
    assert owners["1234599"] == [(0, "forged for ghost")]

    out = tmp_path / "class"
    assert run(download, "--from", "moodle", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["1234567", "1234568", FILE]
    assert kept(out, "1234568") == "jane" and kept(out, "1234567") == "forged"


@pytest.mark.parametrize(("lms_name", "entries", "victim", "uploader"), [
    # Blackboard appends the student's own file name to its prefix.
    ("blackboard", {
        "Digits Lab_hacker_attempt_2026-11-29-08-00-00_digit_recognition.ipynb": nb("victim"),
        "Digits Lab_mallory_attempt_2026-11-30-08-00-00_x_hacker_attempt_2026-12-01-09-00-00_"
        "digit_recognition.ipynb": nb("forged")}, "hacker", "mallory"),
    # Moodle keeps the folders a student made in their submission.
    ("moodle", {
        "Jane Doe_1234568_assignsubmission_file/digit_recognition.ipynb": nb("victim"),
        "Eve Mallory_1234567_assignsubmission_file/Jane Doe_1234568_assignsubmission_file/"
        "digit_recognition.ipynb": nb("forged")}, "1234568", "1234567"),
], ids=["blackboard-file-name", "moodle-folder"])
def test_a_name_after_the_lms_prefix_cannot_name_a_classmate(tmp_path: Path, lms_name,
                                                             entries, victim, uploader):
    download = make_download(tmp_path / "download.zip", entries)
    owners = on_main(download, lms_name, tmp_path / "main")
    assert "forged" in [who for _, who in owners[victim]] and uploader not in owners

    out = tmp_path / "class"
    assert run(download, "--from", lms_name, out) == 0
    assert kept(out, uploader) == "forged"
    assert kept(out, victim) == "victim"


def test_an_archive_inside_an_upload_is_not_opened(tmp_path: Path):
    """A download of about a kilobyte whose upload's inner archive unpacks to 192 MiB on
    main (zeros in zips in a zip)."""
    inner = zip_bytes({"zeros.bin": bytes(48 * MiB)})
    bomb = zip_bytes({f"part{i}.zip": inner for i in range(4)}, method=zipfile.ZIP_STORED)
    download = make_download(tmp_path / "submissions.zip", {
        "doejane_456_900_digit_recognition.ipynb": nb("jane"),
        "malloryeve_777_901_work.zip": zip_bytes({NOTEBOOK_NAME: nb("mallory"),
                                                  "bomb.zip": bomb})})
    assert download.stat().st_size < MiB

    on_main(download, "canvas", tmp_path / "main")
    assert bytes_under(tmp_path / "main" / "extracted") > 192 * MiB
    shutil.rmtree(tmp_path / "main")

    work = tmp_path / "work"
    work.mkdir()
    owned, troubles, not_collected = lms.gather(download, "canvas", work, None, UTC)
    assert bytes_under(work) < MiB
    assert [f.file_name for f in owned["777"]] == [NOTEBOOK_NAME]
    said = "your upload work.zip holds bomb.zip, an archive inside an archive; it was not opened"
    assert troubles["777"] == [said] and not_collected == [f"777: {said}"]

    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 1  # bomb.zip is listed as not collected
    assert kept(out, "777") == "mallory" and kept(out, "456") == "jane"
    assert said in record(out)["students"]["777"]["notes"]


SMALL = lms.Bounds(total_bytes=4 * MiB, file_bytes=2 * MiB, files=20)


@pytest.mark.parametrize("form", ["zip", "tar.gz"])
@pytest.mark.parametrize(("bound", "members", "said", "keeps"), [
    ("total_bytes", {f"copy{i}.ipynb": "x" * (2 * MiB - 1000) for i in range(3)},
     "your upload work.{form} expands past 4 MiB; it was not unpacked", False),
    ("file_bytes", {"big.ipynb": "x" * 3 * MiB, NOTEBOOK_NAME: nb("mallory")},
     "your upload work.{form} holds big.ipynb, larger than 2 MiB; that file was not unpacked",
     True),
    ("files", {f"f{i}.txt": "x" for i in range(30)},
     "your upload work.{form} holds more than 20 files; it was not unpacked", False),
], ids=["total-bytes", "bytes-per-file", "files"])
def test_an_upload_past_the_bounds_is_not_unpacked(tmp_path: Path, form, bound, members,
                                                   said, keeps):
    if form == "zip":
        upload = zip_bytes(members)
    else:
        upload = tar_gz_bytes([tar_member(name, text) for name, text in members.items()])
    download = make_download(tmp_path / "submissions.zip", {
        "doejane_456_900_digit_recognition.ipynb": nb("jane"),
        f"malloryeve_777_901_work.{form}": upload})

    on_main(download, "canvas", tmp_path / "main")
    uploaded = tmp_path / "main" / "extracted" / "submissions"
    sizes = [p.stat().st_size for p in uploaded.rglob("*") if p.is_file()]
    measured = {"total_bytes": sum(sizes), "file_bytes": max(sizes), "files": len(sizes)}
    assert measured[bound] > getattr(SMALL, bound)  # main: no bound at all

    out = tmp_path / "class"
    collection = lms.collect(download, "canvas", out, NOTEBOOK_NAME, upload=SMALL)
    said = said.format(form=form)
    mallory = {s.student: s for s in collection.students}["777"]
    assert f"777: {said}" in collection.unmatched  # so collect exits 1
    assert kept(out, "456") == "jane"
    if keeps:
        assert kept(out, "777") == "mallory" and said in mallory.notes
    else:
        assert mallory.problem == f"the download has no notebook from this student: {said}"
        assert not (out / "777" / NOTEBOOK_NAME).exists()


@pytest.mark.parametrize(("bounds", "message"), [
    (lms.Bounds(total_bytes=4 * MiB, file_bytes=4 * MiB, files=100), "expands past 4 MiB"),
    (lms.Bounds(total_bytes=64 * MiB, file_bytes=2 * MiB, files=100),
     "holds bitdiddleben_123_700_digit_recognition.ipynb, larger than 2 MiB"),
    (lms.Bounds(total_bytes=64 * MiB, file_bytes=4 * MiB, files=20), "holds more than 20 files"),
], ids=["total-bytes", "bytes-per-file", "files"])
def test_a_download_past_its_bounds_is_a_clear_error(tmp_path: Path, bounds, message):
    entries = {f"student{i}_{1000 + i}_{i}_digit_recognition.ipynb": nb(str(i))
               for i in range(25)}
    entries["bitdiddleben_123_700_digit_recognition.ipynb"] = nb("x" * 3 * MiB)
    entries["hackeralyssa_124_701_digit_recognition.ipynb"] = nb("x" * 3 * MiB)
    download = make_download(tmp_path / "submissions.zip", entries)

    on_main(download, "canvas", tmp_path / "main")
    assert bytes_under(tmp_path / "main" / "extracted") > 6 * MiB  # no bound at all

    with pytest.raises(CommandError, match=f"the download .*submissions.zip {message}; "
                                           "nothing was collected"):
        lms.collect(download, "canvas", tmp_path / "class", NOTEBOOK_NAME, download=bounds)


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_a_corrupt_archive_is_its_uploaders_problem_alone(tmp_path: Path, form):
    crc_broken = zip_bytes({NOTEBOOK_NAME: nb("ben, in a zip")}, method=zipfile.ZIP_STORED)
    crc_broken = crc_broken.replace(b"ben, in a zip", b"ben, IN A ZIP")
    # a member name flagged UTF-8 that is not: zipfile raises UnicodeDecodeError on opening
    bad_name = zip_bytes({"\u00e9.ipynb": nb("dan")}).replace("\u00e9".encode(), b"\xff\xfe")
    entries = {
        "doejane_456_900_digit_recognition.ipynb": nb("jane"),
        "malloryeve_777_901_work.zip": "this is not a zip",
        "reasonercy_888_902_work.zip": zip_bytes({NOTEBOOK_NAME: nb("cy"),
                                                  "data.zip": "nor is this"}),
        "bitdiddleben_999_800_digit_recognition.ipynb": nb("ben"),
        "bitdiddleben_999_903_work.zip": crc_broken,
        "reasonerdan_555_904_work.zip": bad_name,
    }
    download = make_download(tmp_path / ("submissions.zip" if form == "zip" else "unpacked"),
                             entries, form)

    with pytest.raises((UnrecognizedFormat, zipfile.BadZipFile)):  # the whole class stops
        on_main(download, "canvas", tmp_path / "main")

    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 1
    students = record(out)["students"]
    assert kept(out, "456") == "jane" and kept(out, "888") == "cy" and kept(out, "999") == "ben"
    assert students["777"]["problem"] == (
        "the download has no notebook from this student: your upload work.zip is not a "
        "readable zip archive (File is not a zip file); it was not unpacked")
    assert not (out / "777" / NOTEBOOK_NAME).exists()
    assert ("your upload work.zip holds data.zip, an archive inside an archive; it was not "
            "opened") in students["888"]["notes"]
    [ben] = [n for n in students["999"]["notes"] if n.startswith("your upload")]
    assert ben.startswith("your upload work.zip is not a readable zip archive (Bad CRC-32")
    assert students["555"]["problem"].startswith(
        "the download has no notebook from this student: your upload work.zip is not a "
        "readable zip archive ('utf-8' codec can't decode")


def test_a_sparse_member_is_refused_not_unpacked(tmp_path: Path, monkeypatch):
    """A sparse member's holes come out of tarfile without passing the meter: 60 MiB
    from a tar.gz of a few hundred bytes (GNU tar writes them; tarfile cannot)."""
    work = tmp_path / "work"
    work.mkdir()
    with (work / NOTEBOOK_NAME).open("wb") as hole:
        hole.truncate(60 * MiB)
    upload = tmp_path / "upload.tar.gz"
    subprocess.run(["tar", "--sparse", "-czf", str(upload), "-C", str(work), NOTEBOOK_NAME],
                   check=True)
    assert upload.stat().st_size < 4096
    download = make_download(tmp_path / "submissions.zip",
                             {"malloryeve_777_901_work.tar.gz": upload.read_bytes(),
                              "doejane_456_900_digit_recognition.ipynb": nb("jane")})
    with monkeypatch.context() as unchecked:  # without the refusal: 60 MiB written, uncounted
        unchecked.setattr(lms, "_tar_refusal", lambda info: None)
        lms.collect(download, "canvas", tmp_path / "unchecked", NOTEBOOK_NAME)
    assert (tmp_path / "unchecked" / "777" / NOTEBOOK_NAME).stat().st_size == 60 * MiB
    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 1
    problem = record(out)["students"]["777"]["problem"]
    assert f"holds {NOTEBOOK_NAME}, which is a sparse file; it was not unpacked" in problem
    assert kept(out, "456") == "jane"


def test_members_that_climb_out_or_are_links_are_refused(tmp_path: Path):
    """nbgrader's unpacker (setuptools') drops these members without a word; the baseline
    shown is tarfile without a filter, the default extraction before Python 3.14."""
    secret = tmp_path / "instructor" / "solution.ipynb"
    secret.parent.mkdir()
    secret.write_text(nb("the instructor's solution"))
    absolute = tmp_path / "absolute.ipynb"
    upload = tar_gz_bytes([
        tar_member("lab.ipynb", nb("mallory")),
        tar_member("../../escaped.ipynb", nb("escaped")),
        tar_member(str(absolute), nb("absolute")),
        tar_member(NOTEBOOK_NAME, type=tarfile.SYMTYPE, linkname=str(secret)),
        tar_member("hard.ipynb", type=tarfile.LNKTYPE, linkname=str(secret)),
        tar_member("pipe.ipynb", type=tarfile.FIFOTYPE),
    ])
    cy_upload = zip_bytes({
        "lab.ipynb": nb("cy"), NOTEBOOK_NAME: str(secret), "../escaped.ipynb": nb("x"),
        "/absolute.ipynb": nb("x"), "device.ipynb": ""},
        modes={NOTEBOOK_NAME: stat.S_IFLNK | 0o777, "device.ipynb": stat.S_IFCHR | 0o644})
    download = make_download(tmp_path / "submissions.zip", {
        "malloryeve_777_901_work.tar.gz": upload, "reasonercy_888_902_work.zip": cy_upload})

    plain = tmp_path / "plain" / "a" / "b"
    plain.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(upload)) as archive:
        archive.extractall(plain, filter="fully_trusted")
    assert (tmp_path / "plain" / "escaped.ipynb").exists() and absolute.exists()
    assert (plain / NOTEBOOK_NAME).read_text() == secret.read_text()
    assert os.path.samefile(plain / "hard.ipynb", secret)  # a write there changes it
    assert stat.S_ISFIFO((plain / "pipe.ipynb").lstat().st_mode)  # opening it blocks
    absolute.unlink()

    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 1
    assert kept(out, "777") == "mallory" and kept(out, "888") == "cy"
    for student in ("777", "888"):
        written = (out / student / NOTEBOOK_NAME).lstat()
        assert stat.S_ISREG(written.st_mode) and written.st_nlink == 1
    assert not absolute.exists() and not Path("/absolute.ipynb").exists()
    assert [p.name for p in tmp_path.rglob("escaped.ipynb")] == ["escaped.ipynb"]  # plain's
    students = record(out)["students"]
    assert sorted(students["777"]["notes"][:5]) == sorted([
        "your upload work.tar.gz holds ../../escaped.ipynb, which climbs out of its folder "
        "with ..; it was not unpacked",
        f"your upload work.tar.gz holds {absolute}, which has an absolute "
        "name; it was not unpacked",
        "your upload work.tar.gz holds digit_recognition.ipynb, which is a symbolic link; it "
        "was not unpacked",
        "your upload work.tar.gz holds hard.ipynb, which is a hard link; it was not unpacked",
        "your upload work.tar.gz holds pipe.ipynb, which is a device or a pipe, not a "
        "regular file; it was not unpacked"])
    assert {n.split(",")[0] for n in students["888"]["notes"][:4]} == {
        f"your upload work.zip holds {name}" for name in (
            "/absolute.ipynb", "device.ipynb", NOTEBOOK_NAME, "../escaped.ipynb")}
