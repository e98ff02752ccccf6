"""CI feedback: result JSON, summary, annotations that student output cannot hijack,
tamper checks, and the workflow's own steps run end to end on a real template copy."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import markdown_page
import nbformat
import pytest
import yaml

from autograder.records import TestResult as Result
from autograder.student import ci as classroom
from autograder.student.manifest import (
    find_tampering,
    load_manifest,
    manifest_text,
    tamper_manifest,
)

from helpers import DIGIT_TESTS, DIGIT_TOTAL, RELEASE, ROOT, SOLUTION

WORKFLOW = ROOT / "template" / ".github" / "workflows" / "classroom.yml"
NOTEBOOK = "assignments/digit_recognition/digit_recognition.ipynb"
REPORTER = "classroom-resources/autograding-grading-reporter@"
# What the runner accepts as a workflow command: "::name props::message" with escaped props.
OUR_COMMAND = re.compile(r"::(error|warning|notice)( [a-z]+=[^,:\r\n]*(,[a-z]+=[^,:\r\n]*)*)?"
                         r"::[^\r\n]*")
HOSTILE = ("50% done\r\n::set-output name=result::e30=\n  ::error::fake\u2028::warning::x"
           "\x85##[set-output name=a;]b \x1b[31mred | cell <script>x</script>")


# -- escaping and the result format ---------------------------------------------------------

def command_lines(stdout: str) -> list[str]:
    """The lines the runner would treat as workflow commands (skipping stop-commands blocks)."""
    commands, stopped_by = [], None
    for line in stdout.split("\n"):
        text = line.lstrip()
        if stopped_by:
            if text == f"::{stopped_by}::":
                stopped_by = None
            continue
        if text.startswith("::stop-commands::"):
            stopped_by = text.removeprefix("::stop-commands::")
            assert len(stopped_by) >= 32  # unguessable
        elif text.startswith(("::", "##[")):
            commands.append(text)
    assert stopped_by is None, "stop-commands never resumed"
    return commands


def _emit(results, tmp_path: Path, **kw) -> tuple[dict, str, str, str]:
    env = {"GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    out = io.StringIO()
    result = classroom.emit(results, env, out, **kw)
    return (result, out.getvalue(), (tmp_path / "output").read_text(),
            (tmp_path / "summary.md").read_text())


def test_escape_functions():
    assert classroom.escape_data("50%\r\n") == "50%25%0D%0A"
    assert classroom.escape_property("a: b, c%") == "a%3A b%2C c%25"
    assert classroom.one_line("a\nb\r\n\u2028c\x1b[31md") == "a b cd"  # ANSI dropped


def test_student_output_cannot_inject_workflow_commands(tmp_path):
    results = {"test_ok": Result(10, 10, "passed"),
               "test_x\n::set-output name=y::z": Result(0, 15, HOSTILE)}
    result, stdout, output, summary = _emit(results, tmp_path, notebook=NOTEBOOK,
                                            notes=[HOSTILE], error=None)
    commands = command_lines(stdout)
    assert [c for c in commands if not OUR_COMMAND.fullmatch(c)] == []
    assert len(commands) == 4  # two tests, the changed-files warning, the total
    # the hostile text is still shown (escaped) in the annotation of its test
    failing = next(c for c in commands if c.startswith("::error"))
    assert "title=test_x___set-output_name_y__z (0/15)::" in failing
    assert "50%25 done" in failing and "::set-output name=result" in failing
    # the step output is one line of base64
    assert re.fullmatch(r"result=[A-Za-z0-9+/=]+\n", output)
    # the reporter prints names and messages on lines of their own: they must stay one line
    for test in result["tests"]:
        assert len(f"x{test['name']}".splitlines()) == 1
        assert len(f"x{test['message']}".splitlines()) == 1
        assert "\x1b" not in test["message"]
    # the summary table keeps four cells a row and renders no HTML from the student
    rows = [line for line in summary.splitlines() if line.startswith("| `")]
    assert len(rows) == 2
    assert all(len(re.split(r"(?<!\\)\|", row)) == 6 for row in rows)
    assert "<script>" not in summary and "&lt;script&gt;" in summary


def test_result_json_shape(tmp_path):
    results = {"test_a": Result(10.0, 10.0, "passed"),
               "test_b": Result(0.0, 15.0, "AssertionError: not implemented yet: ...")}
    result, stdout, output, summary = _emit(results, tmp_path, notebook=NOTEBOOK)
    decoded = json.loads(base64.b64decode(output.strip().removeprefix("result=")))
    assert decoded == result
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 25
    assert [t["name"] for t in result["tests"]] == ["test_a", "test_b"]
    first = result["tests"][0]
    assert {"name", "status", "score", "max_score", "message"} <= set(first)
    assert (first["status"], first["score"], first["max_score"]) == ("pass", 10, 10)
    assert isinstance(first["score"], int)  # 10, not 10.0, in the reporter's "Points 10/25"
    assert result["tests"][1]["status"] == "fail"
    assert "## Autograding: 10/25 points" in summary
    assert classroom.result_json({"t": Result(1, 1, "passed")})["status"] == "pass"
    errored = classroom.result_json({"t": Result(0, 5, "not run")}, error="broken")
    assert errored["status"] == "error" and errored["tests"][0]["status"] == "error"
    assert classroom.result_json({})["status"] == "error"


def test_the_job_summary_page_reads_in_order_and_in_words(tmp_path):
    """The page GitHub makes of the summary: headings that skip no level, the tests in the
    order given (the notebook's, not the alphabet's), each result in words beside its
    symbol, each warning labelled; student text that looks like a heading stays text."""
    results = {"test_c": Result(1, 1, "passed"), "explain": Result(0, 2, "", manual=True),
               "test_a": Result(0, 1, "# not a heading\n## nor this")}
    _, _, _, summary = _emit(results, tmp_path, notebook=NOTEBOOK,
                             notes=["# test cell test_c was changed", "workflow changed"])
    assert markdown_page.problems(summary, list(results)) == []
    page = markdown_page.write(summary, tmp_path / "summary.html").read_text("utf-8")
    assert '<html lang="en">' in page and page.count("<main>") == 1
    assert f"<title>{markdown_page.TITLE}</title>" in page
    assert markdown_page.headings(page) == [(1, markdown_page.TITLE),
                                            (2, "Autograding: 1/4 points")]
    [[header, *rows]] = markdown_page.tables(page)
    assert header == ["test", "result", "points", "message"]
    assert [row[1] for row in rows] == ["✅ pass", "✋ graded by hand", "❌ fail"]
    assert page.count("⚠️ Warning: ") == 2 and "<p>⚠️ Warning: # test cell" in page
    broken = classroom.summary_markdown(results, NOTEBOOK, error="the kernel died")
    assert markdown_page.problems(broken, list(results)) == []
    assert "❌ fail" in broken and "✅" not in broken  # nothing passes in a notebook not run


def test_emit_appends_to_existing_files(tmp_path):
    (tmp_path / "output").write_text("earlier=1\n")
    (tmp_path / "summary.md").write_text("# earlier\n")
    _, _, output, summary = _emit({"t": Result(1, 1, "passed")}, tmp_path)
    assert output.startswith("earlier=1\nresult=")
    assert summary.startswith("# earlier\n## Autograding: 1/1 points")


def test_reconcile_counts_the_assignments_tests_at_their_points():
    points = {"test_a": 10.0, "test_b": 15.0, "test_c": 5.0}
    results = {"test_a": Result(10, 10, "passed"),
               "test_b": Result(1000, 1000, "passed"),  # points metadata edited
               "test_extra": Result(50, 50, "passed")}  # a grade cell the student added
    fixed, notes = classroom.reconcile(results, points)
    assert {g: (r.points, r.max_points) for g, r in fixed.items()} == {
        "test_a": (10, 10), "test_b": (15, 15), "test_c": (0, 5)}
    assert "missing from the notebook" in fixed["test_c"].feedback
    assert notes == ["grade cell test_extra is not part of the assignment and was not counted"]


def test_reconcile_keeps_the_notebooks_order_and_puts_missing_tests_last():
    """The manifest's points are sorted by name; the report follows the notebook."""
    points = {"test_a": 1.0, "test_b": 1.0, "test_c": 1.0, "test_d": 1.0}
    results = {"test_c": Result(1, 1, "passed"), "explain": Result(0, 2, "", manual=True),
               "test_a": Result(1, 1, "passed"), "test_b": Result(1, 1, "passed")}
    fixed, _ = classroom.reconcile(results, points)
    assert list(fixed) == ["test_c", "explain", "test_a", "test_b", "test_d"]


