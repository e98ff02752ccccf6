"""Benchmark: our grader against plain ``nbgrader autograde`` and a bare execution.

One run grades N copies of the solution notebook with
  (a) ``nbgrader autograde`` (sequential, as nbgrader does it) in a temporary nbgrader course,
  (b) ``python -m autograder grade --workers W`` on a temporary course (workers forked by
      the zygote), and again with ``--no-zygote`` (a fresh process per submission: before),
  (c) ``jupyter nbconvert --to notebook --execute`` of one copy: the floor for one notebook,
  (d) W such bare executions at once: the floor for W in parallel on this hardware,
and ours once more with a single submission (the zygote's start-up included), to measure its
overhead over (c). It also runs the notebook's cells in one plain Python process, with the
workers' thread settings, for the CPU seconds of the training cell alone: the floor that
CPU seconds per graded submission are measured against. All of that is digit_recognition's;
every other assignment of the repository gets one line, (a) against (b) on N copies of its
own solution in the same run.

Wall time is time.perf_counter around each command; CPU is this process's children's
rusage (every process of the run is waited for by its parent, so all of it is counted).
Memory per worker is the proportional set size (PSS: a page shared by k processes counts
1/k to each) of each worker's process tree, sampled every 1 s with psutil (RSS every
0.1 s); forked workers share most of their pages with the zygote, which RSS would count
again for every process.
The zygote serves every slot, so each forked worker is charged its own tree's PSS plus the
zygote's own PSS divided by the number of slots.
The tree peak is RSS summed (an upper bound). Every copy must score 100 in both graders and
the zygote's grades must equal the fresh processes' test for test, or the run fails; a
missed target is printed as MISS and does not fail it.

    .venv/bin/python bench/bench_grade.py [--n 6] [--workers W] [--json OUT] [--only-main]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from profile_submission import floor

from autograder.grader.assignments import ids
from autograder.grader.verbs import default_workers

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "digit_recognition"  # the one measured in full; the others get a line each
COURSE_ID = "digit-recognition"
# Not .resolve(): the venv's bin is where python, nbgrader, jupyter and alembic live.
VENV_BIN = Path(sys.executable).parent
GiB = 1024**3
CELL_TIMEOUT = 120  # the same per-cell limit for every tool (ours defaults to 120 s)

TARGET_THROUGHPUT = 2.5   # ours / nbgrader, N submissions
TARGET_OVERHEAD = 1.0     # ours with one submission / bare nbconvert execution
TARGET_CPU_RATIO = 2.0    # CPU s per graded submission / CPU s of the training cell alone
TARGET_WORKER_MEMORY = 1.0  # GiB (PSS) per worker
# A worker's process tree: a fresh runner, or the zygote (with the workers it forks).
ZYGOTE_MARK = "autograder.grader.sandbox.zygote"
WORKER_MARKS = (ZYGOTE_MARK, "autograder.student.runner")


class BenchError(RuntimeError):
    pass


@dataclass
class Measure:
    label: str
    submissions: int
    wall: float = 0.0
    cpu: float = 0.0            # CPU seconds of the command and everything it started
    tree_peak: int = 0          # whole process tree, bytes
    main_peak: int = 0          # the command's own process
    worker_peak: int = 0        # largest single worker subtree (ours), PSS bytes
    cgroup_peak: int = 0        # the whole run in a cgroup: its peak, page cache included
    cgroup_anonymous_peak: int = 0  # and what it could not reclaim (anonymous, shmem)
    workers_seen: int = 0
    other_cores: float = 0.0    # CPU used meanwhile by processes that are not this run's
    notes: list[str] = field(default_factory=list)

    @property
    def per_submission(self) -> float:
        return self.wall / max(1, self.submissions)


class TreeSampler(threading.Thread):
    """Peak RSS of a process tree, of its root, and peak PSS of each grading worker.

    A worker subtree is a direct child of the root whose tree contains a process whose command
    line has one of ``worker_marks`` (a zygote, or a fresh runner possibly behind unshare).
    Under a zygote, each process it forked is a worker, charged its tree's PSS and the
    zygote's own divided by ``slots``.

    RSS every ``interval``, PSS every ``pss_every`` samples: PSS costs the reader ~5 ms of
    CPU per TensorFlow process (the kernel walks its page tables), so at every 0.1 s it took a
    third of a core from the run it measured. A worker holds its peak through its training
    (seconds), which a sample a second still sees.
    """

    def __init__(self, pid: int, worker_marks: tuple[str, ...] = (), interval: float = 0.1,
                 slots: int = 1, pss_every: int = 10):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.marks = worker_marks
        self.slots = max(1, slots)
        self.interval = interval
        self.pss_every = pss_every
        self.samples = 0
        self.stop_event = threading.Event()
        self.tree_peak = self.main_peak = 0
        self.worker_peaks: dict[int, int] = {}
        self._is_worker: dict[int, bool] = {}

    @staticmethod
    def _rss(proc: psutil.Process) -> int:
        try:
            return proc.memory_info().rss
        except psutil.Error:
            return 0

    def _subtree(self, child: psutil.Process) -> list[psutil.Process]:
        try:
            return [child, *child.children(recursive=True)]
        except psutil.Error:
            return [child]

    @staticmethod
    def _pss(proc: psutil.Process) -> int:
        try:
            return proc.memory_full_info().pss
        except (psutil.Error, AttributeError):
            return 0

    def _worker(self, child: psutil.Process, tree: list[psutil.Process]) -> bool:
        if not self.marks:
            return False
        if self._is_worker.get(child.pid):
            return True
        for proc in tree:
            try:
                if any(mark in part for part in proc.cmdline() for mark in self.marks):
                    self._is_worker[child.pid] = True
                    return True
            except psutil.Error:
                pass
        return False  # not yet: unshare may not have started the worker on this sample

    def _worker_pss(self, child: psutil.Process, tree: list[psutil.Process]) -> dict[int, int]:
        """Each worker's PSS in ``child``'s tree, by the pid it is known by."""
        try:
            is_zygote = any(ZYGOTE_MARK in part for part in child.cmdline())
            forked = child.children() if is_zygote else []
        except psutil.Error:
            return {}
        if not is_zygote:
            return {child.pid: sum(self._pss(p) for p in tree)}
        share = self._pss(child) // self.slots
        return {w.pid: share + sum(self._pss(p) for p in self._subtree(w)) for w in forked}

    def sample(self) -> None:
        with_pss = self.samples % self.pss_every == 0  # the first, then every pss_every-th
        self.samples += 1
        main = self._rss(self.root)
        total = main
        try:
            children = self.root.children()
        except psutil.Error:
            children = []
        for child in children:
            tree = self._subtree(child)
            rss = sum(self._rss(p) for p in tree)
            total += rss
            if with_pss and self._worker(child, tree):
                for pid, pss in self._worker_pss(child, tree).items():
                    self.worker_peaks[pid] = max(self.worker_peaks.get(pid, 0), pss)
        self.main_peak = max(self.main_peak, main)
        self.tree_peak = max(self.tree_peak, total)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)


def _busy_cpu() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _children_cpu() -> float:
    """CPU seconds of every descendant this process (transitively) waited for: the commands
    run, not this process's own sampling, which the run's others' load shows instead."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def timed(cmd: list[str], measure: Measure, cwd: Path, env: dict[str, str] | None = None,
          worker_marks: tuple[str, ...] = (), slots: int = 1) -> str:
    """Run cmd, filling measure's wall time and memory; return its output (fail if it fails)."""
    # The machine may be shared: what the whole system used minus what this run used is the
    # others' load, reported with every figure (the load average would include our own runs).
    busy0, cpu0 = _busy_cpu(), _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(proc.pid, worker_marks, slots=slots)
    sampler.start()
    output, _ = proc.communicate()
    measure.wall = time.perf_counter() - start
    sampler.stop_event.set()
    sampler.join()
    measure.cpu = _children_cpu() - cpu0
    others = (_busy_cpu() - busy0) - measure.cpu
    measure.other_cores = max(0.0, others / measure.wall)
    measure.tree_peak, measure.main_peak = sampler.tree_peak, sampler.main_peak
    measure.worker_peak = max(sampler.worker_peaks.values(), default=0)
    measure.workers_seen = len(sampler.worker_peaks)
    if proc.returncode != 0:
        raise BenchError(f"{measure.label}: `{' '.join(cmd)}` exited {proc.returncode}:\n"
                         f"{output[-3000:]}")
    return output


