"""digit_recognition_binary's catalogue, graded in one batch: the solution, the release,
honest styles (full marks), common mistakes (each loses exactly its own tests, saying what to
fix), attacks that make the kernel's test cells pass with wrong code (shown first to fool
plain nbgrader, then scored 0 here with the failed input named) and a broken file.

Submissions are built from the real notebooks in catalogue_binary.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import catalogue_binary as cb
import h5py
import nbformat
import pytest

from helpers import (
    BINARY_ID,
    BINARY_NAME,
    BINARY_RELEASE,
    BINARY_SOLUTION,
    BINARY_TESTS,
    BINARY_TOTAL,
    by_student,
    link_digit_solutions,
    place,
    plain_nbgrader_autograde,
    run_grade,
)

pytestmark = pytest.mark.slow  # a real `grade` run: kernels, Keras training


def lost(sub: dict) -> set[str]:
    return {g for g, t in sub["tests"].items() if t["points"] < t["max_points"]}


def all_but(tests: set[str]) -> int | float:
    """The score of a submission that loses exactly ``tests``, each entirely."""
    return BINARY_TOTAL - sum(BINARY_TESTS[g] for g in tests)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, dict[str, dict], str]:
    """The catalogue graded once by `python -m autograder grade`, in a new course whose one
    assignment is the binary one: (course, student -> result, console output)."""
    base = tmp_path_factory.mktemp("binary-class")
    course = link_digit_solutions(base / "course", BINARY_ID)
    subs = base / "submissions"
    place(subs, "solution", BINARY_SOLUTION, name=BINARY_NAME)
    place(subs, "release", BINARY_RELEASE, name=BINARY_NAME)
    for name in cb.HONEST:
        place(subs, name, cb.honest(name), name=BINARY_NAME)
    for name in cb.MISTAKES:
        place(subs, name, cb.mistake(name), name=BINARY_NAME)
    for name in cb.ATTACKS:
        place(subs, name, cb.attack(name), name=BINARY_NAME)
    place(subs, "cheat_on_tests", cb.cheat_on_tests(), name=BINARY_NAME)
    place(subs, "leaks_hidden_tests", cb.leaks_hidden_tests(), name=BINARY_NAME)
    secret = base / "root-only.bin"  # where the grader runs, hidden from the sandbox
    secret.write_bytes(bytes(range(256)) * 64)
    secret.chmod(0o600)
    place(subs, "model_external_storage", cb.model_external_storage(secret), name=BINARY_NAME)
    place(subs, "truncated", BINARY_SOLUTION.read_text(encoding="utf-8")[:5000],
          name=BINARY_NAME)
    grades, output = run_grade(course, subs, new_gradebook=True)  # as a new course does
    return course, by_student(grades), output


@pytest.fixture(scope="module")
def result(graded) -> dict[str, dict]:
    return graded[1]


def test_every_submission_is_reported_once_with_the_binary_tests(result):
    names = {"solution", "release", "cheat_on_tests", "truncated", "leaks_hidden_tests",
             "model_external_storage", *cb.HONEST, *cb.MISTAKES, *cb.ATTACKS}
    assert set(result) == names
    for sub in result.values():
        assert sub["max_score"] == BINARY_TOTAL == 100
        assert {g: t["max_points"] for g, t in sub["tests"].items()} == BINARY_TESTS


def test_solution_gets_full_marks(result):
    solution = result["solution"]
    assert solution["score"] == BINARY_TOTAL and solution["error"] is None, solution
    assert all(t["feedback"] == "passed" for t in solution["tests"].values()), solution


def test_untouched_release_gets_zero_with_a_message_per_test(result):
    release = result["release"]
    assert release["score"] == 0 and release["error"] is None
    for gid, test in release["tests"].items():
        assert test["points"] == 0 and "not implemented yet" in test["feedback"], (gid, test)


@pytest.mark.parametrize("name", sorted(cb.HONEST))
def test_honest_styles_get_full_marks(result, name):
    """Loops or vectorised, np.dot or @, a row loop over my_dense, tf.keras.Sequential with
    metrics: the checks compare numbers, never the way they were computed."""
    assert result[name]["score"] == BINARY_TOTAL, result[name]
    assert not lost(result[name])


@pytest.mark.parametrize("name", sorted(cb.MISTAKES))
def test_each_mistake_loses_exactly_its_tests_saying_what_to_fix(result, name):
    """A mistake costs its own tests, entirely, and nothing else; each message names it."""
    sub, phrases = result[name], cb.MISTAKES[name][1]
    assert sub["error"] is None
    assert lost(sub) == set(phrases), {g: t["feedback"] for g, t in sub["tests"].items()}
    assert sub["score"] == all_but(set(phrases))
    for gid, phrase in phrases.items():
        assert sub["tests"][gid]["points"] == 0
        assert phrase in sub["tests"][gid]["feedback"], (gid, sub["tests"][gid]["feedback"])


# --- attacks ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plain_nbgrader(tmp_path_factory) -> dict[str, dict]:
    """The attacks, and the emptied test cells, graded by plain `nbgrader autograde`."""
    work = tmp_path_factory.mktemp("plain-binary") / "course"
    scores = plain_nbgrader_autograde(work, {**{n: cb.attack(n) for n in cb.ATTACKS},
                                             "cheat_on_tests": cb.cheat_on_tests(),
                                             "leaks_hidden_tests": cb.leaks_hidden_tests()},
                                      BINARY_ID)
    return {**scores, "autograded": work / "autograded"}


@pytest.mark.parametrize("name", sorted(cb.ATTACKS))
def test_attacks_fool_plain_nbgrader(plain_nbgrader, name):
    """Without our grader, each attack earns its attacked tests' points with wrong code."""
    attacked = cb.ATTACKS[name]
    assert {g: plain_nbgrader[name][g] for g in attacked} == {g: BINARY_TESTS[g]
                                                              for g in attacked}


