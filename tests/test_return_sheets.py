"""Grades written into each LMS's own re-import file (autograder/grader/returning/).

Each LMS's file is built here from the columns its exporter writes, with what real classes
put in them (names with commas and accents, a name that is a formula, a cell holding a line
break, CRLF, byte order marks), filled, and checked three ways:

- the new file is byte for byte the old one with only the filled cells' text swapped (the
  expected file is built from the same raw cells, independently of the code under test),
  and Python's csv module reads every other cell the same;
- a reader that restates, with citations, how the LMS's importer finds students, rows to
  skip, the column and the grade (Canvas, Moodle), reads each student's new grade there,
  and another column unchanged;
- what cannot be filled safely is an error that says what to do, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from autograder.grader.returning import SHEETS, blackboard, canvas, moodle
from autograder.grader.returning.cells import Sheet, number, text
from autograder.grader.returning.marks import Mark
from autograder.records import CommandError

# --- building files as the LMS writes them --------------------------------------------------


def build(rows: list[list[str]], sep: str, ends: Sequence[str]) -> str:
    """A file from raw cells (quoted as the LMS quotes them), each row with its own line end
    ("" for a last row without one)."""
    return "".join(sep.join(row) + end for row, end in zip(rows, ends, strict=True))


def swapped(rows: list[list[str]], raw: dict[tuple[int, int], str]) -> list[list[str]]:
    return [[raw.get((r, c), cell) for c, cell in enumerate(row)] for r, row in enumerate(rows)]


def tokens(data: bytes, codec: str, sep: str) -> list[list[str]]:
    """The cells as Python's csv module reads them (not our tokenizer)."""
    return list(csv.reader(io.StringIO(data.decode(codec).removeprefix("\ufeff"), newline=""),
                           delimiter=sep))


def assert_only_swapped(new: bytes, rows: list[list[str]], sep: str, ends: Sequence[str],
                        encode, codec: str, raw: dict[tuple[int, int], str]) -> None:
    """``new`` is the LMS's file with just the cells at ``raw``'s keys holding its raw text:
    every other byte (encoding, mark, line ends, quoting) as it was; and, read as CSV, every
    other cell the same."""
    old = encode(build(rows, sep, ends))
    assert new == encode(build(swapped(rows, raw), sep, ends))
    before, after = tokens(old, codec, sep), tokens(new, codec, sep)
    assert [len(r) for r in before] == [len(r) for r in after]
    outside = [(r, c) for r, row in enumerate(before) for c in range(len(row))
               if (r, c) not in raw]
    assert [before[r][c] for r, c in outside] == [after[r][c] for r, c in outside]


def utf8_bom(text_: str) -> bytes:
    return b"\xef\xbb\xbf" + text_.encode("utf-8")


def utf8(text_: str) -> bytes:
    return text_.encode("utf-8")


def utf16_bom(text_: str) -> bytes:
    return b"\xff\xfe" + text_.encode("utf-16-le")


# --- the cells ------------------------------------------------------------------------------

AWKWARD = [
    utf8('a,"b,c",d\r\n"x\ny",,"q""uote"\n\n"end"\rlast,'),  # all three line ends, no last
    utf8_bom('"Müller, José",=1+2\r\n'),
    utf16_bom('"Last Name"\t"First Name"\r\n"Ünal"\t"Ayşe 😀"\r\n'),
    utf8(""),
    utf8("\n"),
]


@pytest.mark.parametrize("data", AWKWARD, ids=["line ends", "bom", "utf-16", "empty", "newline"])
def test_a_sheet_written_with_no_change_is_the_same_bytes(data):
    sep = "\t" if data.startswith(b"\xff\xfe") else ","
    sheet = Sheet.read(data, sep)
    assert sheet.write({}) == data
    read = [[c.value for c in row] for row in sheet.rows]
    assert [r for r in read if r != [""]] == [r for r in tokens(data, "utf-16" if sep == "\t"
                                                                else "utf-8", sep) if r]


