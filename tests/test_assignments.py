"""An assignment is one folder, solutions/<id>/: its notebook and grading.py. How the engine
finds and loads them, and the rule that every autograded test is decided outside the kernel
or says why not (autograder/assignment.py, autograder/grader/assignments.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from autograder.assignment import Assignment, FunctionCheck, KernelOnly, ModelCheck
from autograder.grader import assignments
from autograder.grader.course import Course, CourseError, unchecked_tests

from helpers import TINY_ID, place, run_grade, tiny_course_at, tiny_submission


def test_the_only_assignment_is_the_default_and_several_must_be_named(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    assert Course(course).assignment_id == TINY_ID
    shutil.copytree(course / "solutions" / TINY_ID, course / "solutions" / "tiny_two")
    (course / "solutions" / "tiny_two" / f"{TINY_ID}.ipynb").rename(
        course / "solutions" / "tiny_two" / "tiny_two.ipynb")
    with pytest.raises(assignments.AssignmentError,
                       match=r"2 assignments \(tiny_add, tiny_two\): say which with "
                             r"--assignment ID"):
        Course(course)
    with pytest.raises(assignments.AssignmentError, match="no assignment 'nope'.*tiny_add"):
        Course(course, None, "nope")
    # grading.py names its own id: a copied file that still says tiny_add is refused
    with pytest.raises(assignments.AssignmentError, match="must set ASSIGNMENT"):
        _ = Course(course, None, "tiny_two").assignment


def test_a_missing_or_broken_grading_file_says_what_to_do(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    grading = course / "solutions" / TINY_ID / "grading.py"
    grading.write_text("ASSIGNMENT = 1 / 0\n")
    with pytest.raises(assignments.AssignmentError, match="could not be loaded: "
                                                          "ZeroDivisionError"):
        _ = Course(course).assignment
    grading.unlink()
    with pytest.raises(assignments.AssignmentError, match="grading.py is missing"):
        _ = Course(course).assignment


def test_every_autograded_test_needs_a_check_or_a_reason():
    checks = {"test_a": FunctionCheck("f", abs, ()), "test_b": KernelOnly("strings")}
    assert Assignment("x", checks).checks == checks
    from autograder.assignment import missing_checks

    assert missing_checks(Assignment("x", checks), ["test_a", "test_b"]) == []
    assert missing_checks(Assignment("x", checks), ["test_a", "test_b", "test_c"]) == [
        "test test_c has no check in grading.py: decide it outside the kernel "
        "(FunctionCheck, ModelCheck) or declare it KernelOnly(reason)"]
    assert missing_checks(Assignment("x", checks), ["test_a"]) == [
        "grading.py checks test_b, which is not an autograded test of the notebook"]
    assert missing_checks(Assignment("x", {"test_m": ModelCheck("loss")}), ["test_m"]) == [
        "grading.py has ModelChecks but no model=DenseModel(...)"]
    with pytest.raises(ValueError, match="needs a reason"):
        KernelOnly(" ")
    with pytest.raises(ValueError, match="one of architecture"):
        ModelCheck("speed")


def test_grading_refuses_a_test_without_a_check(tmp_path):
    """Without the rule, a test missing from grading.py would be decided in the kernel only,
    silently; with it, `grade` stops and names the test."""
    course = tiny_course_at(tmp_path / "course")
    grading = course / "solutions" / TINY_ID / "grading.py"
    grading.write_text(grading.read_text().replace('"test_add_strings": KernelOnly(',
                                                   '"_unused": KernelOnly('))
    assert unchecked_tests(Course(course)) == [
        "test test_add_strings has no check in grading.py: decide it outside the kernel "
        "(FunctionCheck, ModelCheck) or declare it KernelOnly(reason)",
        "grading.py checks _unused, which is not an autograded test of the notebook"]
    with pytest.raises(CourseError, match="tiny_add cannot be graded as it is"):
        Course(course).check()
    place(tmp_path / "subs", "amy", tiny_submission())
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "subs"),
                           "--course-dir", str(course), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "test test_add_strings has no check in grading.py" in proc.stdout
    assert not (course / "autograded").exists()


@pytest.mark.slow  # grades the tiny class (kernels)
def test_with_every_test_checked_the_tiny_assignment_grades(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    place(tmp_path / "subs", "amy", tiny_submission())
    grades, _ = run_grade(course, tmp_path / "subs")
    assert grades["assignment"] == TINY_ID
    assert grades["submissions"][0]["score"] == 5
