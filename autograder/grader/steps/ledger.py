"""Step, ledger: what was graded already, by content: makes ``grade`` idempotent and crash-safe.

One row per (assignment, student) in the gradebook's own database, holding a key for the
exact submission (its bytes and the tests it was graded with) and the result reported for
it. The row is written last, after nbgrader's grades are committed: a grader killed in
between leaves no row, so the rerun grades that student again and overwrites the same
nbgrader rows. A rerun skips every student whose key is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    select,
)

_metadata = MetaData()
graded = Table(
    "autograder_graded", _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("content_key", String(64), nullable=False),
    Column("result", Text, nullable=False),
    Column("graded_at", DateTime, nullable=False),
)

GRADER_VERSION = "2"  # bump when grading changes in a way that must regrade everyone


# The key of a result merged from a shard (``merge``): no content key equals it.
MERGED = "merged from a shard"

def content_key(notebook_bytes: bytes | None, error: str | None, tests: dict,
                submitted_at: str | None = None) -> str:
    """Same key ⇔ same submission, submitted at the same time (late penalties depend on it),
    graded with the same tests by the same grader."""
    h = hashlib.sha256(GRADER_VERSION.encode())
    if submitted_at:
        h.update(f"submitted:{submitted_at}".encode())
    h.update(notebook_bytes if notebook_bytes is not None else f"error:{error}".encode())
    h.update(json.dumps(tests, sort_keys=True).encode())
    return h.hexdigest()


class Ledger:
    def __init__(self, db_url: str, assignment: str):
        self.engine = create_engine(db_url)
        self.assignment = assignment
        _metadata.create_all(self.engine)

    def lookup(self, student: str) -> tuple[str, dict] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(graded.c.content_key, graded.c.result).where(
                graded.c.assignment == self.assignment, graded.c.student == student)).first()
        return (row.content_key, json.loads(row.result)) if row else None

    def graded_at(self, student: str) -> datetime | None:
        """When the student's result was last recorded (UTC)."""
        with self.engine.connect() as conn:
            when = conn.execute(select(graded.c.graded_at).where(
                graded.c.assignment == self.assignment, graded.c.student == student)).scalar()
        return when.replace(tzinfo=UTC) if when else None

    def record(self, student: str, key: str, result: dict) -> None:
        with self.engine.begin() as conn:  # one transaction: replace the row or keep the old
            conn.execute(delete(graded).where(graded.c.assignment == self.assignment,
                                              graded.c.student == student))
            conn.execute(graded.insert().values(
                assignment=self.assignment, student=student, content_key=key,
                result=json.dumps(result), graded_at=datetime.now(UTC).replace(tzinfo=None)))

    def close(self) -> None:
        self.engine.dispose()