def test_a_cell_is_quoted_when_its_text_needs_it_or_it_was():
    sheet = Sheet.read(utf8('plain,"quoted",\r\nx,y,z'), ",")
    out = sheet.write({(0, 0): "8.5", (0, 1): "9", (0, 2): 'a, "b"\nc', (1, 2): "line\rend"})
    assert out == utf8('8.5,"9","a, ""b""\nc"\r\nx,y,"line\rend"')


@pytest.mark.parametrize("data, why", [
    (utf8('a,"never closed\r\nb,c\r\n'), "line 1: a quoted cell is never closed"),
    (utf8('a,b\r\n"x"y,z\r\n'), "line 2: text after the closing quote"),
    (b"Student,ID\r\n\xe9,1\r\n", "not UTF-8 text"),
], ids=["unclosed", "after quote", "not utf-8"])
def test_a_file_whose_cells_cannot_be_told_apart_is_refused(data, why):
    with pytest.raises(CommandError, match=re.escape(why)):
        Sheet.read(data, ",")


@pytest.mark.parametrize("value, decimals, written", [
    (8, 0, "8"), (8.5, 0, "8.5"), (8.456, 0, "8.46"), (8.455, 0, "8.46"), (2.675, 0, "2.68"),
    (85.5, 2, "85.50"), (85.5, 5, "85.50000"), (0.0, 2, "0.00"),
    (-0.0, 0, "0"), (100.0, 0, "100"), (1e-9, 0, "0"),
])
def test_a_score_is_a_bare_number(value, decimals, written):
    assert number(value, decimals) == written


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_a_score_that_is_no_grade_is_not_written(bad):
    with pytest.raises(ValueError):
        number(bad)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "\0"])
def test_text_never_starts_a_formula(start):
    assert text(start + "1+2") == "'" + start + "1+2"
    assert text("fine " + start) == "fine " + start


# --- Canvas ---------------------------------------------------------------------------------

CANVAS_MUTED = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.I)
CANVAS_NOT_ASSIGNMENTS = ("Current Score|Current Points|Current Grade|Final Score|"
                          "Final Points|Final Grade|Override Score|Override Grade|"
                          "Override Status")


def canvas_import(data: bytes) -> dict[str, dict[str, str]]:
    """What Canvas's importer takes as each student's grade in each assignment: {user id:
    {assignment id: grade text}}. instructure/canvas-lms, app/models/gradebook_importer.rb,
    class GradebookImporter:

    - ``csv_stream``: Ruby's CSV with ``skip_lines: /^[;, ]+$/`` and the converters ``nil``
      and ``decimal_comma_to_period`` (a cell that is only digits, ``.`` and ``,`` has its
      last separator read as the point); ``;`` is the separator when ``semicolon_delimited?``
      / ``identify_delimiter`` find that it splits the first three lines into equally many
      cells, more than ``,`` does;
    - ``check_for_non_student_row``: the first row is the header (``process_header``); a row
      whose first cell includes ``Points Possible`` is ``process_pp``'s; a row whose cells
      all match ``/^\\s*(Muted|Manual Posting.*)?\\s*$/i`` is skipped;
    - ``header?`` / ``row_has_student_headers?``: ``Student`` and ``ID`` first (or
      ``LastName``, ``FirstName``, ``ID``); ``update_column_count``: optional ``SIS User
      ID``, ``SIS Login ID``, ``Integration ID``, ``Root Account``, and then ``Section``
      (``last_student_info_column``); ``strip_non_assignment_columns`` drops those and the
      totals (``NON_ASSIGNMENT_COLUMN_HEADERS``, also matching ``Unposted ...``);
      ``parse_assignments``: ``Assignment.title_and_id`` (app/models/assignment.rb,
      ``/\\A(.*)\\s\\((\\d+)\\)\\z/``) gives each column's assignment id;
    - ``process_student``: the student is ``@all_students[row[1].to_i]`` (``row[2]`` with
      LastName, FirstName); only when that finds none, the SIS User ID, the SIS Login ID and
      at last the name. There is no "Test Student" rule: the exporter writes the student
      view's Test Student last (gradebook_exporter.rb, ``enrollments_for_csv``) and the
      importer takes that row by its ID like any other;
    - ``process_submissions``: the grade is ``row[assignment_index]&.strip``.
    """
    text_ = data.decode("utf-8").removeprefix("\ufeff")
    lines = text_.splitlines(keepends=True)[:3]
    counts = {}
    for sep in (",", ";"):
        widths = {len(next(csv.reader([line], delimiter=sep), [])) for line in lines}
        counts[sep] = widths.pop() if len(widths) == 1 else 0
    sep = ";" if counts[";"] > counts[","] else ","
    rows = [row for row in csv.reader(io.StringIO(text_, newline=""), delimiter=sep)
            if not re.fullmatch(r"[;, ]+", sep.join(row) or "x")]
    header, rows = rows[0], rows[1:]
    last_first = header[0] == "LastName" and header[1] == "FirstName"
    id_at = 2 if last_first else 1
    info = 4 if last_first else 3
    if re.search(r"SIS\s+User\s+ID", header[info - 1]):
        info += 2
    elif re.search(r"SIS\s+Login\s+ID", header[info - 1]):
        info += 1
    assert "Section" in header[info - 1]
    assignments = {i: m.group(2) for i, name in enumerate(header) if i >= info
                   and not re.search(CANVAS_NOT_ASSIGNMENTS, name)
                   and (m := re.match(r"\A(.*)\s\((\d+)\)\Z", name, re.S))}

    def converted(cell: str) -> str:
        if re.fullmatch(r"-?[0-9.,]+%?", cell):
            *parts, last = re.split(r"[,.]", cell)
            return ".".join(["".join(parts), last]) if parts else last
        return cell

    grades = {}
    for row in rows:
        if "Points Possible" in row[0] or all(CANVAS_MUTED.match(c) for c in row):
            continue
        grades[str(int(row[id_at]))] = {a: converted(row[i]).strip()
                                        for i, a in assignments.items()}
    return grades


