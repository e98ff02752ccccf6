"""Per-student feedback HTML: nbgrader's ``generate_feedback``, minus hidden-test source,
plus what a student of this assignment needs to see about their trained model.

nbgrader renders the autograded notebook, in which the hidden tests were restored, so its
feedback shows their source (jupyter/nbgrader#917). ``HideHiddenTests`` runs first among
the feedback preprocessors and removes that source from the cells and from the outputs
(tracebacks quote the failing line and its neighbours) before anything is rendered.

Every page here is opened by a student and shows a student's work, so none runs a script or
loads anything from elsewhere: the sanitizers of ``page_safety`` render it, whatever the
course's ``nbgrader_config.py`` says, and each page carries its Content-Security-Policy.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import numpy as np
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log

from autograder.grader.course import Course, CourseError
from autograder.grader.grades_csv import check_gradebook
from autograder.grader.hide_hidden import HideHiddenTests, cut_hidden
from autograder.grader.page_safety import protect, with_csp
from autograder.grader.steps.ledger import Ledger
from autograder.model.isolated import read_apart
from autograder.model.saved_model import (
    ModelShapeError,
    UnreadableModel,
    forward_logits,
)
from autograder.records import SubmissionResult, TestResult, plain_number
from autograder.student import verdicts
from autograder.student.export_cell import HISTORY_BYTES, MODEL_BYTES
from autograder.untrusted import Refused, read_bytes
from digit_helpers import DataError, load_data, plot_confusion_matrix, plot_loss, plot_misclassified

SECTION_ID = "model-feedback"
__all__ = ["HideHiddenTests", "cut_hidden", "generate", "write_page"]


# --- the model section ---------------------------------------------------------------------

def _png(fig, alt: str) -> str:
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=80)
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            'style="max-width: 100%">')


def _note(text: str) -> str:
    return f"<p><em>{html.escape(text)}</em></p>"


def _loss_part(artifacts: Path) -> list[str]:
    """The loss curve from the student's ``history.json``, read as untrusted (no link
    followed, at most ``HISTORY_BYTES`` bytes); a file that is not read is said, not fatal."""
    parts = ["<h4>Loss curve</h4>"]
    try:
        raw = read_bytes(artifacts, "history.json", HISTORY_BYTES)
    except FileNotFoundError:
        return parts + [_note("No training history was saved for this submission: the "
                              "notebook did not finish training (history = model.fit(...)).")]
    except (Refused, OSError) as exc:
        return parts + [_note(f"The saved training history was not read: {exc}")]
    try:
        parts.append(_png(plot_loss(json.loads(raw)), "Your training loss, epoch by epoch"))
    except (ValueError, TypeError, RecursionError) as exc:  # deep nesting is a RecursionError
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

    The file is the student's: it is read as data only (loading it with Keras could run code
    from it), capped, never through a link, and parsed in a process of its own.
    """
    X, y = _training_data()
    try:
        data = read_bytes(model_file.parent, model_file.name, MODEL_BYTES)
    except (Refused, OSError) as exc:
        raise UnreadableModel(f"the saved model could not be read: {exc}") from None
    return X, y, np.argmax(forward_logits(read_apart(data).weights, X), axis=1)


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
            "<h4>Misclassified digits</h4>",
            _png(plot_misclassified(X, y, predicted),
                 "Training digits your model got wrong, each with its true and predicted label"),
            "<h4>Confusion matrix</h4>",
            _png(plot_confusion_matrix(y, predicted),
                 "Confusion matrix: how often each true digit was predicted as each digit")]


def model_section(artifacts: Path) -> str:
    """HTML for the student's loss curve, misclassified digits and confusion matrix."""
    matplotlib.use("Agg")  # figures only become PNGs; a grading server has no display
    body = _loss_part(artifacts) + _model_parts(artifacts / "model.keras")
    return (f'<section id="{SECTION_ID}" class="container"><div class="panel panel-default">'
            '<div class="panel-heading"><h3>Your trained model</h3></div>'
            '<div class="panel-body">' + "\n".join(body) + "</div></div></section>\n")


def append_section(page: str, section: str) -> str:
    at = page.rfind("</body>")
    return page + section if at < 0 else page[:at] + section + page[at:]


# --- the page --------------------------------------------------------------------------

MATHJAX = re.compile(r"<script[^>]*>[^<]*</script>\s*|<script[^>]*src=[^>]*mathjax[^>]*>\s*"
                     r"</script>", re.I)
SUMMARY_ID = "summary"


def _offline(page: str) -> str:
    """Without its remote MathJax script the page needs no network: formulas read as TeX."""
    return re.sub(r"<script[^>]*(?:mathjax|MathJax)[\s\S]*?</script>\s*", "", page)


