"""The catalogue of real-assignment submissions, graded in one batch, each with its result.

Hostile mechanics that do not depend on the assignment (endless loops, bombs, escapes) are
in test_hostile.py, on the tiny stand-in notebook, so they cost seconds.
"""

from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from conftest import by_student

pytestmark = pytest.mark.slow

TESTS = {"test_my_relu": 10, "test_my_softmax": 15, "test_softmax_stability": 10,
         "test_model_architecture": 20, "test_model_activations": 15,
         "test_loss_from_logits": 10, "test_training_accuracy": 20}


def lost(sub: dict) -> set[str]:
    return {g for g, t in sub["tests"].items() if t["points"] < t["max_points"]}


@pytest.fixture(scope="module")
def result(graded_class) -> dict[str, dict]:
    return by_student(graded_class[1])


def test_every_submission_is_reported_once(graded_class, result):
    assert graded_class[1]["assignment"] == "digit_recognition"
    assert len(graded_class[1]["submissions"]) == len(result) == 12
    for sub in result.values():
        assert sub["max_score"] == 100
        assert {g: t["max_points"] for g, t in sub["tests"].items()} == TESTS


def test_solution_gets_full_marks(result):
    assert result["solution"]["score"] == 100 and result["solution"]["error"] is None
    assert all(t["feedback"] == "passed" for t in result["solution"]["tests"].values())


def test_untouched_release_gets_zero_with_a_message_per_test(result):
    release = result["release"]
    assert release["score"] == 0 and release["error"] is None
    for gid, test in release["tests"].items():
        assert "not implemented yet" in test["feedback"], gid


def test_other_styles_deleted_and_edited_cells_still_get_full_marks(result):
    # loops, built-in sum, add(), InputLayer, function activations, stderr noise in student
    # cells; a deleted test cell restored; an edited locked test cell and training cell reset
    assert result["weird_but_correct"]["score"] == 100, result["weird_but_correct"]


def test_each_mistake_loses_exactly_its_own_tests(result):
    partial = result["partial"]
    assert lost(partial) == {"test_softmax_stability", "test_model_activations",
                             "test_loss_from_logits"}
    assert partial["score"] == 65
    messages = " ".join(t["feedback"] for t in partial["tests"].values())
    assert "linear" in messages and "from_logits" in messages

    sizes = result["wrong_sizes"]
    assert lost(sizes) == {"test_model_architecture", "test_training_accuracy"}
    assert sizes["score"] == 60
    assert "[25, 15, 10]" in sizes["tests"]["test_model_architecture"]["feedback"]


def test_patched_numpy_and_model_cannot_fake_the_accuracy(result):
    fake = result["fake_accuracy"]
    assert lost(fake) == {"test_training_accuracy"}
    assert fake["score"] == 80


def test_emptied_test_cells_and_a_printed_score_earn_nothing(result):
    assert result["cheat_on_tests"]["score"] == 0
    assert all(t["points"] == 0 for t in result["cheat_on_tests"]["tests"].values())


def test_files_that_are_not_notebooks_are_errors_for_that_student_only(result):
    assert "not valid notebook JSON" in result["truncated"]["error"]
    assert "is empty" in result["empty"]["error"]
    assert "not valid notebook JSON" in result["not_a_notebook"]["error"]
    assert "rename yours" in result["two_unnamed"]["error"]
    assert result["renamed"]["error"] is None  # the only notebook: graded
    for name in ("truncated", "empty", "not_a_notebook", "two_unnamed"):
        assert result[name]["score"] == 0
        for test in result[name]["tests"].values():
            assert test["feedback"].startswith("not graded: ")


def test_gradebook_holds_every_student_once_with_the_same_scores(graded_class, result):
    course: Path = graded_class[0]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "digit-recognition") as gb:
        subs = gb.find_assignment("digit_recognition").submissions
        scores = {s.student.id: s.score for s in subs}
    assert scores == {name: sub["score"] for name, sub in result.items()}


def test_changed_locked_cells_are_reported_but_cannot_help(result):
    assert result["release"]["tampering"] == []
    weird = " ".join(result["weird_but_correct"]["tampering"])
    assert "test_model_activations was changed" in weird
    assert "test_my_relu was deleted" in weird and "train was changed" in weird
    cheat = result["cheat_on_tests"]["tampering"]
    assert any("test_training_accuracy was changed" in p for p in cheat)
