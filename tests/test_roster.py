"""The roster: the course's own columns, extra columns listed and ignored, and Canvas's
gradebook export read as it is downloaded (its `ID` the LMS id its submission downloads
carry); the LMS id kept in nbgrader's gradebook as `lms_user_id`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from test_collect_lms import CANVAS, kept, make_zip, record, run

from autograder.grader import gradebook, roster
from autograder.records import CommandError

# Canvas's gradebook export (Grades > Export), as docs/collecting.md describes it: the
# people columns, one column per assignment named "<name> (<id>)", read-only totals, and a
# "Points Possible" row under the header. Names are "Last, First" and may hold anything.
CANVAS_EXPORT = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Digits (1234)",
     "Current Score", "Final Score"],
    ["    Points Possible", "", "", "", "", "100", "(read only)", "(read only)"],
    ["Bitdiddle, Ben", "12345", "S001", "bbitdiddle", "Lab A", "", "", ""],
    ["Hacker, Alyssa P.", "23456", "S002", "", "Lab A", "90", "90", "90"],
    ["=cmd|' /C calc'!A0, Eve", "34567", "", "", "Lab B", "", "", ""],
]


def export(tmp_path: Path, rows: list[list[str]] = CANVAS_EXPORT, bom: bool = True) -> Path:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    path = tmp_path / "Grades-Digits.csv"
    path.write_text(("\ufeff" if bom else "") + text.getvalue(), encoding="utf-8")
    return path


def test_extra_columns_are_listed_and_ignored(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text("student,lms_id,house,Section\nben,1,x,A\n", encoding="utf-8")
    read = roster.read(path)
    assert read.students == [roster.Student("ben", lms_id="1")]
    assert read.ignored == ("house", "Section") and read.shape == "course"
    assert read.note(path) == "roster roster.csv: 2 column(s) not used: house, Section"


def test_canvas_gradebook_export_is_a_roster(tmp_path: Path):
    read = roster.read(export(tmp_path))
    assert read.shape == "canvas"
    assert read.students == [  # the Points Possible row is no student
        roster.Student("bbitdiddle", lms_id="12345", first_name="Ben", last_name="Bitdiddle"),
        roster.Student("S002", lms_id="23456", first_name="Alyssa P.", last_name="Hacker"),
        roster.Student("34567", lms_id="34567", first_name="Eve",
                       last_name="=cmd|' /C calc'!A0"),
    ]
    assert read.ignored == ("Section", "Digits (1234)", "Current Score", "Final Score")
    assert "read as Canvas's gradebook export" in read.note(Path("Grades-Digits.csv"))


@pytest.mark.parametrize(("rows", "message"), [
    ([["Student", "ID"], ["Bitdiddle, Ben", "12/345"]],
     "row 2: student id '12/345' is not usable"),
    ([["Student", "ID", "SIS Login ID"], ["A, B", "1", "same"], ["C, D", "2", "same"]],
     "row 3: student 'same' is already on row 2"),
    ([["Student", "ID"], ["    Points Possible", ""]], "the roster lists no students"),
    ([["Name", "Canvas id"], ["Ben", "1"]], "or be Canvas's gradebook export"),
])
def test_a_bad_canvas_export_is_named_row_by_row(tmp_path: Path, rows, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        roster.read(export(tmp_path, rows, bom=False))


def test_collect_maps_a_canvas_download_through_its_gradebook_export(tmp_path: Path, capsys):
    """The roster given once, as Canvas exports it: each download's user id finds its
    student, named by their SIS login (or SIS id, or Canvas id)."""
    download = make_zip(tmp_path / "submissions.zip", CANVAS)
    out = tmp_path / "class"
    assert run(download, "--from", "canvas", out, "--roster", export(tmp_path)) == 1
    said = capsys.readouterr().out
    assert "read as Canvas's gradebook export" in said and "4 column(s) not used" in said
    assert kept(out, "bbitdiddle") == "ben-resubmitted" and kept(out, "S002") == "alyssa"
    assert kept(out, "34567") == "cy"
    assert record(out)["students"]["bbitdiddle"]["late"]


def test_the_lms_id_is_kept_as_nbgraders_lms_user_id(tiny_gradebook_course):
    """`grade --roster` writes each LMS id where nbgrader keeps it (Student.lms_user_id),
    and an empty one changes nothing."""
    people = roster.read(export(tiny_gradebook_course.root)).students
    gradebook.name_students(tiny_gradebook_course, people)
    gradebook.name_students(tiny_gradebook_course, [roster.Student("bbitdiddle")])
    with Gradebook(tiny_gradebook_course.db, tiny_gradebook_course.id) as gb:
        ids = {s.id: (s.lms_user_id, s.last_name) for s in gb.students}
    assert ids == {"bbitdiddle": ("12345", "Bitdiddle"), "S002": ("23456", "Hacker"),
                   "34567": ("34567", "=cmd|' /C calc'!A0")}
