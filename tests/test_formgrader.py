"""formgrader, nbgrader's instructor pages, on a course graded by `python -m autograder grade`.

A tiny course (helpers.tiny_course_at: seconds to grade) with make demo's two students,
`solution` and `untouched_release`, and `mallory`, whose notebook tries to write into the
course folder, is graded once by the real CLI with a roster. The tests start a real Jupyter
server on it (127.0.0.1, a free port, a token) and drive headless Chromium through selenium
(Debian's chromium and chromium-driver): the submission count, every student's name, time and
score, a graded notebook opened for manual review, then the Autograde button, which here runs
our grader, where plain `nbgrader autograde` runs the student's code as the instructor.
The fast tests at the top cover the pieces without a server.

The server and browser come from formgrader_driver.py, which docs/screenshots.py shares.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from formgrader_driver import (
    jupyter_server,
    logged_in,
    submissions_page,
    wait,
)
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from autograder.grader import gradebook
from autograder.grader.assignments import AssignmentError
from autograder.grader.course import NBGRADER_CONFIG, Course
from autograder.grader.nbgrader_autograde import (
    PLAIN_ENV,
    AutogradeRefused,
    SandboxedAutograde,
)
from autograder.grader.roster import Student
from autograder.grader.sandbox.isolation import isolation_problem
from autograder.grader.steps import record
from autograder.grader.steps.submissions import Submission

from helpers import (
    ASSIGNMENT_ID,
    ROOT,
    TINY_ID,
    TINY_NAME,
    empty_gradebook,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

ASSIGNMENT = TINY_ID
ROSTER = ("student,first_name,last_name,email,extension\n"
          "solution,Ada,Lovelace,ada@example.org,1h\n"
          "untouched_release,Alan,Turing,,\n"
          "mallory,Mallory,Hacker,,\n")
# The course's late policy and due date: `solution`, handed in at 22:50 UTC with a 1-hour
# extension of the 21:00 due date, is 50 minutes late: one started hour, 10% of 5 points
# (without the extension: two hours, 1 point).
DUE = datetime(2026, 12, 1, 21, 0)
LATE_POLICY = ('\nc.AssignLatePenalties.plugin_class = "autograder.grader.late.PercentLatePenalty"'
               "\nc.PercentLatePenalty.percent = 10\nc.PercentLatePenalty.period = 'hour'\n")
NAMES = {"solution": "Lovelace, Ada", "untouched_release": "Turing, Alan",
         "mallory": "Hacker, Mallory"}
SCORES = {"solution": "5 / 5", "untouched_release": "0 / 5", "mallory": "5 / 5"}
# A hand-in time comes from collect's record only: mallory's own timestamp.txt and the
# release's file time are not (test_hostile_times.py), so formgrader shows none for them.
COLLECTED_AT = "2026-12-01T23:50:00+01:00"
STAMPED_AT = "2026-12-01 10:00:00.000000 UTC"
MODIFIED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SHOWN_TIMES = {"solution": "2026-12-01 22:50:00 UTC", "mallory": "None",
               "untouched_release": "None"}
WRITTEN = "written-by-student-code.txt"
# Harmless stand-ins for a script that would use the instructor's session (the Jupyter API)
SCRIPT_IN_OUTPUT = """<img src="none.png" onerror="document.body.dataset.output = 'ran'">"""
SCRIPT_IN_MARKDOWN = """<img src="none.png" onerror="document.body.dataset.markdown = 'ran'">"""
# nbconvert prints an image's width unquoted: this one is an attribute of its own
SCRIPT_IN_METADATA = "1 onerror=document.body.dataset.metadata=1"
SCRIPT_LINK = "[my link](javascript:void(document.body.dataset.link=1))"


def hostile(course: Path) -> str:
    """A correct `add` whose cell also writes a file into the course folder, if it can, and
    scripts for whoever views the notebook: in HTML (in its output and a markdown cell), in an
    image's metadata, and in a markdown link."""
    target = course / WRITTEN
    nb = nbformat.reads(tiny_submission(
        "    return a + b\n\n"
        "import os, pathlib\n"
        "try:\n"
        f"    pathlib.Path({str(target)!r}).write_text(f'uid {{os.getuid()}}')\n"
        "    print('wrote into the course folder')\n"
        "except OSError as exc:\n"
        "    print('refused:', exc)\n"
        "from IPython.display import HTML, display, publish_display_data\n"
        f"display(HTML({SCRIPT_IN_OUTPUT!r}))\n"
        "publish_display_data({'image/png': 'AAAA'},\n"
        f"                     {{'image/png': {{'width': {SCRIPT_IN_METADATA!r}}}}})\n"),
        as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"My notes {SCRIPT_IN_MARKDOWN}\n\n"
                                                  f"{SCRIPT_LINK}"))
    return nbformat.writes(nb)


