"""The saved model and the other exported files are read with hard bounds.

A ``.keras`` file is a zip of JSON and HDF5 that student code writes (its export cell calls
``model.save``, which student code can replace). HDF5 lets a file of a few kB declare a
dataset of gigabytes (a fill value, chunks of compressed zeros), store a dataset's bytes in
any other file ("external storage"), map it onto other HDF5 files (virtual datasets) or
link groups in from them (external links); a zip member can expand far past its size.
Each file below is built with h5py and zipfile as an attacker would, read first as main
read it (the protections switched off), then through ``read_saved_model`` as shipped.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from autograder.model.isolated import read_apart
from autograder.model.saved_model import UnreadableModel, read_saved_model
from autograder.student import export_cell
from autograder.student.export_cell import read_exported

from helpers import by_student, digit_assignment

LAYERS = [{"class_name": "InputLayer", "config": {}}] + [
    {"class_name": "Dense", "config": {"units": units, "activation": act}}
    for units, act in ((25, "relu"), (15, "relu"), (10, "linear"))]
CONFIG = {"config": {"layers": LAYERS},
          "compile_config": {"loss": {"class_name": "SparseCategoricalCrossentropy",
                                      "config": {"from_logits": True}},
                             "optimizer": {"class_name": "Adam",
                                           "config": {"learning_rate": 0.001}}}}
GROUPS = ["layers/dense/vars", "layers/dense_1/vars", "layers/dense_2/vars"]


def keras_file(path: Path, write_weights, config: bytes | None = None) -> Path:
    """A .keras zip as Keras lays it out, its weights written by ``write_weights(h5)``."""
    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5:
        write_weights(h5)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config or json.dumps(CONFIG))
        archive.writestr("model.weights.h5", weights.getvalue())
    return path


def plain_weights(h5, skip: int | None = None) -> None:
    shapes = iter(EXPECTED_SHAPES)
    for n, group in enumerate(GROUPS):
        g = h5.require_group(group)
        for k in ("0", "1"):
            shape = next(shapes)
            if n != skip or k != "0":
                g.create_dataset(k, data=np.full(shape, 0.5, dtype="<f4"))

EXPECTED_SHAPES = digit_assignment().model.weight_shapes


# main's reader: every group and weight read as it is, wherever its bytes are.
MAINS_WAY = """
import numpy as np
from autograder.model import saved_model
saved_model._hard = lambda h5, path: h5.get("/".join(path))
saved_model._dataset = lambda group, name: group[name]
saved_model._read_weights = lambda datasets, shapes: [np.array(d) for d in datasets]
"""
READ = """
import resource, sys
SHAPES = [(400, 25), (25,), (25, 15), (15,), (15, 10), (10,)]
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a grader with 1 GiB to spare
from pathlib import Path
from autograder.model import saved_model
if sys.argv[2] == "main":
    exec(sys.argv[3])
try:
    saved = saved_model.read_saved_model(Path(sys.argv[1]), SHAPES)
    if saved.weights:
        print("read:", saved.weights[0].astype("<f4").tobytes().hex())
    else:
        print("no weights read: shapes", saved.weight_shapes)
except saved_model.UnreadableModel as exc:
    print("refused:", exc)
except MemoryError:
    print("MemoryError")
"""


MAINS_READER = MAINS_WAY + """
from autograder.model import isolated
raise SystemExit(isolated.main())
"""


def read_in_a_process(model: Path, how: str) -> str:
    """What reading ``model`` gives (``how``: "main" or "bounded"), in a process of its own
    with 1 GiB of address space: a hostile file can crash or exhaust a reader."""
    proc = subprocess.run([sys.executable, "-c", READ, str(model), how, MAINS_WAY],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode < 0:
        return f"killed by {signal.Signals(-proc.returncode).name}"
    return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]


@pytest.fixture
def secret(tmp_path) -> bytes:
    """A root-only file of the grader's machine, as float32 kernels would read it."""
    data = np.arange(400 * 25, dtype="<f4").tobytes()
    (tmp_path / "root-only.bin").write_bytes(data)
    (tmp_path / "root-only.bin").chmod(0o600)
    return data


def test_external_storage_reads_any_file_the_student_names(tmp_path, secret):
    def external(h5):
        plain_weights(h5, skip=0)
        h5["layers/dense/vars"].create_dataset(
            "0", shape=(400, 25), dtype="<f4", external=[(str(tmp_path / "root-only.bin"), 0,
                                                          len(secret))])
    model = keras_file(tmp_path / "model.keras", external)
    # as root, h5py read the file the student named, as the student's weights
    assert read_in_a_process(model, "main") == f"read: {secret.hex()}"
    assert read_in_a_process(model, "bounded").startswith("refused: weight '0' uses external "
                                                          "storage or filters")


