"""The grade command with its gradebook on a real PostgreSQL server (``--db URL``).

Several instructors grading at once need a server database; nbgrader supports any
SQLAlchemy URL, and this checks that our layer (registration, SaveAutoGrades, failures,
the rerun ledger) writes each student exactly once there too.
"""

from collections import Counter
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from pg_server import postgres_url  # noqa: F401  (session fixture: a real server)

from autograder.grader.course import Course

from helpers import TINY_ID, by_student, place, run_grade, tiny_submission

pytestmark = pytest.mark.slow  # runs `python -m autograder grade` (kernels)

COURSE_ID = "digit-recognition"
ASSIGNMENT = TINY_ID
EXPECTED = {"good": 5, "blank": 0, "half": 2, "malformed": 0}


def _gradebook(url: str) -> tuple[Counter, dict[str, float], dict[str, list[str]]]:
    """Students, submission scores and grade-cell names, as nbgrader itself reads them."""
    with Gradebook(url, COURSE_ID) as gb:
        students = Counter(s.id for s in gb.students)
        submissions = gb.find_assignment(ASSIGNMENT).submissions
        scores = {s.student.id: s.score for s in submissions}
        assert len(scores) == len(submissions), "a student has two submissions"
        cells = {s.student.id: sorted(g.name for g in s.notebooks[0].grades)
                 for s in submissions}
    return students, scores, cells


def _check(grades: dict, url: str) -> None:
    result = by_student(grades)
    assert {s: r["score"] for s, r in result.items()} == EXPECTED
    assert all(r["max_score"] == 5 for r in result.values())
    assert "not valid notebook JSON" in result["malformed"]["error"]
    assert [s for s, r in result.items() if r["error"]] == ["malformed"]
    assert result["half"]["tests"]["test_add"]["points"] == 0
    assert result["half"]["tests"]["test_add_strings"]["points"] == 2

    students, scores, cells = _gradebook(url)
    assert students == Counter(list(EXPECTED))  # each student exactly once
    assert scores == EXPECTED
    assert all(names == ["test_add", "test_add_strings"] for names in cells.values()), cells


def test_grading_into_postgres_records_each_student_once(
        tiny_course: Path, tmp_path: Path, postgres_url: str):  # noqa: F811
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission())
    place(subs, "blank", tiny_submission(None))
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    place(subs, "malformed", tiny_submission()[:200])

    first, _ = run_grade(tiny_course, subs, "--db", postgres_url)
    _check(first, postgres_url)
    # the grades went to the server, not to the default SQLite file
    assert not (tiny_course / "gradebook.db").exists()
    # graded notebooks stay with their gradebook, not in the course's own autograded/
    graded_nb = Course(tiny_course, postgres_url).autograded_notebook("good")
    assert graded_nb.is_relative_to(tiny_course / "graded")
    assert not (tiny_course / "autograded").exists()
    first_write = graded_nb.stat().st_mtime_ns

    # a plain rerun keeps the recorded results (the ledger lives in PostgreSQL too)
    kept, output = run_grade(tiny_course, subs, "--db", postgres_url)
    assert kept == first
    assert "unchanged" in output
    assert graded_nb.stat().st_mtime_ns == first_write

    # --force grades everyone again: same results, and still one row per student
    forced, output = run_grade(tiny_course, subs, "--db", postgres_url, "--force")
    assert forced == first
    assert "unchanged" not in output
    assert graded_nb.stat().st_mtime_ns > first_write
    _check(forced, postgres_url)
