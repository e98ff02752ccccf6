"""docs/adding-an-exercise.md, followed on a copy of the course.

The copy is a git repository holding the assignment's source folder (notebook and
grading.py), its release and nbgrader_config.py. The test adds ``my_sigmoid`` with the
cells, metadata and edits it reads from the page's code blocks, so the page and the test
cannot drift. A release without the check is refused, naming the new test. With the check,
the release succeeds, and ``git diff --cached --stat=100`` lists exactly the source notebook,
grading.py and the release. Then one ``grade`` run scores three submissions of the new
release: correct, wrong, and wrong but patching ``numpy.allclose`` so that every assert of
the test cell passes in the kernel. The patching one scores 0 with the grader's
``GraderCheck`` message, which ``verify_functions`` writes only for a test that passed in
the kernel: the new test is decided outside the kernel.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from catalogue import HIDDEN, MARKED

from helpers import ROOT, by_student, place, run_grade

DOC = ROOT / "docs" / "adding-an-exercise.md"
ID = "digit_recognition"
SOURCE = f"solutions/{ID}/{ID}.ipynb"
GRADING = f"solutions/{ID}/grading.py"
RELEASE = f"assignments/{ID}/{ID}.ipynb"
TEST = "test_my_sigmoid"
FENCE = re.compile(r"^```(\w*)\n(.*?)\n```$", re.S | re.M)

WRONG = "def my_sigmoid(z):\n    return z"
PATCHING = '''import numpy

numpy.allclose = lambda *args, **kwargs: True  # every comparison of the tests "passes"


def my_sigmoid(z):
    return np.zeros(np.shape(z))'''


def doc_blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text(encoding="utf-8"))
            if kind == lang]


def doc_block(lang: str, starts: str) -> str:
    """The page's one ``lang`` code block that starts with ``starts``."""
    found = [b for b in doc_blocks(lang) if b.lstrip().startswith(starts)]
    assert len(found) == 1, f"{DOC.name}: {len(found)} {lang} blocks start with {starts!r}"
    return found[0]


def doc_metadata() -> dict[str, dict]:
    """grade id -> the nbgrader metadata the page gives each new cell."""
    found = [json.loads(b)["nbgrader"] for b in doc_blocks("json") if '"nbgrader"' in b]
    return {meta["grade_id"]: meta for meta in found}


def doc_hunks() -> list[tuple[str, str]]:
    """(old text, new text) of each hunk of the page's diff block."""
    hunks: list[tuple[list[str], list[str]]] = []
    for line in doc_block("diff", "@@").splitlines():
        if line.startswith("@@"):
            hunks.append(([], []))
        else:
            old, new = hunks[-1]
            if line[0] in " -":
                old.append(line[1:])
            if line[0] in " +":
                new.append(line[1:])
    return [("\n".join(old), "\n".join(new)) for old, new in hunks]


def replace_once(text: str, old: str, new: str, where: str) -> str:
    assert text.count(old) == 1, f"{where} should hold this once:\n{old}"
    return text.replace(old, new)


# --- the page's own shape (fast) ------------------------------------------------------------

def test_the_page_has_every_piece_the_test_follows_and_they_parse():
    meta = doc_metadata()
    assert set(meta) == {"sigmoid_md", "my_sigmoid", TEST}
    assert meta[TEST]["grade"] and meta[TEST]["locked"] and meta[TEST]["points"] == 10
    assert meta["my_sigmoid"]["solution"] and not meta["my_sigmoid"]["locked"]
    assert all(m["schema_version"] == 3 for m in meta.values())
    assert doc_block("markdown", "### Exercise 2b").count("my_sigmoid") >= 2
    solution = doc_block("python", "def my_sigmoid(z):")
    test = doc_block("python", "# Public tests for my_sigmoid")
    for source in (solution, test, doc_block("python", "def sigmoid(")):
        compile(source, DOC.name, "exec")
    assert "### BEGIN SOLUTION" in solution and "### BEGIN HIDDEN TESTS" in test
    assert test.split("### BEGIN HIDDEN TESTS")[0].count("assert ") >= 2
    assert f'"{TEST}": FunctionCheck("my_sigmoid", sigmoid,' in doc_block("python", f'"{TEST}"')
    assert len(doc_hunks()) == 4


def test_the_page_heading_levels_never_jump_and_its_links_resolve():
    text = DOC.read_text(encoding="utf-8")
    prose = FENCE.sub("", text)
    levels = [len(m.group(1)) for m in re.finditer(r"^(#+) ", prose, re.M)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.*)$", prose, re.M)}
    for label, target in re.findall(r"\[([^\]]+)\]\(([^)]+)\)", prose):
        path, _, anchor = target.partition("#")
        if path == "adding-an-assignment.md":
            continue  # another page, written beside this one
        if path:
            assert (DOC.parent / path).exists(), f"[{label}]({target})"
        else:
            assert anchor in anchors, f"[{label}]({target})"