def test_virtual_datasets_and_external_links_are_refused(tmp_path):
    other = tmp_path / "another-students-model.h5"  # graded_models holds such files
    with h5py.File(other, "w") as h5:
        plain_weights(h5)
        h5["layers/dense/vars/0"][...] = 7.0
    sevens = np.full((400, 25), 7.0, dtype="<f4").tobytes().hex()

    def virtual(h5):
        plain_weights(h5, skip=0)
        layout = h5py.VirtualLayout(shape=(400, 25), dtype="<f4")
        layout[...] = h5py.VirtualSource(str(other), "layers/dense/vars/0", shape=(400, 25))
        h5["layers/dense/vars"].create_virtual_dataset("0", layout)

    def linked(h5):
        plain_weights(h5)
        del h5["layers/dense"]
        h5["layers/dense"] = h5py.ExternalLink(str(other), "layers/dense")

    virtual_model = keras_file(tmp_path / "virtual.keras", virtual)
    linked_model = keras_file(tmp_path / "linked.keras", linked)
    # main: the grader process itself died on the virtual dataset (libhdf5 resolving its
    # source through the in-memory file). The external link is not resolved from an
    # in-memory file, so main skipped the group and shifted every weight after it; it is
    # refused by name all the same, whatever libhdf5 resolves in another version.
    assert read_in_a_process(virtual_model, "main") == "killed by SIGSEGV"
    assert read_in_a_process(linked_model, "main") != f"read: {sevens}"
    assert "not stored as Keras stores" in read_in_a_process(virtual_model, "bounded")
    # Whatever libhdf5 does with a file, the grader reads it in a process of its own: with
    # main's reader in that process (put in front as the jail is), the crash is one
    # student's unreadable model, not the grader's end.
    with pytest.raises(UnreadableModel, match="stopped by signal SIGSEGV"):
        read_apart(virtual_model.read_bytes(), EXPECTED_SHAPES,
                   prefix=[sys.executable, "-c", MAINS_READER])
    with pytest.raises(UnreadableModel, match="not stored as Keras stores"):
        read_apart(virtual_model.read_bytes(), EXPECTED_SHAPES)
    assert "ExternalLink, which points outside" in read_in_a_process(linked_model, "bounded")


@pytest.mark.parametrize("kind", ["fill value", "gzip"])
def test_a_few_kilobytes_cannot_make_the_grader_allocate_gigabytes(tmp_path, kind):
    def bomb(h5):
        plain_weights(h5, skip=0)
        shape = (400, 25 * 2**16)  # 4 GiB of float32
        if kind == "gzip":  # chunks of compressed zeros
            h5["layers/dense/vars"].create_dataset("0", shape=shape, dtype="<f4",
                                                   chunks=(400, 2**14), compression="gzip")
        else:  # nothing written: the fill value stands for every element
            h5["layers/dense/vars"].create_dataset("0", shape=shape, dtype="<f4",
                                                   fillvalue=1.0)
    model = keras_file(tmp_path / "bomb.keras", bomb)
    assert model.stat().st_size < 64 * 2**10
    # main tried to hold 2.44 GiB (here refused by the 1 GiB limit; a grader with more
    # memory grows by that much, and a bigger declaration kills it)
    assert "Unable to allocate 2.44 GiB" in read_in_a_process(model, "main")
    bounded = read_in_a_process(model, "bounded")
    if kind == "gzip":
        assert bounded.startswith("refused: weight '0' is not stored as Keras stores"), bounded
    else:  # contiguous, so its shape decides: nothing is read
        assert bounded == "no weights read: shapes [(400, 1638400), (25,), (25, 15), (15,), " \
                          "(15, 10), (10,)]", bounded


def test_a_zip_member_is_read_no_further_than_its_cap(tmp_path):
    model = tmp_path / "config-bomb.keras"
    with zipfile.ZipFile(model, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w") as member:  # 64 MiB of spaces: 64 kB zipped
            for _ in range(64):
                member.write(b" " * 2**20)
        archive.writestr("model.weights.h5", b"")
    assert model.stat().st_size < 2**20
    with zipfile.ZipFile(model) as archive:  # main: archive.read, whatever it expands to
        assert len(archive.read("config.json")) == 64 * 2**20
    with pytest.raises(UnreadableModel, match="config.json in the saved model is more than"):
        read_saved_model(model, EXPECTED_SHAPES)


def test_exported_json_files_are_capped_and_read_as_data(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "export.json").write_text(json.dumps({"model": True, "error": "x" * 2**20}))
    (export / "history.json").write_bytes(b"[" * (export_cell.HISTORY_BYTES + 1))
    (export / "model.keras").symlink_to(tmp_path / "elsewhere.keras")
    found = read_exported(tmp_path)
    assert found.report is None and found.history is None and found.model is None
    assert found.refused == [
        f"export/export.json is {(export / 'export.json').stat().st_size} bytes, more than "
        f"the {export_cell.REPORT_BYTES} allowed",
        "export/model.keras is a symbolic link; the grader does not follow links",
        f"export/history.json is {export_cell.HISTORY_BYTES + 1} bytes, more than the "
        f"{export_cell.HISTORY_BYTES} allowed"]
    assert found.problem().startswith("the exported files were not read: ")


def test_a_model_keras_saves_still_reads(tmp_path):
    model = keras_file(tmp_path / "plain.keras", plain_weights)
    saved = read_saved_model(model, EXPECTED_SHAPES)
    assert saved.weight_shapes == EXPECTED_SHAPES and len(saved.weights) == 6
    assert [layer["units"] for layer in saved.layers] == [25, 15, 10]


@pytest.mark.slow  # the real assignment, graded (conftest's graded_class)
def test_the_graded_class_refuses_a_model_stored_elsewhere(graded_class):
    course, grades, _ = graded_class
    student = by_student(grades)["model_external_storage"]
    model_tests = ("test_model_architecture", "test_model_activations",
                   "test_loss_from_logits", "test_training_accuracy")
    for gid in model_tests:
        feedback = student["tests"][gid]["feedback"]
        assert student["tests"][gid]["points"] == 0 and "external storage" in feedback, feedback
    assert all(t["points"] == t["max_points"] for g, t in student["tests"].items()
               if g not in model_tests)
    secret = (course.parent / "root-only.bin").read_bytes()
    kept = course / "graded_models" / "model_external_storage" / "digit_recognition"
    assert secret[:64] not in b"".join(p.read_bytes() for p in kept.rglob("*") if p.is_file())
