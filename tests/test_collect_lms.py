"""collect --from canvas|moodle|blackboard: downloads built here in each LMS's own naming
(autograder/grader/collecting/lms.py cites where each comes from), made into one folder per
student with the class record beside them."""

import io
import json
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.grader.collected import FILE, read
from autograder.grader.steps.submissions import find as find_submissions

from helpers import ASSIGNMENT_ID, NOTEBOOK_NAME


def nb(marker: str) -> str:
    return json.dumps({"cells": [], "metadata": {"who": marker}, "nbformat": 4,
                       "nbformat_minor": 5})


def make_zip(path: Path, entries: dict[str, str | bytes],
             times: dict[str, tuple] | None = None) -> Path:
    path.write_bytes(zip_bytes(entries, times))
    return path


def zip_bytes(entries: dict[str, str | bytes], times: dict[str, tuple] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            info = zipfile.ZipInfo(name, (times or {}).get(name, (2026, 11, 30, 12, 0, 0)))
            archive.writestr(info, text)
    return buffer.getvalue()


def run(*args) -> int:
    """`collect ARGS` for the repository's digit_recognition, named (it may hold others)."""
    return main(["collect", *map(str, args), "--assignment", ASSIGNMENT_ID])


def kept(out: Path, student: str) -> str:
    return json.loads((out / student / NOTEBOOK_NAME).read_text())["metadata"]["who"]


def record(out: Path) -> dict:
    return json.loads((out / FILE).read_text())


CANVAS = {
    "bitdiddleben_12345_678901_digit_recognition.ipynb": nb("ben-first"),
    "bitdiddleben_LATE_12345_678950_digit_recognition-1.ipynb": nb("ben-resubmitted"),
    "hackeralyssa_23456_678902_my_lab.ipynb": nb("alyssa"),
    "LATE_anon_Ab3De_678903_digit_recognition.ipynb": nb("anonymous"),
    "reasoner_jr_cy_34567_678904_digit_recognition.ipynb": nb("cy"),
    "bitdiddleben_12345_text.html": "<p>I also wrote this</p>",
}


def test_canvas_keeps_the_newest_upload_and_the_late_marker(tmp_path: Path, capsys):
    download = make_zip(tmp_path / "submissions.zip", CANVAS)
    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 1  # a file went nowhere: reported
    assert sorted(p.name for p in out.iterdir()) == [
        "12345", "23456", "34567", "anon_Ab3De", FILE]
    assert kept(out, "12345") == "ben-resubmitted"
    assert kept(out, "23456") == "alyssa" and kept(out, "34567") == "cy"
    students = record(out)["students"]
    assert students["12345"]["late"] and students["anon_Ab3De"]["late"]
    assert not students["23456"]["late"]
    assert "older file not graded: bitdiddleben_12345_678901_digit_recognition.ipynb" in \
        students["12345"]["notes"]
    assert "submitted as my_lab.ipynb" in students["23456"]["notes"]
    assert students["12345"]["submitted_at"] is None  # Canvas names carry no time
    [unmatched] = record(out)["unmatched"]
    assert unmatched.startswith("bitdiddleben_12345_text.html: not named as Canvas names")
    assert "not collected: bitdiddleben_12345_text.html" in capsys.readouterr().out


@pytest.mark.parametrize("form", ["json", "csv"])
def test_canvas_times_come_from_its_submissions_export(tmp_path: Path, form):
    """Canvas's API gives each submission's time and its own late verdict (extensions
    applied): they replace the absent time and the name's marker; the source is recorded."""
    download = make_zip(tmp_path / "submissions.zip", CANVAS)
    rows = [{"user_id": 12345, "submitted_at": "2026-12-02T07:30:00Z", "late": True},
            {"user_id": 23456, "submitted_at": "2026-12-01T20:00:00Z", "late": False},
            {"user_id": 34567, "submitted_at": None, "late": False}]
    export = tmp_path / f"submissions.{form}"
    if form == "json":
        export.write_text(json.dumps(rows))
    else:
        export.write_text("user_id,submitted_at,late\n" + "".join(
            f"{r['user_id']},{r['submitted_at'] or ''},{str(r['late']).lower()}\n"
            for r in rows))
    out = tmp_path / "class"
    run(download, "--from", "canvas", out, "--submissions", export)
    students = record(out)["students"]
    assert (students["12345"]["submitted_at"], students["12345"]["late"],
            students["12345"]["time_source"]) == (
        "2026-12-02T07:30:00+00:00", True, "canvas submissions export")
    assert students["23456"]["submitted_at"] == "2026-12-01T20:00:00+00:00"
    assert students["34567"]["submitted_at"] is None  # no time: none is made up
    assert students["34567"]["time_source"] is None
    assert students["anon_Ab3De"]["late"]  # not in the export: the name's marker stays


def test_a_times_export_of_the_wrong_lms_is_refused(tmp_path: Path, capsys):
    download = make_zip(tmp_path / "submissions.zip", CANVAS)
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text("Identifier,Last modified (submission)\nParticipant 1,-\n")
    assert run(download, "--from", "canvas", tmp_path / "class", "--worksheet", sheet) == 3
    assert "--worksheet goes with --from moodle" in capsys.readouterr().out


def test_canvas_with_a_roster_maps_ids_and_names_who_is_missing(tmp_path: Path):
    download = make_zip(tmp_path / "submissions.zip", CANVAS)
    roster = tmp_path / "roster.csv"
    roster.write_text("student,lms_id,first_name\nben,12345,Ben\nalyssa,23456,Alyssa\n"
                      "cy,34567,Cy\neva,99999,Eva\n")
    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out, "--roster", roster) == 1
    assert kept(out, "ben") == "ben-resubmitted"
    students = record(out)["students"]
    assert students["eva"]["problem"] == "nothing in the download for this student " \
                                         "(canvas id 99999)"
    assert any("anon_Ab3De is not in the roster" in u for u in record(out)["unmatched"])
    # grade sees the missing student as an error of theirs, not as a crash
    subs = {s.student: s for s in find_submissions([out], expected=NOTEBOOK_NAME)}
    assert subs["eva"].error.startswith("not collected: nothing in the download")
    assert subs["ben"].error is None and subs["ben"].notebook.name == NOTEBOOK_NAME


