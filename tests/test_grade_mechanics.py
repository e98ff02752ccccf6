"""The grade command end to end on a tiny stand-in assignment (seconds, not minutes).

Real nbgrader preprocessors, real kernels, a real SQLite gradebook; the real assignment is
graded in test_grade_assignment.py.
"""

from pathlib import Path

from nbgrader.api import Gradebook

from conftest import by_student, place, run_grade, tiny_submission


def _gradebook_scores(course: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "digit-recognition") as gb:
        return {s.student.id: s.score for s in gb.find_assignment("digit_recognition").submissions}


def test_a_class_with_broken_submissions_is_graded_to_the_end(tiny_course: Path, tmp_path: Path):
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission())
    place(subs, "blank", tiny_submission(None))
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    place(subs, "truncated", tiny_submission()[:200])
    place(subs, "empty", "")
    place(subs, "png", b"\x89PNG\r\n\x1a\n\x00\x00")
    place(subs, "dies", tiny_submission("    import os\n    os._exit(1)"))
    place(subs, "renamed", tiny_submission(), name="Copy of digit_recognition.ipynb")

    grades, output = run_grade(tiny_course, subs)

    result = by_student(grades)
    assert set(result) == {"good", "blank", "half", "truncated", "empty", "png", "dies",
                           "renamed"}
    assert grades["assignment"] == "digit_recognition"
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

    # the gradebook agrees with the JSON and holds every student exactly once
    assert _gradebook_scores(tiny_course) == {s: r["score"] for s, r in result.items()}


def test_regrading_gives_identical_grades(tiny_course: Path, tmp_path: Path):
    subs = tmp_path / "subs"
    place(subs, "good", tiny_submission())
    place(subs, "half", tiny_submission("    return a - b if isinstance(a, int) else a + b"))
    first, _ = run_grade(tiny_course, subs)
    second, _ = run_grade(tiny_course, subs)
    assert first == second
    assert _gradebook_scores(tiny_course) == {"good": 5, "half": 2}


def test_a_single_notebook_with_student_flag(tiny_course: Path, tmp_path: Path):
    nb = place(tmp_path, "whatever", tiny_submission())
    grades, _ = run_grade(tiny_course, nb, "--student", "zoe")
    assert [s["student"] for s in grades["submissions"]] == ["zoe"]
    assert grades["submissions"][0]["score"] == 5
