"""The rules every GitHub Actions workflow here keeps (the instructor repository's and the
student template's): actions pinned by full commit SHA with the version in a comment, one
version of each action everywhere, a `permissions:` block on the workflow and every job,
checkouts that keep no token, and no `${{ }}` expression inside a `run:` script (values
reach scripts through `env:`, so nothing a student or an input controls becomes shell)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from autograder.grader.steps.submissions import Submission, select_shard, shard_of

from helpers import ROOT

WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"),
                    *(ROOT / "template" / ".github" / "workflows").glob("*.yml")])
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+?)(?:\s+#\s*(?P<comment>.*))?\s*$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION = re.compile(r"^v\d+\.\d+\.\d+$")


def _jobs(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["jobs"]


def _steps(path: Path):
    for job in _jobs(path).values():
        yield from job.get("steps", [])


def test_there_are_workflows_to_check():
    names = {p.relative_to(ROOT).as_posix() for p in WORKFLOWS}
    assert {".github/workflows/grade-class.yml",
            "template/.github/workflows/classroom.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version(path):
    for line in path.read_text().splitlines():
        match = USES.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        pinned = PINNED.match(match["ref"])
        assert pinned, f"{path.name}: {line.strip()} is not pinned by a full commit SHA"
        assert match["comment"] and VERSION.match(match["comment"].strip()), \
            f"{path.name}: {line.strip()} needs its version in a comment (# vX.Y.Z)"


def test_one_version_of_each_action_everywhere():
    seen: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = USES.match(line)
            if match and (pinned := PINNED.match(match["ref"])):
                # actions/cache/restore and actions/cache/save are one repository
                repo = "/".join(pinned["action"].split("/")[:2])
                seen.setdefault(repo, set()).add(f"{pinned['sha']} {match['comment'].strip()}")
    assert seen
    assert {repo: refs for repo, refs in seen.items() if len(refs) > 1} == {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_declared_on_the_workflow_and_every_job(path):
    workflow = yaml.safe_load(path.read_text())
    assert "permissions" in workflow, f"{path.name}: no top-level permissions"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions block"
        granted = job["permissions"] or {}
        assert granted != "write-all" and "write" not in json.dumps(granted), (name, granted)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_credentials(path):
    for step in _steps(path):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, step


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_inside_a_script(path):
    for step in _steps(path):
        assert "${{" not in str(step.get("run", "")), (path.name, step.get("name"))


def test_dependabot_watches_actions_and_pip_in_both_repositories():
    for config in (ROOT / ".github" / "dependabot.yml",
                   ROOT / "template" / ".github" / "dependabot.yml"):
        updates = yaml.safe_load(config.read_text())["updates"]
        assert {u["package-ecosystem"] for u in updates} >= {"github-actions", "pip"}, config


# --- grade-class.yml: the shard matrix -----------------------------------------------------

def _plan_script() -> tuple[str, dict]:
    plan = _jobs(ROOT / ".github" / "workflows" / "grade-class.yml")["plan"]
    step = next(s for s in plan["steps"] if "run" in s)
    return step["run"], step.get("env", {})


def _plan(shards: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script, _ = _plan_script()
    out = tmp_path / f"output-{shards}"
    out.write_text("")
    return subprocess.run(["bash", "-e", "-c", script],
                          env={**os.environ, "SHARDS": shards, "GITHUB_OUTPUT": str(out)},
                          capture_output=True, text=True)


@pytest.mark.parametrize("count", [1, 3, 5, 8])
def test_the_matrix_grades_every_student_exactly_once(count, tmp_path):
    proc = _plan(str(count), tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / f"output-{count}").read_text().splitlines()
    outputs = dict(line.split("=", 1) for line in lines)
    assert outputs["count"] == str(count)
    matrix = json.loads(outputs["shards"])
    assert matrix == list(range(1, count + 1))
    students = [Submission(f"student{i:03d}", None) for i in range(200)]
    graded = [s.student for shard in matrix for s in select_shard(students, shard, count)]
    assert sorted(graded) == sorted(s.student for s in students)
    assert {shard_of(s.student, count) for s in students} <= set(matrix)


@pytest.mark.parametrize("bad", ["0", "-2", "abc", "3; rm -rf /", "1000"])
def test_the_matrix_refuses_a_bad_shard_count(bad, tmp_path):
    assert _plan(bad, tmp_path).returncode != 0


def test_the_plan_reads_the_input_through_env():
    script, env = _plan_script()
    assert "${{" not in script and env.get("SHARDS") == "${{ inputs.shards }}"