def tool_env() -> dict[str, str]:
    # nbgrader runs `alembic` by name: the venv must be on PATH even when not activated.
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def students(n: int) -> list[str]:
    return [f"student{i:02d}" for i in range(1, n + 1)]


def solution(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def bench_nbgrader(work: Path, n: int, assignment: str = ASSIGNMENT) -> Measure:
    """(a) A plain nbgrader course: generate_assignment, then autograde N submissions."""
    root = work / f"nbgrader-course-{assignment}"
    root.mkdir()
    # this assignment alone, however many the repository holds
    shutil.copytree(ROOT / "solutions" / assignment, root / "solutions" / assignment,
                    ignore=shutil.ignore_patterns("*.keras", "*.json", ".ipynb_checkpoints"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    env = tool_env()
    env["AUTOGRADER_PLAIN_NBGRADER"] = "1"  # nbgrader's own execution, not the course's
    nbgrader = str(VENV_BIN / "nbgrader")
    subprocess.run([nbgrader, "generate_assignment", assignment, "--force", "--log-level=WARN"],
                   cwd=root, env=env, check=True, capture_output=True)
    for student in students(n):
        dest = root / "submitted" / student / assignment
        dest.mkdir(parents=True)
        shutil.copy(solution(assignment), dest)
    m = Measure(f"nbgrader autograde (sequential){label_of(assignment)}", n)
    timed([nbgrader, "autograde", assignment, "--log-level=WARN",
           f"--Execute.timeout={CELL_TIMEOUT}"], m, root, env)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        scores = {s: (gb.find_submission(assignment, s).score,
                      gb.find_submission(assignment, s).max_score) for s in students(n)}
    bad = {s: sc for s, sc in scores.items() if sc != (100, 100)}
    if bad:
        raise BenchError(f"nbgrader did not give 100/100 to every copy: {bad}")
    return m


def label_of(assignment: str) -> str:
    """What a run's label adds for an assignment other than the one measured in full."""
    return "" if assignment == ASSIGNMENT else f", {assignment}"


def ours_course(work: Path, name: str = "our-course", assignment: str = ASSIGNMENT) -> Path:
    course = work / name
    # a course of this assignment alone, however many the repository holds
    (course / "solutions").mkdir(parents=True)
    (course / "solutions" / assignment).symlink_to(ROOT / "solutions" / assignment,
                                                   target_is_directory=True)
    return course


def bench_ours(work: Path, course: Path, names: list[str], workers: int, label: str,
               *extra: str, assignment: str = ASSIGNMENT, in_cgroup: bool = False
               ) -> tuple[Measure, dict]:
    """(b) python -m autograder grade on a class folder of copies of the solution; the
    measure and the grades by student. ``in_cgroup``: the whole run in a cgroup without
    limits too, for its peak as the kernel counts it (what a Slurm task's --mem or a
    container's limit is checked against), where this machine can make one."""
    subs = work / f"subs-{label.replace(' ', '_').replace(',', '')}"
    for student in names:
        (subs / student).mkdir(parents=True)
        shutil.copy(solution(assignment), subs / student)
    out = work / f"grades-{label.replace(' ', '_').replace(',', '')}.json"
    m = Measure(label, len(names))
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs),
           "--course-dir", str(course), "--assignment", assignment, "--json", str(out),
           "--quiet", "--workers", str(workers), "--cell-timeout", str(CELL_TIMEOUT), *extra]
    group = whole_run_cgroup(label) if in_cgroup else None
    try:
        with group.sampled() if group else contextlib.nullcontext():
            output = timed(group.wrap(cmd) if group else cmd, m, ROOT, tool_env(),
                           worker_marks=WORKER_MARKS,
                           slots=min(workers, len(names)))  # the slots that work
        if group:
            m.cgroup_peak, m.cgroup_anonymous_peak = group.peak(), group.anonymous_peak
    finally:
        if group:
            group.remove()
    if "without isolation" in output or "isolation is off" in output:
        m.notes.append("ran without isolation")
    if "no zygote" in output:
        m.notes.append("fell back to fresh processes: " + output.split("no zygote", 1)[1][:200])
    grades = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    bad = {s: (g["score"], g["max_score"], g["error"]) for s, g in grades.items()
           if (g["score"], g["max_score"], g["error"]) != (100, 100, None)}
    if set(grades) != set(names) or bad:
        raise BenchError(f"our grader did not give 100/100 to every copy: {bad or grades}")
    return m, grades


def whole_run_cgroup(label: str):
    """A cgroup without limits to measure a run in (tests/platform_local.py), or None."""
    sys.path.insert(0, str(ROOT / "tests"))
    from platform_local import cgroup_or_none

    return cgroup_or_none(f"bench-grade-{os.getpid()}-{label.replace(' ', '_')[:40]}",
                          None, None)


def bench_nbconvert(work: Path, copies: int = 1) -> Measure:
    """(c) The floor: execute copies of the notebook at once, with nothing around them."""
    commands = []
    for i in range(copies):
        folder = work / f"nbconvert-{copies}-{i}"
        folder.mkdir()
        shutil.copy(solution(ASSIGNMENT), folder)
        commands.append(shlex.join([
            "cd", str(folder)]) + " && " + shlex.join([
            str(VENV_BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
            f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", "--output", "executed.ipynb",
            solution(ASSIGNMENT).name]))
    label = ("jupyter nbconvert --execute (1 copy)" if copies == 1 else
             f"jupyter nbconvert --execute ({copies} at once)")
    m = Measure(label, copies)
    # `wait` returns the last job's status only: check every job's output file instead.
    script = " & ".join(f"( {c} )" for c in commands) + " & wait"
    timed(["sh", "-c", script], m, work, tool_env())
    missing = [i for i in range(copies)
               if not (work / f"nbconvert-{copies}-{i}" / "executed.ipynb").is_file()]
    if missing:
        raise BenchError(f"{label}: copies {missing} did not execute")
    return m


def progress(m: Measure) -> None:
    print(f"  {m.label}: {m.wall:.1f} s (others used {m.other_cores:.2f} cores meanwhile)",
          flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def training_floor(work: Path, threads: int, runs: int
                   ) -> tuple[tuple[float, float], list[float]]:
    """(median wall s, median CPU s) of the training cell alone over ``runs`` fresh
    processes, and every sample's CPU s: the ratio's denominator must not be one sample."""
    samples = []
    for i in range(runs):
        (work / f"floor-run-{i}").mkdir()
        samples.append(floor(work / f"floor-run-{i}", threads).rows["training cell"])
    return ((statistics.median(s[0] for s in samples),
             statistics.median(s[1] for s in samples)), [s[1] for s in samples])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=6, help="copies of the solution (default 6)")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="our grader's --workers (default: the grader's, %(default)s here)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON")
    p.add_argument("--floor-runs", type=int, default=5,
                   help="samples of the training cell alone, whose median is the CPU ratio's "
                        "denominator (default 5; one sample moved 6.6 -> 4.4 CPU s between "
                        "two runs of one machine)")
    p.add_argument("--only-main", action="store_true",
                   help=f"measure {ASSIGNMENT} alone, without the other assignments' lines")
    args = p.parse_args(argv)
    if args.n < 1 or args.workers < 1:
        p.error("--n and --workers must be at least 1")

    print(f"bench: N={args.n}, workers={args.workers}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}",
          flush=True)
    threads = max(1, (os.cpu_count() or 1) // args.workers)  # as the grader shares cores
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        work = Path(tmp)
        course = ours_course(work)
        training, spread = training_floor(work, threads, max(1, args.floor_runs))
        print(f"  training cell alone, {threads} thread(s), median of {len(spread)}: "
              f"{training[0]:.1f} s, {training[1]:.1f} CPU s (CPU s from {min(spread):.1f} to "
              f"{max(spread):.1f})", flush=True)
        single_floor = bench_nbconvert(work)
        progress(single_floor)
        batch, zygote_grades = bench_ours(work, course, students(args.n), args.workers,
                                          f"ours, --workers {args.workers}", in_cgroup=True)
        progress(batch)
        # Its own course, so that its first run also creates the gradebook, as the batch's did.
        fresh, fresh_grades = bench_ours(work, ours_course(work, "fresh-course"),
                                         students(args.n), args.workers,
                                         f"ours, --workers {args.workers}, --no-zygote",
                                         "--no-zygote")
        progress(fresh)
        differ = {s: (zygote_grades[s]["tests"], fresh_grades[s]["tests"])
                  for s in zygote_grades if zygote_grades[s]["tests"] != fresh_grades[s]["tests"]}
        if differ:
            raise BenchError(f"the zygote's grades differ from fresh processes': {differ}")
        # One more student in the same course: the gradebook already holds the assignment,
        # as it does when one late submission is graded, so this is the per-submission cost.
        single, _ = bench_ours(work, course, ["single"], args.workers,
                               f"ours, 1 submission, --workers {args.workers}")
        progress(single)
        # The hardware's own limit: W bare executions at once. If they slow each other down
        # (shared caches, memory bandwidth, vCPUs that are not whole cores), no grader can
        # reach W times nbgrader's throughput.
        both = bench_nbconvert(work, args.workers) if args.workers > 1 else single_floor
        if both is not single_floor:
            progress(both)
        plain = bench_nbgrader(work, args.n)
        progress(plain)
        # The other assignments: ours against plain nbgrader on N copies of each solution.
        others = {}
        for other in ([] if args.only_main else [a for a in ids(ROOT) if a != ASSIGNMENT]):
            ours_other, _ = bench_ours(work, ours_course(work, f"course-{other}", other),
                                       students(args.n), args.workers,
                                       f"ours, --workers {args.workers}{label_of(other)}",
                                       assignment=other)
            progress(ours_other)
            plain_other = bench_nbgrader(work, args.n, other)
            progress(plain_other)
            others[other] = (plain_other, ours_other)

    throughput = plain.wall / batch.wall
    overhead = single.wall / single_floor.wall
    cpu_ratio = batch.cpu / args.n / training[1]
    # Rounds of W bare executions at once: about the best W workers can do on this hardware
    # (ours can beat it slightly: its kernels start staggered, not all at the same moment).
    rounds = -(-args.n // args.workers)
    best = rounds * both.wall
    worker_gib = batch.worker_peak / GiB
    print()
    print(f"{'run':58} {'N':>3} {'wall s':>8} {'s/subm.':>8} {'CPU s/subm.':>12} "
          f"{'tree peak GiB':>14} {'other load':>11}")
    runs = [plain, batch, fresh, single, single_floor,
            *([both] if both is not single_floor else []),
            *(m for pair in others.values() for m in pair)]
    for m in runs:
        print(f"{m.label:58} {m.submissions:>3} {m.wall:8.1f} {m.per_submission:8.1f} "
              f"{m.cpu / m.submissions:12.1f} {m.tree_peak / GiB:14.2f} "
              f"{m.other_cores:6.2f} cores")
    print()
    print(f"throughput ours/nbgrader ({args.n} subm.):  {throughput:5.2f}x   "
          f"target >= {TARGET_THROUGHPUT}x   {verdict(throughput >= TARGET_THROUGHPUT)}")
    print(f"one submission, ours/bare execution:    {overhead:5.2f}x   "
          f"target <= {TARGET_OVERHEAD}x   {verdict(overhead <= TARGET_OVERHEAD)}")
    print(f"CPU per submission / training cell:     {cpu_ratio:5.2f}x   "
          f"target <= {TARGET_CPU_RATIO}x   {verdict(cpu_ratio <= TARGET_CPU_RATIO)}   "
          f"({batch.cpu / args.n:.1f} / {training[1]:.1f} CPU s; our distance to the floor)")
    for other, (plain_other, ours_other) in others.items():
        ratio = plain_other.wall / ours_other.wall
        print(f"throughput ours/nbgrader, {other} ({args.n} subm.): {ratio:5.2f}x   "
              f"target >= {TARGET_THROUGHPUT}x   {verdict(ratio >= TARGET_THROUGHPUT)}")
    print(f"peak PSS per worker (largest of {batch.workers_seen}):   {worker_gib:5.2f} GiB "
          f"target <= {TARGET_WORKER_MEMORY} GiB {verdict(worker_gib <= TARGET_WORKER_MEMORY)}")
    print(f"zygote vs fresh processes: {fresh.wall / batch.wall:.2f}x the throughput, "
          f"{fresh.cpu / batch.cpu:.2f}x less CPU; peak PSS per worker "
          f"{fresh.worker_peak / GiB:.2f} GiB fresh")
    print(f"parallel floor: {args.workers} bare executions at once took {both.wall:.1f} s; "
          f"{rounds} such rounds ({best:.0f} s) would give nbgrader/floor = "
          f"{plain.wall / best:.2f}x; ours took {batch.wall / best:.2f}x the floor")
    print(f"(our grader's own process peaked at {batch.main_peak / GiB:.2f} GiB; "
          f"nbgrader's tree at {plain.tree_peak / GiB:.2f} GiB)")
    if batch.cgroup_peak:
        print(f"the whole run of {batch.label} as the kernel counts it (its cgroup): peak "
              f"{batch.cgroup_peak / GiB:.2f} GiB with page cache, "
              f"{batch.cgroup_anonymous_peak / GiB:.2f} GiB it could not reclaim")
    for m in runs:
        for note in m.notes:
            print(f"note: {m.label}: {note}")
    print("every copy scored 100/100 in both graders; the zygote's grades equal the fresh "
          "processes', test for test")
    print(f"load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    if args.json:
        figures = {
            "n": args.n, "workers": args.workers, "cores": os.cpu_count(),
            "runs": [asdict(m) | {"per_submission": m.per_submission}
                     for m in runs],
            "throughput_ratio": throughput, "single_overhead": overhead,
            "cpu_ratio": cpu_ratio, "training_cell": {"wall": training[0], "cpu": training[1],
                                                      "cpu_samples": spread},
            "parallel_floor_seconds": best, "best_possible_ratio": plain.wall / best,
            "worker_peak_gib": worker_gib,
            "other_assignments": {
                other: {"throughput_ratio": plain_other.wall / ours_other.wall,
                        "nbgrader_wall": plain_other.wall, "ours_wall": ours_other.wall}
                for other, (plain_other, ours_other) in others.items()},
            "pass": {"throughput": throughput >= TARGET_THROUGHPUT,
                     "overhead": overhead <= TARGET_OVERHEAD,
                     "cpu_ratio": cpu_ratio <= TARGET_CPU_RATIO,
                     "worker_memory": worker_gib <= TARGET_WORKER_MEMORY},
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(1)
