"""nbgrader's ``generate_assignment`` refuses an assignment whose tests are not all decided
outside the kernel, and stamps the release with the assignment's public facts.

In ``c.GenerateAssignment.preprocessors`` (``nbgrader_config.py``), first: ``make release``
and the grader's own gradebook set-up (``gradebook.ensure_assignment``) both run it, so a
test cell without a check in ``grading.py`` (or a ``KernelOnly`` reason) stops both with the
list of what is missing. The released notebook's metadata then carries
``Assignment.public()``, from which the student's ``check`` and the public Classroom 50
bundle know the assignment without ``grading.py``.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.assignment import METADATA_KEY
from autograder.grader.course import Course, unchecked_tests


class UncheckedTests(ValueError):
    """Some autograded test has no outside-the-kernel check (the message lists them)."""


class CheckedRelease(NbGraderPreprocessor):
    """Refuse unchecked tests; stamp ``metadata.autograder`` with the public facts."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        coursedir = CourseDirectory(config=self.config)
        course = Course(Path(coursedir.root), None, resources["nbgrader"]["assignment"])
        problems = unchecked_tests(course)
        if problems:
            raise UncheckedTests(f"{course.assignment_id}: " + "; ".join(problems))
        nb.metadata[METADATA_KEY] = course.assignment.public()
        return nb, resources


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.grader.release_check [ID ...]``, from the course folder: check
    every assignment (or those named) before nbgrader removes the old release, so a refused
    release leaves the previous one in place."""
    import sys

    from autograder.grader.assignments import AssignmentError, ids

    root = Path.cwd()
    named = (sys.argv[1:] if argv is None else argv) or ids(root)
    problems = []
    for assignment_id in named:
        try:
            problems += [f"{assignment_id}: {p}"
                         for p in unchecked_tests(Course(root, None, assignment_id))]
        except AssignmentError as exc:
            problems.append(str(exc))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
