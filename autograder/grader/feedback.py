"""Per-student feedback HTML: nbgrader's ``generate_feedback``, minus hidden-test source,
plus what a student of this assignment needs to see about their trained model.

nbgrader renders the autograded notebook, in which the hidden tests were restored, so its
feedback shows their source (jupyter/nbgrader#917). ``HideHiddenTests`` runs first among
the feedback preprocessors and removes that source from the cells and from the outputs
(tracebacks quote the failing line and its neighbours) before anything is rendered.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from functools import lru_cache
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from nbgrader.utils import capture_log

from autograder.grader.course import Course, CourseError
from autograder.grader.grades_csv import check_gradebook
from autograder.grader.saved_model import (
    ModelShapeError,
    UnreadableModel,
    forward_logits,
    read_saved_model,
)
from autograder.student.verdicts import ANSI
from digit_helpers import DataError, load_data, plot_confusion_matrix, plot_loss, plot_misclassified

# IPython prints source lines as "----> 12 code" or "     13 code".
GUTTER = re.compile(r"^\s*(?:-*>)?\s*\d+ ?")
# Shorter hidden lines (")", "]", "else:") are only matched as a whole line, not inside one.
MIN_SUBSTRING = 12
SECTION_ID = "model-feedback"
HIDDEN_IN_TRACEBACK = "  (hidden test lines not shown)\n"


# --- hidden tests -------------------------------------------------------------------------

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


def reveals(line: str, secret: set[str]) -> bool:
    """Whether a line of output quotes hidden-test source."""
    plain = ANSI.sub("", line)
    if GUTTER.sub("", plain).strip() in secret or plain.strip() in secret:
        return True
    return any(s in plain for s in secret if len(s) >= MIN_SUBSTRING)


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
        hidden: list[str] = []
        for cell in nb.cells:
            if cell.cell_type == "code" and markers.begin_test_delimeter in cell.source:
                cell.source, lines = cut_hidden(cell.source, markers.begin_test_delimeter,
                                                markers.end_test_delimeter)
                hidden += lines
        # Text the feedback shows anyway (")", "numpy.array(") is no secret: leave it be.
        visible = "\n".join(cell.source for cell in nb.cells)
        secret = {line.strip() for line in hidden if line.strip()}
        secret = {line for line in secret if line not in visible}
        if secret:
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    scrub_output(output, secret)
        return nb, resources


# --- the model section ---------------------------------------------------------------------

def _png(fig) -> str:
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=80)
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" style="max-width: 100%">'


def _note(text: str) -> str:
    return f"<p><em>{html.escape(text)}</em></p>"


def _loss_part(history_file: Path) -> list[str]:
    parts = ["<h4>Loss curve</h4>"]
    if not history_file.is_file():
        return parts + [_note("No training history was saved for this submission: the "
                              "notebook did not finish training (history = model.fit(...)).")]
    try:
        parts.append(_png(plot_loss(json.loads(history_file.read_text(encoding="utf-8")))))
    except (ValueError, TypeError) as exc:
        parts.append(_note(f"The saved training history cannot be plotted: {exc}"))
    return parts


@lru_cache(maxsize=1)
def _training_data() -> tuple[np.ndarray, np.ndarray]:
    try:
        return load_data()
    except DataError as exc:  # the data file is the course's, not the student's, problem
        raise CourseError(str(exc)) from None


def _predictions(model_file: Path):
    """(X, y, predictions) of the saved model on the training data, computed with numpy.

    The file is read as data only; loading it with Keras could run code from it.
    """
    X, y = _training_data()
    return X, y, np.argmax(forward_logits(read_saved_model(model_file).weights, X), axis=1)


def _model_parts(model_file: Path) -> list[str]:
    if not model_file.is_file():
        return [_note("No trained model was saved for this submission, so there are no "
                      "misclassified digits or confusion matrix to show: define, compile and "
                      "train `model` and run the whole notebook.")]
    try:
        X, y, predicted = _predictions(model_file)
    except (UnreadableModel, ModelShapeError) as exc:
        return [_note(f"Your saved model could not be evaluated: {exc}")]
    accuracy = float((predicted == y).mean())
    return [_note(f"Accuracy of your trained model on the {len(y)} training digits, "
                  f"recomputed by the grader: {accuracy:.4f}"),
            "<h4>Misclassified digits</h4>", _png(plot_misclassified(X, y, predicted)),
            "<h4>Confusion matrix</h4>", _png(plot_confusion_matrix(y, predicted))]


def model_section(artifacts: Path) -> str:
    """HTML for the student's loss curve, misclassified digits and confusion matrix."""
    matplotlib.use("Agg")  # figures only become PNGs; a grading server has no display
    body = _loss_part(artifacts / "history.json") + _model_parts(artifacts / "model.keras")
    return (f'<section id="{SECTION_ID}" class="container"><div class="panel panel-default">'
            '<div class="panel-heading"><h3>Your trained model</h3></div>'
            '<div class="panel-body">' + "\n".join(body) + "</div></div></section>\n")


def append_section(page: str, section: str) -> str:
    at = page.rfind("</body>")
    return page + section if at < 0 else page[:at] + section + page[at:]


# --- generate --------------------------------------------------------------------------

def _graded_students(course: Course, student: str | None) -> list[str]:
    """The students to write feedback for; a clear error when there is nothing to render."""
    if student is None:
        found = sorted(p.parent.parent.name for p in
                       (course.root / "autograded").glob(
                           f"*/{course.assignment_id}/{course.notebook_id}.ipynb"))
        if not found:
            raise CourseError(f"no graded notebooks in {course.root / 'autograded'}: grade "
                              "the class first (python -m autograder grade PATH ...)")
        return found
    with Gradebook(course.db, course.id) as gb:
        try:
            gb.find_submission(course.assignment_id, student)
        except MissingEntry:
            raise CourseError(f"{student!r} was never graded: grade their submission first "
                              f"(python -m autograder grade PATH --student {student})") from None
    if not course.autograded_notebook(student).is_file():
        raise CourseError(f"{student!r} has grades but no graded notebook: their submission "
                          "could not be run (see the grade table); fix it and grade it again")
    return [student]


def _run_nbgrader(course: Course, student: str | None) -> CourseDirectory:
    config = course.nbgrader_config()
    config.CourseDirectory.assignment_id = course.assignment_id
    config.CourseDirectory.student_id = student or "*"
    config.HTMLExporter.template_name = "feedback"  # as nbgrader's api.generate_feedback
    coursedir = CourseDirectory(config=config)
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    app.preprocessors = [HideHiddenTests, *app.preprocessors]
    result = capture_log(app)
    if not result["success"]:
        raise CourseError("nbgrader generate_feedback failed:\n" + result.get("log", "")
                          + result.get("error", ""))
    return coursedir


def generate(course: Course, student: str | None = None) -> list[Path]:
    """Write feedback HTML for one graded student (or all); return the files written."""
    check_gradebook(course)
    students = _graded_students(course, student)
    coursedir = _run_nbgrader(course, student)
    paths = []
    for name in students:
        folder = Path(coursedir.format_path(coursedir.feedback_directory, name,
                                            course.assignment_id))
        page = folder / f"{course.notebook_id}.html"
        if not page.is_file():
            raise CourseError(f"nbgrader wrote no feedback for {name!r} (expected {page})")
        section = model_section(course.artifacts_dir(name))
        page.write_text(append_section(page.read_text(encoding="utf-8"), section),
                        encoding="utf-8")
        paths.append(page)
    return paths
