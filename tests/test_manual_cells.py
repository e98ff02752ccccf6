"""Cells graded by hand: nbgrader's manually graded answers (grade and solution, markdown or
code) and tasks (markdown, task), in a course of their own graded with real nbgrader and real
kernels.

``manual_demo`` has one autograded test (``test_add``, 2 points), a markdown answer
(``explain``, 5 points) and a task (``task_plot``, 3 points): nbgrader's maximum is 10.
``alice`` answers and passes, ``bob`` fails the test and leaves the answer as released
(nbgrader scores that 0 itself). ``manual_code`` has a code answer (``explain_code``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import nbformat
import nbformat.v4 as v4
import pytest
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log, compute_checksum, determine_grade

from autograder.grader import gradebook  # noqa: F401  (gradebooks stamped in this process)
from autograder.grader.course import Course, unchecked_tests
from autograder.grader.feedback import summary_table
from autograder.grader.platforms.gradescope_run import results as gradescope_results
from autograder.grader.platforms.gradescope_settings import Settings
from autograder.public.classroom50 import FROM_ENV, release_body
from autograder.public.classroom50 import result_json as classroom50_result
from autograder.public.grade import PublicGrade
from autograder.records import SubmissionResult, TestResult
from autograder.student import ci, verdicts
from autograder.student.check import table

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "schemas"
DEMO, CODE = "manual_demo", "manual_code"
ANSWER = "Because adding counts on from the first number."
BY_HAND = verdicts.BY_HAND

slow = pytest.mark.slow  # grades with kernels


def cell(kind: str, source: str, gid: str, **meta) -> NotebookNode:
    """A cell with nbgrader's metadata (schema 3), as the Create Assignment toolbar sets it."""
    new = v4.new_code_cell(source) if kind == "code" else v4.new_markdown_cell(source)
    new.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False,
                                "grade_id": gid, "schema_version": 3, **meta}
    return new


def source_notebook(answer: NotebookNode) -> NotebookNode:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        cell("markdown", "# Adding", "intro", locked=True),
        cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
                     "    ### END SOLUTION", "add", solution=True),
        cell("code", "assert add(1, 2) == 3, 'add(1, 2) should be 3'", "test_add", grade=True,
             locked=True, points=2),
        answer,
    ]
    return nb


def demo_notebook() -> NotebookNode:
    nb = source_notebook(cell("markdown", "Why does add work?\n\n### BEGIN SOLUTION\nA model "
                                          "answer.\n### END SOLUTION", "explain",
                              grade=True, solution=True, points=5))
    nb.cells.append(cell("markdown", "Describe what `add` does with negative numbers.",
                         "task_plot", task=True, locked=True, points=3))
    return nb


def code_notebook() -> NotebookNode:
    return source_notebook(cell("code", "### BEGIN SOLUTION\nprint(add(2, 2))\n"
                                        "### END SOLUTION", "explain_code",
                                grade=True, solution=True, points=4))


def write_assignment(root: Path, aid: str, nb: NotebookNode) -> None:
    """solutions/<aid>/ with its notebook and a grading.py naming the one autograded test."""
    folder = root / "solutions" / aid
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{aid}.ipynb")
    (folder / "grading.py").write_text(
        "from autograder.assignment import Assignment, KernelOnly\n"
        f"ASSIGNMENT = Assignment(id={aid!r}, checks={{'test_add': KernelOnly('tiny')}})\n",
        encoding="utf-8")


def release(root: Path, aid: str) -> NotebookNode:
    """nbgrader generate_assignment, into the course's assignments/ (and its gradebook)."""
    config = Course(root, None, aid).nbgrader_config()
    config.CourseDirectory.assignment_id = aid
    app = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    app.force, app.create_assignment = True, True
    result = capture_log(app)
    assert result["success"], result.get("error", "") + result.get("log", "")
    return nbformat.read(root / "assignments" / aid / f"{aid}.ipynb", as_version=4)


def hand_in(folder: Path, student: str, aid: str, nb: NotebookNode, **answers: str) -> None:
    """The released notebook with the cells named in ``answers`` rewritten."""
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    (folder / student).mkdir(parents=True)
    nbformat.write(nb, folder / student / f"{aid}.ipynb")


