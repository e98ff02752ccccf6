"""The unprivileged uids that student code runs as: one per worker slot, leased per grader.

``kill_uid`` ends every process of a uid and students of one uid could signal each other, so
two graders on one machine (two courses, two shards, parallel tests) must never share a uid.
Each uid is held with an exclusive ``flock`` on a file in a lock folder every user can write;
the kernel releases it when the grader exits, even after a SIGKILL.
"""

from __future__ import annotations

import fcntl
import tempfile
from pathlib import Path
from typing import IO

SANDBOX_UID_BASE = 61000  # unprivileged uids with no account
SANDBOX_UIDS = 1000  # graders' slots on one machine, at most
LOCK_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())


class NoFreeUid(RuntimeError):
    """Every sandbox uid is held by another grader on this machine."""


class UidLease:
    """Sandbox uids held by this grader until ``release()``."""

    def __init__(self, lock_dir: Path = LOCK_DIR):
        self.lock_dir = lock_dir
        self._held: dict[int, IO] = {}

    def take(self) -> int:
        """The lowest sandbox uid that no grader holds, now held by this one."""
        for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UIDS):
            if uid in self._held:
                continue
            lock = open(self.lock_dir / f"autograder-sandbox-uid-{uid}.lock", "a")  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self._held[uid] = lock
            return uid
        raise NoFreeUid(f"all {SANDBOX_UIDS} sandbox uids from {SANDBOX_UID_BASE} are held by "
                        f"other graders on this machine (locks in {self.lock_dir})")

    def release(self) -> None:
        for lock in self._held.values():
            lock.close()
        self._held.clear()
