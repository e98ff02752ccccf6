"""Feedback on every push: report test results to GitHub Actions.

``python -m autograder.student.ci NOTEBOOK`` (the step of ``.github/workflows/classroom.yml``)
runs the notebook once with its public tests, as ``check`` does, then writes

- ``result=<base64 JSON>`` to ``$GITHUB_OUTPUT``, in the retired GitHub Classroom's format
  (``classroom-resources/autograding-grading-reporter`` reads it), for tools that still do;
- a Markdown table to ``$GITHUB_STEP_SUMMARY``;
- ``::error``/``::notice`` annotations, one per test, on stdout.

Test names and messages come from the student's notebook, so they are untrusted: they are
flattened to one line (the runner reads a workflow command from any line starting with
``::``), escaped for annotations, and any plain echo of them sits between
``::stop-commands::<random token>`` and ``::<token>::``. The reporter action prints names and
messages too, so the JSON only carries the flattened forms.

Cells graded by hand (nbgrader's manually graded answers and tasks, ``TestResult.manual``)
are listed as "graded by hand", with their points counted in the maximum as nbgrader counts
them; they are never a failure.

Exit status: 0 when every test passes; 1 when a test fails or the notebook could not be run
(after everything above is written), so the job shows a red mark until the work is done.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from autograder.assignment import CELL_TIMEOUT
from autograder.records import SubmissionError, TestResult
from autograder.records import plain_number as num
from autograder.student.check import run_public_tests
from autograder.student.manifest import find_tampering, load_manifest
from autograder.student.verdicts import ANSI, BY_HAND

# Control characters and everything Python or a terminal treats as a line break.
BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|])")
MANIFEST = Path(".github/classroom/manifest.json")
MESSAGE_LIMIT = 500


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A single printable line: no line breaks, control characters or terminal escapes."""
    text = BREAKS.sub(" ", ANSI.sub("", str(text))).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_name(grade_id: str) -> str:
    """Test names end up in annotations, Markdown and the reporter's log: keep them plain."""
    return NAME_UNSAFE.sub("_", one_line(grade_id, 100)) or "unnamed"