CANVAS_ROWS = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Digit Recognition (4411)",
     '"Lab 1, warm-up (4410)"', "Quiz 2 (4412)", "Current Score", "Unposted Current Score",
     "Final Score", "Unposted Final Score"],
    ["    Points Possible", "", "", "", "", "10.00", "5.00", "3.00", "(read only)",
     "(read only)", "(read only)", "(read only)"],
    ['"Bitdiddle, Ben"', "12345", "S001", "ben", '"Section A, Mon"', "", "4.00", "2.00",
     "60.00", "60.00", "40.00", "40.00"],
    ['"Hacker, Alyssa P."', "23456", "S002", "alyssa", "Section A", "7.50", "5.00", "3.00",
     "100.00", "100.00", "90.00", "90.00"],
    ['"=HYPERLINK(""http://evil.example/"",""prize"")"', "34567", "S003", "eve",
     '"Section B\r\n(evenings)"', "", "3.00", "N/A", "50.00", "50.00", "30.00", "30.00"],
    ['"Reasoner, Cy D."', "45678", "", "cy", "Section B", "", "", "", "0.00", "0.00", "0.00",
     "0.00"],
    ['"Müller, José"', "56789", "S005", "jose", "Section A", "EX", "5.00", "1.00", "80.00",
     "80.00", "75.00", "75.00"],
    ['"Student, Test"', "99999", "", "", "", "", "", "", "", "", "", ""],
]
CANVAS_MARKS = [Mark("ben", "12345", 8.5, 10), Mark("alyssa", "23456", 9.0, 10),
                Mark("eve", "34567", 7.25, 10), Mark("jose", "56789", 6, 10),
                Mark("zed", "77777", 10, 10)]


