"""Each function is judged on its own: one that hangs, crashes or leaves a loop in its cell
costs only its own tests.

The grader calls the student's functions outside the kernel (``call_functions``). main
called all of them in one process with one time budget: a `my_relu` that hung, or a loop
left at the top of its cell, zeroed a correct `my_softmax` too. Here the calls run as the
grader runs them (real processes, the real sandbox folder), first as main did (one process,
no alarm), then as shipped (a process and a time budget per function, an alarm per cell and
per call). The end-to-end case through `grade` is in the catalogue (test_catalogue.py).
"""

from __future__ import annotations

import io
import json

import nbformat
import numpy as np
import pytest

from autograder.grader.sandbox import call_functions, folder
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps import execute, verify_functions

from helpers import by_student, digit_assignment, make_cell

SOFTMAX = """def my_softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()"""
RELU = "def my_relu(z):\n    return np.maximum(z, 0)"
BROKEN_RELU = {
    # hangs when called, with the alarm blocked: only the grader's budget ends it
    "hangs": "import signal\n\ndef my_relu(z):\n"
             "    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
             "    while True:\n        pass",
    # ends its process when called
    "crashes": "import os\n\ndef my_relu(z):\n    os._exit(3)",
    # a right my_relu, and a loop left below it in the same cell
    "loops_in_its_cell": RELU + "\n\nwhile True:\n    pass",
    # a right my_relu, and its cell ends the process
    "exits_in_its_cell": RELU + "\n\nimport os\nos._exit(3)",
}
# The checks of the two functions executed() defines (not those of a function added later).
TESTS = {gid: check for gid, check in digit_assignment().function_checks().items()
         if check.function in ("my_relu", "my_softmax")}
FUNCTION_TESTS = tuple(TESTS)
BUDGET = 6  # seconds per function call process (30 when grading)
pytestmark = pytest.mark.slow  # processes that hang for their budget


def executed(relu: str) -> nbformat.NotebookNode:
    """The notebook's function part as the kernel left it: the answers, then their tests."""
    cells = [make_cell("code", "import numpy as np"),
             make_cell("code", relu, "my_relu", solution=True),
             make_cell("code", SOFTMAX, "my_softmax", solution=True)]
    cells += [make_cell("code", "pass", gid, grade=True, locked=True, points=10)
              for gid in FUNCTION_TESTS]
    return nbformat.v4.new_notebook(cells=cells)


def one_process(nb: nbformat.NotebookNode) -> dict[str, list[dict[str, bytes]]]:
    """main's way: every function's calls in one process, under one budget, tried once."""
    per_function = {function: tries[0]
                    for function, tries in verify_functions.calls(nb, TESTS).items()}
    every_cell = json.dumps(verify_functions.function_cells(nb, TESTS)).encode()
    merged = {"cells.json": every_cell, "calls.json": b"[]"}
    calls, inputs = [], {}
    for files in per_function.values():
        calls += json.loads(files["calls.json"])
        with np.load(io.BytesIO(files["inputs.npz"])) as data:
            inputs.update({name: data[name] for name in data.files})
    buffer = io.BytesIO()
    np.savez(buffer, **inputs)
    merged.update({"calls.json": json.dumps(calls).encode(), "inputs.npz": buffer.getvalue()})
    return {"my_relu": [merged]}


def verdicts(tmp_path, relu: str, split: bool) -> dict[str, str | None]:
    nb = executed(relu)
    box = folder.create(nbformat.writes(nb), tmp_path)
    calls = verify_functions.calls(nb, TESTS) if split else one_process(nb)
    returned = execute.call_functions(box, Limits(), calls, uid=None)
    if not split:  # what the one process returned stands for both functions
        returned["my_softmax"] = returned["my_relu"]
    return verify_functions.problems(returned, TESTS)


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """Budgets of seconds, not tens of seconds: the rule is the same."""
    monkeypatch.setattr(execute, "FUNCTION_SECONDS", BUDGET)
    monkeypatch.setattr(call_functions, "ALARM_SECONDS", 2)


@pytest.mark.parametrize("broken", BROKEN_RELU)
def test_one_process_for_all_lets_my_relu_cost_my_softmax_its_points(tmp_path, monkeypatch,
                                                                    broken):
    monkeypatch.setattr(call_functions, "ALARM_SECONDS", 0)  # and no alarm, as main had
    found = verdicts(tmp_path, BROKEN_RELU[broken], split=False)
    assert found["test_my_softmax"] and found["test_softmax_stability"], found


@pytest.mark.parametrize("broken", BROKEN_RELU)
def test_a_process_each_keeps_my_softmax_its_points(tmp_path, broken):
    found = verdicts(tmp_path, BROKEN_RELU[broken], split=True)
    assert found["test_my_softmax"] is None and found["test_softmax_stability"] is None, found
    relu = found["test_my_relu"]
    if broken == "hangs":
        assert relu.startswith(f"calling my_relu ran longer than {BUDGET} s"), relu
    elif broken in ("crashes", "exits_in_its_cell"):
        assert relu == "my_relu could not be called: its process ended with exit status 3"
    else:  # its cell was cut short after the function was defined: the function is fine
        assert relu is None


def test_an_honest_pair_is_confirmed_either_way(tmp_path):
    assert set(verdicts(tmp_path, RELU, split=True).values()) == {None}


def test_the_graded_class_keeps_my_softmax_when_my_relu_crashes(graded_class):
    tests = by_student(graded_class[1])["relu_crashes_outside"]["tests"]
    relu = tests.pop("test_my_relu")
    assert relu["points"] == 0
    assert relu["feedback"] == ("GraderCheck: my_relu could not be called: its process ended "
                                "with exit status 3")
    assert all(t["points"] == t["max_points"] for t in tests.values()), tests
