"""Three assignments in one course: the two real ones, digit_recognition (ten digits, softmax)
and digit_recognition_binary (zeros and ones, one sigmoid unit), and the tiny one, tiny_add.

One course folder holds solutions/digit_recognition and solutions/digit_recognition_binary
(the repository's, without their reference models) and solutions/tiny_add
(helpers.tiny_course_at), with the repository's nbgrader_config.py; all three are released
with `nbgrader generate_assignment`. Then, as an instructor would: one `grade --assignment ID`
call each (make demo's two students: the solution and the untouched release) into the one
SQLite gradebook, a shard merged into it, `nbgrader autograde ID` (routed through our grader
by the course's nbgrader_config.py) for each, `export` of every assignment in one CSV,
`feedback` (the binary's model section checked figure by figure), `check`, `collect` from
each LMS, the Gradescope zip, the Classroom 50 bundle and the student template of each
assignment, and formgrader in headless Chromium listing the three and showing a graded
submission of each. A verb that needs one assignment and is not told which refuses, naming
them all. (The binary's platform routes run end to end in test_binary_routes.py.)

The course is graded once for the module (each real grade trains a Keras model: ~10-20 s).
Fixtures that change the gradebook (``graded``, ``merged``, ``nbgrader_autograded``) are
built in that order; tests that read the whole gradebook ask for ``final``, which has them
all, so what they see does not depend on which tests ran before.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from formgrader_driver import jupyter_server, logged_in, submissions_page, wait
from nbgrader.api import Gradebook

from autograder import cli
from autograder.grader import collected, gradebook
from autograder.grader.course import NBGRADER_CONFIG, Course
from autograder.grader.grades_csv import COLUMNS
from autograder.grader.nbgrader_autograde import PLAIN_ENV
from autograder.records import plain_number

from helpers import (
    BINARY_NAME,
    BINARY_SOLUTION,
    BINARY_TESTS,
    BINARY_TOTAL,
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
BINARY = "digit_recognition_binary"
TINY = TINY_ID
IDS = (DIGIT, BINARY, TINY)  # as the course lists them (sorted)
OTHERS = {aid: [o for o in IDS if o != aid] for aid in IDS}
MAX_SCORE = {DIGIT: DIGIT_TOTAL, BINARY: BINARY_TOTAL, TINY: 5}
REAL = (DIGIT, BINARY)  # the two with a model, data and digit_helpers
# make demo's two students, in each assignment
DEMO = ("solution", "untouched_release")
# carol: tiny_add graded apart (--shard 1/1) and merged; dave (tiny_add), erin
# (digit_recognition) and frank (digit_recognition_binary): graded by
# `nbgrader autograde ID` from submitted/
AUTOGRADED_BY_NBGRADER = {TINY: "dave", DIGIT: "erin", BINARY: "frank"}
SCORES = {DIGIT: {"solution": DIGIT_TOTAL, "untouched_release": 0, "erin": 0},
          BINARY: {"solution": BINARY_TOTAL, "untouched_release": 0, "frank": 0},
          TINY: {"solution": 5, "untouched_release": 0, "carol": 2, "dave": 5}}
HALF_RIGHT = "    return a - b if isinstance(a, int) else a + b"  # test_add fails: 2 of 5
CHOOSE = f"this course has 3 assignments ({DIGIT}, {BINARY}, {TINY}): say which with " \
         "--assignment ID"
JSON_KEYS = {"student", "score", "max_score", "tests", "error", "tampering", "late",
             "late_penalty"}
JSON_OPTIONAL = {"commit", "submitted_at", "file"}


def autograder(*args: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m autograder ARGS` run in ``cwd`` (the course folder: no --course-dir)."""
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def names(text: str, aid: str) -> bool:
    """Whether ``text`` names assignment ``aid`` as a whole name, spelt with _ or - (a
    Classroom 50 slug): digit_recognition_binary does not name digit_recognition."""
    return any(re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text)
               for form in (aid, aid.replace("_", "-")))


