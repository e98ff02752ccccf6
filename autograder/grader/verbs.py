"""The instructor's verbs of ``python -m autograder``: grade, feedback, export, merge,
template. Each ``cmd_*`` is one job, as nbgrader has one app per command.

Defining the verbs imports nothing heavy (the student's ``check`` shares the parser), so each
command imports its grader modules when it runs; where the grader's dependencies are not
installed, the CLI says which extra to install.
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps.submissions import parse_shard

if TYPE_CHECKING:
    from rich.console import Console

    from autograder.grader.collected import Collection
    from autograder.grader.course import Course
    from autograder.grader.sandbox.zygote import Zygote

EXIT_OK = 0
EXIT_SOME_SKIPPED = 1
EXIT_CANNOT_RUN = 3


def add_verbs(sub: argparse._SubParsersAction) -> None:
    for add in (_add_collect, _add_grade, _add_feedback, _add_export, _add_return, _add_merge,
                _add_slurm, _add_template, _add_gradescope, _add_classroom50):
        add(sub)


def _course_args(p: argparse.ArgumentParser, db: bool = True) -> None:
    p.add_argument("--course-dir", type=Path, default=Path.cwd(),
                   help="instructor repository holding solutions/ (default: current folder)")
    _assignment_arg(p)
    if db:
        p.add_argument("--db", metavar="URL",
                       help="gradebook URL (default: sqlite in course dir)")


def _assignment_arg(p: argparse.ArgumentParser, what: str = "the assignment") -> None:
    p.add_argument("--assignment", metavar="ID",
                   help=f"{what}: a folder of solutions/ (default: the course's only one)")


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _disk_mib(text: str) -> int:
    """A sandbox's room: an assignment's data, its notebook, a trained model and the
    kernel's caches must fit (the rule: at least 16 MiB)."""
    try:
        mib = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of MiB") from None
    if mib < 16:
        raise argparse.ArgumentTypeError(f"{mib} MiB is too little: give 16 or more")
    return mib


def _add_collect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "collect", help="make one folder per student from an LMS download or from git",
        description="collect DOWNLOAD --from canvas|moodle|blackboard OUT_DIR, or "
                    "collect --git ROSTER.csv --deadline 'YYYY-MM-DD HH:MM +ZZZZ' OUT_DIR. "
                    "Writes OUT_DIR/<student>/ and OUT_DIR/collection.json, for `grade OUT_DIR`.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="the download (a zip or its unpacked folder) and OUT_DIR; OUT_DIR "
                        "alone with --git")
    p.add_argument("--from", dest="lms", choices=("canvas", "moodle", "blackboard"),
                   help="the LMS the download comes from")
    p.add_argument("--roster", type=Path, metavar="CSV",
                   help="class list (columns student, lms_id, ...): maps LMS ids to student "
                        "ids and reports students with nothing in the download")
    p.add_argument("--timezone", metavar="ZONE",
                   help="the LMS server's time zone for times it writes without one, e.g. "
                        "Europe/Berlin (default: this machine's)")
    p.add_argument("--worksheet", type=Path, metavar="CSV",
                   help="with --from moodle: the assignment's grading worksheet, whose "
                        "'Last modified (submission)' gives each hand-in time")
    p.add_argument("--submissions", type=Path, metavar="FILE",
                   help="with --from canvas: the assignment's submissions from Canvas's API "
                        "(JSON, or CSV with user_id, submitted_at, late): hand-in times")
    p.add_argument("--git", type=Path, metavar="ROSTER",
                   help="class list with a `repo` column (URL or path) per student")
    p.add_argument("--deadline", metavar="WHEN",
                   help='with --git: the last commit at or before this time is graded, e.g. '
                        '"2026-12-01 23:59 +0100"')
    p.add_argument("--ref", metavar="PATTERN",
                   help="with --git: the newest tag matching PATTERN (e.g. 'submit/*', "
                        "Classroom 50's) at or before the deadline, instead of the branch")
    p.add_argument("--or-branch", action="store_true",
                   help="with --ref: take the branch when no tag is on time (default: none)")
    _course_args(p, db=False)
    p.set_defaults(run=_command(cmd_collect))


