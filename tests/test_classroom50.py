"""The Classroom 50 bundle: written by `python -m autograder classroom50`, public (no solution
or hidden-test line), and run as Classroom 50's runner runs it (tests/platform_local.py) in
a student checkout. Every result.json is validated against a JSON Schema written from the
classroom50/result/v1 contract (tests/schemas/classroom50_result.schema.json)."""

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import markdown_page
import nbformat
import pytest
from platform_local import build_bundle, overlay_venv, run_bundle

from autograder.grader.platforms import TENSORFLOW_PYTHONS
from autograder.grader.platforms.classroom50 import MAX_BUNDLE_BYTES, published_size
from autograder.public.classroom50 import release_body
from autograder.public.grade import PublicGrade
from autograder.records import TestResult

from helpers import DIGIT_TESTS, DIGIT_TOTAL, RELEASE, SOLUTION, leaked, secret_lines

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "classroom50_result.schema.json")
                    .read_text())
NOTEBOOK = Path("assignments/digit_recognition/digit_recognition.ipynb")


def valid(checkout: Path) -> dict:
    doc = json.loads((checkout / "result.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["score"] <= doc["max-score"]
    assert all(t["score"] <= t["max-score"] for t in doc["tests"])
    return doc


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom50")
    return out, build_bundle(out)


@pytest.fixture(scope="module")
def python(tmp_path_factory):
    return overlay_venv(tmp_path_factory.mktemp("c50-venv") / "venv")


def checkout(tmp_path: Path, notebook: bytes) -> Path:
    """A student's repository as the runner checks it out."""
    (tmp_path / NOTEBOOK).parent.mkdir(parents=True)
    (tmp_path / NOTEBOOK).write_bytes(notebook)
    (tmp_path / "README.md").write_text("my repository\n")
    return tmp_path


pytestmark = pytest.mark.slow  # builds the bundle (pins the environment) or runs it


def readable(body: str) -> str:
    """The release body, as the release page shows it, checked: headings in order, the
    tests in the notebook's order, each result in words."""
    assert markdown_page.problems(body, list(DIGIT_TESTS), "Release submit/1") == []
    return body


def test_the_release_body_reads_in_order_and_in_words():
    tests = {gid: TestResult(points, points, "passed") for gid, points in DIGIT_TESTS.items()}
    tests["test_my_relu"] = TestResult(0, DIGIT_TESTS["test_my_relu"], "AssertionError: x")
    body = readable(release_body(PublicGrade(
        {**tests, "explain": TestResult(0, 5, "graded by hand", manual=True)},
        notes=["# test cell test_my_relu was changed"]), NOTEBOOK.as_posix()))
    page = markdown_page.page(body, "Release submit/1")
    assert [level for level, _ in markdown_page.headings(page)] == [1, 2]
    assert "⚠️ Warning: # test cell test_my_relu was changed" in page
    assert "Not graded here: `explain`, graded by hand" in body


def test_bundle_layout_size_and_runtime(built):
    out, bundle = built
    files = files_of(bundle)
    assert {"autograder.py", "requirements.txt", "release.ipynb",
            "autograder/public/classroom50.py", "autograder/model/checks.py",
            "digit_helpers/digits.npz"} <= set(files)
    assert not [f for f in files if f.startswith("autograder/grader/")]
    assert published_size(files, bundle.name) <= MAX_BUNDLE_BYTES
    pins = [line for line in files["requirements.txt"].decode().splitlines()
            if line and not line.startswith("#")]
    assert pins and all("==" in pin for pin in pins)
    runtime = json.loads((out / "digit-recognition.runtime.json").read_text())["runtime"]
    assert runtime["python"] in TENSORFLOW_PYTHONS  # not Classroom 50's default, 3.14


def test_bundle_holds_no_solution_or_hidden_test_line(built):
    _, bundle = built
    secrets = secret_lines()
    assert len(secrets) > 20 and leaked(SOLUTION, secrets)  # the search finds them there
    found = {f: leaked(bundle / f, secrets) for f in files_of(bundle)}
    assert {f: lines for f, lines in found.items() if lines} == {}


def test_an_existing_bundle_needs_force(built):
    out, _ = built
    with pytest.raises(subprocess.CalledProcessError) as refused:
        build_bundle(out)
    assert "--force" in refused.value.stdout
    build_bundle(out, "--force")


def test_the_solution_gets_full_marks(built, python, tmp_path):
    _, bundle = built
    repo = checkout(tmp_path, SOLUTION.read_bytes())
    run = run_bundle(bundle, repo, python)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = valid(repo)
    assert doc["score"] == doc["max-score"] == DIGIT_TOTAL
    assert len(doc["tests"]) == len(DIGIT_TESTS)
    assert doc["submission"].startswith("submit/") and doc["classroom"] == "cs101"
    body = readable((repo / "release-body.md").read_text())
    assert f"{DIGIT_TOTAL}/{DIGIT_TOTAL}" in body and "`test_training_accuracy`" in body
    assert "hidden tests" in body.lower()


def test_edited_tests_are_restored_and_the_release_scores_zero(built, python, tmp_path):
    """The blank release with every test cell emptied: the bundle runs the released tests."""
    _, bundle = built
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and \
                not cell.metadata.nbgrader.get("solution"):
            cell.source = "pass"
    repo = checkout(tmp_path, nbformat.writes(nb).encode())
    run = run_bundle(bundle, repo, python)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = valid(repo)
    assert doc["score"] == 0 and doc["max-score"] == DIGIT_TOTAL
    assert not any(t["passed"] for t in doc["tests"])
    body = readable((repo / "release-body.md").read_text())
    assert body.count("not implemented yet") >= 3  # each test's own message, not a bare fail


def test_a_broken_notebook_gets_zero_with_the_reason(built, python, tmp_path):
    _, bundle = built
    repo = checkout(tmp_path, b'{"cells": [ truncated')
    run = run_bundle(bundle, repo, python)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = valid(repo)
    assert doc["score"] == 0 and len(doc["tests"]) == len(DIGIT_TESTS)
    assert "not valid notebook JSON" in readable((repo / "release-body.md").read_text())


def test_without_the_runners_variables_nothing_is_published(built, python, tmp_path):
    _, bundle = built
    repo = checkout(tmp_path, RELEASE.read_bytes())
    run = run_bundle(bundle, repo, python, SUBMISSION_TAG="")
    assert run.returncode != 0 and "SUBMISSION_TAG" in run.stderr
    assert not (repo / "result.json").exists()


def test_a_missing_notebook_is_graded_zero(built, python, tmp_path):
    _, bundle = built
    repo = checkout(tmp_path, b"")
    shutil.rmtree(repo / "assignments")
    run = run_bundle(bundle, repo, python)
    assert run.returncode == 0, run.stderr[-2000:]
    assert valid(repo)["score"] == 0
    assert "no notebook" in (repo / "release-body.md").read_text()
