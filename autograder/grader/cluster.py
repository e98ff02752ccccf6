"""``python -m autograder slurm``: a class graded as a Slurm job array, then merged.

Two jobs, chained as Slurm users expect (``cluster/*.sbatch``; docs/cluster.md):

- the grading array: task *i* of *N* runs ``grade CLASS --shard i/N`` into its own JSON and
  its own throw-away gradebook (``OUT/shard-i.json``, ``OUT/shard-i.db``), with one worker
  more than the task's cores (``SLURM_CPUS_PER_TASK``) and the zygote as usual;
- the merge, ``--dependency=afterany`` on the array: it runs however the tasks ended, writes
  the course's gradebook once (``merge --class CLASS --of N``), then the feedback pages. A
  task that hit its time limit, was preempted or cancelled leaves students missing: the merge
  names them and the command that grades their shard again, and fails.

``--tasks 2,3`` submits only those tasks (and a new merge): rerunning a shard grades only who
it has not graded yet (the shard's ledger skips the rest), so no one is graded twice.
The scripts read everything from the environment ``sbatch`` passes on (``--export=ALL``, its
default), so no value is pasted into a script.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.grader.course import REPO_ROOT, Course
from autograder.records import CommandError

SCRIPTS = REPO_ROOT / "cluster"
TASKS = re.compile(r"^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$")  # Slurm's --array list


@dataclass(frozen=True)
class Resources:
    """What each grading task asks for; None leaves Slurm's (or the partition's) default."""

    cpus: int = 2
    mem: str | None = None        # e.g. 8G
    time: str | None = None       # e.g. 1:00:00
    partition: str | None = None


def environment(course: Course, class_dir: Path, out: Path, shards: int) -> dict[str, str]:
    """What the scripts read: this Python (the venv's), the class, where the shards write."""
    return {"AUTOGRADER_PYTHON": sys.executable, "CLASS": str(class_dir.resolve()),
            "OUT": str(out.resolve()), "COURSE": str(course.root),
            "ASSIGNMENT": course.assignment_id, "SHARDS": str(shards)}


def _common(resources: Resources, out: Path) -> list[str]:
    found = ["--parsable"]
    if resources.partition:
        found += ["--partition", resources.partition]
    if resources.time:
        found += ["--time", resources.time]
    return found


def commands(shards: int, resources: Resources, out: Path, tasks: str | None = None
             ) -> tuple[list[str], list[str]]:
    """The two ``sbatch`` command lines; the merge's lacks the array's job id (appended as
    ``--dependency=afterany:ID`` once it is known)."""
    if tasks is not None and not TASKS.match(tasks):
        raise CommandError(f"--tasks {tasks!r} is not a list such as 2 or 1,3 or 2-4")
    grade = ["sbatch", *_common(resources, out), f"--array={tasks or f'1-{shards}'}",
             f"--cpus-per-task={resources.cpus}",
             *([f"--mem={resources.mem}"] if resources.mem else []),
             f"--output={out.resolve() / 'slurm-%A_%a.out'}", str(SCRIPTS / "grade.sbatch")]
    merge = ["sbatch", *_common(resources, out), "--cpus-per-task=1",
             f"--output={out.resolve() / 'slurm-merge-%j.out'}", str(SCRIPTS / "merge.sbatch")]
    return grade, merge


def _submit(command: list[str], env: dict[str, str]) -> str:
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=120,
                             env={**os.environ, **env})
    except FileNotFoundError:
        raise CommandError("sbatch is not on PATH: run this on a Slurm login node") from None
    if run.returncode != 0:
        raise CommandError(f"sbatch refused the job: {run.stderr.strip() or run.stdout}")
    return run.stdout.strip().split(";")[0]  # --parsable: "ID" or "ID;CLUSTER"


def submit(course: Course, class_dir: Path, out: Path, shards: int, resources: Resources,
           tasks: str | None = None) -> tuple[str, str]:
    """Submit the array, then the merge after it; (array job id, merge job id)."""
    if not class_dir.is_dir():
        raise CommandError(f"no class folder {class_dir}")
    out.mkdir(parents=True, exist_ok=True)
    env = environment(course, class_dir, out, shards)
    grade, merge = commands(shards, resources, out, tasks)
    array = _submit(grade, env)
    merged = _submit([*merge[:-1], f"--dependency=afterany:{array}", merge[-1]], env)
    return array, merged
