"""Step, redact: no hidden-test text in anything the student is shown.

The kernel remembers every cell it ran, hidden tests included, so student code can print
them, display them, or raise an error whose message quotes them. Every output of every cell
(streams, displayed and returned data, error names, messages and tracebacks) is scrubbed of
the hidden lines here, after the verdicts are written and before anything reads the
notebook for a student: the grade JSON and the gradebook's comments, the CI summary,
Gradescope's output, and the feedback page (where ``HideHiddenTests`` also removes the
tests' source). The matching rule is ``autograder.grader.hide_hidden.reveals``.
"""

from __future__ import annotations

import json

from nbformat.notebooknode import NotebookNode, from_dict

from autograder.grader.hide_hidden import reveals, scrub_text
from autograder.grader.steps import Graded

MARK = "[hidden test text removed]\n"
# Data that is text, and may be shown; images are not read (see hide_hidden's docstring).
TEXT_DATA = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml",
             "application/javascript", "text/javascript")


def redact_text(text: str, secret: frozenset[str]) -> str:
    """``text`` with every line that reveals hidden source replaced by a mark."""
    return scrub_text(text, secret, MARK) if secret else text


def _points(text: str) -> bool:
    try:  # a test cell's partial grade, which scoring reads
        float(text)
    except ValueError:
        return False
    return True


def _data(data: dict, secret: frozenset[str]) -> None:
    for mime, value in list(data.items()):
        text = "".join(value) if isinstance(value, list) else value
        if mime in TEXT_DATA and isinstance(text, str) and not _points(text):
            data[mime] = redact_text(text, secret)
        elif mime.endswith("json") and reveals(json.dumps(value), secret):
            data[mime] = {"redacted": MARK.strip()}


def redact_output(output: NotebookNode, secret: frozenset[str]) -> None:
    kind = output.get("output_type")
    if kind == "stream":
        output.text = redact_text(output.get("text", ""), secret)
    elif kind == "error":
        output.ename = redact_text(output.get("ename", ""), secret).strip() or "Error"
        output.evalue = redact_text(output.get("evalue", ""), secret)
        output.traceback = [redact_text(line, secret) for line in output.get("traceback", [])]
    elif kind in ("display_data", "execute_result"):
        _data(output.get("data", {}), secret)
        # The pages keep only an image's size and alt text of it (page_safety.py).
        try:
            output.metadata = from_dict(_strings(output.get("metadata", {}), secret))
        except RecursionError:  # nested deeper than anything an honest output writes
            output.metadata = from_dict({})


def _strings(value, secret: frozenset[str]):
    """``value`` with every string in it redacted."""
    if isinstance(value, str):
        return redact_text(value, secret)
    if isinstance(value, dict):
        return {k: _strings(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v, secret) for v in value]
    return value


def _runs(outputs: list) -> list[list]:
    """The outputs in runs: consecutive writes to one stream together, anything else alone."""
    runs: list[list] = []
    for output in outputs:
        last = runs[-1][-1] if runs else None
        if (last is not None and output.get("output_type") == "stream"
                and last.get("output_type") == "stream" and last.get("name") == output.name):
            runs[-1].append(output)
        else:
            runs.append([output])
    return runs


def _joined_streams(outputs: list, secret: frozenset[str]) -> list:
    """A run of writes to one stream becomes one output when, joined, it reveals a hidden
    line that no single write shows (a line printed a few characters at a time)."""
    kept = []
    for run in _runs(outputs):
        joined = "".join(o.get("text", "") for o in run)
        if len(run) > 1 and redact_text(joined, secret) != joined:
            run[0].text = redact_text(joined, secret)
            run = run[:1]
        kept += run
    return kept


def apply(nb: NotebookNode, outcome: Graded) -> NotebookNode:
    """Scrub every output of every cell of the hidden lines in ``outcome.hidden``."""
    if not outcome.hidden:
        return nb
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            redact_output(output, outcome.hidden)
        cell.outputs = _joined_streams(cell.get("outputs", []), outcome.hidden)
    return nb
