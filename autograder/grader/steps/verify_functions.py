"""Step, verify functions: the function tests decided again, outside the kernel.

A test cell runs in the student's kernel, where their code can patch numpy, builtins or the
objects the test compares. So after the notebook has ended, the sandbox calls the student's
``my_relu`` and ``my_softmax`` on the inputs below, each function in a fresh process of its
own (``autograder.grader.sandbox.call_functions``), which hands back plain arrays, and here
the grader compares them with values it computes with its own numpy. A test that passed in
the kernel but fails here scores 0, and the message says which input gave which output; a
function that hangs or crashes costs its own tests only.
"""

from __future__ import annotations

import ast
import io
import json
from dataclasses import dataclass

import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder.grader.sandbox.boundary import Returned
from autograder.grader.steps import Outcome
from autograder.student.notebook import grade_id, is_solution, nbgrader_meta
from autograder.student.verdicts import fail_test, score

RTOL, ATOL = 1e-6, 1e-9


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass(frozen=True)
class FunctionTest:
    function: str
    reference: object          # the grader's own implementation
    inputs: tuple[np.ndarray, ...]


_rng = np.random.default_rng(20240917)
# grade id -> the function it tests and the inputs it is checked on (numbers, shapes, dtypes
# as the notebook's public and hidden tests use them).
FUNCTION_TESTS = {
    "test_my_relu": FunctionTest("my_relu", relu, (
        np.array([-2.0, -0.5, 0.0, 0.5, 3.0]),
        _rng.normal(scale=10.0, size=(4, 3, 5)),
        np.array([[-7.5, 0.25], [1e6, -1e-9]]),
        np.array([-3, 0, 2, -1]),
        np.array([-1.5, 2.0, -0.25], dtype=np.float32),
        np.array(-3.0), np.array(2.5), np.array(7),
    )),
    "test_my_softmax": FunctionTest("my_softmax", softmax, (
        np.array([1.0, 2.0, 3.0, 4.0]),
        np.array([0.5, -1.25, 3.0, 2.0, -0.75]),
        np.array([-2.3, 4.1, 0.0, 1.7, -0.4, 2.2, 3.3, -5.0, 0.9, 1.1]),
        np.array([7.0]),
        np.array([-1.0, -1.0, -1.0, -1.0]),
        np.array([0.1, 0.2, 0.7], dtype=np.float32),
    )),
    "test_softmax_stability": FunctionTest("my_softmax", softmax, (
        np.array([1000.0, 1001.0]),
        np.array([-1000.0, -1001.0]),
        np.array([10000.0, 0.0]),
        np.array([800.0, 800.0, 800.0]),
        np.array([-745.0, 709.0, 709.0]),
        np.array([1000.0, 1001.0], dtype=np.float32),
    )),
}


def _case(gid: str, n: int) -> str:
    return f"{gid}-{n}"


def function_cells(nb: NotebookNode, function: str | None = None) -> list[str]:
    """The student's function cells: every solution cell and every cell the student added,
    above the last function test (the model and training come later and are not needed);
    with ``function``, not those that define another tested function and not this one."""
    last = max((i for i, c in enumerate(nb.cells) if grade_id(c) in FUNCTION_TESTS), default=-1)
    others = {t.function for t in FUNCTION_TESTS.values()} - {function}
    cells = []
    for cell in nb.cells[:last + 1]:
        if cell.cell_type == "code" and (is_solution(cell) or not nbgrader_meta(cell)):
            # IPython magics and shell escapes are not Python.
            source = "\n".join(line for line in cell.source.splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            defined = _defines(source)
            if function is None or not (defined & others) or function in defined:
                cells.append(source)
    return cells


def _defines(source: str) -> set[str]:
    """The names a cell's top level defines as functions (none when it is not Python)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def calls(nb: NotebookNode) -> dict[str, list[dict[str, bytes]]]:
    """For each tested function, what its ``call_functions`` process needs (the student's
    cells, the calls and the inputs), in the order to try: with every function cell, then,
    if that run hangs or crashes, without the cells of the other tested functions (a loop
    or an exit left in my_relu's cell must not cost my_softmax its tests, yet a helper it
    defines is there when my_softmax uses it)."""
    cases: dict[str, tuple[list[dict], dict[str, np.ndarray]]] = {}
    for gid, test in FUNCTION_TESTS.items():
        listed, inputs = cases.setdefault(test.function, ([], {}))
        for n, x in enumerate(test.inputs):
            listed.append({"case": _case(gid, n), "function": test.function})
            inputs[_case(gid, n)] = x
    found = {}
    for function, (listed, inputs) in cases.items():
        buffer = io.BytesIO()
        np.savez(buffer, **inputs)
        found[function] = []
        for cells in dict.fromkeys(json.dumps(function_cells(nb, only))
                                   for only in (None, function)):
            found[function].append({"cells.json": cells.encode(),
                                    "calls.json": json.dumps(listed).encode(),
                                    "inputs.npz": buffer.getvalue()})
    return found


def _show(x: np.ndarray) -> str:
    return np.array2string(np.asarray(x), precision=6, threshold=12, separator=", ")


def _compare(test: FunctionTest, x: np.ndarray, out: np.ndarray, after: np.ndarray
             ) -> str | None:
    call = f"{test.function}({_show(x)})"
    if not np.array_equal(after, x):
        return f"{call} changed its input to {_show(after)}: compute a new array instead"
    expected = test.reference(x)
    if out.shape != np.shape(expected):
        return (f"{call} returned shape {out.shape}, expected {np.shape(expected)} "
                "(the same shape as the input)")
    if not np.all(np.isfinite(out)) or not np.allclose(out, expected, rtol=RTOL, atol=ATOL):
        return f"{call} returned {_show(out)}, expected {_show(expected)}"
    return None


def problems(returned: dict[str, Returned] | None) -> dict[str, str | None]:
    """grade id -> None (confirmed) or the reason the test fails, for each function test;
    ``returned``: each function's call, None when the notebook did not finish."""
    found: dict[str, str | None] = {}
    for gid, test in FUNCTION_TESTS.items():
        got = (returned or {}).get(test.function)
        if got is None or got.problem:
            found[gid] = got.problem if got else \
                "your functions were not called (the notebook did not finish)"
            continue
        found[gid] = None
        for n, x in enumerate(test.inputs):
            case = _case(gid, n)
            if case in got.errors or not {f"out/{case}", f"after/{case}"} <= set(got.results):
                why = "; ".join(e for e in (got.errors.get(case, "gave no result"),
                                            got.errors.get("*")) if e)
                found[gid] = f"{test.function}({_show(x)}) {why}"
            else:
                found[gid] = _compare(test, x, got.results[f"out/{case}"],
                                      got.results[f"after/{case}"])
            if found[gid]:
                break
    return found


def apply(nb: NotebookNode, outcome: Outcome) -> NotebookNode:
    """Fail, with the reason, every function test that passed in the kernel but not here."""
    passed = {gid for gid, r in score(nb).items() if gid in FUNCTION_TESTS and r.points > 0}
    if passed:
        found = problems(outcome.functions)
        for gid in sorted(passed):
            if found.get(gid):
                fail_test(nb, gid, "GraderCheck", found[gid])
    return nb