@pytest.mark.parametrize("name", sorted(cb.ATTACKS))
def test_attacks_score_zero_here_and_say_which_input_failed(result, name):
    """Each attacked test is decided outside the kernel: 0, with the reason naming the input
    (the function call) or the model fact that failed."""
    attacked, tests = cb.ATTACKS[name], result[name]["tests"]
    assert {g: tests[g]["points"] for g in attacked} == dict.fromkeys(attacked, 0), tests
    for gid in attacked:
        feedback = tests[gid]["feedback"]
        if gid.startswith("test_my_dense"):
            function = gid.removeprefix("test_")
            assert feedback.startswith(f"GraderCheck: {function}(["), feedback
        elif name == "attack_swallowed_errors":  # no model was ever built, so none saved
            assert feedback.startswith("GraderCheck: the trained model could not be checked"
                                       " outside the notebook: the notebook defines no "
                                       "variable named model"), feedback
        else:
            assert feedback.startswith("GraderCheck: the trained model's accuracy"), feedback
            assert "recomputed by the grader, is 0." in feedback, feedback


def test_function_check_reasons_say_what_the_call_did(result):
    """The reason says what the student's function did with the input, not only the input:
    a student cannot fix 'my_dense([1., 2.], [[ 1., -3.,  5.],'."""
    def said(name: str, gid: str) -> str:
        return " ".join(result[name]["tests"][gid]["feedback"].split())

    assert "returned [0., 0., 0.], expected [" in said("attack_abs_lies_in_asserts",
                                                       "test_my_dense")
    assert "returned [[0., 0., 0.], [0., 0., 0.], [0., 0., 0.]], expected [[" in said(
        "attack_abs_lies_in_asserts", "test_my_dense_v")
    for gid in ("test_my_dense", "test_my_dense_v"):
        assert "raised NotImplementedError" in said("attack_swallowed_errors", gid)


