"""Two assignments in one course: the real one, digit_recognition, and the tiny one, tiny_add.

One course folder holds solutions/digit_recognition (the repository's, without its reference
model) and solutions/tiny_add (helpers.tiny_course_at), with the repository's
nbgrader_config.py; both are released with `nbgrader generate_assignment`. Then, as an
instructor would: one `grade --assignment ID` call each (make demo's two students: the
solution and the untouched release) into the one SQLite gradebook, a shard merged into it,
`nbgrader autograde ID` (routed through our grader by the course's nbgrader_config.py) for
each, `export` of every assignment in one CSV, `feedback`, the Gradescope zip, the Classroom 50
bundle and the student template of each assignment, and formgrader in headless Chromium
listing both assignments and showing a graded submission of each. A verb that needs one
assignment and is not told which refuses, naming both.

The course is graded once for the module (the digit grade trains a Keras model: ~10-20 s).
Fixtures that change the gradebook (``graded``, ``merged``, ``nbgrader_autograded``) are
built in that order; tests that read the whole gradebook ask for ``final``, which has them
all, so what they see does not depend on which tests ran before.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from formgrader_driver import jupyter_server, logged_in, submissions_page, wait
from nbgrader.api import Gradebook

from autograder import cli
from autograder.grader import gradebook
from autograder.grader.course import NBGRADER_CONFIG, Course
from autograder.grader.grades_csv import COLUMNS
from autograder.grader.nbgrader_autograde import PLAIN_ENV
from autograder.records import plain_number

from helpers import (
    DIGIT_TOTAL,
    ROOT,
    SOLUTION,
    TINY_ID,
    by_student,
    empty_gradebook,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

DIGIT = "digit_recognition"
TINY = TINY_ID
IDS = (DIGIT, TINY)
OTHER = {DIGIT: TINY, TINY: DIGIT}
MAX_SCORE = {DIGIT: DIGIT_TOTAL, TINY: 5}
# make demo's two students, in each assignment
DEMO = ("solution", "untouched_release")
# carol: tiny_add graded apart (--shard 1/1) and merged; dave (tiny_add) and erin
# (digit_recognition): graded by `nbgrader autograde ID` from submitted/
SCORES = {DIGIT: {"solution": DIGIT_TOTAL, "untouched_release": 0, "erin": 0},
          TINY: {"solution": 5, "untouched_release": 0, "carol": 2, "dave": 5}}
HALF_RIGHT = "    return a - b if isinstance(a, int) else a + b"  # test_add fails: 2 of 5
CHOOSE = "this course has 2 assignments (digit_recognition, tiny_add): say which with " \
         "--assignment ID"
JSON_KEYS = {"student", "score", "max_score", "tests", "error", "tampering"}
JSON_OPTIONAL = {"commit", "submitted_at"}


def autograder(*args: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m autograder ARGS` run in ``cwd`` (the course folder: no --course-dir)."""
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def ok(proc: subprocess.CompletedProcess) -> str:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    return " ".join(text.split())  # rich wraps long lines


def nbgrader_env() -> dict[str, str]:
    """nbgrader runs `alembic` by name: the venv on PATH; the course's routing left on."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop(PLAIN_ENV, None)
    return env


def nbgrader(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=cwd,
                          env=nbgrader_env(), capture_output=True, text=True, timeout=timeout)


def gradebook_scores(course: Path) -> dict[str, dict[str, float]]:
    """assignment -> student -> score, as the course's gradebook holds them."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", Course(ROOT, None, DIGIT).id) as gb:
        return {a.name: {s.student.id: s.score for s in a.submissions} for a in gb.assignments}


def points(course: Path, assignment: str) -> dict[str, float]:
    return gradebook.points_by_test(Course(course, assignment_id=assignment))


# --- the course ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("two-assignments")