def test_results_from_grades_reads_the_grade_json():
    grades = {"assignment": "digit_recognition", "submissions": [
        {"student": "submission", "score": 10, "max_score": 25, "error": None,
         "tests": {"test_a": {"points": 10, "max_points": 10, "feedback": "passed"},
                   "test_b": {"points": 0, "max_points": 15, "feedback": "AssertionError: x"}}}]}
    assert classroom.results_from_grades(grades) == {
        "test_a": Result(10.0, 10.0, "passed"),
        "test_b": Result(0.0, 15.0, "AssertionError: x")}
    assert classroom.tampering_from_grades(grades) == []
    grades["submissions"][0]["tampering"] = ["test cell test_my_relu was changed\n::x::y"]
    assert classroom.tampering_from_grades(grades) == [
        "test cell test_my_relu was changed ::x::y"]
    grades["submissions"][0].update(tests={}, error="not valid notebook JSON")
    with pytest.raises(RuntimeError, match="not valid notebook JSON"):
        classroom.results_from_grades(grades)


# -- tamper manifest --------------------------------------------------------------------------

@pytest.fixture
def student_copy(tmp_path) -> tuple[Path, Path, dict]:
    nb_path = tmp_path / "repo" / NOTEBOOK
    nb_path.parent.mkdir(parents=True)
    shutil.copy(RELEASE, nb_path)
    wf = tmp_path / "repo" / ".github" / "workflows" / "classroom.yml"
    wf.parent.mkdir(parents=True)
    shutil.copy(WORKFLOW, wf)
    return nb_path, wf, tamper_manifest(RELEASE, WORKFLOW)