def test_attacks_lose_only_what_they_attack(result):
    """The fake accuracy's model is the right one: its other tests keep their points."""
    fake = result["attack_fake_accuracy"]
    assert lost(fake) == cb.ATTACKS["attack_fake_accuracy"], fake
    assert fake["score"] == all_but(cb.ATTACKS["attack_fake_accuracy"])
    assert result["attack_swallowed_errors"]["score"] == 0


def test_emptied_test_cells_and_a_printed_score_earn_nothing(result, plain_nbgrader):
    """Test cells emptied (checksums removed) are restored before grading; nbgrader's own
    OverwriteCells restores them too, so this is no attack on either: both give 0."""
    cheat = result["cheat_on_tests"]
    assert cheat["score"] == 0 and cheat["error"] is None
    assert all(t["points"] == 0 for t in cheat["tests"].values())
    assert any("test_my_dense was changed" in p for p in cheat["tampering"]), cheat
    assert sum(plain_nbgrader["cheat_on_tests"].values()) == 0


def test_a_broken_file_is_an_error_for_that_student_only(result):
    truncated = result["truncated"]
    assert "not valid notebook JSON" in truncated["error"]
    assert truncated["score"] == 0
    assert all(t["feedback"].startswith("not graded: ") for t in truncated["tests"].values())
    assert [n for n, s in result.items() if s["error"]] == ["truncated"]


# --- what leaves the sandbox ------------------------------------------------------------------


def _outputs(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_the_hidden_tests_the_kernel_remembers_never_reach_the_student(graded, result,
                                                                      plain_nbgrader):
    """The kernel keeps every cell it ran, the restored hidden tests included: printed at the
    end, they are in the graded notebook plain nbgrader keeps for feedback; here they are in
    neither the graded notebook nor the grade."""
    hidden = cb.hidden_lines()
    assert len(hidden) > 20  # the six test cells' hidden parts
    plain = plain_nbgrader["autograded"] / "leaks_hidden_tests" / BINARY_ID / BINARY_NAME
    assert len({line for line in hidden if line in _outputs(plain)}) > 20  # the attack works
    course, _, _ = graded
    ours = course / "autograded" / "leaks_hidden_tests" / BINARY_ID / BINARY_NAME
    shown = _outputs(ours) + json.dumps(result["leaks_hidden_tests"])
    assert ours.is_file()
    assert sorted(line for line in hidden if line in shown) == []
    assert result["leaks_hidden_tests"]["score"] == BINARY_TOTAL  # its answers are right


def test_a_model_stored_elsewhere_is_refused_and_its_file_never_read(graded, result):
    """The saved model's weights point at a root-only file of the grader's machine: h5py,
    as Keras would, reads that file's bytes as the weights; the grader refuses the model
    (its four tests 0, with the reason) and keeps none of the file's bytes."""
    course, _, _ = graded
    student = result["model_external_storage"]
    model_tests = ("test_model_architecture", "test_model_activations", "test_model_loss",
                   "test_training_accuracy")
    for gid in model_tests:
        feedback = student["tests"][gid]["feedback"]
        assert student["tests"][gid]["points"] == 0 and "external storage" in feedback, feedback
    assert all(t["points"] == t["max_points"] for g, t in student["tests"].items()
               if g not in model_tests)
    secret = (course.parent / "root-only.bin").read_bytes()
    kept = course / "graded_models" / "model_external_storage" / BINARY_ID
    files = [p for p in kept.rglob("*") if p.is_file()]
    assert secret[:64] not in b"".join(p.read_bytes() for p in files)
    # the attack, without the grader's reader: the kept file's first kernel is the secret
    saved = next(p for p in files if p.suffix == ".keras")
    with zipfile.ZipFile(saved) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as h5:
        kernel = h5["layers/dense/vars/0"]  # 40 000 bytes; past the file's end, zeros
        assert kernel.external and kernel[()].tobytes()[:len(secret)] == secret