def escape_data(text: str) -> str:
    """Workflow-command message escaping (as @actions/core's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Workflow-command property escaping (as @actions/core's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def result_json(results: Mapping[str, TestResult], notebook: str = "",
                error: str | None = None) -> dict:
    """The grader result the reporter decodes: ``{version, status, max_score, tests}``."""
    tests = []
    for gid, r in results.items():
        status = "error" if error else ("pass" if r.passed else "fail")
        tests.append({"name": safe_name(gid), "status": status, "score": num(r.points),
                      "max_score": num(r.max_points), "message": one_line(r.feedback),
                      "filename": one_line(notebook, 300), "line_no": 0})
    if error or not tests:
        status = "error"
    else:
        status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 1, "status": status,
            "max_score": num(sum(r.max_points for r in results.values())), "tests": tests}


def points(r: TestResult) -> str:
    """"2/3"; "–/5" for a cell graded by hand, which no test scores."""
    return f"{'–' if r.manual else num(r.points)}/{num(r.max_points)}"


def verdict(r: TestResult, error: str | None, passed: str, failed: str,
            by_hand: str = BY_HAND) -> str:
    """``passed`` or ``failed`` for a test; ``by_hand`` for a cell graded by hand."""
    if r.manual:
        return by_hand
    return passed if r.passed and not error else failed


def by_hand_note(results: Mapping[str, TestResult]) -> list[str]:
    """What the total leaves to a person, as a Markdown paragraph (none without such cells)."""
    if not any(r.manual for r in results.values()):
        return []
    hand = sum(r.max_points for r in results.values() if r.manual)
    return [f"{num(hand)} of these points are {BY_HAND} by your teacher after you hand in: "
            "they are not scored here.", ""]


def encode(result: dict) -> str:
    return base64.b64encode(json.dumps(result).encode("utf-8")).decode("ascii")


def _md(text: str) -> str:
    """A Markdown table cell: HTML escaped, Markdown syntax disarmed, lines joined by <br>."""
    lines = [MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line(line), quote=False))
             for line in str(text).splitlines()]
    return "<br>".join(line for line in lines if line)


def summary_markdown(results: Mapping[str, TestResult], notebook: str = "",
                     notes: Sequence[str] = (), error: str | None = None,
                     public: bool = True) -> str:
    """The job summary (and Classroom 50's release body), read by people and screen readers.

    Rules: one heading, ``##``, below the title of the page that shows it (the run's, the
    release's), so headings never skip a level; the tests in ``results``' order, which
    callers give in the notebook's (``verdicts.score``, ``reconcile``); every result in
    words beside its symbol ("✅ pass", "❌ fail", "✋ graded by hand") and each warning
    labelled "Warning:", because a symbol alone is read as its name or not at all; one table,
    a single header row with a name in every header cell.
    """
    got = sum(r.points for r in results.values())
    total = sum(r.max_points for r in results.values())
    out = [f"## Autograding: {num(got)}/{num(total)} points", "", *by_hand_note(results)]
    if notebook:
        kind = "Public tests" if public else "Tests, hidden tests included,"
        out += [f"{kind} of {_md(notebook)}."
                + (" Hidden tests with the same names run when your work is graded."
                   if public else ""), ""]
    if error:
        out += [f"> **The notebook could not be run:** {_md(error)}", ""]
    for note in notes:  # a paragraph each: lines of one paragraph run together
        out += [f"> ⚠️ Warning: {_md(note)}", ">"]
    if notes:
        out += ["> Changed test cells or workflow files are restored or flagged when "
                "your work is graded.", ""]
    out += ["| test | result | points | message |", "|---|---|---|---|"]
    for gid, r in results.items():
        shown = verdict(r, error, "✅ pass", "❌ fail", f"✋ {BY_HAND}")
        out.append(f"| `{safe_name(gid)}` | {shown} | {points(r)} | {_md(r.feedback)} |")
    return "\n".join(out) + "\n"


def _relative(notebook: str) -> str | None:
    """The notebook as a repository path, which is what an annotation's file= must be."""
    path = Path(notebook)
    if not notebook or path.is_absolute() or ".." in path.parts:
        return None
    return path.as_posix()


def annotations(results: Mapping[str, TestResult], notebook: str = "",
                notes: Sequence[str] = (), error: str | None = None) -> list[str]:
    """One workflow command per line; every notebook-derived part escaped."""
    file = _relative(notebook)
    where = f"file={escape_property(file)}," if file else ""
    lines = []
    if error:
        lines.append(f"::error {where}title=The notebook could not be run::"
                     f"{escape_data(one_line(error))}")
    for gid, r in results.items():
        level = "notice" if r.manual or (r.passed and not error) else "error"
        title = escape_property(f"{safe_name(gid)} ({points(r)})")
        lines.append(f"::{level} {where}title={title}::{escape_data(one_line(r.feedback))}")
    if notes:
        lines.append(f"::warning title=Changed files::"
                     f"{escape_data(one_line('; '.join(notes), 1000))}")
    got = sum(r.points for r in results.values())
    total = sum(r.max_points for r in results.values())
    lines.append(f"::notice title=Autograding::{num(got)}/{num(total)} points")
    return lines


def print_inert(lines: Sequence[str], out: TextIO) -> None:
    """Print text that may hold student output with workflow commands switched off."""
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=out)
    for line in lines:
        print(line, file=out)
    print(f"::{token}::", file=out)


def _log(results: Mapping[str, TestResult], notes: Sequence[str], error: str | None) -> list[str]:
    lines = [f"could not run the notebook: {one_line(error)}"] if error else []
    for gid, r in results.items():
        lines.append(f"{verdict(r, error, 'pass', 'FAIL')}  {safe_name(gid)}  {points(r)}  "
                     f"{one_line(r.feedback)}")
    lines += [f"warning: {one_line(n)}" for n in notes]
    return lines


def emit(results: Mapping[str, TestResult], env: Mapping[str, str] = os.environ,
         out: TextIO = sys.stdout, *, notebook: str = "", notes: Sequence[str] = (),
         error: str | None = None, public: bool = True) -> dict:
    """Write the step output, the job summary and the annotations; return the result JSON."""
    result = result_json(results, notebook, error)
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.write(f"result={encode(result)}\n")
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(summary_markdown(results, notebook, notes, error, public))
    print_inert(_log(results, notes, error), out)
    for line in annotations(results, notebook, notes, error):
        print(line, file=out)
    out.flush()
    return result


def reconcile(results: Mapping[str, TestResult],
              points: Mapping[str, float]) -> tuple[dict[str, TestResult], list[str]]:
    """Score the tests the assignment has, at the points it gives them.

    A deleted test cell would otherwise vanish from the total, and edited points metadata
    would change it; cells that are not part of the assignment are not counted. Cells graded
    by hand are kept as they are (the manifest lists tests only; they score nothing here).
    """
    out, notes = {}, []
    # In the notebook's order (the manifest's is sorted), tests missing from it last.
    order = [*(g for g in results if g in points or results[g].manual),
             *(g for g in points if g not in results)]
    for gid in order:
        r, max_points = results.get(gid), points.get(gid)
        if max_points is None:  # graded by hand, not a test: kept as it is
            out[gid] = r
        elif r is None:
            out[gid] = TestResult(0.0, max_points, "this test cell is missing from the notebook: "
                                  "copy it back from the released notebook")
        elif r.manual:
            out[gid] = TestResult(0.0, max_points, "this test cell was made a cell graded by "
                                  "hand: copy it back from the released notebook")
        elif r.max_points != max_points:
            out[gid] = TestResult(max_points if r.passed else 0.0, max_points, r.feedback)
        else:
            out[gid] = r
    for gid in results:
        if gid not in out:
            notes.append(f"grade cell {safe_name(gid)} is not part of the assignment and was "
                         "not counted")
    return out, notes


