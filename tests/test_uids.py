"""Sandbox uids are leased per grader, so two graders on one machine never share one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from autograder.grader.sandbox.isolation import kill_uid
from autograder.grader.sandbox.uids import SANDBOX_UID_BASE, SANDBOX_UIDS, NoFreeUid, UidLease

HOLD = ("import sys, time\n"
        "from pathlib import Path\n"
        "from autograder.grader.sandbox.uids import UidLease\n"
        "lease = UidLease(Path(sys.argv[1]))\n"
        "print(lease.take(), lease.take(), flush=True)\n"
        "time.sleep(600)\n")


@pytest.fixture
def other_grader(tmp_path):
    """Another process holding two uids, as a second grader with two workers does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    held = [int(uid) for uid in proc.stdout.readline().split()]
    yield proc, held
    proc.kill()
    proc.wait()


def test_a_second_grader_gets_other_uids_and_them_back_when_the_first_dies(tmp_path,
                                                                             other_grader):
    proc, held = other_grader
    assert held == [SANDBOX_UID_BASE, SANDBOX_UID_BASE + 1]
    lease = UidLease(tmp_path)
    assert [lease.take(), lease.take()] == [SANDBOX_UID_BASE + 2, SANDBOX_UID_BASE + 3]
    proc.send_signal(signal.SIGKILL)  # no clean-up: the kernel drops the locks
    proc.wait()
    assert lease.take() == SANDBOX_UID_BASE
    lease.release()
    assert UidLease(tmp_path).take() == SANDBOX_UID_BASE


def test_when_every_uid_is_held_the_error_says_so(tmp_path, monkeypatch):
    import autograder.grader.sandbox.uids as uids

    monkeypatch.setattr(uids, "SANDBOX_UIDS", 2)
    first = UidLease(tmp_path)
    first.take(), first.take()
    with pytest.raises(NoFreeUid, match="all 2 sandbox uids from 61000 are held by other"):
        UidLease(tmp_path).take()


def _student_process(uid: int) -> subprocess.Popen:
    return subprocess.Popen(["sleep", "600"], user=uid, group=uid)


@pytest.mark.skipif(os.geteuid() != 0, reason="starting a process as another uid needs root")
def test_one_graders_clean_up_no_longer_ends_anothers_student():
    # The attack on the old scheme (uid = base + slot in every grader): grader B's clean-up
    # after its own student ends grader A's student too, mid-notebook. Shown on the range's
    # last uid, which no grader leases here: ending every process of a uid a grader holds
    # would end a real student of a grader running beside this test.
    shared = SANDBOX_UID_BASE + SANDBOX_UIDS - 1
    a_student = _student_process(shared)
    kill_uid(shared)  # B cleans up "its" slot 0
    assert a_student.wait(timeout=10) == -signal.SIGKILL
    # Leased in the machine's own lock folder, as every grader on it leases: B's slot 0 is
    # a uid of its own, and A's student lives on.
    a, b = UidLease(), UidLease()
    try:
        a_uid, b_uid = a.take(), b.take()
        assert a_uid != b_uid
        a_student, b_student = _student_process(a_uid), _student_process(b_uid)
        kill_uid(b_uid)
        assert b_student.wait(timeout=10) == -signal.SIGKILL
        time.sleep(0.2)
        assert a_student.poll() is None, "the other grader's student was ended"
        a_student.kill()
        a_student.wait()
    finally:
        a.release()
        b.release()
