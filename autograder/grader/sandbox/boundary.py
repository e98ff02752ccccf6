"""The one way anything crosses between a sandbox and the grader.

Student code runs in the sandbox folder as the sandbox's uid and owns it: by the time the
grader looks, any name there may be a link (to a solution, to the grader's own kept copies,
through ``/proc/self``, which names another process inside and outside the jail), a FIFO, a
hard link, a huge file, or bytes that claim anything. The grader runs as root outside the
jail, so it never opens a sandbox path by name. Instead, and only in this module:

1. **Reading.** The executed notebook and each process's stderr come back in files of the
   grader's (:class:`Log`), never named in the sandbox. Everything else (the exported
   model, the function calls' results) is read once after every process of the submission
   has ended, relative to the sandbox folder's descriptor, never through a link at any
   component, regular files with one name only, each capped (``autograder.untrusted``).
   What comes out is bytes or plain arrays in the grader's memory, never a path opened
   again.
2. **The notebook's structure is the grader's.** Of the executed notebook only the outputs
   and execution counts are taken, onto the grader's own sanitized copy (``outputs_onto``):
   its cells, metadata and points stay the grader's, so an executed notebook that claims
   other tests or other points claims nothing.
3. **Writing.** Nothing is opened for writing under a name student code could have made:
   the :class:`Log` files are made new in the run's own folder (root's, not listable,
   hidden by the jail) and handed to the processes as descriptors; the function calls'
   inputs go into a folder made new here, each file created with ``O_EXCL | O_NOFOLLOW``
   (an existing name, link or not, is an error).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
from dataclasses import dataclass, field

import nbformat
import numpy as np
from nbformat.notebooknode import NotebookNode

from autograder import untrusted
from autograder.grader.sandbox.folder import Sandbox
from autograder.model.arrays import read_arrays
from autograder.student.export_cell import Exported, read_exported

LOG_TAIL = 64 * 2**10           # the end of a process's stderr: its last line is the news
RESULTS_BYTES = 16 * 2**20      # the function calls' arrays (their elements are capped too)
ERRORS_BYTES = 2**20


class Log:
    """A new file in the run's own folder, kept open by the grader, for what a process it
    starts writes: its stderr, or the executed notebook.

    The run's folder (the sandboxes' parent) is root's and not listable, and the jail hides
    it: student code can neither name nor replace the file, nor fill it through a full
    sandbox; it reaches only the descriptor its process inherits (the runner keeps the
    notebook's from the kernel). The grader reads it back through its own descriptor.
    """

    def __init__(self, box: Sandbox, name: str):
        self.path = box.root.parent / f"{box.root.name}.{name}"
        self.fd = untrusted.open_new(box.root.parent, self.path.name)

    def tail(self, limit: int = LOG_TAIL) -> str:
        """The last ``limit`` bytes written, as text."""
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, limit, max(0, size - limit)).decode("utf-8", "replace")

    def read(self, limit: int) -> bytes:
        """All that was written; :class:`untrusted.Refused` past ``limit`` bytes."""
        size = os.fstat(self.fd).st_size
        if size > limit:
            raise untrusted.Refused(f"it is {size} bytes, more than the {limit} allowed")
        return os.pread(self.fd, limit + 1, 0)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _root(box: Sandbox) -> int:
    # The grader made the folder in its own run folder, which student code cannot write:
    # the name itself cannot have been replaced, only what lies inside it.
    return untrusted.open_folder(box.root)


# --- the executed notebook ------------------------------------------------------------------

def executed_notebook(log: Log, own: str, limit: int) -> tuple[NotebookNode | None, str | None]:
    """(the grader's sanitized notebook ``own`` with the executed notebook's outputs, None),
    or (None, why the executed notebook is not taken). The runner wrote it into ``log``."""
    try:
        data = log.read(limit)
    except (untrusted.Refused, OSError) as exc:
        return None, f"the executed notebook was not read: {exc}"
    if not data:
        return None, None  # the runner wrote none: its exit status says why
    try:
        ran = nbformat.reader.reads(data.decode("utf-8", "replace"))
        nbformat.validate(ran)
    except Exception:  # anything at all: it is data from student code
        return None, "the executed notebook is not a valid notebook"
    return outputs_onto(nbformat.reader.reads(own), ran)  # the grader's own: valid


def outputs_onto(own: NotebookNode, ran: NotebookNode) -> tuple[NotebookNode | None, str | None]:
    """``own`` with each code cell's outputs and execution count from ``ran``, the same
    notebook as executed; (None, why) when ``ran`` is not that notebook."""
    if ran.get("nbformat") != 4 or len(ran.cells) != len(own.cells):
        return None, "the executed notebook does not have the cells the grader ran"
    for i, (mine, theirs) in enumerate(zip(own.cells, ran.cells, strict=True)):
        if mine.cell_type != theirs.cell_type or mine.source != theirs.source:
            return None, f"the executed notebook's cell {i + 1} is not the one the grader ran"
        if mine.cell_type == "code":
            mine.outputs = theirs.get("outputs", [])
            mine.execution_count = theirs.get("execution_count")
            timing = _timing(theirs.get("metadata", {}).get("execution"))
            if timing:
                mine.metadata["execution"] = timing
    return own, None


# What nbclient records of a cell's run (``record_timing``), as nbgrader's graded notebooks
# keep it: short timestamps, nothing else.
TIMING_KEYS = ("iopub.status.busy", "iopub.execute_input", "shell.execute_reply.started",
               "shell.execute_reply", "iopub.status.idle")


def _timing(found: object) -> dict[str, str]:
    if not isinstance(found, dict):
        return {}
    return {key: found[key] for key in TIMING_KEYS
            if isinstance(found.get(key), str) and len(found[key]) <= 40}


# --- the export folder ----------------------------------------------------------------------

def exported(box: Sandbox) -> Exported:
    """The model, history and report the export cell left."""
    fd = _root(box)
    try:
        return read_exported(fd)
    finally:
        os.close(fd)


# --- the function calls ---------------------------------------------------------------------

def clear(box: Sandbox) -> None:
    """Remove all the notebook left in the sandbox, once what the grader needs of it was
    read: the function calls start in a folder with room, whatever the notebook filled.
    (shutil.rmtree walks by descriptors and removes a link, never what it points to.)"""
    fd = _root(box)
    try:
        for name in os.listdir(fd):
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(name, ignore_errors=True, dir_fd=fd)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def new_folder(box: Sandbox, prefix: str, files: dict[str, bytes], uid: int | None) -> str:
    """A new folder in the sandbox holding ``files``, given to ``uid``; its name."""
    fd = _root(box)
    try:
        name = f"{prefix}{secrets.token_hex(6)}"
        os.mkdir(name, 0o700, dir_fd=fd)  # an existing name, link or not: FileExistsError
        folder = untrusted.open_folder(fd, name)
    finally:
        os.close(fd)
    try:
        for file, data in files.items():
            untrusted.create_new(folder, file, data)
            if uid is not None:
                os.chown(file, uid, uid, dir_fd=folder, follow_symlinks=False)
        if uid is not None:
            os.fchown(folder, uid, uid)
    finally:
        os.close(folder)
    return name


@dataclass
class Returned:
    """What one function-call process handed back: plain arrays and error texts."""

    results: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # why there is nothing to compare


def returned(box: Sandbox, folder: str, max_elements: int) -> Returned:
    """The arrays (``results.npz``, no pickle, each of at most ``max_elements`` numbers) and
    messages (``errors.json``) the call process left in ``folder``."""
    fd = _root(box)
    try:
        results = untrusted.read_bytes(fd, f"{folder}/results.npz", RESULTS_BYTES)
        errors = untrusted.read_bytes(fd, f"{folder}/errors.json", ERRORS_BYTES)
        return Returned(read_arrays(results, max_elements), _messages(errors))
    except (untrusted.Refused, OSError, ValueError) as exc:
        return Returned(problem=f"the results of your functions are unreadable: {exc}")
    finally:
        os.close(fd)


def _messages(data: bytes) -> dict[str, str]:
    try:
        errors = json.loads(data)
    except RecursionError:
        raise ValueError("errors.json is nested too deep") from None
    if not isinstance(errors, dict):
        raise ValueError("errors.json is not an object")
    return {str(k)[:100]: str(v)[:300] for k, v in errors.items()}


