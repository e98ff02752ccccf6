"""cli: the verbs offered, and how a command that cannot run says why (exit status 3).

Nothing here grades or runs a notebook: every case stops before a kernel would start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli

from helpers import ROOT, tiny_submission

INSTRUCTOR_VERBS = {"collect", "grade", "feedback", "export", "return", "merge", "slurm",
                    "template", "gradescope", "classroom50"}
# Run in a fresh interpreter: make `name` impossible to import, then call the CLI.
WITHOUT = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name == {name!r} or name.startswith({name!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, Missing())
from autograder import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def verbs(parser) -> set[str]:
    return set(parser._subparsers._group_actions[0].choices)


def without(module: str, *args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", WITHOUT.format(name=module), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_the_instructor_repository_offers_every_verb():
    assert verbs(cli.build_parser()) == INSTRUCTOR_VERBS | {"check"}


def test_without_the_grader_package_only_check_is_offered(tmp_path):
    """As in the student template, which ships autograder/ without autograder/grader/."""
    proc = without("autograder.grader", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "{check}" in proc.stdout
    proc = without("autograder.grader", "grade", tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'grade'" in proc.stderr


def test_a_missing_grader_dependency_names_the_extra_to_install(tmp_path):
    proc = without("rich", "export", "--course-dir", tmp_path, "--to", tmp_path / "g.csv")
    assert proc.returncode == cli.EXIT_CANNOT_RUN, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ("error: `export` needs rich, which is not installed: install "
                                   "the instructor's tools with pip install -e '.[grader]'")


def test_a_broken_grader_is_not_mistaken_for_a_missing_one():
    # the grader is there but one of its own modules fails: say so, do not hide the grader
    proc = without("autograder.grader.steps.submissions", "--help")
    assert proc.returncode != 0
    assert "autograder.grader.steps.submissions" in proc.stderr


def test_check_of_a_missing_notebook(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "nope.ipynb")]) == cli.EXIT_CANNOT_RUN
    assert capsys.readouterr().out == f"error: no such notebook: {tmp_path / 'nope.ipynb'}\n"


@pytest.mark.parametrize("content, message", [
    ("", "mine.ipynb is empty"),
    (tiny_submission()[:100], "mine.ipynb is not valid notebook JSON"),
], ids=["empty", "truncated"])  # fixed ids: every pytest-xdist process must collect the same
def test_check_of_a_file_that_is_not_a_notebook(tmp_path, capsys, content, message):
    path = tmp_path / "mine.ipynb"
    path.write_text(content)
    assert cli.main(["check", str(path)]) == cli.EXIT_CANNOT_RUN
    out = capsys.readouterr().out
    assert f"error: {message}" in out
    assert "Public tests" not in out  # no kernel was started


def test_grade_outside_a_course_says_where_to_run_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", os.environ["PATH"])  # the verb prepends the venv; undo it after
    notebook = tmp_path / "amy" / "digit_recognition.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(tiny_submission())
    code = cli.main(["grade", str(notebook), "--course-dir", str(tmp_path), "--quiet"])
    assert code == cli.EXIT_CANNOT_RUN
    out = " ".join(capsys.readouterr().out.split())
    assert f"error: no assignment in {tmp_path / 'solutions'}" in out
    assert "run the command from the instructor repository or pass --course-dir" in out
    assert not (tmp_path / "gradebook.db").exists()


@pytest.mark.parametrize("shard, message", [("3/2", "I must be from 1 to N"),
                                            ("two", "is not I/N")])
def test_a_bad_shard_is_a_usage_error(tmp_path, capsys, shard, message):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["grade", str(tmp_path), "--shard", shard])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_paths_may_follow_options_but_stray_words_are_refused(capsys):
    # `collect DOWNLOAD --from canvas OUT_DIR`: OUT_DIR joins the verb's paths
    args = cli.parse(["collect", "a.zip", "--from", "canvas", "out"])
    assert [str(p) for p in args.paths] == ["a.zip", "out"]
    with pytest.raises(SystemExit):
        cli.parse(["export", "--to", "g.csv", "stray"])  # export takes no paths
    assert "unrecognized arguments: stray" in capsys.readouterr().err


@pytest.mark.parametrize("config", ["as shipped", "without its PATH lines"])
def test_nbgrader_db_commands_work_from_a_venv_that_is_not_activated(tmp_path, config):
    """docs/collecting.md gives `nbgrader db assignment add ... --duedate ...`: nbgrader runs
    `alembic` by name to create the gradebook, which only an activated venv has on PATH;
    the course's nbgrader_config.py puts the venv's bin/ there (without it: FileNotFoundError)."""
    text = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    if config != "as shipped":
        start = text.index("_bin = os.path.dirname(sys.executable)")
        end = text.index("\n\n", start)
        text = text[:start] + text[end:]
    (tmp_path / "nbgrader_config.py").write_text(text, encoding="utf-8")
    (tmp_path / "solutions").mkdir()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "db", "assignment", "add", "week1",
         "--duedate", "2026-12-01 23:59:00 UTC"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"HOME": os.environ.get("HOME", str(tmp_path)), "PATH": "/usr/bin:/bin"})
    failed = "No such file or directory: 'alembic'" in proc.stderr
    assert failed == (config != "as shipped"), proc.stderr[-2000:]
    if not failed:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "digit-recognition") as gb:
            assert str(gb.find_assignment("week1").duedate) == "2026-12-01 23:59:00"
