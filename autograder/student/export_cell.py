"""Source of a code cell that saves a notebook's trained model for grading outside the kernel.

Run the returned source in the notebook's kernel after the notebook itself. It writes

- ``<out_dir>/model.keras``   the global ``model`` (``model.save``), if there is one;
- ``<out_dir>/history.json``  ``history.history`` (lists of floats), if ``history`` exists;
- ``<out_dir>/export.json``   ``{"model": bool, "history": bool, "error": null | str}``.

The cell never raises and prints nothing (stdout, stderr and warnings are swallowed while
it runs): every problem ends up in ``export.json["error"]``. It runs in a namespace of its
own with the real builtins, so student code that shadowed ``open``, ``json`` or
``Exception`` cannot break it; only ``model`` and ``history`` are read from the notebook.
"""

from __future__ import annotations

# Executed with exec() in a fresh namespace holding `out_dir` (str) and `user_ns` (the
# notebook's globals). Everything it needs is imported here.
_EXPORT_BODY = '''
import contextlib, io, json, os, traceback, warnings

def _problem(what, exc):
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"{what}: {last}"

report = {"model": False, "history": False, "error": None}
errors = []
sink = io.StringIO()
with (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink),
      warnings.catch_warnings()):
    warnings.simplefilter("ignore")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except BaseException as exc:
        errors.append(_problem("cannot create the export folder", exc))
    model = user_ns.get("model")
    if model is None:
        errors.append("the notebook defines no variable named model")
    else:
        path = os.path.join(out_dir, "model.keras")
        try:
            model.save(path)
            report["model"] = os.path.isfile(path)
            if not report["model"]:
                errors.append("model.save wrote no file")
        except BaseException as exc:
            errors.append(_problem("cannot save model", exc))
    history = user_ns.get("history")
    if history is not None:
        try:
            data = getattr(history, "history", history)
            data = {str(k): [float(v) for v in values] for k, values in dict(data).items()}
            with open(os.path.join(out_dir, "history.json"), "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            report["history"] = True
        except BaseException as exc:
            errors.append(_problem("cannot save history", exc))
    report["error"] = "; ".join(errors) or None
    try:
        with open(os.path.join(out_dir, "export.json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh)
    except BaseException:
        pass
'''


def export_cell_source(out_dir: str) -> str:
    """Python source for a cell that exports ``model``/``history`` into ``out_dir``."""
    return (
        "# autograder: export the trained model for grading outside this kernel\n"
        "import builtins as __autograder_builtins\n"
        "try:\n"
        "    __autograder_builtins.exec(\n"
        f"        {_EXPORT_BODY!r},\n"
        "        {'__builtins__': __autograder_builtins,\n"
        f"         'out_dir': {str(out_dir)!r},\n"
        "         'user_ns': __autograder_builtins.globals()},\n"
        "    )\n"
        "except __autograder_builtins.BaseException:\n"
        "    pass\n"
        "del __autograder_builtins\n"
    )
