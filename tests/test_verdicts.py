"""verdicts: an executed notebook's test cells -> points and a message each (no kernel here).

The notebooks are built in code, with the outputs a kernel would have left, as nbgrader's
own tests do. The rule must give the points nbgrader's ``determine_grade`` gives, since the
gradebook (nbgrader's scoring) and the table, JSON and self-check (this rule) must agree.
"""

from __future__ import annotations

import pytest
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_notebook, new_output
from nbgrader.utils import determine_grade

from autograder.records import TestResult
from autograder.student import verdicts

from helpers import digit_assignment, make_cell

# The real assignment's patterns of library noise (its grading.py).
TF_NOISE = digit_assignment().stderr_noise

NOISE = ("2026-11-25 10:00:00.000001: I tensorflow/core/util/port.cc:153] oneDNN custom "
         "operations are on. You may see slightly different numerical results.\n")
CUDA_NOISE = ("E0000 00:00:1732.1 123 external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:"
              "477] Unable to register cuFFT factory\n")


def stdout(text: str) -> NotebookNode:
    return new_output("stream", name="stdout", text=text)


def stderr(text: str) -> NotebookNode:
    return new_output("stream", name="stderr", text=text)


def error(ename: str, evalue: str) -> NotebookNode:
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def result(text: str) -> NotebookNode:
    """What a cell whose last line is an expression shows (its value, as text/plain)."""
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


def graded_cell(gid: str = "test_x", *outputs: NotebookNode, points: float = 3,
              ran: bool = True) -> NotebookNode:
    """An autograded test cell as the kernel left it."""
    cell = make_cell("code", "assert True", gid, grade=True, locked=True, points=points)
    cell.outputs = list(outputs)
    cell.execution_count = 1 if ran else None
    return cell


def notebook(*cells: NotebookNode) -> NotebookNode:
    return new_notebook(cells=list(cells))


def scored(*outputs: NotebookNode, points: float = 3) -> TestResult:
    return verdicts.score(notebook(graded_cell("test_x", *outputs, points=points)))["test_x"]


# -- points and messages --------------------------------------------------------------------

def test_a_cell_that_ran_without_error_passes():
    assert scored() == TestResult(3.0, 3.0, "passed")
    assert scored(stdout("public tests passed\n")) == TestResult(3.0, 3.0, "passed")


def test_an_error_scores_zero_with_its_first_line():
    r = scored(stdout("checking...\n"),
               error("AssertionError", "\x1b[31madd(1, 2) should be 3\x1b[0m\nsecond line"))
    assert r == TestResult(0.0, 3.0, "AssertionError: add(1, 2) should be 3")
    assert scored(error("AssertionError", "")).feedback == "AssertionError"


def test_a_long_message_is_cut_to_one_readable_line():
    feedback = scored(error("ValueError", "x" * 2000)).feedback
    assert len(feedback) == len("ValueError: ") + 500 and feedback.endswith("…")


@pytest.mark.parametrize("ename", ["KeyboardInterrupt", "CellTimeoutError"])
def test_a_cell_stopped_at_its_time_limit_says_so(ename):
    r = scored(error(ename, ""))
    assert r.points == 0
    assert r.feedback == f"CellTimeoutError: {verdicts.TIMED_OUT}"


def test_partial_credit_from_the_value_a_test_cell_returns():
    assert scored(result("1.5")) == TestResult(1.5, 3.0, "partial credit: 1.5 of 3 points")
    assert scored(result("3")) == TestResult(3.0, 3.0, "passed")
    assert scored(result("'not a number'")) == TestResult(3.0, 3.0, "passed")
    # out of range: never more than the test's points, never less than nothing
    assert scored(result("7")).points == 3
    assert scored(result("-1")) == TestResult(0.0, 3.0, "partial credit: 0 of 3 points")


def test_stderr_costs_the_points_until_tidied_into_a_note():
    nb = notebook(graded_cell("test_x", stdout("ok\n"), stderr("UserWarning: careful\nmore\n")))
    before = verdicts.score(nb)["test_x"]
    assert before.points == 0
    assert before.feedback == ("the test wrote to stderr, which nbgrader counts as a failure: "
                               "UserWarning: careful")
    after = verdicts.score(verdicts.tidy(nb, TF_NOISE))["test_x"]
    assert after == TestResult(3.0, 3.0, "passed (note: it wrote to stderr: UserWarning: careful)")
    note = nb.cells[0].outputs[1]
    assert (note.name, note.text) == ("stdout",
                                      verdicts.STDERR_NOTE + "UserWarning: careful\nmore\n")


def test_only_test_cells_stderr_becomes_a_note():
    student = make_cell("code", "import sys; sys.stderr.write('hi')", "answer", solution=True)
    student.outputs = [stderr("hi")]
    verdicts.stderr_as_notes(notebook(student))
    assert student.outputs[0].name == "stderr"  # not a test: left as it is


