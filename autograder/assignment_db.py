"""Keep the gradebook's copy of the assignment in step with the source notebook.

nbgrader can only autograde an assignment that ``generate_assignment`` has written into the
gradebook: the locked test cells (hidden tests included) are restored from there. This step
runs it when the gradebook lacks the assignment or holds older test cells, writing the
student version to a throw-away folder so grading never touches the committed release.
"""

from __future__ import annotations

import tempfile

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log

from autograder.course import Course, CourseError


def _source_tests(course: Course) -> list:
    nb = nbformat.read(course.source_notebook, as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata.nbgrader.get("solution")]


def source_test_cells(course: Course) -> dict[str, str]:
    """grade_id -> source of every autograded test cell in the source notebook."""
    return {c.metadata.nbgrader["grade_id"]: c.source for c in _source_tests(course)}


def gradebook_test_cells(course: Course) -> dict[str, str] | None:
    with Gradebook(course.db, course.id) as gb:
        try:
            notebook = gb.find_notebook(course.notebook_id, course.assignment_id)
        except MissingEntry:
            return None
        return {cell.name: cell.source for cell in notebook.source_cells
                if cell.name in {g.name for g in notebook.grade_cells}}


def ensure_assignment(course: Course) -> bool:
    """Write the assignment into the gradebook if it is missing or stale; True if it was."""
    course.check()
    if gradebook_test_cells(course) == source_test_cells(course):
        return False
    config = course.nbgrader_config()
    with tempfile.TemporaryDirectory(prefix="release-") as release:
        # An absolute release_directory wins over root in os.path.join.
        config.CourseDirectory.release_directory = release
        config.CourseDirectory.assignment_id = course.assignment_id
        coursedir = CourseDirectory(config=config)
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force = True
        app.create_assignment = True
        result = capture_log(app)
    if not result["success"]:
        raise CourseError(
            "nbgrader generate_assignment failed, so nothing can be graded:\n"
            + result.get("error", "") + result.get("log", "")
        )
    return True


def test_points(course: Course) -> dict[str, float]:
    """grade_id -> max points of every autograded test, in notebook order."""
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
            for c in _source_tests(course)}