def cli(*args: str | Path, env: dict | None = None, cwd: Path = ROOT
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def grade(root: Path, aid: str, subs: Path) -> tuple[dict, str]:
    out = root / f"{aid}-grades.json"
    proc = cli("autograder", "grade", subs, "--course-dir", root, "--assignment", aid,
               "--json", out, "--quiet", "--isolation", "off", "--workers", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def grades_of(root: Path, aid: str, student: str) -> dict[str, tuple]:
    """grade id -> (auto score, manual score, needs manual grade), from nbgrader's API."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(aid, aid, student)
        return {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades}


def score_by_hand(root: Path, student: str, scores: dict[str, float]) -> None:
    """What a grader does in formgrader, through nbgrader's API."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for gid, points in scores.items():
            grade_row = gb.find_grade(gid, DEMO, DEMO, student)
            grade_row.manual_score = points
            grade_row.needs_manual_grade = False
        gb.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    """Both assignments released and graded once; the gradebook as grading left it."""
    root = tmp_path_factory.mktemp("manual") / "course"
    write_assignment(root, DEMO, demo_notebook())
    write_assignment(root, CODE, code_notebook())
    subs, code_subs = root.parent / "submissions", root.parent / "code-submissions"
    released = release(root, DEMO)
    hand_in(subs, "alice", DEMO, released, add="def add(a, b):\n    return a + b",
            explain=ANSWER)
    hand_in(subs, "bob", DEMO, released, add="def add(a, b):\n    return a - b")
    hand_in(code_subs, "carol", CODE, release(root, CODE),
            add="def add(a, b):\n    return a + b", explain_code="print(add(2, 2))")
    grades, output = grade(root, DEMO, subs)
    code_grades, _ = grade(root, CODE, code_subs)
    return {"root": root, "subs": subs, "grades": grades, "output": output,
            "code_grades": code_grades,
            "gradebook": {s: grades_of(root, DEMO, s) for s in ("alice", "bob")}}


@pytest.fixture(scope="module")
def scored(course, tmp_path_factory) -> Path:
    """A copy of the graded course in which a grader scored alice's cells by hand."""
    root = tmp_path_factory.mktemp("scored") / "course"
    shutil.copytree(course["root"], root)
    score_by_hand(root, "alice", {"explain": 4, "task_plot": 3})
    return root


def entry(course: dict, student: str) -> dict:
    return next(s for s in course["grades"]["submissions"] if s["student"] == student)


# --- grade: the JSON and the console table ---------------------------------------------------

@slow
def test_only_autograded_code_tests_need_a_check_in_grading_py(course):
    for aid in (DEMO, CODE):
        assert unchecked_tests(Course(course["root"], None, aid)) == []


@slow
def test_the_grade_json_keeps_cells_graded_by_hand_out_of_the_lost_points(course):
    alice = entry(course, "alice")
    assert alice["error"] is None and alice["tampering"] == []
    assert (alice["score"], alice["max_score"]) == (2, 10)  # nbgrader's maximum
    assert alice["tests"]["test_add"] == {"points": 2, "max_points": 2, "feedback": "passed"}
    for gid, most in (("explain", 5), ("task_plot", 3)):
        assert alice["tests"][gid]["manual"] is True
        assert (alice["tests"][gid]["points"], alice["tests"][gid]["max_points"]) == (0, most)
        assert alice["tests"][gid]["feedback"].startswith(BY_HAND)
    with Gradebook(f"sqlite:///{course['root'] / 'gradebook.db'}") as gb:
        assert gb.find_assignment(DEMO).max_score == alice["max_score"]


@slow
def test_an_answer_left_as_released_scores_zero_as_nbgrader_does(course):
    bob = entry(course, "bob")
    assert (bob["score"], bob["max_score"]) == (0, 10)
    assert bob["tests"]["test_add"]["points"] == 0
    assert "manual" not in bob["tests"]["explain"]
    assert bob["tests"]["explain"]["feedback"] == verdicts.NOT_ANSWERED
    assert bob["tests"]["task_plot"]["manual"] is True  # a task is always a person's


@slow
def test_the_console_table_says_graded_by_hand(course):
    out = course["output"]
    assert "gradebook: wrote assignment" not in out  # the released assignment is current
    assert "graded by hand" in out
    alice = next(line for line in out.splitlines() if "alice" in line)
    assert "2/10" in alice and "explain (5), task_plot (3)" in alice
    assert "add" not in alice.split("│")[3]  # no lost points
    bob = next(line for line in out.splitlines() if "│ bob" in line)
    assert "all tests" in bob.split("│")[3]  # test_add and the unanswered explain


@slow
def test_a_code_answer_is_run_and_graded_by_hand(course):
    [carol] = course["code_grades"]["submissions"]
    assert carol["error"] is None
    assert (carol["score"], carol["max_score"]) == (2, 6)
    assert carol["tests"]["explain_code"] == {
        "points": 0, "max_points": 4, "feedback": verdicts.BY_HAND_FEEDBACK, "manual": True}
    graded = Course(course["root"], None, CODE).autograded_notebook("carol")
    answer = next(c for c in nbformat.read(graded, as_version=4).cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "explain_code")
    assert answer.outputs[0].text == "4\n"
    auto, manual, needs = grades_of(course["root"], CODE, "carol")["explain_code"]
    assert (auto, manual, needs) == (None, None, True)


@slow
def test_the_json_round_trips_and_the_platform_outputs_stay_in_their_schemas(course):
    alice = entry(course, "alice")
    result = SubmissionResult.from_dict(alice)
    assert result.tests["explain"].manual and not result.tests["test_add"].manual
    assert json.loads(json.dumps(result.as_dict())) == alice
    gradescope = gradescope_results(result, Settings(), 1.0, [])
    jsonschema.validate(gradescope, json.loads(
        (SCHEMAS / "gradescope_results.schema.json").read_text()))
    env = {var: f"x-{var}" for var in FROM_ENV.values()} | {"SUBMISSION_TAG": "submit/1"}
    c50 = classroom50_result(env, result.tests)
    jsonschema.validate(c50, json.loads(
        (SCHEMAS / "classroom50_result.schema.json").read_text()))
    assert "manual" not in json.dumps(gradescope) + json.dumps(c50)
    # Cells graded by hand are neither tests nor points there (see the fast tests below).
    assert [t["name"] for t in gradescope["tests"]] == ["test_add"]
    assert [t["test-name"] for t in c50["tests"]] == ["test_add"]
    assert (gradescope["score"], c50["score"], c50["max-score"]) == (2, 2, 2)


# --- check's table, Gradescope and Classroom 50: no test, no points ---------------------------

BY_HAND_RESULT = TestResult(0.0, 5.0, verdicts.BY_HAND_FEEDBACK, manual=True)
MIXED = {"test_add": TestResult(2.0, 2.0, "passed"),
         "test_sub": TestResult(0.0, 3.0, "sub(3, 1) should be 2"),
         "explain": BY_HAND_RESULT,
         "task_plot": TestResult(0.0, 3.0, verdicts.BY_HAND_FEEDBACK, manual=True)}
C50_ENV = {var: f"x-{var}" for var in FROM_ENV.values()} | {"SUBMISSION_TAG": "submit/1"}


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


def test_check_shows_a_cell_graded_by_hand_as_by_hand_not_as_a_pass():
    rows = {line.split()[0]: line for line in table(MIXED).splitlines()[2:]}
    assert rows["explain"].split(None, 1)[1].startswith("by hand")
    assert "–/5" in rows["explain"] and verdicts.BY_HAND_FEEDBACK in rows["explain"]
    assert "pass" not in rows["explain"] and "0/5" not in rows["explain"]
    assert "–/3" in rows["task_plot"]
    assert rows["test_add"].split()[1:3] == ["pass", "2/2"]
    assert rows["test_sub"].split()[1:3] == ["FAIL", "0/3"] and "sub(3, 1)" in rows["test_sub"]


def test_gradescope_leaves_cells_graded_by_hand_to_its_own_questions():
    result = SubmissionResult.of_tests("s", MIXED)
    assert (result.score, result.max_score) == (2, 13)  # nbgrader's, for the gradebook
    doc = gradescope_results(result, Settings(), 1.0, [])
    jsonschema.validate(doc, schema("gradescope_results.schema.json"))
    assert [t["name"] for t in doc["tests"]] == ["test_add", "test_sub"]
    assert doc["score"] == 2 and sum(t["max_score"] for t in doc["tests"]) == 5
    assert "(2 tests, 5 points)" in doc["output"]
    assert "`explain`, `task_plot`, graded by hand" in doc["output"]
    failed = SubmissionResult.of_tests("s", MIXED, error="no notebook")
    doc = gradescope_results(failed, Settings(), 1.0, [])
    jsonschema.validate(doc, schema("gradescope_results.schema.json"))
    assert doc["score"] == 0 and doc["tests"][0]["max_score"] == 5
    only_by_hand = gradescope_results(SubmissionResult.of_tests("s", {"explain": BY_HAND_RESULT}),
                                      Settings(), 1.0, [])
    jsonschema.validate(only_by_hand, schema("gradescope_results.schema.json"))
    assert (only_by_hand["score"], only_by_hand["tests"]) == (0, [])


def test_classroom50_leaves_cells_graded_by_hand_out_of_the_result_and_the_release():
    doc = classroom50_result(C50_ENV, MIXED)
    jsonschema.validate(doc, schema("classroom50_result.schema.json"))
    assert [t["test-name"] for t in doc["tests"]] == ["test_add", "test_sub"]
    assert (doc["score"], doc["max-score"]) == (2, 5)
    assert all(not t["passed"] or t["score"] == t["max-score"] for t in doc["tests"])
    body = release_body(PublicGrade(dict(MIXED)), "manual_demo.ipynb")
    assert "## Autograding: 2/5 points" in body
    assert "| `explain` |" not in body and "| `task_plot` |" not in body
    assert "| `test_sub` | ❌ fail | 0/3 |" in body
    assert "Not graded here: `explain`, `task_plot`, graded by hand" in body
    plain = release_body(PublicGrade({"test_add": MIXED["test_add"]}), "n.ipynb")
    assert "graded by hand" not in plain


# --- the gradebook, nbgrader's totals and the export -----------------------------------------

@slow
def test_the_gradebook_holds_the_cells_for_formgrader(course):
    alice, bob = course["gradebook"]["alice"], course["gradebook"]["bob"]
    assert alice["test_add"] == (2.0, None, False)
    assert alice["explain"] == (None, None, True) and alice["task_plot"] == (None, None, True)
    assert bob["explain"] == (0.0, None, False)  # nbgrader's "no response"
    assert bob["task_plot"] == (None, None, True)


@slow
def test_nbgrader_totals_and_the_export_count_scores_given_by_hand(scored, tmp_path):
    with Gradebook(f"sqlite:///{scored / 'gradebook.db'}") as gb:
        submission = gb.find_submission(DEMO, "alice")
        assert (submission.score, submission.max_score) == (9.0, 10.0)
        assert not submission.needs_manual_grade
    out = tmp_path / "grades.csv"
    proc = cli("autograder", "export", "--course-dir", scored, "--assignment", DEMO,
               "--to", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert (float(rows["alice"]["score"]), float(rows["alice"]["max_score"])) == (9.0, 10.0)
    assert float(rows["bob"]["score"]) == 0.0


@slow
def test_merging_a_shard_leaves_the_cells_to_formgrader(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course["root"] / "solutions", root / "solutions")
    shard = tmp_path / "shard.json"
    shard.write_text(json.dumps(course["grades"]), encoding="utf-8")
    proc = cli("autograder", "merge", shard, "--course-dir", root, "--assignment", DEMO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert grades_of(root, DEMO, "alice") == course["gradebook"]["alice"]
    assert grades_of(root, DEMO, "bob") == course["gradebook"]["bob"]


@slow
def test_a_regrade_keeps_the_scores_given_by_hand(scored, course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(scored, root)
    out = root / "regrade.json"
    proc = cli("autograder", "grade", course["subs"], "--course-dir", root, "--assignment",
               DEMO, "--json", out, "--quiet", "--isolation", "off", "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    alice = next(s for s in json.loads(out.read_text())["submissions"] if s["student"] == "alice")
    assert alice["tests"]["explain"]["manual"] is True
    explain = grades_of(root, DEMO, "alice")["explain"]
    assert explain[1:] == (4.0, True)  # nbgrader's rule: kept, and marked for review


# --- the feedback page ------------------------------------------------------------------------

def feedback_page(root: Path, student: str) -> str:
    proc = cli("autograder", "feedback", "--course-dir", root, "--assignment", DEMO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return (root / "feedback" / student / DEMO / f"{DEMO}.html").read_text(encoding="utf-8")


def summary(page: str) -> str:
    start = page.index('<section id="summary"')
    return page[start:page.index("</section>", start)]


@slow
def test_the_feedback_page_says_graded_by_hand(course):
    page = feedback_page(course["root"], "alice")
    top = summary(page)
    assert "Your grade: 2/10" in top
    assert "<code>explain</code></td><td>–/5</td><td>graded by hand: not scored yet" in top
    assert "<code>task_plot</code></td><td>–/3</td><td>graded by hand" in top
    assert "<code>test_add</code></td><td>2/2</td><td>passed" in top
    assert ANSWER in page  # nbgrader's own part renders the answer
    bob = summary(feedback_page(course["root"], "bob"))
    assert f"<code>explain</code></td><td>0/5</td><td>{verdicts.NOT_ANSWERED}" in bob


@slow
def test_the_summary_shows_scores_given_by_hand(scored):
    course = Course(scored, None, DEMO)
    results = verdicts.score(nbformat.read(course.autograded_notebook("alice"), as_version=4))
    given = gradebook.hand_scores(course, "alice")
    assert given == {"explain": 4.0, "task_plot": 3.0}
    top = summary_table(results, given=given)
    assert "Your grade: 9/10" in top and "not scored yet" not in top
    assert "<code>explain</code></td><td>4/5</td><td>graded by hand: scored by your grader" in top


@slow
def test_the_feedback_page_shows_scores_given_by_hand(scored):
    top = summary(feedback_page(scored, "alice"))
    assert "Your grade: 9/10" in top and "<td>4/5</td>" in top


# --- the CI job summary -----------------------------------------------------------------------

@slow
def test_the_ci_summary_says_graded_by_hand(course, tmp_path):
    notebook = tmp_path / f"{DEMO}.ipynb"
    shutil.copyfile(course["subs"] / "alice" / f"{DEMO}.ipynb", notebook)
    summary_file, output = tmp_path / "summary.md", tmp_path / "output"
    proc = cli("autograder.student.ci", notebook.name, cwd=tmp_path,
               env={"GITHUB_STEP_SUMMARY": str(summary_file), "GITHUB_OUTPUT": str(output)})
    assert proc.returncode == 0, proc.stdout + proc.stderr  # no test fails
    text = summary_file.read_text(encoding="utf-8")
    assert "## Autograding: 2/10 points" in text
    assert "8 of these points are graded by hand" in text
    assert "| `explain` | ✋ graded by hand | –/5 |" in text
    assert "| `task_plot` | ✋ graded by hand | –/3 |" in text
    assert "| `test_add` | ✅ pass | 2/2 |" in text
    assert "::notice " in proc.stdout and "title=explain (–/5)::graded by hand" in proc.stdout


def test_the_ci_reconcile_keeps_cells_graded_by_hand_but_not_as_tests():
    by_hand = TestResult(0.0, 5.0, verdicts.BY_HAND_FEEDBACK, manual=True)
    results = {"test_add": TestResult(2.0, 2.0, "passed"), "explain": by_hand,
               "test_gone": by_hand}
    out, notes = ci.reconcile(results, {"test_add": 2.0, "test_gone": 3.0})
    assert out["explain"] is by_hand and notes == []
    assert out["test_gone"].points == 0 and not out["test_gone"].passed


# --- nbgrader's rules, on plain metadata ----------------------------------------------------

@pytest.mark.parametrize("kind", ["markdown", "code"])
def test_an_answer_is_unanswered_exactly_when_nbgrader_says_no_response(kind):
    answer = cell(kind, "YOUR ANSWER HERE", "explain", grade=True, solution=True, points=5)
    answer.metadata.nbgrader["checksum"] = compute_checksum(answer)
    assert verdicts.checksum(answer) == compute_checksum(answer)
    assert determine_grade(answer) == (0, 5.0) and verdicts.unanswered(answer)
    assert verdicts.score(nbformat.v4.new_notebook(cells=[answer]))["explain"] == TestResult(
        0.0, 5.0, verdicts.NOT_ANSWERED)
    answer.source = "my answer"
    assert determine_grade(answer) == (None, 5.0) and not verdicts.unanswered(answer)
    assert verdicts.score(nbformat.v4.new_notebook(cells=[answer]))["explain"] == TestResult(
        0.0, 5.0, verdicts.BY_HAND_FEEDBACK, manual=True)


def test_every_cell_with_points_is_listed_in_notebook_order():
    task = cell("markdown", "Describe it.", "task", task=True, locked=True, points=3)
    nb = demo_notebook()
    nb.cells.insert(1, task)
    assert list(verdicts.score(nb)) == ["task", "test_add", "explain", "task_plot"]
    assert [r.manual for r in verdicts.score(nb).values()] == [True, False, True, True]
