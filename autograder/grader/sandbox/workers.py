"""The worker slots a class is graded on: a uid each, and a line to the one zygote, or
fresh processes where no zygote can work (process management; what a slot runs is the
pipeline's execute steps).

A zygote that could not fork a worker, or ended while it ran, costs no submission: that one
runs again in a fresh process, in a new sandbox, and the zygote is retired (and restarted
for the next submission if it had served before).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from autograder.grader.sandbox import folder
from autograder.grader.sandbox.folder import Sandbox
from autograder.grader.sandbox.isolation import (
    isolation_prefix,
    jail_paths,
    kill_uid,
    uid_prefix,
)
from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.memory import Accounting
from autograder.grader.sandbox.uids import UidLease
from autograder.grader.sandbox.zygote import Line, Zygote, ZygoteError, unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    """Where one submission runs: its slot's line to the zygote (None: fresh processes),
    the uid it runs as (None: not isolated), the prefix that locks a fresh process in, the
    jail's paths for a forked one, the threads it may use, and how its memory is counted."""

    box: Sandbox
    line: Line | None
    uid: int | None
    prefix: list[str] | None
    jail: tuple[list[str], list[str]] | None
    threads: int
    limits: Limits
    end_leftovers: Callable[[], None]
    memory: Accounting


@dataclass(frozen=True)
class Setup:
    """How the slots run: how many, isolated (as their own uid; in namespaces too where
    allowed), with a zygote or not, and what the jail hides."""

    workers: int = 1
    isolate: bool = True
    namespaces: bool = True
    zygote: bool = True
    hidden: tuple[Path, ...] = ()
    threads: int = 1
    limits: Limits = field(default_factory=Limits)
    memory: str | None = None  # auto, cgroup or pss (memory.MODES); None: AUTOGRADER_MEMORY


class Workers:
    """Runs work on a fixed number of slots, each with its own uid and, unless
    ``setup.zygote`` is off or none can work here, its line to the one zygote."""

    def __init__(self, setup: Setup, base: Path, preload: Callable[[], Sequence[str]],
                 expected: int = 1, started: Zygote | None = None):
        """``preload``: what the zygote imports (the source notebook's imports).
        ``expected``: submissions that may run; if any, the zygote starts importing now,
        while the grader prepares the submissions, unless one ``started`` already (see
        ``zygote.start``): that one is used if it can be, and closed if not."""
        self.setup, self.base = setup, base
        self.memory = Accounting(setup.memory)
        self.count = max(1, setup.workers)
        self.free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(self.count):
            self.free.put(slot)
        self.lease = UidLease()
        self.uids = [self.lease.take() if setup.isolate else None for _ in range(self.count)]
        self.zygote: Zygote | None = None
        self.retired: list[Zygote] = []  # ended, but a slot's thread may still hold its line
        self.lock = threading.Lock()     # the slots' threads share the zygote
        self.fresh_because: str | None = "turned off" if not setup.zygote else unavailable()
        if setup.zygote and self.fresh_because:
            log.warning("grading with a fresh process per submission: %s", self.fresh_because)
        self.preload = list(preload()) if self.fresh_because is None else []
        if started is not None and (not expected or self.fresh_because is not None
                                    or len(started.lines) != self.count):
            started.close()  # nothing to run, or not for these slots
        elif started is not None:
            self.zygote = started
        elif expected:
            self._start_zygote()

    def _start_zygote(self) -> None:
        if self.fresh_because is not None:
            return
        try:
            self.zygote = Zygote(self.base / f"zygote-{time.monotonic_ns()}", self.preload,
                                 slots=self.count)
        except OSError as exc:
            self._fall_back(exc)

    def _fall_back(self, why: Exception, failed: Zygote | None = None) -> None:
        """No zygote from now on: every slot runs fresh processes. (Only a zygote that
        could not start or never became ready comes here, so no slot's worker is lost.)"""
        if self.fresh_because is None:
            self.fresh_because = str(why)
            log.warning("grading with a fresh process per submission: no zygote (%s)", why)
        self._retire(failed)

    def _retire(self, zygote: Zygote | None) -> None:
        """End ``zygote`` (if still current); its lines are closed with the workers, since
        another slot's thread may still be reading its own."""
        if zygote is not None and zygote is self.zygote:
            zygote.end()
            self.retired.append(zygote)
            self.zygote = None

    def _line(self, slot: int) -> Line | None:
        """The slot's line to the zygote, started or restarted as needed and ready; None:
        fresh processes."""
        with self.lock:
            old = self.zygote
            if old is not None and not old.alive and old.import_seconds is not None:
                self._retire(old)  # it served before, so it can be started again
            if self.zygote is None:
                self._start_zygote()
            if self.zygote is None:
                return None
            line = self.zygote.lines[slot]
        try:
            line.ready()
        except ZygoteError as exc:  # it cannot work here (imports, threads): none will
            with self.lock:
                self._fall_back(exc, line.zygote)
            return None
        return line

    def run(self, box: Callable[[], Sandbox], renew: Callable[[], None],
            work: Callable[[Place], T], student: str) -> T:
        """``work`` on a free slot, in the sandbox ``box()`` gives. Work the zygote could not
        fork, or lost because the zygote ended (retired after another slot's error, or
        killed), runs again in a fresh process, after ``renew()`` made a new sandbox."""
        slot = self.free.get()
        try:
            line = self._line(slot)
            if line is not None:
                try:
                    done = work(self._place(box(), slot, line))
                except ZygoteError as exc:
                    log.warning("%s: %s; running it again in a fresh process", student, exc)
                    with self.lock:
                        self._retire(line.zygote)
                    self._end_leftovers(slot)
                    renew()  # what the lost worker wrote must not be seen by the new run
                else:
                    if line.lost:  # its time or memory verdict stands; the zygote serves no more
                        with self.lock:
                            self._retire(line.zygote)
                    return done
            return work(self._place(box(), slot, None))
        finally:
            self._end_leftovers(slot)
            self.free.put(slot)

    def _place(self, box: Sandbox, slot: int, line: Line | None) -> Place:
        setup, uid = self.setup, self.uids[slot]
        prefix = jail = None
        if setup.isolate:
            folder.hand_over(box, uid)
            prefix = (isolation_prefix(box, uid, list(setup.hidden)) if setup.namespaces
                      else uid_prefix(uid))
            jail = jail_paths(box, list(setup.hidden)) if setup.namespaces else None
        return Place(box, line, uid, prefix, jail, setup.threads, setup.limits,
                     lambda: self._end_leftovers(slot), self.memory)

    def _end_leftovers(self, slot: int) -> None:
        if self.setup.isolate and not self.setup.namespaces:
            kill_uid(self.uids[slot])  # no PID namespace to end what the student left running

    def close(self) -> None:
        for zygote in [*self.retired, *([self.zygote] if self.zygote else [])]:
            zygote.close()
        self.memory.close()
        self.lease.release()
