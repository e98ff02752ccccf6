"""What the tests share besides fixtures: repository paths, the tiny stand-in assignment, and
the grading command run as a user runs it. Import with ``from helpers import ...``; the
fixtures built on these live in conftest.py.

The tiny assignment, ``tiny_add`` (``tiny_source_notebook`` and tests/courses/tiny_add/
grading.py), is a second assignment of its own, with no TensorFlow: one solution cell,
``add``, and two test cells, ``test_add`` (3 points, also decided outside the kernel) and
``test_add_strings`` (2 points, kernel-only), each with a hidden part. Grading it takes
seconds, so the grading mechanics are tested on it; the real assignment is graded in
test_catalogue.py.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import nbformat
import nbformat.v4 as v4
import pytest
from nbformat.notebooknode import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_ID = "digit_recognition"
NOTEBOOK_NAME = f"{ASSIGNMENT_ID}.ipynb"
SOLUTION = ROOT / "solutions" / ASSIGNMENT_ID / NOTEBOOK_NAME
RELEASE = ROOT / "assignments" / ASSIGNMENT_ID / NOTEBOOK_NAME
# The course's first week: the binary lab (0 or 1) on the same data.
BINARY_ID = "digit_recognition_binary"
BINARY_NAME = f"{BINARY_ID}.ipynb"
BINARY_SOLUTION = ROOT / "solutions" / BINARY_ID / BINARY_NAME
BINARY_RELEASE = ROOT / "assignments" / BINARY_ID / BINARY_NAME
TINY_ID = "tiny_add"
TINY_NAME = f"{TINY_ID}.ipynb"
# The tiny assignment's grading.py, in a course folder of its own (tests/courses).
TINY_GRADING = Path(__file__).resolve().parent / "courses" / "solutions" / TINY_ID / "grading.py"

__all__ = ["ASSIGNMENT_ID", "NOTEBOOK_NAME", "RELEASE", "ROOT", "SOLUTION", "TINY_GRADING",
           "TINY_ID", "TINY_NAME", "by_student", "leaked", "link_digit_solutions", "make_cell",
           "place", "run_grade", "secret_lines", "tiny_course_at", "tiny_source_notebook",
           "tiny_submission", "unavailable"]


def place(folder: Path, student: str, notebook: Path | str | bytes,
          name: str | None = None) -> Path:
    """Put a submission where a class folder keeps it: folder/<student>/<name>; ``name``
    by default the notebook's assignment's (``TINY_NAME`` for a tiny one)."""
    if name is None:
        text = notebook if isinstance(notebook, str) else ""
        name = TINY_NAME if '"tiny_add"' in text else NOTEBOOK_NAME
    dest = folder / student / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, Path):
        shutil.copy(notebook, dest)
    elif isinstance(notebook, bytes):
        dest.write_bytes(notebook)
    else:
        dest.write_text(notebook, encoding="utf-8")
    return dest


@functools.cache
def empty_gradebook() -> Path:
    """A gradebook.db holding nbgrader's tables and nothing else, made once per test run;
    tests copy it (``run_grade`` does, unless told)."""
    from nbgrader.api import Gradebook

    from autograder.grader import gradebook  # noqa: F401  (stamps it without a subprocess)
    from autograder.grader.course import Course

    path = Path(tempfile.mkdtemp(prefix="empty-gradebook-")) / "gradebook.db"
    Gradebook(f"sqlite:///{path}", Course(ROOT, None, ASSIGNMENT_ID).id).close()
    return path


def quiet_free_env() -> dict[str, str]:
    """The environment without TF_CPP_MIN_LOG_LEVEL: the notebook must silence TF itself.
    Without PYTEST_CURRENT_TEST too: ipykernel stops capturing the kernel's stderr while it
    is set, which would hide from a test what a student's kernel writes there."""
    return {k: v for k, v in os.environ.items()
            if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}


