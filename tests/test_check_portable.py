"""The student's self-check where POSIX-only parts of Python are missing, as on Windows.

Windows has no ``resource`` module and no ``os.fork``/``os.forkpty``; the grader uses them
(rlimits, namespaces), the student kit must not. A ``sitecustomize.py`` on PYTHONPATH
takes them away from every Python process of the run: the CLI, the notebook runner and the
Jupyter kernel (each inherits the environment), and records each process it loaded into.

Only psutil's Linux backend then fails to import (psutil imports ``resource`` on Linux, not
on Windows); keras, joblib and ipykernel import psutil optionally and carry on without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DIGIT_TESTS, DIGIT_TOTAL, RELEASE, ROOT, SOLUTION

SITECUSTOMIZE = '''
"""Test harness: no `resource`, no `os.fork` (as on Windows). See tests/test_check_portable.py."""
import os
import sys

BLOCKED = "resource"


class NoResource:
    def find_spec(self, name, path=None, target=None):
        if name == BLOCKED:
            raise ModuleNotFoundError(f"No module named {BLOCKED!r}", name=BLOCKED)
        return None


sys.meta_path.insert(0, NoResource())
sys.modules.pop(BLOCKED, None)
for _name in ("fork", "forkpty"):
    if hasattr(os, _name):
        delattr(os, _name)

try:
    import resource  # noqa: F401
except ModuleNotFoundError:
    _blocked = True
else:
    _blocked = False
with open(os.environ["NO_POSIX_LOG"], "a", encoding="utf-8") as _log:
    _log.write(f"resource blocked={_blocked} fork={hasattr(os, 'fork')} "
               f"forkpty={hasattr(os, 'forkpty')} :: "
               + " ".join(sys.orig_argv).replace("\\n", " ") + "\\n")
'''


def no_posix_env(folder: Path) -> tuple[dict[str, str], Path]:
    """The environment of a run without `resource` and `os.fork`, and its process log."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = folder / "processes.log"
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "NO_POSIX_LOG": str(log)}, log


def processes(log: Path) -> list[str]:
    lines = log.read_text(encoding="utf-8").splitlines()
    for line in lines:  # in every process: no resource, no fork
        assert line.startswith("resource blocked=True fork=False forkpty=False :: "), line
    return lines


def check(notebook: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    env, log = no_posix_env(tmp_path / "no-posix")
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", str(notebook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return proc, processes(log)


def assert_every_process_was_covered(lines: list[str]) -> None:
    """The CLI, the runner and the kernel all ran with the blocker loaded."""
    assert any("-m autograder check" in line for line in lines), lines
    assert any("-m autograder.student.runner" in line for line in lines), lines
    assert any("ipykernel_launcher" in line for line in lines), lines


def test_the_blocker_has_teeth(tmp_path):
    env, log = no_posix_env(tmp_path)
    probe = ("import os\n"
             "try:\n    import resource\nexcept ImportError:\n    print('no resource')\n"
             "print('fork' if hasattr(os, 'fork') else 'no fork')\n")
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.split("\n")[:2] == ["no resource", "no fork"], proc.stderr
    assert len(processes(log)) == 1


def test_the_cli_and_the_student_kit_import_without_resource(tmp_path):
    """Every module `check` and the CI reporter load, and the grader's verbs the CLI offers."""
    env, log = no_posix_env(tmp_path)
    code = ("import autograder.cli, autograder.student.check, autograder.student.ci, "
            "autograder.student.runner, autograder.student.manifest\n"
            "print(sorted(autograder.cli.build_parser()._subparsers._group_actions[0].choices))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "'check'" in proc.stdout and "'grade'" in proc.stdout
    processes(log)


@pytest.mark.slow  # trains the model (about a minute)
def test_check_gives_the_solution_every_point(tmp_path):
    proc, lines = check(SOLUTION, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"public tests: {DIGIT_TOTAL}/{DIGIT_TOTAL} points." in proc.stdout
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("test_")]
    assert len(rows) == len(DIGIT_TESTS) and all(row[1] == "pass" for row in rows), proc.stdout
    assert_every_process_was_covered(lines)


@pytest.mark.slow  # imports TensorFlow in the kernel
def test_check_explains_every_failure_of_the_blank_release(tmp_path):
    proc, lines = check(RELEASE, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # tests failed, nothing broke
    assert f"public tests: 0/{DIGIT_TOTAL} points." in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith("test_")]
    assert len(rows) == len(DIGIT_TESTS)
    for row in rows:
        assert " FAIL " in row and " is not implemented yet: " in row, row
    assert_every_process_was_covered(lines)