def summary_table(results: dict[str, TestResult], error: str | None = None) -> str:
    """The page's first section: each test, its points and what to fix."""
    got = sum(r.points for r in results.values())
    total = sum(r.max_points for r in results.values())
    rows = "".join(
        f"<tr><td><code>{html.escape(gid)}</code></td>"
        f"<td>{plain_number(r.points)}/{plain_number(r.max_points)}</td>"
        f"<td>{'passed' if r.passed and not error else html.escape(r.feedback)}</td></tr>"
        for gid, r in results.items())
    problem = (f'<p class="alert alert-danger"><strong>Your notebook could not be graded:'
               f"</strong> {html.escape(error)}</p>") if error else ""
    return (f'<section id="{SUMMARY_ID}" class="container"><h2>Your grade: '
            f"{plain_number(got)}/{plain_number(total)}</h2>{problem}"
            '<table class="table table-striped"><caption>Each test, its points and what to '
            "fix</caption><thead><tr><th>test</th><th>points</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>\n")


def _after_body(page: str, section: str) -> str:
    m = re.search(r"<body[^>]*>", page)
    return section + page if m is None else page[:m.end()] + section + page[m.end():]


def failure_page(course: Course, student: str, error: str, tests: dict[str, TestResult]) -> str:
    """A short page for a submission that could not be run: what happened, what to do."""
    return with_csp(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Feedback: {html.escape(student)}, {html.escape(course.assignment_id)}"
        "</title></head><body>" + summary_table(tests, error)
        + '<section class="container"><h3>What to do</h3><p>Open your notebook in '
        "Jupyter, run <em>Kernel → Restart &amp; Run All</em>, check that it runs to the "
        "end, save it and hand in that file (named "
        f"<code>{html.escape(course.notebook_id)}.ipynb</code>). If the file is damaged, "
        "start again from the released notebook and copy your answers over.</p></section>"
        "</body></html>\n")


# --- generate --------------------------------------------------------------------------

@dataclass
class FeedbackRun:
    written: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)   # student -> why


def _students(course: Course, student: str | None) -> list[str]:
    """Everyone the gradebook has a submission for (or just ``student``)."""
    with Gradebook(course.db, course.id) as gb:
        try:
            submissions = gb.find_assignment(course.assignment_id).submissions
        except MissingEntry:
            submissions = []
        found = sorted(s.student.id for s in submissions)
    if student is not None:
        if student not in found:
            raise CourseError(f"{student!r} was never graded: grade their submission first "
                              f"(python -m autograder grade PATH --student {student})")
        return [student]
    if not found:
        raise CourseError(f"the gradebook {course.db} has no graded submissions: grade the "
                          "class first (python -m autograder grade PATH ...)")
    return found


def _run_nbgrader(course: Course, student: str) -> Path:
    config = course.nbgrader_config()
    config.CourseDirectory.assignment_id = course.assignment_id
    config.CourseDirectory.student_id = student
    protect(config)  # the sanitizers, even if the course's configuration lost them
    coursedir = CourseDirectory(config=config)
    # The course's nbgrader_config.py puts HideHiddenTests first among the preprocessors.
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    if HideHiddenTests not in app.preprocessors:  # never render hidden tests, whatever the config
        app.preprocessors = [HideHiddenTests, *app.preprocessors]
    result = capture_log(app)
    page = Path(coursedir.format_path(coursedir.feedback_directory, student,
                                      course.assignment_id)) / f"{course.notebook_id}.html"
    if not result["success"] or not page.is_file():
        raise CourseError("nbgrader generate_feedback failed: "
                          + (result.get("error") or result.get("log") or "no page written"))
    return page


def _page_path(course: Course, student: str) -> Path:
    return course.feedback_dir / student / course.assignment_id / f"{course.notebook_id}.html"


def _failure_result(course: Course, student: str) -> tuple[str, dict[str, TestResult]]:
    """Why a student has grades but no graded notebook, from the grader's ledger."""
    book = Ledger(course.db, course.assignment_id)
    try:
        found = book.lookup(student)
    finally:
        book.close()
    if found is None:
        return ("the submission could not be run (no graded notebook was kept)", {})
    result = SubmissionResult.from_dict(found[1])
    return result.error or "the submission could not be run", result.tests


def write_page(course: Course, student: str) -> Path:
    """One student's feedback page: nbgrader's, summarised on top and with their model at
    the end; or a short page saying why there is nothing to show."""
    graded = course.autograded_notebook(student)
    if not graded.is_file():
        error, tests = _failure_result(course, student)
        page = _page_path(course, student)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(failure_page(course, student, error, tests), encoding="utf-8")
        return page
    results = verdicts.score(nbformat.read(graded, as_version=4))
    page = _run_nbgrader(course, student)
    text = _offline(page.read_text(encoding="utf-8"))
    text = _after_body(text, summary_table(results))
    text = append_section(text, model_section(course.artifacts_dir(student)))
    page.write_text(with_csp(text), encoding="utf-8")
    return page


def generate(course: Course, student: str | None = None) -> FeedbackRun:
    """Write a feedback page for every student of the gradebook (or one). A student whose
    page cannot be written is reported in ``skipped``; everyone else still gets theirs."""
    check_gradebook(course)
    run = FeedbackRun()
    for name in _students(course, student):
        try:
            run.written.append(write_page(course, name))
        except Exception as exc:  # one student's page must not cost the others theirs
            run.skipped[name] = f"{type(exc).__name__}: {exc}"
    return run
