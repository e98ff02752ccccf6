"""Grade the one submission in Gradescope's container and write ``results.json``.

``run_autograder`` calls ``python -m autograder.grader.platforms.gradescope_run``. The
submission goes through the same pipeline as ``python -m autograder grade`` (sanitize,
sandbox, execute, verify outside the kernel, score) against a throw-away gradebook, and
``results/results.json`` is written whatever happens: a submission that cannot be graded
(no notebook, several, a damaged file) gets score 0 and one test that says why.

The sandbox: Linux namespaces where the container allows them; otherwise, as root, the
student's code still runs as an unprivileged uid, and the solutions, the settings and the
results folder are closed to it by file permissions (``AUTOGRADER_ISOLATION`` = auto,
namespaces, uid or off chooses; auto by default).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

import psutil

from autograder.grader.platforms.gradescope_settings import GRADEBOOK, Settings
from autograder.records import SubmissionResult, TestResult, plain_number

STUDENT = "submission"
MiB = 2**20
# What the grader's own process may still grow by while the notebook runs, beside what it
# holds when the notebook starts (its imports, the gradebook).
GRADER_MARGIN = 64 * MiB
ISOLATION_ENV = "AUTOGRADER_ISOLATION"


def container_memory(cgroup: Path | None = None, membership: Path | None = None) -> int | None:
    """This process's memory limit in bytes (its cgroup, v2 or v1), or None when unlimited."""
    from autograder.grader.sandbox import memory

    own = memory.own_cgroup(cgroup, membership)
    root = cgroup or memory.CGROUP_ROOT
    candidates = [own[0] / own[1].limit] if own else []
    candidates += [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for file in candidates:
        try:
            text = file.read_text().strip()
        except OSError:
            continue
        # v2 writes "max" and v1 a huge number for "no limit".
        return int(text) if text.isdigit() and int(text) < 2**60 else None
    return None


def fenced(text: str) -> str:
    """``text`` as a Markdown code block that shows it verbatim, whatever it contains."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def output_of(test: TestResult) -> str:
    """One test's output (Markdown): its result in words and its points first, then its
    message verbatim. Gradescope shows a test's status by colour; the words say it to
    everyone, screen readers included. A message that only repeats the result ("passed") is
    left out."""
    head = (f"{'✅ passed' if test.passed else '❌ failed'}: "
            f"{plain_number(test.points)}/{plain_number(test.max_points)} points")
    message = test.feedback.strip()
    return head if message in ("", "passed") else f"{head}\n\n{fenced(test.feedback)}"


def results(result: SubmissionResult, settings: Settings, seconds: float,
            notes: list[str]) -> dict:
    """Gradescope's results.json for a graded (or ungradable) submission. Cells graded by hand
    (``TestResult.manual``) are left out, score and maximum alike: Gradescope grades such
    questions itself, as questions of their own beside the autograder's."""
    graded = {gid: t for gid, t in result.tests.items() if not t.manual}
    by_hand = [gid for gid, t in result.tests.items() if t.manual]
    score = sum(t.points for t in graded.values())
    most = sum(t.max_points for t in graded.values())
    base = {"score": plain_number(score), "execution_time": round(seconds),
            "output_format": "md"}
    if result.error:
        return {**base, "score": 0,
                "output": f"**Your submission could not be graded:** {result.error}"
                          + _lines(notes),
                "tests": [{"name": "Submission", "score": 0,
                           "max_score": plain_number(most), "status": "failed",
                           "output": "❌ failed: your submission could not be graded.\n\n"
                                     + fenced(result.error), "output_format": "md",
                           "visibility": "visible"}]}
    tests = [{"name": gid, "score": plain_number(t.points),
              "max_score": plain_number(t.max_points),
              "status": "passed" if t.passed else "failed", "output": output_of(t),
              "output_format": "md", "visibility": settings.visibility}
             for gid, t in graded.items()]
    when = {"visible": "below", "after_due_date": "after the due date",
            "after_published": "when your instructor publishes the grades",
            "hidden": "from your instructor"}[settings.visibility]
    summary = (f"Your notebook was run and graded with the public and hidden tests "
               f"({len(tests)} tests, {plain_number(most)} points). Each test's "
               f"result is shown {when}. Run `python -m autograder check` on your notebook "
               "to see the public tests at any time.")
    if by_hand:
        summary += (f" Not in this score: {', '.join(f'`{gid}`' for gid in by_hand)}, "
                    "graded by hand by your instructor.")
    return {**base, "output": summary + _lines([*result.notes, *result.tampering, *notes]),
            "tests": tests}


def problem(message: str, seconds: float) -> dict:
    """results.json when nothing could be graded (score 0, one test saying why)."""
    return {"score": 0, "execution_time": round(seconds), "output_format": "md",
            "output": "**Your submission was not graded.** " + message,
            "tests": [{"name": "Autograder", "score": 0, "max_score": 0, "status": "failed",
                       "output": "❌ failed: nothing was graded.\n\n" + fenced(message),
                       "output_format": "md",
                       "visibility": "visible"}]}


def _lines(notes: list[str]) -> str:
    return "".join(f"\n\n- {note}" for note in notes if note)


def isolation(requested: str, packages: list[Path]) -> tuple[bool, bool, str | None]:
    """(isolate, namespaces, note for the log) for AUTOGRADER_ISOLATION's value;
    ``packages``: the assignment's helper packages, which student code must reach."""
    from autograder.grader.sandbox.isolation import ENGINE_PACKAGE, isolation_problem

    if requested == "off":
        return False, False, "isolation is off: student code runs as this user"
    why = isolation_problem()
    if why is None and requested in ("auto", "namespaces"):
        return True, True, None
    if os.geteuid() == 0 and requested in ("auto", "uid"):
        # Python, its packages and the course's code must be readable by the sandbox's uid.
        needed = [Path(sys.base_prefix), Path(sys.prefix), ENGINE_PACKAGE, *packages]
        closed = next(filter(None, map(closed_folder, needed)), None)
        if closed is None:
            return True, False, (f"namespaces {'unavailable: ' + why if why else 'not used'};"
                                 " student code runs as its own uid")
        why = (f"student code cannot run as another user: {closed} (on the way to Python "
               "or the course's code) is closed to other users")
    return False, False, f"WARNING: student code runs without a sandbox: {why}"


def closed_folder(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that other users cannot enter, if any."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def helper_packages(root: Path) -> list[Path]:
    """Where the zip's assignment's helper packages are installed."""
    from autograder.grader.assignments import package_folder
    from autograder.grader.course import Course

    return [package_folder(name)
            for name in Course(root / "source" / "course").assignment.packages]


def close_private(root: Path) -> None:
    """For a sandbox without namespaces: what the student's uid must not read or write."""
    private = [root / "source" / "course" / "solutions", root / "source" / GRADEBOOK,
               root / "results",
               root / "submission_metadata.json", root / "source" / "gradescope.json"]
    for path in private:
        if path.is_dir():
            path.chmod(0o700 if path.name != "results" else 0o755)
        elif path.exists():
            path.chmod(0o600)


def grade(root: Path, settings: Settings, isolate: bool, namespaces: bool,
          limit: int | None) -> SubmissionResult:
    from autograder.grader import gradebook, pipeline

    gradebook.quiet_nbgrader()
    from autograder.grader.course import Course
    from autograder.grader.sandbox.limits import Limits
    from autograder.grader.steps.submissions import pick_notebook

    work = Path(tempfile.mkdtemp(prefix="gradescope-"))  # 0700: the gradebook lives here
    try:
        shutil.copyfile(root / "source" / GRADEBOOK, work / "gradebook.db")
        course = Course(root / "source" / "course", f"sqlite:///{work / 'gradebook.db'}")
        gradebook.ensure_assignment(course)  # a no-op unless the zip's course was edited
        memory = notebook_memory(limit)
        limits = Limits(cell_timeout=settings.cell_timeout,
                        notebook_timeout=settings.notebook_timeout, memory=memory)
        # One submission in a small container: a zygote would only add a process to it.
        options = pipeline.Options(
            limits=limits, workers=1, thread_limit=1, isolate=isolate, namespaces=namespaces,
            zygote=False,
            hidden=[root / "source", root / "results", root / "submission",
                    root / "submission_metadata.json"])
        sub = pick_notebook(STUDENT, root / "submission", course.assignment.notebook)
        [result] = pipeline.grade_all(course, [sub], options, gradebook.points_by_test(course))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def notebook_memory(limit: int | None) -> int:
    """What the notebook's processes may hold in a container of ``limit`` bytes: the rest
    after the grader, so that the kernel stops the notebook (in its own cgroup, or the
    grader by PSS) before the container's limit could take the grader down with it."""
    from autograder.grader.sandbox.limits import Limits

    if not limit:
        return Limits.memory
    held = psutil.Process().memory_info().rss
    memory = min(Limits.memory, max(limit - held - GRADER_MARGIN, 256 * MiB))
    print(f"memory: the container has {limit // MiB} MiB, the grader holds {held // MiB} MiB;"
          f" the notebook may use {memory // MiB} MiB", flush=True)  # instructors see it
    return memory


def run(root: Path, limit: int | None = None) -> dict:
    """results.json for the submission under ``root``; ``limit`` is the container's memory
    (default: read from this process's cgroup)."""
    start = time.monotonic()
    settings = Settings.load(root / "source" / "gradescope.json")
    limit = container_memory() if limit is None else limit
    if limit is not None and limit < settings.memory_needed_mb * MiB:
        return problem(
            f"This autograder needs at least {settings.memory_needed_mb} MB of memory and its "
            f"container has {limit // MiB} MB. Instructor: choose a machine with more memory "
            "in the assignment's autograder settings (see docs/gradescope.md), then rerun "
            "the autograder on all submissions.", time.monotonic() - start)
    isolate, namespaces, note = isolation(os.environ.get(ISOLATION_ENV, "auto"),
                                          helper_packages(root))
    if note:
        print(f"sandbox: {note}", flush=True)  # stdout: instructors see it, students do not
    if isolate and not namespaces:
        close_private(root)
    result = grade(root, settings, isolate, namespaces, limit)
    return results(result, settings, time.monotonic() - start, [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.grader.platforms.gradescope_run")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        doc = run(args.root)
    except Exception as exc:  # the student must get a results.json whatever happened
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        doc = problem(f"The autograder failed ({type(exc).__name__}: {exc}). Please tell "
                      "your instructor.", time.monotonic() - start)
    from autograder.grader.steps.report import write_document

    write_document(args.root / "results" / "results.json", doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