def test_library_noise_is_dropped_from_every_cell_and_the_students_stderr_kept():
    setup = make_cell("code", "import tensorflow as tf")
    setup.outputs = [stderr(NOISE), stdout("TensorFlow 2.21\n"), stderr(CUDA_NOISE)]
    test = graded_cell("test_x", stderr(NOISE), stderr("my own warning\n"))
    md = make_cell("markdown", "# text")
    nb = verdicts.drop_library_noise(notebook(md, setup, test), TF_NOISE)
    assert nb.cells[1].outputs == [stdout("TensorFlow 2.21\n")]
    assert nb.cells[2].outputs == [stderr("my own warning\n")]
    assert verdicts.score(nb)["test_x"].points == 0  # the student's own stderr still counts


def test_mark_not_run_fails_only_tests_that_never_ran():
    nb = notebook(
        graded_cell("test_ran", stdout("ok\n")),
        graded_cell("test_died", error("DeadKernelError", "the kernel died"), ran=False),
        graded_cell("test_never", ran=False),
        make_cell("code", "x = 1", "answer", solution=True),
    )
    verdicts.mark_not_run(nb, "the kernel died")
    results = verdicts.score(nb)
    assert results["test_ran"] == TestResult(3.0, 3.0, "passed")
    assert results["test_died"].feedback == "DeadKernelError: the kernel died"
    assert results["test_never"] == TestResult(
        0.0, 3.0, "NotRun: this test did not run: the kernel died")
    assert nb.cells[3].outputs == []


def test_fail_test_adds_the_graders_verdict_to_that_test_only():
    nb = notebook(graded_cell("test_a"), graded_cell("test_b"))
    verdicts.fail_test(nb, "test_b", "GraderCheck", "recomputed accuracy is 0.5")
    verdicts.fail_test(nb, "test_unknown", "GraderCheck", "ignored")
    results = verdicts.score(nb)
    assert results["test_a"].points == 3
    assert results["test_b"] == TestResult(0.0, 3.0, "GraderCheck: recomputed accuracy is 0.5")


def test_every_cell_with_points_is_listed_in_notebook_order_answers_graded_by_hand():
    manual = make_cell("code", "answer here", "manual", grade=True, solution=True, points=5)
    nb = notebook(
        make_cell("markdown", "# intro", "intro", locked=True),
        graded_cell("test_b", points=2),
        make_cell("code", "def f(): pass", "f", solution=True),
        manual,  # a manually graded answer: listed, graded by hand in formgrader
        make_cell("code", "print('mine')"),  # a cell the student added
        graded_cell("test_a", points=1),
    )
    assert list(verdicts.score(nb)) == ["test_b", "manual", "test_a"]
    assert verdicts.score(nb)["manual"].manual
    assert verdicts.score(notebook()) == {}


# -- the same points as nbgrader ------------------------------------------------------------

CELLS = {
    "no output": (),
    "stdout": (stdout("public tests passed\n"),),
    "error": (stdout("start\n"), error("AssertionError", "wrong")),
    "stderr": (stderr("a warning\n"),),
    "stdout then stderr": (stdout("ok\n"), stderr("log line\n")),
    "partial": (result("1.5"),),
    "partial zero": (result("0"),),
    "full as a value": (result("3.0"),),
    "a value that is not a number": (result("'done'"),),
    "a figure": (new_output("display_data", data={"text/plain": "<Figure>"}),),
    "not run": (error("NotRun", "this test did not run: the kernel died"),),
}


@pytest.mark.parametrize("outputs", CELLS.values(), ids=CELLS.keys())
def test_score_gives_the_points_nbgrader_gives(outputs):
    nb = notebook(graded_cell("test_x", *outputs, points=3))
    assert verdicts.score(nb)["test_x"].points == determine_grade(nb.cells[0])[0]


@pytest.mark.parametrize("outputs", CELLS.values(), ids=CELLS.keys())
def test_after_tidying_nbgrader_still_agrees(outputs):
    """The gradebook scores the tidied notebook: a stderr note costs nothing there either."""
    nb = verdicts.tidy(notebook(graded_cell("test_x", *outputs, points=3)), TF_NOISE)
    assert verdicts.score(nb)["test_x"].points == determine_grade(nb.cells[0])[0]


def test_a_grader_verdict_on_a_partial_grade_agrees_with_nbgrader():
    nb = notebook(graded_cell("test_x", result("1.5"), points=3))
    verdicts.fail_test(nb, "test_x", "GraderCheck", "not confirmed outside the kernel")
    assert verdicts.score(nb)["test_x"].points == determine_grade(nb.cells[0])[0] == 0