def test_the_solution_passes_the_test_cell_and_the_check_probes_every_input_it_uses():
    """The page's solution against its test cell, public and hidden part, with my_sigmoid
    recording its inputs; each must be one the page's FunctionCheck calls it with (the rule
    of tests/test_checks_cover_the_notebook.py for the notebook, applied to the page)."""
    from autograder.assignment import FunctionCheck

    namespace = {"np": np, "numpy": np}
    exec(compile(doc_block("python", "def my_sigmoid(z):"), "my_sigmoid", "exec"), namespace)
    solution, seen = namespace["my_sigmoid"], []

    def recording(*args):
        seen.append(tuple(np.array(a) for a in args))
        return solution(*args)

    namespace["my_sigmoid"] = recording
    exec(compile(doc_block("python", "# Public tests for my_sigmoid"), TEST, "exec"), namespace)
    grading = {"np": np, "FunctionCheck": FunctionCheck}
    exec(compile(doc_block("python", "def sigmoid("), "grading.py", "exec"), grading)
    check = eval("{" + doc_block("python", f'"{TEST}"') + "}", grading)[TEST]
    assert check.function == "my_sigmoid" and len(seen) == 4
    for args in seen:
        assert any(all(a.shape == p.shape and a.dtype.kind == p.dtype.kind
                       and np.array_equal(a, p) for a, p in zip(args, probe, strict=True))
                   for probe in check.arguments()), f"grading.py does not probe {args}"
        assert np.allclose(check.reference(*args), solution(*args), rtol=0, atol=1e-12)


# --- the page followed on a copy of the course (slow) ---------------------------------------

def git(course: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=Instructor", "-c",
                           "user.email=instructor@example.org", *args],
                          cwd=course, capture_output=True, text=True, check=True)
    return proc.stdout


def release(course: Path, check_first: bool = True) -> subprocess.CompletedProcess:
    """What ``make release`` runs, in the copy: the check, then nbgrader (which checks
    again: ``check_first=False`` runs nbgrader alone)."""
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")])}
    if check_first:
        checked = subprocess.run([sys.executable, "-m", "autograder.grader.release_check", ID],
                                 cwd=course, env=env, capture_output=True, text=True,
                                 timeout=300)
        if checked.returncode != 0:
            return checked
    return subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ID,
                           "--force", "--log-level=WARN"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=300)


