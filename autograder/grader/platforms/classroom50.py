"""``python -m autograder classroom50 OUT_DIR``: the Classroom 50 autograder bundle.

Classroom 50 publishes every bundle on the organisation's public Pages site, so the bundle
holds nothing secret: the released notebook (no solutions, no hidden tests), the student
kit, ``autograder.model`` and ``autograder.public`` (secret-free checks), the helpers with
the data set, ``requirements.txt`` pinned to this environment, and the entry point
``autograder.py``. The hidden tests are applied when the instructor grades the collected
repositories with ``python -m autograder grade`` (docs/classroom50.md).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from autograder.grader.course import REPO_ROOT, Course
from autograder.grader.platforms import FILES, helper_files, runtime_python
from autograder.grader.platforms.requirements import pinned, requirements_text
from autograder.grader.template import TemplateError, check_release

MAX_BUNDLE_BYTES = 10 * 2**20  # the runner refuses a larger (compressed) bundle
# What grading with the public tests imports beyond the student's install.
MODEL_PACKAGES = ("h5py", "threadpoolctl")
SHIPPED_PACKAGES = ("student", "model", "public")


@dataclass
class Bundle:
    folder: Path
    size: int          # bytes of the tar.gz Classroom 50 publishes
    runtime_file: Path


def default_slug(course: Course) -> str:
    return course.assignment_id.replace("_", "-")


def bundle_files(course: Course) -> dict[str, bytes]:
    """bundle path -> contents."""
    release = course.release_notebook
    if release is None:
        raise TemplateError(f"{course.assignment_id} has no release: run `make release`")
    check_release(release)
    files = {"autograder.py": (FILES / "classroom50" / "autograder.py").read_bytes(),
             "release.ipynb": release.read_bytes()}
    package = REPO_ROOT / "autograder"
    paths = sorted(package.glob("*.py"))
    for sub in SHIPPED_PACKAGES:
        paths += sorted((package / sub).rglob("*.py"))
    for path in paths:
        files[path.relative_to(REPO_ROOT).as_posix()] = path.read_bytes()
    files.update({name: path.read_bytes()
                  for name, path in helper_files(course.assignment).items()})
    header = (f"Pinned from the instructor's environment (Python {runtime_python()}) by\n"
              "python -m autograder classroom50; autograder.py installs them.")
    files["requirements.txt"] = requirements_text(header, pinned(also=MODEL_PACKAGES)).encode()
    return files


def runtime() -> dict:
    """The ``runtime`` of the assignment's entry in assignments.json."""
    return {"runs-on": "ubuntu-latest", "python": runtime_python()}


def published_size(files: dict[str, bytes], slug: str) -> int:
    """The size of the tarball Classroom 50 would publish for these files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{slug}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.tell()


def build(out_dir: Path, course: Course, slug: str | None = None, force: bool = False
          ) -> Bundle:
    slug = slug or default_slug(course)
    folder = Path(out_dir) / "autograders" / slug
    if folder.exists() and not force:
        raise TemplateError(f"{folder} already exists: pass --force to replace it")
    files = bundle_files(course)
    size = published_size(files, slug)
    if size > MAX_BUNDLE_BYTES:
        raise TemplateError(f"the bundle would be {size} bytes, over Classroom 50's limit of "
                            f"{MAX_BUNDLE_BYTES}")
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    runtime_file = Path(out_dir) / f"{slug}.runtime.json"
    runtime_file.write_text(json.dumps({"runtime": runtime()}, indent=2) + "\n", "utf-8")
    return Bundle(folder, size, runtime_file)