@pytest.fixture(scope="module")
def course(base) -> Path:
    """The course folder, unreleased and ungraded: both assignments' sources, the
    repository's nbgrader_config.py and a gradebook with nbgrader's tables only."""
    root = tiny_course_at(base / "course")
    shutil.copytree(SOLUTION.parent, root / "solutions" / DIGIT,
                    ignore=shutil.ignore_patterns("*.keras", "*.json", "__pycache__",
                                                  ".ipynb_checkpoints"))
    shutil.copy(NBGRADER_CONFIG, root)  # found from the course folder by nbgrader
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    return root


@pytest.fixture(scope="module")
def released(course) -> Path:
    """Both assignments released by nbgrader, as `make release` does for each."""
    for aid in IDS:
        ok(nbgrader("generate_assignment", aid, "--force", "--log-level=WARN", cwd=course))
    return course


@pytest.fixture(scope="module")
def graded(released, base) -> dict[str, tuple[dict, str]]:
    """One `grade --assignment ID` call per assignment, each over make demo's two students,
    into the course's one gradebook: assignment -> (grade JSON, console output)."""
    classes = {aid: base / f"class-{aid}" for aid in IDS}
    place(classes[DIGIT], "solution", SOLUTION)
    place(classes[DIGIT], "untouched_release", released / "assignments" / DIGIT / f"{DIGIT}.ipynb")
    place(classes[TINY], "solution", tiny_submission())
    place(classes[TINY], "untouched_release", tiny_submission(None))
    return {aid: run_grade(released, classes[aid], "--assignment", aid) for aid in IDS}


@pytest.fixture(scope="module")
def merged(graded, base) -> dict:
    """carol's tiny_add graded apart (`grade --shard 1/1 --json`, a gradebook of its own),
    then `merge --assignment tiny_add SHARD.json` into the course's gradebook."""
    course = base / "course"
    place(base / "class-shard", "carol", tiny_submission(HALF_RIGHT))
    shard_grades, _ = run_grade(course, base / "class-shard", "--assignment", TINY,
                                "--shard", "1/1", "--db", f"sqlite:///{base / 'shard.db'}")
    shard = base / "shard.json"
    shutil.copyfile(course / "grades.json", shard)
    refused = autograder("merge", "--assignment", DIGIT, shard, cwd=course)
    merge = autograder("merge", "--assignment", TINY, shard, "--json", base / "merged.json",
                       cwd=course)
    return {"shard": shard_grades, "refused": refused, "merge": merge,
            "merged": json.loads((base / "merged.json").read_text())
            if merge.returncode == 0 else None}


@pytest.fixture(scope="module")
def nbgrader_autograded(graded, base) -> dict[str, subprocess.CompletedProcess]:
    """`nbgrader autograde ID --student S` in the course folder, a submission of each
    assignment placed where nbgrader looks (submitted/<student>/<id>/<id>.ipynb): dave's
    tiny_add (the solution), erin's digit_recognition (the untouched release)."""
    course = base / "course"
    place(course / "submitted" / "dave", TINY, tiny_submission())
    place(course / "submitted" / "erin", DIGIT,
          course / "assignments" / DIGIT / f"{DIGIT}.ipynb")
    return {TINY: nbgrader("autograde", TINY, "--student", "dave", cwd=course),
            DIGIT: nbgrader("autograde", DIGIT, "--student", "erin", cwd=course)}


@pytest.fixture(scope="module")
def final(graded, merged, nbgrader_autograded, base) -> Path:
    """The course once everything was graded into it (see SCORES)."""
    return base / "course"


# --- fast: a verb that needs one assignment is told which ---------------------------------

NEEDS_ONE = {
    "grade": ["grade", "class"],
    "feedback": ["feedback"],
    "merge": ["merge", "shard.json"],
    "template": ["template", "out"],
    "gradescope": ["gradescope", "out.zip"],
    "classroom50": ["classroom50", "out"],
    "collect": ["collect", "download.zip", "--from", "canvas", "out"],
}


