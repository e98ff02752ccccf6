"""score (the step): an executed notebook's outputs cleaned, and tests that never ran failed.

The scoring rule itself is the student kit's, tested in test_verdicts.py; these are the two
steps of ``pipeline.SCORE`` that this module adds around it.
"""

from __future__ import annotations

import copy

from nbformat.v4 import new_notebook, new_output

from autograder.grader.steps import Graded
from autograder.grader.steps.score import clean_outputs, mark_not_run, score
from autograder.student import verdicts

from helpers import digit_assignment, make_cell

NOISE = "I0000 tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n"

DIGIT = digit_assignment()


def executed(*tests):
    """A notebook of test cells, each (grade id, outputs, ran?)."""
    cells = []
    for gid, outputs, ran in tests:
        cell = make_cell("code", "assert True", gid, grade=True, locked=True, points=2)
        cell.outputs = outputs
        cell.execution_count = 1 if ran else None
        cells.append(cell)
    return new_notebook(cells=cells)


def test_clean_outputs_tidies_then_limits_long_outputs():
    flood = "".join(f"line {i}\n" for i in range(5000))
    long_traceback = [f"frame {i}" for i in range(500)]
    nb = executed(
        ("test_noisy", [new_output("stream", name="stderr", text=NOISE)], True),
        ("test_warns", [new_output("stream", name="stderr", text="DeprecationWarning: x\n")],
         True),
        ("test_flood", [new_output("stream", name="stdout", text=flood)], True),
        ("test_deep", [new_output("error", ename="RecursionError", evalue="too deep",
                                  traceback=long_traceback)], True),
    )
    nb = clean_outputs(nb, Graded("amy", DIGIT))
    noisy, warns, flooded, deep = nb.cells
    assert noisy.outputs == []  # library logging is not the student's
    assert warns.outputs[0].name == "stdout"
    assert warns.outputs[0].text.startswith(verdicts.STDERR_NOTE)
    # nbgrader's LimitOutput: 1000 lines of stream output, 100 traceback lines
    assert len(flooded.outputs[0].text.splitlines()) == 1000
    assert flooded.outputs[0].text.endswith("... Output truncated ...")
    assert len(deep.outputs[0].traceback) == 100
    assert "... Traceback truncated ..." in deep.outputs[0].traceback
    results = score(nb)
    assert {gid: r.points for gid, r in results.items()} == {
        "test_noisy": 2, "test_warns": 2, "test_flood": 2, "test_deep": 0}


def test_mark_not_run_acts_only_when_execution_stopped_early():
    nb = executed(("test_ran", [], True), ("test_never", [], False))
    before = copy.deepcopy(nb)
    assert mark_not_run(nb, Graded("amy", DIGIT, problem=None)) == before
    marked = mark_not_run(nb, Graded("amy", DIGIT, problem="the notebook ran longer than 600 s"))
    results = score(marked)
    assert results["test_ran"].points == 2
    assert results["test_never"].points == 0
    assert results["test_never"].feedback == (
        "NotRun: this test did not run: the notebook ran longer than 600 s")
