"""Each LMS's files as it writes them, built from its documented columns: a download in its
naming, and the grade file it exports (for `collect` and `return`; the formats' rules are
cited in autograder/grader/collecting/lms.py and autograder/grader/returning/)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path


def zip_of(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Tiny Add (555)",
                 "Quiz 1 (556)", "Current Score", "Final Score"]
CANVAS_PEOPLE = [  # name, Canvas user id, login (our student id), quiz
    ("Lee, Amy", "101", "amy", "7"), ("Ng, Bob", "102", "bob", "8"),
    ("Ortiz, Cat", "103", "cat", ""), ('=HYPERLINK("http://x.example"), Eve', "104", "eve", "9")]


def canvas_export(path: Path, people=CANVAS_PEOPLE) -> Path:
    text = io.StringIO()
    rows = [CANVAS_HEADER, ["    Points Possible", "", "", "", "", "5.00", "10.00",
                            "(read only)", "(read only)"]]
    rows += [[name, uid, f"S{uid}", login, "Section A", "", quiz, "", ""]
             for name, uid, login, quiz in people]
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_text("\ufeff" + text.getvalue(), encoding="utf-8")
    return path


WORKSHEET_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade",
                    "Maximum grade", "Grade can be changed", "Last modified (submission)",
                    "Last modified (grade)", "Feedback comments"]


def worksheet(path: Path) -> Path:
    rows = [WORKSHEET_HEADER,
            ["Participant 501", "Amy Lee", "amy@example.edu", "Submitted for grading", "",
             "5.00", "Yes", "Tuesday, 1 December 2026, 9:00 PM", "-", ""],
            ["Participant 502", "Bob Ng", "bob@example.edu",
             "Submitted for grading - Assignment was submitted 1 day 10 hours late", "",
             "5.00", "Yes", "Thursday, 3 December 2026, 10:00 AM", "-", ""],
            ["Participant 503", "Cat Ortiz", "cat@example.edu", "No submission", "", "5.00",
             "Yes", "-", "-", ""],
            ["Participant 504", "Dan Wu", "dan@example.edu", "Submitted for grading",
             "4.00", "5.00", "Yes", "Tuesday, 1 December 2026, 8:00 PM",
             "Friday, 1 January 2100, 9:00 AM", "graded by hand"]]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


BB_HEADER = ["Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability",
             "Tiny [Total Pts: 5 Score] |7001", "Quiz [Total Pts: 10 Score] |7002"]


def work_offline(path: Path, usernames: list[str], name: str = "Tiny") -> Path:
    """Grade Center's Work Offline download (tab-separated, UTF-16 with its BOM), the
    assignment's column named ``name``."""
    header = [name + h.removeprefix("Tiny") if h.startswith("Tiny ") else h for h in BB_HEADER]
    rows = [header] + [[u.capitalize(), "X", u, f"ID-{u}", "2026-12-01 10:00:00",
                           "Available", "", "7"] for u in usernames]
    text = "".join("\t".join(f'"{cell}"' for cell in row) + "\r\n" for row in rows)
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return path
