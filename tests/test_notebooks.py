"""The instructor notebooks, the student releases generated from them, and their test cells,
for both assignments (digit_recognition and digit_recognition_binary).

Static checks read the committed notebooks. The slow checks execute notebooks in real
Jupyter kernels: each solution (every test cell passes, nothing on stderr but the
assignment's declared library noise), each release (every test cell fails with a "not
implemented yet" message) and, for digit_recognition, a notebook of alternative correct
answers and typical mistakes run against the real test cells. The checks common to both
take the fixture ``spec`` (or ``executed``, ``executed_release``) and run once per
assignment; each assignment's own teaching checks follow in sections of their own.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.utils import determine_grade, is_grade

from autograder.grader import gradebook
from autograder.grader.assignments import load
from autograder.grader.reference import run_notebook, run_solution
from autograder.student import verdicts

from helpers import (
    ASSIGNMENT_ID,
    BINARY_ID,
    BINARY_RELEASE,
    BINARY_SOLUTION,
    BINARY_TESTS,
    BINARY_TOTAL,
    DIGIT_TESTS,
    DIGIT_TOTAL,
    RELEASE,
    ROOT,
    SOLUTION,
    quiet_free_env,
)


@dataclass(frozen=True)
class Spec:
    """What the common checks need to know of one assignment's notebooks."""

    id: str
    solution: Path
    release: Path
    tests: dict  # grade id -> points of each autograded test cell (helpers.*_TESTS)
    total: int | float
    answers: frozenset  # answer cells the checks below name
    functions: dict  # answer cells that define a function -> their first line
    epochs: int  # what the training cell runs
    figures: dict = field(default_factory=dict)  # cell -> PNGs the solution's run shows


SPECS = {
    ASSIGNMENT_ID: Spec(
        ASSIGNMENT_ID, SOLUTION, RELEASE, DIGIT_TESTS, DIGIT_TOTAL,
        answers=frozenset({"my_relu", "my_softmax", "model", "compile"}),
        functions={"my_relu": "def my_relu(z):", "my_softmax": "def my_softmax(z):"},
        epochs=40,
        figures={"relu_plot": 1, "softmax_plot": 1, "network_plot": 1,
                 "accuracy": 2},  # misclassified digits and confusion matrix
    ),
    BINARY_ID: Spec(
        BINARY_ID, BINARY_SOLUTION, BINARY_RELEASE, BINARY_TESTS, BINARY_TOTAL,
        answers=frozenset({"model", "my_dense", "my_dense_v"}),
        functions={"my_dense": "def my_dense(a_in, W, b, g):",
                   "my_dense_v": "def my_dense_v(A_in, W, b, g):"},
        epochs=20,
        figures={"data": 1, "sigmoid_plot": 1, "network_plot": 1, "loss_plot": 1,
                 "accuracy": 3},  # a sample predicted, the misclassified, confusion matrix
    ),
}
STUB = 'raise NotImplementedError("not implemented yet: write your code here")'
MARKERS = {
    "solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
    "hidden": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
}


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def cell_by_id(nb) -> dict:
    return {grade_id(cell): cell for cell in nb.cells if grade_id(cell)}


def solution_ids(nb) -> list[str]:
    """The answer cells, in notebook order, as the nbgrader metadata declares them."""
    return [grade_id(c) for c in nb.cells if nbgrader_meta(c).get("solution")]


def errors(cell) -> list:
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def stderr_text(cell) -> str:
    return "".join(
        out.text for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stderr"
    )


def stdout_text(cell) -> str:
    return "".join(
        out.text for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stdout"
    )


def pngs(cell) -> list:
    return [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


def describe(cell) -> str:
    """The cell's errors and stderr, for assertion messages."""
    parts = [f"{e.ename}: {e.evalue}" for e in errors(cell)]
    if stderr_text(cell):
        parts.append("stderr: " + stderr_text(cell))
    return "; ".join(parts) or "no error, no stderr"


def split_regions(source: str) -> tuple[list[str], list[str]]:
    """(lines inside solution/hidden-test regions, lines outside), stripped."""
    inside, outside, depth = [], [], 0
    begins = {begin for begin, _ in MARKERS.values()}
    ends = {end for _, end in MARKERS.values()}
    for line in source.splitlines():
        text = line.strip()
        if text in begins:
            depth += 1
        elif text in ends:
            depth -= 1
        elif text:
            (inside if depth else outside).append(text)
    return inside, outside


def markdown_text(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def blocks(markdown: str) -> list[str]:
    """The fenced blocks of a markdown cell: what the student should see."""
    return re.findall(r"```\n(.*?)\n```", markdown, re.S)


@pytest.fixture(scope="module", params=list(SPECS))
def spec(request) -> Spec:
    return SPECS[request.param]


@pytest.fixture(scope="module")
def source_nb(spec):
    return nbformat.read(spec.solution, as_version=4)


@pytest.fixture(scope="module")
def release_nb(spec):
    return nbformat.read(spec.release, as_version=4)


@pytest.fixture(scope="module")
def digit_nb():
    return nbformat.read(SOLUTION, as_version=4)


@pytest.fixture(scope="module")
def binary_nb():
    return nbformat.read(BINARY_SOLUTION, as_version=4)


# --------------------------------------------------------------------------- static checks


@pytest.mark.parametrize("kind", ["source", "release"])
def test_notebook_is_committed_without_outputs(spec, kind):
    path = spec.solution if kind == "source" else spec.release
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    dirty = [grade_id(c) for c in code if c.outputs or c.execution_count is not None]
    assert dirty == [], f"{path.name}: cells with outputs or execution counts: {dirty}"


def test_source_metadata_is_valid_nbgrader_schema_3(source_nb):
    nbformat.validate(source_nb)
    MetadataValidator().validate_nb(source_nb)  # nbgrader's own check, raises if invalid
    assert source_nb.metadata.kernelspec.name == "python3"
    assert (source_nb.nbformat, source_nb.nbformat_minor) >= (4, 5)  # cells carry ids
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        assert meta.get("schema_version") == 3, cell.source[:60]
        assert meta.get("grade_id"), cell.source[:60]
        assert cell.id == meta["grade_id"]
        if cell.cell_type == "markdown":
            assert meta["locked"] and not meta["grade"] and not meta["solution"], cell.id


def test_grade_ids_points_and_roles(spec, source_nb):
    """Every grade cell is an autograded test worth points, answers are unlocked code and
    everything else is locked; the points table students read lists each test."""
    assert spec.answers <= set(solution_ids(source_nb))  # the cells named by the checks
    graded = {grade_id(c): nbgrader_meta(c)["points"] for c in source_nb.cells if is_grade(c)}
    assert graded == spec.tests  # every grade cell is an autograded test
    assert all(isinstance(p, int | float) and p > 0 for p in graded.values()), graded
    # The points table students read (howto_md) lists every test, in notebook order, with
    # its points, and a total that is their sum.
    howto = cell_by_id(source_nb)["howto_md"].source
    assert howto.startswith("## How this notebook works\n")
    table = re.findall(r"^\| `(test_\w+)` \| ([\d.]+) \|$", howto, re.M)
    assert [(gid, float(p)) for gid, p in table] == [(g, float(p)) for g, p in graded.items()]
    total = re.findall(r"^\| \*\*total\*\* \| \*\*([\d.]+)\*\* \|$", howto, re.M)
    assert [float(t) for t in total] == [sum(graded.values())] == [spec.total]
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta["solution"]:
            assert cell.cell_type == "code" and not meta["grade"] and not meta["locked"]
            assert "points" not in meta
        elif meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"]
        else:
            assert meta["locked"], f"{cell.id}: given cells are locked"


def test_every_test_cell_follows_what_it_tests(spec, source_nb):
    """What a test cell tests: the solution cells its messages call "not implemented yet"
    (e.g. "my_relu is not implemented yet"); and the accuracy test tests the training."""
    order = [grade_id(c) for c in source_nb.cells]
    cells = cell_by_id(source_nb)
    for test in spec.tests:
        targets = set(re.findall(r"(\w+) is not implemented yet", cells[test].source))
        targets &= set(solution_ids(source_nb))
        assert targets, f"{test}: no message names the solution cell it tests"
        for target in targets:
            assert order.index(test) > order.index(target), (test, target)
    assert order.index("test_training_accuracy") > order.index("train")


def test_solution_cells_wrap_the_answer_in_markers(spec, source_nb):
    """One pair of solution markers per answer, around a non-empty answer; in a function,
    inside its body, below the docstring the release keeps."""
    cells = cell_by_id(source_nb)
    begin, end = MARKERS["solution"]
    for gid in solution_ids(source_nb):
        source = cells[gid].source
        assert source.count(begin) == 1 and source.count(end) == 1, gid
        assert source.index(begin) < source.index(end), gid
        inside, _ = split_regions(source)
        assert inside, f"{gid}: empty solution"
    for gid, first_line in spec.functions.items():
        source = cells[gid].source
        assert source.startswith(first_line + "\n"), gid
        assert '"""' in source.split(begin)[0], f"{gid}: the docstring stays visible"
        assert f"    {begin}" in source, f"{gid}: markers belong inside the function body"


def test_every_test_cell_has_visible_and_hidden_tests(spec, source_nb):
    cells = cell_by_id(source_nb)
    begin, end = MARKERS["hidden"]
    for gid in spec.tests:
        source = cells[gid].source
        assert source.count(begin) == 1 and source.count(end) == 1, gid
        visible, hidden = source.split(begin)
        assert "assert" in visible and "assert" in hidden, gid
        assert "public tests passed" in visible, f"{gid}: the visible part reports success"


def test_the_outline_links_every_section(source_nb):
    """Jupyter gives a heading the id of its text with spaces as dashes; the outline links
    there, in order, so every link lands on its section (each one after the outline)."""
    after = [c for c in source_nb.cells[source_nb.cells.index(
        cell_by_id(source_nb)["outline_md"]) + 1:] if c.cell_type == "markdown"]
    headings = [line[3:].strip() for c in after for line in c.source.splitlines()
                if line.startswith("## ")]
    outline = cell_by_id(source_nb)["outline_md"].source
    targets = re.findall(r"\]\(#([^)]+)\)", outline)
    assert len(targets) >= 5
    assert targets == [h.replace(" ", "-") for h in headings]
    assert all(re.fullmatch(r"[\w-]+", t) for t in targets), "no punctuation in the anchors"


NOTEBOOKS = sorted([*ROOT.glob("solutions/*/*.ipynb"), *ROOT.glob("assignments/*/*.ipynb")])
# Link text that does not name its target: a screen reader's list of links reads it alone.
VAGUE = {"here", "click here", "this", "this link", "this page", "link", "more", "read more",
         "page", "see here"}
URL = re.compile(r"(https?://|www\.)\S+")


def outline_of(nb) -> tuple[list[tuple[int, str]], list[tuple[str, str]], list[str]]:
    """The markdown cells read as markdown: (headings as (level, text), links as (text,
    target), URLs written bare), in order; fenced code is not markdown."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("table")
    headings, links, bare = [], [], []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        tokens = parser.parse(cell.source)
        for k, token in enumerate(tokens):
            if token.type == "heading_open":
                headings.append((int(token.tag[1]), tokens[k + 1].content))
            if token.type != "inline":
                continue
            target = None
            for child in token.children:
                if child.type == "link_open":
                    target, text = str(child.attrs["href"]), ""
                elif child.type == "link_close":
                    links.append((text.strip(), target))
                    target = None
                elif target is not None:
                    text += child.content
                elif child.type == "text":
                    bare += [m[0] for m in URL.finditer(child.content)]
    return headings, links, bare


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_headings_never_skip_a_level_and_links_name_their_target(path):
    """Screen readers list a page's headings and its links: the headings go down one level at
    a time (h1, then h2, ...), from one h1; each link's text says where it goes (not "here",
    not a bare address) and a link within the notebook lands on one of its headings."""
    headings, links, bare = outline_of(nbformat.read(path, as_version=4))
    assert headings and headings[0][0] == 1
    assert [level for level, _ in headings].count(1) == 1, headings
    skips = [(a, b) for a, b in pairwise(headings) if b[0] > a[0] + 1]
    assert skips == [], f"a heading skips a level after the one before it: {skips}"
    anchors = {text.replace(" ", "-") for _, text in headings}
    for text, target in links:
        assert text.lower().rstrip(".:") not in VAGUE and not URL.fullmatch(text) and text, (
            f"link text {text!r} does not name its target {target}")
        if target.startswith("#"):
            assert target[1:] in anchors, f"{target} is no heading of the notebook"
    assert bare == [], "name the target of an address in a link's text: [its name](address)"


@pytest.mark.parametrize("kind", ["source", "release"])
def test_test_cells_are_folded_locked_and_graded(spec, kind):
    """A test cell's code (30 to 60 lines of asserts) is folded away in Jupyter
    (``metadata.jupyter.source_hidden``), so that the notebook reads as its exercises; it
    stays a locked, graded cell, run as any other. The release keeps the fold."""
    nb = nbformat.read(spec.solution if kind == "source" else spec.release, as_version=4)
    folded = {grade_id(c) for c in nb.cells if c.metadata.get("jupyter", {}).get("source_hidden")}
    assert folded == set(spec.tests)
    for gid in spec.tests:
        cell = cell_by_id(nb)[gid]
        assert cell.metadata.jupyter == {"source_hidden": True}
        assert nbgrader_meta(cell)["locked"] and nbgrader_meta(cell)["grade"]
        assert nbgrader_meta(cell)["points"] == spec.tests[gid]


STALE = "assignments/ is stale: run `make release` (nbgrader generate_assignment)"


def test_release_is_what_nbgrader_generates(spec, tmp_path, empty_gradebook):
    """nbgrader's GenerateAssignment in this process, configured as the grader configures it
    (the repository's nbgrader_config.py); the CLI itself is run in the slow test below."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    from autograder.assignment import METADATA_KEY
    from autograder.grader.course import Course
    from autograder.grader.release_check import CheckedRelease

    # The whole assignment folder: CheckedRelease (first of nbgrader_config.py's
    # GenerateAssignment preprocessors) reads its grading.py.
    shutil.copytree(spec.solution.parent, tmp_path / "solutions" / spec.id)
    shutil.copyfile(empty_gradebook, tmp_path / "gradebook.db")
    config = Course(tmp_path).nbgrader_config()
    assert config.GenerateAssignment.preprocessors[0] is CheckedRelease
    config.CourseDirectory.assignment_id = spec.id
    app = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    app.force = True
    app.create_assignment = True
    result = capture_log(app)
    assert result["success"], result.get("error", "") + result.get("log", "")
    generated = nbformat.read(tmp_path / "assignments" / spec.id / spec.release.name,
                              as_version=4)
    assert generated == nbformat.read(spec.release, as_version=4), STALE
    # stamped by CheckedRelease with what the student's check may know of the assignment
    public = json.loads(json.dumps(Course(tmp_path).assignment.public()))
    assert generated.metadata[METADATA_KEY] == public
    assert public["id"] == spec.id


@pytest.mark.slow  # the nbgrader command starts slowly (~17 s: imports, `alembic heads`)
def test_nbgrader_command_generates_the_same_release(spec, tmp_path):
    """What `make release` runs: the nbgrader command, from a folder holding the config."""
    shutil.copytree(spec.solution.parent, tmp_path / "solutions" / spec.id)  # with grading.py
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    result = subprocess.run(
        [str(bin_dir / "nbgrader"), "generate_assignment", spec.id, "--force",
         "--db", f"sqlite:///{tmp_path / 'gb.db'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    generated = tmp_path / "assignments" / spec.id / spec.release.name
    assert nbformat.read(generated, as_version=4) == nbformat.read(spec.release,
                                                                   as_version=4), STALE
    # nbgrader stamped its new gradebook by running `alembic heads`; the grader reads the
    # same head in its own process (autograder/grader/gradebook.py).
    assert alembic_version(tmp_path / "gb.db") == [gradebook.alembic_head()]


def alembic_version(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def test_release_leaks_no_solution_and_no_hidden_test(source_nb, release_nb):
    secret, public = set(), set()
    for cell in source_nb.cells:
        inside, outside = split_regions(cell.source)
        secret.update(inside)
        public.update(outside)
    secret -= public  # lines such as ")" also occur in visible code
    assert len(secret) > 50
    release_lines = {line.strip() for c in release_nb.cells for line in c.source.splitlines()}
    assert not secret & release_lines, sorted(secret & release_lines)
    text = "\n".join(c.source for c in release_nb.cells)
    assert "### BEGIN" not in text and "### END" not in text


def test_release_keeps_the_cells_and_stubs_the_solutions(spec, source_nb, release_nb):
    assert [grade_id(c) for c in release_nb.cells] == [grade_id(c) for c in source_nb.cells]
    source_cells, release_cells = cell_by_id(source_nb), cell_by_id(release_nb)
    for gid in solution_ids(source_nb):
        assert STUB in release_cells[gid].source, gid
    for gid, first_line in spec.functions.items():
        assert release_cells[gid].source.startswith(first_line + "\n"), gid
    for gid in spec.tests:
        visible = source_cells[gid].source.split(MARKERS["hidden"][0])[0].rstrip()
        assert release_cells[gid].source.rstrip() == visible, gid
        assert nbgrader_meta(release_cells[gid])["points"] == spec.tests[gid]


# ------------------------------------------------------------- the setup cell

QUIET_IMPORT = "\nwith quiet_tensorflow():  # TensorFlow's start-up log lines stay off the page\n" \
    "    import tensorflow as tf\n"
ABSL_PREAMBLE = ("WARNING: All log messages before absl::InitializeLog() is called are written "
                 "to STDERR\n")
ONEDNN = ("I0000 00:00:1796513803.685058    3483 port.cc:153] oneDNN custom operations are on. "
          "You may see slightly different numerical results due to floating-point round-off "
          "errors from different computation orders. To turn them off, set the environment "
          "variable `TF_ENABLE_ONEDNN_OPTS=0`.\n")
CPU_GUARD = ("2025-09-17 14:44:05.157831: I tensorflow/core/platform/cpu_feature_guard.cc:210] "
             "This TensorFlow binary is optimized to use available CPU instructions.\n"
             "To enable the following instructions: AVX2 FMA, in other operations, rebuild "
             "TensorFlow with the appropriate compiler flags.\n")
CUDNN = ("E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN "
         "factory: Attempting to register factory for plugin cuDNN when one has already been "
         "registered\n")
FATAL = "F0000 00:00:1.5 1 port.cc:1] the end\n"


@pytest.mark.parametrize(("level", "kept"), [
    ("3", FATAL + "a line of the student's\n"), ("2", CUDNN + FATAL + "a line of the student's\n"),
    ("0", ABSL_PREAMBLE + ONEDNN + CPU_GUARD + CUDNN + FATAL + "a line of the student's\n"),
    ("x", ABSL_PREAMBLE + ONEDNN + CPU_GUARD + CUDNN + FATAL + "a line of the student's\n"),
], ids=["3", "2", "0", "not a level"])
def test_quiet_tensorflow_drops_the_records_its_level_hides(tmp_path, level, kept):
    """What TensorFlow 2.21 writes to file descriptor 2 at its import (C++, past Python's
    sys.stderr), which TF_CPP_MIN_LOG_LEVEL=3 does not stop: in the block, caught; after
    it, the records the level hides dropped (a record's second line with it) and the rest
    written to sys.stderr. Run in a process of its own: the test holds its descriptor 2."""
    code = ("import os, sys\n"
            "from digit_helpers import quiet_tensorflow\n"
            "with quiet_tensorflow():\n"
            f"    os.write(2, {(ABSL_PREAMBLE + ONEDNN + CPU_GUARD + CUDNN + FATAL).encode()!r})\n"
            "    os.write(2, b\"a line of the student's\\n\")\n"
            "    os.write(1, b'out\\n')\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": level}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == kept
    assert proc.stdout == f"out\n{level}\n"
    env.pop("TF_CPP_MIN_LOG_LEVEL")  # unset: quiet_tensorflow sets it to 3
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert (proc.stderr, proc.stdout) == (FATAL + "a line of the student's\n", "out\n3\n")


# ------------------------------------------------------------- digit_recognition, statically


def test_instructions_state_the_requirements(digit_nb):
    markdown = markdown_text(digit_nb)
    assert "0.95" in markdown and "95 %" in markdown
    assert "0.95" in cell_by_id(digit_nb)["test_training_accuracy"].source
    assert "[1000.0, 1001.0]" in markdown and "subtract the maximum" in markdown
    assert "hidden tests" in markdown.lower() and "public tests" in markdown.lower()
    assert "from_logits=True" in markdown
    # TensorFlow is imported quietly (its start-up log lines kept off the page)
    assert QUIET_IMPORT in cell_by_id(digit_nb)["setup"].source
    train = cell_by_id(digit_nb)["train"].source
    assert "set_random_seed(1234)" in train and "enable_op_determinism()" in train
    assert "epochs=40" in train and "history = model.fit(" in train
    # the same Adam steps, bit for bit, at half the CPU (bench/README.md)
    assert "model.steps_per_execution = 32" in train


def test_the_shape_rule_and_the_figures_sit_beside_their_exercises(digit_nb):
    order = [grade_id(c) for c in digit_nb.cells]
    cells = cell_by_id(digit_nb)
    assert order.index("relu_plot") < order.index("my_relu")
    assert order.index("test_softmax_stability") < order.index("softmax_plot") < order.index(
        "logits_md")  # it draws the student's own my_softmax
    assert order.index("network_plot") < order.index("model")
    assert order.index("test_model_activations") < order.index("weights") < order.index("compile")
    assert cells["relu_plot"].source == "plot_relu();"
    assert "plot_softmax(z, my_softmax(z))" in cells["softmax_plot"].source
    assert cells["network_plot"].source == "plot_network();"
    assert cells["weights"].source == "print(layer_table(model))"
    rule = cells["model_md"].source
    assert "`W` have shape $(s_{in}, s_{out})$" in rule and "shape $(s_{out},)$" in rule


# ------------------------------------------------------ digit_recognition_binary, statically


def test_binary_instructions_state_the_requirements(binary_nb):
    """The markdown states what the tests and grading.py's model require: 25-15-1 sigmoid,
    BinaryCrossentropy without logits, Adam 0.001, at least 95 % on the training digits; the
    training cell is seeded, deterministic, 20 epochs."""
    model = load(ROOT, BINARY_ID).model
    assert (model.units, model.activations) == ((25, 15, 1), ("sigmoid",) * 3)
    assert (model.loss, model.from_logits, model.optimizer, model.learning_rate,
            model.accuracy_threshold) == ("BinaryCrossentropy", False, "Adam", 0.001, 0.95)
    markdown = markdown_text(binary_nb)
    cells = cell_by_id(binary_nb)
    assert "0.95" in markdown and "95 %" in markdown
    assert "acc_value >= 0.95" in cells["test_training_accuracy"].source
    assert "hidden tests" in markdown.lower() and "public tests" in markdown.lower()
    exercise = cells["model_exercise_md"].source
    assert "25 units, 15 units and 1 unit" in exercise and 'activation="sigmoid"' in exercise
    assert "`BinaryCrossentropy()`" in exercise and "from_logits=False" in exercise
    assert "`Adam(learning_rate=0.001)`" in exercise
    assert "`g`: the activation function" in cells["dense_md"].source
    assert "`np.positive`" in cells["dense_md"].source  # the identity the tests pass as g
    # TensorFlow is imported quietly (its start-up log lines kept off the page)
    assert QUIET_IMPORT in cells["setup"].source
    train = cells["train"].source
    assert "set_random_seed(1234)" in train and "enable_op_determinism()" in train
    assert "epochs=20" in train and "history = model.fit(X, y," in train
    assert "model.steps_per_execution = 32" in train
    assert "**20 epochs**" in cells["train_md"].source


def test_binary_teaching_cells_sit_beside_their_exercises(binary_nb):
    """The issue's teaching material, each beside what it explains: the digits, the sigmoid,
    why W is (inputs, units) and the network with each W and b before the model exercise;
    the loss curve and the predictions after training; my_sequential after my_dense; the
    timing of the loop against the matrix product, on the 1000 digits, after my_dense_v."""
    order = [grade_id(c) for c in binary_nb.cells]
    cells = cell_by_id(binary_nb)
    assert order.index("data") < order.index("sigmoid_plot") < order.index("shapes_md") \
        < order.index("network_plot") < order.index("model_exercise_md") < order.index("model")
    assert cells["data"].source.splitlines()[0] == "X, y = load_binary_data()"
    assert "plot_digit_grid(X, y, seed=1);" in cells["data"].source
    assert cells["sigmoid_plot"].source == "plot_sigmoid();"
    why = cells["shapes_md"].source
    assert why.startswith("### Why `W` has the shape (inputs, units)\n")
    for words in ("$(s_{in}, s_{out})$", "**one column per unit**", "**one row per input**",
                  "$(s_{out},)$", r"$$\mathbf{z} = \mathbf{a}_{in} W + \mathbf{b}",
                  "$Z = A_{in} W + \\mathbf{b}$", "gives `W` of shape (400, 25)"):
        assert words in why, words
    assert cells["network_plot"].source == (
        'plot_network((400, 25, 15, 1), ("sigmoid", "sigmoid", "sigmoid"), outputs=("P(1)",));')
    # the table of section 3: each layer's units, activation, W, b and parameters
    model = load(ROOT, BINARY_ID).model
    rows = re.findall(r"^\| Dense \d[^|]*\| (\d+) \| (\w+) \| \((\d+), (\d+)\) \| \((\d+),\) "
                      r"\| ([\d ]+) \|$", cells["model_md"].source, re.M)
    assert [(int(n), act, (int(i), int(o)), int(b), int(p.replace(" ", "")))
            for n, act, i, o, b, p in rows] == [
        (n_out, act, (n_in, n_out), n_out, n_in * n_out + n_out)
        for (n_in, n_out), act in zip(model.layer_sizes, model.activations, strict=True)]
    assert order.index("test_model_loss") < order.index("weights") < order.index("train")
    assert cells["weights"].source == "print(layer_table(model))"
    assert order.index("train") < order.index("loss_plot") < order.index("accuracy") \
        < order.index("test_training_accuracy")
    assert cells["loss_plot"].source == "plot_loss(history);"
    accuracy = cells["accuracy"].source
    for call in ("plot_predictions(X, y, yhat, n=32, seed=2);", "plot_misclassified(X, y, yhat);",
                 "plot_confusion_matrix(y, yhat, num_classes=2);"):
        assert call in accuracy, call
    assert order.index("test_my_dense") < order.index("sequential") \
        < order.index("sequential_check") < order.index("my_dense_v")
    assert "model.predict(X[seq_examples]" in cells["sequential_check"].source
    assert "< 1e-6" in cells["sequential_check"].source
    assert order.index("test_my_dense_v") < order.index("timing")
    timing = cells["timing"].source
    assert "my_sequential(x, W1, b1, W2, b2, W3, b3) for x in X]" in timing
    assert "my_sequential_v(X, W1, b1, W2, b2, W3, b3)" in timing


def test_binary_network_figure_shows_the_shape_of_each_w_and_b(binary_nb):
    """The network_plot cell's own call, drawn here: under each layer its W and b shapes,
    the shapes of grading.py's model, and the output unit labelled P(1)."""
    import matplotlib.pyplot as plt

    import digit_helpers

    fig = eval(cell_by_id(binary_nb)["network_plot"].source.rstrip(";"),
               {"plot_network": digit_helpers.plot_network})
    try:
        texts = [t.get_text() for t in fig.axes[0].texts]
    finally:
        plt.close(fig)
    model = load(ROOT, BINARY_ID).model
    for (n_in, n_out), act in zip(model.layer_sizes, model.activations, strict=True):
        assert f"Dense {n_out}, {act}\nW ({n_in}, {n_out})\nb ({n_out},)" in texts, texts
    assert "P(1)" in texts and "input\n400 values" in texts


# --------------------------------------------------------------------------- executed notebooks


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    """digit_recognition_binary's solution executed once for this module, as `make
    reference` executes it and with the kernel's stderr captured as when grading: (the
    executed notebook, the folder its model and history were exported to)."""
    export = tmp_path_factory.mktemp("binary-run")
    return run_solution(BINARY_SOLUTION, export, env=quiet_free_env()), export


@pytest.fixture(params=list(SPECS))
def executed(request, solution_run):
    """(spec, the executed solution, its export folder): digit_recognition's is conftest's
    ``solution_run``, digit_recognition_binary's this module's ``binary_run``. Named here
    for both, ``solution_run`` puts every test of an executed solution in its xdist group
    (conftest), so each solution runs once, in one process."""
    if request.param == ASSIGNMENT_ID:
        return SPECS[ASSIGNMENT_ID], *solution_run
    return SPECS[BINARY_ID], *request.getfixturevalue("binary_run")


@pytest.fixture(scope="module", params=list(SPECS))
def executed_release(request, tmp_path_factory):
    spec = SPECS[request.param]
    return spec, run_notebook(spec.release, cwd=tmp_path_factory.mktemp("release"),
                              env=quiet_free_env())


@pytest.mark.slow
def test_solution_passes_every_test_cell(executed):
    spec, nb, _ = executed
    failed = {grade_id(c): describe(c) for c in nb.cells if errors(c)}
    assert failed == {}
    scores = {grade_id(c): determine_grade(c)[0] for c in nb.cells if is_grade(c)}
    assert scores == spec.tests  # nbgrader's own scoring of the executed cells
    for gid in spec.tests:
        assert "public tests passed" in stdout_text(cell_by_id(nb)[gid]), gid


@pytest.mark.slow
def test_solution_writes_nothing_to_stderr(executed):
    """No test cell writes to stderr, and no cell writes anything but the library lines the
    assignment declares (``stderr_noise``, which grading drops too). TF_CPP_MIN_LOG_LEVEL
    was not set for the kernel: the setup cell quiets TensorFlow itself (its import's
    oneDNN lines too, which TensorFlow 2.21 prints whatever the level: on this machine no
    cell writes to stderr at all; another may log more, declared as noise)."""
    spec, nb, _ = executed
    tests = {gid: stderr_text(c) for gid, c in cell_by_id(nb).items()
             if gid in spec.tests and stderr_text(c)}
    assert tests == {}
    tidy = verdicts.drop_library_noise(copy.deepcopy(nb), load(ROOT, spec.id).stderr_noise)
    noisy = {grade_id(c): stderr_text(c) for c in tidy.cells if stderr_text(c)}
    assert noisy == {}


@pytest.mark.slow
def test_solution_trains_past_the_threshold(executed):
    spec, nb, _ = executed
    cells = cell_by_id(nb)
    assert f"epoch {spec.epochs}/{spec.epochs}" in stdout_text(cells["train"])
    threshold = load(ROOT, spec.id).model.accuracy_threshold
    assert threshold == 0.95
    match = re.search(r"training accuracy (\d\.\d+) >= 0\.95", stdout_text(
        cells["test_training_accuracy"]))
    assert match and float(match.group(1)) >= 0.98, stdout_text(cells["test_training_accuracy"])


@pytest.mark.slow
def test_the_expected_outputs_in_the_markdown_are_what_the_solution_prints(executed):
    spec, nb, _ = executed
    EXPECTED_OUTPUTS[spec.id](cell_by_id(nb))


@pytest.mark.slow
def test_the_teaching_figures_are_drawn(executed):
    spec, nb, _ = executed
    cells = cell_by_id(nb)
    drawn = {gid: len(pngs(cells[gid])) for gid in spec.figures}
    assert drawn == spec.figures


@pytest.mark.slow
def test_every_figure_says_what_it_shows(executed):
    """Each figure of the run carries its helper's description as the PNG's alt text (and
    its text), and nbconvert's classic HTML page of the run (which nbgrader's feedback and
    formgrader pages extend) writes it: no image says "No description has been provided"."""
    from nbconvert import HTMLExporter
    from test_helpers_plots import PLACEHOLDER, image_alts

    spec, nb, _ = executed
    images = [o for c in nb.cells for o in pngs(c)]
    assert len(images) >= sum(spec.figures.values())  # and every other figure
    alts = [o.metadata["image/png"]["alt"] for o in images]
    assert all(len(alt) > 80 and o.data["text/plain"] == alt
               for alt, o in zip(alts, images, strict=True)), alts
    page, _ = HTMLExporter(template_name="classic", mathjax_url="", jquery_url="",
                           require_js_url="").from_notebook_node(nb)
    assert image_alts(page) == alts
    assert PLACEHOLDER not in page
    # what the figures show, in words: the run's own numbers
    cells = cell_by_id(nb)
    misclassified = re.search(r"\((\d+) of (\d+) misclassified\)",
                              stdout_text(cells["accuracy"]))
    wrong, total = int(misclassified[1]), int(misclassified[2])
    said = " ".join(o.metadata["image/png"]["alt"] for o in pngs(cells["accuracy"]))
    assert f"{total - wrong} lie on the diagonal (predicted correctly), {wrong} off it." in said
    assert (f"The one digit of {total} the model misclassifies" if wrong == 1
            else f"The {wrong} digits of {total} the model misclassifies") in said


def quiet_setup(nb) -> None:
    """Under the text that says the setup cell switches TensorFlow's logs off, no pink box:
    the cell writes its version line and nothing on stderr."""
    setup = cell_by_id(nb)["setup"]
    assert [o.name for o in setup.outputs if o.output_type == "stream"] == ["stdout"], (
        stderr_text(setup))
    assert stdout_text(setup).startswith("TensorFlow 2.21.")


@pytest.mark.slow
def test_the_setup_cell_writes_nothing_to_stderr(executed):
    """Run as the solution, in a kernel whose environment sets no TF_CPP_MIN_LOG_LEVEL
    (quiet_free_env)."""
    quiet_setup(executed[1])


@pytest.mark.slow
def test_the_release_setup_cell_writes_nothing_to_stderr(executed_release):
    """Run as the student's first "Run All" of the release: in a fresh kernel (nbclient),
    whose environment sets no TF_CPP_MIN_LOG_LEVEL."""
    quiet_setup(executed_release[1])


@pytest.mark.slow
def test_release_test_cells_fail_with_not_implemented_message(executed_release):
    spec, nb = executed_release
    cells = cell_by_id(nb)
    for gid in spec.tests:
        cell = cells[gid]
        assert len(errors(cell)) == 1, f"{gid}: {describe(cell)}"
        error = errors(cell)[0]
        assert error.ename == "AssertionError", f"{gid}: {describe(cell)}"
        assert " is not implemented yet: " in error.evalue, f"{gid}: {error.evalue}"
        assert determine_grade(cell)[0] == 0
    stubs = [gid for gid in solution_ids(nbformat.read(spec.solution, as_version=4))
             if gid not in spec.functions]  # answers that are not functions: plain stubs
    assert stubs
    for gid in stubs:
        assert errors(cells[gid])[0].ename == "NotImplementedError", gid
    assert stdout_text(cells["setup"]).startswith("TensorFlow")


def summary_rows(cells, gid: str, md: str, count: int) -> None:
    """The rows of model.summary() written in the markdown ``md`` are in the printed one."""
    summary = re.sub(r"\x1b\[[0-9;]*m", "", "".join(
        o.data["text/plain"] for o in cells[gid].outputs if "data" in o))
    rows = re.findall(r"^\| (L\d \(Dense\)) \| (\(None, \d+\)) \| ([\d,]+) \|$",
                      cells[md].source, re.M)
    assert len(rows) == count
    for name, shape, params in rows:
        assert re.search(rf"{re.escape(name)}\s+│ {re.escape(shape)}\s+│\s+{params} │", summary)
    total = re.search(r"Total params: ([\d,]+)", cells[md].source).group(1)
    assert re.search(rf"Total params: {total} ", summary), total


def digit_expected_outputs(cells) -> None:
    """digit_recognition: the weight table, model.summary() and the loss every 10 epochs."""
    assert stdout_text(cells["weights"]).rstrip("\n") == blocks(cells["weights_md"].source)[0]
    summary_rows(cells, "model", "model_exercise_md", 3)
    assert "Total params: 10,575" in cells["model_exercise_md"].source
    # The loss per 10 epochs: the same on these pins, close on another processor.
    loss = re.compile(r"epoch (\d+)/40  loss (\d\.\d+)")
    printed = loss.findall(stdout_text(cells["train"]))
    expected = loss.findall(blocks(cells["loss_md"].source)[0])
    assert [e for e, _ in printed] == [e for e, _ in expected] == ["10", "20", "30", "40"]
    for (_, got), (_, want) in zip(printed, expected, strict=True):
        assert float(got) == pytest.approx(float(want), rel=0.05)


def binary_expected_outputs(cells) -> None:
    """digit_recognition_binary: the data, model.summary(), the weight table, the loss every
    5 epochs, the accuracy, my_sequential against Keras and the timing lines (times aside)."""
    for code, md in (("data", "data_md"), ("weights", "weights_md"),
                     ("sequential", "sequential_md")):
        assert stdout_text(cells[code]).rstrip("\n") == blocks(cells[md].source)[0], code
    summary_rows(cells, "model", "model_exercise_md", 3)
    assert "Total params: 10,431" in cells["model_exercise_md"].source
    # The loss per 5 epochs: the same on these pins, close on another processor.
    loss = re.compile(r"epoch +(\d+)/20  loss (\d\.\d+)")
    printed, expected = stdout_text(cells["train"]), blocks(cells["loss_md"].source)[0]
    assert [e for e, _ in loss.findall(printed)] == [e for e, _ in loss.findall(expected)] \
        == ["5", "10", "15", "20"]
    for (_, got), (_, want) in zip(loss.findall(printed), loss.findall(expected), strict=True):
        assert float(got) == pytest.approx(float(want), rel=0.05)
    for text in (printed, expected):
        assert re.search(r"^trained in \d+\.\d s$", text, re.M), text
    accuracy = re.compile(r"training accuracy: (\d\.\d{4})  \((\d+) of 1000 misclassified\)")
    shown = accuracy.fullmatch(stdout_text(cells["accuracy"]).strip())
    written = accuracy.fullmatch(blocks(cells["accuracy_md"].source)[0])
    assert shown and written, stdout_text(cells["accuracy"])
    assert float(shown.group(1)) == pytest.approx(float(written.group(1)), abs=0.003)
    assert "reaches\n0.999 (1 digit of the 1000 misclassified)" in cells["accuracy_md"].source
    # my_sequential against model.predict on 5 digits: the digits and labels, and
    # probabilities close (the same on these pins)
    line = re.compile(r"^digit +(\d+): label ([01]), Keras (\d\.\d{6}), "
                      r"my_sequential (\d\.\d{6})$", re.M)
    printed = line.findall(stdout_text(cells["sequential_check"]))
    expected = line.findall(blocks(cells["sequential_md"].source)[1])
    assert [p[:2] for p in printed] == [e[:2] for e in expected] and len(expected) == 5
    for got, want in zip(printed, expected, strict=True):
        assert [float(v) for v in got[2:]] == pytest.approx([float(v) for v in want[2:]],
                                                            abs=0.01)
    last = "my_sequential matches model.predict to 1e-6: check passed"
    assert stdout_text(cells["sequential_check"]).rstrip("\n").endswith(last)
    assert blocks(cells["sequential_md"].source)[1].endswith(last)
    # the timing: the same lines, numbers aside, and the same accuracy of the numpy network
    printed, expected = stdout_text(cells["timing"]).rstrip("\n"), blocks(
        cells["timing_md"].source)[0]
    number = r" *\d+(\.\d+)?(e[-+]?\d+)?"  # with the spaces that pad it to its width
    assert re.sub(number, " N", printed) == re.sub(number, " N", expected), printed
    assert printed.splitlines()[-1] == f"accuracy of the numpy network: {shown.group(1)}"
    assert expected.splitlines()[-1] == f"accuracy of the numpy network: {written.group(1)}"


EXPECTED_OUTPUTS = {ASSIGNMENT_ID: digit_expected_outputs, BINARY_ID: binary_expected_outputs}


# ----------------------------------------------------- digit_recognition_binary, executed


BINARY_ONLY = pytest.mark.parametrize("executed", [BINARY_ID], indirect=True)


@pytest.mark.slow
@BINARY_ONLY
def test_binary_timing_shows_the_loop_and_the_matrix_product_on_the_1000_digits(executed):
    """The timing cell runs both networks on all 1000 digits and shows both times: the
    vectorised one is faster, its factor is the ratio of the times shown, and both give the
    same probabilities."""
    text = stdout_text(cell_by_id(executed[1])["timing"])
    loop = re.search(r"one digit at a time: +(\d+\.\d\d) ms for 1000 digits", text)
    vec = re.search(r"the whole batch: +(\d+\.\d\d) ms, (\d+) times faster", text)
    diff = re.search(r"largest difference between the two: (\S+)", text)
    assert loop and vec and diff, text
    loop_ms, vec_ms, factor = float(loop.group(1)), float(vec.group(1)), int(vec.group(2))
    assert 0 < vec_ms < loop_ms, text
    assert factor == pytest.approx(loop_ms / vec_ms, rel=0.05, abs=1), text
    assert float(diff.group(1)) < 1e-6, text


@pytest.mark.slow
@BINARY_ONLY
def test_binary_figures_show_what_the_text_says(executed, binary_nb):
    """The notebook's own figure calls, drawn again here with the run's exported model and
    history: 64 digits titled 0 or 1, the loss of each of the 20 epochs, 32 digits titled
    'label,prediction', the digits the run counted as misclassified, and a 2x2 confusion
    matrix of the 1000 digits (rows: 500 zeros, 500 ones)."""
    import matplotlib.pyplot as plt

    import digit_helpers
    from autograder.model.saved_model import predict, read_saved_model

    _, run, export = executed
    model = load(ROOT, BINARY_ID).model
    X, y = digit_helpers.load_binary_data()
    weights = read_saved_model(export / "model.keras", model.weight_shapes).weights
    names = {name: getattr(digit_helpers, name) for name in (
        "plot_digit_grid", "plot_loss", "plot_predictions", "plot_misclassified",
        "plot_confusion_matrix")}
    names.update(X=X, y=y, yhat=predict(weights, X, model.activations).reshape(-1, 1),
                 history=json.loads((export / "history.json").read_text(encoding="utf-8")))
    printed = re.search(r"\((\d+) of 1000 misclassified\)",
                        stdout_text(cell_by_id(run)["accuracy"]))
    wrong = int(printed.group(1))
    assert int((names["yhat"] != y).sum()) == wrong  # the export is the model the run shows

    def draw(gid: str, call: str):
        [line] = [s for s in cell_by_id(binary_nb)[gid].source.splitlines()
                  if s.startswith(call + "(")]
        return eval(line.rstrip(";"), names)

    def titles(fig) -> list[str]:
        return [t.get_text() for t in fig.axes[0].texts]

    try:
        grid = titles(draw("data", "plot_digit_grid"))
        assert len(grid) == 64 and set(grid) == {"0", "1"}
        [curve] = draw("loss_plot", "plot_loss").axes[0].get_lines()
        assert list(curve.get_ydata()) == pytest.approx(names["history"]["loss"])
        assert len(curve.get_ydata()) == 20
        sample = titles(draw("accuracy", "plot_predictions"))
        assert len(sample) == 32 and set(sample) <= {"0,0", "0,1", "1,0", "1,1"}
        misclassified = draw("accuracy", "plot_misclassified")
        assert misclassified._suptitle.get_text().startswith(f"{wrong} of 1000 misclassified")
        assert len(titles(misclassified)) == wrong and all(
            t in ("0,1", "1,0") for t in titles(misclassified))
        [image] = draw("accuracy", "plot_confusion_matrix").axes[0].get_images()
        matrix = np.asarray(image.get_array())
        assert matrix.shape == (2, 2)
        assert matrix.sum(axis=1).tolist() == [500, 500]
        assert int(np.trace(matrix)) == 1000 - wrong
    finally:
        plt.close("all")


# ----------------------------------------------------- digit_recognition, executed


# Student answers run against the real test cells (with their hidden parts) in one kernel.
# Each case: (name, code run before the tests, {test cell: None to pass | message part}).
GOOD_MODEL = """
model = tf.keras.Sequential([
    tf.keras.Input(shape=(400,)),
    tf.keras.layers.Dense(25, activation="relu"),
    tf.keras.layers.Dense(15, activation="relu"),
    tf.keras.layers.Dense(10),
])
"""
GOOD_COMPILE = """
model.compile(
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
)
"""
MODEL_TESTS = ("test_model_architecture", "test_model_activations", "test_loss_from_logits")
CASES = [
    # alternative correct answers
    ("relu with np.where, softmax one-liner", """
def my_relu(z):
    return np.where(z > 0, z, 0)

def my_softmax(z):
    return np.exp(z - np.max(z)) / np.sum(np.exp(z - np.max(z)))
""", dict.fromkeys(["test_my_relu", "test_my_softmax", "test_softmax_stability"])),
    ("input_shape kwarg, tf.nn.relu, adam string, metrics", """
model = tf.keras.Sequential([
    tf.keras.layers.Dense(25, activation="relu", input_shape=(400,)),
    tf.keras.layers.Dense(15, activation=tf.nn.relu),
    tf.keras.layers.Dense(10, activation=None),
])
model.compile(
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer="adam",
    metrics=["accuracy"],
)
""", dict.fromkeys(MODEL_TESTS)),
    ("add() with InputLayer and keras activation functions", """
model = tf.keras.Sequential(name="mine")
model.add(tf.keras.layers.InputLayer(shape=(400,)))
model.add(tf.keras.layers.Dense(units=25, activation=tf.keras.activations.relu, name="a"))
model.add(tf.keras.layers.Dense(units=15, activation="relu", name="b"))
model.add(tf.keras.layers.Dense(units=10, activation=tf.keras.activations.linear, name="c"))
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
""", dict.fromkeys(MODEL_TESTS)),
    ("functional API", """
inputs = tf.keras.Input(shape=(400,))
hidden = tf.keras.layers.Dense(25, activation="relu")(inputs)
hidden = tf.keras.layers.Dense(15, activation="relu")(hidden)
model = tf.keras.Model(inputs, tf.keras.layers.Dense(10, activation="linear")(hidden))
""" + GOOD_COMPILE, dict.fromkeys(MODEL_TESTS)),
    # mistakes
    ("relu modifies its input", """
def my_relu(z):
    z = np.asarray(z)
    z[z < 0] = 0
    return z
""", {"test_my_relu": "my_relu changed its input array"}),
    ("relu with Python's max", """
def my_relu(z):
    return max(0, z)
""", {"test_my_relu": "raised ValueError"}),
    ("naive softmax", """
def my_softmax(z):
    return np.exp(z) / np.sum(np.exp(z))
""", {"test_my_softmax": None, "test_softmax_stability": "overflows to inf"}),
    ("softmax that forgets to normalise", """
def my_softmax(z):
    return np.exp(z - np.max(z))
""", {"test_my_softmax": "compute e^z_j", "test_softmax_stability": "expected [0.26894142"}),
    ("no input shape", """
model = tf.keras.Sequential([
    tf.keras.layers.Dense(25, activation="relu"),
    tf.keras.layers.Dense(15, activation="relu"),
    tf.keras.layers.Dense(10),
])
""", {"test_model_architecture": "does not know its input size"}),
    ("20x20 input", """
model = tf.keras.Sequential([
    tf.keras.Input(shape=(20, 20)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(25, activation="relu"),
    tf.keras.layers.Dense(15, activation="relu"),
    tf.keras.layers.Dense(10),
])
""", {"test_model_architecture": "expected (None, 400)"}),
    ("wrong units", GOOD_MODEL.replace("Dense(15", "Dense(10"),
     {"test_model_architecture": "expected [25, 15, 10]"}),
    ("four Dense layers", GOOD_MODEL.replace(
        "tf.keras.layers.Dense(10)", "tf.keras.layers.Dense(10), tf.keras.layers.Dense(10)"),
     {"test_model_architecture": "has 4 Dense layers"}),
    ("an extra BatchNormalization layer", GOOD_MODEL.replace(
        "    tf.keras.layers.Dense(15", "    tf.keras.layers.BatchNormalization(),\n"
        "    tf.keras.layers.Dense(15"),
     {"test_model_architecture": "not Dense: ['BatchNormalization']"}),
    ("a layer without bias", GOOD_MODEL.replace('"relu")', '"relu", use_bias=False)', 1),
     {"test_model_architecture": "needs a bias"}),
    ("softmax output layer", GOOD_MODEL.replace("Dense(10)", 'Dense(10, activation="softmax")'),
     {"test_model_architecture": None,
      "test_model_activations": "the output layer uses softmax; keep it linear"}),
    ("sigmoid hidden layer", GOOD_MODEL.replace('"relu"', '"sigmoid"', 1),
     {"test_model_activations": "expected ['relu', 'relu']"}),
    ("a function named relu that is not ReLU", """
def relu(x):
    return x
""" + GOOD_MODEL.replace('activation="relu"', "activation=relu"),
     {"test_model_activations": "Dense layer 1 maps"}),
    ("model is not a Keras model", 'model = "25, 15, 10"\n',
     {"test_model_architecture": "not a Keras model"}),
    ("model not compiled", GOOD_MODEL,
     {"test_loss_from_logits": "compile is not implemented yet",
      "test_training_accuracy": "compile is not implemented yet"}),
    ("compiled but not trained", GOOD_MODEL + GOOD_COMPILE,
     {"test_loss_from_logits": None, "test_training_accuracy": "has not been trained yet"}),
    ("loss given as a string", GOOD_MODEL + """
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
""", {"test_loss_from_logits": "which expects probabilities"}),
    ("loss without from_logits", GOOD_MODEL + """
model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(),
              optimizer=tf.keras.optimizers.Adam(learning_rate=0.001))
""", {"test_loss_from_logits": "the loss has from_logits=False"}),
    ("categorical instead of sparse loss", GOOD_MODEL + """
model.compile(loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
              optimizer=tf.keras.optimizers.Adam(learning_rate=0.001))
""", {"test_loss_from_logits": "expected tf.keras.losses.SparseCategoricalCrossentropy"}),
    ("SGD optimizer", GOOD_MODEL + GOOD_COMPILE.replace("Adam", "SGD"),
     {"test_loss_from_logits": "the optimizer is SGD"}),
    ("learning rate 0.01", GOOD_MODEL + GOOD_COMPILE.replace("0.001", "0.01"),
     {"test_loss_from_logits": "the learning rate is 0.01"}),
    ("learning-rate schedule", GOOD_MODEL + GOOD_COMPILE.replace(
        "learning_rate=0.001",
        "learning_rate=tf.keras.optimizers.schedules.ExponentialDecay(0.001, 100, 0.5)"),
     {"test_loss_from_logits": "not a schedule"}),
    ("barely trained", GOOD_MODEL + GOOD_COMPILE + """
X, y = load_data()
model.fit(X[:64], y[:64], epochs=1, verbose=0)
""", {"test_training_accuracy": "below the required 0.95"}),
    # last: it patches Keras for the rest of the kernel
    ("model(X) patched to return the labels", """
_labels = load_data()[1]
tf.keras.Sequential.__call__ = lambda self, inputs, *args, **kwargs: tf.one_hot(_labels, 10)
""", {"test_training_accuracy": "recomputed from the weights"}),
]


@pytest.fixture(scope="module")
def executed_cases(digit_nb, tmp_path_factory):
    """One notebook: the setup cell, then each case's code followed by the test cells."""
    tests = cell_by_id(digit_nb)
    # The setup cell ignores all warnings; here the test cells turn the warnings TensorFlow,
    # Keras and numpy 2 emit into errors, so that a test cell which would print one (to
    # stderr: 0 points) for a student who re-enabled warnings fails this test instead.
    strict = "".join(
        f'warnings.simplefilter("error", {category})\n'
        for category in ("DeprecationWarning", "FutureWarning", "UserWarning")
    )
    cells = [nbformat.v4.new_code_cell(tests["setup"].source)]
    for name, code, expected in CASES:
        cells.append(nbformat.v4.new_code_cell(
            'warnings.simplefilter("ignore")\n' + code, metadata={"case": name}
        ))
        for gid in expected:
            cells.append(nbformat.v4.new_code_cell(
                strict + tests[gid].source, metadata={"case": name, "test": gid}
            ))
    nb = nbformat.v4.new_notebook(cells=cells, metadata=digit_nb.metadata)
    path = tmp_path_factory.mktemp("cases") / "cases.ipynb"
    nbformat.write(nb, path)
    return run_notebook(path)


@pytest.mark.slow
def test_test_cells_accept_correct_styles_and_explain_mistakes(executed_cases):
    expected = {name: cases for name, _, cases in CASES}
    problems = []
    assert not errors(executed_cases.cells[0]), describe(executed_cases.cells[0])
    for cell in executed_cases.cells[1:]:
        name, gid = cell.metadata["case"], cell.metadata.get("test")
        if gid is None:  # the case's own code must run
            if errors(cell) or stderr_text(cell):
                problems.append(f"{name}: its code failed: {describe(cell)}")
            continue
        want = expected[name][gid]
        found = errors(cell)
        if stderr_text(cell):
            problems.append(f"{name} / {gid}: wrote to stderr: {stderr_text(cell)}")
        if want is None and found:
            problems.append(f"{name} / {gid}: expected to pass, got {describe(cell)}")
        elif want is not None and not (
            found and found[0].ename == "AssertionError" and want in found[0].evalue
        ):
            problems.append(f"{name} / {gid}: expected AssertionError with {want!r}, "
                            f"got {describe(cell)}")
    assert problems == [], "\n".join(problems)
