"""Per-student feedback HTML: nbgrader's ``generate_feedback``, minus hidden-test source,
plus the figures the assignment draws of the student's trained model (``Assignment.feedback``).

nbgrader renders the autograded notebook, in which the hidden tests were restored, so its
feedback shows their source (jupyter/nbgrader#917). ``HideHiddenTests`` runs first among
the feedback preprocessors and removes that source from the cells and from the outputs
(tracebacks quote the failing line and its neighbours) before anything is rendered.

Every page here is opened by a student and shows a student's work, so none runs a script or
loads anything from elsewhere: the sanitizers of ``page_safety`` render it, whatever the
course's ``nbgrader_config.py`` says, and each page carries its Content-Security-Policy.

Every page opens with ``page_header``'s header (whose page, which work, when, on time or
not). Three kinds of page follow it: nbgrader's rendered notebook under our summary, for a
notebook that was graded; a short page for a submission that was handed in but could not be
run (what went wrong, Restart & Run All) or was graded on another machine (its scores); and
a shorter one for a student from whom nothing came: the reason once, the score, what to do.

Every page passes WCAG 2.1 AA (tests/test_accessibility.py runs axe-core on each kind): in
English, the header a ``<header>`` and everything else in one ``<main>``, headings one level
at a time (the header's ``<h1>``, then ``<h2>`` sections), text at 4.5:1 on its background.
nbgrader's notebook is rendered by ``feedback_exporter`` (its template and stylesheet, not
nbgrader's); its summary links each test to the test's cell, and says what follows.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import numpy as np
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log

from autograder.assignment import Assignment, DenseModel, Figure
from autograder.grader import assignments, gradebook, page_header
from autograder.grader.course import Course, CourseError
from autograder.grader.feedback_exporter import FeedbackExporter
from autograder.grader.grades_csv import check_gradebook
from autograder.grader.hide_hidden import HideHiddenTests, cut_hidden
from autograder.grader.page_header import Header
from autograder.grader.page_safety import protect, with_csp
from autograder.grader.steps.ledger import MERGED, Ledger
from autograder.model.isolated import read_apart
from autograder.model.saved_model import (
    ModelShapeError,
    SavedModel,
    UnreadableModel,
    check_weights,
)
from autograder.records import SubmissionResult, TestResult, plain_number
from autograder.student import verdicts
from autograder.student.export_cell import HISTORY_BYTES, MODEL_BYTES
from autograder.untrusted import Refused, read_bytes

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


def _history(artifacts: Path) -> tuple[dict | None, str | None]:
    """The student's ``history.json``, read as untrusted (no link followed, at most
    ``HISTORY_BYTES`` bytes), or why there is none to show."""
    try:
        raw = read_bytes(artifacts, "history.json", HISTORY_BYTES)
    except FileNotFoundError:
        return None, ("No training history was saved for this submission: the notebook did "
                      "not finish training (history = model.fit(...)).")
    except (Refused, OSError) as exc:
        return None, f"The saved training history was not read: {exc}"
    try:
        history = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # deep nesting is a RecursionError
        return None, f"The saved training history cannot be plotted: {exc}"
    if not isinstance(history, dict):
        return None, "The saved training history cannot be plotted: it is not a dict"
    return history, None


def _saved_model(model_file: Path, model: DenseModel) -> SavedModel:
    """The student's saved model, read as data only (loading it with Keras could run code
    from it), capped, never through a link, and parsed in a process of its own."""
    try:
        data = read_bytes(model_file.parent, model_file.name, MODEL_BYTES)
    except (Refused, OSError) as exc:
        raise UnreadableModel(f"the saved model could not be read: {exc}") from None
    saved = read_apart(data, model.weight_shapes)
    check_weights(saved.weights, model.weight_shapes)
    return saved


def _parts(assignment: Assignment, artifacts: Path) -> list[str]:
    """The assignment's own figures (``Assignment.feedback``) of this student's training
    history and model; what could not be read is said, not fatal."""
    history, why = _history(artifacts)
    notes = [why] if why else []
    saved, data = None, None
    model_file = artifacts / "model.keras"
    if not model_file.is_file():
        notes.append("No trained model was saved for this submission, so there is nothing "
                     "more to show: define, compile and train `model` and run the whole "
                     "notebook.")
    else:
        try:
            saved = _saved_model(model_file, assignment.model)
            data = _training_data(assignment.model.data)
        except (UnreadableModel, ModelShapeError) as exc:
            notes.append(f"Your saved model could not be evaluated: {exc}")
    try:
        shown = assignment.feedback(history, saved, data)
    except (ValueError, TypeError) as exc:  # the history's contents are the student's
        shown = [f"Your training history cannot be plotted: {exc}",
                 *assignment.feedback(None, saved, data)]
    parts = []
    for part in [*shown, *notes]:
        if isinstance(part, Figure):
            parts += [f"<h4>{html.escape(part.title)}</h4>", _png(part.figure, part.alt)]
        else:
            parts.append(_note(str(part)))
    return parts


def _training_data(reference: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return assignments.trusted_data(reference)
    except Exception as exc:  # the data file is the course's, not the student's, problem
        raise CourseError(f"the assignment's data ({reference}) could not be read: {exc}"
                          ) from None


def model_section(assignment: Assignment, artifacts: Path) -> str:
    """HTML for the figures the assignment draws of the student's trained model; empty for
    an assignment without a model or figures."""
    if assignment.model is None or assignment.feedback is None:
        return ""
    matplotlib.use("Agg")  # figures only become PNGs; a grading server has no display
    body = _parts(assignment, artifacts)
    # tabindex -1: the summary's link to the section moves the keyboard focus here too
    return (f'<section id="{SECTION_ID}" class="container" tabindex="-1" '
            f'aria-labelledby="{SECTION_ID}-title"><div class="panel panel-default">'
            f'<div class="panel-heading"><h3 id="{SECTION_ID}-title">Your trained model</h3>'
            '</div><div class="panel-body">' + "\n".join(body) + "</div></div></section>\n")


def in_main(page: str, first: str, last: str) -> str:
    """The page with ``first`` at the start of its ``<main>`` and ``last`` at its end
    (the template writes one ``<main>``)."""
    start = re.search(r"<main\b[^>]*>", page)
    end = page.rfind("</main>")
    if start is None or end < start.end():
        raise CourseError("the rendered feedback page has no <main> to fill")
    return page[:start.end()] + first + page[start.end():end] + last + page[end:]


# --- the page --------------------------------------------------------------------------

SUMMARY_ID = "summary"
AWAITING_HAND = f"{verdicts.BY_HAND}: not scored yet"
SCORED_BY_HAND = f"{verdicts.BY_HAND}: scored by your grader"


def with_given(results: dict[str, TestResult], given: Mapping[str, float]
               ) -> dict[str, TestResult]:
    """The verdicts with what a grader gave by hand (``given``, grade id -> score) in their
    place: nbgrader's rule, a manual score wins over the automatic one."""
    out = {}
    for gid, r in results.items():
        if gid not in given:
            out[gid] = r
        elif r.manual:
            out[gid] = TestResult(given[gid], r.max_points, SCORED_BY_HAND, manual=True)
        else:
            out[gid] = TestResult(given[gid], r.max_points,
                                  f"score set by your grader (the test said: {r.feedback})")
    return out