def test_moodle_folders_flat_names_and_blind_marking(tmp_path: Path):
    entries = {
        "Ben Bitdiddle_1234567_assignsubmission_file/digit_recognition.ipynb": nb("ben"),
        "Alyssa P Hacker_1234568_assignsubmission_file/lab/mine.ipynb": nb("alyssa"),
        "Participant_1234569_assignsubmission_file_digit_recognition.ipynb": nb("blind"),
        "Cy Reasoner_1234570_assignsubmission_file/digit_recognition.ipynb": nb("cy-old"),
        "Cy Reasoner_1234570_assignsubmission_file/digit_recognition (1).ipynb": nb("cy-new"),
        "Ben Bitdiddle_1234567_assignsubmission_onlinetext/onlinetext.html": "<p>hi</p>",
    }
    times = {"Cy Reasoner_1234570_assignsubmission_file/digit_recognition.ipynb":
             (2026, 11, 20, 9, 0, 0),
             "Cy Reasoner_1234570_assignsubmission_file/digit_recognition (1).ipynb":
             (2026, 11, 21, 9, 0, 0)}
    download = make_zip(tmp_path / "course-Digits-42.zip", entries, times)
    out = tmp_path / "class"
    assert run(download, "--from", "moodle", out) == 1
    assert {p.name for p in out.iterdir()} == {"1234567", "1234568", "1234569", "1234570",
                                               FILE}
    assert kept(out, "1234567") == "ben" and kept(out, "1234568") == "alyssa"
    assert kept(out, "1234569") == "blind"
    assert kept(out, "1234570") == "cy-new"  # the later file in the archive
    [unmatched] = record(out)["unmatched"]
    assert "assignsubmission_onlinetext/onlinetext.html" in unmatched


