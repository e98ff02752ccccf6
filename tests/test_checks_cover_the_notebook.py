"""Hidden-test inputs are written once, in the notebook's test cell, and grading.py's
function probes are checked against them: every input a test cell (public or hidden part)
passes to the tested function must be one the grader also calls it with outside the kernel,
so the verdict outside the kernel is at least as strict as the test.

The notebook's own test cells are run here, as the instructor's code, against the solution,
with the tested function wrapped to record what it is called with.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from autograder.assignment import Fn, FunctionCheck
from autograder.grader.assignments import load
from autograder.grader.steps.verify_functions import function_cells
from autograder.student.notebook import grade_id

from helpers import ROOT, TINY_GRADING, TINY_ID, tiny_source_notebook


def assignments():
    yield "digit_recognition", load(ROOT, "digit_recognition"), nbformat.read(
        ROOT / "solutions" / "digit_recognition" / "digit_recognition.ipynb", as_version=4)
    yield TINY_ID, load(TINY_GRADING.parents[2], TINY_ID), tiny_source_notebook()


def calls_made(nb, tests: dict[str, FunctionCheck], gid: str) -> list[tuple]:
    """What the test cell ``gid`` calls its function with, run against the solution."""
    check = tests[gid]
    namespace = {"np": np, "numpy": np}
    for source in function_cells(nb, tests):
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
    if isinstance(probe, Fn) or callable(arg):
        return isinstance(probe, Fn) and callable(arg) and \
            getattr(arg, "__name__", None) == probe.name.partition(":")[2]
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
