"""Source of a code cell that saves a notebook's trained model for grading outside the kernel.

Run the returned source in the notebook's kernel after the notebook itself. It writes

- ``<out_dir>/model.keras``   the global ``model`` (``model.save``), if there is one;
- ``<out_dir>/history.json``  ``history.history`` (lists of floats), if ``history`` exists;
- ``<out_dir>/export.json``   ``{"model": bool, "history": bool, "error": null | str}``.

The cell never raises and prints nothing (stdout, stderr and warnings are swallowed while
it runs): every problem ends up in ``export.json["error"]``. It runs in a namespace of its
own with the real builtins, so student code that shadowed ``open``, ``json`` or
``Exception`` cannot break it; only ``model`` and ``history`` are read from the notebook.

Student code runs before it and can replace any of these files (by a link, a FIFO, a huge
file, or bytes of its choosing), so :func:`read_exported` reads them back as untrusted data:
never through a link, each capped (``autograder.untrusted``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder import untrusted

FOLDER = "export"
MODEL, HISTORY, REPORT = "model.keras", "history.json", "export.json"
# A course's small Dense models and their histories are far below these.
MODEL_BYTES = 20 * 2**20
HISTORY_BYTES = 2**20
REPORT_BYTES = 64 * 2**10
NOT_SAVED = "the notebook did not finish, so no model was saved"

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


@dataclass
class Exported:
    """What the export cell left, as bytes read under ``autograder.untrusted``'s rules."""

    report: dict | None = None     # export.json; None: missing or refused
    model: bytes | None = None
    history: bytes | None = None
    refused: list[str] = field(default_factory=list)  # why a file was not read (a link, ...)

    def problem(self) -> str | None:
        """Why no model can be checked, or None when there is one."""
        if self.refused:
            return "the exported files were not read: " + "; ".join(self.refused)
        if self.report is None:
            return NOT_SAVED
        if not self.report.get("model") or self.model is None:
            error = self.report.get("error")
            return str(error)[:500] if error else "no model was saved"
        return None


def read_exported(folder: Path | int, under: str = FOLDER) -> Exported:
    """The export folder ``folder/under`` (``folder``: a path or a folder descriptor)."""
    found = Exported()
    for name, limit in ((REPORT, REPORT_BYTES), (MODEL, MODEL_BYTES), (HISTORY, HISTORY_BYTES)):
        try:
            data = untrusted.read_bytes(folder, PurePosixPath(under, name), limit)
        except FileNotFoundError:
            continue
        except (untrusted.Refused, OSError) as exc:
            found.refused.append(str(exc))
            continue
        if name == REPORT:
            found.report = _report(data, found.refused)
        elif name == MODEL:
            found.model = data
        else:
            found.history = data
    return found


def _report(data: bytes, refused: list[str]) -> dict | None:
    try:
        report = json.loads(data)
    except (ValueError, RecursionError):
        report = None
    if not isinstance(report, dict):
        refused.append(f"{REPORT} is not the report the export cell writes")
        return None
    return report