def cmd_collect(args: argparse.Namespace, console: Console) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from autograder.grader import late, roster
    from autograder.grader.collecting import git, lms
    from autograder.records import CommandError

    if (args.git is None) == (args.lms is None):
        raise CommandError("give either --from LMS (with the download) or --git ROSTER")
    course = _course(args)  # which assignment, before anything is fetched
    if args.git is not None:
        if args.worksheet or args.submissions:
            raise CommandError("--worksheet and --submissions go with --from")
        if len(args.paths) != 1 or not args.deadline:
            raise CommandError("usage: collect --git ROSTER.csv --deadline WHEN OUT_DIR")
        repos = roster.read(args.git, needs="repo")
        _roster_note(repos, args.git, console)
        collection = git.collect(repos.students, late.parse_deadline(args.deadline),
                                 args.paths[0], str(args.git), ref=args.ref,
                                 or_branch=args.or_branch)
    else:
        if len(args.paths) != 2:
            raise CommandError("usage: collect DOWNLOAD --from LMS OUT_DIR")
        if args.ref or args.or_branch:
            raise CommandError("--ref and --or-branch go with --git")
        try:
            zone = ZoneInfo(args.timezone) if args.timezone else None
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"unknown time zone {args.timezone!r}") from None
        class_list = roster.read(args.roster, needs="lms_id") if args.roster else None
        if class_list:
            _roster_note(class_list, args.roster, console)
        collection = lms.collect(args.paths[0], args.lms, args.paths[1],
                                 course.assignment.notebook,
                                 class_list.students if class_list else None, zone,
                                 times=_lms_times(args, zone))
    out = args.paths[-1]
    return _report_collection(collection, out, course.assignment_id, console)


def _lms_times(args: argparse.Namespace, zone):
    """LMS id -> hand-in time, from the export that goes with the download's LMS."""
    from datetime import datetime

    from autograder.grader.collecting import times
    from autograder.records import CommandError

    given = {"moodle": args.worksheet, "canvas": args.submissions}
    for lms, option in (("moodle", "--worksheet"), ("canvas", "--submissions")):
        if given[lms] is not None and args.lms != lms:
            raise CommandError(f"{option} goes with --from {lms}")
    if args.worksheet is not None:
        return times.moodle_worksheet(args.worksheet,
                                      zone or datetime.now().astimezone().tzinfo)
    if args.submissions is not None:
        return times.canvas_submissions(args.submissions)
    return None


def _roster_note(class_list, path: Path, console: Console) -> None:
    from autograder.grader.steps.report import plain

    if note := class_list.note(path):
        console.print(plain(note), soft_wrap=True, highlight=False)


def _report_collection(collection: Collection, out: Path, assignment: str,
                       console: Console) -> int:
    from rich.table import Table

    from autograder.grader.steps.report import plain

    # File names and git messages come from students: inert text, never markup or escapes.
    table = Table("student", "submitted", "commit", "notes")
    for s in collection.students:
        status = f"[red]{plain(s.problem)}[/red]" if s.problem else plain("; ".join(s.notes))
        late = " [yellow]late[/yellow]" if s.late else ""
        tag = f" ({plain(s.ref)})" if s.ref else ""  # the tag's name is the student's
        table.add_row(plain(s.student), (s.submitted_at or "") + late,
                      (s.commit or "")[:12] + tag, status)
    console.print(table)
    for line in collection.unmatched:
        console.print(f"[yellow]not collected:[/yellow] {plain(line)}")
    missing = [s for s in collection.students if s.problem]
    console.print(f"collected {len(collection.students) - len(missing)} of "
                  f"{len(collection.students)} students into {out}; grade them with "
                  f"`python -m autograder grade {out} --assignment {assignment}`")
    return EXIT_SOME_SKIPPED if missing or collection.unmatched else EXIT_OK


