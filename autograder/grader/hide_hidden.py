"""Hidden tests out of what students see: the hidden lines of a notebook, and
``HideHiddenTests``, a feedback preprocessor.

nbgrader renders the autograded notebook, in which the hidden tests were restored, so its
feedback shows their source (jupyter/nbgrader#917). ``HideHiddenTests`` runs first among
the feedback preprocessors and removes that source from the cells and from the outputs
(tracebacks quote the failing line and its neighbours) before anything is rendered. The
course's ``nbgrader_config.py`` registers it, so ``nbgrader generate_feedback`` and
formgrader's button are as safe as ``python -m autograder feedback``; this module stays
light (nbgrader only) because that file imports it.

Student code can put hidden text anywhere its outputs go: the kernel keeps the source of
every cell it ran (``In``, ``_ih``, frames), hidden tests included. So a line of output is
taken to reveal a hidden line when it holds it as written, or as Python, JSON or HTML
escape it (``print(In)`` shows ``\\n`` and quotes escaped). Text the student encoded
some other way (base64, one character per line, an image) is not recognised: the grader
knows the hidden text, not every encoding of it.
"""

from __future__ import annotations

import codecs
import html
import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from autograder.student.verdicts import ANSI

# IPython prints source lines as "----> 12 code" or "     13 code".
GUTTER = re.compile(r"^\s*(?:-*>)?\s*\d+ ?")
# Shorter hidden lines (")", "]", "else:") are only matched as a whole line, not inside one.
MIN_SUBSTRING = 12
QUOTING = " \t'\"[](),"
HIDDEN_IN_TRACEBACK = "  (hidden test lines not shown)\n"


def hidden_note(n: int) -> str:
    return f"# hidden tests ({n} line{'' if n == 1 else 's'}) ran at grading time"


def cut_hidden(source: str, begin: str, end: str) -> tuple[str, list[str]]:
    """The source with each hidden region replaced by one comment line, and the removed
    lines (markers included).

    A region without its end marker is hidden up to the end of the cell: when in doubt,
    show less.
    """
    kept: list[str] = []
    removed: list[str] = []
    region: list[str] | None = None
    indent = ""
    for line in source.split("\n"):
        if region is None and begin in line:
            region, indent = [], line[: len(line) - len(line.lstrip())]
            removed.append(line)
        elif region is not None and end in line:
            kept.append(indent + hidden_note(len(region)))
            removed += region + [line]
            region = None
        elif region is not None:
            region.append(line)
        else:
            kept.append(line)
    if region is not None:
        kept.append(indent + hidden_note(len(region)))
        removed += region
    return "\n".join(kept), removed


def secret_lines(nb: NotebookNode, begin: str, end: str) -> frozenset[str]:
    """The lines between hidden-test markers that the student's own view does not show (text
    such as ")" or "numpy.array(" appears elsewhere and is no secret)."""
    hidden: list[str] = []
    shown: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and begin in cell.source:
            kept, lines = cut_hidden(cell.source, begin, end)
            hidden += lines
            shown.append(kept)
        else:
            shown.append(cell.source)
    visible = "\n".join(shown)
    return frozenset(line.strip() for line in hidden
                     if line.strip() and line.strip() not in visible)


def _readings(line: str) -> list[str]:
    """The line as shown, and as it reads once Python, JSON or HTML escapes are undone."""
    plain = ANSI.sub("", line)
    found = [plain, html.unescape(plain)]
    if "\\" in plain:
        try:
            found.append(codecs.decode(plain, "unicode_escape"))
        except (UnicodeDecodeError, ValueError):
            found.append(plain.replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"'))
    return found


def reveals(line: str, secret: set[str] | frozenset[str]) -> bool:
    """Whether a line of output quotes hidden-test source, in any of its readings."""
    for reading in _readings(line):
        for part in reading.split("\n"):
            # a line of source as printed alone, in a traceback, or as an item of a list
            forms = (part.strip(), GUTTER.sub("", part).strip(), part.strip(QUOTING).strip())
            if any(form in secret for form in forms):
                return True
        if any(s in reading for s in secret if len(s) >= MIN_SUBSTRING):
            return True
    return False


def scrub_text(text: str, secret: set[str], mark: str = "") -> str:
    """The text without the lines that quote hidden source; each run of them becomes mark."""
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        if not reveals(line, secret):
            kept.append(line)
        elif mark and (not kept or kept[-1] is not mark):
            kept.append(mark)
    return "".join(kept)


def scrub_output(output: NotebookNode, secret: set[str]) -> None:
    if output.output_type == "stream":  # warnings quote the source line that raised them
        output.text = scrub_text(output.text, secret)
    elif output.output_type == "error" and output.get("traceback"):
        # The last entry is "AssertionError: message": the failure message the student needs.
        *frames, last = output.traceback
        frames = [scrub_text(frame, secret, HIDDEN_IN_TRACEBACK) for frame in frames]
        output.traceback = [frame for frame in frames if frame.strip()] + [last]


class HideHiddenTests(NbGraderPreprocessor):
    """Replace hidden-test source by a one-line note and remove it from every output."""

    def preprocess(self, nb: NotebookNode,
                   resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        # The course's own markers, as nbgrader's ClearHiddenTests is configured.
        markers = ClearHiddenTests(parent=self)
        begin, end = markers.begin_test_delimeter, markers.end_test_delimeter
        secret = secret_lines(nb, begin, end)
        for cell in nb.cells:
            if cell.cell_type == "code" and begin in cell.source:
                cell.source, _ = cut_hidden(cell.source, begin, end)
        if secret:
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    scrub_output(output, secret)
        return nb, resources
