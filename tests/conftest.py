"""Shared fixtures: a temporary course folder and the grading command, run for real."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "digit_recognition" / "digit_recognition.ipynb"
RELEASE = ROOT / "assignments" / "digit_recognition" / "digit_recognition.ipynb"
NOTEBOOK_NAME = "digit_recognition.ipynb"


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """An instructor course folder whose solutions/ is the repository's, with its own gradebook."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "solutions").symlink_to(ROOT / "solutions", target_is_directory=True)
    return course


def place(folder: Path, student: str, notebook: Path | str | bytes,
          name: str = NOTEBOOK_NAME) -> Path:
    """Put a submission where a class folder keeps it: folder/<student>/<name>."""
    dest = folder / student / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, Path):
        shutil.copy(notebook, dest)
    elif isinstance(notebook, bytes):
        dest.write_bytes(notebook)
    else:
        dest.write_text(notebook, encoding="utf-8")
    return dest


def run_grade(course: Path, *args: str | Path, timeout: int = 900) -> tuple[dict | None, str]:
    """Run `python -m autograder grade` as a user would; return (grade JSON, console output)."""
    out = course / "grades.json"
    cmd = [sys.executable, "-m", "autograder", "grade", *map(str, args),
           "--course-dir", str(course), "--json", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    return json.loads(out.read_text()), text


def by_student(grades: dict) -> dict[str, dict]:
    return {s["student"]: s for s in grades["submissions"]}


def _cell(kind: str, source: str, grade_id: str | None = None, *, grade=False, solution=False,
          locked=False, points=None):
    import nbformat.v4 as v4

    cell = v4.new_code_cell(source) if kind == "code" else v4.new_markdown_cell(source)
    if grade_id:
        meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
                "schema_version": 3}
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def tiny_source_notebook():
    """A two-second stand-in for the real assignment, to test grading mechanics quickly."""
    import nbformat.v4 as v4

    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        _cell("markdown", "# Tiny assignment", "intro", locked=True),
        _cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
                      "    ### END SOLUTION", "add", solution=True),
        _cell("code", "assert add(1, 2) == 3, 'add(1, 2) should be 3'\n"
                      "### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0, 'add(-1, 1) should be 0'\n"
                      "### END HIDDEN TESTS", "test_add", grade=True, locked=True, points=3),
        _cell("code", "import sys\nassert 'add' in dir(), 'add is not implemented yet'\n"
                      "### BEGIN HIDDEN TESTS\nassert add('a', 'b') == 'ab', 'strings too'\n"
                      "### END HIDDEN TESTS", "test_add_strings", grade=True, locked=True,
              points=2),
    ]
    return nb


def tiny_course_at(course: Path) -> Path:
    """A course folder at `course` whose assignment is the tiny stand-in above."""
    import nbformat

    src = course / "solutions" / "digit_recognition"
    src.mkdir(parents=True)
    nbformat.write(tiny_source_notebook(), src / NOTEBOOK_NAME)
    return course


@pytest.fixture
def tiny_course(tmp_path: Path) -> Path:
    return tiny_course_at(tmp_path / "tiny-course")


def tiny_submission(body: str | None = "    return a + b") -> str:
    """The tiny notebook as a student would hand it in, with `body` as their answer."""
    import nbformat

    nb = tiny_source_notebook()
    src = nb.cells[1].source
    start, end = src.index("    ### BEGIN SOLUTION"), src.index("### END SOLUTION") + 16
    nb.cells[1].source = src[:start] + (body or "    raise NotImplementedError()") + src[end:]
    for cell in nb.cells[2:]:
        cell.source = cell.source.split("### BEGIN HIDDEN TESTS")[0].rstrip()
    return nbformat.writes(nb)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> tuple[Path, dict, str]:
    """The real assignment's catalogue graded once, in one batch, as an instructor would.

    Returns (course folder, grade JSON, console output). Expected results: test_catalogue.py.
    """
    import catalogue

    base = tmp_path_factory.mktemp("class")
    course = base / "course"
    course.mkdir()
    (course / "solutions").symlink_to(ROOT / "solutions", target_is_directory=True)
    subs = base / "submissions"
    place(subs, "solution", SOLUTION)
    place(subs, "release", RELEASE)
    place(subs, "weird_but_correct", catalogue.weird_but_correct())
    place(subs, "partial", catalogue.partial())
    place(subs, "wrong_sizes", catalogue.wrong_sizes())
    place(subs, "fake_accuracy", catalogue.fake_accuracy())
    place(subs, "cheat_on_tests", catalogue.cheat_on_tests())
    place(subs, "truncated", SOLUTION.read_text()[:5000])
    place(subs, "empty", "")
    place(subs, "not_a_notebook", b"PK\x03\x04 a zip, not a notebook")
    place(subs, "renamed", RELEASE, name="digit_recognition (1).ipynb")
    place(subs, "two_unnamed", RELEASE, name="a.ipynb")
    place(subs, "two_unnamed", RELEASE, name="b.ipynb")
    grades, output = run_grade(course, subs)
    return course, grades, output
