"""The grade command end to end on a tiny stand-in assignment (seconds, not minutes).

Real nbgrader preprocessors, real kernels, a real SQLite gradebook; the real assignment is
graded in test_catalogue.py.
"""

import csv
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook

from autograder.grader.steps.submissions import shard_of

from helpers import (
    ROOT,
    TINY_ID,
    TINY_NAME,
    by_student,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

pytestmark = pytest.mark.slow  # every test runs `python -m autograder grade` (kernels)


def _gradebook_scores(course: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "digit-recognition") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(TINY_ID).submissions}


def test_a_class_with_broken_submissions_is_graded_to_the_end(tiny_course: Path, tmp_path: Path):
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission())
    place(subs, "blank", tiny_submission(None))
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    place(subs, "truncated", tiny_submission()[:200])
    place(subs, "empty", "")
    place(subs, "png", b"\x89PNG\r\n\x1a\n\x00\x00")
    place(subs, "dies", tiny_submission("    import os\n    os._exit(1)"))
    place(subs, "renamed", tiny_submission(), name=f"Copy of {TINY_NAME}")

    grades, output = run_grade(tiny_course, subs)

    result = by_student(grades)
    assert set(result) == {"good", "blank", "half", "truncated", "empty", "png", "dies",
                           "renamed"}
    assert grades["assignment"] == TINY_ID
    assert (result["good"]["score"], result["good"]["max_score"]) == (5, 5)
    assert result["renamed"]["score"] == 5
    assert result["blank"]["score"] == 0 and result["blank"]["error"] is None
    assert "NotImplementedError" in result["blank"]["tests"]["test_add"]["feedback"]
    # partial credit stays per test cell
    assert result["half"]["tests"]["test_add"] == {
        "points": 0, "max_points": 3, "feedback": "AssertionError: add(1, 2) should be 3"}
    assert result["half"]["tests"]["test_add_strings"]["points"] == 2
    assert "not valid notebook JSON" in result["truncated"]["error"]
    assert "is empty" in result["empty"]["error"]
    assert "not valid notebook JSON" in result["png"]["error"]
    for name in ("truncated", "empty", "png"):
        assert result[name]["score"] == 0
        assert all(t["points"] == 0 for t in result[name]["tests"].values())
    # a dead kernel fails the cell it died in and the tests after it, never scores them full
    assert result["dies"]["tests"]["test_add"]["points"] == 0
    assert "kernel died" in result["dies"]["tests"]["test_add"]["feedback"]
    assert "did not run" in result["dies"]["tests"]["test_add_strings"]["feedback"]
    assert "good" in output and "5/5" in output
    assert f"Grades: {TINY_ID}" in output  # which assignment: a course grades several

    # the gradebook agrees with the JSON and holds every student exactly once
    assert _gradebook_scores(tiny_course) == {s: r["score"] for s, r in result.items()}


def test_regrading_gives_identical_grades(tiny_course: Path, tmp_path: Path):
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission())
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    first, _ = run_grade(tiny_course, subs)
    again, _ = run_grade(tiny_course, subs, "--force")
    assert first == again
    assert _gradebook_scores(tiny_course) == {"good": 5, "half": 2}


def test_rerun_grades_only_new_or_changed_submissions(tiny_course: Path, tmp_path: Path):
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission())
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    first, _ = run_grade(tiny_course, subs)
    place(subs, "half", tiny_submission())  # half fixed their code and pushed again
    place(subs, "new", tiny_submission(None))
    second, output = run_grade(tiny_course, subs, "--details")  # the notes whole
    scores = {s["student"]: s["score"] for s in second["submissions"]}
    assert scores == {"good": 5, "half": 5, "new": 0}
    assert by_student(second)["good"] == by_student(first)["good"]
    assert output.count("unchanged since it was last graded") == 1  # only good was skipped
    assert _gradebook_scores(tiny_course) == scores


def test_a_single_notebook_with_student_flag(tiny_course: Path, tmp_path: Path):
    nb = place(tmp_path, "whatever", tiny_submission())
    grades, _ = run_grade(tiny_course, nb, "--student", "zoe")
    assert [s["student"] for s in grades["submissions"]] == ["zoe"]
    assert grades["submissions"][0]["score"] == 5