def test_moodle_download_already_unpacked(tmp_path: Path):
    folder = tmp_path / "unpacked"
    (folder / "Ben Bitdiddle_1234567_assignsubmission_file").mkdir(parents=True)
    (folder / "Ben Bitdiddle_1234567_assignsubmission_file" / NOTEBOOK_NAME).write_text(
        nb("ben"))
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._junk").write_text("x")
    out = tmp_path / "class"
    assert run(folder, "--from", "moodle", out) == 0
    assert kept(out, "1234567") == "ben" and record(out)["unmatched"] == []


def test_blackboard_newest_attempt_with_its_time(tmp_path: Path):
    entries = {
        "Digits Lab_bitdiddle_attempt_2026-11-30-10-00-00_digit_recognition.ipynb": nb("old"),
        "Digits Lab_bitdiddle_attempt_2026-11-30-10-00-00.txt": "Name: Ben Bitdiddle",
        "Digits Lab_bitdiddle_attempt_2026-12-01-09-30-00_digit_recognition.ipynb": nb("new"),
        "Digits Lab_bitdiddle_attempt_2026-12-01-09-30-00.txt": "Name: Ben Bitdiddle",
        "Digits Lab_hacker_attempt_2026-11-29-08-00-00_lab.ipynb": nb("alyssa"),
        "Digits Lab_reasoner_attempt_2026-11-29-08-00-00.txt": "no file attached",
    }
    download = make_zip(tmp_path / "gradebook_DIGITS_Digits20Lab_2026-12-02-08-00-00.zip",
                        entries)
    out = tmp_path / "class"
    assert run(download, "--from", "blackboard", out, "--timezone", "Europe/Berlin") == 1
    assert kept(out, "bitdiddle") == "new" and kept(out, "hacker") == "alyssa"
    students = read(out)
    assert students["bitdiddle"].submitted_at == "2026-12-01T09:30:00+01:00"
    assert any("not a notebook" in n for n in students["bitdiddle"].notes)
    assert record(out)["unmatched"] == []
    assert students["reasoner"].problem.startswith("the download has no notebook")
    subs = {s.student: s for s in find_submissions([out], expected=NOTEBOOK_NAME)}
    assert subs["bitdiddle"].submitted_at == "2026-12-01T09:30:00+01:00"


def test_names_that_climb_out_of_the_download_stay_inside(tmp_path: Path):
    entries = {"../../outside.ipynb": nb("escape"), "/abs.ipynb": nb("absolute"),
               "bitdiddleben_12345_678901_digit_recognition.ipynb": nb("ben")}
    (tmp_path / "dl").mkdir()
    download = make_zip(tmp_path / "dl" / "s.zip", entries)
    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 1
    assert kept(out, "12345") == "ben"
    assert not (tmp_path / "outside.ipynb").exists() and not Path("/abs.ipynb").exists()
    assert record(out)["unmatched"] == [
        "../../outside.ipynb climbs out of its folder with ..; not unpacked",
        "/abs.ipynb has an absolute name; not unpacked"]


def test_a_link_in_an_unpacked_download_is_not_followed(tmp_path: Path):
    secret = tmp_path / "solution.ipynb"
    secret.write_text(nb("the instructor's"))
    folder = tmp_path / "unpacked" / "Ben Bitdiddle_1234567_assignsubmission_file"
    folder.mkdir(parents=True)
    (folder / NOTEBOOK_NAME).symlink_to(secret)
    (folder / "mine.ipynb").write_text(nb("ben"))
    out = tmp_path / "class"
    assert run(folder.parent, "--from", "moodle", out) == 1
    assert kept(out, "1234567") == "ben"
    assert record(out)["unmatched"] == [
        f"{folder.name}/{NOTEBOOK_NAME} is a symbolic link; not unpacked"]


