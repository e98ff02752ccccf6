"""``python -m autograder VERB``: one verb per job, as nbgrader has one app per command.

Instructors: ``grade`` (and later ``feedback``, ``export``). Students: ``check``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from autograder import ASSIGNMENT_ID
from autograder.sandbox import Limits

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3


def _add_grade(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade submissions with nbgrader, safely and in parallel",
                       description="Grade one notebook, a student's folder, or a class folder "
                                   "whose immediate subfolders are students.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the grades as JSON")
    p.add_argument("--student", help="student id for a single notebook or folder")
    _course_args(p)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="submissions executed at once (default: number of cores)")
    p.add_argument("--cell-timeout", type=int, default=Limits.cell_timeout,
                   help="seconds per cell (default: %(default)s)")
    p.add_argument("--notebook-timeout", type=int, default=Limits.notebook_timeout,
                   help="seconds for a whole notebook (default: %(default)s)")
    p.add_argument("--memory-gib", type=float, default=Limits.memory / 2**30,
                   help="memory limit per submission in GiB (default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="regrade submissions that did not change since they were last graded")
    p.add_argument("--shard", metavar="I/N", type=_shard,
                   help="grade only shard I of N (1-based), a stable slice of the students; "
                        "merge the shards' JSON files with `merge`")
    p.add_argument("--isolation", choices=("auto", "required", "off"), default="auto",
                   help="lock each submission in Linux namespaces with no network and no view "
                        "of the gradebook or solutions (auto: when possible; default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_grade)


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"shard {index}/{count}: I must be from 1 to N")
    return index, count


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from autograder import pipeline, report
    from autograder.assignment_db import ensure_assignment, test_points
    from autograder.collect import collect, select_shard
    from autograder.course import Course

    course = Course(args.course_dir.resolve(), args.db)
    if ensure_assignment(course):
        console.print(f"gradebook: wrote assignment {course.assignment_id} from "
                      f"{course.source_notebook}")
    subs = collect(args.paths, args.student)
    if args.shard:
        subs = select_shard(subs, *args.shard)
    if not subs:
        console.print("[red]no submissions found[/red] in " + ", ".join(map(str, args.paths)))
        return EXIT_CANNOT_RUN
    points = test_points(course)
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory=int(args.memory_gib * 2**30))
    isolate = _isolation(args.isolation, console)
    options = pipeline.Options(limits=limits, workers=args.workers, isolate=isolate,
                               force=args.force,
                               hidden=[p.resolve() for p in args.paths])
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=args.quiet, transient=True) as progress:
        task = progress.add_task("", total=len(subs))

        def on_done(result: pipeline.SubmissionResult) -> None:
            progress.update(task, advance=1, description=result.student)

        results = pipeline.grade_all(course, subs, options, points, on_done)
    report.print_table(results, console)
    report.print_feedback(results, console)
    if args.json:
        report.write_json(args.json, course.assignment_id, results)
        console.print(f"wrote {args.json}")
    return EXIT_OK


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="students: run your notebook and its public tests",
                       description="Execute NOTEBOOK in a fresh kernel and print each public "
                                   "test with its points and message. The file is not changed.")
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    p.add_argument("--cell-timeout", type=int, default=300)
    p.set_defaults(run=cmd_check)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from autograder.check import run_public_tests
    from autograder.sanitize import SubmissionError

    if not args.notebook.is_file():
        raise FileNotFoundError(f"no such notebook: {args.notebook}")
    with console.status(f"running {args.notebook} ..."):
        try:
            results = run_public_tests(args.notebook, args.cell_timeout)
        except (SubmissionError, RuntimeError) as exc:
            console.print(f"[red]{exc}[/red]", highlight=False)
            return EXIT_CANNOT_RUN
    table = Table(title=f"Public tests of {args.notebook.name}")
    for column in ("test", "result", "points", "message"):
        table.add_column(column)
    for gid, r in results.items():
        ok = r.points >= r.max_points
        table.add_row(gid, "[green]pass[/green]" if ok else "[red]fail[/red]",
                      f"{r.points:g}/{r.max_points:g}", "" if ok else r.feedback)
    console.print(table)
    got = sum(r.points for r in results.values())
    total = sum(r.max_points for r in results.values())
    console.print(f"public tests: {got:g}/{total:g} points. Hidden tests run at grading time.")
    return EXIT_OK


def _course_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--course-dir", type=Path, default=Path.cwd(),
                   help="instructor repository holding solutions/ (default: current folder)")
    p.add_argument("--db", metavar="URL", help="gradebook URL (default: sqlite in course dir)")


def _add_feedback(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="write per-student feedback HTML (no hidden tests)",
                       description="nbgrader generate_feedback for graded students, with hidden "
                                   "test source removed and the student's loss curve, "
                                   "misclassified digits and confusion matrix added.")
    p.add_argument("--student", help="only this student (default: everyone graded)")
    _course_args(p)
    p.set_defaults(run=cmd_feedback)


def cmd_feedback(args: argparse.Namespace, console: Console) -> int:
    from autograder.course import Course
    from autograder.feedback import generate

    course = Course(args.course_dir.resolve(), args.db)
    for path in generate(course, args.student):
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    return EXIT_OK


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write the grades CSV (nbgrader's exporter)")
    p.add_argument("--to", type=Path, default=Path("grades.csv"), metavar="FILE")
    _course_args(p)
    p.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from autograder.course import Course
    from autograder.export import export_grades

    course = Course(args.course_dir.resolve(), args.db)
    console.print(f"wrote {export_grades(course, args.to)}", highlight=False, soft_wrap=True)
    return EXIT_OK


def _add_merge(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge the grade JSON files of shards into one gradebook",
                       description="Write the grades of `grade --shard i/n` runs (their --json "
                                   "files) into this course's gradebook; `export` then gives "
                                   "one CSV.")
    p.add_argument("shards", nargs="+", type=Path, metavar="SHARD_JSON")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the merged JSON")
    _course_args(p)
    p.set_defaults(run=cmd_merge)


def cmd_merge(args: argparse.Namespace, console: Console) -> int:
    from autograder import report
    from autograder.course import Course
    from autograder.merge import merge

    course = Course(args.course_dir.resolve(), args.db)
    results = merge(course, args.shards)
    report.print_table(results, console)
    if args.json:
        report.write_json(args.json, course.assignment_id, results)
    console.print(f"merged {len(results)} students from {len(args.shards)} shard files "
                  f"into {course.db}", soft_wrap=True, highlight=False)
    return EXIT_OK


def _add_template(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="export the student template repository",
                       description="Write the student template repository (release notebook, "
                                   "data, helpers, CI workflow) to OUT_DIR. Nothing secret.")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    p.set_defaults(run=cmd_template)


def cmd_template(args: argparse.Namespace, console: Console) -> int:
    from autograder.template import export_template

    out = export_template(args.out_dir, force=args.force)
    console.print(f"wrote the student template to {out}", highlight=False)
    return EXIT_OK


def _isolation(mode: str, console: Console) -> bool:
    from autograder.course import CourseError
    from autograder.sandbox import isolation_problem

    if mode == "off":
        console.print("[yellow]warning:[/yellow] isolation is off: student code runs with "
                      "your rights and can read the gradebook and solutions")
        return False
    problem = isolation_problem()
    if problem is None:
        return True
    if mode == "required":
        raise CourseError(f"isolation is required but not available: {problem}")
    console.print(f"[yellow]warning:[/yellow] submissions run without isolation: {problem}")
    return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description=f"Grade the {ASSIGNMENT_ID} assignment on top of nbgrader.")
    sub = parser.add_subparsers(dest="verb", required=True)
    _add_grade(sub)
    _add_feedback(sub)
    _add_export(sub)
    _add_merge(sub)
    _add_check(sub)
    _add_template(sub)
    return parser


def _venv_on_path() -> None:
    """nbgrader shells out to `alembic` when it creates a gradebook: find the venv's copy
    even when the venv is not activated (``.venv/bin/python -m autograder``)."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _venv_on_path()
    console = Console(stderr=False)
    # nbgrader's preprocessors log every restored cell; the table is what people read.
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    # nbgrader 0.9 triggers SQLAlchemy 2 session warnings that mean nothing to a grader.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from autograder.course import CourseError

    try:
        return args.run(args, console)
    except (CourseError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
