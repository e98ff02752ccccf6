"""Hidden tests never reach the student, wherever student code puts their text.

The kernel keeps the source of every cell it ran, hidden tests included (``In``, ``_ih``):
student code can print it, display it, raise it as an error message or name an exception
after it. The tiny class is graded twice in this process: without the redact step (what
main did: only the feedback page's ``HideHiddenTests``), where the hidden lines reach the
grade, the graded notebook and the feedback page; and as shipped, where they reach none.
The Gradescope route is in test_hostile_gradescope.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

from autograder.grader import feedback, gradebook, pipeline
from autograder.grader.course import Course
from autograder.grader.sandbox.isolation import isolation_problem
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps import Graded, redact
from autograder.grader.steps.submissions import find

from helpers import (
    TINY_NAME,
    digit_assignment,
    empty_gradebook,
    leaked,
    place,
    tiny_course_at,
    tiny_submission,
)

HIDDEN = frozenset({"assert add(-1, 1) == 0, 'add(-1, 1) should be 0'",
                    "assert add('a', 'b') == 'ab', 'strings too'"})
SHOWN = "assert 'add' in dir(), 'add is not implemented yet'"  # public: no secret

# Each ends a notebook whose `add` is right; the attack runs after the tests ran.
AT_THE_END = {
    "prints_history": "print(In)\nprint(_ih[-2])",
    "displays_history": "from IPython.display import HTML, Markdown, display\n"
                        "display(HTML('<pre>' + '\\n'.join(In) + '</pre>'))\n"
                        "display(Markdown('\\n\\n'.join(In)))\n"
                        "{'cells': In}",
    "prints_in_pieces": "import sys\nfor ch in In[-2]:\n"
                        "    sys.stdout.write(ch); sys.stdout.flush()",
}
# Each replaces `add`: the test cell calling it is In[-1], its hidden lines included.
IN_THE_TEST = {
    "raises_history": "    cell = get_ipython().user_ns['In'][-1]\n"
                      "    raise AssertionError(' | '.join(cell.splitlines()))",
    "names_its_error": "    cell = get_ipython().user_ns['In'][-1]\n"
                       "    raise type(cell.splitlines()[-2], (Exception,), {})('see my name')",
}

DIGIT = digit_assignment()


def submissions(folder: Path) -> None:
    for student, cell in AT_THE_END.items():
        nb = nbformat.reads(tiny_submission(), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(cell))
        place(folder, student, nbformat.writes(nb))
    for student, body in IN_THE_TEST.items():
        place(folder, student, tiny_submission(body))


def everything_shown(course: Course, results: dict, pages: list[Path]) -> dict[str, str]:
    """Where a student reads their grading: the result (grade JSON, CI, Gradescope), the
    graded notebook (formgrader, feedback) and the feedback page."""
    shown = {}
    for student, result in results.items():
        shown[f"{student} result"] = str(result.as_dict())
        # its outputs: the test cells themselves hold the hidden tests, for the grader
        nb = nbformat.read(course.autograded_notebook(student), as_version=4)
        outputs = [cell.get("outputs", []) for cell in nb.cells]
        streams = ["".join(o.get("text", "") for o in cell) for cell in outputs]  # as read
        shown[f"{student} notebook"] = json.dumps(outputs) + str(outputs) + "".join(streams)
    for page in pages:
        shown[f"{page.parts[-3]} page"] = page
    return shown


def leaks(shown: dict) -> dict[str, list[str]]:
    found = {}
    for where, what in shown.items():
        lines = leaked(what, set(HIDDEN)) if isinstance(what, Path) else \
            sorted(line for line in HIDDEN if line in what)
        if lines:
            found[where] = lines
    return found


def grade_class(base: Path) -> tuple[Course, dict, list[Path]]:
    root = tiny_course_at(base / "course")
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    course = Course(root)
    gradebook.ensure_assignment(course)
    submissions(base / "subs")
    options = pipeline.Options(limits=Limits(cell_timeout=10, notebook_timeout=60), workers=2,
                               hidden=[base / "subs"])
    results = pipeline.grade_all(course, find([base / "subs"], expected=TINY_NAME), options,
                                 gradebook.points_by_test(course))
    return course, {r.student: r for r in results}, feedback.generate(course).written


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if isolation_problem() is not None:
        pytest.skip(f"no sandbox here: {isolation_problem()}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(pipeline, "SCORE",
                            tuple(s for s in pipeline.SCORE if s is not redact.apply))
        without = grade_class(tmp_path_factory.mktemp("without-redact"))
    return without, grade_class(tmp_path_factory.mktemp("with-redact"))


@pytest.mark.slow  # grades a class (kernels)
def test_without_the_redact_step_hidden_tests_reach_the_student(graded):
    (course, results, pages), _ = graded
    found = leaks(everything_shown(course, results, pages))
    # the graded notebook of every attacker, and the result of those that raise it
    for student in [*AT_THE_END, *IN_THE_TEST]:
        assert found.get(f"{student} notebook"), (student, found)
    for student in IN_THE_TEST:
        assert found.get(f"{student} result"), (student, found)
    # HideHiddenTests alone leaves what the student displayed and raised on the page
    for student in ("displays_history", "raises_history", "names_its_error"):
        assert found.get(f"{student} page"), (student, found)


@pytest.mark.slow  # grades a class (kernels)
def test_with_the_redact_step_no_hidden_line_reaches_the_student(graded):
    _, (course, results, pages) = graded
    assert leaks(everything_shown(course, results, pages)) == {}
    # the grades are what the attackers earned: a right add, their own errors
    assert {s: r.score for s, r in results.items()} == {
        "prints_history": 5, "displays_history": 5, "prints_in_pieces": 5,
        "raises_history": 0, "names_its_error": 0}
    raised = results["raises_history"].tests["test_add"].feedback
    assert raised == f"AssertionError: {redact.MARK.strip()}", raised
    # what the student could always see stays: the public test's own line
    nb = nbformat.read(course.autograded_notebook("prints_history"), as_version=4)
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert SHOWN in printed and redact.MARK.strip() in printed


# --- the step itself, on outputs as nbclient writes them (fast) ---------------------------

def test_every_kind_of_output_is_scrubbed_and_partial_grades_are_kept():
    line = sorted(HIDDEN)[0]
    escaped = line.replace("'", "&#x27;")
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        new_output("stream", name="stdout", text=f"before\n{line}\nafter\n"),
        new_output("stream", name="stdout", text=line[:20]),
        new_output("stream", name="stdout", text=line[20:] + "\n"),
        new_output("error", ename=line, evalue=repr([line]), traceback=[f"  {line}", "x"]),
        new_output("display_data", data={"text/html": f"<b>{escaped}</b>",
                                         "application/json": {"a": [line]}}),
        new_output("execute_result", data={"text/plain": "1.5"}, execution_count=1),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    redact.apply(nb, Graded("amy", DIGIT, hidden=HIDDEN))
    text = nbformat.writes(nb)
    assert line not in text and escaped not in text
    assert "before" in text and "after" in text
    assert cell.outputs[-1].data["text/plain"] == "1.5"  # a partial grade, never a secret
    # the three writes to stdout joined (the line was printed in two pieces), then scrubbed
    assert cell.outputs[0].text == f"before\n{redact.MARK}after\n{redact.MARK}"
    assert [o.output_type for o in cell.outputs] == ["stream", "error", "display_data",
                                                     "execute_result"]


def test_hide_hidden_tests_still_cuts_tracebacks_of_notebooks_graded_before():
    """Notebooks graded before the redact step still go through the feedback preprocessor."""
    from nbgrader.preprocessors import ClearHiddenTests

    from autograder.grader.hide_hidden import HIDDEN_IN_TRACEBACK, HideHiddenTests

    markers = ClearHiddenTests()
    line = sorted(HIDDEN)[0]
    cell = nbformat.v4.new_code_cell(f"{SHOWN}\n{markers.begin_test_delimeter}\n{line}\n"
                                     f"{markers.end_test_delimeter}")
    cell.outputs = [new_output("error", ename="AssertionError", evalue="strings too",
                               traceback=[f"----> 3 {line}\n", "AssertionError: strings too"])]
    nb, _ = HideHiddenTests().preprocess(nbformat.v4.new_notebook(cells=[cell]), {})
    assert line not in nbformat.writes(nb)
    assert cell.outputs[0].traceback == [HIDDEN_IN_TRACEBACK, "AssertionError: strings too"]
