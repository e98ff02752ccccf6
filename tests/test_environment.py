"""pyproject.toml and environment.yml must ask for the same packages and versions."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _key(req: Requirement) -> tuple[str, str, str]:
    name = req.name.lower().replace("_", "-")
    return name, str(req.specifier), str(req.marker or "")


def pyproject_requirements() -> set[tuple[str, str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_key(Requirement(r)) for r in project["dependencies"]}


def conda_requirements() -> set[tuple[str, str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            found |= {_key(Requirement(r)) for r in dep["pip"] if not r.startswith("-e")}
        elif not dep.startswith(("python", "pip")):
            # conda writes "name>=x,<y" like pip does for these simple ranges
            found.add(_key(Requirement(dep)))
    return found


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_environment_yml_installs_this_project():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


def test_python_floor_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"]
                        if isinstance(d, str) and d.startswith("python"))
    assert project["requires-python"] == ">=3.11"
    assert ">=3.11" in conda_python
