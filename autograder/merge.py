"""``python -m autograder merge``: shards graded apart (``grade --shard i/n``) into one gradebook.

Each shard's grade JSON carries every test's points; they are written into this course's
gradebook with nbgrader's API, from this one process, so ``export`` then gives one CSV.
"""

from __future__ import annotations

import json
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.assignment_db import ensure_assignment
from autograder.course import Course, CourseError
from autograder.pipeline import SubmissionResult


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
    with Gradebook(course.db, course.id) as gb:
        for result in results:
            gb.update_or_create_student(result.student)
            gb.update_or_create_submission(course.assignment_id, result.student)
            for gid, test in result.tests.items():
                grade = gb.find_grade(gid, course.notebook_id, course.assignment_id,
                                      result.student)
                grade.auto_score = test.points
                grade.needs_manual_grade = False
            gb.db.commit()
    return sorted(results, key=lambda r: r.student)