def test_canvas_fills_the_assignments_column_and_nothing_else():
    ends = ["\r\n"] * len(CANVAS_ROWS)
    data = utf8_bom(build(CANVAS_ROWS, ",", ends))
    filled = SHEETS["canvas"](data, CANVAS_MARKS, assignment="digit_recognition")

    assert filled.column == "Digit Recognition (4411)"
    assert filled.placed == ["ben", "alyssa", "eve"]
    assert filled.unmatched == ["zed (Canvas id 77777)"]
    assert filled.skipped == ["jose: excused in Canvas (EX); left as it is"]
    assert_only_swapped(filled.data, CANVAS_ROWS, ",", ends, utf8_bom, "utf-8",
                        {(2, 5): "8.5", (3, 5): "9", (4, 5): "7.25"})

    before, after = canvas_import(data), canvas_import(filled.data)
    for mark in CANVAS_MARKS[:3]:
        assert float(after[mark.lms_id]["4411"]) == mark.score
    assert after["56789"]["4411"] == "EX"
    for student in before:  # the other assignments, and the students without a mark
        assert after[student]["4410"] == before[student]["4410"]
        assert after[student]["4412"] == before[student]["4412"]
    assert after["45678"] == before["45678"] and after["99999"] == before["99999"]


CANVAS_SEMICOLONS = [
    ["Student", "ID", "SIS Login ID", "Section", "Digit Recognition (4411)",
     '"Essay; draft (4413)"', "Current Score"],
    ["", "", "", "", "Manual Posting", "", ""],
    ["    Points Possible", "", "", "", "10", "20", "(read only)"],
    ['"Bitdiddle, Ben"', "12345", "ben", "A", "7,5", "12,5", "55,5"],
    ['"=1+2"', "23456", "alyssa", "B", "", "", ""],
]


@pytest.mark.parametrize("column", ["4411", "Digit Recognition", "Digit Recognition (4411)"])
def test_canvas_semicolons_mixed_line_ends_and_column_by_name_or_id(column):
    ends = ["\r\n", "\n", "\r\n", "\n", ""]  # as a spreadsheet saving part of it may leave it
    data = utf8(build(CANVAS_SEMICOLONS, ";", ends))
    marks = [Mark("ben", "12345", 9.25, 10), Mark("alyssa", " 23456 ", 4, 10)]
    filled = canvas.fill(data, marks, column=column)

    assert (filled.placed, filled.unmatched, filled.skipped) == (["ben", "alyssa"], [], [])
    assert_only_swapped(filled.data, CANVAS_SEMICOLONS, ";", ends, utf8, "utf-8",
                        {(3, 4): "9.25", (4, 4): "4"})
    after = canvas_import(filled.data)
    assert after["12345"] == {"4411": "9.25", "4413": "12.5"}
    assert after["23456"] == {"4411": "4", "4413": ""}


def canvas_file(header_tail: str, points: str = "10") -> bytes:
    return utf8(f"Student,ID,SIS Login ID,Section,{header_tail}\r\n"
                f"    Points Possible,,,,{points}\r\n\"Bitdiddle, Ben\",12345,ben,A,\r\n")


@pytest.mark.parametrize("data, kw, why", [
    (canvas_file("Digit Recognition (4411),Quiz (4412)"), {"assignment": "image_segmentation"},
     "no column fits the assignment 'image_segmentation' in this Canvas file; its assignment "
     "columns are: 'Digit Recognition (4411)'; 'Quiz (4412)'. Pass --column"),
    (canvas_file("Digit Recognition (4411),digit-recognition (4499)"),
     {"assignment": "digit_recognition"}, "several columns fit the assignment"),
    (canvas_file("Digit Recognition (4411)"), {}, "no column fits no column"),
    (canvas_file("Digit Recognition (4411)"), {"column": "4412"}, "no column fits --column"),
    (utf8("Name,User,Section,Digit Recognition (4411)\r\n"), {"column": "4411"},
     "not a Canvas gradebook export: its first row should begin with the columns Student,ID"),
    (utf8("Student,ID,SIS Login ID,Digit Recognition (4411)\r\n"), {"column": "4411"},
     "it has no Section column"),
    (canvas_file("Digit Recognition (4411)", "(read only)"), {"column": "4411"},
     "Canvas does not import the column 'Digit Recognition (4411)'"),
    (canvas_file("Digit Recognition (4411)", "20"), {"column": "4411"},
     "is out of 20 and the assignment out of 10"),
], ids=["no such assignment", "two fit", "nothing asked", "no such id", "not canvas",
        "no section", "read only", "out of"])
