"""A throw-away folder for one submission, and the scrubbed environment its kernel gets.

The folder holds only what the student release needs: the notebook and a copy of each data
file the assignment declares (``Assignment.data``).
Where the grader may mount (Linux, as root: where it isolates submissions), the folder is a
tmpfs of the submission's own, capped in bytes and files, so that a notebook cannot fill the
grader's disk; elsewhere the watcher measures it (``usage``). What leaves the folder leaves
through ``autograder.grader.sandbox.boundary`` only.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder import untrusted
from autograder.assignment import Assignment
from autograder.grader.assignments import package_folder, resource
from autograder.student.export_cell import FOLDER as EXPORT_FOLDER

# Files a sandbox may hold: the notebook, the data and the kernel's caches are a few dozen.
MAX_FILES = 65536


@dataclass(frozen=True)
class Provided:
    """What an assignment gives every sandbox: its data files (environment variable -> the
    file, copied into ``data/``, the variable set to the copy) and the folders of the helper
    packages its notebook imports (the jail lets the kernel see them)."""

    data: dict[str, Path] = field(default_factory=dict)
    packages: tuple[Path, ...] = ()

    @classmethod
    def of(cls, assignment: Assignment) -> Provided:
        return cls({var: resource(ref) for var, ref in assignment.data.items()},
                   tuple(package_folder(name) for name in assignment.packages))


@dataclass
class Sandbox:
    root: Path
    # Bytes of the tmpfs mounted at root; None: not mounted (the watcher measures the folder).
    disk_cap: int | None = None
    provided: Provided = field(default_factory=Provided)

    @property
    def notebook(self) -> Path:
        return self.root / "submission.ipynb"

    @property
    def export_dir(self) -> Path:
        return self.root / EXPORT_FOLDER

    def filled(self) -> bool:
        """Whether the submission used up its tmpfs (its writes then failed)."""
        if self.disk_cap is None:
            return False
        room = os.statvfs(self.root)
        return room.f_bavail * room.f_frsize < 2**20 or room.f_favail == 0

    def remove(self) -> None:
        if self.disk_cap is not None:
            _unmount(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        for log in self.root.parent.glob(f"{self.root.name}.*"):  # the boundary's logs
            log.unlink(missing_ok=True)


BASE_PREFIX = "autograder-"


def new_base() -> Path:
    """This run's folder of sandboxes; also removes those of grader runs that were killed."""
    tmp = Path(tempfile.gettempdir())
    for old in tmp.glob(f"{BASE_PREFIX}*-*"):
        pid = old.name.removeprefix(BASE_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            remove_base(old)
    base = Path(tempfile.mkdtemp(prefix=f"{BASE_PREFIX}{os.getpid()}-"))
    base.chmod(0o711)  # each sandbox is reachable by its own uid, the folder is not listable
    return base


def remove_base(base: Path) -> None:
    """Remove a run's folder of sandboxes, unmounting any sandbox's tmpfs still in it."""
    for mounted in _mounts_below(base):
        _unmount(mounted)
    shutil.rmtree(base, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mounts_below(folder: Path) -> list[Path]:
    """Mount points at or below ``folder`` (deepest first), from this process's mount table."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    top = str(folder.resolve())
    # the kernel writes a space, tab, newline or backslash in a path as \ooo (octal)
    found = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])
             for line in lines]
    return [Path(p) for p in sorted(found, key=len, reverse=True)
            if p == top or p.startswith(top + os.sep)]


def _unmount(path: Path) -> None:
    from autograder.grader.sandbox.jail import umount

    try:
        umount(str(path))
    except OSError:
        pass  # not mounted (any more)


def _mount_disk(root: Path, size: int) -> int | None:
    """A tmpfs of ``size`` bytes at ``root``; None where this process may not mount."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return None
    from autograder.grader.sandbox.jail import MS_NODEV, MS_NOSUID, mount

    try:
        mount("tmpfs", str(root), "tmpfs", MS_NOSUID | MS_NODEV,
              f"size={size},nr_inodes={MAX_FILES},mode=0700")
    except OSError:
        return None
    return size


def create(nb_text: str, base: Path | None = None, disk: int | None = None,
           provided: Provided | None = None) -> Sandbox:
    """A fresh folder with the sanitized notebook and the assignment's data files, nothing
    else; with ``disk``, a tmpfs of that many bytes where one can be mounted."""
    root = Path(tempfile.mkdtemp(prefix="grade-", dir=base))
    box = Sandbox(root, _mount_disk(root, disk) if disk else None, provided or Provided())
    try:
        _fill(box, nb_text)
    except BaseException:
        box.remove()  # its tmpfs too
        raise
    return box


def _fill(box: Sandbox, nb_text: str) -> None:
    fd = untrusted.open_folder(box.root)  # as every name in it is written: new, unfollowed
    try:
        for folder in ("data", EXPORT_FOLDER):
            os.mkdir(folder, 0o755, dir_fd=fd)
        for data in box.provided.data.values():
            untrusted.create_new(fd, f"data/{data.name}", data.read_bytes(), 0o644)
        untrusted.create_new(fd, box.notebook.name, nb_text.encode("utf-8"), 0o644)
    finally:
        os.close(fd)


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
        **{var: str(box.root / "data" / data.name) for var, data in box.provided.data.items()},
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


def usage(root: Path, limit: int) -> int:
    """Bytes of the files below ``root`` (links not followed), counted until past ``limit``;
    a folder of more than MAX_FILES files counts as past it."""
    total, files, stack = 0, 0, [str(root)]
    while stack and total <= limit:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            files += 1
            if files > MAX_FILES:
                return limit + 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return total


def hand_over(box: Sandbox, uid: int) -> None:
    """Give the sandbox folder to the uid the kernel will run as."""
    for path in [box.root, *box.root.rglob("*")]:
        os.lchown(path, uid, uid)
