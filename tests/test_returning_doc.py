"""docs/returning.md's recipe, run as written: for each LMS, its commands (the folder
variable C pointed at a new folder, the assignment the tiny one, `.venv/bin/` this venv's),
in a course folder like the instructor repository (its nbgrader_config.py with the page's
late policy appended), after the page's `nbgrader db assignment add` for the due date.

The venv is named by its real path, not linked into the course folder: the sandbox hides the
course folder (here under /tmp) from student code, and a kernel started through a link there
could not find its own Python."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lms_files import canvas_export, work_offline, worksheet, zip_of

from autograder.grader.course import NBGRADER_CONFIG

from helpers import ROOT, TINY_ID, TINY_NAME, tiny_course_at, tiny_submission

pytestmark = pytest.mark.slow  # each runs `grade`

DOC = ROOT / "docs" / "returning.md"
FULL = tiny_submission()
VENV_BIN = Path(sys.executable).parent


def blocks(section: str, language: str = "bash") -> list[str]:
    """The ```language blocks of the page's ``## section``."""
    text = DOC.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, re.S)


def as_run(script: str, folder: Path) -> str:
    """The page's commands with C at ``folder`` and the tiny assignment for the real one,
    each command's exit status printed after it (1 is "some student could not be": a class
    with someone missing goes on)."""
    script = re.sub(r"^C=.*$", f"C={folder}", script, flags=re.M)
    script = script.replace("digit_recognition", TINY_ID)
    lines = [line.replace(".venv/bin/", f"{VENV_BIN}/") + ('; echo "exit $?"' if line.startswith(
        ".venv/") else "") for line in script.splitlines()]
    return "\n".join(lines) + "\n"


def run(script: str, cwd: Path) -> list[int]:
    """Each command's exit status (and the output, when one could not run)."""
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    codes = [int(c) for c in re.findall(r"^exit (\d+)$", proc.stdout, re.M)]
    assert proc.returncode == 0 and codes and max(codes) <= 1, proc.stdout + proc.stderr
    return codes


@pytest.fixture(scope="module")
def documented_course(tmp_path_factory) -> Path:
    """A course as the page sets one up: its late policy in nbgrader_config.py, its due
    date by the page's nbgrader command (made once; each test copies it)."""
    root = tiny_course_at(tmp_path_factory.mktemp("documented") / "course")
    shutil.copyfile(NBGRADER_CONFIG, root / NBGRADER_CONFIG.name)
    with (root / NBGRADER_CONFIG.name).open("a") as config:
        config.write("\n" + blocks("Deadlines, extensions and the late policy", "python")[0])
    for script in blocks("Deadlines, extensions and the late policy"):
        assert run(as_run(script, root), root) == [0]
    return root


def lms_files(lms: str, folder: Path) -> None:
    """What the page tells the instructor to save in $C, for three students (Amy on time,
    Bob one day late, Cat with nothing handed in)."""
    folder.mkdir()
    if lms == "Canvas":
        canvas_export(folder / "Grades.csv", [("Lee, Amy", "101", "amy", "7"),
                                              ("Ng, Bob", "102", "bob", "8"),
                                              ("Ortiz, Cat", "103", "cat", "")])
        zip_of(folder / "submissions.zip", {f"leeamy_101_9001_{TINY_NAME}": FULL,
                                            f"ngbob_LATE_102_9002_{TINY_NAME}": FULL})
    elif lms == "Moodle":
        worksheet(folder / "worksheet.csv")
        zip_of(folder / "submissions.zip", {
            f"Amy Lee_501_assignsubmission_file/{TINY_NAME}": FULL,
            f"Bob Ng_502_assignsubmission_file/{TINY_NAME}": FULL,
            f"Dan Wu_504_assignsubmission_file/{TINY_NAME}": FULL})
    else:
        (folder / "roster.csv").write_text("student,lms_id\namy,amy\nbob,bob\ncat,cat\n")
        work_offline(folder / "offline.xls", ["amy", "bob", "cat"], name="Digits")
        zip_of(folder / "gradebook.zip", {
            f"Digits_amy_attempt_2026-12-01-12-00-00_{TINY_NAME}": FULL,
            f"Digits_bob_attempt_2026-12-02-10-00-00_{TINY_NAME}": FULL})


FILLED = {"Canvas": ("Grades-filled.csv", "utf-8-sig", ",", "SIS Login ID",
                     "Tiny Add (555)"),
          "Moodle": ("worksheet-filled.csv", "utf-8", ",", "Email address", "Grade"),
          "Blackboard Learn": ("offline-filled.xls", "utf-16", "\t", "Username",
                               "Digits [Total Pts: 5 Score] |7001")}
# 10% a started day late (the page's policy, due 2026-12-01 22:59 UTC): Bob's upload is
# marked LATE on Canvas (one day's percent, the least the marker proves); 35 hours late on
# Moodle (the worksheet's time, Berlin) and 16 on Blackboard (its attempt time, New York):
# two started days and one. Moodle's Dan was graded by hand in Moodle since, and is left
# alone (so that `return` exits 1 there).
EXPECTED = {"Canvas": {"amy": "5", "bob": "4.5", "cat": "0"},
            "Moodle": {"amy@example.edu": "5.00", "bob@example.edu": "4.00",
                       "cat@example.edu": "0.00", "dan@example.edu": "4.00"},
            "Blackboard Learn": {"amy": "5", "bob": "4.5", "cat": "0"}}


@pytest.mark.parametrize("lms", ["Canvas", "Moodle", "Blackboard Learn"])
def test_the_recipe_runs_as_written(tmp_path, documented_course, lms):
    root = tmp_path / "course"
    shutil.copytree(documented_course, root)
    folder = tmp_path / "round"
    lms_files(lms, folder)
    # collect: 1 (Cat handed in nothing); return: 1 on Moodle only (Dan's row left alone)
    assert run(as_run(blocks(lms)[0], folder), root) == [1, 0, 0, int(lms == "Moodle")]
    name, encoding, delimiter, who, column = FILLED[lms]
    text = (folder / name).read_bytes().decode(encoding)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    assert {r[who]: r[column] for r in rows if r[who]} == EXPECTED[lms]
    with zipfile.ZipFile(folder / "feedback.zip") as archive:
        assert archive.namelist()