def unavailable(reason: str) -> NoReturn:
    """A program a test needs is missing here (Chromium, axe-core, Slurm): the test is
    skipped, or fails on CI, where .ci/run installs it (it sets CI)."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def run_grade(course: Path, *args: str | Path, timeout: int = 900,
              new_gradebook: bool = False) -> tuple[dict | None, str]:
    """Run `python -m autograder grade` as a user would; return (grade JSON, console output).

    A SQLite gradebook that does not exist yet is copied from ``empty_gradebook()`` unless
    ``new_gradebook`` (then nbgrader creates it, as for a new course)."""
    out = course / "grades.json"
    db = str(args[args.index("--db") + 1]) if "--db" in args else None
    db_file = (Path(db.removeprefix("sqlite:///")) if db and db.startswith("sqlite:///")
               else course / "gradebook.db" if db is None else None)
    if db_file and not new_gradebook and not db_file.exists():
        shutil.copyfile(empty_gradebook(), db_file)
    cmd = [sys.executable, "-m", "autograder", "grade", *map(str, args),
           "--course-dir", str(course), "--json", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    return json.loads(out.read_text()), text


def by_student(grades: dict) -> dict[str, dict]:
    """The grade JSON's submissions by student id."""
    return {s["student"]: s for s in grades["submissions"]}


def make_cell(kind: str, source: str, grade_id: str | None = None, *, grade=False,
              solution=False, locked=False, points=None) -> NotebookNode:
    """A code or markdown cell, with nbgrader metadata (schema 3) when it has a grade id."""
    new = v4.new_code_cell(source) if kind == "code" else v4.new_markdown_cell(source)
    if grade_id:
        meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
                "schema_version": 3}
        if points is not None:
            meta["points"] = points
        new.metadata["nbgrader"] = meta
    return new


def tiny_source_notebook() -> NotebookNode:
    """A two-second stand-in for the real assignment, to test grading mechanics quickly."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["autograder"] = {"id": TINY_ID}  # as a release is stamped (release_check)
    nb.cells = [
        make_cell("markdown", "# Tiny assignment", "intro", locked=True),
        make_cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
                          "    ### END SOLUTION", "add", solution=True),
        make_cell("code", "assert add(1, 2) == 3, 'add(1, 2) should be 3'\n"
                          "### BEGIN HIDDEN TESTS\n"
                          "assert add(-1, 1) == 0, 'add(-1, 1) should be 0'\n"
                          "### END HIDDEN TESTS", "test_add", grade=True, locked=True, points=3),
        make_cell("code", "import sys\nassert 'add' in dir(), 'add is not implemented yet'\n"
                          "### BEGIN HIDDEN TESTS\nassert add('a', 'b') == 'ab', 'strings too'\n"
                          "### END HIDDEN TESTS", "test_add_strings", grade=True, locked=True,
                  points=2),
    ]
    return nb


def tiny_course_at(course: Path) -> Path:
    """A course folder at `course` whose one assignment is the tiny one above."""
    src = course / "solutions" / TINY_ID
    src.mkdir(parents=True)
    nbformat.write(tiny_source_notebook(), src / TINY_NAME)
    shutil.copyfile(TINY_GRADING, src / "grading.py")
    return course


def link_digit_solutions(course: Path, assignment_id: str = ASSIGNMENT_ID) -> Path:
    """``course/solutions/<assignment_id>`` (digit_recognition by default), a link to the
    repository's: a course whose one assignment is that one, however many the repository
    holds. Call it again with another id for a course of several."""
    link = course / "solutions" / assignment_id
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(ROOT / "solutions" / assignment_id, target_is_directory=True)
    return course


def tiny_submission(body: str | None = "    return a + b") -> str:
    """The tiny notebook as a student would hand it in, with `body` as their answer
    (None: the untouched release, whose `add` raises NotImplementedError)."""
    nb = tiny_source_notebook()
    src = nb.cells[1].source
    start, end = src.index("    ### BEGIN SOLUTION"), src.index("### END SOLUTION") + 16
    nb.cells[1].source = src[:start] + (body or "    raise NotImplementedError()") + src[end:]
    for test in nb.cells[2:]:
        test.source = test.source.split("### BEGIN HIDDEN TESTS")[0].rstrip()
    return nbformat.writes(nb)


def plain_nbgrader_autograde(work: Path, submissions: dict[str, str],
                             assignment_id: str = ASSIGNMENT_ID) -> dict[str, dict]:
    """Grade ``submissions`` (student -> notebook text) of one of the repository's
    assignments with plain ``nbgrader autograde`` in a fresh nbgrader course at ``work``, as
    a course without our layer would; return student -> grade id -> score, read from
    nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    from autograder.grader.course import Course

    work.mkdir(parents=True)
    # only this assignment: nbgrader and the course would see any other of the repository's
    shutil.copytree(ROOT / "solutions" / assignment_id, work / "solutions" / assignment_id,
                    ignore=shutil.ignore_patterns("*.keras", "*.json", ".ipynb_checkpoints"))
    shutil.copy(ROOT / "nbgrader_config.py", work)
    shutil.copyfile(empty_gradebook(), work / "gradebook.db")  # nbgrader's own: ~7 s more
    # AUTOGRADER_PLAIN_NBGRADER: nbgrader's own execution, not the course's sandboxed autograde
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")]),
           "AUTOGRADER_PLAIN_NBGRADER": "1"}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*nbgrader, "generate_assignment", assignment_id, "--force",
                    "--log-level=ERROR"], cwd=work, env=env, check=True, capture_output=True)
    for student, notebook in submissions.items():
        place(work / "submitted" / student, assignment_id, notebook, f"{assignment_id}.ipynb")
    proc = subprocess.run([*nbgrader, "autograde", assignment_id, "--log-level=ERROR"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    scores = {}
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}",
                   Course(ROOT, None, assignment_id).id) as gb:
        for student in submissions:
            nb = gb.find_submission_notebook(assignment_id, assignment_id, student)
            scores[student] = {g.name: g.score for g in nb.grades}
    assert scores, proc.stdout + proc.stderr
    return scores


