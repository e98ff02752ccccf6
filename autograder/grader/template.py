"""``python -m autograder template OUT``: export the student template repository.

The template holds what a student's repository needs and nothing secret: the assignment's
released notebook (solutions and hidden tests already removed by nbgrader), its helper
packages and the files it gives students (``Assignment.student_files``: the data), the
student kit (``autograder/student/`` whole, with the top-level modules it stands on; never
``autograder/grader/``), the CI workflow and a tamper manifest.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from pathlib import Path

import nbformat

from autograder.grader.assignments import package_folder
from autograder.grader.course import REPO_ROOT, Course, CourseError
from autograder.student.manifest import manifest_text, tamper_manifest

STATIC = REPO_ROOT / "template"  # the template's own files: README, workflow, .gitignore
WORKFLOW = Path(".github/workflows/classroom.yml")
MANIFEST = Path(".github/classroom/manifest.json")
PACKAGE = REPO_ROOT / "autograder"
STUDENT_KIT = PACKAGE / "student"
# repository path -> template path
DEVCONTAINER = Path(".devcontainer/devcontainer.json")
COPIED = {
    Path("template/.gitignore"): Path(".gitignore"),
    Path("template") / WORKFLOW: WORKFLOW,
    Path("template/.github/dependabot.yml"): Path(".github/dependabot.yml"),
}
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")


class TemplateError(CourseError):
    """The template cannot be written (the CLI prints the message)."""


def notebook_path(course: Course) -> Path:
    """Where the assignment's notebook sits in the release and in a student's repository."""
    return Path("assignments", course.assignment_id, f"{course.notebook_id}.ipynb")


def export_template(out_dir: Path, course: Course, force: bool = False) -> Path:
    """Write the template repository of ``course``'s assignment to ``out_dir``; replace it
    only with ``force``."""
    out = Path(out_dir).resolve()
    check_target(out, force)
    release = course.release_notebook
    check_release(release or course.root / notebook_path(course))
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target, then swap: an interrupted export leaves no half template.
    build = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        _write(build, course, release)
        if out.is_dir() and not out.is_symlink():
            shutil.rmtree(out)
        elif out.exists() or out.is_symlink():
            out.unlink()
        build.rename(out)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return out


def check_target(out: Path, force: bool) -> None:
    """Refuse to replace an existing folder without ``force``, and any part of the
    repository ever (inside it only ``build/``, which is not committed, is allowed)."""
    out = Path(out).resolve()
    build = REPO_ROOT / "build"
    if out == REPO_ROOT or out in REPO_ROOT.parents or (
            REPO_ROOT in out.parents and build not in out.parents):
        raise TemplateError(f"{out} is the instructor repository or inside it: choose a "
                            "folder outside it (or under build/)")
    if (out.exists() or out.is_symlink()) and not force:
        raise TemplateError(f"{out} already exists: pass --force to replace it")


def student_kit_files() -> list[Path]:
    """The package's top-level modules and the student kit, relative to the repository:
    what ``python -m autograder check`` and the CI reporter need (import-linter keeps these
    free of the grader)."""
    files = sorted(PACKAGE.glob("*.py")) + sorted(STUDENT_KIT.rglob("*.py"))
    return [f.relative_to(REPO_ROOT) for f in files]


def _write(root: Path, course: Course, release: Path) -> None:
    notebook = notebook_path(course)
    missing = {dest: src for dest, src in course.assignment.student_files.items()
               if not (course.root / src).is_file()}
    if missing:
        raise TemplateError(
            f"{course.assignment_id}'s grading.py gives students files the course folder "
            f"{course.root} lacks: " + ", ".join(f"{src} (for {dest})"
                                                   for dest, src in missing.items()))
    copies = {**{REPO_ROOT / src: dest for src, dest in COPIED.items()},
              **{REPO_ROOT / f: f for f in student_kit_files()},
              release: notebook,
              **{course.root / src: Path(dest)
                 for dest, src in course.assignment.student_files.items()}}
    folders = {name: package_folder(name) for name in course.assignment.packages}
    for folder in folders.values():  # each helper package under its own folder's name
        copies.update({py: Path(folder.name, py.name) for py in sorted(folder.glob("*.py"))})
    for src, dest in copies.items():
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / dest)
    (root / "pyproject.toml").write_text(
        pyproject_text(course.assignment_id, {n: f.name for n, f in folders.items()}),
        encoding="utf-8")
    (root / "environment.yml").write_text(environment_text(course.assignment_id),
                                          encoding="utf-8")
    # Codespaces and local dev containers: a Python image plus the student's install, opening
    # this assignment's notebook.
    (root / DEVCONTAINER).parent.mkdir(parents=True, exist_ok=True)
    (root / DEVCONTAINER).write_text(devcontainer_text(course.assignment_id, notebook),
                                     encoding="utf-8")
    if not (root / "README.md").exists():  # the assignment gives none (student_files)
        (root / "README.md").write_text(readme_text(course.assignment_id, notebook),
                                        encoding="utf-8")
    (root / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    manifest = tamper_manifest(root / notebook, root / WORKFLOW)
    (root / MANIFEST).write_text(manifest_text(manifest), encoding="utf-8")


def check_release(path: Path) -> None:
    """Refuse a missing release, or one that still holds solutions or hidden tests."""
    if not path.is_file():
        raise TemplateError(f"no release notebook at {path}: run `make release` first")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if any(marker in cell.source for marker in MARKERS):
            raise TemplateError(f"{path} still contains solution or hidden-test markers: "
                                "regenerate it with `make release`")


def _toml(value: str) -> str:
    # A JSON string is a valid TOML basic string (same quotes and escapes).
    return json.dumps(value)


def pyproject_text(assignment_id: str, packages: dict[str, str]) -> str:
    """The template's pyproject: the repository's runtime dependencies (the student's; not
    the grader extra), and the helper ``packages`` (name -> folder) beside the kit."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    deps = "".join(f"    {_toml(d)},\n" for d in project["dependencies"])
    dirs = "".join(f"{_toml(name)} = {_toml(folder)}, " for name, folder in packages.items())
    names = "".join(f"{_toml(name)}, " for name in packages)
    return (
        "# The student's assignment repository: `pip install -e .` makes the helpers importable\n"
        "# and `python -m autograder check NOTEBOOK` work (the CI workflow does the same).\n"
        "[build-system]\n"
        'requires = ["setuptools>=68", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f"name = {_toml(assignment_id.replace('_', '-') + '-student')}\n"
        f"version = {_toml(project['version'])}\n"
        f"description = {_toml(f'{assignment_id}: student repository')}\n"
        'readme = "README.md"\n'
        f"requires-python = {_toml(project['requires-python'])}\n"
        f"dependencies = [\n{deps}]\n\n"
        "[tool.setuptools]\n"
        "# Each helper package lives in a folder of its own (its name may differ).\n"
        f"package-dir = {{ {dirs}\"autograder\" = \"autograder\" }}\n"
        f"packages = [{names}\"autograder\", \"autograder.student\"]\n"
    )