def _points_cell(r: TestResult, pending: bool) -> str:
    """A cell graded by hand and not scored yet has no points to show (–/max)."""
    got = "–" if pending else plain_number(r.points)
    return f"{got}/{plain_number(r.max_points)}"


def _message(r: TestResult, pending: bool, error: str | None) -> str:
    if pending and not error:
        return AWAITING_HAND
    return "passed" if r.passed and not r.manual and not error else r.feedback


def _awaiting_note(results: dict[str, TestResult], pending: set[str]) -> str:
    if not pending:
        return ""
    points = sum(results[gid].max_points for gid in pending)
    return (f"<p>{plain_number(points)} of these points are {verdicts.BY_HAND}: they count "
            "once your grader has scored them.</p>")


def _grade_line(got: float, total: float, penalty: float) -> str:
    """nbgrader's rule for the total with a late penalty: the tests' points less the
    penalty, never below zero (its export's ``score``)."""
    if penalty <= 0:
        return f"{plain_number(got)}/{plain_number(total)}"
    return (f"{plain_number(max(0.0, got - penalty))}/{plain_number(total)} "
            f"({plain_number(got)} from the tests, late penalty −{plain_number(penalty)})")


def cell_links(gids: list[str]) -> str:
    """A link to each test's cell in the notebook below (the template's ``grade-<id>``),
    named by the test. (Beside the table, not in it: each row's markup is what the tests
    of grading read back.)"""
    links = ", ".join(f'<a href="#grade-{html.escape(gid)}"><code>{html.escape(gid)}</code></a>'
                      for gid in gids)
    return f'<p class="cell-links">Each test in your notebook: {links}.</p>' if gids else ""


