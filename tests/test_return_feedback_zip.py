"""return's feedback zip (autograder/grader/returning/feedback_zip.py): each page is named so
that the LMS's own importer, re-stated here from its code, gives it to the same student; a
name a student chose never escapes the zip nor reaches a classmate; the zip appears whole
or not at all."""

import os
import re
import stat
import unicodedata
import zipfile
from pathlib import Path

import pytest

from autograder.grader.returning.feedback_zip import Page, write

NOTEBOOK = "digit_recognition"
PAGE = "digit_recognition_feedback.html"


def canvas_reads(name: str) -> tuple[str | None, str | None]:
    """Who Canvas gives a re-uploaded file to, and for which attachment: instructure/canvas-lms,
    app/models/abstract_assignment.rb, AbstractAssignment#infer_comment_context_from_filename
    (its database checks aside). The base name is split on "_" (Ruby's split: trailing empty
    fields dropped) less every "LATE"; a first part "anon" is followed by the anonymous id
    and the attachment id, else the first two parts matching Ruby's /^\\d+$/ (line anchors,
    ASCII digits) are the user id and the attachment id; none when the last part matches
    /^link/ or the name /^\\._/."""
    base = name.split("/")[-1]
    parts = base.split("_")
    while parts and not parts[-1]:
        parts.pop()
    parts = [p for p in parts if p != "LATE"]
    if parts[:1] == ["anon"]:
        anon, attachment = (parts[1:3] + [None, None])[:2]
        who = None if anon is None else f"anon_{anon}"
    else:
        who, attachment = ([p for p in parts if re.search(r"^[0-9]+$", p, re.M)][:2]
                           + [None, None])[:2]
    if (parts and re.search(r"^link", parts[-1], re.M)) or re.search(r"^\._", base, re.M):
        attachment = None
    return who, attachment


def php_numeric(text: str) -> bool:
    return re.fullmatch(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*",
                        text) is not None


def moodle_reads(member: str, participants: set[int]) -> tuple[int, str, str] | None:
    """Whose feedback file a zip member becomes, by which plugin, under which name:
    moodle/moodle, mod/assign/feedback/file/importziplib.php,
    assignfeedback_file_zip_importer::is_valid_filename_for_import. Files are extracted
    under /import/ (extract_files_from_zip); a name starting "." or "~" is skipped; the path
    is split on "/" and each part with explode('_', part, 5); the first part of at least four
    pieces whose second is numeric and a participant, and whose plugin exists
    (assign::get_plugin_by_type: assignsubmission or assignfeedback), names the student;
    what follows it in the path is the file."""
    path = f"/import/{member}"
    if path.rsplit("/", 1)[-1].startswith((".", "~")):
        return None
    parts = path.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not php_numeric(info[1]):
            continue
        participant = int(float(info[1]))
        if participant not in participants:
            continue
        if info[2] not in ("assignsubmission", "assignfeedback") or info[3] != "file":
            continue
        parts.insert(0, info[4] if len(info) == 5 else "")
        return participant, f"{info[2]}_{info[3]}", "/".join(parts)
    return None


def pages_of(tmp_path: Path, rows: list[tuple]) -> list[Page]:
    """A real page per row (student, lms_id, entry[, name]), its text naming the student."""
    pages = []
    for student, lms_id, entry, *name in rows:
        path = tmp_path / "feedback" / f"{len(pages)}" / f"{NOTEBOOK}.html"
        path.parent.mkdir(parents=True)
        path.write_text(f"<html><body><h1>Feedback for {student}</h1></body></html>\n")
        pages.append(Page(student, path, lms_id, entry, *name))
    return pages


