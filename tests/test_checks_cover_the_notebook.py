"""Hidden-test inputs are written once, in the notebook's test cell, and grading.py's
function probes are checked against them: every input a test cell (public or hidden part)
passes to the tested function must be one the grader also calls it with outside the kernel,
so the verdict outside the kernel is at least as strict as the test.

The notebook's own test cells are run here, as the instructor's code, against the solution,
with the tested function wrapped to record what it is called with. A function the test cell
passes as an argument (digit_recognition_binary's activation ``g``) matches a probe's
``Fn("module:function")`` only when it is that very function, as the call process imports it
by name: a lambda that behaves like ``numpy.positive`` is not probed by ``Fn("numpy:positive")``.
"""

from __future__ import annotations

import ast

import nbformat
import numpy as np
import pytest

import digit_helpers
from autograder.assignment import Fn, FunctionCheck, named
from autograder.grader.assignments import load
from autograder.grader.steps.verify_functions import function_cells
from autograder.student.notebook import grade_id

from helpers import (
    BINARY_ID,
    BINARY_SOLUTION,
    ROOT,
    TINY_GRADING,
    TINY_ID,
    tiny_source_notebook,
)


def assignments():
    yield "digit_recognition", load(ROOT, "digit_recognition"), nbformat.read(
        ROOT / "solutions" / "digit_recognition" / "digit_recognition.ipynb", as_version=4)
    yield BINARY_ID, load(ROOT, BINARY_ID), nbformat.read(BINARY_SOLUTION, as_version=4)
    yield TINY_ID, load(TINY_GRADING.parents[2], TINY_ID), tiny_source_notebook()


def defined(source: str) -> set[str]:
    """The functions a cell's top level defines."""
    return {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}


def calls_made(nb, tests: dict[str, FunctionCheck], gid: str) -> list[tuple]:
    """What the test cell ``gid`` calls its function with, run against the solution (only
    the answer cells that define a tested function: the binary's ``model`` cell needs Keras,
    which no tested function uses)."""
    check = tests[gid]
    namespace = {"np": np, "numpy": np}
    functions = {c.function for c in tests.values()}
    for source in function_cells(nb, tests):
        if defined(source) & functions:
            exec(compile(source, "solution", "exec"), namespace)
    function, seen = namespace[check.function], []

    def recording(*args):
        seen.append(tuple(a if callable(a) else np.array(a) for a in args))
        return function(*args)

    namespace[check.function] = recording
    [cell] = [c for c in nb.cells if grade_id(c) == gid]
    exec(compile(cell.source, gid, "exec"), namespace)
    return seen


def probed(args: tuple, check: FunctionCheck) -> bool:
    """Whether the check calls its function with ``args`` (same values, same kind of
    numbers: a float array is not an integer one; a function argument by its name)."""
    return any(len(probe) == len(args) and all(
        same(a, p) for a, p in zip(args, probe, strict=True)) for probe in check.arguments())


def same(arg, probe) -> bool:
    """An array equals an array probe; a function is the very one the probe's ``Fn`` names
    (what the call process imports), not one of the same name or behaviour."""
    if isinstance(probe, Fn) or callable(arg):
        return isinstance(probe, Fn) and named(probe.name) is arg
    return (np.shape(arg) == np.shape(probe)
            and np.asarray(arg).dtype.kind == np.asarray(probe).dtype.kind
            and np.array_equal(arg, probe))


@pytest.mark.parametrize("assignment_id, assignment, nb", list(assignments()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_input_of_a_function_test_is_probed_outside_the_kernel(assignment_id,
                                                                      assignment, nb):
    tests = assignment.function_checks()
    assert tests, f"{assignment_id} has no function checks to compare"
    for gid, check in tests.items():
        made = calls_made(nb, tests, gid)
        assert made, f"{gid} never calls {check.function}"
        missing = [args for args in made if not probed(args, check)]
        assert not missing, (f"{assignment_id}/{gid} calls {check.function} with inputs that "
                             f"grading.py does not probe: {missing}")


def test_a_probe_that_misses_a_hidden_input_is_caught():
    """The comparison itself: drop the hidden test's last input from the probe, and the
    check above would fail."""
    assignment = load(TINY_GRADING.parents[2], TINY_ID)
    check = assignment.function_checks()["test_add"]
    made = calls_made(tiny_source_notebook(), assignment.function_checks(), "test_add")
    fewer = FunctionCheck(check.function, check.reference, check.inputs[:-1])
    assert all(probed(args, check) for args in made)
    assert not all(probed(args, fewer) for args in made)


def test_a_function_argument_matches_only_the_function_its_fn_names():
    """The call process passes ``g`` by name, so a notebook input is probed only when it is
    that function: not a lambda with the same values, nor another function of the same name
    (which the comparison by ``__name__`` it replaces accepted)."""

    def sigmoid(z):  # the same name and values as digit_helpers.sigmoid
        return 1 / (1 + np.exp(-z))

    assert same(np.positive, Fn("numpy:positive"))
    assert same(np.tanh, Fn("numpy:tanh"))
    assert same(digit_helpers.sigmoid, Fn("digit_helpers:sigmoid"))
    assert not same(lambda z: z, Fn("numpy:positive"))
    assert not same(sigmoid, Fn("digit_helpers:sigmoid"))
    assert not same(np.tanh, Fn("numpy:positive"))
    assert not same(np.array([1.0]), Fn("numpy:positive"))
    assert not same(np.positive, np.array([1.0]))


def test_a_probe_with_another_activation_than_the_hidden_test_is_caught():
    """The binary's hidden tests pass ``numpy.positive`` as ``g``: probes that use another
    function on the same arrays would leave that input unprobed."""
    assignment = load(ROOT, BINARY_ID)
    tests = assignment.function_checks()
    made = calls_made(nbformat.read(BINARY_SOLUTION, as_version=4), tests, "test_my_dense")
    check = tests["test_my_dense"]
    swapped = FunctionCheck(check.function, check.reference, tuple(
        (*probe[:3], Fn("numpy:tanh")) if probe[3] == Fn("numpy:positive") else probe
        for probe in check.arguments()))
    assert any(args[3] is np.positive for args in made)
    assert all(probed(args, check) for args in made)
    assert not all(probed(args, swapped) for args in made)