# --- secrets: what must never reach a student or a public bundle ---------------------------

BEGIN = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
END = ("### END SOLUTION", "### END HIDDEN TESTS")
MIN_SECRET_LINE = 12


def secret_lines(source: Path = SOLUTION) -> set[str]:
    """Lines between solution or hidden-test markers that appear nowhere else in the source
    (not even as part of a longer line, as `model.compile(` does in the text)."""
    inside, outside = set(), set()
    for cell in nbformat.read(source, as_version=4).cells:
        region = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text.startswith(BEGIN):
                region = True
            elif text.startswith(END):
                region = False
            else:
                (inside if region else outside).add(text)
    elsewhere = "\n".join(outside)
    return {line for line in inside if len(line) >= MIN_SECRET_LINE and line not in elsewhere}


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def leaked(path: Path, secrets: set[str]) -> list[str]:
    """Secret lines found in a file, raw or (for notebooks) in its decoded JSON strings."""
    raw = path.read_bytes()
    texts = [raw.decode("utf-8", errors="replace")]
    if path.suffix == ".ipynb":
        texts += _strings(json.loads(raw))
    return sorted(line for line in secrets if any(line in text for text in texts))


def digit_assignment():
    """The real assignment as its grading.py declares it."""
    from autograder.grader.assignments import load

    return load(ROOT, ASSIGNMENT_ID)


def kernel_only_grading(folder: Path, reason: str = "a probe of the grading mechanics") -> Path:
    """Write ``folder/grading.py`` for the notebook there (``<folder name>.ipynb``), every
    autograded test declared kernel-only: for courses made up by a test."""
    from autograder.student.notebook import autograded_cells, grade_id

    nb = nbformat.read(folder / f"{folder.name}.ipynb", as_version=4)
    checks = "".join(f"    {grade_id(c)!r}: KernelOnly({reason!r}),\n"
                     for c in autograded_cells(nb) if c.cell_type == "code")
    path = folder / "grading.py"
    path.write_text("from autograder.assignment import Assignment, KernelOnly\n\n"
                    f"ASSIGNMENT = Assignment(id={folder.name!r}, checks={{\n{checks}}})\n",
                    encoding="utf-8")
    return path


# --- the real assignment's tests, as its source notebook declares them ----------------------
# Read from the nbgrader metadata (an autograded test cell: grade, not solution, with
# points), so that a test added to the notebook changes these and no test's literal.

def _points(value) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def source_tests(source: Path) -> dict[str, int | float]:
    """grade id -> points of each autograded test cell of a source notebook, in order."""
    tests = {}
    for cell in nbformat.read(source, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            tests[meta["grade_id"]] = _points(meta["points"])
    return tests


# grade id -> points of each autograded test cell of digit_recognition, in notebook order.
DIGIT_TESTS = source_tests(SOLUTION)
# Their sum, the assignment's total: an int when whole (100, not 100.0), as reports print it.
DIGIT_TOTAL = _points(sum(DIGIT_TESTS.values()))
# The same for digit_recognition_binary.
BINARY_TESTS = source_tests(BINARY_SOLUTION)
BINARY_TOTAL = _points(sum(BINARY_TESTS.values()))
