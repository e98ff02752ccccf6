"""The zygote (autograder/grader/sandbox/zygote.py): one pre-imported process forks a clean
worker for every submission, for every worker slot.

A small TensorFlow stand-in assignment (``probe``) has one answer cell and six one-point test
cells, each of which fails if a previous student's process state is visible: numpy patched,
Keras' global dtype policy changed, the random seeds set, a thread left running, an
environment variable, a file in /tmp. A polluting student sets all of them; the next
student graded by the same zygote must score as when graded alone. First the attack is shown
to work when the two run in one process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grader.sandbox import folder
from autograder.grader.sandbox.boundary import Log
from autograder.grader.sandbox.isolation import isolation_problem
from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.zygote import Job, Zygote, notebook_imports

from helpers import (
    SOLUTION,
    TINY_NAME,
    by_student,
    kernel_only_grading,
    make_cell,
    place,
    run_grade,
    tiny_course_at,
    tiny_source_notebook,
    tiny_submission,
)

SETUP = """import os, random, tempfile, threading
import numpy as np
import tensorflow as tf
X = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
y = (X[:, 0] > 0).astype("int64")"""

CLEAN = "result = 1"

# Everything a student could leave behind in a reused process.
POLLUTE = """result = 1
np.polluted = True
np.maximum = lambda a, b: a * 0 - 7
tf.keras.mixed_precision.set_global_policy("mixed_float16")
tf.keras.utils.set_random_seed(99)
os.environ["POLLUTED"] = "yes"
def _spin():
    import time
    while True:
        time.sleep(0.05)
threading.Thread(target=_spin, name="leftover", daemon=True).start()
# The zygote's temporary folder is cached in tempfile: shared by every student unless reset.
open(os.path.join(tempfile.gettempdir(), "polluted"), "w").write("left behind")"""

TESTS = {
    "test_numpy": "assert not hasattr(np, 'polluted') and "
                  "np.maximum(np.array([-1.0, 2.0]), 0).tolist() == [0.0, 2.0], 'numpy patched'",
    "test_policy": "assert tf.keras.mixed_precision.global_policy().name == 'float32', "
                   "'global dtype policy changed'",
    # Unseeded draws equal to the first draws after seed 99 mean the seed was inherited.
    "test_seeds": "_first = (random.random(), np.random.rand(), float(tf.random.uniform([])))\n"
                  "tf.keras.utils.set_random_seed(99)\n"
                  "_seeded = (random.random(), np.random.rand(), float(tf.random.uniform([])))\n"
                  "assert all(a != b for a, b in zip(_first, _seeded)), 'seeds inherited'",
    "test_threads": "assert 'leftover' not in [t.name for t in threading.enumerate()], "
                    "'a thread was left running'",
    "test_environment": "assert 'POLLUTED' not in os.environ and not os.path.exists("
                        "os.path.join(tempfile.gettempdir(), 'polluted')), "
                        "'environment or files left'",
    # A tiny training, so every fork also runs TensorFlow's thread pools and BLAS.
    "test_training": "tf.keras.utils.set_random_seed(3)\n"
                     "m = tf.keras.Sequential([tf.keras.Input((8,)), "
                     "tf.keras.layers.Dense(4, activation='relu'), tf.keras.layers.Dense(2)])\n"
                     "m.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy("
                     "from_logits=True), optimizer=tf.keras.optimizers.Adam(0.05))\n"
                     "h = m.fit(X, y, epochs=3, batch_size=32, verbose=0)\n"
                     "assert np.isfinite(X @ X.T @ X).all()  # BLAS, with its threads\n"
                     "assert h.history['loss'][-1] < 0.5 and m.dtype_policy.name == 'float32', "
                     "h.history['loss']",
}


def probe_notebook(answer: str = CLEAN, *, tests: bool = True) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [make_cell("code", SETUP, "setup", locked=True),
                make_cell("code", f"### BEGIN SOLUTION\n{answer}\n### END SOLUTION", "answer",
                          solution=True)]
    if tests:
        nb.cells += [make_cell("code", src, gid, grade=True, locked=True, points=1)
                     for gid, src in TESTS.items()]
    return nb


PROBE_ID = "probe"
PROBE_NAME = f"{PROBE_ID}.ipynb"


def submission(answer: str) -> str:
    return nbformat.writes(probe_notebook(answer))


def points(grades: dict) -> dict[str, dict[str, float]]:
    return {s["student"]: {t: r["points"] for t, r in s["tests"].items()}
            for s in grades["submissions"]}


@pytest.mark.slow
def test_the_pollution_breaks_every_test_when_it_shares_a_process(tmp_path):
    """Without a fresh process per student: the polluting answer, then the next student's
    tests, in one kernel. Every probe fails, so the tests below can see a leak."""
    nb = probe_notebook(POLLUTE)
    nb.cells.insert(2, make_cell("code", SETUP))  # the next student's notebook starts over
    nb.cells.insert(3, make_cell("code", CLEAN))
    path = tmp_path / "shared.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "out.ipynb"
    proc = subprocess.run([sys.executable, "-m", "autograder.student.runner", str(path),
                           str(out), str(tmp_path / "export")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    failed = {c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(out, 4).cells
              if c.metadata.get("nbgrader", {}).get("grade")
              and any(o.output_type == "error" for o in c.outputs)}
    assert failed == set(TESTS)


VARIANTS = {
    "right": CLEAN,
    "wrong": "result = 1\ntf.keras.mixed_precision.set_global_policy('mixed_float16')",
    "broken": "result = 1\nimport os\nos._exit(3)",
}


ATTACK_ZYGOTE = """result = 1
import os, signal
# Walk up from this kernel to every ancestor it can see; kill the one that is a zygote.
found, pid = [], os.getppid()
while pid > 1:
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        parent = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        break
    if b"autograder.grader.sandbox.zygote" in cmdline:
        found.append(pid)
        os.kill(pid, signal.SIGKILL)
    pid = parent