def test_canvas_refuses_what_it_cannot_fill_safely(data, kw, why):
    with pytest.raises(CommandError, match=re.escape(why)):
        canvas.fill(data, [Mark("ben", "12345", 8, 10)], **kw)


@pytest.mark.parametrize("marks, why", [
    ([Mark("ben", "12345", 8, 10), Mark("ben2", "12345", 9, 10)],
     "ben and ben2 have the same Canvas id '12345'"),
    ([Mark("ben", "12345", -1, 10)], "ben: a score of -1 cannot be returned"),
])
def test_a_class_record_that_cannot_be_returned_is_refused(marks, why):
    data = canvas_file("Digit Recognition (4411)")
    with pytest.raises(CommandError, match=re.escape(why)):
        canvas.fill(data, marks, column="4411")


# --- Moodle ---------------------------------------------------------------------------------


def moodle_import(data: bytes) -> dict[str, dict]:
    """What Moodle's "Upload grading worksheet" reads from each row: {participant id:
    {"grade", "modified", "feedback"}}.

    - lib/csvlib.class.php, ``csv_import_reader::load_csv_content``: the content converted
      to UTF-8, its byte order mark trimmed (``core_text::trim_utf8_bom``), every CRLF and CR
      made LF (``preg_replace('!\\r\\n?!', "\\n", ...)``), trimmed, then read by ``fgetcsv``
      with the chosen separator and ``"``; the first row is the columns;
    - mod/assign/feedback/offline/importgradeslib.php, ``assignfeedback_offline_grade_importer``:
      ``init`` finds, by exact name, ``Grade`` (``gradenoun``), ``Identifier`` (``recordid``)
      and ``Last modified (grade)`` (``lastmodifiedgrade``), and each enabled feedback
      plugin's editor field by its description (``Feedback comments``); ``next`` takes the
      participant id as the identifier less ``strlen(get_string('hiddenuser', 'assign'))``
      (``Participant ``), the grade as the cell's text and ``modified`` as
      ``strtotime`` of the date, which is written by mod/assign/gradingtable.php
      ``col_timemarked`` as ``userdate()``: English ``strftimedaydatetime``
      (lang/en/langconfig.php, ``%A, %d %B %Y, %I:%M %p``) without leading zeros;
    - mod/assign/feedback/offline/locallib.php, ``process_import_grades``: the grade is
      ``unformat_float`` (English decimal point ``.``); the row is skipped when the grade is
      the current one, empty or negative, above the maximum, ``grading_disabled``, or (unless
      "ignore modified") Moodle's own time is more than 60 s after ``modified``; feedback is
      written unless stale.
    """
    text_ = re.sub(r"\r\n?", "\n", data.decode("utf-8").removeprefix("\ufeff")).strip()
    rows = list(csv.reader(io.StringIO(text_), delimiter=","))
    at = {name: rows[0].index(name) for name in ("Grade", "Identifier",
                                                 "Last modified (grade)", "Feedback comments")}
    read = {}
    for row in rows[1:]:
        grade = row[at["Grade"]].strip().replace(" ", "")
        modified = row[at["Last modified (grade)"]]
        read[row[at["Identifier"]][len("Participant "):]] = {
            "grade": float(grade) if grade else None,
            "modified": None if modified == "-" else datetime.strptime(
                modified, "%A, %d %B %Y, %I:%M %p"),
            "feedback": row[at["Feedback comments"]]}
    return read


MOODLE_HEADER = ["Identifier", '"Full name"', '"Email address"', "Status", "Grade",
                 '"Maximum grade"', '"Grade can be changed"', '"Last modified (submission)"',
                 '"Last modified (grade)"', '"Feedback comments"']