def notebook_of(released: Path, aid: str) -> Path:
    return released / "assignments" / aid / f"{aid}.ipynb"


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
    """The course folder, unreleased and ungraded: the three assignments' sources, the
    files the two real ones give students (their grading.py's ``student_files``: the
    template's README and the data), the repository's nbgrader_config.py and a gradebook
    with nbgrader's tables only."""
    root = tiny_course_at(base / "course")
    for aid in REAL:
        shutil.copytree(ROOT / "solutions" / aid, root / "solutions" / aid,
                        ignore=shutil.ignore_patterns("*.keras", "*.json", "__pycache__",
                                                      ".ipynb_checkpoints"))
    for name in ("template/README.md", "data/digits.npz", "data/README.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, root / name)
    shutil.copy(NBGRADER_CONFIG, root)  # found from the course folder by nbgrader
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    return root


@pytest.fixture(scope="module")
def released(course) -> Path:
    """The three released by nbgrader, as `make release` does for each."""
    for aid in IDS:
        ok(nbgrader("generate_assignment", aid, "--force", "--log-level=WARN", cwd=course))
    return course


@pytest.fixture(scope="module")
def graded(released, base) -> dict[str, tuple[dict, str]]:
    """One `grade --assignment ID` call per assignment, each over make demo's two students,
    into the course's one gradebook: assignment -> (grade JSON, console output)."""
    classes = {aid: base / f"class-{aid}" for aid in IDS}
    place(classes[DIGIT], "solution", SOLUTION)
    place(classes[DIGIT], "untouched_release", notebook_of(released, DIGIT))
    place(classes[BINARY], "solution", BINARY_SOLUTION, BINARY_NAME)
    place(classes[BINARY], "untouched_release", notebook_of(released, BINARY), BINARY_NAME)
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
    tiny_add (the solution), erin's digit_recognition and frank's digit_recognition_binary
    (the untouched releases)."""
    course = base / "course"
    place(course / "submitted" / "dave", TINY, tiny_submission())
    for aid in REAL:
        place(course / "submitted" / AUTOGRADED_BY_NBGRADER[aid], aid, notebook_of(course, aid),
              f"{aid}.ipynb")
    return {aid: nbgrader("autograde", aid, "--student", student, cwd=course)
            for aid, student in AUTOGRADED_BY_NBGRADER.items()}


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
def test_a_verb_not_told_which_assignment_names_them_all(verb, course, tmp_path, capsys):
    args = [str(tmp_path / a) if a in ("class", "shard.json", "out", "out.zip",
                                       "download.zip") else a for a in NEEDS_ONE[verb]]
    assert cli.main([*args, "--course-dir", str(course)]) == cli.EXIT_CANNOT_RUN
    assert " ".join(capsys.readouterr().out.split()) == f"error: {CHOOSE}"
    assert not any(tmp_path.iterdir())  # nothing written


def test_grade_without_assignment_exits_3_listing_them_all(course, tmp_path):
    place(tmp_path / "class", "amy", tiny_submission())
    proc = autograder("grade", tmp_path / "class", "--quiet", cwd=course)
    assert proc.returncode == cli.EXIT_CANNOT_RUN, proc.stdout + proc.stderr
    assert " ".join(proc.stdout.split()) == f"error: {CHOOSE}"


def test_an_unknown_assignment_is_refused_with_the_list(course, tmp_path, capsys):
    code = cli.main(["feedback", "--assignment", "nope", "--course-dir", str(course)])
    assert code == cli.EXIT_CANNOT_RUN
    out = " ".join(capsys.readouterr().out.split())
    assert f"no assignment 'nope' in {course / 'solutions'}: the course has {DIGIT}, " \
        f"{BINARY}, {TINY}" in out


# amy's upload of the assignment, and bob's of another one (a wrong file), as each LMS names
# them: LMS -> (amy's id, bob's id, how the LMS names a student's upload of NOTEBOOK)
LMS_NAMES = {
    "canvas": ("12345", "23456", lambda who, lms_id, notebook:
               f"{who}_{lms_id}_6789{lms_id[-2:]}_{notebook}"),
    "moodle": ("1234567", "1234568", lambda who, lms_id, notebook:
               f"{who.title()} Student_{lms_id}_assignsubmission_file/{notebook}"),
    "blackboard": ("amy", "bob", lambda who, lms_id, notebook:
                   f"Lab_{lms_id}_attempt_2026-11-30-10-00-00_{notebook}"),
}
# the other assignment a student may upload by mistake: for the two real ones, the one whose
# name begins the other's
WRONG = {DIGIT: BINARY, BINARY: DIGIT, TINY: DIGIT}


@pytest.mark.parametrize("lms", sorted(LMS_NAMES))
@pytest.mark.parametrize("aid", IDS)
def test_collect_from_an_lms_names_files_after_the_assignment(aid, lms, course, tmp_path,
                                                               capsys):
    """Each LMS's download of one assignment: the upload named after it is kept as
    <id>.ipynb with no note; an upload of another assignment's notebook (digit_recognition
    handed in for digit_recognition_binary, and back) is kept too, and noted, so that the
    grader sees the wrong file was handed in."""
    amy, bob, named = LMS_NAMES[lms]
    download = tmp_path / f"{lms}.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for who, lms_id, notebook in (("amy", amy, f"{aid}.ipynb"),
                                      ("bob", bob, f"{WRONG[aid]}.ipynb")):
            marker = {"cells": [], "metadata": {"who": who}, "nbformat": 4, "nbformat_minor": 5}
            archive.writestr(named(who, lms_id, notebook), json.dumps(marker))
    out = tmp_path / "collected"
    assert cli.main(["collect", str(download), "--from", lms, str(out),
                     "--assignment", aid, "--course-dir", str(course)]) == 0
    assert [p.relative_to(out).as_posix() for p in sorted(out.rglob("*.ipynb"))] == \
        [f"{amy}/{aid}.ipynb", f"{bob}/{aid}.ipynb"]
    for who, lms_id in (("amy", amy), ("bob", bob)):
        kept = json.loads((out / lms_id / f"{aid}.ipynb").read_text())
        assert kept["metadata"]["who"] == who
    students = collected.read(out)
    assert students[amy].notes == []
    assert students[bob].notes == [f"submitted as {WRONG[aid]}.ipynb"]
    assert f"--assignment {aid}" in " ".join(capsys.readouterr().out.split())


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


@pytest.mark.slow  # starts a kernel
@pytest.mark.parametrize("student", DEMO)
def test_check_runs_the_binary_public_tests(student, released, tmp_path):
    """`check` in a student's folder (no course): the binary's solution passes each of its
    public tests, the untouched release fails each with its own reason."""
    notebook = BINARY_SOLUTION if student == "solution" else notebook_of(released, BINARY)
    mine = tmp_path / BINARY_NAME
    shutil.copyfile(notebook, mine)
    proc = autograder("check", mine, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split(None, 3)[1:] for line in out.splitlines()
            if line.startswith("test_")}
    assert list(rows) == list(BINARY_TESTS), out
    if student == "solution":
        assert proc.returncode == 0, out
        assert rows == {gid: ["pass", f"{p}/{p}"] for gid, p in BINARY_TESTS.items()}
        assert f"public tests: {BINARY_TOTAL}/{BINARY_TOTAL} points" in out
    else:
        assert proc.returncode == 1, out
        for gid, p in BINARY_TESTS.items():
            result, got, reason = rows[gid]
            assert (result, got) == ("FAIL", f"0/{p}") and "not implemented yet" in reason
        assert f"public tests: 0/{BINARY_TOTAL} points" in out


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
    for aid, student in AUTOGRADED_BY_NBGRADER.items():
        out = ok(nbgrader_autograded[aid])
        assert "-m autograder grade" in out and f"--assignment {aid}" in out
        assert "Applying preprocessor: Execute" not in out
        graded_nb = course / "autograded" / student / aid / f"{aid}.ipynb"
        assert nbformat.read(graded_nb, as_version=4).metadata["autograder"]["id"] == aid
        assert gradebook_scores(course)[aid][student] == SCORES[aid][student]
        assert all(student not in gradebook_scores(course)[o] for o in OTHERS[aid])


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
    students = set().union(*map(set, SCORES.values()))
    # nbgrader's rows: every student of the gradebook for every assignment
    assert sorted((r["assignment"], r["student_id"]) for r in rows) == sorted(
        (aid, s) for aid in IDS for s in students)
    for r in rows:
        assert float(r["raw_score"]) == SCORES[r["assignment"]].get(r["student_id"], 0)
        assert float(r["max_score"]) == MAX_SCORE[r["assignment"]]

    for aid in IDS:
        ok(autograder("export", "--assignment", aid, "--to", tmp_path / f"{aid}.csv", cwd=final))
        columns, rows = read_csv(tmp_path / f"{aid}.csv")
        assert tuple(columns) == COLUMNS
        assert {r["assignment"] for r in rows} == {aid}
        assert {r["student_id"]: float(r["raw_score"]) for r in rows} == {
            s: SCORES[aid].get(s, 0) for s in students}


@pytest.fixture(scope="module")
def feedback_runs(final) -> dict[str, str]:
    """`feedback --assignment ID` for each assignment in turn, as an instructor runs them
    once grading is done: assignment -> console output."""
    return {aid: ok(autograder("feedback", "--assignment", aid, cwd=final)) for aid in IDS}


def page_of(course: Path, student: str, aid: str) -> str:
    return (course / "feedback" / student / aid / f"{aid}.html").read_text(encoding="utf-8")


def summary_rows(page: str) -> dict[str, tuple[str, str]]:
    """The grade table of a feedback page: test -> (points, message)."""
    table = page[page.index('<section id="summary"'):]
    table = table[:table.index("</section>")]
    return {gid: (got, html.unescape(message)) for gid, got, message in re.findall(
        r"<tr><td><code>([^<]+)</code></td><td>([^<]+)</td><td>([^<]*)</td></tr>", table)}


@pytest.mark.slow
def test_feedback_writes_the_pages_of_the_assignment_named(feedback_runs, final):
    """Each assignment's run writes a page for each of its students, under its own id, with
    that assignment's tests and total; a model section for the two with a model only."""
    for aid, out in feedback_runs.items():
        pages = {p.relative_to(final / "feedback").as_posix()
                 for p in (final / "feedback").glob(f"*/{aid}/*.html")}
        assert pages == {f"{s}/{aid}/{aid}.html" for s in SCORES[aid]}, out
        for student in SCORES[aid]:
            assert f"wrote {final / 'feedback' / student / aid / f'{aid}.html'}" in out
        page = page_of(final, "solution", aid)
        assert f"Your grade: {MAX_SCORE[aid]}/{MAX_SCORE[aid]}" in page
        assert list(summary_rows(page)) == list(points(final, aid))
        assert ('id="model-feedback"' in page) == (aid in REAL)
        assert "BEGIN HIDDEN TESTS" not in page
    assert {p.parent.name for p in (final / "feedback").rglob("*.html")} == set(IDS)


