"""The assignments of a course folder: ``solutions/<id>/<id>.ipynb`` with its ``grading.py``.

The engine names no assignment (``make lint`` checks it): it finds them here and loads each
``grading.py`` by path. That file is the instructor's code, as trusted as the grader; it
never runs in a sandbox and never ships to students.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

from autograder.assignment import Assignment, named
from autograder.records import CommandError

GRADING_FILE = "grading.py"


class AssignmentError(CommandError):
    """An assignment cannot be found or loaded (the message says what to do)."""


def ids(root: Path) -> list[str]:
    """The assignments of the course folder ``root``: each folder of ``solutions/`` that
    holds a notebook of its own name."""
    folder = Path(root) / "solutions"
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir() if (d / f"{d.name}.ipynb").is_file())


def choose(root: Path, given: str | None) -> str:
    """``given``, checked; without it the course's only assignment."""
    found = ids(root)
    if given is not None:
        if given not in found:
            raise AssignmentError(
                f"no assignment {given!r} in {Path(root) / 'solutions'}: "
                + (f"the course has {', '.join(found)}" if found else "it holds none"))
        return given
    if len(found) == 1:
        return found[0]
    if not found:
        raise AssignmentError(
            f"no assignment in {Path(root) / 'solutions'} (solutions/<id>/<id>.ipynb): run "
            "the command from the instructor repository or pass --course-dir")
    raise AssignmentError(f"this course has {len(found)} assignments ({', '.join(found)}): "
                          "say which with --assignment ID")


_loaded: dict[tuple[str, int], Assignment] = {}


def load(root: Path, assignment_id: str) -> Assignment:
    """The ``ASSIGNMENT`` of ``solutions/<id>/grading.py`` (loaded once per version)."""
    path = (Path(root) / "solutions" / assignment_id / GRADING_FILE).resolve()
    if not path.is_file():
        raise AssignmentError(
            f"{path} is missing: every assignment declares how its tests are decided "
            "outside the kernel there (docs/adding-an-assignment.md)")
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _loaded:
        name = f"_grading_{assignment_id}_{len(_loaded)}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise AssignmentError(f"{path} could not be loaded: "
                                  f"{type(exc).__name__}: {exc}") from exc
        found = getattr(module, "ASSIGNMENT", None)
        if not isinstance(found, Assignment) or found.id != assignment_id:
            raise AssignmentError(f"{path} must set ASSIGNMENT = Assignment(id="
                                  f"{assignment_id!r}, ...)")
        _loaded[key] = found
    return _loaded[key]


def package_folder(name: str) -> Path:
    """Where the helper package ``name`` is installed, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise AssignmentError(f"the assignment's helper package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def resource(reference: str) -> Path:
    """``"package:file"`` -> the file's path."""
    package, _, name = reference.partition(":")
    path = package_folder(package) / name
    if not name or not path.is_file():
        raise AssignmentError(f"the assignment's data file {reference!r} is not installed")
    return path


@functools.cache
def trusted_data(reference: str):
    """The ``(X, y)`` an assignment's model is checked on (``DenseModel.data``), loaded once
    per grading process: the grader's own copy from its helper package."""
    return named(reference)()
