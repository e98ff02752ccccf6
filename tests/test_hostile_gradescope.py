"""The hostile-file and hidden-text attacks on Gradescope's route: the zip built by
`python -m autograder gradescope`, installed as /autograder is laid out
(tests/platform_local.py) and run as Gradescope runs it, with the real assignment.

The attacks' success without the protections is shown on `grade`, in this process, in
test_hostile_links.py and test_hostile_hidden.py (the same pipeline); here a student's
results.json must show neither a forged score nor a hidden line.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from platform_local import build_zip, install, run_autograder, submit

from autograder.grader.sandbox.isolation import isolation_problem

from helpers import DIGIT_TESTS, DIGIT_TOTAL, NOTEBOOK_NAME, RELEASE, SOLUTION, secret_lines

pytestmark = [
    pytest.mark.slow,  # installs the zip, grades the real notebook
    pytest.mark.skipif(isolation_problem() is not None,
                       reason=f"no sandbox here: {isolation_problem()}"),
]
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json")
                    .read_text())


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    zip_path = build_zip(tmp_path_factory.mktemp("gradescope-zip") / "autograder.zip")
    base = Path(tempfile.mkdtemp(prefix="gradescope-root-"))  # the sandbox's uid passes
    yield install(zip_path, base)
    shutil.rmtree(base, ignore_errors=True)


def forged() -> bytes:
    """The blank release, uploaded with every test cell claiming 1000 points, run and
    passed, and a first cell that links the executed notebook to this very upload (as the
    grader sees it: /proc/self/cwd is /autograder for run_autograder, the sandbox inside
    the jail, where the same folder makes the runner's write succeed)."""
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 1000
            cell.execution_count = 1
            cell.outputs = []
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import os\nos.makedirs('submission', exist_ok=True)\n"
        f"os.symlink('/proc/self/cwd/submission/{NOTEBOOK_NAME}', 'executed.ipynb')"))
    return nbformat.writes(nb).encode()


def history_raiser() -> bytes:
    """The solution, with my_relu raising the hidden part of the test cell that calls it
    (In[-1]) as its failure message, on one line (a message is cut at 500 characters)."""
    nb = nbformat.read(SOLUTION, as_version=4)
    cell = next(c for c in nb.cells if "def my_relu" in c.source)
    cell.source = ("def my_relu(z):\n"
                   "    cell = get_ipython().user_ns['In'][-1]\n"
                   "    hidden = cell.split('BEGIN ' + 'HIDDEN TESTS', 1)[-1]\n"
                   "    raise AssertionError(' | '.join(hidden.splitlines()))")
    return nbformat.writes(nb).encode()


def test_an_upload_linked_as_its_own_run_scores_what_the_release_scores(root):
    submit(root, {NOTEBOOK_NAME: forged()})
    doc = run_autograder(root)
    jsonschema.validate(doc, SCHEMA)
    # main graded the upload's own cells: 1000 points a test
    assert doc["score"] == 0, doc
    # each test is worth what the source notebook says, not the upload's 1000
    assert {t["name"]: t["max_score"] for t in doc["tests"]} == DIGIT_TESTS, doc["tests"]
    assert all(t["status"] == "failed" for t in doc["tests"])


def test_a_failure_message_never_carries_hidden_test_lines(root):
    submit(root, {NOTEBOOK_NAME: history_raiser()})
    doc = run_autograder(root)
    jsonschema.validate(doc, SCHEMA)
    relu = next(t for t in doc["tests"] if t["name"] == "test_my_relu")
    assert relu["score"] == 0 and "[hidden test text removed]" in relu["output"], relu
    shown = json.dumps(doc)
    assert [line for line in secret_lines() if line in shown] == []
    # the rest of the solution, graded as usual
    assert doc["score"] == DIGIT_TOTAL - relu["max_score"]
