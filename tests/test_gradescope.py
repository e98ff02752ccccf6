"""The Gradescope autograder: the zip `python -m autograder gradescope` builds, installed into
a folder laid out like /autograder (tests/platform_local.py) and run as Gradescope runs it.
Every results.json is validated against a JSON Schema written from Gradescope's documented
fields (tests/schemas/gradescope_results.schema.json)."""

import json
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from platform_local import (
    build_zip,
    cgroup_or_none,
    evict_page_cache,
    install,
    readable_python,
    run_autograder,
    submit,
)

from autograder.cli import build_parser
from autograder.grader.course import Course
from autograder.grader.platforms import gradescope, gradescope_run
from autograder.grader.platforms.gradescope_settings import (
    DEFAULT_VISIBILITY,
    VISIBILITIES,
    Settings,
)
from autograder.grader.sandbox.isolation import isolation_problem
from autograder.records import SubmissionResult, TestResult

from helpers import (
    ASSIGNMENT_ID,
    DIGIT_TESTS,
    DIGIT_TOTAL,
    NOTEBOOK_NAME,
    RELEASE,
    ROOT,
    SOLUTION,
)

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json")
                    .read_text())


def valid(doc: dict) -> dict:
    jsonschema.validate(doc, SCHEMA)
    assert doc["score"] <= sum(t["max_score"] for t in doc["tests"]) or not doc["tests"]
    return doc


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    return build_zip(tmp_path_factory.mktemp("gradescope-zip") / "autograder.zip")


