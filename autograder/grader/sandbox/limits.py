"""What one submission may use, and the per-process part applied before the worker starts.

``resource`` and ``prctl`` exist on Linux (and ``resource`` on macOS) only: they are imported
where they are used, so the student kit and the instructor's other verbs import this
package anywhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from autograder.assignment import CELL_TIMEOUT

GiB = 1024**3
MiB = 1024**2
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; the defaults fit the course's assignments with room (their
    measured needs: bench/README.md)."""

    cell_timeout: int = CELL_TIMEOUT  # seconds per cell (nbgrader's Execute.timeout)
    notebook_timeout: int = 600      # seconds for the whole notebook, kernel start included
    memory: int = 3 * GiB            # all the run's processes, as memory.py counts them
    cpu_seconds: int = 1200          # CPU time of any one process
    file_size: int = 256 * MiB       # largest file a process may write
    disk: int = 512 * MiB            # all the files in the submission's folder together
    output_size: int = 2 * MiB       # largest executed notebook we accept back


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (even by SIGKILL)."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def rlimit_setter(limits: Limits, join=None):
    """A preexec_fn applying the per-process limits the kernel inherits; ``join`` (see
    ``memory.joiner``) first moves the process into its run's memory cgroup."""
    import resource

    grader = os.getpid()

    def apply() -> None:
        if join is not None:
            join()
        os.setsid()
        # If the grader dies (even by SIGKILL), its workers and their kernels die with it.
        die_with_parent()
        if os.getppid() != grader:  # it died before the request took effect
            os._exit(1)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply
