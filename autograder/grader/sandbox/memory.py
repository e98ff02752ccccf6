"""The memory one submission's processes hold, counted as the kernel counts it.

Summing RSS over a process tree counts a shared page once per process that maps it (a
notebook's kernel shares most of its pages with the worker it was forked from), so the sum
overstates several times over (bench/README.md, "Memory as the kernel counts it"). And it
sees nothing of memory that no process maps: a memfd or a tmpfs file filled with
``write()`` holds pages that no RSS shows.

So each run gets a meter, the first of these that works here:

- ``CgroupMeter``: a memory cgroup of its own under the grader's (v2, or v1's memory
  hierarchy) whose limit is the submission's. The kernel charges each page once, to the
  cgroup of the process that first touched it (page cache and shared memory included),
  reclaims cache before it kills, and when the rest is over the limit kills a process of
  that cgroup, never the grader. The grader reads that kill from the cgroup's counters.
  The worker joins it itself, before anything of the notebook runs.
- ``PssMeter``: where the grader cannot make cgroups (not root, a read-only hierarchy, a
  v2 cgroup that has processes and so cannot hand its memory controller down), the
  proportional set size of the process tree (a page shared by k processes counts 1/k to
  each) of what the kernel cannot reclaim: anonymous and shared memory, not the pages of
  files such as TensorFlow's libraries, which it drops under pressure and reads again, as
  it does in a cgroup; and the files in memory the tree holds open without mapping them.
  Memory no process of the tree maps or holds open (a file left in a tmpfs) it cannot see;
  the sandbox's own tmpfs is capped in bytes, and the jail covers /dev/shm.

``AUTOGRADER_MEMORY`` = auto (default), cgroup or pss chooses.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

MODE_ENV = "AUTOGRADER_MEMORY"
MODES = ("auto", "cgroup", "pss")
CGROUP_ROOT = Path("/sys/fs/cgroup")
MEMBERSHIP = Path("/proc/self/cgroup")
PREFIX = "autograder-"  # this grader's cgroup folder: PREFIX + its pid
PSS_SECONDS = 2.0  # the longest a PSS meter trusts its last reading's estimate


@dataclass(frozen=True)
class Files:
    """One cgroup version's names for what a meter reads and writes."""

    limit: str
    peak: str
    events: str       # holds "oom_kill N"
    swap: str         # the limit on swap too (absent without swap accounting)


V2 = Files("memory.max", "memory.peak", "memory.events", "memory.swap.max")
V1 = Files("memory.limit_in_bytes", "memory.max_usage_in_bytes", "memory.oom_control",
           "memory.memsw.limit_in_bytes")


def own_cgroup(root: Path | None = None, membership: Path | None = None
               ) -> tuple[Path, Files] | None:
    """This process's memory cgroup folder and its version's names, or None. (The paths in
    ``membership`` are relative to the cgroup namespace this process reads them in, as the
    ``root`` it has mounted is.)"""
    root, membership = root or CGROUP_ROOT, membership or MEMBERSHIP
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):  # v1 (on a hybrid host v2 has no memory)
            return root / "memory" / path.lstrip("/"), V1
        if controllers == "":
            unified = root / path.lstrip("/")
    if unified is not None and "memory" in _read(unified / "cgroup.controllers").split():
        return unified, V2
    return None


def _read(file: Path) -> str:
    try:
        return file.read_text()
    except OSError:
        return ""


def _number(file: Path) -> int | None:
    text = _read(file).strip()
    return int(text) if text.isdigit() else None


def _oom_kills(file: Path) -> int:
    for line in _read(file).splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return 0


# ------------------------------------------------------------------------------- meters


