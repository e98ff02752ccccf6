"""Step, verify functions: the function tests decided again, outside the kernel.

A test cell runs in the student's kernel, where their code can patch numpy, builtins or the
objects the test compares. So after the notebook has ended, the sandbox calls the student's
``my_relu`` and ``my_softmax`` in a fresh process on the inputs below
(``autograder.grader.sandbox.call_functions``), which hands back plain arrays, and here the
grader compares them with values it computes with its own numpy. A test that passed in the
kernel but fails here scores 0, and the message says which input gave which output.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder.grader.steps import Outcome
from autograder.student.notebook import grade_id, is_solution, nbgrader_meta
from autograder.student.verdicts import fail_test, score

RTOL, ATOL = 1e-6, 1e-9
MAX_RESULT_BYTES = 16 * 2**20


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


def function_source(nb: NotebookNode) -> str:
    """The student's function cells: every solution cell and every cell the student added,
    above the last function test (the model and training come later and are not needed)."""
    last = max((i for i, c in enumerate(nb.cells) if grade_id(c) in FUNCTION_TESTS), default=-1)
    chunks = []
    for cell in nb.cells[:last + 1]:
        if cell.cell_type == "code" and (is_solution(cell) or not nbgrader_meta(cell)):
            # IPython magics and shell escapes are not Python.
            lines = [line for line in cell.source.splitlines()
                     if not line.lstrip().startswith(("%", "!"))]
            chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def files(nb: NotebookNode) -> dict[str, bytes]:
    """What ``call_functions`` needs: the student's source, the calls and the inputs."""
    calls, inputs = [], {}
    for gid, test in FUNCTION_TESTS.items():
        for n, x in enumerate(test.inputs):
            calls.append({"case": _case(gid, n), "function": test.function})
            inputs[_case(gid, n)] = x
    buffer = io.BytesIO()
    np.savez(buffer, **inputs)
    return {"functions.py": function_source(nb).encode("utf-8"),
            "calls.json": json.dumps(calls).encode("utf-8"),
            "inputs.npz": buffer.getvalue()}


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


def problems(folder: Path | None, failure: str | None) -> dict[str, str | None]:
    """grade id -> None (confirmed) or the reason the test fails, for each function test."""
    if folder is None or failure:
        reason = failure or "your functions were not called (the notebook did not finish)"
        return dict.fromkeys(FUNCTION_TESTS, reason)
    try:
        errors = _read_errors(folder)
        with np.load(_safe(folder / "results.npz"), allow_pickle=False) as data:
            results = {name: np.array(data[name]) for name in data.files}
    except (OSError, ValueError) as exc:
        return dict.fromkeys(FUNCTION_TESTS,
                             f"the results of your functions are unreadable: {exc}")
    found: dict[str, str | None] = {}
    for gid, test in FUNCTION_TESTS.items():
        found[gid] = None
        for n, x in enumerate(test.inputs):
            case = _case(gid, n)
            if case in errors or f"out/{case}" not in results:
                why = "; ".join(e for e in (errors.get(case, "gave no result"), errors.get("*"))
                                if e)
                found[gid] = f"{test.function}({_show(x)}) {why}"
            else:
                found[gid] = _compare(test, x, results[f"out/{case}"], results[f"after/{case}"])
            if found[gid]:
                break
    return found


def _safe(path: Path) -> Path:
    # Written by student code's uid: never follow a link it may have left in its place.
    if path.is_symlink() or (path.exists() and path.stat().st_size > MAX_RESULT_BYTES):
        raise ValueError(f"{path.name} is not a plain file of a sensible size")
    return path


def _read_errors(folder: Path) -> dict[str, str]:
    errors = json.loads(_safe(folder / "errors.json").read_text(encoding="utf-8"))
    if not isinstance(errors, dict):
        raise ValueError("errors.json is not an object")
    return {str(k): str(v)[:300] for k, v in errors.items()}


def apply(nb: NotebookNode, outcome: Outcome) -> NotebookNode:
    """Fail, with the reason, every function test that passed in the kernel but not here."""
    passed = {gid for gid, r in score(nb).items() if gid in FUNCTION_TESTS and r.points > 0}
    if passed:
        found = problems(outcome.functions_dir, outcome.functions_problem)
        for gid in sorted(passed):
            if found.get(gid):
                fail_test(nb, gid, "GraderCheck", found[gid])
    return nb