def devcontainer_text(assignment_id: str, notebook: Path) -> str:
    """template/.devcontainer/devcontainer.json, named for the assignment and opening its
    notebook."""
    config = json.loads((STATIC / DEVCONTAINER).read_text(encoding="utf-8"))
    config["name"] = assignment_id
    config["customizations"]["codespaces"]["openFiles"] = [notebook.as_posix()]
    return json.dumps(config, indent=2) + "\n"


def readme_text(assignment_id: str, notebook: Path) -> str:
    """A short README for an assignment that gives students none of its own."""
    path = notebook.as_posix()
    return (f"# {assignment_id}\n\n"
            f"Your work goes in `{path}`. Set up once with `pip install -e .`, open the "
            "notebook in Jupyter, and before you push, check it:\n\n"
            f"```\npython -m autograder check {path}\n```\n\n"
            "Every push runs the same public tests (the Actions tab and the job summary show "
            "each test's points and message); hidden tests also run when your work is "
            "graded.\n")


def environment_text(assignment_id: str) -> str:
    """The template's conda file: the repository's Python range and the student's install
    (pyproject's base dependencies, through pip), not the instructor's extras."""
    repo = (REPO_ROOT / "environment.yml").read_text("utf-8").splitlines()
    python = next(line.strip() for line in repo if line.strip().startswith("- python"))
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    deps = "".join(f"      - {d}\n" for d in project["dependencies"])
    name = assignment_id.replace("_", "-")
    return ("# conda alternative to a venv:\n"
            f"#   conda env create -f environment.yml && conda activate {name}\n"
            f"name: {name}\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  {python}\n  - pip\n  - pip:\n{deps}      - -e .\n")
