"""The instructor notebook, the student release generated from it, and their test cells.

Static checks read the committed notebooks. The slow checks execute notebooks in real
Jupyter kernels: the solution (every test cell passes, nothing on stderr), the release
(every test cell fails with a "not implemented yet" message) and a notebook of
alternative correct answers and typical mistakes run against the real test cells.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.utils import determine_grade, is_grade

from autograder.grader import gradebook
from autograder.grader.reference import run_notebook

from helpers import (
    ASSIGNMENT_ID,
    DIGIT_TESTS,
    DIGIT_TOTAL,
    NOTEBOOK_NAME,
    RELEASE,
    ROOT,
    SOLUTION,
    quiet_free_env,
)

# The solution cells, in notebook order, and the autograded test cells with their points
# (helpers.DIGIT_TESTS), as the source notebook's nbgrader metadata declares them.
SOLUTION_IDS = [c.metadata["nbgrader"]["grade_id"]
                for c in nbformat.read(SOLUTION, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("solution")]
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


@pytest.fixture(scope="module")
def source_nb():
    return nbformat.read(SOLUTION, as_version=4)


@pytest.fixture(scope="module")
def release_nb():
    return nbformat.read(RELEASE, as_version=4)


# --------------------------------------------------------------------------- static checks


@pytest.mark.parametrize("path", [SOLUTION, RELEASE], ids=["source", "release"])
def test_notebook_is_committed_without_outputs(path):
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


def test_grade_ids_points_and_roles(source_nb):
    solutions = [grade_id(c) for c in source_nb.cells if nbgrader_meta(c).get("solution")]
    assert {"my_relu", "my_softmax", "model", "compile"} <= set(solutions)  # named below
    graded = {grade_id(c): nbgrader_meta(c)["points"] for c in source_nb.cells if is_grade(c)}
    assert graded == DIGIT_TESTS  # every grade cell is an autograded test
    assert all(isinstance(p, int | float) and p > 0 for p in graded.values()), graded
    # The points table students read (howto_md) lists every test, in notebook order, with
    # its points, and a total that is their sum.
    howto = cell_by_id(source_nb)["howto_md"].source
    table = re.findall(r"^\| `(test_\w+)` \| ([\d.]+) \|$", howto, re.M)
    assert [(gid, float(p)) for gid, p in table] == [(g, float(p)) for g, p in graded.items()]
    total = re.findall(r"^\| \*\*total\*\* \| \*\*([\d.]+)\*\* \|$", howto, re.M)
    assert [float(t) for t in total] == [sum(graded.values())] == [DIGIT_TOTAL]
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta["solution"]:
            assert cell.cell_type == "code" and not meta["grade"] and not meta["locked"]
            assert "points" not in meta
        elif meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"]
        else:
            assert meta["locked"], f"{cell.id}: given cells are locked"


def test_every_test_cell_follows_what_it_tests(source_nb):
    """What a test cell tests: the solution cells its messages call "not implemented yet"
    (e.g. "my_relu is not implemented yet"); and the accuracy test tests the training."""
    order = [grade_id(c) for c in source_nb.cells]
    cells = cell_by_id(source_nb)
    for test in DIGIT_TESTS:
        targets = set(re.findall(r"(\w+) is not implemented yet", cells[test].source))
        targets &= set(SOLUTION_IDS)
        assert targets, f"{test}: no message names the solution cell it tests"
        for target in targets:
            assert order.index(test) > order.index(target), (test, target)
    assert order.index("test_training_accuracy") > order.index("train")


def test_solution_cells_wrap_the_answer_in_markers(source_nb):
    cells = cell_by_id(source_nb)
    begin, end = MARKERS["solution"]
    for gid in SOLUTION_IDS:
        source = cells[gid].source
        assert source.count(begin) == 1 and source.count(end) == 1, gid
        assert source.index(begin) < source.index(end), gid
        inside, _ = split_regions(source)
        assert inside, f"{gid}: empty solution"
    for gid in ("my_relu", "my_softmax"):
        source = cells[gid].source
        assert source.startswith(f"def {gid}(z):"), gid
        assert '"""' in source.split(begin)[0], f"{gid}: the docstring stays visible"
        assert f"    {begin}" in source, f"{gid}: markers belong inside the function body"


def test_every_test_cell_has_visible_and_hidden_tests(source_nb):
    cells = cell_by_id(source_nb)
    begin, end = MARKERS["hidden"]
    for gid in DIGIT_TESTS:
        source = cells[gid].source
        assert source.count(begin) == 1 and source.count(end) == 1, gid
        visible, hidden = source.split(begin)
        assert "assert" in visible and "assert" in hidden, gid
        assert "public tests passed" in visible, f"{gid}: the visible part reports success"


