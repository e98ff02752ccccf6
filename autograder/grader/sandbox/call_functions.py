"""Runs inside the sandbox, in a fresh process: call a student's functions on the grader's
inputs and save what they return as plain arrays.

Started by the grader after the notebook and everything it started have ended, as
``python -m autograder.grader.sandbox.call_functions FOLDER``. FOLDER holds

- ``functions.py``  the student's function cells (their solution cells and their own cells
  above the function tests), written by the grader from the executed notebook;
- ``calls.json``    ``[{"case": id, "function": name}, ...]``;
- ``inputs.npz``    one input array per case.

It writes ``results.npz`` (``out/<case>``: the returned value as a numeric array,
``after/<case>``: the input after the call) and ``errors.json`` (case -> why there is no
output). Only numbers leave this process (no pickle): the grader compares them with its own
expected values, so nothing the student's code patches here can change a verdict except by
returning the right numbers.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

import numpy as np

# Taken before any student code runs: patching numpy later does not change these.
_asarray, _array, _savez = np.asarray, np.array, np.savez
NUMERIC_KINDS = "biuf"
MAX_ELEMENTS = 10**6


def _student_namespace() -> dict:
    import math

    class _LazyTensorFlow:  # TensorFlow costs seconds to import; most functions never use it
        def __getattr__(self, name):
            import tensorflow

            return getattr(tensorflow, name)

    return {"__name__": "__student__", "np": np, "numpy": np, "math": math,
            "tf": _LazyTensorFlow()}


def _problem(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _as_numbers(value) -> np.ndarray:
    arr = _asarray(value)
    if arr.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"its values are of type {arr.dtype}")
    if arr.size > MAX_ELEMENTS:
        raise ValueError(f"returned {arr.size} numbers")
    return _array(arr, dtype=np.float64 if arr.dtype.kind == "f" else arr.dtype, copy=True)


def run(folder: Path) -> None:
    calls = json.loads((folder / "calls.json").read_text(encoding="utf-8"))
    with np.load(folder / "inputs.npz", allow_pickle=False) as data:
        inputs = {name: _array(data[name]) for name in data.files}
    errors: dict[str, str] = {}
    results: dict[str, np.ndarray] = {}
    namespace = _student_namespace()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            code = compile((folder / "functions.py").read_text(encoding="utf-8"),
                           "your notebook", "exec")
            exec(code, namespace)
        except BaseException as exc:  # the functions may still be defined above the error
            errors["*"] = f"your function cells could not run: {_problem(exc)}"
        for call in calls:
            case, name = call["case"], call["function"]
            function = namespace.get(name)
            if not callable(function):
                errors[case] = f"could not be called: {name} is not defined"
                continue
            argument = _array(inputs[case])
            if argument.ndim == 0:
                argument = argument.item()  # a plain Python number, as a student would pass
            try:
                returned = function(argument)
            except BaseException as exc:
                errors[case] = f"raised {_problem(exc)}"
                continue
            try:
                results[f"out/{case}"] = _as_numbers(returned)
                results[f"after/{case}"] = _as_numbers(argument)
            except BaseException as exc:
                errors[case] = (f"returned a {type(returned).__name__}, which is not a "
                                f"number or a numeric array ({_problem(exc)})")
    _savez(folder / "results.npz", **results)
    (folder / "errors.json").write_text(json.dumps(errors), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    run(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
