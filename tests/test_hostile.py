"""Hostile and broken submissions on the tiny stand-in assignment: the batch always finishes.

In each hostile submission `add` returns the right answer only if the attack was contained,
so a full score means "blocked" and is checked next to the honest students' grades, which
must be exactly what they get when graded alone.
"""

import socket
import subprocess
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook

from autograder.grader.sandbox.isolation import isolation_problem
from autograder.grader.sandbox.uids import SANDBOX_UID_BASE, SANDBOX_UIDS

from helpers import (
    ROOT,
    TINY_ID,
    TINY_NAME,
    by_student,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

pytestmark = [
    pytest.mark.slow,  # grades a class with `python -m autograder grade` (kernels)
    pytest.mark.skipif(isolation_problem() is not None,
                       reason=f"no sandbox here: {isolation_problem()}"),
]

LIMITS = ("--cell-timeout", "8", "--notebook-timeout", "90", "--memory-gib", "1",
          "--workers", "2", "--isolation", "required")
HONEST = {"good": tiny_submission(),
          "half": tiny_submission("    return a - b if isinstance(a, int) else a + b")}


def blocked_unless(attack: str) -> str:
    """add() answers right only when `attack` raises (the sandbox stopped it)."""
    indented = "\n".join("        " + line for line in attack.splitlines())
    return f"    try:\n{indented}\n    except Exception:\n        return a + b\n    return None"


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback, which a sandboxed kernel must not reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory, listener):
    base = tmp_path_factory.mktemp("hostile")
    course = tiny_course_at(base / "course")
    subprocess.run(["git", "init", "-q", str(course)], check=True)  # as an instructor repo is
    subs = base / "subs"
    for name, text in HONEST.items():
        place(subs, name, text)
    gradebook = course / "gradebook.db"
    victim = subs / "good" / TINY_NAME
    attacks = {
        "read_gradebook": f"open({str(gradebook)!r}, 'rb').read(1)",
        "list_solutions": f"assert 'tiny_add' in __import__('os').listdir("
                          f"{str(course / 'solutions')!r})",
        "read_other_student": f"open({str(victim)!r}).read(1)",
        "overwrite_other_student": f"open({str(victim)!r}, 'w').write('pwned')",
        "write_course_folder": f"open({str(course / 'pwned.txt')!r}, 'w').write('x')",
        "write_tmp": "open('/tmp/pwned.txt', 'w').write('x')",
        # The notebook as the worker got it: the hidden tests restored (tests/test_runner.py
        # shows that reading it works when the runner does not delete it).
        "read_restored_notebook": "open('submission.ipynb').read(1)",
        # The history holds every commit's solutions and hidden tests.
        "read_course_git": f"open({str(course / '.git' / 'HEAD')!r}).read(1)",
        "read_repository_git": f"open({str(ROOT / '.git' / 'HEAD')!r}).read(1)",
        "network": f"__import__('socket').create_connection(('127.0.0.1', {listener}), 2)",
    }
    for name, attack in attacks.items():
        place(subs, name, tiny_submission(blocked_unless(attack)))
    place(subs, "endless_loop", tiny_submission("    while True:\n        pass"))
    place(subs, "sleeps_forever", tiny_submission("    import time\n    time.sleep(10**6)"))
    place(subs, "memory_bomb", tiny_submission("    x = b'x' * (6 * 2**30)\n    return a + b"))
    # 1.5 GiB in memfds filled by write(): no process maps it (tests/test_memory.py).
    place(subs, "memfd_hoard", tiny_submission(
        "    import os\n    for fd in [os.memfd_create('h') for _ in range(12)]:\n"
        "        for _ in range(128):\n            os.write(fd, b'x' * 2**20)\n"
        "    return a + b"))
    place(subs, "fork_bomb", tiny_submission("    import os\n    while True:\n        os.fork()"))
    place(subs, "output_flood", tiny_submission("    print('x' * 8_000_000)\n    return a + b"))
    place(subs, "daemon", tiny_submission(
        "    import subprocess\n    subprocess.Popen(['sleep', '1234'], start_new_session=True)"
        "\n    return a + b"))
    place(subs, "kernel_exit", tiny_submission("    import os\n    os._exit(1)"))
    grades, _ = run_grade(course, subs, *LIMITS)
    return course, subs, by_student(grades)


def test_escapes_are_blocked(hostile_batch):
    _, _, result = hostile_batch
    for name in ("read_gradebook", "list_solutions", "read_other_student",
                 "overwrite_other_student", "write_course_folder", "write_tmp", "network",
                 "read_restored_notebook", "read_course_git", "read_repository_git"):
        assert result[name]["score"] == 5, (name, result[name])


def test_nothing_outside_the_sandbox_changed(hostile_batch):
    course, subs, _ = hostile_batch
    assert (subs / "good" / TINY_NAME).read_text() == HONEST["good"]
    assert not (course / "pwned.txt").exists()


def test_runaway_code_loses_points_with_a_reason(hostile_batch):
    _, _, result = hostile_batch
    for name in ("endless_loop", "sleeps_forever"):
        assert result[name]["score"] == 0
        assert "CellTimeoutError" in result[name]["tests"]["test_add"]["feedback"]
    assert result["memory_bomb"]["score"] == 0
    assert "GiB of memory" in (result["memory_bomb"]["error"] or "")
    assert result["fork_bomb"]["score"] == 0
    assert result["kernel_exit"]["score"] == 0
    assert "kernel died" in result["kernel_exit"]["tests"]["test_add"]["feedback"]


def test_memory_that_no_process_maps_is_counted(hostile_batch):
    # By its cgroup where the grader can make one, else by the memfds it holds open
    # (tests/test_memory.py shows both, and the summed RSS that did not see it).
    _, _, result = hostile_batch
    assert result["memfd_hoard"]["score"] == 0
    assert "GiB of memory" in (result["memfd_hoard"]["error"] or "")


def test_floods_and_daemons_are_contained(hostile_batch):
    course, _, result = hostile_batch
    assert result["output_flood"]["score"] == 5
    flooded = course / "autograded" / "output_flood" / TINY_ID
    assert (flooded / TINY_NAME).stat().st_size < 4 * 2**20
    assert result["daemon"]["score"] == 5
    uids = range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UIDS)
    daemons = [p.info for p in psutil.process_iter(["pid", "uids", "cmdline"])
               if p.info["uids"] and p.info["uids"].real in uids
               and p.info["cmdline"] == ["sleep", "1234"]]
    assert daemons == [], "a process started by student code outlived grading"


def test_honest_students_are_graded_exactly_as_alone(hostile_batch, tmp_path, tiny_course):
    _, _, result = hostile_batch
    subs = tmp_path / "honest"
    for name, text in HONEST.items():
        place(subs, name, text)
    alone, _ = run_grade(tiny_course, subs, *LIMITS)
    for name, sub in by_student(alone).items():
        assert result[name] == sub


def test_gradebook_is_intact_with_every_student_once(hostile_batch):
    course, subs, result = hostile_batch
    check = subprocess.run(["sqlite3", str(course / "gradebook.db"), "PRAGMA integrity_check"],
                           capture_output=True, text=True)
    if check.returncode == 0:
        assert check.stdout.strip() == "ok"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "digit-recognition") as gb:
        students = [s.student.id for s in gb.find_assignment(TINY_ID).submissions]
    assert sorted(students) == sorted(result) == sorted(p.name for p in Path(subs).iterdir())
