"""``python -m autograder template OUT``: export the student template repository.

The template holds what a student's repository needs and nothing secret: the released
notebook (solutions and hidden tests already removed by nbgrader), the data, the helpers, the
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

from autograder.grader.course import REPO_ROOT, CourseError
from autograder.spec import RELEASE_NOTEBOOK
from autograder.student.manifest import manifest_text, tamper_manifest

STATIC = REPO_ROOT / "template"  # the template's own files: README, workflow, .gitignore
NOTEBOOK = Path(RELEASE_NOTEBOOK)
WORKFLOW = Path(".github/workflows/classroom.yml")
MANIFEST = Path(".github/classroom/manifest.json")
PACKAGE = REPO_ROOT / "autograder"
STUDENT_KIT = PACKAGE / "student"
# repository path -> template path
COPIED = {
    NOTEBOOK: NOTEBOOK,
    Path("data/digits.npz"): Path("data/digits.npz"),
    Path("data/README.md"): Path("data/README.md"),
    Path("template/README.md"): Path("README.md"),
    Path("template/.gitignore"): Path(".gitignore"),
    Path("template") / WORKFLOW: WORKFLOW,
    Path("template/.github/dependabot.yml"): Path(".github/dependabot.yml"),
    # Codespaces and local dev containers: a Python image plus the student's install
    Path("template/.devcontainer/devcontainer.json"): Path(".devcontainer/devcontainer.json"),
}
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")


class TemplateError(CourseError):
    """The template cannot be written (the CLI prints the message)."""


def export_template(out_dir: Path, force: bool = False) -> Path:
    """Write the template repository to ``out_dir``; replace it only with ``force``."""
    out = Path(out_dir).resolve()
    check_target(out, force)
    check_release(REPO_ROOT / NOTEBOOK)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target, then swap: an interrupted export leaves no half template.
    build = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        _write(build)
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


def _write(root: Path) -> None:
    for src, dest in [*COPIED.items(), *((f, f) for f in student_kit_files())]:
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / src, root / dest)
    for helper in sorted((REPO_ROOT / "utils").glob("*.py")):
        (root / "utils").mkdir(exist_ok=True)
        shutil.copyfile(helper, root / "utils" / helper.name)
    (root / "pyproject.toml").write_text(pyproject_text(), encoding="utf-8")
    (root / "environment.yml").write_text(environment_text(), encoding="utf-8")
    (root / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    manifest = tamper_manifest(root / NOTEBOOK, root / WORKFLOW)
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


def pyproject_text() -> str:
    """The template's pyproject: the repository's runtime dependencies (the student's; not
    the grader extra), and the helpers installed as ``digit_helpers`` beside the kit."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    deps = "".join(f"    {_toml(d)},\n" for d in project["dependencies"])
    return (
        "# The student's assignment repository: `pip install -e .` makes `import digit_helpers`\n"
        "# and `python -m autograder check NOTEBOOK` work (the CI workflow does the same).\n"
        "[build-system]\n"
        'requires = ["setuptools>=68", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        'name = "digit-recognition-student"\n'
        f"version = {_toml(project['version'])}\n"
        'description = "Neural network for handwritten digit recognition: student repository"\n'
        'readme = "README.md"\n'
        f"requires-python = {_toml(project['requires-python'])}\n"
        f"dependencies = [\n{deps}]\n\n"
        "[tool.setuptools]\n"
        "# The helpers live in utils/ but are imported as digit_helpers.\n"
        'package-dir = { "digit_helpers" = "utils", "autograder" = "autograder" }\n'
        'packages = ["digit_helpers", "autograder", "autograder.student"]\n'
    )


def environment_text() -> str:
    """The template's conda file: the repository's Python range and the student's install
    (pyproject's base dependencies, through pip), not the instructor's extras."""
    repo = (REPO_ROOT / "environment.yml").read_text("utf-8").splitlines()
    python = next(line.strip() for line in repo if line.strip().startswith("- python"))
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    deps = "".join(f"      - {d}\n" for d in project["dependencies"])
    return ("# conda alternative to a venv:\n"
            "#   conda env create -f environment.yml && conda activate digit-recognition\n"
            "name: digit-recognition\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  {python}\n  - pip\n  - pip:\n{deps}      - -e .\n")
