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
- Classroom 50: the bundle's ``autograder.py`` run in a student checkout with the runner's
  variables set.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import site
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from helpers import ASSIGNMENT_ID  # the repository may hold other assignments

ROOT = Path(__file__).resolve().parent.parent


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


def run_autograder(root: Path, **env: str) -> dict:
    """Run the zip's run_autograder as Gradescope does; the results.json it wrote."""
    full_env = {**os.environ, "AUTOGRADER_ROOT": str(root), **env}
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=full_env,
                   cwd=root, check=True, capture_output=True, text=True, timeout=900)
    return json.loads((root / "results" / "results.json").read_text())


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
