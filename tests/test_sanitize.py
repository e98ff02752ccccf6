"""sanitize: a submission restored with nbgrader's own preprocessors against the gradebook
(locked cells and hidden tests back, deleted grade cells back, outputs cleared), and
read_notebook's messages for files that are not notebooks. No kernel: nothing runs here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from autograder.grader.steps.sanitize import sanitize
from autograder.records import SubmissionError
from autograder.student.notebook import grade_id, read_notebook

from helpers import tiny_source_notebook, tiny_submission

SOURCE = {grade_id(c): c for c in tiny_source_notebook().cells}


def by_id(nb) -> dict:
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def submission(body: str = "    return a + b"):
    return nbformat.reads(tiny_submission(body), as_version=4)


# -- restoring what students may not change ---------------------------------------------------

def test_an_untouched_submission_gets_its_hidden_tests_back(tiny_gradebook_course):
    nb = sanitize(submission(), tiny_gradebook_course, "amy")
    cells = by_id(nb)
    assert [grade_id(c) for c in nb.cells] == ["intro", "add", "test_add", "test_add_strings"]
    for gid in ("test_add", "test_add_strings"):
        assert cells[gid].source == SOURCE[gid].source
        assert "### BEGIN HIDDEN TESTS" in cells[gid].source
    assert cells["add"].source == "def add(a, b):\n    return a + b"  # the student's answer


def test_edited_locked_cells_and_points_are_restored(tiny_gradebook_course):
    nb = submission()
    cells = by_id(nb)
    cells["intro"].source = "# my own instructions"
    cells["test_add"].source = "pass  # tests are for others"
    cells["test_add"].metadata.nbgrader["points"] = 100
    cells["test_add_strings"].metadata.nbgrader["checksum"] = "forged"
    restored = by_id(sanitize(nb, tiny_gradebook_course, "amy"))
    assert restored["intro"].source == SOURCE["intro"].source
    assert restored["test_add"].source == SOURCE["test_add"].source
    assert restored["test_add"].metadata.nbgrader["points"] == 3
    assert restored["test_add_strings"].source == SOURCE["test_add_strings"].source


def test_a_deleted_grade_cell_is_put_back_after_the_cell_before_it(tiny_gradebook_course):
    nb = submission()
    nb.cells = [c for c in nb.cells if grade_id(c) != "test_add"]
    out = sanitize(nb, tiny_gradebook_course, "amy")
    assert [grade_id(c) for c in out.cells] == ["intro", "add", "test_add", "test_add_strings"]
    back = by_id(out)["test_add"]
    meta = back.metadata["nbgrader"]  # a plain dict in the cell nbgrader adds
    assert meta["points"] == 3 and meta["grade"] and meta["locked"]
    # nbgrader's note comes first, as a comment; the test itself, hidden part included, runs
    first, rest = back.source.split("\n", 1)
    assert first.startswith("# This cell (id:test_add) was missing from the submission.")
    assert rest.strip() == SOURCE["test_add"].source


def test_outputs_and_execution_counts_are_cleared(tiny_gradebook_course):
    nb = submission()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text="public tests passed\n")]
            cell.execution_count = 7
    out = sanitize(nb, tiny_gradebook_course, "amy")
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [(c.outputs, c.execution_count) for c in code] == [([], None)] * len(code)


def test_cells_the_student_added_are_kept(tiny_gradebook_course):
    nb = submission()
    nb.cells.insert(2, new_code_cell("helper = 42"))
    out = sanitize(nb, tiny_gradebook_course, "amy")
    assert [c.source for c in out.cells if not grade_id(c)] == ["helper = 42"]


def test_metadata_nbgrader_cannot_read_is_a_submission_error(tiny_gradebook_course):
    nb = submission()
    by_id(nb)["test_add"].metadata.nbgrader["points"] = "all of them"
    with pytest.raises(SubmissionError, match="start again from a fresh copy"):
        sanitize(nb, tiny_gradebook_course, "amy")


# -- read_notebook ----------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "is empty: submit the notebook saved from Jupyter"),
    (b"  \n\t\n", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "is not valid notebook JSON"),
    (b"PK\x03\x04 a zip", "is not valid notebook JSON"),
    (tiny_submission().encode()[:300], "is not valid notebook JSON"),
    (b'{"name": "my notes"}', "is JSON but not a Jupyter notebook"),
    (b"[1, 2, 3]", "is JSON but not a Jupyter notebook"),
    (b'{"cells": "none", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
     "is not a valid Jupyter notebook"),
], ids=["empty", "blank", "png", "zip", "truncated", "other-json", "json-list",
        "broken-cells"])
def test_files_that_are_not_notebooks_are_explained(tmp_path: Path, content, message):
    path = tmp_path / "digit_recognition.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=message) as caught:
        read_notebook(path)
    assert str(caught.value).startswith("digit_recognition.ipynb ")  # the name, not the path


def test_a_notebook_is_read_and_validated(tmp_path: Path):
    path = tmp_path / "mine.ipynb"
    path.write_text(tiny_submission(), encoding="utf-8")
    nb = read_notebook(path)
    assert [grade_id(c) for c in nb.cells] == ["intro", "add", "test_add", "test_add_strings"]