# --- fast: the pieces ----------------------------------------------------------------------

def test_a_submission_is_kept_as_nbgrader_keeps_it(tiny_gradebook_course, tmp_path):
    course: Course = tiny_gradebook_course
    notebook = place(tmp_path / "class", "amy", tiny_submission())
    gradebook.register(course, "amy", COLLECTED_AT)
    record.keep_submission(course, "amy", notebook, COLLECTED_AT)
    kept = course.submitted_notebook("amy")
    assert kept == course.root / "submitted" / "amy" / ASSIGNMENT / TINY_NAME
    assert kept.read_bytes() == notebook.read_bytes()
    # formgrader lists a submission as graded only when timestamp.txt and the gradebook agree
    coursedir = CourseDirectory(config=course.nbgrader_config())
    with Gradebook(course.db, course.id) as gb:
        recorded = gb.find_submission(ASSIGNMENT, "amy").timestamp
    assert coursedir.get_existing_timestamp(str(kept.parent)) == recorded
    assert recorded == datetime(2026, 12, 1, 22, 50)
    assert Submission("amy", kept).handed_in(course) == "2026-12-01T22:50:00+00:00"
    # graded from that folder (formgrader's Autograde button): left as it is
    record.keep_submission(course, "amy", kept, "2027-01-01T00:00:00+00:00")
    assert coursedir.get_existing_timestamp(str(kept.parent)) == recorded
    # a later submission without a notebook leaves no stale copy to count or regrade
    (kept.parent / "extra.txt").write_text("old")
    record.save_failure(course, "amy")
    assert not kept.parent.exists()


def test_roster_names_reach_the_gradebook_and_blank_fields_change_nothing(
        tiny_gradebook_course):
    course: Course = tiny_gradebook_course
    gradebook.register(course, "amy")
    gradebook.name_students(course, [Student("amy", first_name="Amy", last_name="Pond",
                                             email="amy@example.org"),
                                     Student("rory", first_name="Rory")])
    gradebook.name_students(course, [Student("amy", last_name="Williams")])
    gradebook.register(course, "amy")  # a regrade keeps the names
    with Gradebook(course.db, course.id) as gb:
        people = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    assert people == {"amy": ("Amy", "Williams", "amy@example.org"),
                      "rory": ("Rory", None, None)}  # on the list, nothing submitted


def test_the_sandbox_hides_the_graded_folders_of_a_new_course(tiny_gradebook_course,
                                                              monkeypatch):
    """They are filled while the class runs (every student's notebook, graded copies); the
    sandbox hides only folders that exist when it starts, so grading creates them first.
    (Before that, in a course outside /tmp and the home folder, a student's code read a
    classmate's copy in submitted/ during the first run.)"""
    from autograder.grader import pipeline

    course: Course = tiny_gradebook_course
    hidden: list[Path] = []

    class Spy(pipeline.Workers):
        def __init__(self, setup, *args, **kwargs):
            super().__init__(setup, *args, **kwargs)
            hidden.extend(setup.hidden)

    monkeypatch.setattr(pipeline, "Workers", Spy)
    assert not course.submitted_dir.exists()
    pipeline.grade_all(course, [], pipeline.Options(isolate=False, zygote=False), {})
    folders = (course.submitted_dir, course.autograded_dir, course.graded_dir / "graded_models")
    assert {f.resolve() for f in folders} <= set(hidden)