def test_manifest_is_deterministic(student_copy):
    nb_path, wf, manifest = student_copy
    assert manifest_text(tamper_manifest(nb_path, wf)) == manifest_text(manifest)
    assert manifest["workflow"]["path"] == ".github/workflows/classroom.yml"
    assert manifest["points"]["test_my_relu"] == 10
    # in the notebook's order, also as written: a CI without a runnable notebook lists them so
    assert list(manifest["points"]) == list(DIGIT_TESTS)
    assert list(json.loads(manifest_text(manifest))["points"]) == list(DIGIT_TESTS)


def test_untouched_release_has_no_tampering(student_copy):
    nb_path, wf, manifest = student_copy
    assert find_tampering(nb_path, wf, manifest) == []


def test_changed_test_cell_points_and_workflow_are_found(student_copy):
    nb_path, wf, manifest = student_copy
    nb = nbformat.read(nb_path, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id["test_my_relu"].source = "pass  # tests are for others"
    by_id["test_my_relu"].metadata.nbgrader["checksum"] = "forged"
    by_id["test_model_activations"].metadata.nbgrader["points"] = 1000
    nb.cells.remove(by_id["test_training_accuracy"])
    nbformat.write(nb, nb_path)
    wf.write_text(wf.read_text() + "\n# skip the tests\n")
    assert find_tampering(nb_path, wf, manifest) == [
        "test cell test_my_relu was changed",
        "test cell test_training_accuracy was deleted (or its nbgrader metadata was removed)",
        "test cell test_model_activations: its points were changed from 15 to 1000",
        "the workflow file .github/workflows/classroom.yml was changed",
    ]
    assert find_tampering(nb_path, None, manifest)[-1].startswith("test cell")  # no workflow
    wf.unlink()
    assert find_tampering(nb_path, wf, manifest)[-1] == \
        "the workflow file .github/workflows/classroom.yml was deleted"


# -- the workflow file ------------------------------------------------------------------------

def load_workflow(path: Path = WORKFLOW) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    return workflow


def the_job(workflow: dict) -> dict:
    assert list(workflow["jobs"]) == ["run-autograding-tests"]  # what the reporter expects
    return workflow["jobs"]["run-autograding-tests"]


def test_workflow_triggers_permissions_and_guard():
    workflow = load_workflow()
    assert workflow["name"] == "Autograding Tests"
    assert {"push", "workflow_dispatch", "repository_dispatch", "workflow_call"} <= \
        set(workflow["on"])
    assert set(workflow["on"]["workflow_call"]["inputs"]) >= {"notebook", "hidden-tests"}
    job = the_job(workflow)
    assert job["permissions"] == {"contents": "read"}
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    runs_notebook = [s for s in job["steps"] if "autograder.student.ci" in s.get("run", "")]
    assert len(runs_notebook) == 1  # the notebook runs once


def test_the_package_cache_is_saved_whatever_the_tests_give():
    """setup-python saves its cache only when the job succeeds, and the job fails while a
    test does: the cache is restored and saved explicitly, the save before the notebook
    runs, keyed on what pip installs from."""
    steps = the_job(load_workflow())["steps"]
    uses = [str(s.get("uses", "")).split("@")[0] for s in steps]
    restore, save = uses.index("actions/cache/restore"), uses.index("actions/cache/save")
    install = next(i for i, s in enumerate(steps) if s.get("id") == "install")
    notebook = next(i for i, s in enumerate(steps) if s.get("id") == "autograding")
    assert restore < install < save < notebook
    assert "hashFiles('pyproject.toml')" in steps[restore]["with"]["key"]
    assert steps[save]["with"]["key"] == "${{ steps.cache.outputs.cache-primary-key }}"
    assert steps[restore]["with"]["path"] == steps[save]["with"]["path"]
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert "cache" not in setup["with"]


def test_feedback_needs_no_retired_service():
    text = WORKFLOW.read_text()
    assert REPORTER.rstrip("@") not in text


# -- end to end: the workflow's own run steps on a template copy ------------------------------

INPUT_EXPR = re.compile(r"\$\{\{\s*inputs\.[\w-]+\s*\}\}")
SKIPPED_STEP_IDS = {"install"}  # the venv running the tests already has every package


@dataclass
class Run:
    returncodes: list[int] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    stdout: str = ""
    summary: str = ""
    reported: dict = field(default_factory=dict)  # runner id -> decoded result


def _read_outputs(path: Path) -> dict[str, str]:
    outputs, lines = {}, iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lambda: next(lines), delim))
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def _push_event_env(step: dict) -> dict[str, str]:
    """Step env as on a push: `${{ inputs.X }}` is empty; other expressions are not emulated."""
    env = {}
    for name, value in (step.get("env") or {}).items():
        value = str(value)
        if INPUT_EXPR.fullmatch(value.strip()):
            value = ""
        assert "${{" not in value, f"the test cannot evaluate {name}: {value}"
        env[name] = value
    return env