@pytest.fixture(scope="module")
def root(zip_path):
    # Not under pytest's folders (closed to other users): as /autograder, every folder on
    # the way must let the sandbox's uid through.
    base = Path(tempfile.mkdtemp(prefix="gradescope-root-"))
    yield install(zip_path, base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow  # builds or installs the zip
def test_zip_has_the_scripts_at_its_root_and_the_course_beside_them(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        requirements = archive.read("requirements.txt").decode().splitlines()
        source = archive.read("course/solutions/digit_recognition/digit_recognition.ipynb")
        settings = json.loads(archive.read("gradescope.json"))
    assert {"setup.sh", "run_autograder", "requirements.txt", "gradescope.json",
            "gradebook.db", "course/nbgrader_config.py", "course/autograder/cli.py",
            "course/digit_helpers/digits.npz"} <= names
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    pins = [line for line in requirements if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    assert any(line.startswith(("tensorflow_cpu==", "tensorflow-cpu==")) for line in pins)
    assert any(line.startswith("nbgrader==") for line in pins)
    # The hidden tests are in the zip (it is the instructor's), the sandbox keeps them hidden.
    assert b"BEGIN HIDDEN TESTS" in source
    assert settings["visibility"] == DEFAULT_VISIBILITY
    assert zip_path.stat().st_size < 10 * 2**20


def test_the_visibility_flag_takes_gradescope_names_only(tmp_path):
    parser = build_parser()
    for name in VISIBILITIES:
        assert parser.parse_args(["gradescope", "a.zip", "--visibility", name]).visibility == name
    with pytest.raises(SystemExit):
        parser.parse_args(["gradescope", "a.zip", "--visibility", "sometimes"])
    with pytest.raises(ValueError, match="visibility"):
        gradescope.build(tmp_path / "a.zip", Course(ROOT, None, ASSIGNMENT_ID), "sometimes")
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.slow  # builds or installs the zip
def test_no_notebook_is_reported_not_crashed(root):
    submit(root, {"README.md": b"my answers are in my head"})
    doc = valid(run_autograder(root))
    assert doc["score"] == 0 and len(doc["tests"]) == 1
    assert "no notebook found" in doc["tests"][0]["output"]
    assert doc["tests"][0]["visibility"] == "visible"  # the student must see this at once


@pytest.mark.slow  # builds or installs the zip
def test_several_notebooks_are_reported(root):
    submit(root, {"a.ipynb": RELEASE.read_bytes(), "b.ipynb": RELEASE.read_bytes()})
    doc = valid(run_autograder(root))
    assert doc["score"] == 0 and len(doc["tests"]) == 1
    assert "several notebooks" in doc["tests"][0]["output"]


@pytest.mark.slow  # builds or installs the zip
def test_a_malformed_notebook_is_reported(root):
    submit(root, {NOTEBOOK_NAME: b'{"cells": [ this is not json'})
    doc = valid(run_autograder(root))
    assert doc["score"] == 0 and len(doc["tests"]) == 1
    assert doc["tests"][0]["status"] == "failed" and doc["tests"][0]["output"].strip("`\n")


@pytest.mark.slow  # builds or installs the zip
def test_too_little_memory_asks_for_more_instead_of_failing_mysteriously(root):
    doc = valid(gradescope_run.run(root, limit=512 * 2**20))
    assert doc["score"] == 0
    needed = Settings.load(root / "source" / "gradescope.json").memory_needed_mb
    assert f"at least {needed} MB" in doc["output"] and "512 MB" in doc["output"]


def test_each_test_says_its_result_in_words_in_the_notebooks_order():
    """Gradescope shows a test's status by colour: its output says it in words too, with
    its points, then its message verbatim; a message that only says "passed" is left out."""
    tests = {"test_my_relu": TestResult(10, 10, "passed"),
             "test_my_softmax": TestResult(0, 15, "AssertionError: ```rows``` sum to 2"),
             "test_loss_from_logits": TestResult(5, 10, "partial credit: 5 of 10 points")}
    doc = valid(gradescope_run.results(SubmissionResult.of_tests("s", tests), Settings(),
                                       1.0, []))
    assert [t["name"] for t in doc["tests"]] == list(tests)  # as given: the notebook's order
    assert [t["output"] for t in doc["tests"]] == [
        "✅ passed: 10/10 points",
        "❌ failed: 0/15 points\n\n````\nAssertionError: ```rows``` sum to 2\n````",
        "❌ failed: 5/10 points\n\n```\npartial credit: 5 of 10 points\n```"]
    broken = valid(gradescope_run.results(
        SubmissionResult.of_tests("s", tests, error="not valid notebook JSON"), Settings(),
        1.0, []))
    assert broken["tests"][0]["output"].startswith(
        "❌ failed: your submission could not be graded.\n\n```\nnot valid notebook JSON")
    nothing = valid(gradescope_run.problem("no memory", 1.0))
    assert nothing["tests"][0]["output"].startswith("❌ failed: nothing was graded.")


def test_container_memory_is_read_from_this_process_cgroup(tmp_path):
    v2 = tmp_path / "v2"
    (v2 / "grading").mkdir(parents=True)
    (v2 / "grading" / "memory.max").write_text(f"{768 * 2**20}\n")
    (v2 / "grading" / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "v2.procs").write_text("0::/grading\n")
    assert gradescope_run.container_memory(v2, tmp_path / "v2.procs") == 768 * 2**20
    (v2 / "grading" / "memory.max").write_text("max\n")
    assert gradescope_run.container_memory(v2, tmp_path / "v2.procs") is None
    v1 = tmp_path / "v1"
    (v1 / "memory" / "docker" / "abc").mkdir(parents=True)
    (v1 / "memory" / "docker" / "abc" / "memory.limit_in_bytes").write_text(f"{2**31}\n")
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (tmp_path / "v1.procs").write_text("4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n")
    assert gradescope_run.container_memory(v1, tmp_path / "v1.procs") == 2**31
    (tmp_path / "root.procs").write_text("4:memory:/\n")
    assert gradescope_run.container_memory(v1, tmp_path / "root.procs") is None
    assert gradescope_run.container_memory(tmp_path / "none", tmp_path / "none.procs") is None


@pytest.mark.slow
def test_the_solution_gets_full_marks_in_gradescopes_default_container(root):
    """Half a CPU and 768 MB, as Gradescope's default machine, Python's and the course's
    files not yet in the page cache (as in a fresh container), the notebook's memory counted
    by PSS (as where the container's cgroups are read-only; bench/bench_platforms.py
    measures both ways). Without limits where this machine can make no cgroup."""
    submit(root, {NOTEBOOK_NAME: SOLUTION.read_bytes()})
    container = cgroup_or_none(f"test-gradescope-{os.getpid()}", 768 * 2**20)
    try:
        if container:
            evict_page_cache(Path(sys.prefix), Path(sys.base_prefix), root)
        doc = valid(run_autograder(root, container, AUTOGRADER_MEMORY="pss"))
    finally:
        if container:
            container.remove()
    assert doc["score"] == DIGIT_TOTAL
    assert [t["name"] for t in doc["tests"]] == list(DIGIT_TESTS)  # the notebook's order
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in doc["tests"])
    assert all(t["output"].startswith("✅ passed: ") for t in doc["tests"])
    assert {t["visibility"] for t in doc["tests"]} == {DEFAULT_VISIBILITY}
    assert all(t["output_format"] == "md" for t in doc["tests"])


@pytest.mark.slow
def test_the_blank_release_gets_zero_with_a_reason_per_test(root):
    submit(root, {"work/" + NOTEBOOK_NAME: RELEASE.read_bytes()})
    doc = valid(run_autograder(root))
    assert doc["score"] == 0
    assert len(doc["tests"]) == len(DIGIT_TESTS)
    assert all(t["status"] == "failed" for t in doc["tests"])
    assert all(len(t["output"].strip("`\n")) > 10 for t in doc["tests"])
    assert all(t["output"].startswith("❌ failed: 0/") for t in doc["tests"])


def _thief(root: Path) -> bytes:
    """The release with my_relu raising what it can read of the notebooks under ``root``
    (``/autograder`` on Gradescope)."""
    nb = nbformat.read(RELEASE, as_version=4)
    cell = next(c for c in nb.cells if "def my_relu" in c.source)
    cell.source = (
        "def my_relu(z):\n"
        "    import glob\n"
        "    text = ''\n"
        f"    for path in glob.glob({str(root)!r} + '/**/*.ipynb', recursive=True):\n"
        "        try:\n"
        "            text += open(path).read()\n"
        "        except OSError:\n"
        "            pass\n"
        "    at = text.find('BEGIN ' + 'HIDDEN TESTS')  # not in this cell's own text\n"
        "    # reversed: the grader redacts hidden lines as written, not every encoding\n"
        "    raise AssertionError('LOOT ' + text[at:at + 300].replace('\\n', ' ')[::-1])\n")
    return nbformat.writes(nb).encode()


@pytest.mark.slow
@pytest.mark.skipif(isolation_problem() is not None, reason=f"{isolation_problem()}")
@pytest.mark.parametrize("mode", ["off", "namespaces", "uid"])
def test_student_code_cannot_read_the_hidden_tests(root, mode):
    if mode == "uid" and readable_python() is None:
        pytest.skip("no Python here that another uid can run")
    submit(root, {NOTEBOOK_NAME: _thief(root)})
    doc = valid(run_autograder(root, AUTOGRADER_ISOLATION=mode))
    relu = next((t for t in doc["tests"] if t["name"] == "test_my_relu"), doc)
    assert "LOOT" in relu["output"]  # the attack ran
    stolen = "BEGIN HIDDEN TESTS"[::-1] in relu["output"]
    assert stolen is (mode == "off"), relu["output"]
