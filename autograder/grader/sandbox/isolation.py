"""Linux namespaces for the kernel: whether they can be had here, and the command prefix.

The prefix runs ``autograder.grader.sandbox.jail`` first inside fresh mount, network and PID
namespaces; the jail hides what student code must not see and drops to a per-slot uid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import psutil

import autograder
from autograder.grader.sandbox.folder import Sandbox

# The engine the kernel and worker import, wherever it is installed from (an editable
# install: the repository; the Gradescope image: its source folder). The assignment's own
# helper packages come with each sandbox (``Provided.packages``).
ENGINE_PACKAGE = Path(autograder.__file__).parent
UNSHARE_FLAGS = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]


@lru_cache(maxsize=1)
def isolation_problem() -> str | None:
    """None when submissions can be locked in namespaces here, else why not."""
    if sys.platform != "linux":
        return "namespaces need Linux"
    if os.geteuid() != 0:
        return "isolation needs root (it drops to an unprivileged uid after setting up mounts)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return "the unshare command (util-linux) is not installed"
    probe = subprocess.run([unshare, *UNSHARE_FLAGS, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare failed: {probe.stderr.strip() or probe.returncode}"
    return None


def uid_prefix(uid: int) -> list[str]:
    """Where namespaces are forbidden (a container): the jail only drops to the slot's uid.

    Nothing is hidden and the network stays up, so the caller must close what student code
    must not read with file permissions (see ``autograder.grader.platforms.gradescope_run``).
    """
    return [sys.executable, "-m", "autograder.grader.sandbox.jail", "--uid", str(uid), "--"]


def kill_uid(uid: int) -> None:
    """End every process running as ``uid`` (what a student left behind, without a PID
    namespace to end it)."""
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if uids and uid in (uids.real, uids.effective):
            try:
                proc.kill()
            except psutil.Error:
                pass


def jail_paths(box: Sandbox, hidden: list[Path]) -> tuple[list[str], list[str]]:
    """(what the jail hides, what it brings back below a hidden folder) for ``box``."""
    home = Path.home()
    # Shared writable places too: the kernel writes only inside its sandbox (TMPDIR).
    shared = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]
    hide = [*hidden, box.root.parent, *shared, *([home] if home != Path("/") else [])]
    # What the kernel must still reach if it lies below a hidden folder.
    reveal = [box.root, Path(sys.base_prefix), Path(sys.prefix), ENGINE_PACKAGE,
              *box.provided.packages]
    return [str(p) for p in hide], [str(p) for p in reveal]


def isolation_prefix(box: Sandbox, uid: int, hidden: list[Path]) -> list[str]:
    """The command that runs the worker with the student locked in (see the jail)."""
    cmd = [shutil.which("unshare"), *UNSHARE_FLAGS, "--", sys.executable, "-m",
           "autograder.grader.sandbox.jail", "--uid", str(uid)]
    hide, reveal = jail_paths(box, hidden)
    for path in hide:
        cmd += ["--hide", path]
    for path in reveal:
        cmd += ["--reveal", path]
    return [*cmd, "--"]
