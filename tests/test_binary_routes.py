"""digit_recognition_binary on each route a student's work is graded by, end to end: the
Gradescope zip run as Gradescope runs it, the Classroom 50 bundle run as its runner runs it,
and the student template's GitHub Actions workflow (the reporter). On each, the solution gets
every point and the untouched release 0, with one reason per test.

The same machinery as test_gradescope.py, test_classroom50.py and test_classroom.py (which
run digit_recognition), built here for the binary: each (route, notebook) is run once.
Every results.json and result.json is validated against the platform's JSON Schema
(tests/schemas/).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
from platform_local import install, overlay_venv, run_autograder, run_bundle, submit
from test_classroom import command_lines, run_workflow

from helpers import (
    BINARY_ID,
    BINARY_NAME,
    BINARY_RELEASE,
    BINARY_SOLUTION,
    BINARY_TESTS,
    BINARY_TOTAL,
    ROOT,
    leaked,
    secret_lines,
)

pytestmark = pytest.mark.slow  # builds, installs and runs the platforms' autograders

SCHEMAS = Path(__file__).parent / "schemas"
GRADESCOPE = json.loads((SCHEMAS / "gradescope_results.schema.json").read_text())
CLASSROOM50 = json.loads((SCHEMAS / "classroom50_result.schema.json").read_text())
NOTEBOOK = Path("assignments") / BINARY_ID / BINARY_NAME  # in a student's repository
SLUG = BINARY_ID.replace("_", "-")
NOTEBOOKS = {"solution": BINARY_SOLUTION, "untouched_release": BINARY_RELEASE}
REASON = "not implemented yet"  # each test of the untouched release says what to write


def autograder(*args: str | Path) -> str:
    """`python -m autograder ARGS` from the repository, for the binary."""
    proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args),
                           "--assignment", BINARY_ID], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# --- Gradescope ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradescope_root(tmp_path_factory):
    """The binary's zip installed where Gradescope puts it (outside pytest's folders, which
    other uids cannot pass, as the sandbox's may need to)."""
    zip_path = tmp_path_factory.mktemp("gradescope-binary") / "autograder.zip"
    autograder("gradescope", zip_path)
    base = Path(tempfile.mkdtemp(prefix="gradescope-binary-root-"))
    yield install(zip_path, base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("student", sorted(NOTEBOOKS))
def test_gradescope(student, gradescope_root):
    """results.json as Gradescope reads it: one entry per test of the binary, at its points;
    the solution passes each, the untouched release fails each with its own reason."""
    submit(gradescope_root, {BINARY_NAME: NOTEBOOKS[student].read_bytes()})
    doc = run_autograder(gradescope_root)
    jsonschema.validate(doc, GRADESCOPE)
    assert [(t["name"], t["max_score"]) for t in doc["tests"]] == list(BINARY_TESTS.items())
    if student == "solution":
        assert doc["score"] == BINARY_TOTAL
        assert all(t["status"] == "passed" and t["score"] == t["max_score"]
                   for t in doc["tests"])
    else:
        assert doc["score"] == 0
        for test in doc["tests"]:
            assert test["status"] == "failed" and test["score"] == 0, test
            assert REASON in test["output"], test


# --- Classroom 50 ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classroom50-binary")
    autograder("classroom50", out)
    assert json.loads((out / f"{SLUG}.runtime.json").read_text())["runtime"]["python"]
    return out / "autograders" / SLUG


@pytest.fixture(scope="module")
def c50_python(tmp_path_factory) -> Path:
    return overlay_venv(tmp_path_factory.mktemp("c50-binary-venv") / "venv")


def test_classroom50_bundle_holds_no_solution_or_hidden_test_line(bundle):
    """The bundle is public: no line of the binary's solutions or hidden tests in it."""
    secrets = secret_lines(BINARY_SOLUTION)
    assert len(secrets) > 10 and leaked(BINARY_SOLUTION, secrets)  # the search finds them
    found = {p.relative_to(bundle).as_posix(): leaked(p, secrets)
             for p in bundle.rglob("*") if p.is_file()}
    assert {f: lines for f, lines in found.items() if lines} == {}


@pytest.mark.parametrize("student", sorted(NOTEBOOKS))
def test_classroom50(student, bundle, c50_python, tmp_path):
    """result.json and the release body as Classroom 50 publishes them: every test of the
    binary at its points; the solution full marks, the untouched release 0 with each test's
    own reason in the body."""
    (tmp_path / NOTEBOOK).parent.mkdir(parents=True)
    shutil.copyfile(NOTEBOOKS[student], tmp_path / NOTEBOOK)
    run = run_bundle(bundle, tmp_path, c50_python, ASSIGNMENT=SLUG)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = json.loads((tmp_path / "result.json").read_text())
    jsonschema.validate(doc, CLASSROOM50)
    assert doc["assignment"] == SLUG and doc["max-score"] == BINARY_TOTAL
    assert [(t["test-name"], t["max-score"]) for t in doc["tests"]] == \
        list(BINARY_TESTS.items())
    body = (tmp_path / "release-body.md").read_text()
    lines = {gid: [line for line in body.splitlines() if f"`{gid}`" in line]
             for gid in BINARY_TESTS}
    if student == "solution":
        assert doc["score"] == BINARY_TOTAL
        assert all(t["passed"] and t["score"] == t["max-score"] for t in doc["tests"])
        assert f"{BINARY_TOTAL}/{BINARY_TOTAL}" in body
    else:
        assert doc["score"] == 0
        assert not any(t["passed"] or t["score"] for t in doc["tests"])
        assert {gid: any(REASON in line for line in found) for gid, found in lines.items()} \
            == dict.fromkeys(BINARY_TESTS, True), body


# --- the student template's workflow (the reporter) ------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The binary's student template, as `python -m autograder template OUT` writes it."""
    out = tmp_path_factory.mktemp("binary-template") / "student-template"
    autograder("template", out)
    return out


@pytest.mark.parametrize("student", sorted(NOTEBOOKS))
def test_the_workflow(student, template, tmp_path):
    """The workflow's own run steps on a clone of the binary's template: the classroom
    result, the job summary and the annotations count the binary's tests at their points;
    the untouched release fails each with its reason, the solution passes each."""
    repo = tmp_path / "student-repo"
    shutil.copytree(template, repo)
    assert (repo / NOTEBOOK).is_file()  # the notebook the workflow finds on its own
    shutil.copyfile(NOTEBOOKS[student], repo / NOTEBOOK)
    run = run_workflow(repo, tmp_path)
    result = run.reported["autograding"]
    assert result["version"] == 1 and result["max_score"] == BINARY_TOTAL
    # in the notebook's order, as every other route reports them
    assert [(t["name"], t["max_score"]) for t in result["tests"]] == list(BINARY_TESTS.items())
    commands = command_lines(run.stdout)
    errors = [c for c in commands if c.startswith("::error ")]
    if student == "solution":
        assert run.returncodes == [0]
        assert result["status"] == "pass"
        assert {t["name"]: (t["status"], t["score"]) for t in result["tests"]} == \
            {gid: ("pass", p) for gid, p in BINARY_TESTS.items()}
        assert f"## Autograding: {BINARY_TOTAL}/{BINARY_TOTAL} points" in run.summary
        assert run.summary.count("✅ pass") == len(BINARY_TESTS) and errors == []
    else:
        assert run.returncodes == [1]  # red while a test fails
        assert result["status"] == "fail"
        for test in result["tests"]:
            assert (test["status"], test["score"]) == ("fail", 0) and REASON in test["message"]
        assert f"## Autograding: 0/{BINARY_TOTAL} points" in run.summary
        assert run.summary.count("❌ fail") == len(BINARY_TESTS)
        assert len(errors) == len(BINARY_TESTS) and all(REASON in e for e in errors)