def test_instructions_state_the_requirements(source_nb):
    markdown = "\n".join(c.source for c in source_nb.cells if c.cell_type == "markdown")
    assert "0.95" in markdown and "95 %" in markdown
    assert "0.95" in cell_by_id(source_nb)["test_training_accuracy"].source
    assert "[1000.0, 1001.0]" in markdown and "subtract the maximum" in markdown
    assert "hidden tests" in markdown.lower() and "public tests" in markdown.lower()
    assert "from_logits=True" in markdown
    setup = cell_by_id(source_nb)["setup"].source
    # TensorFlow must be silenced before it is imported
    assert setup.index('os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"') < setup.index(
        "import tensorflow"
    )
    train = cell_by_id(source_nb)["train"].source
    assert "set_random_seed(1234)" in train and "enable_op_determinism()" in train
    assert "epochs=40" in train and "history = model.fit(" in train
    # the same Adam steps, bit for bit, at half the CPU (bench/README.md)
    assert "model.steps_per_execution = 32" in train



def test_the_outline_links_every_section(source_nb):
    """Jupyter gives a heading the id of its text with spaces as dashes; the outline links
    there, in order, so every link lands on its section."""
    headings = [line[3:].strip() for c in source_nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    outline = cell_by_id(source_nb)["outline_md"].source
    targets = re.findall(r"\]\(#([^)]+)\)", outline)
    assert targets == [h.replace(" ", "-") for h in headings if h != "Outline"]
    assert all(re.fullmatch(r"[\w-]+", t) for t in targets), "no punctuation in the anchors"


def test_the_shape_rule_and_the_figures_sit_beside_their_exercises(source_nb):
    order = [grade_id(c) for c in source_nb.cells]
    cells = cell_by_id(source_nb)
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

STALE = "assignments/ is stale: run `make release` (nbgrader generate_assignment)"


def test_release_is_what_nbgrader_generates(tmp_path, empty_gradebook):
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
    shutil.copytree(SOLUTION.parent, tmp_path / "solutions" / ASSIGNMENT_ID)
    shutil.copyfile(empty_gradebook, tmp_path / "gradebook.db")
    config = Course(tmp_path).nbgrader_config()
    assert config.GenerateAssignment.preprocessors[0] is CheckedRelease
    config.CourseDirectory.assignment_id = ASSIGNMENT_ID
    app = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    app.force = True
    app.create_assignment = True
    result = capture_log(app)
    assert result["success"], result.get("error", "") + result.get("log", "")
    generated = nbformat.read(tmp_path / "assignments" / ASSIGNMENT_ID / NOTEBOOK_NAME,
                              as_version=4)
    assert generated == nbformat.read(RELEASE, as_version=4), STALE
    # stamped by CheckedRelease with what the student's check may know of the assignment
    public = json.loads(json.dumps(Course(tmp_path).assignment.public()))
    assert generated.metadata[METADATA_KEY] == public


@pytest.mark.slow  # the nbgrader command starts slowly (~17 s: imports, `alembic heads`)
def test_nbgrader_command_generates_the_same_release(tmp_path):
    """What `make release` runs: the nbgrader command, from a folder holding the config."""
    shutil.copytree(SOLUTION.parent, tmp_path / "solutions" / ASSIGNMENT_ID)  # with grading.py
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    result = subprocess.run(
        [str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT_ID, "--force",
         "--db", f"sqlite:///{tmp_path / 'gb.db'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    generated = tmp_path / "assignments" / ASSIGNMENT_ID / NOTEBOOK_NAME
    assert nbformat.read(generated, as_version=4) == nbformat.read(RELEASE, as_version=4), STALE
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


def test_release_keeps_the_cells_and_stubs_the_solutions(source_nb, release_nb):
    assert [grade_id(c) for c in release_nb.cells] == [grade_id(c) for c in source_nb.cells]
    source_cells, release_cells = cell_by_id(source_nb), cell_by_id(release_nb)
    for gid in SOLUTION_IDS:
        assert STUB in release_cells[gid].source, gid
    for gid in ("my_relu", "my_softmax"):
        assert release_cells[gid].source.startswith(f"def {gid}(z):")
    for gid in DIGIT_TESTS:
        visible = source_cells[gid].source.split(MARKERS["hidden"][0])[0].rstrip()
        assert release_cells[gid].source.rstrip() == visible, gid
        assert nbgrader_meta(release_cells[gid])["points"] == DIGIT_TESTS[gid]


# --------------------------------------------------------------------------- executed notebooks


@pytest.fixture(scope="module")
def executed_solution(solution_run):
    return solution_run[0]


@pytest.fixture(scope="module")
def executed_release(tmp_path_factory):
    return run_notebook(RELEASE, cwd=tmp_path_factory.mktemp("release"), env=quiet_free_env())


@pytest.mark.slow
def test_solution_passes_every_test_cell(executed_solution):
    failed = {grade_id(c): describe(c) for c in executed_solution.cells if errors(c)}
    assert failed == {}
    scores = {
        grade_id(c): determine_grade(c)[0] for c in executed_solution.cells if is_grade(c)
    }
    assert scores == DIGIT_TESTS  # nbgrader's own scoring of the executed cells
    for gid in DIGIT_TESTS:
        assert "public tests passed" in stdout_text(cell_by_id(executed_solution)[gid]), gid


@pytest.mark.slow
def test_solution_writes_nothing_to_stderr(executed_solution):
    # TF_CPP_MIN_LOG_LEVEL was not set for this kernel: the setup cell silences TensorFlow
    noisy = {grade_id(c): stderr_text(c) for c in executed_solution.cells if stderr_text(c)}
    assert noisy == {}


@pytest.mark.slow
def test_solution_trains_past_the_threshold(executed_solution):
    cells = cell_by_id(executed_solution)
    assert "epoch 40/40" in stdout_text(cells["train"])
    match = re.search(r"training accuracy (\d\.\d+) >= 0\.95", stdout_text(
        cells["test_training_accuracy"]))
    assert match and float(match.group(1)) >= 0.98, stdout_text(cells["test_training_accuracy"])
    figures = [o for o in cells["accuracy"].outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 2  # misclassified digits and confusion matrix


def _expected_block(markdown: str) -> str:
    """The first fenced block of a markdown cell: what the student should see."""
    return re.search(r"```\n(.*?)\n```", markdown, re.S).group(1)


@pytest.mark.slow
def test_the_expected_outputs_in_the_markdown_are_what_the_solution_prints(executed_solution):
    cells = cell_by_id(executed_solution)
    assert stdout_text(cells["weights"]).rstrip("\n") == _expected_block(
        cells["weights_md"].source)
    summary = re.sub(r"\x1b\[[0-9;]*m", "", "".join(
        o.data["text/plain"] for o in cells["model"].outputs if "data" in o))
    rows = re.findall(r"^\| (L\d \(Dense\)) \| (\(None, \d+\)) \| ([\d,]+) \|$",
                      cells["model_exercise_md"].source, re.M)
    assert len(rows) == 3
    for name, shape, params in rows:
        assert re.search(rf"{re.escape(name)}\s+│ {re.escape(shape)}\s+│\s+{params} │", summary)
    assert "Total params: 10,575" in cells["model_exercise_md"].source
    assert "Total params: 10,575" in summary
    # The loss per 10 epochs: the same on these pins, close on another processor.
    loss = re.compile(r"epoch (\d+)/40  loss (\d\.\d+)")
    printed = loss.findall(stdout_text(cells["train"]))
    expected = loss.findall(_expected_block(cells["loss_md"].source))
    assert [e for e, _ in printed] == [e for e, _ in expected] == ["10", "20", "30", "40"]
    for (_, got), (_, want) in zip(printed, expected, strict=True):
        assert float(got) == pytest.approx(float(want), rel=0.05)


@pytest.mark.slow
def test_the_teaching_figures_are_drawn(executed_solution):
    cells = cell_by_id(executed_solution)
    for gid in ("relu_plot", "softmax_plot", "network_plot"):
        assert [o for o in cells[gid].outputs if "image/png" in o.get("data", {})], gid


@pytest.mark.slow
def test_release_test_cells_fail_with_not_implemented_message(executed_release):
    cells = cell_by_id(executed_release)
    for gid in DIGIT_TESTS:
        cell = cells[gid]
        assert len(errors(cell)) == 1, f"{gid}: {describe(cell)}"
        error = errors(cell)[0]
        assert error.ename == "AssertionError", f"{gid}: {describe(cell)}"
        assert " is not implemented yet: " in error.evalue, f"{gid}: {error.evalue}"
        assert determine_grade(cell)[0] == 0
    for gid in ("model", "compile"):  # plain stubs
        assert errors(cells[gid])[0].ename == "NotImplementedError"
    assert stdout_text(cells["setup"]).startswith("TensorFlow")


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
def executed_cases(source_nb, tmp_path_factory):
    """One notebook: the setup cell, then each case's code followed by the test cells."""
    tests = cell_by_id(source_nb)
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
    nb = nbformat.v4.new_notebook(cells=cells, metadata=source_nb.metadata)
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
