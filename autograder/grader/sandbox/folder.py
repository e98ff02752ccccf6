"""A throw-away folder for one submission, and the scrubbed environment its kernel gets.

The folder holds only what the student release needs (the notebook and a copy of the data).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import digit_helpers


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


def hand_over(box: Sandbox, uid: int) -> None:
    """Give the sandbox folder to the uid the kernel will run as."""
    for path in [box.root, *box.root.rglob("*")]:
        os.lchown(path, uid, uid)
