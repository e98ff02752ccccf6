"""The catalogue of real-assignment submissions, graded in one batch, each with its result.

Hostile mechanics that do not depend on the assignment (endless loops, bombs, escapes) are
in test_hostile.py, on the tiny stand-in notebook, so they cost seconds.
"""

from pathlib import Path

import catalogue
import pytest
from nbgrader.api import Gradebook

from autograder.grader import gradebook
from autograder.grader.course import Course

from helpers import ASSIGNMENT_ID, DIGIT_TOTAL, ROOT, by_student, plain_nbgrader_autograde

pytestmark = pytest.mark.slow

# names and points come from the notebook
TESTS = gradebook.points_by_test(Course(ROOT, None, ASSIGNMENT_ID))
TOTAL = sum(TESTS.values())


def lost(sub: dict) -> set[str]:
    return {g for g, t in sub["tests"].items() if t["points"] < t["max_points"]}


def all_but(tests: set[str]) -> float:
    """The score of a submission that loses exactly ``tests``, each entirely."""
    return TOTAL - sum(TESTS[g] for g in tests)


@pytest.fixture(scope="module")
def result(graded_class) -> dict[str, dict]:
    return by_student(graded_class[1])


def test_every_submission_is_reported_once(graded_class, result):
    assert graded_class[1]["assignment"] == "digit_recognition"
    assert len(graded_class[1]["submissions"]) == len(result) == 18
    for sub in result.values():
        assert sub["max_score"] == TOTAL == DIGIT_TOTAL
        assert {g: t["max_points"] for g, t in sub["tests"].items()} == TESTS


def test_solution_gets_full_marks(result):
    assert result["solution"]["score"] == TOTAL and result["solution"]["error"] is None
    assert all(t["feedback"] == "passed" for t in result["solution"]["tests"].values())


def test_untouched_release_gets_zero_with_a_message_per_test(result):
    release = result["release"]
    assert release["score"] == 0 and release["error"] is None
    for gid, test in release["tests"].items():
        assert "not implemented yet" in test["feedback"], gid


def test_other_styles_deleted_and_edited_cells_still_get_full_marks(result):
    # loops, built-in sum, add(), InputLayer, function activations, stderr noise in student
    # cells; a deleted test cell restored; an edited locked test cell and training cell reset
    assert result["weird_but_correct"]["score"] == TOTAL, result["weird_but_correct"]


def test_each_mistake_loses_exactly_its_own_tests(result):
    partial = result["partial"]
    assert lost(partial) == {"test_softmax_stability", "test_model_activations",
                             "test_loss_from_logits"}
    assert partial["score"] == all_but(lost(partial))  # each lost test entirely, no more
    messages = " ".join(t["feedback"] for t in partial["tests"].values())
    assert "linear" in messages and "from_logits" in messages

    sizes = result["wrong_sizes"]
    assert lost(sizes) == {"test_model_architecture", "test_training_accuracy"}
    assert sizes["score"] == all_but(lost(sizes))
    assert "[25, 15, 10]" in sizes["tests"]["test_model_architecture"]["feedback"]


def test_patched_numpy_and_model_cannot_fake_the_accuracy(result):
    fake = result["fake_accuracy"]
    assert lost(fake) == {"test_training_accuracy"}
    assert fake["score"] == all_but(lost(fake))


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


@pytest.fixture(scope="module")
def plain_nbgrader(tmp_path_factory) -> dict[str, dict]:
    """The attacks graded by plain `nbgrader autograde`, hidden tests included."""
    work = tmp_path_factory.mktemp("plain") / "course"
    return plain_nbgrader_autograde(work, {n: catalogue.attack(n) for n in catalogue.ATTACKS})


@pytest.mark.parametrize("name", sorted(catalogue.ATTACKS))
def test_patching_attacks_fool_plain_nbgrader(plain_nbgrader, name):
    attacked = catalogue.ATTACKS[name][2]
    assert {g: plain_nbgrader[name][g] for g in attacked} == {g: TESTS[g] for g in attacked}


@pytest.mark.parametrize("name", sorted(catalogue.ATTACKS))
def test_patching_attacks_score_zero_here_and_say_which_input_failed(result, name):
    attacked = catalogue.ATTACKS[name][2]
    tests = result[name]["tests"]
    assert {g: tests[g]["points"] for g in attacked} == dict.fromkeys(attacked, 0)
    for gid in attacked:
        feedback = tests[gid]["feedback"]
        assert feedback.startswith("GraderCheck: my_"), feedback
        assert "([" in feedback, feedback  # the input that gave the wrong output


def test_stderr_logging_and_warnings_in_tested_functions_cost_nothing(result):
    noisy = result["noisy_but_correct"]
    assert noisy["score"] == TOTAL, noisy
    for gid in ("test_my_relu", "test_my_softmax", "test_softmax_stability"):
        assert "note: it wrote to stderr" in noisy["tests"][gid]["feedback"], gid
    assert "my_relu called" in noisy["tests"]["test_my_relu"]["feedback"]
