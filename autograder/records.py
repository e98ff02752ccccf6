"""The results every part passes around: one test's verdict, one student's result, and the
error a single submission can raise. Standard library only (the student kit ships it).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SubmissionError(Exception):
    """This one submission cannot be graded; the message tells the student why."""


def plain_number(x: float) -> float | int:
    """10.0 -> 10, for JSON and tables that people read."""
    return int(x) if float(x).is_integer() else round(float(x), 4)


@dataclass
class TestResult:
    """One graded cell's verdict. ``manual``: a cell graded by hand (nbgrader's manually
    graded answer or task), whose points are a grader's, 0 until one gives them."""

    __test__ = False  # not a pytest class, whatever module imports it

    points: float
    max_points: float
    feedback: str
    manual: bool = False

    @property
    def passed(self) -> bool:
        """Full points; a cell graded by hand never counts as failed (it awaits its grader)."""
        return self.manual or self.points >= self.max_points

    def as_dict(self) -> dict:
        """A test of the grade JSON; ``"manual": true`` only for a cell graded by hand."""
        return {"points": plain_number(self.points), "max_points": plain_number(self.max_points),
                "feedback": self.feedback, **({"manual": True} if self.manual else {})}

    @classmethod
    def from_dict(cls, data: dict) -> TestResult:
        return cls(data["points"], data["max_points"], data["feedback"],
                   data.get("manual") is True)


@dataclass
class SubmissionResult:
    student: str
    score: float
    max_score: float
    tests: dict[str, TestResult]
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    # Known when `collect` recorded them: the graded commit and when it was submitted.
    commit: str | None = None
    submitted_at: str | None = None
    # The file graded, as it was handed in (its name in the LMS download, or its path).
    file: str | None = None
    # Handed in after the student's deadline: by its time, or by the LMS's own marker.
    late: bool = False
    # Points the course's late policy takes off ``score`` (nbgrader's late penalty).
    late_penalty: float = 0.0

    def as_dict(self) -> dict:
        """One entry of the grade JSON's "submissions" (a documented contract)."""
        known = {k: v for k, v in (("commit", self.commit), ("submitted_at", self.submitted_at),
                                   ("file", self.file)) if v is not None}
        return {
            "student": self.student,
            "score": plain_number(self.score),
            "max_score": plain_number(self.max_score),
            "tests": {gid: t.as_dict() for gid, t in self.tests.items()},
            "error": self.error,
            "tampering": self.tampering,
            "late": self.late,
            "late_penalty": plain_number(self.late_penalty),
            **known,
        }

    @classmethod
    def from_dict(cls, data: dict, note: str | None = None) -> SubmissionResult:
        tests = {gid: TestResult.from_dict(t) for gid, t in data["tests"].items()}
        return cls(data["student"], data["score"], data["max_score"], tests, data["error"],
                   [note] if note else [], tampering=data.get("tampering", []),
                   commit=data.get("commit"), submitted_at=data.get("submitted_at"),
                   file=data.get("file"), late=data.get("late") is True,
                   late_penalty=float(data.get("late_penalty") or 0.0))

    @classmethod
    def of_tests(cls, student: str, tests: dict[str, TestResult], **kw) -> SubmissionResult:
        """A result whose score and maximum are the sums of its tests' (nbgrader's rule: the
        maximum counts the cells graded by hand, which score 0 until a grader scores them)."""
        return cls(student, sum(t.points for t in tests.values()),
                   sum(t.max_points for t in tests.values()), tests, **kw)


class CommandError(RuntimeError):
    """The command itself cannot run (as opposed to one bad submission); the CLI prints it."""
