"""ledger: what was graded already, by content, in a real SQLite file (no nbgrader needed).

``grade`` skips a student whose key (submission bytes + tests + grader version) is the one
recorded with their last result; test_grade_mechanics.py checks that end to end.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from autograder.grader.steps.ledger import GRADER_VERSION, Ledger, content_key

TESTS = {"test_add": "assert add(1, 2) == 3", "test_add_strings": "assert add('a', 'b')"}
RESULT = {"student": "amy", "score": 5, "max_score": 5, "tests": {}, "error": None,
          "tampering": []}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def test_same_submission_and_tests_give_the_same_key():
    key = content_key(b'{"cells": []}', None, TESTS)
    assert key == content_key(b'{"cells": []}', None, dict(reversed(TESTS.items())))
    assert len(key) == 64 and GRADER_VERSION


def test_the_key_changes_with_the_bytes_the_tests_or_the_error():
    key = content_key(b"notebook", None, TESTS)
    assert content_key(b"notebook ", None, TESTS) != key  # one byte more
    assert content_key(b"notebook", None, {**TESTS, "test_add": "assert add(1, 2) == 4"}) != key
    assert content_key(b"notebook", None, {"test_add": TESTS["test_add"]}) != key
    # a submission that could not be read is keyed by its error
    missing = content_key(None, "no notebook found", TESTS)
    assert missing == content_key(None, "no notebook found", TESTS)
    assert missing != content_key(None, "several notebooks", TESTS)


def test_lookup_returns_what_was_recorded(db):
    ledger = Ledger(db, "digit_recognition")
    assert ledger.lookup("amy") is None
    ledger.record("amy", "k1", RESULT)
    assert ledger.lookup("amy") == ("k1", RESULT)
    assert ledger.lookup("bob") is None
    ledger.close()


def test_recording_again_replaces_the_row(db, tmp_path):
    ledger = Ledger(db, "digit_recognition")
    ledger.record("amy", "k1", RESULT)
    ledger.record("amy", "k2", {**RESULT, "score": 3})
    assert ledger.lookup("amy") == ("k2", {**RESULT, "score": 3})
    ledger.close()
    with sqlite3.connect(tmp_path / "gradebook.db") as conn:
        rows = conn.execute("select assignment, student, content_key from autograder_graded"
                            ).fetchall()
    assert rows == [("digit_recognition", "amy", "k2")]


def test_rows_survive_a_new_process_and_are_kept_per_assignment(db):
    Ledger(db, "digit_recognition").record("amy", "k1", RESULT)
    other = Ledger(db, "another_assignment")  # the same database, as a second assignment
    assert other.lookup("amy") is None
    other.record("amy", "k9", RESULT)
    again = Ledger(db, "digit_recognition")  # as the next `grade` run opens it
    assert again.lookup("amy") == ("k1", RESULT)
    assert Ledger(db, "another_assignment").lookup("amy")[0] == "k9"
