"""`python -m autograder slurm` on a real Slurm (tests/slurm_cluster.py: Debian's slurm-wlm
and munge, one node, started here): a class of the tiny assignment as a job array of 3 shards
and a merge after it; then a task cancelled before it runs, the merge naming its students and
the command for their shard, that shard submitted again, and the class complete, each student
graded once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from slurm_cluster import NoSlurm, cluster, wait_until_idle

from autograder.grader.course import Course

from helpers import ROOT, TINY_ID, place, tiny_course_at, tiny_submission, unavailable

pytestmark = pytest.mark.slow
STUDENTS = [f"s{i}" for i in range(6)]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    try:
        with cluster(tmp_path_factory.mktemp("slurm")) as env:
            yield env
    except NoSlurm as exc:
        unavailable(str(exc))


def a_class(tmp_path: Path) -> tuple[Path, Path]:
    root = tiny_course_at(tmp_path / "course")
    for name in STUDENTS:
        place(tmp_path / "class", name, tiny_submission())
    return root, tmp_path / "class"


def slurm_verb(env: dict, root: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "autograder", "slurm", *args,
                           "--course-dir", str(root)], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def graded(root: Path) -> dict[str, float]:
    course = Course(root, None, TINY_ID)
    with Gradebook(course.db, course.id) as gb:
        return {s.student.id: s.score for s in gb.find_assignment(TINY_ID).submissions}


def test_a_class_as_a_job_array_and_a_merge(slurm, tmp_path):
    root, class_dir = a_class(tmp_path)
    said = slurm_verb(slurm, root, str(class_dir), "--shards", "3", "--cpus", "1")
    assert re.search(r"submitted the grading array \d+ \(1-3 of 3\) and the merge \d+", said)
    wait_until_idle(slurm)
    out = tmp_path / "class-shards"
    shards = [json.loads((out / f"shard-{i}.json").read_text()) for i in (1, 2, 3)]
    each = [s["student"] for doc in shards for s in doc["submissions"]]
    assert sorted(each) == STUDENTS  # every student in exactly one shard
    assert graded(root) == dict.fromkeys(STUDENTS, 5.0)
    merged = json.loads((out / "grades.json").read_text())
    assert sorted(s["student"] for s in merged["submissions"]) == STUDENTS
    for name in STUDENTS:
        assert (root / "feedback" / name / TINY_ID / f"{TINY_ID}.html").is_file()


def test_a_cancelled_task_is_named_by_the_merge_and_rerun_alone(slurm, tmp_path):
    root, class_dir = a_class(tmp_path)
    cpus = str(os.cpu_count() or 1)  # one task at a time: the later ones wait, cancellable
    said = slurm_verb(slurm, root, str(class_dir), "--shards", "3", "--cpus", cpus)
    array = re.search(r"grading array (\d+)", said)[1]
    subprocess.run(["scancel", f"{array}_2"], env={**os.environ, **slurm}, check=True)
    wait_until_idle(slurm)
    out = tmp_path / "class-shards"
    log = next(out.glob("slurm-merge-*.out")).read_text()
    assert "shard 2/3 is missing" in log, log
    assert not (out / "shard-2.json").exists() and len(graded(root)) < len(STUDENTS)
    # as the merge says: only that shard again (here through Slurm), then the merge again
    slurm_verb(slurm, root, str(class_dir), "--shards", "3", "--cpus", cpus, "--tasks", "2")
    wait_until_idle(slurm)
    assert graded(root) == dict.fromkeys(STUDENTS, 5.0)
    logs = sorted(out.glob("slurm-merge-*.out"), key=lambda p: p.stat().st_mtime)
    assert "every student of" in logs[-1].read_text(), logs[-1].read_text()
