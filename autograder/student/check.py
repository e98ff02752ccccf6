"""``python -m autograder check NOTEBOOK``: a student's self-check with the public tests.

Runs the notebook as it is (its own test cells are the public tests; hidden tests exist only
at grading time) in a fresh kernel, in the notebook's folder, without changing the file.
Works wherever Jupyter does (Linux, macOS, Windows): no sandbox, no gradebook.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder import untrusted
from autograder.assignment import CELL_TIMEOUT, public_facts
from autograder.records import SubmissionError, TestResult, plain_number
from autograder.student import runner, verdicts
from autograder.student.notebook import read_notebook

EXIT_OK = 0
EXECUTED = "executed.ipynb"
EXECUTED_BYTES = 64 * 2**20  # the runner keeps 2 MiB of output; a notebook holds the rest
EXIT_TESTS_FAILED = 1
EXIT_CANNOT_RUN = 3


def run_notebook(notebook: Path, workdir: Path, cell_timeout: int = CELL_TIMEOUT,
                 env: dict[str, str] | None = None) -> NotebookNode:
    """Execute ``notebook`` (unchanged) in a fresh kernel, in the notebook's folder; the
    executed notebook, tidied, with tests that never ran marked as failed. The model the
    notebook trained is saved in ``workdir/export``."""
    executed = workdir / EXECUTED
    cmd = runner.command(notebook.resolve(), executed, workdir / "export", cell_timeout)
    proc = subprocess.run(cmd, cwd=notebook.resolve().parent, capture_output=True, text=True,
                          env=env)
    try:  # the notebook's code ran in this folder: read what it left as untrusted data
        text = untrusted.read_text(workdir, EXECUTED, EXECUTED_BYTES)
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"the notebook could not be run: {proc.stderr.strip() or exc}"
                           ) from None
    nb = nbformat.reads(text, as_version=4)
    facts = public_facts(nb.metadata)  # as the release was stamped (release_check)
    nb = verdicts.tidy(nb, facts.stderr_noise if facts else ())
    if proc.returncode != 0:
        verdicts.mark_not_run(nb, (proc.stderr.strip().splitlines()
                                   or ["the notebook stopped early"])[-1])
    return nb


def run_public_tests(notebook: Path, cell_timeout: int | None = None
                     ) -> dict[str, TestResult]:
    """``cell_timeout``: None, the assignment's (from the notebook's metadata)."""
    nb = read_notebook(notebook)  # a clear message for an empty or damaged file
    if cell_timeout is None:
        facts = public_facts(nb.metadata)
        cell_timeout = facts.cell_timeout if facts else CELL_TIMEOUT
    with tempfile.TemporaryDirectory(prefix="check-") as tmp:
        return verdicts.score(run_notebook(notebook, Path(tmp), cell_timeout))


def add_verb(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="students: run your notebook and its public tests",
                       description="Execute NOTEBOOK in a fresh kernel and print each public "
                                   "test with its points and message. The file is not changed. "
                                   "Exit status: 0 when every public test passes, 1 when one "
                                   "fails, 3 when the notebook cannot be run.")
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    p.add_argument("--cell-timeout", type=int,
                   help="seconds per cell, as in grading (default: the assignment's, "
                        f"{CELL_TIMEOUT} unless it says otherwise)")
    p.set_defaults(run=run)


def table(results: dict[str, TestResult]) -> str:
    """A plain-text table (no colours: it must read the same in any terminal or CI log). A
    cell graded by hand (``TestResult.manual``) is no test: "by hand", "–/5" and what
    happens to it, never "pass 0/5"."""
    rows = [("test", "result", "points", "message")]
    for gid, r in results.items():
        if r.manual:
            rows.append((gid, "by hand", f"–/{plain_number(r.max_points)}", r.feedback))
            continue
        rows.append((gid, "pass" if r.passed else "FAIL",
                     f"{plain_number(r.points)}/{plain_number(r.max_points)}",
                     "" if r.passed else r.feedback))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, [*widths, 0], strict=True)).rstrip()
             for row in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def run(args: argparse.Namespace) -> int:
    if not args.notebook.is_file():
        raise FileNotFoundError(f"no such notebook: {args.notebook}")
    print(f"running {args.notebook} ...", flush=True)
    try:
        results = run_public_tests(args.notebook, args.cell_timeout)
    except (SubmissionError, RuntimeError) as exc:
        print(f"error: {exc}")
        return EXIT_CANNOT_RUN
    print(f"Public tests of {args.notebook.name}")
    print(table(results))
    got = sum(r.points for r in results.values())
    total = sum(r.max_points for r in results.values())
    print(f"public tests: {plain_number(got)}/{plain_number(total)} points. Hidden tests "
          "with the same names also run when your work is graded.")
    return EXIT_OK if all(r.passed for r in results.values()) else EXIT_TESTS_FAILED