def _add_grade(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade submissions with nbgrader, safely and in parallel",
                       description="Grade one notebook, a student's folder, or a class folder "
                                   "whose immediate subfolders are students.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the grades as JSON")
    p.add_argument("--student", help="student id for a single notebook or folder")
    p.add_argument("--roster", type=Path, metavar="CSV",
                   help="class list (columns student, first_name, last_name, email, ...): "
                        "names for the gradebook, shown by formgrader and the exports")
    _course_args(p)
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="submissions executed at once (default: one more than the cores, "
                        "%(default)s here)")
    p.add_argument("--cell-timeout", type=int, default=Limits.cell_timeout,
                   help="seconds per cell (default: %(default)s)")
    p.add_argument("--notebook-timeout", type=int, default=Limits.notebook_timeout,
                   help="seconds for a whole notebook (default: %(default)s)")
    p.add_argument("--memory-gib", type=float, default=Limits.memory / 2**30,
                   help="memory limit per submission in GiB (default: %(default)s)")
    p.add_argument("--disk-mib", type=_disk_mib, default=Limits.disk // 2**20,
                   help="what a submission's files may take in its folder, in MiB "
                        "(default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="regrade submissions that did not change since they were last graded")
    p.add_argument("--shard", metavar="I/N", type=_shard,
                   help="grade only shard I of N (1-based), a stable slice of the students; "
                        "merge the shards' JSON files with `merge`")
    p.add_argument("--isolation", choices=("auto", "required", "off"), default="auto",
                   help="lock each submission in Linux namespaces with no network and no view "
                        "of the gradebook or solutions (auto: when possible; default)")
    p.add_argument("--no-zygote", dest="zygote", action="store_false",
                   help="start Python, Jupyter and TensorFlow afresh for every submission "
                        "instead of forking each from a pre-imported process per worker")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--details", action="store_true",
                   help="after the table, every lost point's message (default: one line a "
                        "student)")
    p.set_defaults(run=_grade)


def _command(fn):
    """The shared set-up of the instructor's verbs, around ``fn(args, console)``."""

    def run(args: argparse.Namespace) -> int:
        from rich.console import Console

        from autograder.grader.gradebook import quiet_nbgrader

        quiet_nbgrader()
        return fn(args, Console())

    return run


def _course(args: argparse.Namespace) -> Course:
    from autograder.grader.course import Course

    return Course(args.course_dir.resolve(), getattr(args, "db", None),
                  getattr(args, "assignment", None))


def default_workers() -> int:
    """One more worker than cores: a training kernel waits for about a fifth of its time
    (TensorFlow hands every step between threads; the kernel and its runner exchange
    messages), so with one per core the cores idled as much (bench/README.md, "Measurements
    behind the code")."""
    return (os.cpu_count() or 1) + 1


def _grade(args: argparse.Namespace) -> int:
    """``grade``, with the zygote started before anything heavy is imported: it imports
    TensorFlow while the grader imports nbgrader and reads the gradebook."""
    from autograder.grader.sandbox import zygote

    started = None
    source = _course(args).source_notebook
    if args.zygote and zygote.unavailable() is None and source.is_file():
        try:
            started = zygote.start(source, max(1, args.workers))
        except Exception:  # a broken source notebook: the gradebook step says what is wrong
            pass
    try:
        return _command(functools.partial(cmd_grade, started=started))(args)
    finally:
        if started is not None:
            started.close()  # the pipeline has closed it already, unless it never ran


