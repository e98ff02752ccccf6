"""Links and other planted files in the sandbox, against the grader that runs as root outside
the jail (issue: nothing that comes out of a sandbox is trusted).

Student code owns its sandbox folder. Each attacker below leaves something at a name main's
grader read or wrote after the notebook: the executed notebook, the export folder and its
files, a process's stderr file. The tiny class is graded twice, in this process, with the
real pipeline, zygote, jail and kernels: once with the boundary's protections switched back
to what main did (open by name, follow links, trust the executed notebook, stderr files in
the sandbox), where every attack works, and once as shipped, where none does.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import untrusted
from autograder.grader import gradebook, pipeline
from autograder.grader.course import Course
from autograder.grader.sandbox import boundary
from autograder.grader.sandbox.isolation import isolation_problem
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps.submissions import find

from helpers import TINY_NAME, empty_gradebook, place, tiny_course_at, tiny_submission

pytestmark = [
    pytest.mark.slow,  # grades a class (kernels)
    pytest.mark.skipif(isolation_problem() is not None,
                       reason=f"no sandbox here: {isolation_problem()}"),
]

SECRET_LINE = "root-only: the instructor's private key"
# The tiny solution, reached through /proc/self/cwd: inside the jail that is the sandbox
# (where the attacker made the same folders, so the runner's write succeeds); for the
# grader, its own working folder, the course.
SOLUTION_VIA_PROC = "/proc/self/cwd/solutions/tiny_add/tiny_add.ipynb"


def attacks(secret_dir: Path, overwritten: Path) -> dict[str, str]:
    """student -> the cell they add at the end of an otherwise wrong notebook."""
    model = secret_dir / "model.keras"
    return {
        # a wrong `add`, yet full marks: the grader scores the solution as this run
        "executed_link": "import os, contextlib\nos.makedirs('solutions/tiny_add')\n"
                         "with contextlib.suppress(FileNotFoundError):\n"
                         "    os.unlink('executed.ipynb')\n"
                         f"os.symlink({SOLUTION_VIA_PROC!r}, 'executed.ipynb')",
        # the export cell's model.save, and a history file, are links to a root-only file
        "model_link": "import os\nclass Model:\n    def save(self, path):\n"
                      f"        os.symlink({str(model)!r}, path)\nmodel = Model()\n"
                      f"os.makedirs('export', exist_ok=True)\n"
                      f"os.symlink({str(model)!r}, 'export/history.json')",
        # the whole export folder is a link to a root-only folder
        "export_dir_link": "import os, shutil\nshutil.rmtree('export')\n"
                           f"os.symlink({str(secret_dir)!r}, 'export')",
        # main opened functions.err by name, as root, to hand to the function calls
        "functions_err_link": f"import os\nos.symlink({str(overwritten)!r}, 'functions.err')",
        # main read worker.err by name and quoted its last line in the student's message
        # when the run failed (here: the kernel ends itself)
        "worker_err_link": "import os, contextlib\n"
                           "with contextlib.suppress(FileNotFoundError):\n"
                           "    os.unlink('worker.err')\n"
                           f"os.symlink({str(model)!r}, 'worker.err')\n"
                           "os._exit(1)",
    }


def submission(extra: str | None) -> str:
    """The tiny notebook with a wrong `add` and, at the end, the attacker's own cell."""
    nb = nbformat.reads(tiny_submission("    return None"), as_version=4)
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nbformat.writes(nb)


class SandboxLog:
    """main's way with what a process writes: a file in the sandbox, made and read back by
    name, as root (executed.ipynb, worker.err, functions.err)."""

    NAMES = {"executed": "executed.ipynb", "worker.err": "worker.err"}

    def __init__(self, box, name: str):
        self.path = box.root / self.NAMES.get(name, "functions.err")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    def tail(self, limit: int = 65536) -> str:
        return self.path.read_bytes()[-limit:].decode("utf-8", "replace")

    def read(self, limit: int) -> bytes:
        return self.path.read_bytes()

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def naive_read(folder, relpath, limit: int) -> bytes:
    """main's way of reading what the sandbox left: by path, following every link."""
    base = Path(f"/proc/self/fd/{folder}") if isinstance(folder, int) else Path(folder)
    return (base / relpath).read_bytes()


def without_protection(monkeypatch) -> None:
    monkeypatch.setattr(untrusted, "read_bytes", naive_read)
    monkeypatch.setattr(boundary, "outputs_onto", lambda own, ran: (ran, None))
    monkeypatch.setattr(boundary, "Log", SandboxLog)
    monkeypatch.setattr(boundary, "clear", lambda box: None)  # main left the notebook's files