@pytest.mark.parametrize("verb", sorted(NEEDS_ONE))
def test_a_verb_not_told_which_assignment_names_both(verb, course, tmp_path, capsys):
    args = [str(tmp_path / a) if a in ("class", "shard.json", "out", "out.zip",
                                       "download.zip") else a for a in NEEDS_ONE[verb]]
    assert cli.main([*args, "--course-dir", str(course)]) == cli.EXIT_CANNOT_RUN
    assert " ".join(capsys.readouterr().out.split()) == f"error: {CHOOSE}"
    assert not any(tmp_path.iterdir())  # nothing written


def test_grade_without_assignment_exits_3_listing_both(course, tmp_path):
    place(tmp_path / "class", "amy", tiny_submission())
    proc = autograder("grade", tmp_path / "class", "--quiet", cwd=course)
    assert proc.returncode == cli.EXIT_CANNOT_RUN, proc.stdout + proc.stderr
    assert " ".join(proc.stdout.split()) == f"error: {CHOOSE}"


def test_an_unknown_assignment_is_refused_with_the_list(course, tmp_path, capsys):
    code = cli.main(["feedback", "--assignment", "nope", "--course-dir", str(course)])
    assert code == cli.EXIT_CANNOT_RUN
    out = " ".join(capsys.readouterr().out.split())
    assert f"no assignment 'nope' in {course / 'solutions'}: the course has {DIGIT}, {TINY}" \
        in out


def test_collect_from_an_lms_names_files_after_the_assignment(course, tmp_path, capsys):
    download = tmp_path / "canvas.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr(f"amy_12345_678901_{TINY}.ipynb", tiny_submission())
    out = tmp_path / "collected"
    assert cli.main(["collect", str(download), "--from", "canvas", str(out),
                     "--assignment", TINY, "--course-dir", str(course)]) == 0
    assert [p.relative_to(out).as_posix() for p in sorted(out.rglob("*.ipynb"))] == \
        [f"12345/{TINY}.ipynb"]
    assert f"--assignment {TINY}" in " ".join(capsys.readouterr().out.split())