def run_workflow(repo: Path, tmp: Path) -> Run:
    """Run the job's `run:` steps in order with bash, as the runner does, then decode the
    classroom-format result. `uses:` steps (checkout, setup-python, cache) are GitHub's."""
    site = tmp / "site"
    site.mkdir()
    # what `pip install -e .` of the template gives: its own autograder and digit_helpers
    (site / "digit_helpers").symlink_to(repo / "utils", target_is_directory=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTHON"))}
    base.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
                PYTHONPATH=os.pathsep.join([str(repo), str(site)]), GITHUB_ACTIONS="true",
                CI="true", GITHUB_WORKSPACE=str(repo))
    run, steps = Run(), the_job(load_workflow(repo / ".github/workflows/classroom.yml"))["steps"]
    summary = tmp / "summary.md"
    summary.touch()
    for n, step in enumerate(steps):
        if "run" not in step or step.get("id") in SKIPPED_STEP_IDS:
            continue
        assert "if" not in step, "the test runs every run: step unconditionally"
        output, script = tmp / f"output-{n}", tmp / f"step-{n}.sh"
        output.touch()
        script.write_text(step["run"])
        env = {**base, **_push_event_env(step), "GITHUB_OUTPUT": str(output),
               "GITHUB_STEP_SUMMARY": str(summary)}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        run.returncodes.append(proc.returncode)
        run.stdout += proc.stdout
        if step.get("id"):
            run.outputs[step["id"]] = _read_outputs(output)
    run.summary = summary.read_text()
    # The classroom-format result stays a step output, for tools that still read it.
    encoded = run.outputs.get("autograding", {}).get("result", "")
    run.reported["autograding"] = json.loads(base64.b64decode(encoded)) if encoded else {}
    return run


