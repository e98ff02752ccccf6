"""A pre-imported process that forks a clean worker for each submission, for every slot.

Starting Python, a Jupyter kernel and TensorFlow costs every submission seconds of the same
work (bench/README.md, "Measurements behind the code"). The zygote (as PrairieLearn's
Python grader has it) pays that once per class: it imports what a graded notebook imports,
never runs student code, and for each request forks a child that locks itself in exactly as
``unshare`` + ``autograder.grader.sandbox.jail`` do for a fresh worker (namespaces, hidden
paths, limits, the slot's uid), then runs ``autograder.student.runner`` in-process with a
kernel forked from itself. Every submission starts from the zygote's untouched memory, so
nothing one student's code does is seen by the next. One zygote serves all the worker
slots, each over its own socket pair:
a second copy of TensorFlow's imports would cost CPU seconds and memory and buy nothing.

No child keeps a socket or another worker's pidfd: student code cannot reach or alter the
zygote. It refuses to serve (and the grader falls back to fresh processes) when its imports
started a thread, since fork copies a thread's locks but not the thread.

    parent (grader)   --request (slot k)-->  zygote  --fork-->  worker [--fork--> PID 1]
                      <--pid, exit (slot k)--                     runner + forked kernel
"""

from __future__ import annotations

import ast
import gc
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.grader.sandbox import jail, memory
from autograder.grader.sandbox.folder import BASE_PREFIX, Sandbox, environment
from autograder.grader.sandbox.limits import Limits, die_with_parent

# What every worker imports; the assignment's own imports come from its source notebook.
# ipykernel.debugger (debugpy) is imported by each new kernel, slowly in a fork, whose large
# heap makes its many classes slow to create.
WORKER_MODULES = ("threadpoolctl", "ipykernel.kernelapp", "ipykernel.debugger", "nbformat",
                  "nbclient", "autograder.student.runner", "autograder.student.forked_kernel")
START_SECONDS = 120  # imports on a loaded machine; a zygote slower than this is not used
EXIT_SETUP = 4       # as the jail: the sandbox could not be set up


class ZygoteError(RuntimeError):
    pass


def unavailable() -> str | None:
    """Why no zygote can work on this machine, or None."""
    return None if hasattr(os, "fork") and sys.platform == "linux" else \
        "a zygote needs Linux (fork and /proc)"


def start(source_notebook: Path, slots: int) -> Zygote:
    """A zygote for the assignment of ``source_notebook``, importing from now on, in a new
    folder of its own (removed when it is closed; after a killed grader, by the next one's
    ``folder.new_base``). ``grade`` starts it before it imports nbgrader and reads the
    gradebook, and the grading pipeline adopts it."""
    preload = notebook_imports(nbformat.read(source_notebook, as_version=4))
    folder = Path(tempfile.mkdtemp(prefix=f"{BASE_PREFIX}{os.getpid()}-zygote-"))
    try:
        zygote = Zygote(folder / "zygote", preload, slots)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    zygote.folder = folder
    return zygote


@dataclass
class Job:
    """One submission for the zygote: its sandbox, environment, limits and lock-in."""

    root: str
    env: dict[str, str]
    threads: int
    cpu_seconds: int
    file_size: int
    cell_timeout: int
    output_limit: int
    uid: int | None = None          # None: run as the grader (isolation off)
    namespaces: bool = False
    hide: tuple[str, ...] = ()
    reveal: tuple[str, ...] = ()
    nproc: int = 1024
    err_file: str = ""  # the grader's new files for the worker's stderr (boundary.Log)
    out_file: str = ""  # and for the executed notebook
    cgroup: str = ""    # the run's memory cgroup to join first (memory.CgroupMeter.join)

    @classmethod
    def of(cls, box: Sandbox, limits: Limits, threads: int, uid: int | None,
           paths: tuple[list[str], list[str]] | None) -> Job:
        """``paths``: (hidden, revealed) to lock the submission in namespaces, or None."""
        hide, reveal = paths or ([], [])
        return cls(str(box.root), environment(box, threads), threads, limits.cpu_seconds,
                   limits.file_size, limits.cell_timeout, limits.output_size, uid,
                   paths is not None, tuple(hide), tuple(reveal))


# ---------------------------------------------------------------- the grader's side