def test_collect_from_git_refuses_before_collecting(course, tmp_path):
    repo = tmp_path / "amy.git"
    (repo / "assignments" / TINY).mkdir(parents=True)
    (repo / "assignments" / TINY / f"{TINY}.ipynb").write_text(tiny_submission())
    git = ["git", "-c", "user.name=amy", "-c", "user.email=amy@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "done"], check=True)
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,repo\namy,{repo}\n")
    out = tmp_path / "collected"
    code = cli.main(["collect", "--git", str(roster), "--deadline", "2030-01-01 00:00 +0000",
                     str(out), "--course-dir", str(course)])
    assert code == cli.EXIT_CANNOT_RUN
    assert not out.exists()


# --- releases --------------------------------------------------------------------------------

def test_each_release_is_stamped_with_its_own_assignment(released):
    for aid in IDS:
        nb = nbformat.read(released / "assignments" / aid / f"{aid}.ipynb", as_version=4)
        assert nb.metadata["autograder"]["id"] == aid
        text = "".join(c.source for c in nb.cells)
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
        assert not (released / "assignments" / aid / "grading.py").exists()
    with Gradebook(f"sqlite:///{released / 'gradebook.db'}",
                   Course(ROOT, None, DIGIT).id) as gb:
        assert sorted(a.name for a in gb.assignments) == sorted(IDS)


@pytest.mark.slow  # starts a kernel
def test_check_finds_the_assignment_in_the_notebooks_metadata(released, tmp_path):
    nb = nbformat.read(released / "assignments" / TINY / f"{TINY}.ipynb", as_version=4)
    nb.cells[1].source = "def add(a, b):\n    return a + b"
    mine = tmp_path / f"{TINY}.ipynb"
    nbformat.write(nb, mine)
    out = ok(autograder("check", mine, cwd=tmp_path))  # a student's folder: no course
    assert "test_add pass 3/3" in out and "test_add_strings pass 2/2" in out
    assert "public tests: 5/5 points" in out


# --- grading into one gradebook ----------------------------------------------------------------

def valid(doc: dict, course: Path, assignment: str) -> dict:
    """The grade JSON's contract, for one assignment per file: its id on top, every
    submission with its tests, each test its points of that assignment's notebook."""
    assert set(doc) == {"assignment", "submissions"}
    assert doc["assignment"] == assignment
    maximum = points(course, assignment)
    for sub in doc["submissions"]:
        assert JSON_KEYS <= set(sub) <= JSON_KEYS | JSON_OPTIONAL, sub
        assert list(sub["tests"]) == list(maximum)  # this assignment's tests, in order
        for gid, test in sub["tests"].items():
            assert set(test) == {"points", "max_points", "feedback"}
            assert test["max_points"] == maximum[gid] and 0 <= test["points"] <= maximum[gid]
            assert isinstance(test["feedback"], str)
        assert sub["max_score"] == MAX_SCORE[assignment] == sum(maximum.values())
        assert sub["score"] == sum(t["points"] for t in sub["tests"].values())
        assert sub["error"] is None
        assert isinstance(sub["tampering"], list) and all(
            isinstance(t, str) for t in sub["tampering"])
    return doc


@pytest.mark.slow
def test_one_grade_call_per_assignment_grades_into_one_gradebook(graded, released):
    for aid, (grades, output) in graded.items():
        valid(grades, released, aid)
        scores = {s: r["score"] for s, r in by_student(grades).items()}
        assert scores == {"solution": MAX_SCORE[aid], "untouched_release": 0}, output
        assert by_student(grades)["untouched_release"]["tampering"] == []
    held = gradebook_scores(released)
    assert sorted(held) == sorted(IDS)
    for aid in IDS:  # both assignments, the same two students in each
        assert {s: held[aid][s] for s in DEMO} == {"solution": MAX_SCORE[aid],
                                                  "untouched_release": 0}
    for aid in IDS:  # each graded copy where nbgrader keeps it, under its own assignment
        for student in DEMO:
            assert (released / "autograded" / student / aid / f"{aid}.ipynb").is_file()
            assert (released / "submitted" / student / aid / f"{aid}.ipynb").is_file()


@pytest.mark.slow
def test_a_shard_merges_into_the_same_gradebook(merged, base):
    course = base / "course"
    assert merged["refused"].returncode == cli.EXIT_CANNOT_RUN
    assert f"holds grades of '{TINY}', not '{DIGIT}'" in " ".join(merged["refused"].stdout.split())
    ok(merged["merge"])
    valid(merged["shard"], course, TINY)
    valid(merged["merged"], course, TINY)
    assert [s["student"] for s in merged["merged"]["submissions"]] == ["carol"]
    held = gradebook_scores(course)
    assert held[TINY]["carol"] == SCORES[TINY]["carol"]
    assert "carol" not in held[DIGIT]


@pytest.mark.slow
def test_nbgrader_autograde_grades_each_assignment_through_the_grader(nbgrader_autograded,
                                                                      base):
    course = base / "course"
    for aid, student in ((TINY, "dave"), (DIGIT, "erin")):
        out = ok(nbgrader_autograded[aid])
        assert "-m autograder grade" in out and f"--assignment {aid}" in out
        assert "Applying preprocessor: Execute" not in out
        graded_nb = course / "autograded" / student / aid / f"{aid}.ipynb"
        assert nbformat.read(graded_nb, as_version=4).metadata["autograder"]["id"] == aid
        assert gradebook_scores(course)[aid][student] == SCORES[aid][student]
        assert student not in gradebook_scores(course)[OTHER[aid]]


# --- what is read from the gradebook ----------------------------------------------------------

def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


@pytest.mark.slow
def test_export_writes_every_assignment_in_one_csv_or_the_one_named(final, tmp_path):
    ok(autograder("export", "--to", tmp_path / "all.csv", cwd=final))
    columns, rows = read_csv(tmp_path / "all.csv")
    assert tuple(columns) == COLUMNS
    students = set(SCORES[DIGIT]) | set(SCORES[TINY])
    # nbgrader's rows: every student of the gradebook for every assignment
    assert sorted((r["assignment"], r["student_id"]) for r in rows) == sorted(
        (aid, s) for aid in IDS for s in students)
    for r in rows:
        assert float(r["raw_score"]) == SCORES[r["assignment"]].get(r["student_id"], 0)
        assert float(r["max_score"]) == MAX_SCORE[r["assignment"]]

    ok(autograder("export", "--assignment", TINY, "--to", tmp_path / "tiny.csv", cwd=final))
    columns, rows = read_csv(tmp_path / "tiny.csv")
    assert tuple(columns) == COLUMNS
    assert {r["assignment"] for r in rows} == {TINY}
    assert {r["student_id"]: float(r["raw_score"]) for r in rows} == {
        s: SCORES[TINY].get(s, 0) for s in students}


@pytest.mark.slow
def test_feedback_writes_the_pages_of_the_assignment_named(final):
    out = ok(autograder("feedback", "--assignment", TINY, cwd=final))
    pages = {p.relative_to(final / "feedback").as_posix()
             for p in (final / "feedback").rglob("*.html")}
    assert pages == {f"{s}/{TINY}/{TINY}.html" for s in SCORES[TINY]}, out
    for student in SCORES[TINY]:
        assert f"wrote {final / 'feedback' / student / TINY / f'{TINY}.html'}" in out
    page = (final / "feedback" / "solution" / TINY / f"{TINY}.html").read_text()
    assert "Your grade: 5/5" in page and "test_add_strings" in page
    assert "my_relu" not in page and "BEGIN HIDDEN TESTS" not in page

    out = ok(autograder("feedback", "--assignment", DIGIT, cwd=final))
    page = (final / "feedback" / "solution" / DIGIT / f"{DIGIT}.html").read_text()
    assert f"Your grade: {DIGIT_TOTAL}/{DIGIT_TOTAL}" in page and 'id="model-feedback"' in page
    assert {p.parent.name for p in (final / "feedback").rglob("*.html")} == set(IDS)


@pytest.mark.slow
def test_a_merged_students_page_shows_their_merged_grade(final):
    proc = autograder("feedback", "--assignment", TINY, "--student", "carol", cwd=final)
    page = final / "feedback" / "carol" / TINY / f"{TINY}.html"
    assert proc.returncode == 0 and "Your grade: 2/5" in page.read_text()


# --- per-assignment platform builds and the student template ---------------------------------

@pytest.mark.slow  # builds the zip (nbgrader sets up its gradebook)
@pytest.mark.parametrize("aid", IDS)
def test_the_gradescope_zip_holds_one_assignment(aid, released, tmp_path):
    ok(autograder("gradescope", "--assignment", aid, tmp_path / "autograder.zip", cwd=released))
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        names = set(archive.namelist())
        source = archive.read(f"course/solutions/{aid}/{aid}.ipynb")
        release = archive.read(f"course/assignments/{aid}/{aid}.ipynb")
        (tmp_path / "gradebook.db").write_bytes(archive.read("gradebook.db"))
    assert {n for n in names if n.startswith(("course/solutions/", "course/assignments/"))} \
        == {f"course/solutions/{aid}/{aid}.ipynb", f"course/solutions/{aid}/grading.py",
            f"course/assignments/{aid}/{aid}.ipynb"}
    assert not any(OTHER[aid] in n for n in names)
    assert b"BEGIN HIDDEN TESTS" in source  # the instructor's zip: the sandbox hides them
    assert release == (released / "assignments" / aid / f"{aid}.ipynb").read_bytes()
    assert any(n.startswith("course/digit_helpers/") for n in names) == (aid == DIGIT)
    with sqlite3.connect(tmp_path / "gradebook.db") as db:  # each submission's gradebook
        assert db.execute("select name from assignment").fetchall() == [(aid,)]


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_the_classroom50_bundle_holds_one_assignment(aid, released, tmp_path):
    ok(autograder("classroom50", "--assignment", aid, tmp_path, cwd=released))
    bundle = tmp_path / "autograders" / aid.replace("_", "-")
    assert (tmp_path / f"{aid.replace('_', '-')}.runtime.json").is_file()
    release = bundle / "release.ipynb"
    assert release.read_bytes() == (released / "assignments" / aid / f"{aid}.ipynb").read_bytes()
    assert nbformat.read(release, as_version=4).metadata["autograder"]["id"] == aid
    files = [p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()]
    assert "grading.py" not in {Path(f).name for f in files}
    assert not any(OTHER[aid] in f for f in files)
    assert any(f.startswith("digit_helpers/") for f in files) == (aid == DIGIT)
    text = b"".join((bundle / f).read_bytes() for f in files)
    assert b"BEGIN HIDDEN TESTS" not in text and b"BEGIN SOLUTION" not in text


@pytest.mark.slow
def test_the_template_of_one_assignment_holds_only_its_notebook(released, tmp_path):
    out = tmp_path / "template"
    ok(autograder("template", "--assignment", TINY, out, cwd=released))
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert [f for f in files if f.endswith(".ipynb")] == [f"assignments/{TINY}/{TINY}.ipynb"]
    assert (out / "assignments" / TINY / f"{TINY}.ipynb").read_bytes() == \
        (released / "assignments" / TINY / f"{TINY}.ipynb").read_bytes()
    assert not any(DIGIT in f or "digit_helpers" in f for f in files)
    assert 'name = "tiny-add-student"' in (out / "pyproject.toml").read_text()


@pytest.mark.slow
def test_the_template_of_one_assignment_points_its_ci_at_its_notebook(released, tmp_path):
    out = tmp_path / "template"
    ok(autograder("template", "--assignment", TINY, out, cwd=released))
    for name in (".github/workflows/classroom.yml", ".devcontainer/devcontainer.json"):
        assert DIGIT not in (out / name).read_text(), name


# --- formgrader ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(final, tmp_path_factory):
    with jupyter_server(final, tmp_path_factory.mktemp("jupyter")) as url_token:
        yield url_token


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """Headless Chromium driven by selenium, logged in to the server."""
    with logged_in(tmp_path_factory.mktemp("chromium-profile"), server) as driver:
        yield driver


ASSIGNMENTS_JS = """return Array.from(document.querySelectorAll('#main-table tr')).map(tr =>
  [tr.querySelector('td.name')?.innerText.trim(),
   tr.querySelector('td.num-submissions')?.innerText.trim()]);"""


@pytest.mark.slow
def test_formgrader_lists_both_assignments(browser, server, final):
    browser.get(f"{server[0]}/formgrader/manage_assignments")
    rows = wait(browser, lambda d: (lambda found: found if len(found) == 2 and all(
        n for _, n in found) else None)(d.execute_script(ASSIGNMENTS_JS)))
    # nbgrader counts the folders of submitted/: carol's tiny_add, merged from a shard, was
    # kept on the shard's machine, so 3 of tiny_add's 4 graded students are counted
    assert dict(rows) == {DIGIT: "3", TINY: "3"}


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_formgrader_shows_each_assignments_graded_submissions(aid, browser, server, final):
    from selenium.webdriver.common.by import By

    url, _ = server
    rows = submissions_page(browser, url, aid, set(SCORES[aid]))
    assert {s: r["score"] for s, r in rows.items()} == {
        s: f"{score} / {MAX_SCORE[aid]}" for s, score in SCORES[aid].items()}
    assert {r["status"] for r in rows.values()} == {"graded"}

    # the solution's graded notebook, opened for manual review: the autograder's points
    browser.get(f"{url}/formgrader/manage_students/solution/{aid}")
    link = wait(browser, lambda d: next(iter(
        d.find_elements(By.CSS_SELECTOR, "#main-table td.name a")), None))
    assert link.text == aid
    link.click()
    maximum = points(final, aid)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"input.score#{list(maximum)[-1]}"))

    def placeholders(d):
        found = {gid: d.find_element(By.ID, gid).get_attribute("placeholder")
                 for gid in maximum}
        return found if all(found.values()) else None

    assert wait(browser, placeholders) == {gid: str(plain_number(p)) for gid, p in maximum.items()}
