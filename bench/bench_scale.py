"""Does the grader's own cost stay flat as the class grows? N copies of the tiny stand-in
notebook (no TensorFlow: a kernel start and four small cells each) graded at N = 10 and
N = 300, into SQLite and into a real PostgreSQL server.

The grader's own overhead per submission is the CPU time of its main thread inside the
steps that are its own (collect, ledger, tamper check, register, sanitize, sandbox set-up,
scoring, record, report), from ``time.thread_time``, so the workers' kernels, which run
meanwhile, do not count. The grader process's peak memory is its ru_maxrss: each
configuration runs in its own process.

    .venv/bin/python bench/bench_scale.py [--sizes 10 300] [--databases sqlite postgresql]

Targets: overhead per submission at 300 <= 1.2x that at 10; grader memory <= 300 MiB.
It exits 1 only when some copy does not get full marks.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from profile_submission import Phases

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import PostgresServer, ServerUnavailable  # noqa: E402

from helpers import place, tiny_course_at, tiny_submission  # noqa: E402

TARGET_GROWTH = 1.2
TARGET_MEMORY_MIB = 300


def one(size: int, db_url: str | None, workers: int) -> dict:
    """Grade ``size`` tiny copies in this process; the overhead and peak memory."""
    from autograder.grader import gradebook, pipeline
    from autograder.grader.course import Course
    from autograder.grader.sandbox import folder as sandbox
    from autograder.grader.sandbox.isolation import isolation_problem
    from autograder.grader.steps import (
        ledger,
        record,
        report,
        sanitize,
        submissions,
        tamper_check,
    )

    work = Path(tempfile.mkdtemp(prefix="scale-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # this process is one configuration
    course = Course(tiny_course_at(work / "course"), db_url)
    gradebook.quiet_nbgrader()
    gradebook.ensure_assignment(course)
    for i in range(size):
        place(work / "class", f"student{i:03d}", tiny_submission())
    phases = Phases(clock=time.thread_time)
    for owner, attr in ((submissions, "find"), (ledger.Ledger, "lookup"),
                        (ledger.Ledger, "record"), (tamper_check, "find"),
                        (gradebook, "register"), (sanitize, "sanitize"), (sandbox, "create"),
                        (record, "save")):
        phases.wrap(owner, attr, f"{owner.__name__.rsplit('.', 1)[-1]}.{attr}")
    pipeline.SCORE = tuple(phases.timed_step(step) for step in pipeline.SCORE)
    phases.wrap(pipeline.score, "score", "score.score")
    start = time.perf_counter()
    options = pipeline.Options(workers=workers, isolate=isolation_problem() is None)
    results = pipeline.grade_all(course, submissions.find([work / "class"],
                                                         expected=course.assignment.notebook),
                                 options,
                                 gradebook.points_by_test(course))
    phases.wrap(report, "write_json", "report.write_json")
    report.write_json(work / "grades.json", course.assignment_id, results)
    wall = time.perf_counter() - start
    full = sum(1 for r in results if r.score == r.max_score and not r.error)
    overhead = sum(cpu_s for _, cpu_s in phases.rows.values())
    return {"size": size, "wall": wall, "full_marks": full,
            "overhead_ms_per_submission": 1000 * overhead / size,
            "by_step_ms_per_submission": {k: 1000 * v[1] / size for k, v in phases.rows.items()},
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_config(size: int, db_url: str | None, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--one", str(size), "--workers", str(workers)]
    if db_url:
        cmd += ["--db", db_url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 300])
    p.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"),
                   default=["sqlite", "postgresql"])
    # One worker by default: the grader's own CPU time is what is measured, and with as many
    # workers as cores it rose with their contention for the core it runs on, not with the
    # class (the same steps, ms per submission, 2 workers, SQLite, N = 300 against N = 10:
    # 1.20x, 1.25x and 1.06x in three runs; a gradebook of 300 filled without workers:
    # flat). One worker leaves it a core.
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.db, args.workers)))
        return 0
    figures: dict[str, list[dict]] = {}
    for database in args.databases:
        server = None
        if database == "postgresql":
            try:
                server = PostgresServer()
                db_url = server.start()
            except (ServerUnavailable, OSError) as exc:
                print(f"postgresql skipped: {exc}")
                continue
        else:
            db_url = None
        try:
            for size in args.sizes:
                if server is not None:  # a fresh database for each size
                    server.stop()
                    server.remove()
                    server = PostgresServer()
                    db_url = server.start()
                row = run_config(size, db_url, args.workers)
                figures.setdefault(database, []).append(row)
                print(f"{database}, N={size}: {row['overhead_ms_per_submission']:.1f} ms of "
                      f"grader CPU per submission, peak {row['peak_mib']:.0f} MiB, "
                      f"{row['wall']:.0f} s wall, {row['full_marks']}/{size} full marks",
                      flush=True)
        finally:
            if server is not None:
                server.stop()
                server.remove()
    ok = True
    print("\n| database | N | grader CPU ms / submission | peak MiB | wall s |")
    print("|---|---|---|---|---|")
    for database, rows in figures.items():
        for row in rows:
            print(f"| {database} | {row['size']} | {row['overhead_ms_per_submission']:.1f} | "
                  f"{row['peak_mib']:.0f} | {row['wall']:.0f} |")
            ok &= row["full_marks"] == row["size"]
    for database, rows in figures.items():
        small, large = rows[0], rows[-1]
        growth = large["overhead_ms_per_submission"] / small["overhead_ms_per_submission"]
        peak = max(r["peak_mib"] for r in rows)
        print(f"{database}: overhead at N={large['size']} / N={small['size']} = {growth:.2f}x "
              f"(target <= {TARGET_GROWTH}x: {'PASS' if growth <= TARGET_GROWTH else 'MISS'}); "
              f"grader peak {peak:.0f} MiB (target <= {TARGET_MEMORY_MIB}: "
              f"{'PASS' if peak <= TARGET_MEMORY_MIB else 'MISS'})")
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