def test_shards_cover_the_class_once_and_merge_into_one_gradebook(tmp_path: Path):
    subs = tmp_path / "subs"
    expected = {}
    for i in range(6):
        name = f"s{i}"
        place(subs, name, tiny_submission(None if i % 3 == 0 else "    return a + b"))
        expected[name] = 0 if i % 3 == 0 else 5
    shard_files, seen = [], []
    for k in (1, 2):
        course = tiny_course_at(tmp_path / f"shard{k}")
        grades, _ = run_grade(course, subs, "--shard", f"{k}/2")
        seen += [s["student"] for s in grades["submissions"]]
        shard_files.append(course / "grades.json")
    assert sorted(seen) == sorted(expected)  # every student in exactly one shard

    merged_course = tiny_course_at(tmp_path / "merged")
    cmd = [sys.executable, "-m", "autograder", "merge", *map(str, shard_files),
           "--course-dir", str(merged_course), "--json", str(tmp_path / "merged.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _gradebook_scores(merged_course) == expected

    cmd = [sys.executable, "-m", "autograder", "export", "--course-dir", str(merged_course),
           "--to", str(tmp_path / "grades.csv")]
    assert subprocess.run(cmd, capture_output=True, cwd=ROOT).returncode == 0
    with open(tmp_path / "grades.csv") as fh:
        rows = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(fh)}
    assert rows == expected

    # the same shard twice is refused, not double counted
    proc = subprocess.run([*cmd[:3], "merge", str(shard_files[0]), str(shard_files[0]),
                           "--course-dir", str(merged_course)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0 and "is in both" in proc.stdout + proc.stderr


def test_sigkill_mid_batch_then_rerun_grades_everyone_exactly_once(tiny_course: Path,
                                                                   tmp_path: Path):
    subs = tmp_path / "subs"
    for i in range(4):
        place(subs, f"k{i}", tiny_submission("    import time\n    time.sleep(1)\n"
                                             "    return a + b"))
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--course-dir",
           str(tiny_course), "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tiny_course / "gradebook.db"
    deadline = time.monotonic() + 300
    graded = 0
    while graded < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    graded = conn.execute("select count(*) from autograder_graded").fetchone()[0]
            except sqlite3.Error:
                pass
    assert proc.poll() is None and graded >= 1, "the batch ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    marker = f"autograder-{proc.pid}-"

    def orphans() -> list[tuple[int, list[str]]]:
        return [(p.pid, p.info["cmdline"]) for p in psutil.process_iter(["cmdline"])
                if any(marker in part for part in (p.info["cmdline"] or []))]

    # Teardown takes a moment on a loaded machine; an orphan would outlive any wait.
    give_up = time.monotonic() + 15
    while orphans() and time.monotonic() < give_up:
        time.sleep(0.2)
    assert orphans() == [], "workers outlived the killed grader"

    grades, output = run_grade(tiny_course, subs, "--details")  # the notes whole
    assert {s["student"]: s["score"] for s in grades["submissions"]} == {
        f"k{i}": 5 for i in range(4)}
    assert "unchanged since it was last graded" in output  # finished ones were not redone
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from autograder_graded").fetchone()[0] == 4
        missing = conn.execute("select count(*) from grade where auto_score is null "
                               "and needs_manual_grade = 0").fetchone()[0]
    assert missing == 0
    assert _gradebook_scores(tiny_course) == {f"k{i}": 5 for i in range(4)}


def test_the_table_is_short_with_problems_apart_from_notes(tiny_course: Path, tmp_path: Path):
    """For a class, `grade` prints a short line per student: what went wrong (a file that is
    no notebook) apart from the notes (which file was taken), each cut short; every message
    whole, and what each lost point was for, only with --details (each feedback page has
    them anyway). Changed test cells: tests/test_report.py."""
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission(), name=f"Copy of {TINY_NAME}")
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    place(subs, "png", b"\x89PNG\r\n\x1a\n\x00\x00", name=TINY_NAME)
    grades, output = run_grade(tiny_course, subs)
    header = next(line for line in output.splitlines() if "problem" in line)
    assert header.index("problem") < header.index("notes")
    lines = [line for line in output.splitlines() if line.startswith("│")]
    assert len(lines) <= 2 * 3  # at most two lines a student on an 80-column console
    table = " ".join(" ".join(line.strip("│").split()) for line in lines)
    assert "not valid" in table and "graded Copy of" in table
    whole = "re-download your notebook from Jupyter and submit that file"
    assert whole not in output and "AssertionError: add(1, 2) should be 3" not in output
    assert "--details shows the message of every lost point" in output
    _, detailed = run_grade(tiny_course, subs, "--details", "--force")
    detailed = " ".join(detailed.split())
    assert "test_add (0/3): AssertionError: add(1, 2) should be 3" in detailed
    assert whole in detailed and "notes: graded Copy of tiny_add.ipynb" in detailed
    assert by_student(grades)["half"]["score"] == 2


def test_merge_names_who_no_shard_graded_and_how_to_grade_only_them(tmp_path: Path):
    """Shard 3 of 3 never ran (a job array task that hit its time limit, was preempted or
    cancelled): `merge --class --of` names its students and the command for that shard
    alone; run as given, then merged with the others, the class is complete, each student
    once."""
    subs = tmp_path / "subs"
    for i in range(6):
        place(subs, f"s{i}", tiny_submission())
    def shard(k: int) -> Path:
        course = tiny_course_at(tmp_path / f"shard{k}")
        run_grade(course, subs, "--shard", f"{k}/3")
        return course / "grades.json"

    files = [shard(1), shard(2)]
    merged = tiny_course_at(tmp_path / "merged")

    def merge(*paths: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "autograder", "merge", *map(str, paths),
                               "--class", str(subs), "--of", "3", "--course-dir", str(merged)],
                              capture_output=True, text=True, cwd=ROOT)

    first = merge(*files)
    assert first.returncode == 1, first.stdout + first.stderr
    lost = sorted(f"s{i}" for i in range(6) if shard_of(f"s{i}", 3) == 3)
    assert lost and f"shard 3/3 is missing {len(lost)} student(s): {', '.join(lost)}" in (
        first.stdout)
    rerun = re.search(r"rerun: (.*)", first.stdout)[1].split()
    assert rerun[:4] == ["python", "-m", "autograder", "grade"]
    third = tiny_course_at(tmp_path / "shard3")
    proc = subprocess.run([sys.executable, *rerun[1:], "--course-dir", str(third), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    second = merge(*files, Path(rerun[rerun.index("--json") + 1]))
    assert second.returncode == 0 and "every student of" in second.stdout, second.stdout
    assert _gradebook_scores(merged) == {f"s{i}": 5 for i in range(6)}