MOODLE_ROWS = [
    MOODLE_HEADER,
    ['"Participant 101"', '"Ben Bitdiddle"', "ben@example.edu", '"Submitted for grading"', "",
     "100.00", "Yes", '"Monday, 1 December 2025, 11:02 PM"', "-", ""],
    ['"Participant 102"', '"Alyssa P. Hacker"', "alyssa@example.edu",
     '"Submitted for grading - Graded"', "70.00", "100.00", "Yes",
     '"Monday, 1 December 2025, 9:40 AM"', '"Wednesday, 3 December 2025, 9:59 AM"',
     '"<p>Good start</p>"'],
    ['"Participant 103"', "\"=cmd|' /C calc'!A0\"", "eve@example.edu",
     '"Submitted for grading"', "", "100.00", "No", '"Monday, 1 December 2025, 8:00 AM"', "-",
     ""],
    ['"Participant 104"', '"José Müller, Jr."', "jose@example.edu",
     '"Submitted for grading - Graded"', "88.00", "100.00", "Yes",
     '"Monday, 1 December 2025, 7:00 AM"', '"Wednesday, 3 December 2025, 4:30 PM"',
     '"<p>Regraded by hand</p>"'],
    ['"Participant 105"', '"Cy D. Reasoner"', "cy@example.edu", '"No submission"', "",
     "100.00", "Yes", "-", "-", '"Note to self:\nask about the ""late"" policy"'],
    ['"Participant 106"', '"Louis Reasoner"', "louis@example.edu", '"Submitted for grading"',
     "", "100.00", "Yes", '"Tuesday, 2 December 2025, 1:00 PM"',
     '"Wednesday, 3 December 2025, 10:00 AM"', ""],
]
# The worksheet's times are this machine's wall-clock times (moodle.py): so is this one, given
# in UTC, as the grader's ledger records it, to show that its zone does not matter.
GRADED_AT = datetime(2025, 12, 3, 10, 0, 30).astimezone().astimezone(UTC)
LOCAL_GRADED_AT = f"{GRADED_AT.astimezone():%Y-%m-%d %H:%M:%S %z}"
MOODLE_MARKS = [
    Mark("ben", "101", 85.5, 100, '=SUM(A1:A9), "really" <b>bold</b>\n-2 for lateness'),
    Mark("alyssa", "102", 91, 100, "-1: see the feedback page"),
    Mark("eve", "103", 50, 100, "fine"),
    Mark("jose", "104", 70, 100),
    Mark("cy", "105", 0, 100),
    Mark("louis", "106", 60, 100),
    Mark("zed", "999", 60, 100),
]


def test_moodle_fills_grade_and_comments_and_leaves_newer_and_locked_grades():
    ends = ["\n", "\r\n", "\n", "\n", "\n", "\n", ""]
    data = utf8_bom(build(MOODLE_ROWS, ",", ends))
    filled = moodle.fill(data, MOODLE_MARKS, graded_at=GRADED_AT)

    assert filled.column == "Grade"
    assert filled.placed == ["ben", "alyssa", "cy"]
    assert filled.unmatched == ["zed (Moodle id 999)"]
    assert filled.skipped == [
        "eve: Moodle says its grade cannot be changed (Grade can be changed: No); left as it is",
        "jose: graded in Moodle at Wednesday, 3 December 2025, 4:30 PM, not before our grading "
        f"at {LOCAL_GRADED_AT}; left as it is",
        # the worksheet drops seconds: 10:00 may be 10:00:59, after 10:00:30
        "louis: graded in Moodle at Wednesday, 3 December 2025, 10:00 AM, not before our "
        f"grading at {LOCAL_GRADED_AT}; left as it is",
    ]
    ben_comment = "'=SUM(A1:A9), \"really\" &lt;b&gt;bold&lt;/b&gt;<br>-2 for lateness"
    assert_only_swapped(filled.data, MOODLE_ROWS, ",", ends, utf8_bom, "utf-8", {
        (1, 4): "85.50", (1, 9): '"' + ben_comment.replace('"', '""') + '"',
        (2, 4): "91.00", (2, 9): "\"'-1: see the feedback page\"",
        (5, 4): "0.00",  # no comment: the cell with a line break in it stays
    })

    before, after = moodle_import(data), moodle_import(filled.data)
    assert {p: after[p]["grade"] for p in ("101", "102", "105")} == {
        "101": 85.5, "102": 91.0, "105": 0.0}
    assert after["101"]["feedback"] == ben_comment
    assert after["102"]["feedback"] == "'-1: see the feedback page"
    for left in ("103", "104", "105", "106"):
        assert after[left]["feedback"] == before[left]["feedback"]
    for left in ("103", "104", "106"):
        assert after[left] == before[left]