def results_from_grades(grades: dict) -> dict[str, TestResult]:
    """The grade JSON of ``python -m autograder grade`` for one submission, as test results."""
    subs = grades.get("submissions") or []
    if len(subs) != 1:
        raise RuntimeError(f"expected one graded submission, got {len(subs)}")
    tests = {gid: TestResult(float(t["points"]), float(t["max_points"]), str(t["feedback"]),
                             t.get("manual") is True)
             for gid, t in (subs[0].get("tests") or {}).items()}
    if not tests:
        raise RuntimeError(subs[0].get("error") or "no tests were graded")
    return tests


def tampering_from_grades(grades: dict) -> list[str]:
    """What the instructor's own tamper check found (the grade JSON's ``tampering``)."""
    subs = grades.get("submissions") or [{}]
    return [one_line(str(t)) for t in subs[0].get("tampering") or []]


def grade_with_hidden_tests(notebook: Path, course_dir: Path, cell_timeout: int
                            ) -> tuple[dict[str, TestResult], list[str], list[str]]:
    """Run the instructor's ``grade`` (hidden tests, locked cells restored) on one notebook.

    Only for a job the student cannot change (the instructor repository grading a student
    repository): it checks out the hidden tests. Isolation is required, so student code can
    neither read them nor reach the network. Returns the results, the grader's tamper
    findings and its console log.
    """
    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        out = Path(tmp) / "grades.json"
        proc = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", str(notebook), "--student",
             "submission", "--course-dir", str(course_dir), "--json", str(out), "--quiet",
             "--workers", "1", "--cell-timeout", str(cell_timeout), "--isolation", "required"],
            capture_output=True, text=True)
        log = (proc.stdout + proc.stderr).splitlines()
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError("grading failed: " + (log[-1] if log else f"exit {proc.returncode}"))
        grades = json.loads(out.read_text("utf-8"))
        return results_from_grades(grades), tampering_from_grades(grades), log


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder.student.ci",
                                description="Run NOTEBOOK once and report its tests to GitHub "
                                            "Actions (step output, job summary, annotations).")
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    p.add_argument("--manifest", type=Path, default=MANIFEST,
                   help="tamper manifest (default: %(default)s; skipped when absent)")
    p.add_argument("--workflow", type=Path,
                   help="workflow file to compare with the manifest (default: not compared)")
    p.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT)
    p.add_argument("--hidden-tests", action="store_true",
                   help="grade with the instructor's hidden tests (run from the instructor "
                        "repository, as root for isolation)")
    p.add_argument("--course-dir", type=Path, default=Path.cwd(),
                   help="instructor repository for --hidden-tests (default: current folder)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    notebook = args.notebook.as_posix()
    manifest, notes, error, results = None, [], None, {}
    # With hidden tests, grade restores locked cells and checks them against the
    # instructor's manifest itself: the student-side manifest is not needed.
    if args.manifest.is_file() and not args.hidden_tests:
        try:
            manifest = load_manifest(args.manifest)
        except (ValueError, OSError) as exc:
            notes.append(f"the manifest could not be read, so changes were not checked: {exc}")
    try:
        if args.hidden_tests:
            results, found, log = grade_with_hidden_tests(args.notebook, args.course_dir,
                                                          args.cell_timeout)
            print_inert(log, sys.stdout)
            notes += found
        else:
            results = run_public_tests(args.notebook, args.cell_timeout)
    except (SubmissionError, RuntimeError, OSError) as exc:
        error = one_line(str(exc)) or type(exc).__name__
    except Exception as exc:  # whatever breaks, the student still gets a report
        error = one_line(f"{type(exc).__name__}: {exc}")
    if manifest is not None:
        notes += find_tampering(args.notebook, args.workflow, manifest)
        if error:
            results = {gid: TestResult(0.0, pts, f"not run: {error}")
                       for gid, pts in manifest["points"].items()}
        else:
            results, extra = reconcile(results, manifest["points"])
            notes += extra
    if not results and not error:
        error = "the notebook has no test cells"
    emit(results, os.environ, sys.stdout, notebook=notebook, notes=notes, error=error,
         public=not args.hidden_tests)
    return 1 if error or not all(r.passed for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