def test_submitted_folder_is_configured_for_nbgrader_and_hidden_from_students(tmp_path):
    course = Course(tiny_course_at(tmp_path / "course"), f"sqlite:///{tmp_path / 'spring.db'}")
    assert course.submitted_dir == tmp_path / "spring-graded" / "submitted"
    config = course.nbgrader_config()
    assert config.CourseDirectory.submitted_directory == str(course.submitted_dir)
    course.submitted_dir.mkdir(parents=True)
    assert course.submitted_dir in course.private_paths()


def _load_config(monkeypatch, plain: bool):
    from traitlets.config.loader import PyFileConfigLoader

    if plain:
        monkeypatch.setenv(PLAIN_ENV, "1")
    else:
        monkeypatch.delenv(PLAIN_ENV, raising=False)
    return PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)
                              ).load_config()


def test_nbgrader_config_routes_autograde_through_the_grader(monkeypatch):
    config = _load_config(monkeypatch, plain=False)
    assert config.Autograde.autograde_preprocessors == [SandboxedAutograde]
    # the way the tests and the benchmark measure plain nbgrader: its own preprocessors
    assert "autograde_preprocessors" not in _load_config(monkeypatch, plain=True).Autograde


def test_sandboxed_autograde_refuses_another_assignment(tiny_course):
    config = Course(tiny_course).nbgrader_config()

    def autograde(assignment: str, notebook: str) -> None:
        resources = {"nbgrader": {"student": "amy", "assignment": assignment,
                                  "notebook": notebook, "db_url": "sqlite://"}}
        SandboxedAutograde(config=config).preprocess(nbformat.v4.new_notebook(), resources)

    with pytest.raises(AssignmentError, match=f"no assignment 'other' .*the course has {TINY_ID}"):
        autograde("other", "other")
    with pytest.raises(AutogradeRefused, match=f"assignment {TINY_ID} is graded as {TINY_NAME}, "
                                               "not other.ipynb"):
        autograde(TINY_ID, "other")


# --- slow: a graded course, a Jupyter server, a browser --------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The course, graded by `python -m autograder grade class/ --roster roster.csv`."""
    base = tmp_path_factory.mktemp("formgrader")
    root = tiny_course_at(base / "course")
    shutil.copy(NBGRADER_CONFIG, root)  # as in the instructor repository: formgrader reads it
    with (root / NBGRADER_CONFIG.name).open("a") as config:
        config.write(LATE_POLICY)
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", Course(ROOT, None, ASSIGNMENT_ID).id
                   ) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    students = base / "class"
    place(students, "solution", tiny_submission())
    release = place(students, "untouched_release", tiny_submission(None))
    os.utime(release, (MODIFIED_AT.timestamp(),) * 2)
    place(students, "mallory", hostile(root))
    (students / "mallory" / "timestamp.txt").write_text(STAMPED_AT)
    (students / "collection.json").write_text(json.dumps(  # as `collect --git` writes it
        {"origin": "git", "source": "roster.csv", "deadline": None, "unmatched": [],
         "students": {"solution": {"source": "solution.git", "submitted_at": COLLECTED_AT,
                                   "commit": "ab" * 20}}}))
    (base / "roster.csv").write_text(ROSTER)
    grades, output = run_grade(root, students, "--roster", base / "roster.csv")
    assert {s["student"]: s["score"] for s in grades["submissions"]} == {
        "solution": 5, "untouched_release": 0, "mallory": 5}, output
    assert not (root / WRITTEN).exists()
    assert {s["student"]: s["late_penalty"] for s in grades["submissions"]} == {
        "solution": 0.5, "untouched_release": 0, "mallory": 0}
    return root


@pytest.fixture(scope="module")
def server(course, tmp_path_factory):
    """`jupyter server` in the course folder with nbgrader's formgrader: (base URL, token)."""
    with jupyter_server(course, tmp_path_factory.mktemp("jupyter")) as url_token:
        yield url_token


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """Headless Chromium driven by selenium, logged in to the server."""
    with logged_in(tmp_path_factory.mktemp("chromium-profile"), server) as driver:
        yield driver