def copy_course(course: Path) -> None:
    shutil.copytree(ROOT / "solutions" / ID, course / "solutions" / ID,
                    ignore=shutil.ignore_patterns("*.keras", "*.json", "__pycache__",
                                                  ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "assignments" / ID, course / "assignments" / ID)
    for name in ("nbgrader_config.py", ".gitignore"):  # .gitignore: gradebook.db, __pycache__
        shutil.copy(ROOT / name, course / name)
    git(course, "init", "-q")
    git(course, "add", "-A")
    git(course, "commit", "-q", "-m", "the course as it is")


def add_cells(course: Path) -> None:
    """Step 1: the three cells after ``softmax_plot``, and the edits of the diff block."""
    path = course / SOURCE
    nb = nbformat.read(path, as_version=4)
    meta = doc_metadata()
    cells = [nbformat.v4.new_markdown_cell(doc_block("markdown", "### Exercise 2b")),
             nbformat.v4.new_code_cell(doc_block("python", "def my_sigmoid(z):")),
             nbformat.v4.new_code_cell(doc_block("python", "# Public tests for my_sigmoid"))]
    for cell, gid in zip(cells, ("sigmoid_md", "my_sigmoid", TEST), strict=True):
        cell.metadata["nbgrader"] = meta[gid]
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    at = ids.index("softmax_plot") + 1
    assert ids[at] == "logits_md"
    nb.cells[at:at] = cells
    for old, new in doc_hunks():
        holders = [c for c in nb.cells if c.cell_type == "markdown" and old in c.source]
        assert len(holders) == 1, f"one markdown cell should hold:\n{old}"
        holders[0].source = replace_once(holders[0].source, old, new, "the cell")
    nbformat.validate(nb)
    nbformat.write(nb, path)


def add_check(course: Path) -> None:
    """Step 2: ``sigmoid`` below ``softmax``; the check after test_softmax_stability's."""
    path = course / GRADING
    text = path.read_text(encoding="utf-8")
    reference = doc_block("python", "def sigmoid(")
    text = replace_once(text, "\n\n\n_rng = ", f"\n\n\n{reference}\n\n\n_rng = ", GRADING)
    check = doc_block("python", f'"{TEST}"')
    after = '        "test_model_architecture": ModelCheck("architecture"),\n'
    text = replace_once(text, after, f"{check}\n{after}", GRADING)
    path.write_text(text, encoding="utf-8")


def submission(course: Path, answer: str | None = None) -> str:
    """The new release as a student hands it in: the solution's answers (``answer`` for
    my_sigmoid), the test cells without their hidden part."""
    nb = copy.deepcopy(nbformat.read(course / SOURCE, as_version=4))
    for cell in nb.cells:
        cell.source = HIDDEN.sub("\n", cell.source).rstrip()
        if answer is not None and cell.metadata.get("nbgrader", {}).get("grade_id") == \
                "my_sigmoid":
            cell.source = answer
        else:
            cell.source = MARKED.sub(lambda m: m.group(1), cell.source)
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def followed(tmp_path_factory) -> dict:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path_factory.mktemp("adding-an-exercise")
    course = work / "course"
    times: dict[str, float] = {}
    start = time.perf_counter()
    copy_course(course)
    add_cells(course)
    times["copy and step 1"] = time.perf_counter() - start

    start = time.perf_counter()
    refused = release(course)
    times["release without the check"] = time.perf_counter() - start
    release_kept = (course / RELEASE).exists()
    refused_by_nbgrader = release(course, check_first=False)

    add_check(course)
    start = time.perf_counter()
    released = release(course)
    times["release with the check"] = time.perf_counter() - start
    assert released.returncode == 0, released.stdout + released.stderr
    git(course, "add", "-A")
    stat = git(course, "diff", "--cached", "--stat=100")
    names = git(course, "diff", "--cached", "--name-only").split()

    subs = work / "submissions"
    place(subs, "correct", submission(course))
    place(subs, "wrong", submission(course, WRONG))
    place(subs, "patching", submission(course, PATCHING))
    start = time.perf_counter()
    grades, console = run_grade(course, subs, "--workers", "3")
    times["grade three submissions"] = time.perf_counter() - start

    print(f"\n$ git diff --cached --stat=100\n{stat}")
    for student in ("correct", "wrong", "patching"):
        test = by_student(grades)[student]["tests"][TEST]
        print(f"{student}: {json.dumps({TEST: test})}")
    print("\n".join(f"{what}: {seconds:.1f} s" for what, seconds in times.items()))
    return {"course": course, "refused": refused, "release_kept": release_kept,
            "refused_by_nbgrader": refused_by_nbgrader,
            "stat": stat, "names": names, "grades": by_student(grades), "console": console}


@pytest.mark.slow
def test_release_is_refused_without_the_check_naming_the_new_test(followed):
    refused = followed["refused"]
    assert refused.returncode == 1
    message = (f"{ID}: test {TEST} has no check in grading.py: decide it outside the kernel "
               "(FunctionCheck, ModelCheck) or declare it KernelOnly(reason)")
    assert f"error: {message}" in refused.stderr
    assert f"error: {message}" in doc_block("text", "error: ")
    assert followed["release_kept"]  # checked before nbgrader's --force removes it
    # nbgrader run alone refuses it too (the same check, as its first preprocessor)
    alone = followed["refused_by_nbgrader"]
    assert alone.returncode != 0
    assert f"UncheckedTests: {message}" in alone.stdout + alone.stderr


@pytest.mark.slow
def test_the_change_is_the_notebook_the_checks_file_and_the_release(followed):
    assert sorted(followed["names"]) == sorted([SOURCE, GRADING, RELEASE])
    shown = doc_block("text", "assignments/")
    assert shown.split() == followed["stat"].split(), "update the page's git diff --stat"


@pytest.mark.slow
def test_the_release_carries_the_exercise_without_its_answer_or_hidden_tests(followed):
    released = nbformat.read(followed["course"] / RELEASE, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in released.cells}
    assert 'raise NotImplementedError("not implemented yet' in cells["my_sigmoid"].source
    assert "np.exp" not in cells["my_sigmoid"].source
    assert "BEGIN HIDDEN TESTS" not in cells[TEST].source
    assert "[-20.0, 20.0]" not in cells[TEST].source
    assert cells[TEST].metadata.nbgrader["points"] == 10


@pytest.mark.slow
def test_a_correct_my_sigmoid_gets_the_points_the_notebook_gives(followed):
    correct = followed["grades"]["correct"]
    assert correct["error"] is None, correct
    assert correct["tests"][TEST]["points"] == correct["tests"][TEST]["max_points"] == 10
    assert correct["score"] == correct["max_score"] == 110, correct


@pytest.mark.slow
def test_a_wrong_my_sigmoid_scores_zero_with_the_kernels_message(followed):
    wrong = followed["grades"]["wrong"]
    test = wrong["tests"][TEST]
    assert test["points"] == 0
    assert "my_sigmoid([-2, 0, 2]) returned" in test["feedback"], test
    assert wrong["score"] == 100


@pytest.mark.slow
def test_patching_the_tests_comparison_scores_zero_decided_outside_the_kernel(followed):
    patching = followed["grades"]["patching"]
    test = patching["tests"][TEST]
    assert test["points"] == 0
    # verify_functions writes GraderCheck only for a test that passed in the kernel
    assert test["feedback"].startswith("GraderCheck: my_sigmoid(["), test
    assert "returned [0., 0., 0.], expected [0.119203, 0.5" in test["feedback"], test
    assert patching["score"] == 100  # the other tests: the solution's answers


@pytest.mark.slow
def test_the_page_shows_the_grades_this_run_gave(followed):
    shown = doc_block("text", "correct:")
    for student in ("correct", "wrong", "patching"):
        line = next(s for s in shown.splitlines() if s.startswith(f"{student}:"))
        got = json.loads(line.partition(":")[2])
        assert got == {TEST: followed["grades"][student]["tests"][TEST]}, student
