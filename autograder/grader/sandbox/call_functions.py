"""Runs inside the sandbox, in a fresh process: call one of a student's functions on the
grader's inputs and save what it returns as plain arrays.

Started by the grader after the notebook and everything it started have ended, once per
tested function (so that one function's hang, crash or exit costs only its own tests), as
``python -m autograder.grader.sandbox.call_functions FOLDER [ALARM]``. FOLDER, made new by
the grader (``boundary.new_folder``), holds

- ``cells.json``   the student's function cells (their solution cells and their own cells
  above the function tests), in order;
- ``calls.json``   ``[{"case": id, "function": name, "args": [argument, ...]}, ...]``, each
  argument ``{"array": key}`` (in ``inputs.npz``) or ``{"function": "module:function"}``
  (numpy's or a helper package's, imported and taken before any student cell runs);
- ``inputs.npz``   the array arguments, by key.

Each cell runs on its own, and each call, under an alarm of ALARM seconds (0: none): a cell
that does not finish (an endless loop left in another function's cell) is skipped with a
note, and a call that does not return fails its case, and the function's later cases are
not called. The grader's watch on the process ends it past its time, whatever student code
did to the alarm.

It writes ``results.npz`` (``out/<case>``: the returned value as a numeric array,
``after/<case>/<k>``: array argument k after the call) and ``errors.json`` (case -> why there is no
output; ``*``: the cells that could not run). Only numbers leave this process (no pickle):
the grader compares them with its own expected values, so nothing the student's code patches
here can change a verdict except by returning the right numbers.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

# Taken before any student code runs: patching numpy later does not change these.
_asarray, _array, _savez = np.asarray, np.array, np.savez
NUMERIC_KINDS = "biuf"
MAX_ELEMENTS = 10**6
# A function cell defines functions, and a call takes milliseconds: anything this long is a
# loop left behind. The grader passes it (and the tests a shorter one).
ALARM_SECONDS = 10


class _OutOfTime(BaseException):
    pass


def _alarm(signum, frame):
    raise _OutOfTime


@contextlib.contextmanager
def _within(seconds: int):
    """Interrupt the block after ``seconds``, if any (SIGALRM; the grader's watch is the
    backstop)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)


def _student_namespace() -> dict:
    import math

    class _LazyTensorFlow:  # TensorFlow costs seconds to import; most functions never use it
        def __getattr__(self, name):
            import tensorflow

            return getattr(tensorflow, name)

    return {"__name__": "__student__", "np": np, "numpy": np, "math": math,
            "tf": _LazyTensorFlow()}


def _import_tensorflow() -> None:
    try:
        import tensorflow  # noqa: F401
    except BaseException:  # the cells that use it will say so
        pass


def _problem(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _as_numbers(value) -> np.ndarray:
    arr = _asarray(value)
    if arr.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"its values are of type {arr.dtype}")
    if arr.size > MAX_ELEMENTS:
        raise ValueError(f"returned {arr.size} numbers")
    return _array(arr, dtype=np.float64 if arr.dtype.kind == "f" else arr.dtype, copy=True)


def run_cells(cells: list[str], namespace: dict, alarm: int) -> list[str]:
    """Run each cell in ``namespace``; what went wrong, cell by cell."""
    problems = []
    for n, source in enumerate(cells, 1):
        try:
            with _within(alarm):
                exec(compile(source, f"your cell {n}", "exec"), namespace)
        except _OutOfTime:
            problems.append(f"your function cell {n} did not finish within {alarm} s "
                            "and was skipped")
        except BaseException as exc:  # the functions may still be defined above the error
            problems.append(f"your function cell {n} could not run: {_problem(exc)}")
    return problems


def call(function, arguments: list, case: str, results: dict, errors: dict, alarm: int
         ) -> bool:
    """Call ``function(*arguments)`` for ``case``; False when it did not return in time."""
    try:
        with _within(alarm):
            returned = function(*arguments)
    except _OutOfTime:
        errors[case] = f"did not return within {alarm} s"
        return False
    except BaseException as exc:
        errors[case] = f"raised {_problem(exc)}"
        return True
    try:
        results[f"out/{case}"] = _as_numbers(returned)
        for k, argument in enumerate(arguments):
            if not callable(argument):
                results[f"after/{case}/{k}"] = _as_numbers(argument)
    except BaseException as exc:
        errors[case] = (f"returned a {type(returned).__name__}, which is not a number or a "
                        f"numeric array ({_problem(exc)})")
    return True


def _argument(spec: dict, inputs: dict, functions: dict):
    """An array argument as a fresh copy (a 0-d one as a plain Python number, as a student
    would pass it), or the function it names."""
    if "function" in spec:
        return functions[spec["function"]]
    value = _array(inputs[spec["array"]])
    return value.item() if value.ndim == 0 else value


def _functions(calls: list[dict]) -> dict:
    """Every function an argument names, imported now, before any student cell runs (a
    cell that patches the module later does not change what is passed)."""
    from autograder.assignment import named

    found = {}
    for entry in calls:
        for spec in entry["args"]:
            if "function" in spec and spec["function"] not in found:
                found[spec["function"]] = named(spec["function"])
    return found


def run(folder: Path, alarm: int = ALARM_SECONDS) -> None:
    cells = json.loads((folder / "cells.json").read_text(encoding="utf-8"))
    calls = json.loads((folder / "calls.json").read_text(encoding="utf-8"))
    with np.load(folder / "inputs.npz", allow_pickle=False) as data:
        inputs = {name: _array(data[name]) for name in data.files}
    errors: dict[str, str] = {}
    results: dict[str, np.ndarray] = {}
    functions = _functions(calls)
    namespace = _student_namespace()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        if any("tf." in cell or "tensorflow" in cell for cell in cells):
            _import_tensorflow()  # seconds, and not the cells' or the calls' to spend
        problems = run_cells(cells, namespace, alarm)
        if problems:
            errors["*"] = "; ".join(problems)
        stuck = None
        for entry in calls:
            case, name = entry["case"], entry["function"]
            function = namespace.get(name)
            if stuck:
                errors[case] = f"not called: {stuck}"
            elif not callable(function):
                errors[case] = f"could not be called: {name} is not defined"
            else:
                arguments = [_argument(spec, inputs, functions) for spec in entry["args"]]
                if not call(function, arguments, case, results, errors, alarm):
                    stuck = f"an earlier call of {name} did not return"
    _savez(folder / "results.npz", **results)
    (folder / "errors.json").write_text(json.dumps(errors), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    run(Path(args[0]), int(args[1]) if len(args) > 1 else ALARM_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