def _submissions_page(driver, server) -> dict[str, dict[str, str]]:
    return submissions_page(driver, server[0], ASSIGNMENT, set(NAMES))


def _press(driver, student: str, cell: str, timeout: float):
    """Manage Submissions' button in ``student``'s row and column ``cell``; the dialog it
    opens, once it has faded in (Bootstrap's "in")."""
    from selenium.webdriver.common.by import By

    driver.execute_script("""
        Array.from(document.querySelectorAll('#main-table tr'))
          .find(tr => tr.querySelector('td.student-id')?.innerText.trim() === arguments[0])
          .querySelector('td.' + arguments[1] + ' a').click();""", student, cell)
    return wait(driver, lambda d: next(iter(d.find_elements(
        By.CSS_SELECTOR, "#success-modal.in, #error-modal.in")), None), timeout=timeout)


@pytest.mark.slow
def test_manage_assignments_counts_the_submissions(browser, server):
    from selenium.webdriver.common.by import By

    url, _ = server
    browser.get(f"{url}/formgrader/manage_assignments")
    count = wait(browser, lambda d: next(
        (c.text for c in d.find_elements(By.CSS_SELECTOR, "#main-table td.num-submissions")
         if c.text), None))
    assert count == str(len(NAMES))  # nbgrader counts the folders in submitted/


@pytest.mark.slow
def test_manage_submissions_shows_every_student_with_name_time_and_score(
        browser, server, tmp_path):
    rows = _submissions_page(browser, server)
    assert {s: r["student-name"] for s, r in rows.items()} == NAMES
    assert {s: r["timestamp"] for s, r in rows.items()} == SHOWN_TIMES
    assert {s: r["score"] for s, r in rows.items()} == SCORES
    # timestamp.txt and the gradebook agree, so none "needs autograding"
    assert {r["status"] for r in rows.values()} == {"graded"}
    shot = tmp_path / "formgrader.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.mark.slow
def test_the_due_date_and_the_late_policy_show_in_formgrader(browser, server):
    """The due date on Manage Assignments; formgrader's own Generate Feedback (nbgrader's,
    with the course's configuration) shows the penalty the percent policy took, computed
    from the student's extended deadline."""
    from selenium.webdriver.common.by import By

    url, token = server
    browser.get(f"{url}/formgrader/manage_assignments")
    due = wait(browser, lambda d: next(
        (c.text for c in d.find_elements(By.CSS_SELECTOR, "#main-table td.duedate") if c.text),
        None))
    assert due.startswith("2026-12-01 21:00:00")
    _submissions_page(browser, server)
    modal = _press(browser, "solution", "generate-feedback", timeout=120)
    assert modal.get_attribute("id") == "success-modal", modal.get_attribute("textContent")
    browser.get(f"{url}/files/feedback/solution/{ASSIGNMENT}/{TINY_NAME[:-6]}.html"
                f"?token={token}")
    text = wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").text)
    assert "Late submission penalty (Score: -0.5)" in text


@pytest.mark.slow
def test_a_graded_notebook_opens_for_manual_review(browser, server):
    from selenium.webdriver.common.by import By

    url, _ = server
    browser.get(f"{url}/formgrader/manage_students/solution/{ASSIGNMENT}")
    link = wait(browser, lambda d: next(iter(
        d.find_elements(By.CSS_SELECTOR, "#main-table td.name a")), None))
    assert link.text == TINY_ID
    link.click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input.score#test_add_strings"))

    # The autograder's points stand as placeholders until the instructor types a manual
    # score; formgrader's script fills them after the page loads, so wait for them.
    def placeholders(d):
        found = {gid: d.find_element(By.ID, gid).get_attribute("placeholder")
                 for gid in ("test_add", "test_add_strings")}
        return found if all(found.values()) else None

    assert wait(browser, placeholders) == {"test_add": "3", "test_add_strings": "2"}
    page = browser.find_element(By.TAG_NAME, "body").text
    assert re.search(rf"Submission [1-9] / {len(NAMES)}\n", page) and "return a + b" in page


