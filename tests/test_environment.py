"""environment.yml (the conda way to the instructor's environment) must ask for exactly what
pyproject.toml asks for: the base dependencies (the student's install) plus the `grader` and
`dev` extras, at the same versions, for the same Python.
"""

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from helpers import ROOT

EXTRAS = ("grader", "dev")  # `data` only rebuilds data/digits.npz: not in the environment
EDITABLE = re.compile(r"-e \.(\[(?P<extras>[^\]]*)\])?")


def _key(req: Requirement) -> tuple[str, str, str]:
    name = req.name.lower().replace("_", "-")
    return name, str(req.specifier), str(req.marker or "")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pip_section(env: dict) -> list[str]:
    [pip] = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return pip


def pyproject_requirements() -> set[tuple[str, str, str]]:
    project = _project()
    wanted = project["dependencies"] + [
        r for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    return {_key(Requirement(r)) for r in wanted}


def conda_requirements() -> set[tuple[str, str, str]]:
    env = _environment()
    found = {_key(Requirement(r)) for r in _pip_section(env) if not r.startswith("-e")}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            # conda writes "name>=x,<y" like pip does for these simple ranges
            found.add(_key(Requirement(dep)))
    return found


def test_environment_yml_matches_pyproject_and_its_grader_and_dev_extras():
    assert conda_requirements() == pyproject_requirements()


def test_nothing_is_asked_for_twice():
    """A set comparison alone would not notice a package listed for conda and for pip."""
    env = _environment()
    entries = [r for r in _pip_section(env) if not r.startswith("-e")]
    entries += [d for d in env["dependencies"]
                if isinstance(d, str) and not d.startswith(("python", "pip"))]
    names = [Requirement(r).name.lower().replace("_", "-") for r in entries]
    assert sorted(names) == sorted(set(names))


def test_environment_yml_installs_this_project_with_those_extras():
    editable = [r for r in _pip_section(_environment()) if r.startswith("-e")]
    assert len(editable) == 1
    match = EDITABLE.fullmatch(editable[0])
    assert match, editable[0]
    extras = (match["extras"] or "").replace(" ", "").split(",")
    assert sorted(extras) == sorted(EXTRAS)
    assert set(EXTRAS) <= set(_project()["optional-dependencies"])


def test_python_floor_agrees():
    project = _project()
    conda_python = next(d for d in _environment()["dependencies"]
                        if isinstance(d, str) and d.startswith("python"))
    assert project["requires-python"] == ">=3.11"
    assert ">=3.11" in conda_python