class Zygote:
    """The grader's handle on the zygote process; ``lines[k]`` is worker slot k's line."""

    def __init__(self, home: Path, preload: Sequence[str] = (), slots: int = 1):
        """Start a zygote in ``home`` (a new folder) that imports ``preload`` (see
        ``notebook_imports``) before it serves ``slots`` worker slots."""
        pairs = [_socketpair() for _ in range(max(1, slots))]
        home.mkdir(mode=0o700)
        env = environment(Sandbox(home), threads=1)  # BLAS without a thread pool to fork
        self._err = open(home / "zygote.err", "wb")
        fds = [child.fileno() for _, child in pairs]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grader.sandbox.zygote",
             ",".join(map(str, fds)), *preload],
            pass_fds=fds, cwd=home, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._err, preexec_fn=die_with_parent)
        for _, child in pairs:
            child.close()
        self.home = home
        self.folder: Path | None = None  # its own folder, removed on close (see start)
        self.import_seconds: float | None = None  # known once ready
        self.lines = [Line(self, parent) for parent, _ in pairs]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def error(self) -> str:
        err = (self.home / "zygote.err").read_text(errors="replace").strip()
        return err.splitlines()[-1] if err else "no message"

    def end(self) -> None:
        """Kill the zygote (and so every worker it forked: they die with it)."""
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """End it and its workers, and remove its folder (it may be called again)."""
        for line in self.lines:
            line.kill()
            line.conn.close()
        self.end()
        self._err.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class Line:
    """One worker slot's line to the zygote: one job at a time, as a fresh worker."""

    def __init__(self, zygote: Zygote, conn: Connection):
        self.zygote = zygote
        self.conn = conn
        self.pid: int | None = None   # the running job's worker
        self.exit: int | None = None
        self.lost: str | None = None  # why the zygote reported no exit (then -SIGKILL)
        self._ready = False

    def ready(self) -> None:
        """Wait until the imports are done (it imports while the grader prepares)."""
        if self._ready:
            return
        hello = self._receive(START_SECONDS, "start")
        if not hello.get("ready"):
            raise ZygoteError(hello.get("why", "not ready"))
        self._ready = True
        self.zygote.import_seconds = hello["seconds"]

    def _receive(self, timeout: float, what: str) -> dict:
        try:
            if self.conn.poll(timeout):
                return json.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            pass
        raise ZygoteError(f"the zygote did not answer ({what}): {self.zygote.error()}")

    def start(self, job: Job) -> int:
        """Fork a worker for ``job``; its pid (the leader of its own process group)."""
        self.ready()
        try:
            self.conn.send_bytes(json.dumps(asdict(job)).encode())
        except OSError as exc:
            raise ZygoteError(f"the zygote is gone ({exc})") from None
        self.pid, self.exit, self.lost = self._receive(10, "fork")["pid"], None, None
        return self.pid

    def poll(self, timeout: float = 0) -> int | None:
        """The worker's exit status (negative: the signal) once it has ended, else None."""
        try:
            if self.exit is None and self.conn.poll(timeout):
                self.exit = json.loads(self.conn.recv_bytes())["exit"]
        except (EOFError, OSError):  # the zygote died; its worker dies with it
            self.exit, self.lost = -signal.SIGKILL, "the zygote ended while the notebook ran"
        return self.exit

    def kill(self) -> None:
        """End the worker and all it started: its PID namespace dies with it, and without
        one, what is left in its process group (as for a fresh worker)."""
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None  # its group is ended, and its number may be reused: not again

    def wait(self) -> int:
        code = self.poll(30)
        if code is None:  # killed, yet its end never reported: the zygote is not answering
            self.exit = code = -signal.SIGKILL
            self.lost = "the zygote did not report the end of the killed notebook"
        self.pid = None  # its number may be reused: never signal it again
        return code


def notebook_imports(nb: NotebookNode) -> list[str]:
    """The modules a notebook's code cells import, in order: what its kernel would import.

    The instructor's source notebook names them, so the zygote of an assignment imports
    TensorFlow and the tiny test assignment's does not. IPython's magics and shell lines
    are skipped; a cell that is not Python is ignored.
    """
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return list(dict.fromkeys(names))


def _socketpair() -> tuple[Connection, Connection]:
    import socket

    a, b = socket.socketpair()
    return Connection(a.detach()), Connection(b.detach())


# ---------------------------------------------------------------- the zygote's side