@pytest.mark.slow
def test_without_the_sanitizer_a_students_markup_reaches_the_page(course):
    """The attack: nbconvert's HTML export (what formgrader's review page and nbgrader's
    feedback are) puts a student's HTML output and markdown into the page as live tags, an
    image's metadata as an attribute and a markdown link as a javascript: URL. With the
    course's nbgrader_config.py (nbconvert's SanitizeHTML, page_safety's sanitizers) the
    markup arrives as text and the image size and the link's target not at all."""
    from nbconvert import HTMLExporter

    live = re.compile(r"<img [^>]*onerror=\S*document\.body\.dataset\.(\w+)")
    nb = nbformat.read(Course(course).autograded_notebook("mallory"), as_version=4)
    plain, _ = HTMLExporter().from_notebook_node(nb)
    assert sorted(live.findall(plain)) == ["markdown", "metadata", "output"]
    assert 'href="javascript:' in plain
    cleaned, _ = HTMLExporter(config=Course(course).nbgrader_config()).from_notebook_node(nb)
    assert live.findall(cleaned) == [] and "javascript:" not in cleaned
    assert "dataset.output" in cleaned and "dataset.markdown" in cleaned  # shown, as text
    assert "<a>my link</a>" in cleaned


@pytest.mark.slow
def test_a_students_html_runs_no_script_in_the_review_page(browser, server):
    from selenium.webdriver.common.by import By

    url, _ = server
    browser.get(f"{url}/formgrader/manage_students/mallory/{ASSIGNMENT}")
    wait(browser, lambda d: next(iter(
        d.find_elements(By.CSS_SELECTOR, "#main-table td.name a")), None)).click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "input.score#test_add_strings"))
    time.sleep(1)  # the images fail to load at once: their handlers have run by now
    links = browser.execute_script("return Array.from(document.querySelectorAll('a'))"
                                   ".filter(a => a.textContent === 'my link')"
                                   ".map(a => { a.click(); return a.getAttribute('href'); })")
    assert links == [None]  # shown, with nowhere to go
    time.sleep(0.3)  # a javascript: URL would have run by now
    ran = browser.execute_script("return Object.assign({}, document.body.dataset)")
    assert ran == {}


@pytest.mark.slow
def test_plain_nbgrader_autograde_runs_student_code_as_the_instructor(course, tmp_path):
    """Without the course's routing (how nbgrader autograde and the button work elsewhere)."""
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    place(copy / "submitted" / "mallory", ASSIGNMENT, hostile(copy))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, PLAIN_ENV: "1",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(bin_dir / "nbgrader"), "autograde", ASSIGNMENT,
                           "--student", "mallory", "--force"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (copy / WRITTEN).read_text() == f"uid {os.getuid()}"  # in the course, as us


@pytest.mark.slow
@pytest.mark.skipif(isolation_problem() is not None, reason=f"no sandbox: {isolation_problem()}")
def test_the_autograde_button_grades_in_the_sandbox(browser, server, course):

    _submissions_page(browser, server)
    modal = _press(browser, "mallory", "autograde", timeout=600)
    text = modal.get_attribute("textContent")
    assert modal.get_attribute("id") == "success-modal", text
    assert f"Successfully autograded '{TINY_ID}' for student 'mallory'" in text
    assert "Applying preprocessor: SandboxedAutograde" in text, text
    assert "-m autograder grade" in text and "Applying preprocessor: Execute" not in text
    assert not (course / WRITTEN).exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}",
                   Course(ROOT, None, ASSIGNMENT_ID).id) as gb:
        assert gb.find_submission(ASSIGNMENT, "mallory").score == 5
    graded = nbformat.read(course / "autograded" / "mallory" / ASSIGNMENT / TINY_NAME,
                           as_version=4)
    outputs = "".join(o.get("text", "") for o in graded.cells[1].outputs)
    assert "refused:" in outputs, outputs
