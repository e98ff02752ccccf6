"""The ``.keras`` reader in a process of its own, for files that student code wrote.

``saved_model.read_saved_model`` bounds what it reads, but libhdf5 parses the file's
structure before any check can run, and a crafted file can crash it (a virtual dataset read
from memory ends the process with SIGSEGV: tests/test_hostile_model.py) or worse. So the
grader, and ``feedback``, read a student's model here: a child process (behind ``prefix``:
the jail, as the sandbox's uid, when grading) under limits of memory, CPU time and output
size reads the bytes from its stdin and writes plain arrays and JSON to its stdout, which
are checked again as data (``arrays.read_arrays``). A crash, a hang or garbage is that
student's "could not be read", never the grader's.

    python -m autograder.model.isolated SHAPES_JSON < model.keras > model.npz
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

from autograder.model.arrays import read_arrays
from autograder.model.saved_model import (
    SavedModel,
    Shapes,
    UnreadableModel,
    read_saved_model,
)
from autograder.student.export_cell import MODEL_BYTES

SECONDS = 60
MEMORY = 2 * 2**30           # address space: numpy, h5py and a 20 MiB file fit many times
OUTPUT_BYTES = 16 * 2**20    # six small arrays and the layers' JSON
CANNOT_READ = "the saved model could not be read"


def _limits() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (SECONDS, SECONDS))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_BYTES, OUTPUT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def read_apart(data: bytes, shapes: Shapes, prefix: Sequence[str] = (),
               cwd: str | None = None, env: dict[str, str] | None = None) -> SavedModel:
    """``read_saved_model(data, shapes)``, done in a child process; UnreadableModel as it says, or
    when the child crashed, hung or wrote something that is not its answer."""
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as answer:
        given.write(data)
        given.seek(0)
        try:  # the grader's own unnamed files: nothing in the child's reach names them
            proc = subprocess.run([*prefix, sys.executable, "-m", __name__,
                                   json.dumps([list(s) for s in shapes])], stdin=given,
                                  stdout=answer, stderr=subprocess.PIPE, cwd=cwd, env=env,
                                  timeout=SECONDS, preexec_fn=_limits, check=False)
        except subprocess.TimeoutExpired:
            raise UnreadableModel(f"{CANNOT_READ}: reading it took more than {SECONDS} s"
                                  ) from None
        if proc.returncode < 0:
            raise UnreadableModel(f"{CANNOT_READ}: the reader was stopped by signal "
                                  f"{signal.Signals(-proc.returncode).name}")
        if proc.returncode != 0:
            why = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            raise UnreadableModel(why[0][:500] if why[0].startswith(CANNOT_READ)
                                  else f"{CANNOT_READ}: {why[0][:300]}")
        answer.seek(0)
        return _model(answer.read(OUTPUT_BYTES + 1), [tuple(s) for s in shapes])


def _model(out: bytes, shapes: list[tuple[int, ...]]) -> SavedModel:
    """The child's answer, checked as data."""
    try:
        if len(out) > OUTPUT_BYTES:
            raise ValueError("too long")
        arrays = read_arrays(out, max_elements=MODEL_BYTES)
        meta = json.loads(arrays.pop("meta").tobytes())
        weights = [np.asarray(arrays[f"w{i}"], dtype=np.float64)
                   for i in range(len(arrays))]
        shapes = [tuple(int(n) for n in shape) for shape in meta["weight_shapes"]]
        layers = [{"class_name": _text(layer["class_name"]), "units": layer["units"],
                   "activation": _text(layer["activation"])} for layer in meta["layers"]]
    except Exception as exc:  # the reader is ours, but it parsed a hostile file
        raise UnreadableModel(f"{CANNOT_READ}: its reader gave no answer ({exc})") from None
    if weights and [w.shape for w in weights] != shapes:
        raise UnreadableModel(f"{CANNOT_READ}: its reader gave weights of other shapes")
    return SavedModel(layers, weights, shapes, meta.get("loss"), meta.get("optimizer"))


def _text(value: object) -> str | None:
    return value if value is None else str(value)[:200]


def main() -> int:
    """In the child: the model on stdin, its plain parts on stdout as one ``.npz``."""
    data = sys.stdin.buffer.read(MODEL_BYTES + 1)
    shapes = [tuple(int(n) for n in shape) for shape in json.loads(sys.argv[-1])]
    try:
        saved = read_saved_model(data, shapes)
    except UnreadableModel as exc:
        print(exc, file=sys.stderr)
        return 2
    meta = {"layers": saved.layers, "weight_shapes": saved.weight_shapes,
            "loss": saved.loss, "optimizer": saved.optimizer}
    arrays = {f"w{i}": w for i, w in enumerate(saved.weights)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    sys.stdout.buffer.write(buffer.getvalue())
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
