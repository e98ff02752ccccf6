"""Notice edited test cells and an edited CI workflow.

nbgrader keeps a checksum in each locked cell's metadata, but a student can rewrite the
source and the metadata together. So the reference is a manifest written when the template
is exported (``.github/classroom/manifest.json``): the SHA-256 of every locked cell's source
by grade id, each test's points, and the SHA-256 of the workflow file. The copy in a
student's repository can only warn (the student can edit it too); the instructor's own copy
is the authority at grading time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

from autograder.student.notebook import is_grade, is_locked

MANIFEST_VERSION = 1


def sha256_text(text: str) -> str:
    # CRLF from a Windows checkout is not a change anyone made on purpose.
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def _display_path(path: Path) -> str:
    """The path as the repository shows it (from .github on), whatever the checkout folder."""
    parts = Path(path).parts
    return "/".join(parts[parts.index(".github"):]) if ".github" in parts else Path(path).name


def tamper_manifest(release_nb_path: Path, workflow_path: Path | None) -> dict:
    """The manifest of the released notebook and workflow; the same inputs give the same dict."""
    nb = nbformat.read(release_nb_path, as_version=4)
    cells, points = {}, {}
    for cell in nb.cells:
        if not is_locked(cell):
            continue
        gid = cell.metadata.nbgrader["grade_id"]
        cells[gid] = sha256_text(cell.source)
        if is_grade(cell):
            points[gid] = float(cell.metadata.nbgrader["points"])
    # Tests in the notebook's order: a student's CI lists them so when the notebook cannot
    # be run (the manifest is then all it has).
    manifest = {"version": MANIFEST_VERSION, "locked_cells": dict(sorted(cells.items())),
                "points": points, "workflow": None}
    if workflow_path is not None:
        manifest["workflow"] = {"path": _display_path(workflow_path),
                                "sha256": sha256_text(Path(workflow_path).read_text("utf-8"))}
    return manifest


def manifest_text(manifest: dict) -> str:
    """Stable JSON, so a regenerated manifest only differs when the release did (the keys in
    the order ``tamper_manifest`` gives them: the tests in the notebook's)."""
    return json.dumps(manifest, indent=2) + "\n"


def load_manifest(path: Path) -> dict:
    """Read a manifest; ValueError if it is not one (a student's copy may be mangled)."""
    manifest = json.loads(Path(path).read_text("utf-8"))
    ok = (isinstance(manifest, dict) and manifest.get("version") == MANIFEST_VERSION
          and isinstance(manifest.get("locked_cells"), dict)
          and all(isinstance(v, str) for v in manifest["locked_cells"].values())
          and isinstance(manifest.get("points"), dict)
          and all(isinstance(v, int | float) for v in manifest["points"].values())
          and (manifest.get("workflow") is None
               or (isinstance(manifest["workflow"], dict)
                   and {"path", "sha256"} <= set(manifest["workflow"]))))
    if not ok:
        raise ValueError(f"{path} is not a version {MANIFEST_VERSION} tamper manifest")
    return manifest


def _kind(gid: str, manifest: dict) -> str:
    return "test cell" if gid in manifest.get("points", {}) else "locked cell"


def find_tampering(notebook_path: Path, workflow_path: Path | None, manifest: dict) -> list[str]:
    """One human sentence per locked cell, test's points or workflow that differs."""
    problems = []
    try:
        nb = nbformat.read(notebook_path, as_version=4)
    except Exception as exc:  # an unreadable notebook is reported by the run itself
        return [f"the notebook could not be read to compare its test cells: {exc}"]
    found: dict[str, list[dict]] = {}  # grade id -> nbgrader metadata and source
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            found.setdefault(meta["grade_id"], []).append({"meta": meta, "source": cell.source})
    for gid, digest in manifest.get("locked_cells", {}).items():
        kind = _kind(gid, manifest)
        if gid not in found:
            problems.append(f"{kind} {gid} was deleted (or its nbgrader metadata was removed)")
        elif any(sha256_text(c["source"]) != digest for c in found[gid]):
            problems.append(f"{kind} {gid} was changed")
    for gid, points in manifest.get("points", {}).items():
        for cell in found.get(gid, []):
            meta = cell["meta"]
            if not meta.get("grade") or meta.get("solution"):
                problems.append(f"test cell {gid} is no longer marked as a test")
            elif _as_float(meta.get("points")) != points:
                shown = str(meta.get("points"))[:20]  # the student's value: keep it short
                problems.append(f"test cell {gid}: its points were changed from {points:g} to "
                                f"{shown}")
    workflow = manifest.get("workflow")
    if workflow and workflow_path is not None:
        path = Path(workflow_path)
        if not path.is_file():
            problems.append(f"the workflow file {workflow['path']} was deleted")
        elif sha256_text(path.read_text("utf-8", errors="replace")) != workflow["sha256"]:
            problems.append(f"the workflow file {workflow['path']} was changed")
    return problems


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
