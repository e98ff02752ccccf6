"""A notebook that fills its folder fills nobody else's disk.

Only each file's size was limited (256 MiB), so a notebook writing a dozen such files put
3 GiB into its sandbox, and a class of them filled the grader's disk. Now a sandbox is a
tmpfs of its own, capped in bytes and files, where the grader may mount (Linux, root); where
it may not, the watcher measures the folder and stops the notebook past the cap. The cap
here is 32 MiB and the notebook tries 100 MiB, so the test is quick; the default is 512 MiB.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.grader import gradebook, pipeline
from autograder.grader.course import Course
from autograder.grader.sandbox import folder
from autograder.grader.sandbox.isolation import isolation_problem
from autograder.grader.sandbox.limits import Limits
from autograder.grader.steps import execute
from autograder.grader.steps.submissions import find

from helpers import (
    TINY_NAME,
    by_student,
    empty_gradebook,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
)

pytestmark = [
    pytest.mark.slow,  # grades a class (kernels)
    pytest.mark.skipif(isolation_problem() is not None,
                       reason=f"no sandbox here: {isolation_problem()}"),
]

CAP_MIB = 32
# add() is right only when the disk stopped it: 5 files of 20 MiB, where 32 MiB may go.
FILL = """    written = 0
    try:
        for i in range(5):
            with open(f"fill{i}.bin", "wb") as out:
                out.write(b"x" * 20 * 2**20)
            written += 20 * 2**20
    except OSError as exc:
        print(f"wrote {written} bytes, then: {exc.strerror}")
        return a + b
    print(f"wrote {written} bytes")"""


def fills(then: str = "") -> str:
    return tiny_submission(FILL + then + "\n    return None")


def grade_in_process(base: Path, subs: Path) -> dict:
    root = tiny_course_at(base / "course")
    shutil.copyfile(empty_gradebook(), root / "gradebook.db")
    course = Course(root)
    gradebook.ensure_assignment(course)
    options = pipeline.Options(limits=Limits(cell_timeout=20, notebook_timeout=60,
                                             disk=CAP_MIB * 2**20), workers=2, hidden=[subs])
    results = pipeline.grade_all(course, find([subs], expected=TINY_NAME), options,
                                 gradebook.points_by_test(course))
    return {r.student: r for r in results}


def printed(course_dir: Path, student: str) -> str:
    nb = nbformat.read(Course(course_dir).autograded_notebook(student), as_version=4)
    return "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))


def test_without_a_cap_the_notebook_writes_all_it_wants(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, "_mount_disk", lambda root, size: None)
    monkeypatch.setattr(execute, "usage", lambda root, limit: 0)  # the watcher sees nothing
    subs = tmp_path / "subs"
    place(subs, "filler", fills())
    place(subs, "honest", tiny_submission())
    result = grade_in_process(tmp_path, subs)
    assert result["filler"].score == 0  # every write went through
    assert "wrote 104857600 bytes" in printed(tmp_path / "course", "filler")
    assert result["honest"].score == 5


def test_the_sandbox_tmpfs_stops_the_writes_and_says_so(tmp_path):
    course = tiny_course_at(tmp_path / "course")
    subs = tmp_path / "subs"
    place(subs, "filler", fills())
    place(subs, "honest", tiny_submission())
    grades, output = run_grade(course, subs, "--disk-mib", str(CAP_MIB), "--workers", "2",
                               "--details")  # the notes whole
    result = by_student(grades)
    # In the kernel each call's writes failed, so add() was right and both tests passed there;
    # called again outside the kernel, it fills that process's disk too, and what it returned
    # cannot be kept: test_add (decided outside the kernel) is lost, the kernel-only one kept.
    assert result["filler"]["tests"]["test_add_strings"]["points"] == 2, result
    assert result["filler"]["tests"]["test_add"]["points"] == 0, result
    assert "No space left on device" in printed(course, "filler")
    note = (f"your notebook filled the {CAP_MIB} MiB its folder may hold, so its writes "
            "after that failed (No space left on device)")
    graded = nbformat.read(Course(course).autograded_notebook("filler"), as_version=4)
    assert note in graded.cells[0].source  # heads the graded notebook, and the feedback page
    assert "filled the 32 MiB" in " ".join(output.split())  # the table's note
    honest = nbformat.read(Course(course).autograded_notebook("honest"), as_version=4)
    assert result["honest"]["score"] == 5 and "Grader note" not in honest.cells[0].source


def test_where_no_tmpfs_can_be_mounted_the_watcher_stops_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, "_mount_disk", lambda root, size: None)
    subs = tmp_path / "subs"
    place(subs, "filler", fills("\n    import time\n    time.sleep(5)"))
    place(subs, "honest", tiny_submission())
    result = grade_in_process(tmp_path, subs)
    assert result["filler"].score == 0
    assert result["filler"].error == execute.disk_problem("the notebook", Limits(disk=CAP_MIB
                                                                                 * 2**20))
    assert result["honest"].score == 5 and result["honest"].error is None