def figures(page: str) -> list[tuple[str, bytes, str]]:
    """The model section's figures, in order: (heading, PNG bytes, alt text)."""
    section = page[page.index('<section id="model-feedback"'):]
    section = section[:section.index("</section>")]
    return [(html.unescape(title), base64.b64decode(data), html.unescape(alt))
            for title, data, alt in re.findall(
                r'<h4>([^<]*)</h4>\s*<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" '
                r'alt="([^"]*)"', section)]


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def png_of(fig) -> bytes:
    """A figure saved as the feedback page saves it (PNG, 80 dpi)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


@pytest.mark.slow
def test_the_binary_solutions_page_shows_its_trained_model(feedback_runs, final):
    """The binary's model section: its loss curve, the accuracy line, the misclassified
    digits and a 2x2 confusion matrix, each the very figure the course's helpers draw of
    this student's saved history and model (recomputed here from the grader's copies), so
    a 10-class matrix, another model's figures or a missing one all fail."""
    import matplotlib

    matplotlib.use("Agg")
    from autograder.grader.assignments import load
    from autograder.model.saved_model import predict, read_saved_model
    from digit_helpers import (
        confusion_matrix,
        plot_confusion_matrix,
        plot_loss,
        plot_misclassified,
        trusted_binary_data,
    )

    model = load(final, BINARY).model
    saved = final / "graded_models" / "solution" / BINARY
    weights = read_saved_model(saved / "model.keras", model.weight_shapes).weights
    history = json.loads((saved / "history.json").read_text())
    X, y = trusted_binary_data()
    y = y.reshape(-1)
    predicted = predict(weights, X, model.activations)
    matrix = confusion_matrix(y, predicted, num_classes=2)
    assert matrix.shape == (2, 2) and matrix.sum() == len(y) == 1000
    accuracy = np.trace(matrix) / matrix.sum()
    assert accuracy >= model.accuracy_threshold

    page = page_of(final, "solution", BINARY)
    shown = figures(page)
    assert [(title, alt) for title, _, alt in shown] == [
        ("Loss curve", "Your training loss, epoch by epoch"),
        ("Misclassified digits",
         "Training digits your model got wrong, each with its true and predicted label"),
        ("Confusion matrix",
         "Confusion matrix: how often each true label (0 or 1) was predicted as each")]
    loss, wrong, confusion = (data for _, data, _ in shown)
    assert len(history["loss"]) == 20 and loss == png_of(plot_loss(history))
    assert wrong == png_of(plot_misclassified(X, y, predicted))
    assert confusion == png_of(plot_confusion_matrix(y, predicted, num_classes=2))
    # the 2x2 figure is smaller than the 10x10 one the other assignment draws
    assert png_size(confusion) < png_size(png_of(plot_confusion_matrix(
        y, predicted, num_classes=10)))
    line = (f"Accuracy of your trained model on the 1000 training digits, recomputed by the "
            f"grader: {accuracy:.4f}")
    assert f"<p><em>{line}</em></p>" in page
    section = page[page.index('<section id="model-feedback"'):]
    # the line sits between the loss curve and the misclassified digits
    assert section.index("Loss curve") < section.index(line) < section.index(
        "Misclassified digits")