def test_a_students_archive_is_opened_and_its_notebook_is_theirs(tmp_path: Path):
    upload = zip_bytes({
        "lab/digit_recognition.ipynb": nb("ben"),
        "scratch.ipynb": nb("scratch"),
        **{f"data/d{i:02}.csv": "1,2" for i in range(12)},
        "__MACOSX/lab/._digit_recognition.ipynb": "resource fork",
        "lab/.ipynb_checkpoints/digit_recognition-checkpoint.ipynb": nb("checkpoint"),
    })
    download = make_zip(tmp_path / "submissions.zip", {
        "bitdiddleben_12345_678901_digit_recognition.ipynb": nb("ben-first"),
        "bitdiddleben_LATE_12345_678950_work.zip": upload})
    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out) == 0
    assert kept(out, "12345") == "ben"  # the newer upload; in it, the expected name
    ben = record(out)["students"]["12345"]
    upload_name = "bitdiddleben_LATE_12345_678950_work.zip"
    assert ben["source"] == f"{upload_name}/lab/digit_recognition.ipynb" and ben["late"]
    assert ben["notes"] == [
        "not a notebook, not graded: " + ", ".join(
            f"{upload_name}/data/d{i:02}.csv" for i in range(10)) + " and 2 more",
        f"older file not graded: {upload_name}/scratch.ipynb",
        "older file not graded: bitdiddleben_12345_678901_digit_recognition.ipynb"]


def test_a_tar_upload_takes_its_attempts_time(tmp_path: Path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:  # as `tar -czf w.tgz .`
        folder = tarfile.TarInfo("./")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        raw = nb("ben").encode()
        notebook = tarfile.TarInfo("./mine.ipynb")
        notebook.size = len(raw)
        archive.addfile(notebook, io.BytesIO(raw))
    download = make_zip(tmp_path / "gradebook.zip", {
        "Digits Lab_bitdiddle_attempt_2026-12-01-09-30-00_work.tar.gz": buffer.getvalue()})
    out = tmp_path / "class"
    assert run(download, "--from", "blackboard", out, "--timezone", "Europe/Berlin") == 0
    assert kept(out, "bitdiddle") == "ben"
    ben = read(out)["bitdiddle"]
    assert ben.submitted_at == "2026-12-01T09:30:00+01:00"
    assert ben.notes == ["submitted as mine.ipynb"]


def test_collect_refuses_to_mix_with_an_earlier_collection(tmp_path: Path, capsys):
    download = make_zip(tmp_path / "s.zip", CANVAS)
    out = tmp_path / "class"
    out.mkdir()
    (out / "something").write_text("x")
    assert run(download, "--from", "canvas", out) == 3
    assert "is not empty: collect into a new folder" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "content", "message"), [
    ("submissions.zip", b"not a zip", "could not read the download .*: File is not a zip file"),
    ("submissions.rar", b"Rar!", "is neither a folder nor a .zip or .tar archive"),
])
def test_an_unusable_download_is_a_clear_error(tmp_path: Path, capsys, name, content,
                                               message):
    (tmp_path / name).write_bytes(content)
    assert run(tmp_path / name, "--from", "canvas", tmp_path / "out") == 3
    assert re.search(message, capsys.readouterr().out.replace("\n", ""))


@pytest.mark.parametrize(("roster", "message"), [
    ("name,lms_id\nben,1\n", "must name the columns, one of them `student`"),
    ("student,lms_id\nben,1\nben,2\n", "row 3: student 'ben' is already on row 2"),
    ("student,lms_id\nben/../x,1\n", "row 2: student id 'ben/../x' is not usable"),
    ("student,lms_id\nben,\n", "row 2: student 'ben' has no `lms_id`"),
])
def test_a_bad_roster_is_named_row_by_row(tmp_path: Path, capsys, roster, message):
    (tmp_path / "r.csv").write_text(roster)
    download = make_zip(tmp_path / "s.zip", CANVAS)
    assert run(download, "--from", "canvas", tmp_path / "out", "--roster",
               tmp_path / "r.csv") == 3
    assert message in capsys.readouterr().out
