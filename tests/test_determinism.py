"""Same submission, same grade: three gradings in fresh gradebooks agree to the letter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import catalogue
import pytest

from helpers import ROOT, place

pytestmark = pytest.mark.slow  # trains the real model three times (at once)


def test_grading_one_submission_three_times_gives_identical_results(tmp_path: Path):
    # A submission that passes some tests and fails others, so messages are compared too.
    subs = tmp_path / "submissions"
    place(subs, "partial", catalogue.partial())
    runs = []
    for n in range(3):
        course = tmp_path / f"course{n}"
        course.mkdir()
        (course / "solutions").symlink_to(ROOT / "solutions", target_is_directory=True)
        out = course / "grades.json"
        cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--course-dir",
               str(course), "--json", str(out), "--quiet", "--workers", "1"]
        runs.append((out, subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)))
    grades = []
    for out, proc in runs:
        log, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, log
        grades.append(json.loads(out.read_text(encoding="utf-8")))
    (first,) = grades[0]["submissions"]
    assert 0 < first["score"] < first["max_score"]  # it has messages worth comparing
    assert grades[1] == grades[0] and grades[2] == grades[0]
