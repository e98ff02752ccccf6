"""collect: paths on the command line -> one submission per student (no execution here)."""

from pathlib import Path

import pytest

from autograder.grader.steps.submissions import find

from helpers import NOTEBOOK_NAME, place


def test_single_notebook_takes_its_folder_name(tmp_path: Path):
    nb = place(tmp_path, "alice", "{}")
    [sub] = find([nb], expected=NOTEBOOK_NAME)
    assert (sub.student, sub.notebook, sub.error) == ("alice", nb, None)


def test_student_flag_overrides_folder_name(tmp_path: Path):
    nb = place(tmp_path, "x", "{}")
    [sub] = find([nb], student="bob", expected=NOTEBOOK_NAME)
    assert sub.student == "bob"


def test_class_folder_one_submission_per_subfolder(tmp_path: Path):
    place(tmp_path, "bob", "{}")
    nested = tmp_path / "alice" / "repo" / "assignments" / "digit_recognition"
    place(nested.parent, nested.name, "{}")  # as a git clone of the student repo leaves it
    (tmp_path / ".git").mkdir()
    subs = find([tmp_path], expected=NOTEBOOK_NAME)
    assert [s.student for s in subs] == ["alice", "bob"]
    assert subs[0].notebook.name == "digit_recognition.ipynb"
    assert all(s.error is None for s in subs)


def test_renamed_notebook_is_graded_with_a_note(tmp_path: Path):
    place(tmp_path, "carol", "{}", name="my_copy.ipynb")
    [sub] = find([tmp_path], expected=NOTEBOOK_NAME)
    assert sub.error is None and sub.notebook.name == "my_copy.ipynb"
    assert "expected digit_recognition.ipynb" in sub.note


def test_extra_notebooks_are_ignored_when_the_expected_one_exists(tmp_path: Path):
    place(tmp_path, "dan", "{}")
    place(tmp_path, "dan", "{}", name="scratch.ipynb")
    (tmp_path / "dan" / ".ipynb_checkpoints").mkdir()
    place(tmp_path / "dan", ".ipynb_checkpoints", "{}", name="digit_recognition-checkpoint.ipynb")
    [sub] = find([tmp_path], expected=NOTEBOOK_NAME)
    assert sub.notebook.name == "digit_recognition.ipynb"
    assert "scratch.ipynb" in sub.note


def test_ambiguous_or_missing_notebooks_are_per_student_errors(tmp_path: Path):
    place(tmp_path, "erin", "{}", name="a.ipynb")
    place(tmp_path, "erin", "{}", name="b.ipynb")
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "notes.txt").write_text("hi")
    erin, frank = find([tmp_path], expected=NOTEBOOK_NAME)
    assert "rename yours to digit_recognition.ipynb" in erin.error
    assert "no notebook found" in frank.error


def test_unusable_student_id_is_an_error_not_a_path(tmp_path: Path):
    nb = place(tmp_path, "ok", "{}")
    [sub] = find([nb], student="../../etc", expected=NOTEBOOK_NAME)
    assert sub.notebook is None and "not usable" in sub.error


def test_same_student_twice_grades_only_the_first(tmp_path: Path):
    a = place(tmp_path / "one", "gina", "{}")
    b = place(tmp_path / "two", "gina", "{}")
    first, second = find([a, b], expected=NOTEBOOK_NAME)
    assert first.error is None
    assert "given twice" in second.error and second.record is False


def test_missing_path_is_a_command_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        find([tmp_path / "nope"], expected=NOTEBOOK_NAME)