def cmd_grade(args: argparse.Namespace, console: Console,
              started: Zygote | None = None) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from autograder.grader import gradebook, pipeline, roster
    from autograder.grader.steps import report
    from autograder.grader.steps.submissions import find, select_shard

    course = _course(args)
    class_list = roster.read(args.roster) if args.roster else None
    if class_list:
        _roster_note(class_list, args.roster, console)
    if gradebook.ensure_assignment(course):
        console.print(f"gradebook: wrote assignment {course.assignment_id} from "
                      f"{course.source_notebook}")
    subs = find(args.paths, args.student, expected=course.assignment.notebook)
    if args.shard:
        subs = select_shard(subs, *args.shard)
    people = _people(subs, class_list.students if class_list else [])
    gradebook.name_students(course, people)
    if not subs:
        console.print("[red]no submissions found[/red] in " + ", ".join(map(str, args.paths)))
        return EXIT_CANNOT_RUN
    graded = {sub.student for sub in subs if sub.record}
    warnings = gradebook.grant_deadlines(course, [p for p in people if p.student in graded])
    untimed = sum(1 for sub in subs if sub.notebook and not sub.handed_in(course)
                  and not sub.marked_late)
    warnings.append(gradebook.late_policy_without_times(course, untimed))
    for warning in filter(None, warnings):
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory=int(args.memory_gib * 2**30), disk=args.disk_mib * 2**20)
    options = pipeline.Options(limits=limits, workers=args.workers,
                               isolate=_isolation(args.isolation, console), force=args.force,
                               hidden=[p.resolve() for p in args.paths], zygote=args.zygote)
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=args.quiet, transient=True) as progress:
        task = progress.add_task("", total=len(subs))
        results = pipeline.grade_all(
            course, subs, options, gradebook.points_by_test(course),
            lambda result: progress.update(task, advance=1, description=result.student),
            started)
    report.print_table(results, console, course.assignment_id)
    if args.details:
        report.print_feedback(results, console)
    elif any(not t.passed for r in results for t in r.tests.values()):
        console.print("--details shows the message of every lost point; each student's "
                      "feedback page has them too", highlight=False)
    if args.json:
        report.write_json(args.json, course.assignment_id, results)
        console.print(f"wrote {args.json}")
    return EXIT_OK


def _people(subs: list, listed: list) -> list:
    """Who is who, given once: collect's record of each student (the roster it was given),
    then ``grade --roster``'s rows over it; each submission learns its person (its own
    deadline). The class list's students without a submission are named too."""
    from autograder.grader import roster

    by_id = {sub.student: sub.person for sub in subs if sub.person is not None}
    by_id.update({person.student: person for person in listed})
    for sub in subs:
        sub.person = by_id.get(sub.student, sub.person)
    return [roster.as_student(p) for p in by_id.values()]


def _isolation(mode: str, console: Console) -> bool:
    from autograder.grader.course import CourseError
    from autograder.grader.sandbox.isolation import isolation_problem

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


def _add_feedback(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="write per-student feedback HTML (no hidden tests)",
                       description="A page for every student of the gradebook: nbgrader "
                                   "generate_feedback with hidden test source removed, a "
                                   "summary table on top and the figures the assignment "
                                   "draws of the student's trained model at the end; a "
                                   "short page for a submission that could not be run. Exit "
                                   "status 1 when a student's page could not be written.")
    p.add_argument("--student", help="only this student (default: everyone graded)")
    _course_args(p)
    p.set_defaults(run=_command(cmd_feedback))