class CgroupMeter:
    """One run's memory cgroup: created with its limit, joined by the worker (``join``),
    emptied and removed by ``close``."""

    def __init__(self, folder: Path, files: Files, limit: int):
        folder.mkdir()
        self.folder, self.files, self.limit = folder, files, limit
        try:
            (folder / files.limit).write_text(f"{limit}\n")
            if (folder / files.swap).exists():  # no swap either: a hog is killed, not paged
                (folder / files.swap).write_text(f"{0 if files is V2 else limit}\n")
        except OSError:
            folder.rmdir()
            raise
        self.join: str | None = str(folder / "cgroup.procs")

    def over(self, tree: psutil.Process | None = None) -> bool:
        """Whether the run is over its limit: the kernel enforces it, so whether it killed."""
        return self.killed()

    def killed(self) -> bool:
        """Whether the kernel killed a process of this run for going over its limit."""
        return _oom_kills(self.folder / self.files.events) > 0

    def peak(self) -> int:
        """The most this run's cgroup held, page cache included (0 where the kernel keeps
        no peak: v2 before Linux 5.19)."""
        return _number(self.folder / self.files.peak) or 0

    def close(self) -> None:
        """Kill what is left in it (whatever session or uid it moved to), then remove it."""
        _empty(self.folder)
        _remove(self.folder)


class PssMeter:
    """One run's process tree, measured by what the kernel could not give back: the PSS of
    its anonymous and shared memory, and the files in memory it holds open but need not
    map (memfds, /dev/shm), each counted once. File pages it reclaims under pressure and
    reads again are left out. The PSS is read only once the cheap sum (RSS and those files,
    never less) is over the limit."""

    join: str | None = None

    def __init__(self, limit: int):
        self.limit = limit
        self._peak = 0
        # What the cheap sum overstated at the last PSS read, and when: between reads (costly:
        # bench/README.md), the cheap sum less that is the estimate.
        self._discount, self._read_at = 0, -PSS_SECONDS

    def over(self, tree: psutil.Process | None) -> bool:
        procs = _tree(tree)
        rss = sum(_each(procs, lambda p: p.memory_info().rss))
        held = sum(dict(kv for found in _each(procs, memory_files) for kv in found).values())
        cheap = rss + held
        self._peak = max(self._peak, cheap)
        now = time.monotonic()
        if cheap <= self.limit or (cheap - self._discount <= self.limit
                                   and now - self._read_at < PSS_SECONDS):
            return False
        parts = _each(procs, unreclaimable_pss)
        anonymous, shared = sum(a for a, _ in parts), sum(s for _, s in parts)
        counted = anonymous + max(shared, held)  # a mapped memfd is in both
        self._discount, self._read_at = cheap - counted, now
        return counted > self.limit

    def peak(self) -> int:
        """The largest cheap sum seen (an upper bound of what was counted)."""
        return self._peak

    def killed(self) -> bool:
        return False  # nothing but this meter stops the run

    def close(self) -> None:
        pass


def unreclaimable_pss(proc: psutil.Process) -> tuple[int, int]:
    """A process's proportional share of (anonymous memory and swap, shared memory), from
    /proc/PID/smaps_rollup (kernels before 5.9 give only the whole PSS: that, then)."""
    fields = {}
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup") as rollup:
            for line in rollup:
                key, _, value = line.partition(":")
                if value.strip().endswith("kB"):
                    fields[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError) as exc:
        raise psutil.NoSuchProcess(proc.pid) from exc
    if "Pss_Anon" not in fields:
        return fields.get("Pss", 0) + fields.get("SwapPss", 0), 0
    return fields["Pss_Anon"] + fields.get("SwapPss", 0), fields.get("Pss_Shmem", 0)


IN_MEMORY = ("/memfd:", "/dev/shm/")  # what an open file's link says when RAM holds it


def memory_files(proc: psutil.Process) -> list[tuple[tuple[int, int], int]]:
    """((device, inode), bytes) of each file in memory that ``proc`` holds open. The link's
    text is the student's to choose, so it only picks candidates; the size comes from the
    file itself, through the descriptor (stat opens nothing)."""
    fds = f"/proc/{proc.pid}/fd"
    found = []
    try:
        names = os.listdir(fds)
    except OSError as exc:
        raise psutil.NoSuchProcess(proc.pid) from exc
    for name in names:
        try:
            if os.readlink(f"{fds}/{name}").startswith(IN_MEMORY):
                st = os.stat(f"{fds}/{name}")
                found.append(((st.st_dev, st.st_ino), st.st_blocks * 512))
        except OSError:
            pass
    return found


