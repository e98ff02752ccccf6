"""Step, verify functions: the function tests decided again, outside the kernel.

A test cell runs in the student's kernel, where their code can patch numpy, builtins or the
objects the test compares. So after the notebook has ended, the sandbox calls each function
the assignment's ``FunctionCheck``s name on their inputs, each function in a fresh process
of its own (``autograder.grader.sandbox.call_functions``), which hands back plain arrays,
and here the grader compares them with the check's reference implementation. A test that
passed in the kernel but fails here scores 0, and the message says which input gave which output; a
function that hangs or crashes costs its own tests only.
"""

from __future__ import annotations

import ast
import io
import json

import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder.assignment import Fn, FunctionCheck, named
from autograder.grader.sandbox.boundary import Returned
from autograder.grader.steps import Graded
from autograder.student.notebook import grade_id, is_solution, nbgrader_meta
from autograder.student.verdicts import fail_test, score


def _case(gid: str, n: int) -> str:
    return f"{gid}-{n}"


def function_cells(nb: NotebookNode, tests: dict[str, FunctionCheck],
                   function: str | None = None) -> list[str]:
    """The student's function cells: every solution cell and every cell the student added,
    above the last function test (what comes later is not needed); with ``function``, only
    those that define a function or class, and not those that define another tested one
    (a model built and compiled in an answer cell costs seconds in every call process)."""
    last = max((i for i, c in enumerate(nb.cells) if grade_id(c) in tests), default=-1)
    others = {t.function for t in tests.values()} - {function}
    cells = []
    for cell in nb.cells[:last + 1]:
        if cell.cell_type == "code" and (is_solution(cell) or not nbgrader_meta(cell)):
            # IPython magics and shell escapes are not Python.
            source = "\n".join(line for line in cell.source.splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            defined = _defines(source)
            if function is None or (defined and not defined & others) or function in defined:
                cells.append(source)
    return cells


def _defines(source: str) -> set[str]:
    """The names a cell's top level defines as functions or classes (none when it is not
    Python)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def calls(nb: NotebookNode, tests: dict[str, FunctionCheck]
          ) -> dict[str, list[dict[str, bytes]]]:
    """For each tested function, what its ``call_functions`` process needs (the student's
    cells, the calls and the inputs), in the order to try: first only the cells that define
    functions or classes, without those of the other tested functions (a loop or an exit
    left in one function's cell must not cost another its tests; a model's cell is not
    run); then, if that run hangs, crashes or a call raises (a helper or a constant it
    needs is elsewhere), with every function cell."""
    cases: dict[str, tuple[list[dict], dict[str, np.ndarray]]] = {}
    for gid, test in tests.items():
        listed, inputs = cases.setdefault(test.function, ([], {}))
        for n, args in enumerate(test.arguments()):
            listed.append({"case": _case(gid, n), "function": test.function,
                           "args": [{"function": a.name} if isinstance(a, Fn) else
                                    {"array": f"{_case(gid, n)}/{k}"}
                                    for k, a in enumerate(args)]})
            inputs.update({f"{_case(gid, n)}/{k}": np.asarray(a) for k, a in enumerate(args)
                           if not isinstance(a, Fn)})
    found = {}
    for function, (listed, inputs) in cases.items():
        buffer = io.BytesIO()
        np.savez(buffer, **inputs)
        found[function] = []
        for cells in dict.fromkeys(json.dumps(function_cells(nb, tests, only))
                                   for only in (function, None)):
            found[function].append({"cells.json": cells.encode(),
                                    "calls.json": json.dumps(listed).encode(),
                                    "inputs.npz": buffer.getvalue()})
    return found


SHOWN = 12  # an argument of more values is shown by its shape and dtype


def _number(x) -> str:
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        return np.format_float_positional(x.item(), precision=6, trim=".")
    return str(x.item())


def _show(x: np.ndarray) -> str:
    """An array on one line, as nested lists (feedback keeps a reason's first line only);
    past SHOWN values, each long axis keeps its first and last three."""
    x = np.asarray(x)
    if x.ndim == 0:
        return _number(x)
    rows = [_show(row) for row in x]
    if x.size > SHOWN and len(rows) > 6:
        rows = [*rows[:3], "...", *rows[-3:]]
    return f"[{', '.join(rows)}]"


def _show_arg(x: np.ndarray) -> str:
    """An argument: its values when few, else its shape and dtype (a layer's 400 x 25
    weights would push the reason past what the feedback shows)."""
    x = np.asarray(x)
    return _show(x) if x.size <= SHOWN else f"<{x.dtype} array of shape {x.shape}>"


def _call(test: FunctionCheck, args: tuple) -> str:
    shown = (a.name.partition(":")[2] if isinstance(a, Fn) else _show_arg(a) for a in args)
    return f"{test.function}({', '.join(shown)})"


def _compare(test: FunctionCheck, args: tuple, out: np.ndarray, after: list[np.ndarray]
             ) -> str | None:
    call = _call(test, args)
    arrays = [a for a in args if not isinstance(a, Fn)]
    for before, now in zip(arrays, after, strict=True):
        if not np.array_equal(now, before):
            return f"{call} changed its input to {_show_arg(now)}: compute a new array instead"
    expected = test.reference(*(named(a.name) if isinstance(a, Fn) else a
                                for a in args))
    if out.shape != np.shape(expected):
        return (f"{call} returned shape {out.shape}, expected {np.shape(expected)}"
                + (" (the same shape as the input)" if len(args) == 1
                   and np.shape(expected) == np.shape(args[0]) else ""))
    close = np.isfinite(out) & np.isclose(out, expected, rtol=test.rtol, atol=test.atol)
    if close.all():
        return None
    if out.size <= SHOWN:
        return f"{call} returned {_show(out)}, expected {_show(expected)}"
    first = tuple(int(i) for i in np.argwhere(~close)[0])  # a long result: where it is wrong
    return (f"{call} returned a {out.dtype} array of shape {out.shape} that differs from the "
            f"expected one in {int((~close).sum())} of its {out.size} values; the first at "
            f"index {first}: {_number(out[first])}, expected "
            f"{_number(np.asarray(expected)[first])}")


def problems(returned: dict[str, Returned] | None, tests: dict[str, FunctionCheck]
             ) -> dict[str, str | None]:
    """grade id -> None (confirmed) or the reason the test fails, for each function test;
    ``returned``: each function's call, None when the notebook did not finish."""
    found: dict[str, str | None] = {}
    for gid, test in tests.items():
        got = (returned or {}).get(test.function)
        if got is None or got.problem:
            found[gid] = got.problem if got else \
                "your functions were not called (the notebook did not finish)"
            continue
        found[gid] = None
        for n, args in enumerate(test.arguments()):
            case = _case(gid, n)
            after = [f"after/{case}/{k}" for k, a in enumerate(args) if not isinstance(a, Fn)]
            if case in got.errors or not {f"out/{case}", *after} <= set(got.results):
                why = "; ".join(e for e in (got.errors.get(case, "gave no result"),
                                            got.errors.get("*")) if e)
                found[gid] = f"{_call(test, args)} {why}"
            else:
                found[gid] = _compare(test, args, got.results[f"out/{case}"],
                                      [got.results[k] for k in after])
            if found[gid]:
                break
    return found


def apply(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    """Fail, with the reason, every function test that passed in the kernel but not here."""
    tests = outcome.assignment.function_checks()
    passed = {gid for gid, r in score(nb).items() if gid in tests and r.points > 0}
    if passed:
        found = problems(outcome.functions, tests)
        for gid in sorted(passed):
            if found.get(gid):
                fail_test(nb, gid, "GraderCheck", found[gid])
    return nb