def summary_table(results: dict[str, TestResult], error: str | None = None,
                  given: Mapping[str, float] | None = None, *, penalty: float = 0.0,
                  cells: bool = False) -> str:
    """The page's first section: each graded cell, its points and what to fix. ``given``:
    what graders scored by hand (``gradebook.hand_scores``), which counts as in nbgrader's
    total; a cell graded by hand says so, with its score once given. ``penalty``: the
    points taken off for lateness, out of the total shown. ``cells``: the page shows the
    notebook, and the table is followed by a link to each test's cell."""
    results = with_given(results, given or {})
    pending = {gid for gid, r in results.items() if r.manual and gid not in (given or {})}
    got = sum(r.points for r in results.values())
    total = sum(r.max_points for r in results.values())
    rows = "".join(
        f"<tr><td><code>{html.escape(gid)}</code></td>"
        f"<td>{_points_cell(r, gid in pending)}</td>"
        f"<td>{html.escape(_message(r, gid in pending, error))}</td></tr>"
        for gid, r in results.items())
    problem = (f'<p class="alert alert-danger"><strong>Your notebook could not be graded:'
               f"</strong> {html.escape(error)}</p>") if error else ""
    return (f'<section id="{SUMMARY_ID}" class="container"><h2>Your grade: '
            f"{html.escape(_grade_line(got, total, penalty))}</h2>{problem}"
            f"{'' if error else _awaiting_note(results, pending)}"
            '<table class="table table-striped"><caption>Each test, its points and what to '
            "fix</caption><thead><tr><th>test</th><th>points</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{cell_links(list(results)) if cells else ''}"
            "</section>\n")


def _after_body(page: str, section: str) -> str:
    m = re.search(r"<body[^>]*>", page)
    return section + page if m is None else page[:m.end()] + section + page[m.end():]


def _in_head(page: str, part: str) -> str:
    at = page.find("</head>")
    return page if at < 0 else page[:at] + part + page[at:]


def dressed(page: str, header: Header) -> str:
    """The rendered notebook made a page of ours: in English (``lang``, for screen readers
    and hyphenation; the template says so too), titled by student and assignment (the
    template titles it by the notebook's name alone), with the header first in its body."""
    page = re.sub(r"<html(?![^>]*\blang=)", '<html lang="en"', page, count=1, flags=re.I)
    title = f"<title>{html.escape(header.title())}</title>"
    page, found = re.subn(r"<title>[\s\S]*?</title>", lambda _: title, page, count=1)
    page = _in_head(page, ("" if found else title) + page_header.STYLE)
    return _after_body(page, page_header.render(header))


def contents(model: bool) -> str:
    """What the page holds below the summary, with a link to each part (the model's
    figures are far down a long notebook)."""
    parts = '<a href="#notebook">your notebook, cell by cell</a>'
    if model:
        parts += f', then <a href="#{SECTION_ID}">the figures of your trained model</a>'
    return f'<nav class="container" aria-label="On this page"><p>Below: {parts}.</p></nav>\n'


# The short pages have no nbgrader page around them, so no Bootstrap: these rules give the
# classes the summary uses (container, table, alert) a plain look of their own. Colours:
# text at least 4.5:1 on its background (WCAG AA), as the header's.
SHORT_STYLE = """<style>
body { margin: 0; background: #ffffff; color: #1b1f24;
  font: 15px/1.5 system-ui, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.container { box-sizing: border-box; max-width: 1170px; margin: 0 auto 16px;
  padding: 0 15px; }
h2 { font-size: 22px; font-weight: 600; margin: 8px 0 12px; }
h3 { font-size: 18px; font-weight: 600; margin: 20px 0 8px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px; }
.alert { padding: 10px 14px; border: 1px solid #e0b4b4; border-radius: 4px; }
.alert-danger { background: #fbeeee; color: #7d1418; }
.table { border-collapse: collapse; width: 100%; }
.table caption { text-align: left; color: #4a5360; padding: 4px 0; }
.table th, .table td { text-align: left; vertical-align: top; padding: 6px 10px;
  border-top: 1px solid #c9d1d9; }
.table-striped tbody tr:nth-child(odd) { background: #f4f6f8; }
.score { font-size: 18px; }
</style>
"""


def short_page(header: Header, body: str) -> str:
    """A page of ours: the header, then ``body``, styled here, under the CSP."""
    return with_csp(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(header.title())}</title>{page_header.STYLE}{SHORT_STYLE}"
        f"</head><body>{page_header.render(header)}{body}</body></html>\n")


def failure_page(course: Course, student: str, error: str | None,
                 tests: dict[str, TestResult], header: Header | None = None) -> str:
    """A short page for a submission that could not be run: what happened, what to do; or,
    without ``error``, for one graded elsewhere (merged from a shard): its scores. Any score
    a grader gave by hand counts, as in nbgrader's total."""
    header = header or page_header.read(course, student)
    if error is None:
        section = ("<p>Your notebook was graded on another machine (one shard of the class), "
                   "so this page shows your scores and each test's message, without the "
                   "notebook.</p>")
    else:
        section = ("<h3>What to do</h3><p>Open your notebook in Jupyter, run <em>Kernel → "
                   "Restart &amp; Run All</em>, check that it runs to the end, save it and "
                   "hand in that file (named "
                   f"<code>{html.escape(course.notebook_id)}.ipynb</code>). If the file is "
                   "damaged, start again from the released notebook and copy your answers "
                   "over.</p>")
    return short_page(header, "<main>"
                      + summary_table(tests, error, gradebook.hand_scores(course, student),
                                      penalty=header.lateness.penalty)
                      + f'<section class="container">{section}</section></main>')


