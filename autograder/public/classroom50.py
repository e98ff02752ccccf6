"""Classroom 50's entry point: grade the student's checkout, write ``result.json`` and
``release-body.md``.

The bundle's ``autograder.py`` calls :func:`main` after installing the pinned packages.
Classroom 50's runner calls it with no arguments, the student's checkout as working folder,
and ``CLASSROOM``, ``ASSIGNMENT``, ``SUBMISSION_TAG``, ``COMMIT_URL``, ``RELEASE_URL`` and
``REVIEW_URL`` set. Exit 0 whenever a result was written (pass or fail is in the file),
non-zero only when nothing could be graded (the runner then publishes no result).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from autograder.assignment import public_facts
from autograder.public.grade import PublicGrade, grade
from autograder.records import TestResult
from autograder.student.ci import safe_name, summary_markdown

SCHEMA = "classroom50/result/v1"
# result.json field -> the variable the runner sets.
FROM_ENV = {"classroom": "CLASSROOM", "assignment": "ASSIGNMENT", "submission": "SUBMISSION_TAG",
            "commit": "COMMIT_URL", "release": "RELEASE_URL", "review": "REVIEW_URL"}
EXIT_CANNOT_GRADE = 2
PUBLIC_NOTE = ("Graded here: the public tests{model}. Your teacher's final grade also runs "
               "hidden tests.")
MODEL_NOTE = (", and the checks of your trained model made outside your notebook "
              "(architecture, activations, loss and optimizer, accuracy)")


def whole(x: float) -> int:
    """Classroom 50 takes integer points only."""
    return int(round(x))


def check_runner(env: Mapping[str, str]) -> None:
    """Raise unless the runner's variables are all set (a result needs every one)."""
    missing = [var for var in FROM_ENV.values() if not env.get(var)]
    if missing:
        raise RuntimeError(f"not running under Classroom 50: {', '.join(missing)} not set")


def result_json(env: Mapping[str, str], tests: Mapping[str, TestResult],
                now: datetime | None = None) -> dict:
    check_runner(env)
    doc = {"schema": SCHEMA, **{field: env[var] for field, var in FROM_ENV.items()},
           "datetime": (now or datetime.now(UTC)).isoformat(timespec="seconds")}
    # A cell graded by hand is no test, and Classroom 50 grades nothing by hand: left out,
    # it neither shows as passed at 0 points nor adds to the maximum.
    rows = [{"test-name": gid, "passed": bool(t.passed), "score": whole(t.points),
             "max-score": whole(t.max_points)} for gid, t in tests.items() if not t.manual]
    doc["score"] = sum(row["score"] for row in rows)
    doc["max-score"] = sum(row["max-score"] for row in rows)
    doc["tests"] = rows
    return doc


def release_body(result: PublicGrade, notebook: str, model: bool = True) -> str:
    """The score and each test with its message (the runner's own table has no messages).
    Cells graded by hand are left out, as in ``result_json``, and named after the table."""
    tests = {gid: t for gid, t in result.tests.items() if not t.manual}
    by_hand = [f"`{safe_name(gid)}`" for gid, t in result.tests.items() if t.manual]
    hand_note = (f"\nNot graded here: {', '.join(by_hand)}, graded by hand (not counted in "
                 "these points).\n" if by_hand else "")
    return (summary_markdown(tests, notebook, result.notes, result.error)
            + hand_note + "\n" + PUBLIC_NOTE.format(model=MODEL_NOTE if model else "") + "\n")


def find_notebook(checkout: Path, name: str) -> Path | None:
    """The released path (``assignments/<id>/<id>.ipynb``, ``name`` the id), else the one
    notebook of that name anywhere in the checkout."""
    expected = checkout / "assignments" / name / f"{name}.ipynb"
    if expected.is_file():
        return expected
    found = [p for p in checkout.rglob(f"{name}.ipynb")
             if not any(part.startswith(".") for part in p.relative_to(checkout).parts)]
    return found[0] if len(found) == 1 else expected


def main(bundle: Path, checkout: Path | None = None,
         env: Mapping[str, str] = os.environ) -> int:
    checkout = checkout or Path.cwd()
    release = bundle / "release.ipynb"
    facts = public_facts(json.loads(release.read_text(encoding="utf-8")).get("metadata", {}))
    name = facts.id if facts else "notebook"
    notebook = find_notebook(checkout, name)
    kernel_env = {**env, "PYTHONPATH": os.pathsep.join(
        [str(bundle), *filter(None, [env.get("PYTHONPATH")])])}
    try:
        check_runner(env)  # before a run of minutes whose result could not be published
        result = grade(notebook, release, env=kernel_env)
        doc = result_json(env, result.tests)
    except Exception as exc:  # nothing could be graded: say why, publish nothing
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_GRADE
    shown = notebook.relative_to(checkout).as_posix() if notebook else f"{name}.ipynb"
    body = release_body(result, shown, model=bool(facts and facts.model_checks()))
    (checkout / "release-body.md").write_text(body, encoding="utf-8")
    (checkout / "result.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"{doc['score']}/{doc['max-score']} points on the public tests")
    return 0