def test_moodle_writes_the_decimals_the_worksheet_uses_and_never_fewer_than_needed():
    rows = [MOODLE_HEADER, ['"Participant 7"', '"Ben"', "b@x", "s", "", "10", "Yes", "-", "-",
                            ""]]
    data = utf8(build(rows, ",", ["\n", "\n"]))
    filled = moodle.fill(data, [Mark("ben", "7", 8.5, 10)], graded_at=GRADED_AT)
    assert_only_swapped(filled.data, rows, ",", ["\n", "\n"], utf8, "utf-8", {(1, 4): "8.5"})


def moodle_file(header: list[str], maximum: str = "100.00") -> bytes:
    return utf8(",".join(header) + '\n"Participant 1",Ben,b@x,s,,' + maximum + ",Yes,-,-,\n")


@pytest.mark.parametrize("data, kw, marks, why", [
    (moodle_file(MOODLE_HEADER[:8] + ["Other", "Feedback comments"]), {}, None,
     "no 'Last modified (grade)' column"),
    (moodle_file(MOODLE_HEADER[:9] + ["Notes"]), {}, None,
     "no 'Feedback comments' column (the assignment has no feedback comments"),
    (moodle_file(MOODLE_HEADER[:5] + ["Scale"] + MOODLE_HEADER[6:]), {}, None,
     "graded on a scale"),
    (moodle_file(MOODLE_HEADER), {"column": "Feedback comments"}, None,
     "leave out --column 'Feedback comments'"),
    (moodle_file(MOODLE_HEADER, "10.00"), {}, None,
     "the Moodle column 'Grade' is out of 10 and the assignment out of 100"),
    (moodle_file(MOODLE_HEADER) + b'"Participant 2",Alyssa\n', {}, None,
     "row 3 of the Moodle worksheet has 2 cells and its header 10: Moodle would not import it"),
    (moodle_file(MOODLE_HEADER), {}, [Mark("ben", "1", 80, 100), Mark("ben", " 1", 70, 100)],
     "ben and ben have the same Moodle id '1'"),
], ids=["no date column", "no comments column", "scale", "column", "out of", "ragged",
        "shared id"])
def test_moodle_refuses_what_it_cannot_fill_safely(data, kw, marks, why):
    marks = marks or [Mark("ben", "1", 80, 100, "good")]
    with pytest.raises(CommandError, match=re.escape(why)):
        moodle.fill(data, marks, graded_at=GRADED_AT, **kw)


def test_moodle_leaves_a_row_whose_grading_time_it_cannot_read():
    rows = [MOODLE_HEADER, ['"Participant 7"', '"Ben"', "b@x", "s", '"80,00"', '"100,00"', "Oui",
                            "-", '"mercredi 3 décembre 2025, 09:15"', ""]]
    data = utf8(build(rows, ",", ["\n", "\n"]))
    filled = moodle.fill(data, [Mark("ben", "7", 85, 100)], graded_at=GRADED_AT)
    assert (filled.data, filled.placed) == (data, [])
    assert filled.skipped == ["ben: cannot read when Moodle last graded it ('mercredi 3 décembre "
                              "2025, 09:15'), which may be after our grading; left as it is"]


def test_moodle_needs_to_know_when_we_graded():
    with pytest.raises(ValueError, match="graded_at"):
        moodle.fill(moodle_file(MOODLE_HEADER), [Mark("ben", "1", 80, 100)])
    with pytest.raises(ValueError, match="aware"):
        moodle.fill(moodle_file(MOODLE_HEADER), [Mark("ben", "1", 80, 100)],
                    graded_at=datetime(2025, 12, 3, 10, 0))


# --- Blackboard -----------------------------------------------------------------------------

