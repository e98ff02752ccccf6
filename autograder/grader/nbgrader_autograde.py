"""nbgrader's own autograde (``nbgrader autograde``, formgrader's Autograde button) graded
by this course's grader: ``SandboxedAutograde``, an autograde preprocessor.

Plain ``nbgrader autograde`` runs a student's notebook with nbgrader's ``Execute``: with the
rights of whoever started it (the instructor, often root), in the course folder, beside the
gradebook, the solutions and every other student's work. The course's ``nbgrader_config.py``
sets ``c.Autograde.autograde_preprocessors = [SandboxedAutograde]``. nbgrader still finds
the submission in ``submitted/``, registers the student and its ``timestamp.txt`` and
restores the locked cells; then, instead of executing anything, this preprocessor runs
``python -m autograder grade`` on the submitted notebook in a subprocess (the sandbox, the
checks made outside the kernel, the gradebook record: exactly the CLI) and hands nbgrader
the graded notebook that wrote. A submission the grader could not run is reported as
nbgrader's error, with the grader's message; its zero is in the gradebook already.

``AUTOGRADER_PLAIN_NBGRADER=1`` in the environment leaves nbgrader's own preprocessors in
place (``nbgrader_config.py`` reads it): only for the tests and the benchmark that show
what plain nbgrader does. This module stays light because that file imports it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.grader.course import Course

PLAIN_ENV = "AUTOGRADER_PLAIN_NBGRADER"


class AutogradeRefused(RuntimeError):
    """The grader could not grade this submission; the message says why (nbgrader shows it)."""


def plain_nbgrader(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment asks for nbgrader's own, unsandboxed execution."""
    return environ.get(PLAIN_ENV) == "1"


def grade_command(course: Course, student: str, notebook: Path, json_out: Path) -> list[str]:
    """The CLI command that grades one submission, as an instructor would type it."""
    return [sys.executable, "-m", "autograder", "grade", str(notebook), "--student", student,
            "--course-dir", str(course.root), "--assignment", course.assignment_id,
            "--db", course.db, "--json", str(json_out),
            "--force", "--workers", "1", "--quiet", "--details"]


def grade_one(course: Course, student: str, notebook: Path, log=None) -> dict:
    """Grade ``notebook`` as ``student`` with ``python -m autograder grade``; the student's
    entry of its grade JSON. AutogradeRefused when the command fails or the submission
    could not be graded (no notebook, one that crashed ...)."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-autograde-") as tmp:
        out = Path(tmp) / "grades.json"
        cmd = grade_command(course, student, notebook, out)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=course.root,
                              stdin=subprocess.DEVNULL, check=False)
        if log is not None:
            log.info("graded by `%s`:\n%s", shlex.join(cmd), proc.stdout + proc.stderr)
        if proc.returncode != 0 or not out.is_file():
            raise AutogradeRefused(f"`{shlex.join(cmd)}` failed (exit status "
                                   f"{proc.returncode}):\n{proc.stdout}{proc.stderr}")
        grades = json.loads(out.read_text(encoding="utf-8"))
    entry = next((s for s in grades["submissions"] if s["student"] == student), None)
    if entry is None:
        raise AutogradeRefused(f"`{shlex.join(cmd)}` graded no submission of {student}")
    if entry.get("error"):
        raise AutogradeRefused(f"{student} could not be graded: {entry['error']} (recorded "
                               "as 0 in the gradebook)")
    return entry


class SandboxedAutograde(NbGraderPreprocessor):  # enabled by default, unlike nbconvert's
    """In ``c.Autograde.autograde_preprocessors``: grade the submission with this course's
    grader instead of executing it in nbgrader's process."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        student, assignment, notebook_id = info["student"], info["assignment"], info["notebook"]
        coursedir = CourseDirectory(config=self.config)
        course = Course(Path(coursedir.root), info["db_url"], assignment)
        if notebook_id != course.notebook_id:
            raise AutogradeRefused(
                f"assignment {assignment} is graded as {course.notebook_id}.ipynb, not "
                f"{notebook_id}.ipynb")
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, student,
                                               assignment)) / f"{notebook_id}.ipynb"
        grade_one(course, student, submitted, self.log)
        # What the grader recorded: its scores are in the gradebook already; nbgrader saves
        # this notebook where formgrader looks for it.
        return nbformat.read(course.autograded_notebook(student), as_version=4), resources
