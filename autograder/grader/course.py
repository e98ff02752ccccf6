"""Where a course's grading state lives and how nbgrader is configured for it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.assignment import Assignment, missing_checks
from autograder.grader import assignments
from autograder.records import CommandError
from autograder.student.notebook import autograded_cells, grade_id

REPO_ROOT = Path(__file__).resolve().parents[2]
# One source of truth for nbgrader settings, shared by the nbgrader CLI and this package.
NBGRADER_CONFIG = REPO_ROOT / "nbgrader_config.py"


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder: ``solutions/`` in, ``gradebook.db`` and ``autograded/`` out.

    ``root`` is the instructor repository in normal use; tests use a temporary folder
    whose ``solutions`` links to the repository's.
    """

    root: Path
    db_url: str | None = None
    # None: the course's only assignment (``assignments.choose`` says which, or why not).
    assignment_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignment_id",
                           assignments.choose(self.root, self.assignment_id))

    def with_assignment(self, assignment_id: str) -> Course:
        return Course(self.root, self.db_url, assignment_id)

    @property
    def notebook_id(self) -> str:
        """nbgrader's notebook id: the assignment's notebook is named after it."""
        return self.assignment_id

    @property
    def assignment(self) -> Assignment:
        """What ``solutions/<id>/grading.py`` declares (loaded on first use)."""
        return assignments.load(self.root, self.assignment_id)

    @property
    def assignment_ids(self) -> list[str]:
        return assignments.ids(self.root)

    @property
    def db(self) -> str:
        return self.db_url or f"sqlite:///{self.root.resolve() / 'gradebook.db'}"

    @property
    def sqlite_file(self) -> Path | None:
        """The gradebook's file when it is SQLite, else None."""
        return Path(self.db.removeprefix("sqlite:///")) if self.db.startswith("sqlite:///") \
            else None

    @property
    def id(self) -> str:
        return self.nbgrader_config().CourseDirectory.course_id

    @property
    def source_notebook(self) -> Path:
        return self.root / "solutions" / self.assignment_id / f"{self.notebook_id}.ipynb"

    @property
    def graded_dir(self) -> Path:
        """Where this gradebook's graded notebooks, models and feedback live.

        Kept with the gradebook, so two gradebooks in one course never mix: the folder of a
        SQLite file named ``gradebook.db`` (nbgrader's layout; the course folder by default),
        ``<name>-graded/`` beside any other SQLite file, and ``graded/<hash of the URL>/`` in
        the course folder for a database server.
        """
        if self.sqlite_file is not None:
            db_file = self.sqlite_file.resolve()
            if db_file.name == "gradebook.db":
                return db_file.parent
            return db_file.with_name(f"{db_file.stem}-graded")
        return self.root / "graded" / hashlib.sha256(self.db.encode()).hexdigest()[:12]

    @property
    def submitted_dir(self) -> Path:
        """nbgrader's ``submitted/<student>/<assignment>/``: what each student handed in and
        ``timestamp.txt``, which formgrader counts and shows (``record.keep_submission``)."""
        return self.graded_dir / "submitted"

    def submitted_notebook(self, student: str) -> Path:
        return self.submitted_dir / student / self.assignment_id / f"{self.notebook_id}.ipynb"

    @property
    def autograded_dir(self) -> Path:
        return self.graded_dir / "autograded"

    @property
    def feedback_dir(self) -> Path:
        return self.graded_dir / "feedback"

    def autograded_notebook(self, student: str) -> Path:
        return self.autograded_dir / student / self.assignment_id / f"{self.notebook_id}.ipynb"

    @property
    def release_notebook(self) -> Path | None:
        """The student version of this course's notebook, when there is one to compare with."""
        release = Path("assignments", self.assignment_id, f"{self.notebook_id}.ipynb")
        own = self.root / release
        if own.is_file():
            return own
        repo = REPO_ROOT / release
        source = Path("solutions", self.assignment_id, f"{self.notebook_id}.ipynb")
        same_source = self.source_notebook.resolve() == (REPO_ROOT / source).resolve()
        return repo if same_source and repo.is_file() else None

    def artifacts_dir(self, student: str) -> Path:
        """The student's trained model and history as the grader saved them (for feedback)."""
        return self.graded_dir / "graded_models" / student / self.assignment_id

    def nbgrader_config(self) -> Config:
        """The repository's nbgrader_config.py, then the course folder's own one over it (a
        course kept apart from the repository sets its late policy there), pointed at this
        course folder and gradebook."""
        c = PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()
        own = self.root / NBGRADER_CONFIG.name
        if own.is_file() and own.resolve() != NBGRADER_CONFIG.resolve():
            c.merge(PyFileConfigLoader(own.name, path=str(self.root)).load_config())
        c.CourseDirectory.root = str(self.root.resolve())
        c.CourseDirectory.db_url = self.db
        # Absolute folders win over root when nbgrader joins its paths.
        c.CourseDirectory.submitted_directory = str(self.submitted_dir.resolve())
        c.CourseDirectory.autograded_directory = str(self.autograded_dir.resolve())
        c.CourseDirectory.feedback_directory = str(self.feedback_dir.resolve())
        return c

    def private_paths(self) -> list[Path]:
        """What student code must never see: sources, hidden tests, grades, other students."""
        paths = [self.root / step for step in ("solutions", "submitted", "autograded", "feedback",
                                               "graded_models", "graded")]
        # The repositories' history holds the solutions and hidden tests of every commit.
        paths += [REPO_ROOT / ".git", self.root / ".git"]
        paths += [REPO_ROOT / "solutions", self.root / "gradebook.db", self.submitted_dir,
                  self.autograded_dir, self.feedback_dir, self.graded_dir / "graded_models"]
        if self.sqlite_file:
            paths += [self.sqlite_file, self.sqlite_file.with_name(self.sqlite_file.name
                                                                   + "-journal")]
        # Resolved and without repeats: a course inside the repository names some twice.
        return list(dict.fromkeys(p.resolve() for p in paths if p.exists()))

    def check(self) -> None:
        """Fail early, with the fix, when this folder cannot be graded."""
        if not self.source_notebook.is_file():
            raise CourseError(
                f"no source notebook at {self.source_notebook}: run the command from the "
                "instructor repository (the folder holding solutions/) or pass --course-dir"
            )
        problems = unchecked_tests(self)
        if problems:
            raise CourseError(f"{self.assignment_id} cannot be graded as it is:\n- "
                              + "\n- ".join(problems))


def unchecked_tests(course: Course) -> list[str]:
    """What is wrong between the source notebook's autograded tests and grading.py's checks
    (empty when every test is decided outside the kernel or says why not)."""
    nb = nbformat.read(course.source_notebook, as_version=4)
    graded = [grade_id(c) for c in autograded_cells(nb) if c.cell_type == "code"]
    return missing_checks(course.assignment, graded)


class CourseError(CommandError):
    """This course folder cannot be graded as it is (the message says what to do)."""
