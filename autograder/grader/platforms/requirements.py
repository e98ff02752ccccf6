"""The exact versions of what this course needs, read from this environment.

A platform's image is built once and must behave like the environment the course was
tested in, so its installer gets every package of the dependency closure at the version
installed here (pip still fills in anything a marker left out for another Python). The
roots are ``pyproject.toml``'s dependencies (and the extras asked for), as written now.
"""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from autograder.grader.course import REPO_ROOT


def project_requirements(extras: tuple[str, ...] = ()) -> list[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    return [*project["dependencies"], *(req for extra in extras for req in optional[extra])]


def pinned(extras: tuple[str, ...] = (), also: tuple[str, ...] = ()) -> list[str]:
    """``name==version`` for every installed distribution the course (with ``extras``) and
    ``also`` need, sorted."""
    seen: dict[str, set[str]] = {}
    todo: list[tuple[str, set[str]]] = []
    for text in [*project_requirements(extras), *also]:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate():
            todo.append((req.name, set(req.extras)))
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if key in seen and wanted <= seen[key]:
            continue
        seen[key] = seen.get(key, set()) | wanted
        for text in metadata.distribution(name).requires or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e})
                                      for e in (seen[key] or {""})):
                continue
            todo.append((req.name, set(req.extras)))
    pins = [f"{metadata.distribution(key).metadata['Name']}=={metadata.version(key)}"
            for key in seen]
    return sorted(pins, key=str.lower)


def requirements_text(header: str, pins: list[str]) -> str:
    return "".join(f"# {line}\n" for line in header.splitlines()) + "".join(
        f"{pin}\n" for pin in pins)
