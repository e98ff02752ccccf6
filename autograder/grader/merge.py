"""``python -m autograder merge``: shards graded apart (``grade --shard i/n``) into one gradebook.

Each shard's grade JSON carries every test's points; they are written into this course's
gradebook with nbgrader's API, from this one process, so ``export`` then gives one CSV.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.grader.course import Course, CourseError
from autograder.grader.gradebook import ensure_assignment, save_merged
from autograder.records import SubmissionResult


def read_shards(course: Course, paths: list[Path]) -> list[SubmissionResult]:
    results: list[SubmissionResult] = []
    origin: dict[str, Path] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CourseError(f"cannot read shard results {path}: {exc}") from None
        if data.get("assignment") != course.assignment_id:
            raise CourseError(f"{path} holds grades of {data.get('assignment')!r}, "
                              f"not {course.assignment_id!r}")
        for sub in data["submissions"]:
            if sub["student"] in origin:
                raise CourseError(f"student {sub['student']!r} is in both {origin[sub['student']]}"
                                  f" and {path}: were the shards cut from different class lists?")
            origin[sub["student"]] = path
            results.append(SubmissionResult.from_dict(sub))
    return results


def merge(course: Course, paths: list[Path]) -> list[SubmissionResult]:
    ensure_assignment(course)
    results = read_shards(course, paths)
    save_merged(course, results)
    return sorted(results, key=lambda r: r.student)