BLACKBOARD_ROWS = [
    ['"Last Name"', '"First Name"', '"Username"', '"Student ID"', '"Last Access"',
     '"Availability"', '"Weighted Total [Total Pts: up to 0 Percentage] |1001"',
     '"Total [Total Pts: up to 110 Score] |1002"',
     '"Digit Recognition [Total Pts: 10 Score] |123456"', '"Lab 1 [Total Pts: 100 Score] |123457"'],
    ['"Bitdiddle"', '"Ben"', '"ben"', '"S001"', '"2025-12-01 10:00:00"', '"Available"',
     '"62.5%"', '"66.00"', '""', '"66.00"'],
    ['"=HYPERLINK(""http://evil.example/"",""prize"")"', '"Eve"', '"eve"', '"S003"',
     '"2025-12-02 08:00:00"', '"Available"', '""', '"70.00"', '"Needs Grading"', '"70.00"'],
    ['"Müller"', '"José, Jr."', '"jose"', '"S005"', '""', '"Unavailable"', '""', '"87.00"',
     '"7"', '"80.00"'],
    ['"Reasoner"', '"Cy\r\nD."', '"cy"', '"S006"', '""', '"Available"', '""', '""', '""', '""'],
]
BLACKBOARD_MARKS = [Mark("ben", "ben", 8.5, 10), Mark("eve", "eve", 7, 10),
                    Mark("jose", "jose", 9.25, 10), Mark("zed", "zed", 10, 10)]


@pytest.mark.parametrize("sep, encode, codec", [("\t", utf16_bom, "utf-16"),
                                                (",", utf8, "utf-8")])
@pytest.mark.parametrize("kw", [{"assignment": "digit_recognition"}, {"column": "123456"},
                                {"column": "|123456"}, {"column": "Digit Recognition"},
                                {"column": "Digit Recognition [Total Pts: 10 Score] |123456"}])
def test_blackboard_fills_the_column_by_username(sep, encode, codec, kw):
    ends = ["\r\n"] * len(BLACKBOARD_ROWS)
    data = encode(build(BLACKBOARD_ROWS, sep, ends))
    filled = blackboard.fill(data, BLACKBOARD_MARKS, **kw)

    assert filled.column == "Digit Recognition [Total Pts: 10 Score] |123456"
    assert (filled.placed, filled.unmatched, filled.skipped) == (
        ["ben", "eve", "jose"], ["zed (Blackboard id zed)"], [])
    assert_only_swapped(filled.data, BLACKBOARD_ROWS, sep, ends, encode, codec,
                        {(1, 8): '"8.5"', (2, 8): '"7"', (3, 8): '"9.25"'})
    after = tokens(filled.data, codec, sep)
    assert {row[2]: row[8] for row in after[1:]} == {
        "ben": "8.5", "eve": "7", "jose": "9.25", "cy": ""}


def blackboard_file(*columns: str) -> bytes:
    head = '"Last Name"\t"First Name"\t"Username"\t' + "\t".join(f'"{c}"' for c in columns)
    return utf16_bom(head + '\r\n"B"\t"Ben"\t"ben"' + '\t""' * len(columns) + "\r\n")


@pytest.mark.parametrize("data, kw, why", [
    (utf16_bom('"Last Name"\t"First Name"\t"Digit Recognition [Total Pts: 10 Score] |1"\r\n'),
     {"column": "1"}, "not a Blackboard Grade Center download: no 'Username' column"),
    (blackboard_file("Total [Total Pts: up to 110 Score] |1002"), {"column": "Total"},
     "is a calculated column"),
    (blackboard_file("Lab 1 [Total Pts: 100 Score] |123457"), {"column": "Lab 1"},
     "is out of 100 and the assignment out of 10"),
    (blackboard_file("Digit Recognition [Total Pts: 10 Score] |1",
                     "Digit_Recognition [Total Pts: 10 Score] |2"),
     {"assignment": "digit_recognition"}, "several columns fit"),
    (blackboard_file("Notes"), {"column": "Notes"},
     "no column fits --column 'Notes' in this Blackboard file; its assignment columns are: "
     "none"),
], ids=["no username", "calculated", "out of", "two fit", "no column id"])
def test_blackboard_refuses_what_it_cannot_fill_safely(data, kw, why):
    with pytest.raises(CommandError, match=re.escape(why)):
        blackboard.fill(data, [Mark("ben", "ben", 8, 10)], **kw)