def no_submission_page(course: Course, header: Header, reason: str,
                       max_score: float) -> str:
    """The page of a student from whom nothing came: said once, with its reason, the score
    and what to do. Every test failed for the same reason, so no test is listed."""
    assignment = html.escape(course.assignment_id)
    notebook = html.escape(f"{course.notebook_id}.ipynb")
    return short_page(header, (
        f'<main id="{SUMMARY_ID}" class="container">'
        f"<h2>We have no submission from you for {assignment}.</h2>"
        f'<p class="alert alert-danger"><strong>Why:</strong> {html.escape(reason)}</p>'
        f'<p class="score">Your score: <strong>0</strong> of {plain_number(max_score)}</p>'
        f"<h3>What to do</h3><p>Hand in <code>{notebook}</code> through the course's usual "
        "route before the deadline, or ask your instructor if you did.</p></main>"))


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
    app.exporter_class = FeedbackExporter  # our template, whatever the config names
    result = capture_log(app)
    page = Path(coursedir.format_path(coursedir.feedback_directory, student,
                                      course.assignment_id)) / f"{course.notebook_id}.html"
    if not result["success"] or not page.is_file():
        raise CourseError("nbgrader generate_feedback failed: "
                          + (result.get("error") or result.get("log") or "no page written"))
    return page


def _page_path(course: Course, student: str) -> Path:
    return course.feedback_dir / student / course.assignment_id / f"{course.notebook_id}.html"


@dataclass(frozen=True)
class Recorded:
    """What the grader's ledger holds of one student: their result (None: no row), whether
    it was merged from a shard, and when it was recorded."""

    result: SubmissionResult | None = None
    merged: bool = False
    graded_at: datetime | None = None


def _recorded(course: Course, student: str) -> Recorded:
    book = Ledger(course.db, course.assignment_id)
    try:
        found = book.lookup(student)
        when = book.graded_at(student) if found else None
    finally:
        book.close()
    if found is None:
        return Recorded()
    return Recorded(SubmissionResult.from_dict(found[1]), found[0] == MERGED, when)


def handed_nothing(course: Course, student: str, recorded: Recorded) -> bool:
    """Nothing came from the student (nothing in the download, no notebook in their
    folder): their result has an error and no file. A result recorded before results named
    their file has none either, so there the copy of what they handed in, kept where
    nbgrader keeps submissions, says that something did come (a result merged from a shard
    has no copy here: its file decides)."""
    result = recorded.result
    if result is None or result.error is None or result.file is not None:
        return False
    return recorded.merged or not course.submitted_notebook(student).is_file()


def _failure_result(recorded: Recorded) -> tuple[str | None, dict[str, TestResult]]:
    """Why a student has grades but no graded notebook, from the grader's ledger (None: they
    were graded elsewhere and merged)."""
    result = recorded.result
    if result is None:
        return ("the submission could not be run (no graded notebook was kept)", {})
    if recorded.merged:
        return result.error, result.tests
    return result.error or "the submission could not be run", result.tests


def _write(course: Course, student: str, text: str) -> Path:
    page = _page_path(course, student)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
    return page


def write_page(course: Course, student: str) -> Path:
    """One student's feedback page, under its header: nbgrader's, summarised on top and
    with their model at the end; or a short page saying why there is nothing to show."""
    recorded = _recorded(course, student)
    graded = course.autograded_notebook(student)
    handed = graded.is_file() or not handed_nothing(course, student, recorded)
    header = page_header.read(course, student, recorded.result, recorded.graded_at, handed)
    if not handed:
        return _write(course, student, no_submission_page(
            course, header, recorded.result.error, recorded.result.max_score))
    if not graded.is_file():
        error, tests = _failure_result(recorded)
        return _write(course, student, failure_page(course, student, error, tests, header))
    results = verdicts.score(nbformat.read(graded, as_version=4))
    page = _run_nbgrader(course, student)
    model = model_section(course.assignment, course.artifacts_dir(student))
    summary = summary_table(results, given=gradebook.hand_scores(course, student),
                            penalty=header.lateness.penalty, cells=True)
    text = in_main(page.read_text(encoding="utf-8"), summary + contents(bool(model)), model)
    text = dressed(text, header)
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