@pytest.mark.slow
def test_the_untouched_binary_release_gets_a_reason_per_test(feedback_runs, final):
    """The untouched release's page: 0 of the total, each test at 0 with its own reason,
    and the model section saying why there is nothing to draw."""
    page = page_of(final, "untouched_release", BINARY)
    assert f"Your grade: 0/{BINARY_TOTAL}" in page
    rows = summary_rows(page)
    assert list(rows) == list(BINARY_TESTS)
    for gid, (got, message) in rows.items():
        assert got == f"0/{BINARY_TESTS[gid]}" and "not implemented yet" in message, gid
    assert figures(page) == []
    assert "No trained model was saved for this submission" in page


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
        members = set(archive.namelist())
        source = archive.read(f"course/solutions/{aid}/{aid}.ipynb")
        release = archive.read(f"course/assignments/{aid}/{aid}.ipynb")
        (tmp_path / "gradebook.db").write_bytes(archive.read("gradebook.db"))
    own = {n for n in members if n.startswith(("course/solutions/", "course/assignments/"))}
    assert {f"course/solutions/{aid}/{aid}.ipynb", f"course/solutions/{aid}/grading.py",
            f"course/assignments/{aid}/{aid}.ipynb"} <= own
    assert all(n.startswith((f"course/solutions/{aid}/", f"course/assignments/{aid}/"))
               for n in own)
    assert not any(names(n, other) for n in members for other in OTHERS[aid])
    assert b"BEGIN HIDDEN TESTS" in source  # the instructor's zip: the sandbox hides them
    assert release == (released / "assignments" / aid / f"{aid}.ipynb").read_bytes()
    assert any(n.startswith("course/digit_helpers/") for n in members) == (aid in REAL)
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
    assert not any(names(f, other) for f in files for other in OTHERS[aid])
    assert any(f.startswith("digit_helpers/") for f in files) == (aid in REAL)
    text = b"".join((bundle / f).read_bytes() for f in files)
    assert b"BEGIN HIDDEN TESTS" not in text and b"BEGIN SOLUTION" not in text


