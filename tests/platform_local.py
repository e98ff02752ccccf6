"""The platforms as they run our autograders, laid out locally for the tests and the bench.

Both run in a fresh venv holding or seeing this environment's third-party packages (but not
this environment's own ``.pth`` files, this repository's editable install among them), with
no package index: an install step must find every pinned version already installed, and the
course's own code comes only from what the platform got. Gradescope's venv holds them, as
its image does (hard links into the venv): the jail shows student code the venv's prefix,
not the folders that hold this checkout, which it hides under /tmp or a home folder.

- Gradescope: the zip unpacked into ``<base>/autograder/source``, its ``setup.sh`` run with
  ``AUTOGRADER_PYTHON`` set to that venv (so the system part: apt, uv, a downloaded Python,
  is skipped), and ``run_autograder`` run as Gradescope runs it.
- Gradescope's container: a cgroup with its memory and half a CPU (``Cgroup``), the page
  cache of Python's and the course's files emptied first (``evict_page_cache``).
- Classroom 50: the bundle's ``autograder.py`` run in a student checkout with the runner's
  variables set.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import site
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

from helpers import ASSIGNMENT_ID  # the repository may hold other assignments

ROOT = Path(__file__).resolve().parent.parent
HALF_CPU_US = 50_000  # of every 100 000 us


def readable_python() -> str | None:
    """An interpreter of this Python version that other users can run (as on Gradescope,
    where student code may run as another uid): this one, or the system's."""
    here = Path(sys.base_prefix).resolve()
    if all(p.stat().st_mode & stat.S_IXOTH for p in [*here.parents, here]):
        return sys.executable
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    return str(system) if system.is_file() else None


