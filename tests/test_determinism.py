"""Same submission, same grade: graded alone in a fresh gradebook, it gets to the letter the
result it got in the class batch (``graded_class``), on another worker count."""

from __future__ import annotations

import catalogue
import pytest

from helpers import by_student, link_digit_solutions, place, run_grade

pytestmark = pytest.mark.slow  # trains the real model once more


def test_grading_one_submission_again_gives_identical_results(tmp_path, graded_class):
    _, batch, _ = graded_class
    # A submission that passes some tests and fails others, so messages are compared too.
    subs = tmp_path / "submissions"
    place(subs, "partial", catalogue.partial())
    course = link_digit_solutions(tmp_path / "course")
    alone, _ = run_grade(course, subs, "--workers", "1")
    (result,) = alone["submissions"]
    assert 0 < result["score"] < result["max_score"]  # it has messages worth comparing
    assert result == by_student(batch)["partial"]
