"""The loop with each LMS closed: its download -> `collect` -> `grade` -> `feedback` ->
`return`, into the grade file the LMS exported, built here from the LMS's documented columns
(tests/test_return_sheets.py checks each format's rules in detail).

Every student's grade lands in their row, nothing else in the file changes, a graded student
the file lacks is reported (exit 1), and the feedback zip's names map back to the same
students. Each LMS also carries one of the late rules: Canvas's LATE marker under a zero
policy (downloaded after the deadline: the on-time students keep their points), Moodle's
hand-in times from its worksheet under a percent-per-day policy, Blackboard's attempt times
with a student's extension and another's own deadline.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lms_files import (
    BB_HEADER,
    CANVAS_HEADER,
    CANVAS_PEOPLE,
    WORKSHEET_HEADER,
    canvas_export,
    work_offline,
    worksheet,
    zip_of,
)
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.grader.course import Course

from helpers import (
    TINY_ID,
    TINY_NAME,
    by_student,
    empty_gradebook,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

pytestmark = pytest.mark.slow  # each runs `grade`

FULL = tiny_submission()                                            # 5 of 5
NO_STRINGS = tiny_submission("    return a + b if not isinstance(a, str) else None")  # 3 of 5
DUE = datetime(2026, 12, 1, 23, 59)  # UTC, as nbgrader keeps it


def new_course(tmp_path: Path, late_policy: str) -> tuple[Path, Course]:
    """The tiny course, its gradebook holding the due date, and its own late policy."""
    root = tiny_course_at(tmp_path / "course")
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + late_policy)
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    course = Course(root, None, TINY_ID)
    with Gradebook(course.db, course.id) as gb:
        gb.update_or_create_assignment(TINY_ID, duedate=DUE)
    return root, course


def cli(*args: object) -> int:
    return main([*map(str, args)])


def changed_rows(before: str, after: str, delimiter: str) -> dict[int, list[int]]:
    """line -> the fields that differ, for every line that differs (line by line: these
    files keep each row on one line); lines must pair up one to one."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    diff = {}
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            fa, fb = (next(csv.reader([line], delimiter=delimiter)) for line in (a, b))
            assert len(fa) == len(fb) and a.endswith("\r\n") == b.endswith("\r\n")
            diff[i] = [j for j, (x, y) in enumerate(zip(fa, fb, strict=True)) if x != y]
    return diff


# -- Canvas ------------------------------------------------------------------------------------

