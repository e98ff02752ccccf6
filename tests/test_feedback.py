"""Feedback HTML and the grades CSV, from notebooks graded by the real `grade` command.

The real solution and the untouched release are graded once for the module; the tiny
stand-in assignment supplies a hidden test that fails, whose traceback quotes its source.
"""

from __future__ import annotations

import base64
import csv
import html
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.grader import feedback, page_header
from autograder.grader.feedback import cut_hidden
from autograder.grader.page_header import Lateness, span
from autograder.grader.page_safety import CSP_META
from autograder.grader.page_style import contrast

from helpers import (
    DIGIT_TOTAL,
    ROOT,
    SOLUTION,
    by_student,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
    unavailable,
)

pytestmark = pytest.mark.slow

STUDENTS = ("solution", "release")
FEEDBACK = Path("feedback") / "{}" / "digit_recognition" / "digit_recognition.html"
TINY_FEEDBACK = Path("feedback") / "{}" / "tiny_add" / "tiny_add.html"
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
    """The catalogue course (conftest's graded_class) after grading: (course, grades by student)."""
    course, grades, _ = graded_class
    result = by_student(grades)
    assert {s: result[s]["score"] for s in STUDENTS} == {"solution": DIGIT_TOTAL, "release": 0}
    return course, result


@pytest.fixture(scope="module")
def all_pages(graded) -> dict[str, str | None]:
    """student -> feedback HTML written by `python -m autograder feedback` for everyone in
    the gradebook (None: no page), read as soon as it is written."""
    course, grades = graded
    shutil.rmtree(course / "feedback", ignore_errors=True)
    proc = autograder("feedback", "--course-dir", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {s: course / str(FEEDBACK).format(s) for s in grades}
    return {s: path.read_text(encoding="utf-8") if path.is_file() else None
            for s, path in found.items()}


@pytest.fixture(scope="module")
def pages(all_pages) -> dict[str, str]:
    """The solution's and the untouched release's pages."""
    return {s: all_pages[s] for s in STUDENTS}


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
        assert f"digit_recognition (Score: {total:.1f} / {sum(points().values()):.1f})" in text
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
    assert {s: scores[s] for s in STUDENTS} == {"solution": (DIGIT_TOTAL, DIGIT_TOTAL),
                                                "release": (0.0, DIGIT_TOTAL)}
    assert set(scores) == set(grades)  # every graded student, failures included
    assert {r["assignment"] for r in rows} == {"digit_recognition"}
    assert all(float(r["raw_score"]) == float(r["score"]) for r in rows)  # no late penalty


@pytest.fixture(scope="module")
def tiny_hidden_failure(tmp_path_factory) -> Path:
    """The tiny course with one student who passes the public tests, fails a hidden one."""
    course = tiny_course_at(tmp_path_factory.mktemp("tiny") / "course")
    body = "    return a + b if isinstance(a, int) else None"
    place(course.parent / "subs", "ints_only", tiny_submission(body))
    grades, _ = run_grade(course, course.parent / "subs")
    tests = by_student(grades)["ints_only"]["tests"]
    assert tests["test_add_strings"]["feedback"] == "AssertionError: strings too"
    return course


def test_traceback_of_a_failed_hidden_test_loses_its_source(tiny_hidden_failure):
    """The redact step scrubs the traceback in the graded notebook (what formgrader and
    nbgrader's own feedback render); the page's HideHiddenTests removes the test's source."""
    course = tiny_hidden_failure
    secret = "add('a', 'b') == 'ab'"
    graded = nbformat.read(course / "autograded/ints_only/tiny_add/tiny_add.ipynb",
                           as_version=4)
    tracebacks = [ANSI.sub("", "".join(o.traceback)) for c in graded.cells
                  for o in c.get("outputs", []) if o.output_type == "error"]
    assert tracebacks and not [tb for tb in tracebacks if secret in tb]
    assert any("[hidden test text removed]" in tb for tb in tracebacks)

    proc = autograder("feedback", "--course-dir", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = visible_text((course / str(TINY_FEEDBACK).format("ints_only")).read_text("utf-8"))
    assert secret not in text and "add(-1, 1)" not in text and BEGIN not in text
    assert "AssertionError: strings too" in text
    assert "[hidden test text removed]" in text  # where the traceback quoted them
    assert "# hidden tests (1 line) ran at grading time" in text
    assert re.search(r"Grade cell: test_add_strings\s+Score: 0\.0 / 2\.0", text)


def test_cut_hidden_hides_an_unterminated_region_to_the_end():
    source = "a = 1\n    ### BEGIN HIDDEN TESTS\n    secret()\n    more()"
    shown, removed = cut_hidden(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    assert shown == "a = 1\n    # hidden tests (2 lines) ran at grading time"
    assert [line.strip() for line in removed] == [BEGIN, "secret()", "more()"]


# --- a page for everyone, a page worth reading ----------------------------------------------

FAILED = ("truncated", "empty", "not_a_notebook")  # handed in, could not be run
NOTHING = ("two_unnamed",)  # no notebook to grade: two, neither named as the assignment's


def test_every_student_of_the_gradebook_gets_a_page_failures_included(all_pages, graded):
    _, grades = graded
    assert [s for s in grades if all_pages[s] is None] == []
    for student, page in all_pages.items():
        assert f"Feedback for {student}</h1>" in header_of(page)  # no names: no roster
    for student in FAILED:
        text = visible_text(all_pages[student])
        assert "Your notebook could not be graded" in text and "What to do" in text
        assert html.unescape(grades[student]["error"]) in text
    for student in NOTHING:
        text = visible_text(all_pages[student])
        assert "We have no submission from you for digit_recognition." in text
        assert text.count(html.unescape(grades[student]["error"])) == 1


def test_the_page_opens_with_a_summary_and_its_images_have_alt_text(pages, graded):
    _, grades = graded
    for student, page in pages.items():
        body = page[page.index("<body"):]
        assert body.index('<section id="summary"') < body.index("digit_recognition (Score:")
        summary = body[body.index('<section id="summary"'):body.index("</section>")]
        for gid, test in grades[student]["tests"].items():
            assert gid in summary and f"{test['points']}/{test['max_points']}" in summary
        assert all(' alt="' in img for img in re.findall(r"<img [^>]*>", page))


def test_pages_need_no_network_and_forbid_scripts(all_pages):
    for page in all_pages.values():  # failure pages too
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert "<script" not in page.lower()  # MathJax came from a CDN: formulas stay TeX
        # and should a sanitizer miss something, the policy runs nothing and loads nothing
        head = re.search(r"<head[^>]*>(<meta [^>]*>)", page, re.I)
        assert head and head.group(1) == CSP_META


def test_one_page_that_cannot_be_written_is_skipped_and_said(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    place(tmp_path / "subs", "ann", tiny_submission())
    place(tmp_path / "subs", "bob", tiny_submission())
    run_grade(course, tmp_path / "subs")
    (course / "autograded/bob/tiny_add/tiny_add.ipynb").write_text("{oops")
    proc = autograder("feedback", "--course-dir", course)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 1, out
    assert "skipped bob" in out and "1 student(s) got no page" in out
    assert (course / str(TINY_FEEDBACK).format("ann")).is_file()


def test_two_gradebooks_in_one_course_folder_keep_their_notebooks_apart(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    place(tmp_path / "first", "ann", tiny_submission())
    place(tmp_path / "second", "bob", tiny_submission("    return None"))
    grades, output = run_grade(course, tmp_path / "first")
    assert by_student(grades)["ann"]["error"] is None, output
    other = f"sqlite:///{course / 'other.db'}"
    grades, output = run_grade(course, tmp_path / "second", "--db", other)
    assert by_student(grades)["bob"]["error"] is None, output
    assert sorted(p.name for p in (course / "autograded").iterdir()) == ["ann"]
    assert sorted(p.name for p in (course / "other-graded" / "autograded").iterdir()) == ["bob"]
    for db, student, folder in ((None, "ann", course), (other, "bob", course / "other-graded")):
        proc = autograder("feedback", "--course-dir", course, *(["--db", db] if db else []))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        written = sorted(p.relative_to(folder).as_posix()
                         for p in folder.glob("feedback/**/*.html"))
        assert written == [str(TINY_FEEDBACK).format(student)]


def _plain_generate_feedback(course: Path, config: str) -> str:
    (course / "nbgrader_config.py").write_text(config, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback",
                           "digit_recognition", "--student", "release", "--force",
                           "--log-level=ERROR"], cwd=course, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PATH": os.pathsep.join(
                              [str(Path(sys.executable).parent), os.environ["PATH"]])})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return (course / str(FEEDBACK).format("release")).read_text(encoding="utf-8")


def test_plain_nbgrader_generate_feedback_shows_no_hidden_test(graded, tmp_path):
    course, _ = graded
    copy = tmp_path / "course"
    shutil.copytree(course, copy, symlinks=True,
                    ignore=shutil.ignore_patterns("feedback", "graded_models"))
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    secret = hidden_lines()
    # Without the course's preprocessor line, nbgrader shows them: the check has teeth.
    unprotected = config.replace("c.GenerateFeedback.preprocessors", "_unused")
    assert unprotected != config
    page = visible_text(_plain_generate_feedback(copy, unprotected))
    assert len([line for line in secret if line in page]) > 50
    page = _plain_generate_feedback(copy, config)
    for text in (page, html.unescape(page), visible_text(page)):
        assert [line for line in secret if line in text] == []
    assert "ran at grading time" in page


# --- whose page it is: the header, and the page of a student who handed in nothing ------------

NAME = "<img src=x onerror=alert(1)>"           # a first name, as a class list may hold it
FILE = 'x"><img src=y onerror=alert(2)>.ipynb'  # a file name, as a student may choose it
HEADER_TAGS = {"header", "div", "h1", "span", "dl", "dt", "dd", "code"}


class Parsed(HTMLParser):
    """What an HTML parser makes of some markup: its elements and its text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.chunks: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if data.strip():
            self.chunks.append(" ".join(data.split()))

    @property
    def text(self) -> str:
        return " ".join(self.chunks)


def header_of(page: str) -> str:
    return page[page.index("<header"):page.index("</header>") + len("</header>")]


def title_of(page: str) -> str:
    return html.unescape(re.search(r"<title>([^<]*)</title>", page).group(1))


@pytest.fixture(scope="module")
def headed(tmp_path_factory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """The tiny course graded with a class list of names: ``ada`` passes and hands in late
    (the due date, her two days' extension, her time and nbgrader's penalty set in the
    gradebook after grading), ``mallory`` (named ``NAME``) hands in a broken notebook named
    ``FILE``, ``nobody`` hands in nothing. Returns (course, student -> page, student -> when
    the ledger recorded them, as the header writes it)."""
    from nbgrader.api import Gradebook

    from autograder.grader.course import Course
    from autograder.grader.steps.ledger import Ledger

    base = tmp_path_factory.mktemp("headed")
    course = tiny_course_at(base / "course")
    place(base / "subs", "ada", tiny_submission())
    place(base / "subs", "mallory", tiny_submission()[:300], name=FILE)
    (base / "subs" / "nobody").mkdir()
    roster = base / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("student", "first_name", "last_name"),
                                  ("ada", "Ada", "Lovelace"), ("mallory", NAME, ""),
                                  ("nobody", "", "")])
    grades, output = run_grade(course, base / "subs", "--roster", roster)
    assert by_student(grades)["ada"]["score"] == 5, output
    graded = Course(course)
    with Gradebook(graded.db, graded.id) as gb:
        gb.update_or_create_assignment("tiny_add", duedate=datetime(2026, 12, 3, 23, 59))
        gb.grant_extension("tiny_add", "ada", days=2)
        gb.update_or_create_submission("tiny_add", "ada", timestamp=datetime(2026, 12, 6, 10))
        gb.find_submission_notebook("tiny_add", "tiny_add", "ada").late_submission_penalty = 2
        gb.db.commit()
    proc = autograder("feedback", "--course-dir", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    book = Ledger(graded.db, "tiny_add")
    when = {s: book.graded_at(s).strftime("%Y-%m-%d %H:%M UTC") for s in ("ada", "mallory",
                                                                          "nobody")}
    book.close()
    pages = {s: (course / str(TINY_FEEDBACK).format(s)).read_text("utf-8") for s in when}
    return course, pages, when


def test_every_page_says_whose_it_is(headed):
    """Graded, could not be run, nothing handed in: the same header, the facts of each."""
    _, pages, when = headed
    course_id = "digit-recognition"  # nbgrader_config.py's CourseDirectory.course_id
    expected = {  # student: (their name in the header, the title, the file, the hand-in)
        "ada": ("Ada Lovelace (student id: ada)", "Ada Lovelace (ada)", "tiny_add.ipynb",
                "late: handed in 2026-12-06 10:00 UTC, due 2026-12-05 23:59 UTC "
                "(extension of 2 days included); penalty −2 points"),
        "mallory": (f"{NAME} (student id: mallory)", f"{NAME} (mallory)", FILE,
                    "due 2026-12-03 23:59 UTC; no hand-in time was recorded"),
        "nobody": ("nobody", "nobody", "none received", "due 2026-12-03 23:59 UTC"),
    }
    for student, (who, title, file, hand_in) in expected.items():
        page = pages[student]
        assert Parsed(header_of(page)).text == (
            f"Feedback for {who} Course {course_id} Assignment tiny_add File {file} "
            f"Graded {when[student]} Hand-in {hand_in}")
        assert title_of(page) == f"Feedback for {title}: tiny_add"
        assert re.match(r'<!DOCTYPE html>\s*<html lang="en"', page, re.I)
        assert '<header id="whose" aria-label="Whose feedback this is">' in page
        assert page.index("<header") < page.index('id="summary"')
    # the late penalty counts in the grade the summary shows, as in nbgrader's export
    assert "Your grade: 3/5 (5 from the tests, late penalty −2)" in visible_text(pages["ada"])


def test_names_and_file_names_in_the_header_stay_text(headed):
    _, pages, _ = headed
    for raw in (NAME, FILE):  # written as they are, each would be an element that runs
        assert ("img" in [tag for tag, _ in Parsed(f"<h1>{raw}</h1>").tags])
    page = pages["mallory"]
    header = Parsed(header_of(page))
    assert {tag for tag, _ in header.tags} <= HEADER_TAGS
    assert NAME in header.text and FILE in header.text and NAME in title_of(page)
    assert [tag for tag, attrs in Parsed(page).tags if tag == "img" or "onerror" in attrs] == []


def test_a_student_who_handed_in_nothing_gets_a_short_page(headed):
    _, pages, _ = headed
    page = pages["nobody"]
    text = Parsed(page[page.index("<main"):]).text
    assert text == ("We have no submission from you for tiny_add. Why: no notebook found: "
                    "expected tiny_add.ipynb Your score: 0 of 5 What to do Hand in "
                    "tiny_add.ipynb through the course's usual route before the deadline, "
                    "or ask your instructor if you did.")
    assert "<table" not in page and "Restart" not in page  # no test list, no run advice
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page  # styled, inline
    assert re.search(r"<head[^>]*>(<meta [^>]*>)", page).group(1) == CSP_META
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_a_notebook_that_could_not_run_keeps_its_advice(headed):
    _, pages, _ = headed
    text = visible_text(pages["mallory"])
    assert "Your notebook could not be graded:" in text and "is not valid notebook JSON" in text
    assert "Restart & Run All" in text and "We have no submission" not in text
    assert "<table" in pages["mallory"]


def test_a_page_merged_from_a_shard_says_whose_it_is(headed, tmp_path):
    """The class graded as one shard, merged into another course's gradebook: the header of
    a page written from the ledger alone (no names: this gradebook was given no class list)."""
    from helpers import empty_gradebook

    graded, _, _ = headed
    course = tiny_course_at(tmp_path / "course")
    shutil.copyfile(empty_gradebook(), course / "gradebook.db")
    for verb in (("merge", graded / "grades.json"), ("feedback",)):
        proc = autograder(*verb, "--course-dir", course)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (course / str(TINY_FEEDBACK).format("ada")).read_text("utf-8")
    header = Parsed(header_of(page)).text
    assert header.startswith("Feedback for ada Course digit-recognition Assignment tiny_add")
    assert re.search(r"Graded \d{4}-\d\d-\d\d \d\d:\d\d UTC", header)
    assert "graded on another machine" in visible_text(page)
    nobody = (course / str(TINY_FEEDBACK).format("nobody")).read_text("utf-8")
    assert "We have no submission from you for tiny_add." in visible_text(nobody)


def test_every_text_colour_of_our_pages_meets_wcag_aa_on_every_background():
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the formula: a known grey
    styles = page_header.STYLE + feedback.SHORT_STYLE
    texts = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", styles))
    grounds = set(re.findall(r"background:\s*(#[0-9a-fA-F]{6})", styles))
    assert len(texts) >= 4 and len(grounds) >= 3
    weak = [(t, g, round(contrast(t, g), 2)) for t in texts for g in grounds
            if contrast(t, g) < 4.5]
    assert weak == []


@pytest.mark.parametrize(("lateness", "line"), [
    (Lateness(datetime(2026, 12, 3, 10), datetime(2026, 12, 3, 23, 59)),
     "on time (due 2026-12-03 23:59 UTC)"),
    (Lateness(datetime(2026, 12, 5), datetime(2026, 12, 5, 23, 59), timedelta(hours=36)),
     "on time (due 2026-12-05 23:59 UTC, extension of 1 day 12 hours included)"),
    (Lateness(marked_late=True, penalty=10),
     "marked late by the LMS (no hand-in time); penalty −10 points"),
    (Lateness(due=datetime(2026, 12, 3, 23, 59), marked_late=True, penalty=1),
     "marked late by the LMS (no hand-in time; due 2026-12-03 23:59 UTC); penalty −1 point"),
    (Lateness(datetime(2026, 12, 4, 10), datetime(2026, 12, 3, 23, 59)),
     "late: handed in 2026-12-04 10:00 UTC, due 2026-12-03 23:59 UTC"),
    (Lateness(datetime(2026, 12, 4, 10)), None),  # no due date, not marked: nothing to say
])
def test_the_hand_in_line(lateness, line):
    assert lateness.line() == line


def test_the_lms_late_marker_speaks_only_where_there_is_no_time(headed):
    """A result's ``late`` (the ledger's) is the LMS's word for a submission without a time
    (nobody's, here); where the gradebook has a time (ada's), the time decides."""
    from autograder.grader.course import Course
    from autograder.records import SubmissionResult

    course = Course(headed[0])
    marked = SubmissionResult("any", 0, 5, {}, late=True, late_penalty=1)
    assert page_header.read(course, "nobody", marked).lateness.line() == (
        "marked late by the LMS (no hand-in time; due 2026-12-03 23:59 UTC); penalty −1 point")
    assert page_header.read(course, "ada", marked).lateness.line().startswith(
        "late: handed in 2026-12-06 10:00 UTC, due 2026-12-05 23:59 UTC")


def test_nothing_handed_in_is_neither_on_time_nor_late():
    due = datetime(2026, 12, 5, 23, 59)  # the student's own: the extension is in it
    assert Lateness(datetime(2026, 12, 7), due, timedelta(days=2)).line(handed=False) == (
        "due 2026-12-05 23:59 UTC (extension of 2 days included)")
    assert span(timedelta(minutes=90)) == "1 hour 30 minutes"


# --- in a real browser -------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("chromium is not installed: .ci/run installs Debian's chromium "
                    "(apt-get install chromium)")
    return found


@pytest.mark.parametrize("student", STUDENTS)
def test_a_browser_renders_the_page_offline(pages, student, tmp_path):
    page = tmp_path / "feedback.html"  # the page stands alone: images inline, no network
    page.write_text(pages[student], encoding="utf-8")
    shot = tmp_path / f"{student}.png"
    run = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([*run, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("L").getextrema()
    assert colours[1] - colours[0] > 100, "the screenshot is blank"
    dom = subprocess.run([*run, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert '<section id="summary"' in dom and "<table" in dom
    assert dom.count('id="model-feedback"') == 1
    images = re.findall(r"<img [^>]*>", dom[dom.index('id="model-feedback"'):])
    assert len(images) == (3 if student == "solution" else 0)


def test_a_browser_shows_a_hostile_name_as_text(headed, tmp_path):
    """The header of the page whose student is named ``NAME`` and whose file is ``FILE``,
    as Chromium builds it: their text, and no element but the header's own."""
    course, _, _ = headed
    page = course / str(TINY_FEEDBACK).format("mallory")
    dom = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    header = Parsed(header_of(dom))
    assert {tag for tag, _ in header.tags} <= HEADER_TAGS
    assert NAME in header.text and FILE in header.text
    assert "<img" not in dom  # an element would be serialised as one; text is &lt;img
