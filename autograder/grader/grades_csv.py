"""The grades CSV, written by nbgrader's own exporter (what ``nbgrader export`` runs)."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from autograder.grader.course import Course, CourseError


def check_gradebook(course: Course) -> None:
    """Opening a missing SQLite gradebook would create an empty one; say what to do instead."""
    if course.sqlite_file and not course.sqlite_file.is_file():
        raise CourseError(f"no gradebook at {course.sqlite_file}: grade the class first "
                          "(python -m autograder grade PATH ...), or pass --db")


def export_grades(course: Course, out: Path) -> Path:
    """Write one CSV row per student of the gradebook (nbgrader's columns); return the file."""
    check_gradebook(course)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # The course's nbgrader_config.py may configure ExportPlugin, as for `nbgrader export`.
    plugin = CsvExportPlugin(config=course.nbgrader_config())
    plugin.to = str(out)
    plugin.assignment = [course.assignment_id]
    with Gradebook(course.db, course.id) as gb:
        try:
            gb.find_assignment(course.assignment_id)
        except MissingEntry:
            raise CourseError(f"the gradebook {course.db} has no {course.assignment_id!r} "
                              "assignment yet: grade the class first") from None
        plugin.export(gb)
    return out