def members(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def assert_contained(zip_path: Path, into: Path) -> None:
    """Every member is relative, one folder deep at most, free of '..', backslashes and
    control characters, and unpacks inside the folder it is unpacked in."""
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            assert not name.startswith("/") and ".." not in name and "\\" not in name, name
            assert name.count("/") <= 1, name
            assert not any(unicodedata.category(c)[0] == "C" for c in name), name
        archive.extractall(into)
    for path in into.rglob("*"):
        assert path.resolve().is_relative_to(into.resolve())


def test_canvas_takes_each_page_back_for_the_same_student(tmp_path):
    rows = [("alice", "12345", "liddellalice_12345_678901_digit_recognition.ipynb"),
            ("ben", "23456", "bitdiddleben_LATE_23456_678950_digit_recognition-1.ipynb"),
            ("anon", "anon_Ab3De", "LATE_anon_Ab3De_678903_my_lab_2.ipynb"),
            ("cy", "34567", "reasoner_jr_cy_34567_678904_lab_7_v2.ipynb"),
            ("jose", "45678", "müllerjosé_45678_678905_digit_recognition.ipynb")]
    pages = pages_of(tmp_path, rows)
    zipped = write("canvas", pages, tmp_path / "canvas.zip", NOTEBOOK)

    assert zipped.left_out == []
    assert zipped.names["alice"] == f"liddellalice_12345_678901_{PAGE}"
    assert zipped.names["ben"] == f"bitdiddleben_LATE_23456_678950_{PAGE}"
    assert zipped.names["anon"] == f"LATE_anon_Ab3De_678903_{PAGE}"
    inside = members(zipped.path)
    assert set(inside) == set(zipped.names.values())
    for page in pages:
        member = zipped.names[page.student]
        # the same user and the same attachment as the download entry it answers
        assert canvas_reads(member) == canvas_reads(page.entry) == (page.lms_id,
                                                                   canvas_reads(page.entry)[1])
        assert canvas_reads(member)[1] is not None
        assert "/" not in member and member.endswith(f"_{PAGE}")
        assert inside[member] == page.path.read_bytes()


def test_canvas_has_no_name_for_a_page_without_an_uploaded_file(tmp_path):
    pages = pages_of(tmp_path, [("nothing", "11", None),
                                ("text", "12", "doejane_12_text.html"),
                                ("url", "13", "doejohn_13_link.html"),
                                ("ok", "14", "okay_14_99_digit_recognition.ipynb")])
    zipped = write("canvas", pages, tmp_path / "canvas.zip", NOTEBOOK)

    assert list(zipped.names) == ["ok"]
    why = dict(line.split(": ", 1) for line in zipped.left_out)
    assert "attachment id" in why["nothing"]
    assert "no uploaded file" in why["text"] and "no uploaded file" in why["url"]


def test_moodle_takes_each_page_back_for_the_same_participant(tmp_path):
    rows = [("alice", "101", "Alice Liddell_101_assignsubmission_file/digit_recognition.ipynb"),
            ("ben", "102", "Ben Bitdiddle_102_assignsubmission_file_digit_recognition.ipynb"),
            ("blind", "103", "Participant_103_assignsubmission_file/sub/dir/lab.ipynb"),
            ("dan", "104", None, "Dan O'Brien_Jr"),
            ("eve", "105", None),
            ("jose", "106", "José Müller_106_assignsubmission_file/x.ipynb")]
    pages = pages_of(tmp_path, rows)
    zipped = write("moodle", pages, tmp_path / "moodle.zip", NOTEBOOK)

    assert zipped.left_out == []
    assert zipped.names["alice"] == f"Alice Liddell_101_assignsubmission_file/{PAGE}"
    assert zipped.names["ben"] == f"Ben Bitdiddle_102_assignsubmission_file/{PAGE}"
    assert zipped.names["dan"] == f"Dan O'Brien Jr_104_assignsubmission_file/{PAGE}"
    assert zipped.names["eve"] == f"eve_105_assignsubmission_file/{PAGE}"
    participants = {int(p.lms_id) for p in pages}
    inside = members(zipped.path)
    for page in pages:
        member = zipped.names[page.student]
        assert moodle_reads(member, participants) == (int(page.lms_id), "assignsubmission_file",
                                                      f"/{PAGE}")
        assert inside[member] == page.path.read_bytes()


def test_blackboard_gets_a_folder_per_username_and_a_readme(tmp_path):
    pages = pages_of(tmp_path, [
        ("alice", "aliddell", "Digits_aliddell_attempt_2026-12-01-10-00-00_lab.ipynb"),
        ("ben", "b.bitdiddle@uni", None)])
    zipped = write("blackboard", pages, tmp_path / "bb.zip", NOTEBOOK)

    assert zipped.left_out == []
    assert zipped.names == {"alice": f"aliddell/{PAGE}", "ben": f"b.bitdiddle@uni/{PAGE}"}
    inside = members(zipped.path)
    assert list(inside)[0] == "README.txt"
    readme = " ".join(inside["README.txt"].decode().split())
    assert "no bulk upload of feedback files" in readme and "Feedback to Learner" in readme
    assert f"<username>/{PAGE}" in readme
    for page in pages:
        assert inside[zipped.names[page.student]] == page.path.read_bytes()


HOSTILE = {
    "canvas": [("h1", "11", "../../evil_11_2_x.ipynb"),
               ("h2", "12", "a/b/../c_12_3_x.ipynb"),
               ("h3", "13", "/abs_13_4_x.ipynb"),
               ("h4", "14", "nul\x00_14_5_x.ipynb"),
               ("h5", "15", "new\nline_15_6_x.ipynb"),
               ("h6", "1/6", "doe_1/6_7_x.ipynb"),
               ("h7", "17", "back\\slash_17_8_x.ipynb"),
               ("h8", "18", "do.e_18_9_x.ipynb"),
               ("ok", "19", "doe_19_10_x.ipynb")],
    "moodle": [("h1", "11", "../../Jane_11_assignsubmission_file/x.ipynb"),
               ("h2", "12", "a/b/../c"),
               ("h3", "13", "/Jane_13_assignsubmission_file/x.ipynb"),
               ("h4", "14", None, "Ja\x00ne"),
               ("h5", "15", None, "Ja\nne"),
               ("h6", "1/6", None, "Jane"),
               ("h7", "17", None, "../../etc"),
               ("h8", "18", "Ja\\ne_18_assignsubmission_file/x.ipynb"),
               ("h9", "19", None, "Mallory\u202egnp.exe"),
               ("ok", "20", "Ok Person_20_assignsubmission_file/x.ipynb")],
    "blackboard": [("h1", "../../x", None),
                   ("h2", "a/b", None),
                   ("h3", "/abs", None),
                   ("h4", "nu\x00l", None),
                   ("h5", "new\nline", None),
                   ("h6", "..", None),
                   ("h7", "jdoe", "../../Digits_jdoe_attempt_2026-12-01-10-00-00_x.ipynb"),
                   ("h8", "CON", None),
                   ("h9", "README.txt", None),
                   ("ok", "okuser", "Digits_okuser_attempt_2026-12-01-10-00-00_x.ipynb")],
}


@pytest.mark.parametrize("lms", HOSTILE)
def test_hostile_names_are_left_out_and_nothing_escapes(tmp_path, lms):
    pages = pages_of(tmp_path, HOSTILE[lms])
    zipped = write(lms, pages, tmp_path / f"{lms}.zip", NOTEBOOK)

    assert list(zipped.names) == ["ok"]
    why = dict(line.split(": ", 1) for line in zipped.left_out)
    assert sorted(why) == sorted(p.student for p in pages if p.student != "ok")
    assert all(reason.strip() for reason in why.values())
    assert_contained(zipped.path, tmp_path / "unpacked")


def test_an_entry_that_reads_as_someone_else_is_refused(tmp_path):
    """The download is the LMS's: an entry naming another student is tampering or a
    mistake, so the page goes to no one."""
    cases = {
        "canvas": [("other", "123", "doejane_999_456_x.ipynb"),
                   # Canvas itself would read user 2 from this name
                   ("digits", "123", "jane_2_123_456_x.ipynb")],
        "moodle": [("other", "123", "Jane Doe_999_assignsubmission_file/x.ipynb"),
                   ("plugin", "124", "Jane Doe_124_assignsubmission_onlinetext/x.html")],
        "blackboard": [("other", "jdoe",
                        "Digits_mallory_attempt_2026-12-01-10-00-00_jdoe_attempt_2026-12-01"
                        "-10-00-00_x.ipynb")],
    }
    for lms, rows in cases.items():
        zipped = write(lms, pages_of(tmp_path / lms, rows), tmp_path / f"{lms}.zip", NOTEBOOK)
        assert zipped.names == {}, lms
        assert len(zipped.left_out) == len(rows), lms


def test_students_the_lms_would_take_for_one_are_all_left_out(tmp_path):
    cases = {
        # one Canvas user, two attachments: both pages would go to user 123
        "canvas": [("bob", "123", "bob_123_456_x.ipynb"), ("mal", "123", "mal_123_457_x.ipynb"),
                   ("carol", "124", "carol_124_458_x.ipynb")],
        "moodle": [("bob", "7", None, "Bob"), ("mal", "7", None, "Mal"), ("carol", "8", None)],
        # one folder on a case-insensitive disk
        "blackboard": [("bob", "JDoe", None), ("mal", "jdoe", None), ("carol", "carol", None)],
    }
    for lms, rows in cases.items():
        zipped = write(lms, pages_of(tmp_path / lms, rows), tmp_path / f"{lms}.zip", NOTEBOOK)
        assert list(zipped.names) == ["carol"], lms
        why = dict(line.split(": ", 1) for line in zipped.left_out)
        assert "mal" in why["bob"] and "bob" in why["mal"], lms

    twice = pages_of(tmp_path / "twice", [("bob", "9", None), ("bob", "10", None)])
    zipped = write("moodle", twice, tmp_path / "twice.zip", NOTEBOOK)
    assert zipped.names == {} and zipped.left_out == ["bob: listed 2 times"] * 2


def test_a_missing_page_is_left_out(tmp_path):
    page = Page("ghost", tmp_path / "nowhere.html", "5", None)
    zipped = write("moodle", [page], tmp_path / "moodle.zip", NOTEBOOK)
    assert zipped.names == {} and zipped.left_out[0].startswith("ghost: no feedback page")


def test_the_zip_appears_whole_or_not_at_all(tmp_path):
    pages = pages_of(tmp_path, [("alice", "101", None, "Alice")])
    out = tmp_path / "out" / "moodle.zip"
    out.parent.mkdir()
    out.write_bytes(b"an older zip")

    write("moodle", pages, out, NOTEBOOK)
    first = out.read_bytes()
    assert list(members(out)) == [f"Alice_101_assignsubmission_file/{PAGE}"]
    assert os.listdir(out.parent) == ["moodle.zip"]  # no temporary file left behind
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # every student's feedback: owner only
    write("moodle", pages, out, NOTEBOOK)
    assert out.read_bytes() == first  # fixed member times: the same pages, the same zip

    blocked = tmp_path / "blocked.zip"
    blocked.mkdir()  # the rename cannot replace a folder
    with pytest.raises(OSError):
        write("moodle", pages, blocked, NOTEBOOK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked.zip", "feedback", "out"]


def test_what_is_ours_to_get_right_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown LMS"):
        write("sakai", [], tmp_path / "x.zip")
    with pytest.raises(ValueError, match="notebook stem"):
        write("canvas", [], tmp_path / "x.zip", "../x")
    assert not (tmp_path / "x.zip").exists()
    assert write("canvas", [], tmp_path / "x.zip").names == {}  # default stem: feedback.html