def _repo_with(template: Path, tmp_path: Path, notebook: Path | None) -> Path:
    """A student's clone of the template (conftest's `student_template`), holding `notebook`."""
    repo = tmp_path / "student-repo"
    shutil.copytree(template, repo)
    if notebook is None:
        (repo / NOTEBOOK).unlink()
    else:
        shutil.copy(notebook, repo / NOTEBOOK)
    return repo


def _test_sources(path: Path) -> dict[str, str]:
    return {c.metadata.nbgrader["grade_id"]: c.source
            for c in nbformat.read(path, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def _annotations(run: Run, level: str) -> list[str]:
    return [c for c in command_lines(run.stdout) if c.startswith(f"::{level} ")]


@pytest.mark.slow
def test_workflow_gives_the_solution_every_point(student_template, tmp_path):
    run = run_workflow(_repo_with(student_template, tmp_path, SOLUTION), tmp_path)
    assert run.returncodes == [0]
    result = run.reported["autograding"]
    assert result["version"] == 1 and result["status"] == "pass"
    assert result["max_score"] == DIGIT_TOTAL
    assert sum(t["score"] for t in result["tests"]) == DIGIT_TOTAL
    assert len(result["tests"]) == len(DIGIT_TESTS)
    assert {t["status"] for t in result["tests"]} == {"pass"}
    assert f"## Autograding: {DIGIT_TOTAL}/{DIGIT_TOTAL} points" in run.summary
    assert run.summary.count("✅ pass") == len(DIGIT_TESTS)
    assert markdown_page.problems(run.summary, list(DIGIT_TESTS)) == []
    assert len(_annotations(run, "notice")) == len(DIGIT_TESTS) + 1  # each test and the total
    assert _annotations(run, "error") == []
    # The source notebook's test cells carry the hidden tests, so they differ from the
    # released ones: exactly those are reported as changed (not the workflow).
    changed = sorted(gid for gid, src in _test_sources(SOLUTION).items()
                     if src != _test_sources(RELEASE)[gid])
    assert changed
    warnings = _annotations(run, "warning")
    assert len(warnings) == 1 and "workflow" not in warnings[0]
    assert [gid for gid in changed if f"test cell {gid} was changed" not in warnings[0]] == []


@pytest.fixture(scope="module")
def blank_release_run(student_template, tmp_path_factory) -> Run:
    """The workflow on the blank release, its workflow file edited: every test fails."""
    tmp = tmp_path_factory.mktemp("blank-release")
    repo = _repo_with(student_template, tmp, RELEASE)
    workflow = repo / ".github/workflows/classroom.yml"
    workflow.write_text(workflow.read_text() + "# a student's edit\n")
    return run_workflow(repo, tmp)


@pytest.mark.slow
def test_workflow_explains_every_failure_of_the_blank_release(blank_release_run):
    run = blank_release_run
    assert run.returncodes == [1]  # a red mark while a test fails, after the full report
    result = run.reported["autograding"]
    assert result["status"] == "fail" and result["max_score"] == DIGIT_TOTAL
    assert sum(t["score"] for t in result["tests"]) == 0
    assert len(result["tests"]) == len(DIGIT_TESTS)
    for test in result["tests"]:
        assert test["status"] == "fail"
        assert "not implemented yet" in test["message"], test
    assert f"## Autograding: 0/{DIGIT_TOTAL} points" in run.summary
    assert run.summary.count("❌ fail") == len(DIGIT_TESTS)
    assert "the workflow file .github/workflows/classroom.yml was changed" in run.summary
    errors = _annotations(run, "error")
    assert len(errors) == len(DIGIT_TESTS) and all("not implemented yet" in e for e in errors)
    assert "workflow file" in _annotations(run, "warning")[0]


@pytest.mark.slow
def test_the_job_summary_of_a_real_run_reads_in_the_notebooks_order(blank_release_run):
    """The summary the workflow wrote, as GitHub shows it: headings in order, the tests in
    the notebook's order (the manifest's is the alphabet's), each result in words."""
    summary = blank_release_run.summary
    assert markdown_page.problems(summary, list(DIGIT_TESTS)) == []
    assert list(DIGIT_TESTS) != sorted(DIGIT_TESTS)  # else the order would prove nothing
    page = markdown_page.page(summary)
    assert [level for level, _ in markdown_page.headings(page)] == [1, 2]
    [[_, *rows]] = markdown_page.tables(page)
    assert {row[1] for row in rows} == {"❌ fail"}
    assert "⚠️ Warning: the workflow file .github/workflows/classroom.yml was changed" in page


def test_workflow_reports_a_notebook_that_cannot_run(student_template, tmp_path):
    run = run_workflow(_repo_with(student_template, tmp_path, None), tmp_path)
    assert run.returncodes != [0]  # the step fails visibly...
    result = run.reported["autograding"]  # ...and the result still lists every test at 0
    assert result["status"] == "error" and result["max_score"] == DIGIT_TOTAL
    assert {t["status"] for t in result["tests"]} == {"error"}
    assert len(result["tests"]) == len(DIGIT_TESTS)
    assert "The notebook could not be run" in _annotations(run, "error")[0]
    assert "could not be run" in run.summary


def test_mangled_manifest_and_metadata_still_give_a_report(tmp_path, monkeypatch, student_copy):
    nb_path, wf, manifest = student_copy
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[0].metadata["nbgrader"] = 5  # nonsense a student's editor could leave
    nbformat.write(nb, nb_path)
    assert find_tampering(nb_path, wf, manifest) == [
        "locked cell intro was deleted (or its nbgrader metadata was removed)"]
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({**manifest, "points": {"test_my_relu": "all of them"}}))
    with pytest.raises(ValueError, match="not a version 1 tamper manifest"):
        load_manifest(bad)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    missing = tmp_path / "renamed.ipynb"
    assert classroom.main([str(missing), "--manifest", str(bad)]) == 1
    result = json.loads(base64.b64decode(
        (tmp_path / "output").read_text().strip().removeprefix("result=")))
    assert result["status"] == "error"
    summary = (tmp_path / "summary.md").read_text()
    assert "the manifest could not be read" in summary and "could not be run" in summary