# the template's files written for its assignment (the rest is the course's code and data)
TEMPLATE_OWN = ("README.md", "pyproject.toml", "environment.yml", ".devcontainer/devcontainer.json",
                ".github/workflows/classroom.yml", ".github/classroom/manifest.json")


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_the_template_of_one_assignment_holds_only_its_notebook(aid, released, tmp_path):
    """A student repository per assignment: its release as the one notebook, the helpers
    and data only for a real one, and its tamper manifest holding its own tests' points."""
    out = tmp_path / "template"
    ok(autograder("template", "--assignment", aid, out, cwd=released))
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert [f for f in files if f.endswith(".ipynb")] == [f"assignments/{aid}/{aid}.ipynb"]
    assert (out / "assignments" / aid / f"{aid}.ipynb").read_bytes() == \
        notebook_of(released, aid).read_bytes()
    assert ("data/digits.npz" in files) == any(f.startswith("utils/") for f in files) == \
        (aid in REAL)
    assert f'name = "{aid.replace("_", "-")}-student"' in (out / "pyproject.toml").read_text()
    manifest = json.loads((out / ".github" / "classroom" / "manifest.json").read_text())
    assert manifest["points"] == points(released, aid)


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_the_template_of_one_assignment_points_its_ci_at_its_notebook(aid, released, tmp_path):
    """No file written for the assignment names another one (digit_recognition's template
    is not the binary's with a name changed, nor the other way round)."""
    out = tmp_path / "template"
    ok(autograder("template", "--assignment", aid, out, cwd=released))
    for name in TEMPLATE_OWN:
        text = (out / name).read_text()
        assert [o for o in OTHERS[aid] if names(text, o)] == [], name
    assert names((out / ".devcontainer" / "devcontainer.json").read_text(),
                 f"assignments/{aid}/{aid}.ipynb")


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
def test_formgrader_lists_the_three_assignments(browser, server, final):
    browser.get(f"{server[0]}/formgrader/manage_assignments")
    rows = wait(browser, lambda d: (lambda found: found if len(found) == len(IDS) and all(
        n for _, n in found) else None)(d.execute_script(ASSIGNMENTS_JS)))
    # nbgrader counts the folders of submitted/: carol's tiny_add, merged from a shard, was
    # kept on the shard's machine, so 3 of tiny_add's 4 graded students are counted
    assert dict(rows) == {DIGIT: "3", BINARY: "3", TINY: "3"}


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