if found:
    np.maximum = None  # scores 0 on test_numpy: the attack reached the zygote"""

# Busy when the attacker beside it kills the zygote. A second run in the folder of its first
# would find what the first left there, and score 0 on test_numpy.
BUSY = """result = 1
import time
if os.path.exists("was_here"):
    np.maximum = None
open("was_here", "w").close()
time.sleep(10)"""


@pytest.fixture(scope="module")
def probe_course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("probe") / "probe-course"
    src = course / "solutions" / PROBE_ID  # an assignment of its own, kernel-only tests
    src.mkdir(parents=True)
    nbformat.write(probe_notebook(), src / PROBE_NAME)
    kernel_only_grading(src)
    return course


@pytest.fixture(scope="module")
def fresh(probe_course, tmp_path_factory) -> dict[str, dict]:
    """Each variant graded alone, in a fresh process (--no-zygote): what the zygote's
    grades must equal."""
    base = tmp_path_factory.mktemp("fresh")
    for kind, answer in VARIANTS.items():
        place(base / "subs", kind, submission(answer), PROBE_NAME)
    grades, _ = run_grade(probe_course, base / "subs", "--workers", "2", "--no-zygote",
                          "--db", f"sqlite:///{base / 'fresh.db'}")
    expected = by_student(grades)
    assert points(grades)["right"] == dict.fromkeys(TESTS, 1)
    assert expected["broken"]["score"] == 0 and expected["wrong"]["score"] == 4
    return expected


MANY = 30  # the stress test's students, after the three below


@pytest.fixture(scope="module")
def one_zygote(probe_course, tmp_path_factory) -> dict:
    """One locked-in zygote (--workers 1) forks every student in a row, in name order: the
    zygote's attacker, the polluter, an honest student, then the stress test's 30 (the
    three variants in turn), every one of which trains with TensorFlow and BLAS (with both
    cores' threads: one worker has them all)."""
    base = tmp_path_factory.mktemp("one-zygote")
    place(base / "subs", "a_attacker", submission(ATTACK_ZYGOTE), PROBE_NAME)
    place(base / "subs", "b_polluter", submission(POLLUTE), PROBE_NAME)
    place(base / "subs", "next", submission(CLEAN), PROBE_NAME)
    for i in range(MANY):
        kind = list(VARIANTS)[i % 3]
        place(base / "subs", f"s{i:02d}_{kind}", submission(VARIANTS[kind]), PROBE_NAME)
    # A hang would hit the notebook timeout and change the grades.
    grades, text = run_grade(probe_course, base / "subs", "--workers", "1",
                             "--notebook-timeout", "120",
                             "--db", f"sqlite:///{base / 'one-zygote.db'}")
    assert "no zygote" not in text and "ended while" not in text
    return grades


