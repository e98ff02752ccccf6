"""A one-node Slurm cluster on this machine, for the tests: Debian's `munge` and `slurm-wlm`
(.ci/run installs them), started as root with a minimal slurm.conf in a folder of the test's
own (its own munge socket and key, free ports), and stopped at the end. Plain context
manager, no pytest: ``NoSlurm`` when the programs are missing or a daemon does not start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel")


class NoSlurm(RuntimeError):
    """Slurm or munge is missing here, or would not start (the message says which)."""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(home: Path) -> str:
    cpus = os.cpu_count() or 1
    return "\n".join([
        "ClusterName=tests", "SlurmctldHost=localhost", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={home / 'munge.socket'}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SchedulerType=sched/backfill", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "ReturnToService=2",
        f"StateSaveLocation={home / 'state'}", f"SlurmdSpoolDir={home / 'spool'}",
        f"SlurmctldPidFile={home / 'slurmctld.pid'}", f"SlurmdPidFile={home / 'slurmd.pid'}",
        f"SlurmctldLogFile={home / 'slurmctld.log'}", f"SlurmdLogFile={home / 'slurmd.log'}",
        f"SlurmctldPort={_port()}", f"SlurmdPort={_port()}",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "MpiDefault=none", "SchedulerParameters=sched_interval=1",
        f"NodeName=localhost CPUs={cpus} State=UNKNOWN",
        "PartitionName=tests Nodes=localhost Default=YES MaxTime=INFINITE State=UP", ""])


def _wait(check, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise NoSlurm(f"{what} did not start:\n" + (log.read_text()[-2000:]
                                                         if log.exists() else "(no log)"))
        time.sleep(0.2)


@contextmanager
def cluster(home: Path) -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd; yield the environment (SLURM_CONF) for sbatch."""
    missing = [d for d in DAEMONS if shutil.which(d) is None
               and not Path("/usr/sbin", d).exists()]
    if missing:
        raise NoSlurm(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        raise NoSlurm("the test cluster's daemons run as root")
    for sub in ("state", "spool"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    key = home / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    (home / "slurm.conf").write_text(_config(home))
    env = {**os.environ, "SLURM_CONF": str(home / "slurm.conf")}
    sbin = lambda name: shutil.which(name) or f"/usr/sbin/{name}"  # noqa: E731
    subprocess.run([sbin("munged"), "--force", f"--socket={home / 'munge.socket'}",
                    f"--key-file={key}", f"--pid-file={home / 'munged.pid'}",
                    f"--log-file={home / 'munged.log'}", f"--seed-file={home / 'munged.seed'}"],
                   check=True, capture_output=True)
    try:
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([sbin(daemon)], env=env, check=True, capture_output=True)
        _wait(lambda: "idle" in subprocess.run(["sinfo", "-h", "-o", "%t"], env=env,
                                               capture_output=True, text=True).stdout,
              "the node", home / "slurmd.log")
        yield {"SLURM_CONF": env["SLURM_CONF"]}
    finally:
        subprocess.run(["scontrol", "shutdown"], env=env, capture_output=True)
        for pid_file in ("slurmd.pid", "slurmctld.pid", "munged.pid"):
            try:
                os.kill(int((home / pid_file).read_text()), 15)
            except (OSError, ValueError):
                pass


def wait_until_idle(env: dict[str, str], timeout: float = 300) -> None:
    """Until no job of this cluster is pending or running."""
    deadline = time.monotonic() + timeout
    full = {**os.environ, **env}
    while subprocess.run(["squeue", "-h"], env=full, capture_output=True, text=True).stdout.strip():
        if time.monotonic() > deadline:
            raise TimeoutError("Slurm jobs still queued after the timeout")
        time.sleep(0.5)