def _tree(root: psutil.Process | None) -> list[psutil.Process]:
    if root is None:
        return []
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _each(procs: list[psutil.Process], measure) -> list:
    """``measure`` of each process still there."""
    found = []
    for proc in procs:
        try:
            found.append(measure(proc))
        except psutil.Error:
            pass
    return found


Meter = CgroupMeter | PssMeter


# --------------------------------------------------------------------------- accounting


class Accounting:
    """How this grader meters its runs: in a cgroup folder of its own (``PREFIX`` + pid,
    under its own memory cgroup), or by PSS; ``why`` says why not by cgroup."""

    def __init__(self, mode: str | None = None):
        mode = mode or os.environ.get(MODE_ENV, "auto")
        if mode not in MODES:
            raise ValueError(f"{MODE_ENV} must be one of {', '.join(MODES)}, not {mode!r}")
        self.folder: Path | None = None
        self.files = V2
        self.why: str | None = "turned off" if mode == "pss" else None
        self._runs = itertools.count(1)  # the slots' threads take numbers at once
        if mode != "pss":
            self.why = self._make_folder()
        if mode == "cgroup" and self.why:
            raise OSError(f"no memory cgroup for the workers: {self.why}")

    def _make_folder(self) -> str | None:
        own = own_cgroup()
        if own is None:
            return "this process is in no memory cgroup"
        parent, self.files = own
        folder = parent / f"{PREFIX}{os.getpid()}"
        try:
            _remove_stale(parent)
            folder.mkdir()
            self.folder = folder
            if self.files is V2:  # its children get the memory controller
                (folder / "cgroup.subtree_control").write_text("+memory\n")
            _probe(self.meter(2**30))
        except (OSError, subprocess.SubprocessError) as exc:
            self.close()
            return f"{parent} cannot hold a cgroup for each worker ({exc})"
        return None

    @property
    def kind(self) -> str:
        if self.folder is None:
            return "PSS"
        return "cgroup v2" if self.files is V2 else "cgroup v1"

    def meter(self, limit: int) -> Meter:
        """A meter for one run that may hold ``limit`` bytes."""
        if self.folder is None:
            return PssMeter(limit)
        return CgroupMeter(self.folder / f"run-{next(self._runs)}", self.files, limit)

    def close(self) -> None:
        if self.folder is not None:
            _remove_tree(self.folder)
            self.folder = None


def _probe(meter: CgroupMeter) -> None:
    """A process joins a new run's cgroup as a worker does, or this raises."""
    try:
        subprocess.run(["true"], preexec_fn=joiner(meter.join), check=True, timeout=10)
    finally:
        meter.close()


def joiner(join: str | None):
    """A preexec_fn (or a first step) that moves this process into the run's cgroup."""
    def apply() -> None:
        if join:
            with open(join, "w") as procs:
                procs.write(f"{os.getpid()}\n")

    return apply


def _empty(folder: Path, seconds: float = 5.0) -> None:
    """SIGKILL every process in ``folder``'s cgroup until none is left (or time is up)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pids = [int(p) for p in _read(folder / "cgroup.procs").split() if p.isdigit()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def _remove(folder: Path, seconds: float = 2.0) -> None:
    """rmdir a cgroup, waiting a little for its killed processes to be gone."""
    end = time.monotonic() + seconds
    while True:
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > end:
                return  # left for the next grader's _remove_stale
            time.sleep(0.02)


def _remove_tree(folder: Path) -> None:
    for child in [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []:
        _empty(child)
        _remove(child)
    _remove(folder)


def _remove_stale(parent: Path) -> None:
    """The folders of graders that were killed before they removed their own."""
    for folder in parent.glob(f"{PREFIX}*"):
        pid = folder.name[len(PREFIX):]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            _remove_tree(folder)