def test_canvas_round_trip_late_marker_under_a_zero_policy(tmp_path, capsys):
    """Downloaded after the deadline (every file's time is the download's), graded with the
    zero policy: the on-time students keep their points, Bob's LATE upload scores 0 and is
    late in the grade JSON, the CSV, the gradebook, the feedback page and the LMS file."""
    root, course = new_course(tmp_path, 'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    c = tmp_path / "round"
    c.mkdir()
    grades = canvas_export(c / "Grades.csv")
    zip_of(c / "submissions.zip", {
        f"leeamy_101_9001_{TINY_NAME}": FULL,
        f"ngbob_LATE_102_9002_{TINY_NAME}": FULL,
        f"hyperlinkxexampleeve_104_9004_{TINY_NAME}": NO_STRINGS})

    assert cli("collect", c / "submissions.zip", "--from", "canvas", c / "class",
               "--roster", grades, "--course-dir", root) == 1  # cat: nothing in the download
    record = json.loads((c / "class" / "collection.json").read_text())["students"]
    assert record["bob"]["late"] and record["bob"]["submitted_at"] is None
    assert record["amy"]["lms_id"] == "101" and record["amy"]["first_name"] == "Amy"
    assert record["bob"]["entry"] == f"ngbob_LATE_102_9002_{TINY_NAME}"

    doc, out = run_grade(root, c / "class")  # no --roster: collect kept it
    result = by_student(doc)
    assert [(s, result[s]["score"], result[s]["late"], result[s]["late_penalty"])
            for s in ("amy", "bob", "cat", "eve")] == [
        ("amy", 5, False, 0), ("bob", 5, True, 5), ("cat", 0, False, 0), ("eve", 3, False, 0)]
    assert "no hand-in time" in out  # the warning: times absent, no penalty for them
    with Gradebook(course.db, course.id) as gb:
        assert gb.find_student("eve").lms_user_id == "104"
        assert gb.find_student("eve").first_name == "Eve"

    assert cli("feedback", "--course-dir", root) == 0
    capsys.readouterr()
    assert cli("export", "--course-dir", root, "--to", c / "grades.csv") == 0
    rows = {r["student_id"]: r for r in csv.DictReader((c / "grades.csv").open())}
    assert (rows["bob"]["late"], rows["bob"]["score"]) == ("yes", "0.0")
    assert (rows["amy"]["late"], rows["amy"]["score"]) == ("", "5.0")

    filled = c / "Grades-filled.csv"
    assert cli("return", "--to", "canvas", grades, filled, "--feedback", c / "feedback.zip",
               "--course-dir", root) == 0
    before, after = (p.read_text(encoding="utf-8") for p in (grades, filled))
    column = CANVAS_HEADER.index("Tiny Add (555)")
    assert changed_rows(before, after, ",") == {i: [column] for i in (2, 3, 4, 5)}
    filled_rows = list(csv.reader(io.StringIO(after.removeprefix("\ufeff"))))
    assert {row[3]: row[column] for row in filled_rows[2:]} == {
        "amy": "5", "bob": "0", "cat": "0", "eve": "3"}
    assert not [cell for row in filled_rows for cell in row[column:column + 1]
                if cell.startswith(("=", "+", "-", "@"))]

    # Canvas's re-upload reads the user id after the name (and LATE) in each file name
    with zipfile.ZipFile(c / "feedback.zip") as archive:
        names = archive.namelist()
    ids = {re.match(r"^(?:[^_]+_)?(?:LATE_)?(\d+)_", n)[1] for n in names}
    assert ids == {"101", "102", "104"}  # cat handed nothing in: no upload to comment on

    # A section's export without Cat: she is reported, and the command says so
    section = canvas_export(c / "Grades-section.csv", CANVAS_PEOPLE[:2] + CANVAS_PEOPLE[3:])
    capsys.readouterr()
    assert cli("return", "--to", "canvas", section, c / "section-filled.csv",
               "--course-dir", root) == 1
    said = capsys.readouterr().out
    assert "cat" in said and "not in the file" in said


# -- Moodle ------------------------------------------------------------------------------------

def test_moodle_round_trip_times_from_the_worksheet_percent_per_day(tmp_path, capsys):
    """The worksheet is the roster and gives the hand-in times; 10% per started day: Bob,
    34 hours late, loses 20%; Dan's grade was changed in Moodle after ours and is left."""
    root, course = new_course(tmp_path, (
        'c.AssignLatePenalties.plugin_class = "autograder.grader.late.PercentLatePenalty"\n'
        "c.PercentLatePenalty.percent = 10\nc.PercentLatePenalty.period = 'day'\n"))
    c = tmp_path / "round"
    c.mkdir()
    sheet = worksheet(c / "worksheet.csv")
    zip_of(c / "submissions.zip", {
        f"Amy Lee_501_assignsubmission_file/{TINY_NAME}": FULL,
        f"Bob Ng_502_assignsubmission_file/{TINY_NAME}": FULL,
        f"Dan Wu_504_assignsubmission_file/{TINY_NAME}": NO_STRINGS})

    assert cli("collect", c / "submissions.zip", "--from", "moodle", c / "class",
               "--roster", sheet, "--worksheet", sheet, "--timezone", "UTC",
               "--course-dir", root) == 1  # cat
    record = json.loads((c / "class" / "collection.json").read_text())["students"]
    assert record["bob@example.edu"]["submitted_at"] == "2026-12-03T10:00:00+00:00"
    assert record["bob@example.edu"]["time_source"] == "moodle grading worksheet"

    doc, _ = run_grade(root, c / "class")
    result = by_student(doc)
    assert (result["bob@example.edu"]["late"], result["bob@example.edu"]["late_penalty"]) == (
        True, 1)
    assert result["amy@example.edu"]["late"] is False

    assert cli("feedback", "--course-dir", root) == 0
    capsys.readouterr()
    filled = c / "worksheet-filled.csv"
    assert cli("return", "--to", "moodle", sheet, filled, "--feedback", c / "feedback.zip",
               "--course-dir", root) == 1  # Dan's newer grade is left alone, and said
    assert "dan@example.edu" in capsys.readouterr().out
    before, after = (p.read_text(encoding="utf-8") for p in (sheet, filled))
    grade, comments = WORKSHEET_HEADER.index("Grade"), WORKSHEET_HEADER.index("Feedback comments")
    assert changed_rows(before, after, ",") == {1: [grade, comments], 2: [grade, comments],
                                                3: [grade, comments]}
    rows = {r["Email address"]: r for r in csv.DictReader(io.StringIO(after))}
    assert [rows[s]["Grade"] for s in ("amy@example.edu", "bob@example.edu",
                                        "cat@example.edu", "dan@example.edu")] == [
        "5.00", "4.00", "0.00", "4.00"]
    assert "late penalty -1" in rows["bob@example.edu"]["Feedback comments"]

    # Moodle's feedback-zip import reads the participant id as the name's second part
    with zipfile.ZipFile(c / "feedback.zip") as archive:
        ids = {n.split("/")[0].split("_")[1] for n in archive.namelist()}
    assert {"501", "502"} <= ids and "504" in ids


# -- Blackboard --------------------------------------------------------------------------------

def test_blackboard_round_trip_an_extension_and_an_own_deadline(tmp_path, capsys):
    """Times from the attempts' names; 10% per started hour, at most 50%: Bob's 2-day
    extension makes his Thursday attempt on time, Cat's is 11 hours late (50%), and Dan's
    own deadline (in the roster) is visible in the gradebook and the CSV."""
    root, course = new_course(tmp_path, (
        'c.AssignLatePenalties.plugin_class = "autograder.grader.late.PercentLatePenalty"\n'
        "c.PercentLatePenalty.percent = 10\nc.PercentLatePenalty.period = 'hour'\n"
        "c.PercentLatePenalty.cap = 50\n"))
    c = tmp_path / "round"
    c.mkdir()
    (c / "roster.csv").write_text(
        "student,lms_id,first_name,last_name,extension,deadline\n"
        "amy,amy,Amy,Lee,,\nbob,bob,Bob,Ng,2d,\ncat,cat,Cat,Ortiz,,\n"
        "dan,dan,Dan,Wu,,2026-12-05T12:00+00:00\n", encoding="utf-8")
    zip_of(c / "gradebook.zip", {
        f"Tiny_amy_attempt_2026-12-01-22-00-00_{TINY_NAME}": FULL,
        "Tiny_amy_attempt_2026-12-01-22-00-00.txt": "Name: Amy Lee",
        f"Tiny_bob_attempt_2026-12-03-10-00-00_{TINY_NAME}": FULL,
        f"Tiny_cat_attempt_2026-12-02-10-30-00_{TINY_NAME}": FULL})

    assert cli("collect", c / "gradebook.zip", "--from", "blackboard", c / "class",
               "--roster", c / "roster.csv", "--timezone", "UTC", "--course-dir", root) == 1
    doc, _ = run_grade(root, c / "class")
    result = by_student(doc)
    assert [(s, result[s]["late"], result[s]["late_penalty"]) for s in ("amy", "bob", "cat")
            ] == [("amy", False, 0), ("bob", False, 0), ("cat", True, 2.5)]
    with Gradebook(course.db, course.id) as gb:
        assert gb.find_submission(TINY_ID, "bob").extension == timedelta(days=2)
        assert gb.find_submission(TINY_ID, "dan").duedate == datetime(2026, 12, 5, 12, 0)

    assert cli("export", "--course-dir", root, "--to", c / "grades.csv") == 0
    rows = {r["student_id"]: r for r in csv.DictReader((c / "grades.csv").open())}
    assert rows["bob"]["duedate"] == str(DUE + timedelta(days=2))
    assert rows["dan"]["duedate"] == "2026-12-05 12:00:00"
    assert (rows["cat"]["late"], rows["cat"]["score"]) == ("yes", "2.5")

    assert cli("feedback", "--course-dir", root) == 0
    download = work_offline(c / "gc_offline.xls", ["amy", "bob", "cat", "dan"])
    filled = c / "gc_filled.xls"
    assert cli("return", "--to", "blackboard", download, filled, "--feedback",
               c / "feedback.zip", "--course-dir", root) == 3  # no column named tiny_add
    assert "Pass --column" in capsys.readouterr().out
    assert cli("return", "--to", "blackboard", download, filled, "--column", "7001",
               "--feedback", c / "feedback.zip", "--course-dir", root) == 0
    before, after = (p.read_bytes().decode("utf-16") for p in (download, filled))
    assert filled.read_bytes()[:2] == b"\xff\xfe"
    column = BB_HEADER.index("Tiny [Total Pts: 5 Score] |7001")
    assert changed_rows(before, after, "\t") == {i: [column] for i in (1, 2, 3, 4)}
    rows = list(csv.reader(io.StringIO(after), delimiter="\t"))
    assert {row[2]: row[column] for row in rows[1:]} == {
        "amy": "5", "bob": "5", "cat": "2.5", "dan": "0"}
    with zipfile.ZipFile(c / "feedback.zip") as archive:
        folders = {n.split("/")[0] for n in archive.namelist() if "/" in n}
    assert {"amy", "bob", "cat"} <= folders


def test_return_never_writes_over_the_lms_file(tmp_path, capsys):
    """The LMS's own download stays as it came: the filled copy goes elsewhere."""
    root, _ = new_course(tmp_path, "")
    lms_file = tmp_path / "Grades.csv"
    lms_file.write_text("Student,ID\n")
    assert cli("return", "--to", "canvas", lms_file, lms_file, "--course-dir", root) == 3
    assert "is the LMS's file" in capsys.readouterr().out
    assert lms_file.read_text() == "Student,ID\n"