@pytest.mark.slow
@pytest.mark.skipif(isolation_problem() is not None, reason=f"{isolation_problem()}")
def test_next_student_in_the_same_zygote_scores_as_when_graded_alone(one_zygote, fresh):
    got = by_student(one_zygote)
    assert got["next"]["tests"] == fresh["right"]["tests"]
    # The polluter saw its own changes: the probes work in a forked worker too.
    assert points(one_zygote)["b_polluter"]["test_numpy"] == 0
    assert points(one_zygote)["b_polluter"]["test_threads"] == 0


@pytest.mark.slow
@pytest.mark.skipif(isolation_problem() is not None, reason=f"{isolation_problem()}")
def test_thirty_forks_in_a_row_train_without_a_hang_and_grade_as_fresh_processes(
        one_zygote, fresh):
    many = [s for s in one_zygote["submissions"] if s["student"].startswith("s")]
    assert len(many) == MANY
    for student in many:
        kind = student["student"].split("_")[1]
        assert student["tests"] == fresh[kind]["tests"], student["student"]
        assert student.get("error") == fresh[kind].get("error")


@pytest.mark.slow
@pytest.mark.skipif(isolation_problem() is not None, reason=f"{isolation_problem()}")
def test_student_code_cannot_reach_the_zygote(tmp_path, probe_course, one_zygote, fresh):
    """Without isolation the student runs as the grader and kills the zygote, and with it
    the worker of the student graded beside it. Both are graded again in fresh processes, in
    new sandboxes, and the next student by a new zygote. Locked in, it finds nothing."""
    subs = tmp_path / "subs"
    place(subs, "a_attacker", submission(ATTACK_ZYGOTE), PROBE_NAME)
    place(subs, "b_busy", submission(BUSY), PROBE_NAME)
    place(subs, "next", submission(CLEAN), PROBE_NAME)
    open_grades, text = run_grade(probe_course, subs, "--workers", "2", "--isolation", "off",
                                  "--db", f"sqlite:///{tmp_path / 'open.db'}")
    for student in ("a_attacker", "b_busy"):  # the attack worked: the zygote ended
        assert (f"{student}: the zygote ended while the notebook ran; running it again in "
                "a fresh process") in text, text
    got = by_student(open_grades)
    assert got["b_busy"]["tests"] == fresh["right"]["tests"]  # not its first run's folder
    # A fresh run has no zygote above it to find: the attack bought the attacker a rerun.
    assert points(open_grades)["a_attacker"] == dict.fromkeys(TESTS, 1)
    assert points(open_grades)["next"] == dict.fromkeys(TESTS, 1)

    assert points(one_zygote)["a_attacker"] == dict.fromkeys(TESTS, 1)


def test_the_zygote_preloads_what_the_source_notebook_imports():
    """The real assignment's zygote imports TensorFlow; the tiny one's only what it uses."""
    real = notebook_imports(nbformat.read(SOLUTION, as_version=4))
    assert {"numpy", "tensorflow", "keras", "matplotlib.pyplot", "digit_helpers"} <= set(real)
    assert notebook_imports(tiny_source_notebook()) == ["sys"]
    nb = probe_notebook()
    nb.cells.append(make_cell("code", "%matplotlib inline\n!pip list\nfrom . import x\n"
                                      "import a.b as c, d\nfrom e.f import g"))
    nb.cells.append(make_cell("code", "this is not python"))
    assert notebook_imports(nb)[-3:] == ["a.b", "d", "e.f"]


# The student's code lists what its kernel holds (the kernel is forked from the worker).
LOOK = """import os
held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}")]
print([f for f in held if "pidfd" in f])"""


def test_one_zygote_serves_two_slots_and_no_worker_holds_the_others_pidfd(tmp_path):
    """Line 0's worker runs while slot 1's is forked. The zygote then holds a pidfd for
    slot 0's worker (what it waits on), which a worker forked at that moment would inherit,
    and with it the power to signal another student's worker: the zygote closes it in the
    child, with every slot's socket."""
    from autograder.student.notebook import read_notebook

    def job(source: str) -> Job:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        box = folder.create(nbformat.writes(nb), tmp_path)
        made = Job.of(box, Limits(), threads=1, uid=None, paths=None)
        # the grader's files, as run_forked makes them
        made.err_file, made.out_file = (str(Log(box, name).path) for name in ("err", "out"))
        return made

    zygote = Zygote(tmp_path / "zygote", slots=2)
    try:
        sleeper, looker = zygote.lines
        sleeping = sleeper.start(job("import time\ntime.sleep(60)"))
        fds = Path(f"/proc/{zygote.process.pid}/fd")
        held = [os.readlink(fd) for fd in fds.iterdir() if fd.exists()]
        assert held.count("anon_inode:[pidfd]") == 1, held  # the attack surface exists
        look = job(LOOK)
        looker.start(look)
        assert looker.poll(60) == 0
        assert sleeper.poll() is None and looker.pid != sleeping  # both served at once
        [cell] = read_notebook(Path(look.out_file)).cells
        assert cell.outputs[0]["text"].strip() == "[]", cell.outputs  # the worker held none
        sleeper.kill()
        assert sleeper.wait() == -9
    finally:
        zygote.close()


