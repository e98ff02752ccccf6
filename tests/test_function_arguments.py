"""A function under test may take a function: a layer's activation ``g`` (``Fn``). Only its
name crosses into the sandbox; the call process imports it before any student cell runs and
passes it in, and the grader's reference gets the same function in the grader's process.
Real processes in a real sandbox folder, as the grader calls a student's functions."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.assignment import Fn, FunctionCheck
from autograder.grader.sandbox import folder
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps import execute, verify_functions

from helpers import make_cell

pytestmark = pytest.mark.slow  # a call process per run

A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W = np.array([[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]])
B = np.array([0.1, -0.2])


def dense(a, w, b, g):
    return g(np.asarray(a) @ w + b)


TESTS = {"test_my_dense": FunctionCheck("my_dense", dense, (
    (A, W, B, Fn("numpy:tanh")),
    (A[0], W, B, Fn("numpy:positive")),  # the identity
))}


def notebook(*answers: tuple[str, str]) -> nbformat.NotebookNode:
    """Answer cells (grade id, source), then test_my_dense's cell."""
    return nbformat.v4.new_notebook(cells=[
        *(make_cell("code", source, gid, solution=True) for gid, source in answers),
        make_cell("code", "pass", "test_my_dense", grade=True, locked=True, points=10)])


def verdict(folder_in: Path, nb: nbformat.NotebookNode, tests=TESTS) -> str | None:
    """test_my_dense decided outside the kernel: the call processes in a sandbox made in
    ``folder_in``, then the comparison with the reference."""
    box = folder.create(nbformat.writes(nb), folder_in)
    try:
        returned = execute.call_functions(box, Limits(), verify_functions.calls(nb, tests),
                                          uid=None)
    finally:
        box.remove()
    return verify_functions.problems(returned, tests)["test_my_dense"]


def problem(tmp_path, cell: str) -> str | None:
    return verdict(tmp_path, notebook(("my_dense", cell)))


def test_the_layer_gets_the_named_function_and_is_compared_with_the_reference(tmp_path):
    assert problem(tmp_path, "def my_dense(a, W, b, g):\n    return g(a @ W + b)") is None
    twice = problem(tmp_path, "def my_dense(a, W, b, g):\n    return g(g(a @ W + b))")
    assert twice.startswith("my_dense([[0.5, -1., 2.], [1.5, 0.25, -0.75]], ")
    assert ", tanh) returned [[" in twice and "\n" not in twice  # feedback keeps one line
    unused = problem(tmp_path, "def my_dense(a, W, b, g):\n    return a @ W + b")
    assert ", tanh) returned" in unused


def test_a_cell_that_patches_the_module_does_not_change_the_function_passed(tmp_path):
    """The function is taken before the student's cells run: replacing numpy.tanh in a cell
    changes what the student's own code calls, not the g it is given."""
    patch = "import numpy\nnumpy.tanh = lambda z: z * 0\n"
    assert problem(tmp_path, patch + "def my_dense(a, W, b, g):\n    return g(a @ W + b)") \
        is None
    assert ", tanh) returned" in problem(
        tmp_path, patch + "def my_dense(a, W, b, g):\n    return numpy.tanh(a @ W + b)")


def test_a_long_input_is_shown_by_its_shape_and_a_long_result_by_its_first_difference(
        tmp_path):
    """The feedback keeps a reason's first line, up to 500 characters: a layer's weights
    cannot be printed there, nor a batch's outputs, but where the result is wrong can."""
    wide = {"test_my_dense": FunctionCheck("my_dense", dense, (
        (np.ones((4, 20)), np.full((20, 5), 0.1), np.zeros(5), Fn("numpy:positive")),))}
    said = verdict(tmp_path, notebook(
        ("my_dense", "def my_dense(a, W, b, g):\n    return g(a @ W)[:, ::-1] * 2")), wide)
    assert said == ("my_dense(<float64 array of shape (4, 20)>, <float64 array of shape "
                    "(20, 5)>, [0., 0., 0., 0., 0.], positive) returned a float64 array of "
                    "shape (4, 5) that differs from the expected one in 20 of its 20 values; "
                    "the first at index (0, 0): 4., expected 2."), said


def test_cells_that_define_no_function_run_only_when_a_call_needs_them(tmp_path):
    """A model built in an answer cell above the function costs seconds in every call
    process: the first run has only the cells that define functions; a call that raises
    there (a constant it needs is in such a cell) is run again with every cell."""
    def run(constant_cell: str, body: str) -> tuple[list, str | None]:
        nb = notebook(("model", constant_cell),
                      ("my_dense", f"def my_dense(a, W, b, g):\n    {body}"))
        tries = verify_functions.calls(nb, TESTS)["my_dense"]
        (tmp_path / str(len(body))).mkdir(exist_ok=True)
        return ([json.loads(t["cells.json"]) for t in tries],
                verdict(tmp_path / str(len(body)), nb))

    model = "import time\nSCALE = 1.0\ntime.sleep(60)  # stands for a Keras model's seconds"
    # the first run skips the slow cell (with it, the call would exceed its budget)
    tries, problem = run(model, "return g(a @ W + b)")
    assert [len(cells) for cells in tries] == [1, 2] and problem is None
    # a function that needs the cell's constant: the first run raises, the second passes
    tries, problem = run("SCALE = 1.0", "return g(SCALE * (a @ W) + b)")
    assert problem is None
    tries, problem = run("SCALE = 2.0", "return g(SCALE * (a @ W) + b)")
    assert ", tanh) returned" in problem  # decided by the run with every cell: wrong


def test_a_function_is_named_as_module_and_function():
    with pytest.raises(ValueError, match="module:function"):
        Fn("tanh")