def overlay_venv(venv: Path, python: str | None = None, hold: bool = False) -> Path:
    """A new venv seeing this environment's packages but not this repository; its python.
    Without pip of its own: its seeded pip and setuptools would shadow the pinned ones.

    ``hold``: the packages are put in the venv itself (see ``link_packages``) instead of
    named by a ``.pth`` file, so that whoever sees the venv's folder sees them."""
    subprocess.run([python or sys.executable, "-m", "venv", "--without-pip", str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.run([python, "-c", where], check=True, capture_output=True,
                                  text=True).stdout.strip())
    sources = list(dict.fromkeys(Path(p).resolve() for p in site.getsitepackages()))
    if hold:
        for source in sources:
            link_packages(source, purelib)
    else:
        (purelib / "this-environment.pth").write_text("".join(f"{p}\n" for p in sources))
    return python


def link_packages(source: Path, purelib: Path) -> None:
    """Every file of the site folder ``source`` hard-linked into ``purelib`` (copied where
    no link can be made: another file system), but its ``.pth`` files, as a ``.pth`` entry
    naming ``source`` would leave them unprocessed. A file already there (from an earlier
    site folder) is kept: the first on the path wins, as on ``sys.path``.

    Nothing writes to these files in place: pip finds every pin satisfied, Python writes
    a missing ``.pyc`` to a new file it renames over, and the sandbox's uid cannot write."""
    def link(src: str, dst: str) -> None:
        if os.path.lexists(dst):
            return
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            shutil.copy2(src, dst)

    def own_pth(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n.endswith(".pth")] if Path(folder) == source else []

    shutil.copytree(source, purelib, symlinks=True, ignore=own_pth, copy_function=link,
                    dirs_exist_ok=True)


def build_zip(out: Path, *args: str) -> Path:
    subprocess.run([sys.executable, "-m", "autograder", "gradescope", str(out),
                    "--assignment", ASSIGNMENT_ID, *args],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return out


def install(zip_path: Path, base: Path) -> Path:
    """Unpack, make the venv and run setup.sh's install step; the autograder root."""
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # student code runs as another uid where namespaces are unavailable
    root = base / "autograder"
    source = root / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            archive.extract(info, source)
            mode = info.external_attr >> 16 & 0o777
            if mode:
                (source / info.filename).chmod(mode)
    # The pinned packages in the venv, as setup.sh installs them there on Gradescope.
    python = overlay_venv(base / "venv", readable_python(), hold=True)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(python),
           "PIP_NO_INDEX": "1"}
    subprocess.run(["bash", str(source / "setup.sh")], env=env, check=True,
                   capture_output=True, text=True)
    return root


def submit(root: Path, files: dict[str, bytes]) -> None:
    """A fresh submission folder holding ``files`` (name -> bytes), no results yet."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)


def run_autograder(root: Path, container: Cgroup | None = None, **env: str) -> dict:
    """Run the zip's run_autograder as Gradescope does (in ``container`` if given); the
    results.json it wrote."""
    full_env = {**os.environ, "AUTOGRADER_ROOT": str(root), **env}
    cmd = ["bash", str(root / "source" / "run_autograder")]
    subprocess.run(container.wrap(cmd) if container else cmd, env=full_env,
                   cwd=root, check=True, capture_output=True, text=True, timeout=900)
    return json.loads((root / "results" / "results.json").read_text())


# --- Gradescope's container -----------------------------------------------------------------


class Cgroup:
    """A cgroup to run a command in (v2, else v1), limited to ``memory`` bytes and
    ``cpu_quota_us`` of every 100 000 us where given, measured either way."""

    def __init__(self, name: str, memory: int | None, cpu_quota_us: int | None):
        self.dirs: list[Path] = []
        v2 = Path("/sys/fs/cgroup")
        if (v2 / "cgroup.controllers").is_file():
            self.dirs = [v2 / name]
            self.peak_file = "memory.peak"
            self._make(self.dirs[0], {"memory.max": memory,
                                      "cpu.max": cpu_quota_us and f"{cpu_quota_us} 100000"})
        else:
            self.dirs = [v2 / "memory" / name, *([v2 / "cpu" / name] if cpu_quota_us else [])]
            self.peak_file = "memory.max_usage_in_bytes"
            self._make(self.dirs[0], {"memory.limit_in_bytes": memory})
            if cpu_quota_us:
                self._make(self.dirs[1], {"cpu.cfs_quota_us": cpu_quota_us})

    @staticmethod
    def _make(folder: Path, settings: dict) -> None:
        folder.mkdir(exist_ok=True)
        for key, value in settings.items():
            if value is not None:
                (folder / key).write_text(f"{value}\n")

    def wrap(self, cmd: list[str]) -> list[str]:
        joins = " && ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs)
        return ["sh", "-c", f'{joins} && exec "$@"', "sh", *cmd]

    def peak(self) -> int:
        try:
            return int((self.dirs[0] / self.peak_file).read_text())
        except (OSError, ValueError):
            return 0

    def anonymous(self) -> int:
        """What the cgroup holds now that the kernel cannot reclaim without swap: anonymous
        memory and shmem (memory.stat: v2 anon + shmem, v1 total_rss + total_shmem)."""
        names = ("anon", "shmem") if self.peak_file == "memory.peak" \
            else ("total_rss", "total_shmem")
        try:
            lines = (self.dirs[0] / "memory.stat").read_text().splitlines()
        except OSError:
            return 0
        return sum(int(v) for k, v in (line.split() for line in lines) if k in names)

    @contextlib.contextmanager
    def sampled(self, every: float = 0.1):
        """While in it, ``anonymous_peak`` follows ``anonymous()``, sampled."""
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(every):
                self.anonymous_peak = max(self.anonymous_peak, self.anonymous())

        self.anonymous_peak = 0
        thread = threading.Thread(target=sample)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    def remove(self) -> None:
        for folder in self.dirs:
            try:
                folder.rmdir()
            except OSError:
                pass


def cgroup_or_none(name: str, memory: int | None, cpu_quota_us: int | None = HALF_CPU_US
                   ) -> Cgroup | None:
    if os.geteuid() != 0:
        return None
    try:
        return Cgroup(name, memory, cpu_quota_us)
    except OSError as exc:
        print(f"  (no cgroup here: {exc})")
        return None


def evict_page_cache(*folders: Path) -> None:
    """Drop these folders' files from the page cache (those no process maps), so that a run
    in a cgroup reads and is charged for Python, TensorFlow and the course as a fresh
    container is: a page is charged to the cgroup that first read it, so pages cached by
    earlier runs would be free here and not on Gradescope."""
    for folder in folders:
        for path in folder.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)
            except OSError:
                pass


# --- Classroom 50 ----------------------------------------------------------------------------

RUNNER_ENV = {"CLASSROOM": "cs101", "ASSIGNMENT": "digit-recognition", "USERNAME": "alice",
              "OWNER": "alice", "ASSIGNMENT_TYPE": "individual",
              "SUBMISSION_TAG": "submit/20261126T010203Z-abc1234",
              "COMMIT_URL": "https://github.com/cs101/digit-recognition-alice/commit/abc1234",
              "RELEASE_URL": "https://github.com/cs101/digit-recognition-alice/releases/tag/x",
              "REVIEW_URL": "https://github.com/cs101/digit-recognition-alice/pull/1",
              "GITHUB_REPOSITORY": "cs101/digit-recognition-alice", "GITHUB_SHA": "abc1234"}


def build_bundle(out_dir: Path, *args: str) -> Path:
    subprocess.run([sys.executable, "-m", "autograder", "classroom50", str(out_dir),
                    "--assignment", ASSIGNMENT_ID, *args],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return out_dir / "autograders" / "digit-recognition"


def bundle_command(bundle: Path, checkout: Path, python: Path, **env: str
                   ) -> tuple[list[str], dict[str, str]]:
    """``python autograder.py`` as the runner calls it (no arguments; run it in the
    checkout), and the environment the runner gives it."""
    full_env = {"PATH": os.environ["PATH"], "HOME": str(checkout), "PIP_NO_INDEX": "1",
                "CLASSROOM50_BUNDLE_DIR": str(bundle), **RUNNER_ENV, **env}
    return [str(python), str(bundle / "autograder.py")], full_env


def run_bundle(bundle: Path, checkout: Path, python: Path, **env: str
               ) -> subprocess.CompletedProcess:
    cmd, full_env = bundle_command(bundle, checkout, python, **env)
    return subprocess.run(cmd, cwd=checkout, env=full_env, capture_output=True, text=True,
                          timeout=900)
