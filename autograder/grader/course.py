"""Where a course's grading state lives and how nbgrader is configured for it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.records import CommandError
from autograder.spec import ASSIGNMENT_ID, NOTEBOOK_ID, RELEASE_NOTEBOOK, SOURCE_NOTEBOOK

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
    assignment_id: str = ASSIGNMENT_ID
    notebook_id: str = NOTEBOOK_ID

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
        own = self.root / RELEASE_NOTEBOOK
        if own.is_file():
            return own
        repo = REPO_ROOT / RELEASE_NOTEBOOK
        same_source = self.source_notebook.resolve() == (REPO_ROOT / SOURCE_NOTEBOOK).resolve()
        return repo if same_source and repo.is_file() else None

    def artifacts_dir(self, student: str) -> Path:
        """The student's trained model and history as the grader saved them (for feedback)."""
        return self.graded_dir / "graded_models" / student / self.assignment_id

    def nbgrader_config(self) -> Config:
        """The repository's nbgrader_config.py, pointed at this course folder and gradebook."""
        c = PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()
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


class CourseError(CommandError):
    """This course folder cannot be graded as it is (the message says what to do)."""