REFUSE = """
import socket, threading, time
from multiprocessing.connection import Connection
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # as a library might
from autograder.grader.sandbox import zygote
a, b = socket.socketpair()
code = zygote.serve([Connection(a.detach())], [])
print(code, Connection(b.detach()).recv_bytes().decode())
"""


def test_a_zygote_whose_imports_started_a_thread_refuses_to_serve():
    """fork copies a running thread's locks but not the thread: such a zygote says so."""
    one_blas_thread = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # as a zygote has
    proc = subprocess.run([sys.executable, "-c", REFUSE], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **one_blas_thread})
    code, message = proc.stdout.split(" ", 1)
    assert code == "1", proc.stderr
    assert json.loads(message) == {"ready": False, "why": (
        "2 threads are running after the imports; forking would copy their locks without "
        "them")}


@pytest.mark.slow
def test_without_fork_the_class_is_graded_in_fresh_processes_with_a_warning(
        tiny_gradebook_course, tmp_path, monkeypatch, caplog):
    from autograder.grader import gradebook, pipeline
    from autograder.grader.steps.submissions import find

    monkeypatch.delattr(os, "fork")  # as on a platform without it
    subs = tmp_path / "subs"
    place(subs, "amy", tiny_submission())
    place(subs, "bob", tiny_submission(None))
    with caplog.at_level(logging.WARNING, logger="autograder.grader.pipeline"):
        results = pipeline.grade_all(tiny_gradebook_course, find([subs], expected=TINY_NAME),
                                     pipeline.Options(workers=2, isolate=False),
                                     gradebook.points_by_test(tiny_gradebook_course))
    assert [(r.student, r.score, r.error) for r in results] == [("amy", 5, None),
                                                                 ("bob", 0, None)]
    assert "grading with a fresh process per submission: a zygote needs Linux" in caplog.text


# grade, with two spies: when the zygote is started, whether nbgrader is imported yet; and how
# many zygotes are made in all (the pipeline must use the one started, not start another).
EARLY = """import sys
from autograder.cli import main
from autograder.grader.sandbox import zygote
start, init, made = zygote.start, zygote.Zygote.__init__, []
def spy(*args):
    print("nbgrader imported first:", "nbgrader" in sys.modules)
    started = start(*args)
    print("folder:", started.folder)
    return started
def counting(self, *args, **kwargs):
    made.append(1)
    init(self, *args, **kwargs)
zygote.start, zygote.Zygote.__init__ = spy, counting
code = main(sys.argv[1:])
print("zygotes made:", len(made))
sys.exit(code)"""


def test_grade_starts_the_zygote_before_importing_nbgrader_and_grades_with_it(tmp_path):
    """The zygote imports (TensorFlow, for the real assignment) while the grader imports
    nbgrader and reads the gradebook. The pipeline grades with that zygote; with nothing to
    grade (the second run: unchanged), it ends it. Either way its folder is removed."""
    course = tiny_course_at(tmp_path / "course")
    place(tmp_path / "subs", "amy", tiny_submission())
    cmd = [sys.executable, "-c", EARLY, "grade", str(tmp_path / "subs"), "--course-dir",
           str(course), "--workers", "1", "--json", str(tmp_path / "grades.json"), "--quiet",
           "--details"]  # the notes whole
    for run in ("graded", "unchanged"):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "nbgrader imported first: False" in proc.stdout
        assert "zygotes made: 1" in proc.stdout, proc.stdout
        folder = Path(proc.stdout.split("folder: ")[1].split()[0])
        assert folder.name.startswith("autograder-") and not folder.exists()
        [amy] = json.loads((tmp_path / "grades.json").read_text())["submissions"]
        assert amy["score"] == 5
        assert ("unchanged since it was last graded" in proc.stdout) == (run == "unchanged")
