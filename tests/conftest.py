"""Shared fixtures. Plain helpers (paths, the tiny assignment, `run_grade`) are in helpers.py.

- ``tiny_course``: a course folder whose assignment is the tiny stand-in (no gradebook yet).
- ``empty_gradebook``: a gradebook file with nbgrader's tables and nothing else; copy it.
- ``tiny_gradebook_course``: a fresh copy, per test, of a tiny course whose gradebook already
  holds the assignment, as ``grade`` leaves it before grading (a ``Course``).
- ``student_template``: the student template exported once per run by
  ``python -m autograder template`` (read it, copy it; never change it in place).
- ``graded_class``: the real assignment's catalogue graded once per run (slow).
- ``solution_run``: the solution notebook executed once per run, as ``make reference`` runs
  it (slow).

Tests that start a Jupyter kernel, run ``grade`` or ``check``, or import TensorFlow are
marked ``slow``; ``pytest -m "not slow"`` runs the rest in under a minute.
"""

from __future__ import annotations

# Before anything imports nbformat: autograder keeps jsonschema from building an IRI grammar
# at import time (~3 s in each test process), which matters for a fast test run too.
import autograder  # noqa: F401

# isort: split
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.notebooknode import NotebookNode

from autograder.grader.course import Course

import helpers
from helpers import (
    ASSIGNMENT_ID,
    RELEASE,
    ROOT,
    SOLUTION,
    link_digit_solutions,
    place,
    run_grade,
    tiny_course_at,
)


def pytest_itemcollected(item):
    """Under pytest-xdist (make test) each test file runs in one process, so that its
    module fixtures are built once; the tests of the graded class, and those of the solution
    run, wherever they are, run in one process too, so that each is made once. (Marked as
    each test is collected: pytest-xdist reads the groups when collection is modified.)"""
    shared = [name for name in ("graded_class", "solution_run") if name in item.fixturenames]
    group = shared[0] if shared else item.module.__name__
    item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def tiny_course(tmp_path: Path) -> Path:
    return tiny_course_at(tmp_path / "tiny-course")


@pytest.fixture(scope="session")
def empty_gradebook() -> Path:
    """A gradebook.db holding nbgrader's tables and the course, no assignment; copy it."""
    return helpers.empty_gradebook()


@pytest.fixture(scope="session")
def _tiny_gradebook_course(tmp_path_factory, empty_gradebook) -> Path:
    from autograder.grader import gradebook

    course = tiny_course_at(tmp_path_factory.mktemp("tiny-gradebook") / "course")
    shutil.copyfile(empty_gradebook, course / "gradebook.db")
    assert gradebook.ensure_assignment(Course(course))
    return course


@pytest.fixture
def tiny_gradebook_course(tmp_path, _tiny_gradebook_course) -> Course:
    """The tiny course with the assignment in its gradebook (its own copy for each test)."""
    root = tmp_path / "course"
    shutil.copytree(_tiny_gradebook_course, root)
    return Course(root)


@pytest.fixture(scope="session")
def student_template(tmp_path_factory) -> Path:
    """The student template repository, as `python -m autograder template OUT` writes it."""
    out = tmp_path_factory.mktemp("export") / "student-template"
    proc = subprocess.run([sys.executable, "-m", "autograder", "template", str(out),
                           "--assignment", ASSIGNMENT_ID],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrote the student template" in proc.stdout
    return out


@pytest.fixture(scope="session")
def solution_run(tmp_path_factory) -> tuple[NotebookNode, Path]:
    """The solution executed once as ``make reference`` executes it, but in an environment
    that leaves TensorFlow's log alone (the notebook must quiet it itself): (the executed
    notebook, the folder its model and history were exported to)."""
    from autograder.grader.reference import run_solution

    export = tmp_path_factory.mktemp("solution-run")
    return run_solution(SOLUTION, export, env=helpers.quiet_free_env()), export


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> tuple[Path, dict, str]:
    """The real assignment's catalogue graded once, in one batch, as an instructor would.

    Returns (course folder, grade JSON, console output). Expected results: test_catalogue.py
    and, for the hostile ones, test_hostile_functions.py and test_hostile_model.py.
    """
    import catalogue

    base = tmp_path_factory.mktemp("class")
    course = base / "course"
    link_digit_solutions(course)  # the real assignment alone, however many ROOT holds
    subs = base / "submissions"
    place(subs, "solution", SOLUTION)
    place(subs, "release", RELEASE)
    place(subs, "weird_but_correct", catalogue.weird_but_correct())
    place(subs, "partial", catalogue.partial())
    place(subs, "wrong_sizes", catalogue.wrong_sizes())
    place(subs, "fake_accuracy", catalogue.fake_accuracy())
    place(subs, "cheat_on_tests", catalogue.cheat_on_tests())
    place(subs, "noisy_but_correct", catalogue.noisy_but_correct())
    for name in catalogue.ATTACKS:
        place(subs, name, catalogue.attack(name))
    place(subs, "relu_crashes_outside", catalogue.relu_crashes_outside())
    secret = base / "root-only.bin"  # where the grader runs, hidden from the sandbox
    secret.write_bytes(bytes(range(256)) * 64)
    secret.chmod(0o600)
    place(subs, "model_external_storage", catalogue.model_external_storage(secret))
    place(subs, "truncated", SOLUTION.read_text()[:5000])
    place(subs, "empty", "")
    place(subs, "not_a_notebook", b"PK\x03\x04 a zip, not a notebook")
    place(subs, "renamed", RELEASE, name="digit_recognition (1).ipynb")
    place(subs, "two_unnamed", RELEASE, name="a.ipynb")
    place(subs, "two_unnamed", RELEASE, name="b.ipynb")
    grades, output = run_grade(course, subs, new_gradebook=True)  # as a new course does
    return course, grades, output
