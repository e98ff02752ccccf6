"""``python -m autograder merge``: shards graded apart (``grade --shard i/n``) into one gradebook.

Each shard's grade JSON carries every test's points; they are written into this course's
gradebook with nbgrader's API, from this one process, so ``export`` then gives one CSV.

A shard file travels (a CI artifact, a copy between machines) and its messages are student
text, so it is read as data: capped, and each entry checked against this course before
anything is written: a usable student id, only this assignment's tests, and points between
0 and what the course's source notebook gives each test (not what the file claims).
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder import untrusted
from autograder.grader.course import Course, CourseError
from autograder.grader.gradebook import ensure_assignment, lateness, points_by_test, save_merged
from autograder.grader.steps.ledger import MERGED, Ledger
from autograder.grader.steps.submissions import STUDENT_ID, find, shard_of
from autograder.records import SubmissionResult

SHARD_BYTES = 256 * 2**20  # a class of thousands is a few MB


def _entry(sub: object, points: dict[str, float]) -> SubmissionResult:
    """One submission of a shard, checked against the course; ValueError says what is wrong."""
    if not isinstance(sub, dict) or not isinstance(sub.get("student"), str) \
            or not STUDENT_ID.match(sub["student"]):
        raise ValueError("an entry without a usable student id")
    tests = sub.get("tests")
    if not isinstance(tests, dict) or set(tests) - set(points):
        raise ValueError(f"{sub['student']}: tests that are not this assignment's")
    for gid, test in tests.items():
        got = test.get("points") if isinstance(test, dict) else None
        if not isinstance(got, int | float) or not 0 <= got <= points[gid] \
                or not isinstance(test.get("feedback"), str):
            raise ValueError(f"{sub['student']}: {gid} has {got!r} points; this course gives "
                             f"0 to {points[gid]:g}")
        test["max_points"] = points[gid]
    try:
        result = SubmissionResult.from_dict(sub)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{sub['student']}: {exc}") from None
    if not isinstance(result.file, str | None):
        raise ValueError(f"{sub['student']}: the graded file {result.file!r} is not a name")
    return SubmissionResult.of_tests(result.student, result.tests, error=result.error,
                                     notes=result.notes, tampering=result.tampering,
                                     commit=result.commit, submitted_at=result.submitted_at,
                                     file=result.file, late=result.late)


def read_shards(course: Course, paths: list[Path]) -> list[SubmissionResult]:
    points = points_by_test(course)
    results: list[SubmissionResult] = []
    origin: dict[str, Path] = {}
    for path in paths:
        try:
            data = json.loads(untrusted.read_bytes(path.parent, path.name, SHARD_BYTES))
        except (OSError, ValueError, RecursionError) as exc:
            raise CourseError(f"cannot read shard results {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("assignment") != course.assignment_id:
            found = data.get("assignment") if isinstance(data, dict) else None
            raise CourseError(f"{path} holds grades of {found!r}, not {course.assignment_id!r}")
        for sub in data.get("submissions") or []:
            try:
                result = _entry(sub, points)
            except ValueError as exc:
                raise CourseError(f"{path} is not a shard of this course: {exc}") from None
            if result.student in origin:
                raise CourseError(f"student {result.student!r} is in both "
                                  f"{origin[result.student]} and {path}: were the shards cut "
                                  "from different class lists?")
            origin[result.student] = path
            results.append(result)
    return results


def merge(course: Course, paths: list[Path]) -> list[SubmissionResult]:
    """The shards' grades into the gradebook, and each result into the ledger, from which
    ``feedback`` writes a merged student's page (their graded notebook stayed on the machine
    that graded the shard). The ledger's key for them matches no submission: a later
    ``grade`` of the same files grades them again."""
    ensure_assignment(course)
    results = read_shards(course, paths)
    save_merged(course, results)
    book = Ledger(course.db, course.assignment_id)
    try:
        for result in results:  # the penalty this gradebook took (save_merged), not a shard's
            result.late, result.late_penalty = lateness(course, result.student, result.late)
            book.record(result.student, MERGED, result.as_dict())
    finally:
        book.close()
    return sorted(results, key=lambda r: r.student)


def missing_by_shard(class_dirs: list[Path], count: int, merged: list[SubmissionResult],
                     notebook: str) -> dict[int, list[str]]:
    """shard -> the students of the class folders it should have graded and no shard file
    holds (a task that ran out of time, was preempted or cancelled), by the same stable
    hash ``grade --shard`` slices by; empty when every student was merged."""
    done = {r.student for r in merged}
    missing: dict[int, list[str]] = {}
    for sub in find(class_dirs, expected=notebook):
        if sub.record and sub.student not in done:
            missing.setdefault(shard_of(sub.student, count), []).append(sub.student)
    return dict(sorted(missing.items()))
