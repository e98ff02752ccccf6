"""Step 3, sandbox: a throw-away folder and a locked-down process for one submission.

The folder holds only what the student release needs (the notebook and a copy of the data);
the process gets a scrubbed environment and resource limits that its kernel inherits.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import digit_helpers
from autograder.course import REPO_ROOT

# The packages the kernel and worker import (editable install) from the repository.
REPO_PACKAGES = [REPO_ROOT / "utils", REPO_ROOT / "autograder"]

GiB = 1024**3
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; the defaults fit this assignment (~1 GiB, ~20 s) with room."""

    cell_timeout: int = 120          # seconds per cell (nbgrader's Execute.timeout)
    notebook_timeout: int = 600      # seconds for the whole notebook, kernel start included
    memory: int = 3 * GiB            # resident memory of the whole process tree
    cpu_seconds: int = 1200          # CPU time of any one process
    file_size: int = 256 * MiB       # largest file a process may write
    output_size: int = 2 * MiB       # largest executed notebook we accept back


@dataclass
class Sandbox:
    root: Path

    @property
    def notebook(self) -> Path:
        return self.root / "submission.ipynb"

    @property
    def executed(self) -> Path:
        return self.root / "executed.ipynb"

    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


BASE_PREFIX = "autograder-"


def new_base() -> Path:
    """This run's folder of sandboxes; also removes those of grader runs that were killed."""
    tmp = Path(tempfile.gettempdir())
    for old in tmp.glob(f"{BASE_PREFIX}*-*"):
        pid = old.name.removeprefix(BASE_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    base = Path(tempfile.mkdtemp(prefix=f"{BASE_PREFIX}{os.getpid()}-"))
    base.chmod(0o711)  # each sandbox is reachable by its own uid, the folder is not listable
    return base


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create(nb_text: str, base: Path | None = None) -> Sandbox:
    """A fresh folder with the sanitized notebook and the data set, nothing else."""
    root = Path(tempfile.mkdtemp(prefix="grade-", dir=base))
    box = Sandbox(root)
    (root / "data").mkdir()
    shutil.copy2(digit_helpers.DATA_FILE, root / "data" / Path(digit_helpers.DATA_FILE).name)
    box.export_dir.mkdir()
    box.notebook.write_text(nb_text, encoding="utf-8")
    return box


def environment(box: Sandbox, threads: int = 1) -> dict[str, str]:
    """Only what the kernel needs: no tokens, no instructor paths, quiet TensorFlow."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(box.root),
        "TMPDIR": str(box.root),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(box.root / ".matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(box.root / ".jupyter-runtime"),
        "JUPYTER_DATA_DIR": str(box.root / ".jupyter-data"),
        "JUPYTER_CONFIG_DIR": str(box.root / ".jupyter-config"),
        "IPYTHONDIR": str(box.root / ".ipython"),
        "DIGITS_DATA": str(box.root / "data" / Path(digit_helpers.DATA_FILE).name),
        "NBGRADER_EXECUTION": "autograde",
        # nbgrader scores any stderr output in a grade cell as 0; TensorFlow's C++ and
        # Python loggers and library warnings are not the student's fault.
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONWARNINGS": "ignore",
        "KERAS_HOME": str(box.root / ".keras"),
        # Parallel workers share the cores: one thread pool each instead of all fighting.
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(threads),
    }
    # Keep the machine's BLAS workarounds (a wrong kernel choice can crash or miscompute).
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


SANDBOX_UID_BASE = 61000  # unprivileged uids with no account: one per concurrent worker


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


UNSHARE_FLAGS = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]


def isolation_prefix(box: Sandbox, uid: int, hidden: list[Path]) -> list[str]:
    """The command that runs the worker with the student locked in (see autograder.jail)."""
    cmd = [shutil.which("unshare"), *UNSHARE_FLAGS, "--", sys.executable, "-m",
           "autograder.jail", "--uid", str(uid)]
    home = Path.home()
    # Shared writable places too: the kernel writes only inside its sandbox (TMPDIR).
    shared = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]
    for path in [*hidden, box.root.parent, *shared, *([home] if home != Path("/") else [])]:
        cmd += ["--hide", str(path)]
    # What the kernel must still reach if it lies below a hidden folder.
    for path in [box.root, Path(sys.base_prefix), Path(sys.prefix), *REPO_PACKAGES]:
        cmd += ["--reveal", str(path)]
    return [*cmd, "--"]


def hand_over(box: Sandbox, uid: int) -> None:
    """Give the sandbox folder to the uid the kernel will run as."""
    for path in [box.root, *box.root.rglob("*")]:
        os.lchown(path, uid, uid)


def rlimit_setter(limits: Limits):
    """A preexec_fn applying the per-process limits the kernel inherits."""

    def apply() -> None:
        os.setsid()
        # If the grader dies (even by SIGKILL), its workers and their kernels die with it.
        if sys.platform == "linux":
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply
