"""sandbox/memory.py: a run's memory counted as the kernel counts it, with real processes.

Two failures of the summed RSS the grader used to stop a run by: it counts a shared page
once per process (honest runs stopped, a container asked for twice its need), and it sees
nothing of memory no process maps (a memfd filled by write(): a run holds GiBs unseen).
Each test shows the failure with the old measure first, then both meters without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from autograder.grader.sandbox import memory
from autograder.grader.sandbox.memory import Accounting, CgroupMeter, PssMeter, joiner

MiB = 2**20
LIMIT = 512 * MiB

# 768 MiB in memfds, written (never mapped), in pieces under RLIMIT_FSIZE; then it waits.
HOARD = """
import os, sys, time
fds = [os.memfd_create(f"hoard{i}") for i in range(6)]
for fd in fds:
    for _ in range(128):
        os.write(fd, b"x" * 2**20)
print("holding", flush=True)
time.sleep(3)
"""
# 240 MiB touched, then shared copy-on-write with three forked children that only read it.
SHARED = """
import os, sys, time
block = bytearray(os.urandom(2**20)) * 240
kids = [os.fork() for _ in range(1)]
for _ in range(2):
    if all(kids):
        kids.append(os.fork())
if not all(kids):
    time.sleep(4); os._exit(0)
print("forked", flush=True)
for _ in kids:
    os.wait()
"""


def cgroups() -> Accounting:
    accounting = Accounting()
    if accounting.folder is None:
        accounting.close()
        pytest.skip(f"no memory cgroup can be made here: {accounting.why}")
    return accounting


def start(code: str, meter) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            preexec_fn=joiner(meter.join))
    return proc


def summed_rss(proc: psutil.Process) -> int:
    """What the grader measured before: RSS summed over the tree."""
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


def test_memory_no_process_maps_is_invisible_to_summed_rss_but_not_to_either_meter():
    # The attack, as the grader measured before: 768 MiB held while the summed RSS of the
    # process stays far under the 512 MiB limit, so nothing stopped it.
    proc = start(HOARD, PssMeter(LIMIT))
    try:
        assert proc.stdout.readline() == "holding\n"
        tree = psutil.Process(proc.pid)
        assert summed_rss(tree) < 100 * MiB
        # PSS alone does not see it either (nothing is mapped) ...
        assert sum(memory.unreclaimable_pss(tree)) < 100 * MiB
        # ... the PSS meter does: the memfds the process holds open, each counted once.
        pss = PssMeter(LIMIT)
        assert pss.over(tree)
        assert pss.peak() >= 768 * MiB
    finally:
        proc.kill()
        proc.wait()
    # In a cgroup of its own the kernel charges the memfds' pages and kills it at the limit.
    accounting = cgroups()
    try:
        meter = accounting.meter(LIMIT)
        proc = start(HOARD, meter)
        assert proc.stdout.read() == ""
        assert proc.wait(timeout=30) == -9
        assert meter.over(None)
        assert LIMIT - 8 * MiB <= meter.peak() <= LIMIT
        meter.close()
        assert not meter.folder.exists()
    finally:
        accounting.close()


def test_a_file_in_memory_is_counted_once_however_many_hold_it():
    # One 300 MiB memfd, open in a process and its forked child, and mapped by both.
    code = ("import mmap, os, time\nfd = os.memfd_create('once')\n"
            "for _ in range(300): os.write(fd, b'x' * 2**20)\n"
            "m = mmap.mmap(fd, 300 * 2**20); m[::4096]\n"
            "if os.fork():\n    print('ready', flush=True)\ntime.sleep(3)\n")
    proc = start(code, PssMeter(LIMIT))
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.2)
        tree = psutil.Process(proc.pid)
        assert not PssMeter(LIMIT).over(tree)  # 300 MiB, not 2 × 300 nor 300 + 300
        assert PssMeter(256 * MiB).over(tree)
    finally:
        for p in [*psutil.Process(proc.pid).children(), psutil.Process(proc.pid)]:
            p.kill()
        proc.wait()


@pytest.mark.parametrize("kind", ["pss", "cgroup"])
def test_pages_shared_by_forked_processes_count_once(kind):
    # 240 MiB in four processes: summed RSS says ~960 MiB, over a 512 MiB limit.
    accounting = cgroups() if kind == "cgroup" else Accounting("pss")
    try:
        meter = accounting.meter(LIMIT)
        proc = start(SHARED, meter)
        assert proc.stdout.readline() == "forked\n"
        tree = psutil.Process(proc.pid)
        time.sleep(0.3)
        assert summed_rss(tree) > LIMIT  # the old measure would have stopped it
        assert not meter.over(tree)
        assert proc.wait(timeout=30) == 0  # neither the meter nor the kernel stopped it
        assert not meter.over(None)
        assert meter.peak() > 240 * MiB
        meter.close()
    finally:
        accounting.close()


def test_pss_stops_what_is_over_in_its_own_pages():
    meter = PssMeter(64 * MiB)
    proc = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(2**27);"
                             " b[::4096] = b'x' * (2**27 // 4096); print('ok', flush=True);"
                             " time.sleep(5)"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ok\n"
        assert meter.over(psutil.Process(proc.pid))
    finally:
        proc.kill()
        proc.wait()


def test_closing_a_run_ends_what_it_left_in_any_session():
    accounting = cgroups()
    try:
        meter = accounting.meter(LIMIT)
        # A process that leaves its session and its group: killpg cannot reach it.
        proc = subprocess.Popen(["setsid", "--fork", "sleep", "600"], preexec_fn=joiner(meter.join))
        proc.wait(timeout=10)
        pids = [int(p) for p in (meter.folder / "cgroup.procs").read_text().split()]
        assert len(pids) == 1
        left = psutil.Process(pids[0])
        assert left.ppid() != os.getpid()  # not ours to wait for: adopted by init
        end = time.monotonic() + 10
        while left.name() != "sleep" and time.monotonic() < end:  # setsid has yet to exec
            time.sleep(0.05)
        assert left.name() == "sleep" and os.getsid(left.pid) != os.getsid(0)
        meter.close()
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                       for p in pids)
        assert not meter.folder.exists()
    finally:
        accounting.close()


def test_a_killed_graders_folder_is_removed_by_the_next(tmp_path):
    accounting = cgroups()
    parent = accounting.folder.parent
    accounting.close()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = parent / f"{memory.PREFIX}{dead}"
    (stale / "run-1").mkdir(parents=True)
    again = Accounting()
    try:
        assert not stale.exists()
        assert again.folder is not None and again.folder.name == f"{memory.PREFIX}{os.getpid()}"
    finally:
        again.close()
    assert not again.folder and not (parent / f"{memory.PREFIX}{os.getpid()}").exists()


def test_the_mode_is_checked():
    assert Accounting("pss").kind == "PSS"
    assert isinstance(Accounting("pss").meter(LIMIT), PssMeter)
    with pytest.raises(ValueError, match="AUTOGRADER_MEMORY must be one of auto, cgroup, pss"):
        Accounting("rss")


def test_cgroup_mode_refuses_to_run_unmetered(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "MEMBERSHIP", tmp_path / "none")
    with pytest.raises(OSError, match="no memory cgroup for the workers: this process is in"):
        Accounting("cgroup")
    assert Accounting("auto").kind == "PSS"


def test_own_cgroup_reads_v1_and_v2(tmp_path):
    (tmp_path / "v2" / "grading").mkdir(parents=True)
    (tmp_path / "v2" / "grading" / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "v2.procs").write_text("0::/grading\n")
    assert memory.own_cgroup(tmp_path / "v2", tmp_path / "v2.procs") == \
        (tmp_path / "v2" / "grading", memory.V2)
    # Hybrid (this kind of host): memory on v1, an empty unified hierarchy beside it.
    (tmp_path / "hybrid.procs").write_text("4:memory:/process_api/x\n0::/\n")
    assert memory.own_cgroup(tmp_path / "v2", tmp_path / "hybrid.procs") == \
        (tmp_path / "v2" / "memory" / "process_api" / "x", memory.V1)
    (tmp_path / "v2" / "grading" / "cgroup.controllers").write_text("cpu pids\n")
    assert memory.own_cgroup(tmp_path / "v2", tmp_path / "v2.procs") is None


def test_cgroup_meter_limit_is_what_the_kernel_reads():
    accounting = cgroups()
    try:
        meter = accounting.meter(300 * MiB)
        assert isinstance(meter, CgroupMeter)
        assert int((meter.folder / meter.files.limit).read_text()) == 300 * MiB
        meter.close()
    finally:
        accounting.close()


def test_growth_after_a_pss_reading_is_caught_at_the_next_look():
    # Between PSS readings the meter estimates; memory that grows must not hide in that.
    code = SHARED.replace('print("forked", flush=True)',
                          'print("forked", flush=True); input()\n'
                          'more = bytearray(os.urandom(2**20)) * 400; print("grown", flush=True)')
    meter = PssMeter(LIMIT)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "forked\n"
        time.sleep(0.3)
        tree = psutil.Process(proc.pid)
        assert summed_rss(tree) > LIMIT and not meter.over(tree)  # read: ~240 MiB counted
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "grown\n"
        assert meter.over(tree)  # ~640 MiB, at once, not PSS_SECONDS later
    finally:
        for p in [*psutil.Process(proc.pid).children(), psutil.Process(proc.pid)]:
            p.kill()
        proc.wait()