def running_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def serve(conns: list[Connection], preload: list[str]) -> int:
    start = time.perf_counter()
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the student's kernel will meet it and say so
            print(f"not preloaded: {name}: {exc}", file=sys.stderr)
    try:
        for name in WORKER_MODULES:
            importlib.import_module(name)
    except Exception as exc:
        return _refuse(conns, f"import failed: {exc}")
    try:
        os.close(os.pidfd_open(os.getpid()))  # how it waits for its workers (Linux 5.3)
    except (AttributeError, OSError) as exc:
        return _refuse(conns, f"cannot wait for workers here ({exc})")
    _warm_up()
    threads = running_threads()
    if threads != 1:
        return _refuse(conns, f"{threads} threads are running after the imports; forking "
                              "would copy their locks without them")
    for conn in conns:
        conn.send_bytes(json.dumps({"ready": True,
                                    "seconds": round(time.perf_counter() - start, 2)}).encode())
    zygote = os.getpid()
    serving = list(conns)
    running: dict[int, tuple[Connection, int]] = {}  # a worker's pidfd: (its slot, its pid)
    while serving:  # until the grader closes every slot
        for ready in wait([*serving, *running]):
            if isinstance(ready, int):  # a worker ended
                conn, pid = running.pop(ready)
                os.close(ready)
                _, status = os.waitpid(pid, 0)
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                continue
            try:
                job = Job(**json.loads(ready.recv_bytes()))
            except EOFError:
                serving.remove(ready)
                continue
            pid = os.fork()
            if pid == 0:  # the worker and the student's code hold no socket and no pidfd
                for conn in conns:
                    conn.close()
                for fd in running:
                    os.close(fd)
                os._exit(_worker(job, zygote))
            running[os.pidfd_open(pid)] = (ready, pid)
            _send(ready, {"pid": pid})
    return 0


def _send(conn: Connection, message: dict) -> None:
    try:
        conn.send_bytes(json.dumps(message).encode())
    except OSError:  # the grader closed this slot; its worker was killed first
        pass


def _refuse(conns: list[Connection], why: str) -> int:
    for conn in conns:
        conn.send_bytes(json.dumps({"ready": False, "why": why}).encode())
    return 1


def _warm_up() -> None:
    """Do once what every worker would do first, in pure Python (no thread, nothing of
    TensorFlow's runtime): compile nbformat's schema validator (else every worker would), then move
    everything imported so far out of the garbage collector's reach, so that a worker's
    collections do not walk (and copy, page by page) the imported modules' objects."""
    nbformat.validate(nbformat.v4.new_notebook())
    gc.freeze()


def _worker(job: Job, zygote: int) -> int:
    """In the forked child: lock in, then run the notebook. Returns the exit status."""
    try:
        memory.joiner(job.cgroup or None)()  # first: what it touches from now on is the run's
        os.setsid()  # a process group the grader can kill whole
        die_with_parent()
        if os.getppid() != zygote:  # the zygote died before the request took effect
            return 1
        resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_seconds, job.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (job.file_size, job.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _redirect_output(job.err_file)
        # Opened before the uid drops: the grader's file, in its own folder (root's).
        out = os.open(job.out_file, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        if job.namespaces:
            jail.unshare_namespaces()
            first = os.fork()  # the first process of the new PID namespace
            if first:
                return _follow(first)
            die_with_parent()  # as `unshare --kill-child`
            jail.mount_proc()
            jail.lock_in(list(job.hide), list(job.reveal))
        os.chdir(job.root)
        os.environ.clear()
        os.environ.update(job.env)
        tempfile.tempdir = None  # the zygote's was cached; TMPDIR is now the sandbox's
        if job.uid is not None:
            jail.drop_privileges(job.uid, job.nproc)
    except Exception as exc:
        print(f"sandbox setup failed: {exc}", file=sys.stderr)
        return EXIT_SETUP
    try:
        import threadpoolctl

        from autograder.student import runner

        threadpoolctl.threadpool_limits(job.threads)  # the zygote imported BLAS with one
        if "numpy" in sys.modules:  # new entropy, as a fresh process has (random reseeds)
            sys.modules["numpy"].random.seed()
        box = Sandbox(Path(job.root))
        runner.execute(str(box.notebook), out, str(box.export_dir),
                       job.cell_timeout, job.output_limit, consume=True, fork=True)
    except BaseException as exc:  # reported through the exit status and stderr, as runner
        traceback.print_exc()
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    return 0


def _redirect_output(err_file: str) -> None:
    """stdin and stdout to /dev/null, stderr to the file the grader made for it (in its own
    folder, so nothing student code left can be there: opened, never created)."""
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(err_file, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    os.close(null)
    os.close(err)


def _follow(pid: int) -> int:
    """Wait for the namespace's first process and end as it did (signals included)."""
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # these two have no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return serve([Connection(int(fd)) for fd in argv[0].split(",")], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
