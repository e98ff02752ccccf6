"""What a student's own folder cannot tell the grader: when or which commit was handed in,
or which file to grade through a link.

A student's repository (or upload) is theirs to fill: a ``timestamp.txt`` beside the
notebook, a ``collection.json`` in a folder of theirs, a notebook or a folder that is a link
to the instructor's solution. Each is shown to work as main read it, then to be ignored or
refused now. The real ``collect`` records and nbgrader's own ``submitted/`` layout still count.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from autograder.grader import collected, gradebook, pipeline
from autograder.grader.course import Course
from autograder.grader.steps import submissions as collect_step
from autograder.grader.steps.submissions import Submission, find

from helpers import (
    TINY_ID,
    TINY_NAME,
    by_student,
    empty_gradebook,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

PLANTED_AT = "2026-11-01 08:00:00.000000 UTC"  # long before the deadline
PLANTED_COMMIT = "0" * 40
COLLECTED_AT = "2026-12-01T23:50:00+01:00"
REAL_COMMIT = "ab" * 20


def record(folder: Path, student: str, when: str, commit: str) -> None:
    """A collection.json as `collect --git` writes it."""
    (folder / collected.FILE).write_text(json.dumps(
        {"origin": "git", "source": "roster.csv", "deadline": None, "unmatched": [],
         "students": {student: {"source": f"{student}.git", "submitted_at": when,
                                "commit": commit}}}))


# --- hand-in times and commits (fast) --------------------------------------------------------

def test_a_timestamp_txt_in_the_students_folder_is_not_a_hand_in_time(tmp_course: Course,
                                                                         tmp_path):
    notebook = place(tmp_path / "class", "amy", tiny_submission())
    (notebook.parent / "timestamp.txt").write_text(PLANTED_AT)
    # main took it, as nbgrader reads the file in its own submitted/ folders
    coursedir = CourseDirectory(config=tmp_course.nbgrader_config())
    assert str(coursedir.get_existing_timestamp(str(notebook.parent))) == "2026-11-01 08:00:00"
    [sub] = find([tmp_path / "class"], expected=TINY_NAME)
    assert sub.handed_in(tmp_course) is None  # and no file time instead: that is "copied"
    # nbgrader's exchange (or an earlier grade) writes it in the course's submitted/ folder
    kept = tmp_course.submitted_notebook("amy")
    kept.parent.mkdir(parents=True)
    shutil.copyfile(notebook, kept)
    (kept.parent / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    assert Submission("amy", kept).handed_in(tmp_course) == "2026-12-01T10:00:00+00:00"
    sub.submitted_at = COLLECTED_AT
    assert sub.handed_in(tmp_course) == COLLECTED_AT  # collect's record first


def test_a_collection_json_in_the_students_repository_is_not_read(tmp_path, monkeypatch):
    """An instructor regrading one notebook by its path inside a clone: the record beside
    the class's folders counts, not the one the student committed next to the notebook."""
    clone = tmp_path / "class" / "amy"
    notebook = place(clone / "assignments", TINY_ID, tiny_submission())
    record(tmp_path / "class", "amy", COLLECTED_AT, REAL_COMMIT)
    record(clone / "assignments", "amy", PLANTED_AT, PLANTED_COMMIT)  # committed by amy
    with monkeypatch.context() as main:  # main read the record beside the notebook's folder
        main.setattr(collect_step, "class_record", lambda sub: sub.folder.parent)
        [planted] = find([notebook], "amy", expected=TINY_NAME)
    assert (planted.submitted_at, planted.commit) == (PLANTED_AT, PLANTED_COMMIT)
    for given in ([notebook], [clone]):
        [sub] = find(given, "amy", expected=TINY_NAME)
        assert (sub.submitted_at, sub.commit) == (COLLECTED_AT, REAL_COMMIT), given
    [sub] = find([tmp_path / "class"], expected=TINY_NAME)
    assert (sub.submitted_at, sub.commit) == (COLLECTED_AT, REAL_COMMIT)


def test_without_a_class_record_a_planted_one_is_not_read_either(tmp_path):
    """A class cloned by hand (no collect record) where amy's repository holds a folder
    named amy and a record beside it: nothing is known, nothing is forged."""
    clone = tmp_path / "class" / "amy"
    notebook = place(clone, "amy", tiny_submission())
    record(clone, "amy", PLANTED_AT, PLANTED_COMMIT)
    for given, student in (([notebook], "amy"), ([clone / "amy"], "amy"),
                           ([tmp_path / "class"], None)):
        [sub] = find(given, student, expected=TINY_NAME)
        assert (sub.submitted_at, sub.commit) == (None, None), given


@pytest.fixture
def tmp_course(tmp_path) -> Course:
    root = tiny_course_at(tmp_path / "course")
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    return Course(root)


@pytest.mark.slow  # grades (kernels)
def test_a_planted_time_reaches_no_record(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    notebook = place(tmp_path / "class", "amy", tiny_submission())
    (notebook.parent / "timestamp.txt").write_text(PLANTED_AT)
    os.utime(notebook, (0, 0))  # 1970: a file time is no hand-in time either
    grades, _ = run_grade(course, tmp_path / "class")
    amy = by_student(grades)["amy"]
    assert amy["score"] == 5 and "submitted_at" not in amy
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", Course(course).id) as gb:
        assert gb.find_submission(TINY_ID, "amy").timestamp is None
    assert not (course / "submitted" / "amy" / TINY_ID / "timestamp.txt").exists()


# --- links to the solution (a real class, in this process) -------------------------------------

def grade(course: Course, paths: list[Path], student: str | None = None) -> dict:
    options = pipeline.Options(isolate=False, workers=1, zygote=False)
    subs = find(paths, student, expected=course.assignment.notebook)
    results = pipeline.grade_all(course, subs, options, gradebook.points_by_test(course))
    return {r.student: r for r in results}


@pytest.mark.slow  # grades (kernels)
def test_a_notebook_or_folder_that_links_to_the_solution_is_refused(tmp_course, tmp_path,
                                                                    monkeypatch):
    solution = tmp_course.source_notebook
    given = tmp_path / "given.ipynb"
    given.symlink_to(solution)  # named on the command line
    linked_folder = tmp_path / "class" / "eve"
    linked_folder.parent.mkdir()
    linked_folder.symlink_to(solution.parent)  # a student folder of the class
    (tmp_path / "class" / "bob").mkdir()
    (tmp_path / "class" / "bob" / TINY_NAME).symlink_to(solution)  # found in a folder
    gradebook.ensure_assignment(tmp_course)
    def grade_both() -> dict:
        return {**grade(tmp_course, [given], "mallory"), **grade(tmp_course, [tmp_path / "class"])}

    with monkeypatch.context() as main:  # main refused only the last of these
        main.setattr(collect_step, "_linked", lambda sub, shown: sub)
        linked = grade_both()
    assert linked["mallory"].score == 5 and linked["eve"].score == 5  # the solution, graded
    refused = grade_both()
    for student in ("mallory", "eve", "bob"):
        assert refused[student].score == 0
        assert "is a symbolic link: submit the notebook itself" in refused[student].error
