"""Feedback HTML and the grades CSV, from notebooks graded by the real `grade` command.

The real solution and the untouched release are graded once for the module; the tiny
stand-in assignment supplies a hidden test that fails, whose traceback quotes its source.
"""

from __future__ import annotations

import base64
import csv
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grader.feedback import cut_hidden

from conftest import (
    ROOT,
    SOLUTION,
    by_student,
    place,
    run_grade,
    tiny_source_notebook,
    tiny_submission,
)

pytestmark = pytest.mark.slow

STUDENTS = ("solution", "release")
FEEDBACK = Path("feedback") / "{}" / "digit_recognition" / "digit_recognition.html"
SECTION = '<section id="model-feedback"'
PNG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def autograder(*args: str | Path) -> subprocess.CompletedProcess:
    """`python -m autograder ARGS` as an instructor runs it."""
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def visible_text(page: str) -> str:
    """What a browser shows: tags dropped (highlighted code is split into spans), unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def graded(graded_class) -> tuple[Path, dict]:
    """The catalogue course (conftest) after grading: (course, grades by student)."""
    course, grades, _ = graded_class
    result = by_student(grades)
    assert {s: result[s]["score"] for s in STUDENTS} == {"solution": 100, "release": 0}
    return course, result


@pytest.fixture(scope="module")
def pages(graded) -> dict[str, str]:
    """student -> feedback HTML written by `python -m autograder feedback` for everyone."""
    course, _ = graded
    proc = autograder("feedback", "--course-dir", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {s: (course / str(FEEDBACK).format(s)).read_text(encoding="utf-8") for s in STUDENTS}


def grade_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata.nbgrader.get("solution")]


def hidden_lines() -> set[str]:
    """Hidden-test lines of the source notebook that appear nowhere else in it."""
    nb = nbformat.read(SOLUTION, as_version=4)
    hidden = {line.strip() for cell in grade_cells(nb)
              for line in cut_hidden(cell.source, BEGIN, END)[1]}
    public = "\n".join(cut_hidden(cell.source, BEGIN, END)[0] for cell in nb.cells)
    return {line for line in hidden if len(line) >= 12 and line not in public}


def points() -> dict[str, float]:
    nb = nbformat.read(SOLUTION, as_version=4)
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
            for c in grade_cells(nb)}


def model_section(page: str) -> str:
    assert page.count(SECTION) == 1
    section = page[page.index(SECTION):page.rindex("</body>")]
    assert "</section>" in section  # appended inside the body
    return section


def test_every_graded_student_gets_feedback(pages):
    assert set(pages) == set(STUDENTS)
    for page in pages.values():
        assert "digit_recognition (Score:" in visible_text(page)


def test_no_hidden_test_source_in_any_feedback(pages):
    secret = hidden_lines()
    assert len(secret) > 50  # the solution notebook has ~140 such lines: the check has teeth
    for student, page in pages.items():
        for text in (page, html.unescape(page), visible_text(page)):
            leaked = sorted(line for line in secret if line in text)
            assert leaked == [], f"{student}'s feedback shows hidden tests: {leaked[:3]}"
        assert visible_text(page).count("ran at grading time") == len(points())


def test_feedback_shows_test_names_points_and_scores(pages, graded):
    _, grades = graded
    for student, page in pages.items():
        text = re.sub(r"\s+", " ", visible_text(page))
        total = grades[student]["score"]
        assert f"digit_recognition (Score: {total:.1f} / 100.0)" in text
        for gid, max_points in points().items():
            got = grades[student]["tests"][gid]["points"]
            assert f"Grade cell: {gid} Score: {got:.1f} / {max_points:.1f}" in text


def test_release_feedback_keeps_failure_messages(pages, graded):
    _, grades = graded
    text = visible_text(pages["release"])
    for gid, result in grades["release"]["tests"].items():
        # e.g. "AssertionError: my_relu is not implemented yet: ...": the whole message only
        # exists in the error output (the source splits it over several string literals)
        assert "not implemented yet" in result["feedback"], gid
        assert result["feedback"] in text, gid


def test_solution_feedback_shows_loss_misclassified_and_confusion(pages):
    section = model_section(pages["solution"])
    images = PNG.findall(section)
    assert len(images) == 3
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)
    headings = re.findall(r"<h4>([^<]+)</h4>", section)
    assert headings == ["Loss curve", "Misclassified digits", "Confusion matrix"]
    accuracy = re.search(r"recomputed by the grader: (0\.\d+|1\.0+)", section)
    assert accuracy and float(accuracy.group(1)) >= 0.95


def test_release_feedback_says_there_is_no_model(pages):
    section = model_section(pages["release"])
    assert PNG.findall(section) == []
    assert "No trained model was saved for this submission" in section
    assert "No training history was saved" in section


def test_student_option_writes_only_that_student(graded):
    course, _ = graded
    shutil.rmtree(course / "feedback", ignore_errors=True)
    proc = autograder("feedback", "--course-dir", course, "--student", "release")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = sorted(p.relative_to(course).as_posix() for p in course.glob("feedback/**/*.html"))
    assert written == [str(FEEDBACK).format("release")]


def test_a_student_never_graded_is_a_clear_error(graded):
    course, _ = graded
    proc = autograder("feedback", "--course-dir", course, "--student", "nobody")
    assert proc.returncode == 3
    assert "'nobody' was never graded" in " ".join(proc.stdout.split())


def test_export_writes_nbgraders_csv(graded, tmp_path):
    course, grades = graded
    out = tmp_path / "out" / "grades.csv"
    proc = autograder("export", "--course-dir", course, "--to", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    scores = {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in rows}
    assert {s: scores[s] for s in STUDENTS} == {"solution": (100.0, 100.0),
                                                "release": (0.0, 100.0)}
    assert set(scores) == set(grades)  # every graded student, failures included
    assert {r["assignment"] for r in rows} == {"digit_recognition"}
    assert all(float(r["raw_score"]) == float(r["score"]) for r in rows)  # no late penalty


@pytest.fixture(scope="module")
def tiny_hidden_failure(tmp_path_factory) -> Path:
    """The tiny course with one student who passes the public tests, fails a hidden one."""
    course = tmp_path_factory.mktemp("tiny") / "course"
    source = course / "solutions" / "digit_recognition" / "digit_recognition.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(tiny_source_notebook(), source)
    body = "    return a + b if isinstance(a, int) else None"
    place(course.parent / "subs", "ints_only", tiny_submission(body))
    grades, _ = run_grade(course, course.parent / "subs")
    tests = by_student(grades)["ints_only"]["tests"]
    assert tests["test_add_strings"]["feedback"] == "AssertionError: strings too"
    return course


def test_traceback_of_a_failed_hidden_test_loses_its_source(tiny_hidden_failure):
    course = tiny_hidden_failure
    secret = "add('a', 'b') == 'ab'"
    graded = nbformat.read(course / "autograded/ints_only/digit_recognition/"
                                    "digit_recognition.ipynb", as_version=4)
    tracebacks = [ANSI.sub("", "".join(o.traceback)) for c in graded.cells
                  for o in c.get("outputs", []) if o.output_type == "error"]
    quoted = [tb for tb in tracebacks if secret in tb]
    assert quoted, "precondition: the graded notebook's traceback quotes the hidden test"

    proc = autograder("feedback", "--course-dir", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = visible_text((course / str(FEEDBACK).format("ints_only")).read_text("utf-8"))
    assert secret not in text and "add(-1, 1)" not in text and BEGIN not in text
    assert "AssertionError: strings too" in text
    assert "(hidden test lines not shown)" in text  # where the traceback quoted them
    assert "# hidden tests (1 line) ran at grading time" in text
    assert re.search(r"Grade cell: test_add_strings\s+Score: 0\.0 / 2\.0", text)


def test_cut_hidden_hides_an_unterminated_region_to_the_end():
    source = "a = 1\n    ### BEGIN HIDDEN TESTS\n    secret()\n    more()"
    shown, removed = cut_hidden(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    assert shown == "a = 1\n    # hidden tests (2 lines) ran at grading time"
    assert [line.strip() for line in removed] == [BEGIN, "secret()", "more()"]