def cmd_feedback(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.feedback import generate

    run = generate(_course(args), args.student)
    for path in run.written:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    from autograder.grader.steps.report import plain

    for student, why in run.skipped.items():  # the reason may quote a student's file
        console.print(f"[red]skipped[/red] {plain(student)}: {plain(why)}", highlight=False,
                      soft_wrap=True)
    if run.skipped:
        console.print(f"{len(run.skipped)} student(s) got no page; everyone else did")
        return EXIT_SOME_SKIPPED
    return EXIT_OK


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write the grades CSV (nbgrader's columns, RFC 4180, "
                                      "formulas neutralized), every assignment in one file")
    p.add_argument("--to", type=Path, default=Path("grades.csv"), metavar="FILE")
    p.add_argument("--course-dir", type=Path, default=Path.cwd(),
                   help="instructor repository holding solutions/ (default: current folder)")
    _assignment_arg(p, "only this assignment (default: every assignment of the gradebook)")
    p.add_argument("--db", metavar="URL", help="gradebook URL (default: sqlite in course dir)")
    p.set_defaults(run=_command(cmd_export))


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.assignments import choose, ids
    from autograder.grader.course import Course
    from autograder.grader.grades_csv import export_grades

    root = args.course_dir.resolve()
    named = choose(root, args.assignment) if args.assignment else None
    course = Course(root, args.db, named or choose(root, (ids(root) or [None])[0]))
    out = export_grades(course, args.to, [named] if named else None)
    console.print(f"wrote {out}", highlight=False, soft_wrap=True)
    return EXIT_OK


def _add_return(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "return", help="fill the grades into the file the LMS exported, for its import",
        description="return --to canvas|moodle|blackboard LMS_FILE OUT_FILE: a copy of the "
                    "LMS's own grade file (Canvas's gradebook export, Moodle's grading "
                    "worksheet, Blackboard's Work Offline download) with this assignment's "
                    "grades filled in and every other byte as the LMS wrote it, students "
                    "placed by their LMS id. --feedback also packs the feedback pages as the "
                    "LMS takes them in bulk. Exit status 1 while a graded student could not "
                    "be placed (each is listed). docs/returning.md walks each LMS.")
    p.add_argument("lms_file", type=Path, metavar="LMS_FILE")
    p.add_argument("out", type=Path, metavar="OUT_FILE")
    p.add_argument("--to", dest="lms", required=True, choices=("canvas", "moodle", "blackboard"),
                   help="the LMS the file comes from")
    p.add_argument("--column", metavar="NAME",
                   help="the LMS's column for this assignment (default: the column named as "
                        "the assignment)")
    p.add_argument("--feedback", type=Path, metavar="ZIP",
                   help="also write the feedback pages (from `feedback`) as this zip")
    _course_args(p)
    p.set_defaults(run=_command(cmd_return))


def cmd_return(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.grades_csv import check_gradebook
    from autograder.grader.returning.job import give_back
    from autograder.grader.steps.report import plain

    course = _course(args)
    check_gradebook(course)
    done = give_back(course, args.lms, args.lms_file, args.out, args.column, args.feedback)
    filled = done.filled
    console.print(f"wrote {args.out}: {len(filled.placed)} grade(s) in column "
                  f"{plain(filled.column)}", highlight=False, soft_wrap=True)
    problems = ([f"not in the file: {line}" for line in filled.unmatched]
                + [f"left alone: {line}" for line in filled.skipped]
                + [f"no {args.lms} id known: {s} (give collect or grade a roster with lms_id)"
                   for s in done.without_id])
    if done.zipped is not None:
        console.print(f"wrote {done.zipped.path}: {len(done.zipped.names)} feedback page(s)",
                      highlight=False, soft_wrap=True)
        problems += [f"no feedback page in the zip: {line}" for line in done.zipped.left_out]
    for line in problems:  # names and ids are the LMS's and the students': inert text
        console.print(f"[yellow]{plain(line)}[/yellow]", highlight=False, soft_wrap=True)
    if not done.complete:
        console.print(f"{len(filled.placed)} placed; the students above are not in "
                      f"{args.out}", highlight=False, soft_wrap=True)
        return EXIT_SOME_SKIPPED
    return EXIT_OK


def _add_merge(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge the grade JSON files of shards into one gradebook",
                       description="Write the grades of `grade --shard i/n` runs (their --json "
                                   "files) into this course's gradebook; `export` then gives "
                                   "one CSV.")
    p.add_argument("shards", nargs="+", type=Path, metavar="SHARD_JSON")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the merged JSON")
    p.add_argument("--class", dest="class_dir", type=Path, metavar="CLASS",
                   help="with --of: the class folder the shards graded; every student of it "
                        "that no shard file holds is named, with the command that reruns "
                        "their shard (exit status 1 until none is missing)")
    p.add_argument("--of", type=int, metavar="N", help="with --class: the number of shards")
    _course_args(p)
    p.set_defaults(run=_command(cmd_merge))


def cmd_merge(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.merge import merge
    from autograder.grader.steps import report
    from autograder.records import CommandError

    if (args.class_dir is None) != (args.of is None) or (args.of is not None and args.of < 1):
        raise CommandError("--class CLASS and --of N go together (N: the number of shards)")
    course = _course(args)
    results = merge(course, args.shards)
    report.print_table(results, console, course.assignment_id)
    if args.json:
        report.write_json(args.json, course.assignment_id, results)
    console.print(f"merged {len(results)} students from {len(args.shards)} shard files "
                  f"into {course.db}", soft_wrap=True, highlight=False)
    if args.class_dir is None:
        return EXIT_OK
    return _report_missing(args, course, results, console)


def _report_missing(args: argparse.Namespace, course: Course, results: list,
                    console: Console) -> int:
    """Who no shard graded, shard by shard, and the one command that grades only them (the
    ledger skips everyone that shard already graded: rerunning grades no one twice)."""
    import shlex

    from autograder.grader.merge import missing_by_shard
    from autograder.grader.steps.report import plain

    missing = missing_by_shard([args.class_dir], args.of, results, course.assignment.notebook)
    # The shards' own layout: their files' folder, and their gradebooks there if they had
    # their own (`slurm`'s tasks do)
    where = args.shards[0].parent
    own_db = any(where.glob("shard-*.db"))
    for shard, students in missing.items():
        rerun = shlex.join([
            "python", "-m", "autograder", "grade", str(args.class_dir), "--course-dir",
            str(course.root), "--assignment", course.assignment_id, "--shard",
            f"{shard}/{args.of}", "--json", str(where / f"shard-{shard}.json"),
            *(["--db", f"sqlite:///{where / f'shard-{shard}.db'}"] if own_db else [])])
        console.print(f"[yellow]shard {shard}/{args.of} is missing {len(students)} "
                      f"student(s):[/yellow] {plain(', '.join(students))}\n  rerun: {rerun}\n"
                      "  then merge again with every shard's file", soft_wrap=True,
                      highlight=False)
    if missing:
        return EXIT_SOME_SKIPPED
    console.print(f"every student of {args.class_dir} is merged", highlight=False,
                  soft_wrap=True)
    return EXIT_OK


def _add_slurm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "slurm", help="grade a class as a Slurm job array, then merge it",
        description="Submit cluster/grade.sbatch as an array of N tasks (task i grades "
                    "--shard i/N into OUT/shard-i.json) and cluster/merge.sbatch after it "
                    "(afterany: merge into the gradebook, name any student a task left "
                    "ungraded, write the feedback pages). Prints both job ids. "
                    "docs/cluster.md says how to choose N and the cores.")
    p.add_argument("class_dir", type=Path, metavar="CLASS")
    p.add_argument("--shards", type=int, required=True, metavar="N")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="where the shards write (default: CLASS's folder + '-shards')")
    p.add_argument("--cpus", type=int, default=2, help="cores per task (default: 2)")
    p.add_argument("--mem", help="memory per task, as sbatch takes it (e.g. 8G)")
    p.add_argument("--time", help="time limit per task, as sbatch takes it (e.g. 1:00:00)")
    p.add_argument("--partition", help="the partition to run in")
    p.add_argument("--tasks", metavar="LIST",
                   help="only these tasks, e.g. 2 or 1,3 (a rerun; the merge follows them)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the sbatch commands and the environment, submit nothing")
    _course_args(p, db=False)
    p.set_defaults(run=_command(cmd_slurm))


def cmd_slurm(args: argparse.Namespace, console: Console) -> int:
    import shlex

    from autograder.grader import cluster
    from autograder.records import CommandError

    if args.shards < 1 or args.cpus < 1:
        raise CommandError("--shards and --cpus must be 1 or more")
    course = _course(args)
    out = args.out or args.class_dir.resolve().with_name(args.class_dir.resolve().name
                                                         + "-shards")
    resources = cluster.Resources(args.cpus, args.mem, args.time, args.partition)
    if args.dry_run:
        for name, value in cluster.environment(course, args.class_dir, out,
                                               args.shards).items():
            console.print(f"export {name}={shlex.quote(value)}", highlight=False,
                          soft_wrap=True)
        grade, merge = cluster.commands(args.shards, resources, out, args.tasks)
        console.print(shlex.join(grade), highlight=False, soft_wrap=True)
        console.print(shlex.join([*merge[:-1], "--dependency=afterany:<the array's id>",
                                  merge[-1]]), highlight=False, soft_wrap=True)
        return EXIT_OK
    array, merge = cluster.submit(course, args.class_dir, out, args.shards, resources,
                                  args.tasks)
    console.print(f"submitted the grading array {array} ({args.tasks or f'1-{args.shards}'} "
                  f"of {args.shards}) and the merge {merge} after it; shards write to {out}",
                  highlight=False, soft_wrap=True)
    return EXIT_OK


def _add_template(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="export the student template repository",
                       description="Write the student template repository (release notebook, "
                                   "data, helpers, CI workflow) to OUT_DIR. Nothing secret.")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    _course_args(p, db=False)
    p.set_defaults(run=_command(cmd_template))


def cmd_template(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.template import export_template

    out = export_template(args.out_dir, _course(args), force=args.force)
    console.print(f"wrote the student template to {out}", highlight=False)
    return EXIT_OK


def _add_gradescope(sub: argparse._SubParsersAction) -> None:
    from autograder.grader.platforms.gradescope_settings import DEFAULT_VISIBILITY, VISIBILITIES

    p = sub.add_parser("gradescope", help="build the Gradescope autograder zip",
                       description="Write a Gradescope autograder (setup.sh, run_autograder, "
                                   "pinned requirements and this course, hidden tests "
                                   "included) to OUT_ZIP; see docs/gradescope.md.")
    p.add_argument("out", type=Path, metavar="OUT_ZIP")
    p.add_argument("--visibility", choices=VISIBILITIES, default=DEFAULT_VISIBILITY,
                   help="when students see each test's result (Gradescope's visibility; "
                        "default: %(default)s, as every test holds hidden checks)")
    _course_args(p)
    p.set_defaults(run=_command(cmd_gradescope))


def cmd_gradescope(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.platforms import gradescope
    from autograder.grader.platforms.gradescope_settings import MEMORY_NEEDED_MB

    out = gradescope.build(args.out, _course(args), args.visibility)
    console.print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB). In Gradescope: "
                  f"upload it as the autograder, Ubuntu 22.04 base image, and at least "
                  f"{MEMORY_NEEDED_MB} MB of memory (docs/gradescope.md).",
                  highlight=False, soft_wrap=True)
    return EXIT_OK


def _add_classroom50(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classroom50", help="write the public Classroom 50 autograder bundle",
                       description="Write autograders/<slug>/ (autograder.py and what it "
                                   "needs: public tests and secret-free checks only, as "
                                   "Classroom 50 publishes bundles) and the runtime snippet "
                                   "for assignments.json into OUT_DIR; see docs/classroom50.md.")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR",
                   help="your classroom's folder in the classroom50 config repository")
    p.add_argument("--slug", help="the assignment's slug in assignments.json "
                                  "(default: the assignment id with - for _)")
    p.add_argument("--force", action="store_true", help="replace an existing bundle")
    _course_args(p, db=False)
    p.set_defaults(run=_command(cmd_classroom50))


def cmd_classroom50(args: argparse.Namespace, console: Console) -> int:
    from autograder.grader.platforms import classroom50

    bundle = classroom50.build(args.out_dir, _course(args), args.slug, force=args.force)
    console.print(f"wrote {bundle.folder} ({bundle.size / 2**20:.1f} MiB) and "
                  f"{bundle.runtime_file}: add its runtime to the assignment's entry in "
                  "assignments.json (docs/classroom50.md).", highlight=False, soft_wrap=True)
    return EXIT_OK
