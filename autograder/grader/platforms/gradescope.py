"""``python -m autograder gradescope OUT.zip``: one assignment as a Gradescope autograder.

The zip holds, at its root, ``setup.sh`` (run once, as root, when Gradescope builds the
image), ``run_autograder`` (run for every submission), ``requirements.txt`` (every package
pinned to the version this course was tested with), ``gradescope.json`` (the settings below)
and ``course/``: the grader, the assignment's helpers, its released notebook and its source
folder (the notebook with its hidden tests, and ``grading.py``). The zip is the
instructor's: it holds the solutions, and the sandbox keeps them from the student's code
while it runs.
"""

from __future__ import annotations

import json
import stat
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path

from autograder.grader.course import NBGRADER_CONFIG, REPO_ROOT, Course
from autograder.grader.gradebook import ensure_assignment
from autograder.grader.platforms import FILES, helper_files, runtime_python
from autograder.grader.platforms.gradescope_settings import (
    DEFAULT_VISIBILITY,
    GRADEBOOK,
    VISIBILITIES,
    Settings,
)
from autograder.grader.platforms.requirements import pinned, requirements_text

SCRIPTS = ("setup.sh", "run_autograder")
EXECUTABLE = 0o755 << 16 | stat.S_IFREG << 16
PLAIN = 0o644 << 16 | stat.S_IFREG << 16


def course_files(course: Course) -> dict[str, Path]:
    """zip path (under ``course/``) -> file: what the grader needs to grade in the image."""
    source = course.source_notebook.parent
    files = {"nbgrader_config.py": NBGRADER_CONFIG,
             **{f"solutions/{course.assignment_id}/{p.relative_to(source).as_posix()}": p
                for p in sorted(source.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts}}
    if course.release_notebook is not None:
        files[f"assignments/{course.assignment_id}/{course.notebook_id}.ipynb"] = \
            course.release_notebook
    package = REPO_ROOT / "autograder"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[str(path.relative_to(REPO_ROOT))] = path
    files.update(helper_files(course.assignment))
    workflow = REPO_ROOT / "template" / ".github" / "workflows" / "classroom.yml"
    if workflow.is_file():  # the tamper check compares a repository's workflow with it
        files["template/.github/workflows/classroom.yml"] = workflow
    return {f"course/{name}": path for name, path in files.items()}


def build(out: Path, course: Course, visibility: str = DEFAULT_VISIBILITY) -> Path:
    """Write the autograder zip."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    course.check()
    python = runtime_python()
    settings = Settings(visibility=visibility, python=python)
    header = (f"Pinned from the instructor's environment (Python {python}) by\n"
              "python -m autograder gradescope; setup.sh installs them.")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in SCRIPTS:
            _add(archive, name, (FILES / "gradescope" / name).read_bytes(), EXECUTABLE)
        _add(archive, "requirements.txt",
             requirements_text(header, pinned(("grader",))).encode(), PLAIN)
        _add(archive, "gradescope.json",
             (json.dumps(asdict(settings), indent=2) + "\n").encode(), PLAIN)
        for name, path in course_files(course).items():
            _add(archive, name, path.read_bytes(), PLAIN)
        _add(archive, GRADEBOOK, empty_gradebook(course), PLAIN)
    tmp.replace(out)
    return out


def empty_gradebook(course: Course) -> bytes:
    """A SQLite gradebook holding the assignment (hidden tests included) and no student:
    each submission is graded against a copy, so nbgrader's set-up runs once, here."""
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        db = Path(tmp) / "gradebook.db"
        ensure_assignment(Course(course.root, f"sqlite:///{db}", course.assignment_id))
        return db.read_bytes()


def _add(archive: zipfile.ZipFile, name: str, data: bytes, attr: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # no build-time stamps
    info.external_attr = attr
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