def grade_class(base: Path, monkeypatch, fifo: bool) -> tuple[dict, Course, dict[str, Path]]:
    """The tiny class graded in this process: (student -> result, course, planted files);
    ``fifo``: with the student whose model is a FIFO (main's grader would block on it)."""
    secret_dir = base / "root-only"
    secret_dir.mkdir(mode=0o700)
    (secret_dir / "model.keras").write_text(f"first line\n{SECRET_LINE}\n")
    overwritten = base / "root-only.pth"
    overwritten.write_text("import this_is_root_code\n")
    for path in (secret_dir / "model.keras", overwritten):
        path.chmod(0o600)
    root = tiny_course_at(base / "course")
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    course = Course(root)
    gradebook.ensure_assignment(course)
    subs = base / "subs"
    place(subs, "honest", tiny_submission())
    if fifo:
        place(subs, "fifo", submission("import os\nos.mkfifo('export/model.keras')"))
    for student, cell in attacks(secret_dir, overwritten).items():
        place(subs, student, submission(cell))
    monkeypatch.chdir(root)  # the grader's working folder: where /proc/self/cwd leads it
    options = pipeline.Options(limits=Limits(cell_timeout=10, notebook_timeout=60),
                               workers=2, hidden=[subs])
    results = pipeline.grade_all(course, find([subs], expected=TINY_NAME), options,
                                 gradebook.points_by_test(course))
    planted = {"model": secret_dir / "model.keras", "overwritten": overwritten}
    return {r.student: r for r in results}, course, planted


def kept_model(course: Course, student: str) -> bytes | None:
    path = course.artifacts_dir(student) / "model.keras"
    return path.read_bytes() if path.is_file() else None


@pytest.fixture(scope="module")
def unprotected(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:  # undone once the class is graded
        without_protection(monkeypatch)
        return grade_class(tmp_path_factory.mktemp("unprotected"), monkeypatch, fifo=False)


OPENED: list[str] = []  # every path this process opens while `protected` grades
RECORDING = threading.Event()


def _record(event: str, args: tuple) -> None:
    if RECORDING.is_set() and event == "open" and isinstance(args[0], str | bytes | Path):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_record)  # for good: an audit hook cannot be removed (it records when set)


@pytest.fixture(scope="module")
def protected(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        RECORDING.set()
        try:
            return grade_class(tmp_path_factory.mktemp("protected"), monkeypatch, fifo=True)
        finally:
            RECORDING.clear()


def test_without_the_boundary_every_attack_works(unprotected):
    result, course, planted = unprotected
    assert result["honest"].score == 5
    # a wrong add scored as the solution: the grader read the solution as the executed run
    assert result["executed_link"].score == 5, result["executed_link"]
    # a root-only file kept as the student's model (0644 in graded_models) and history
    secret = planted["model"].read_bytes()
    assert kept_model(course, "model_link") == secret
    assert (course.artifacts_dir("model_link") / "history.json").read_bytes() == secret
    assert kept_model(course, "export_dir_link") == secret
    # a root-only file the grader opened for writing (a .pth in a venv: root code)
    assert planted["overwritten"].read_text() == ""
    # a root-only file's last line quoted in the student's own message
    assert SECRET_LINE in str(result["worker_err_link"].notes)


def test_with_the_boundary_no_attack_works(protected):
    result, course, planted = protected
    assert result["honest"].score == 5 and result["honest"].error is None
    # the executed notebook never was a name in the sandbox: the link there reads nothing
    for student in ("executed_link", "model_link", "export_dir_link", "fifo"):
        assert kept_model(course, student) is None, student
        assert result[student].score == 0 and result[student].error is None  # its own add
    assert not (course.artifacts_dir("model_link") / "history.json").exists()
    assert planted["overwritten"].read_text() == "import this_is_root_code\n"
    worker = result["worker_err_link"]
    assert SECRET_LINE not in str(worker) and "kernel died" in str(worker.notes), worker
    everything = "\n".join(str(r) for r in result.values())
    for path in course.graded_dir.rglob("*"):
        if path.is_file():
            everything += path.read_text(errors="replace")
    assert SECRET_LINE not in everything


def test_the_grader_opens_no_name_inside_a_sandbox(protected):
    """The rule itself, as Python's audit hook sees every open of the grader's process: no
    path inside a sandbox (``<run>/grade-*/...``) is opened; only the sandbox folder itself,
    whose descriptor everything else is opened under (those opens name one component each,
    relative to a descriptor: ``untrusted`` does them, with O_NOFOLLOW; the hook cannot see
    a stat or a listing, only opens)."""
    inside = [path for path in OPENED if re.search(r"/grade-[^/]+/.", path)]
    assert inside == [], inside
    assert any(re.search(r"/grade-[^/.]+$", path) for path in OPENED)  # the folders, by fd
