"""The student's install, as the template's README gives it.

The README's "Set up" offers three routes, in this order: Codespaces (the template's
.devcontainer/devcontainer.json), a local venv (Linux/macOS and Windows commands), Colab (a
cell that installs the helpers from the student's repository and points them to its data).
The fast tests read those commands and hold them to one install (`pip install -e .`, never the
grader extra); the slow ones run the Linux/macOS commands, parsed from the README, in a copy
of the exported template: a fresh venv that then runs the release notebook to its first
failing test, and `check` (the README's command), without the grader's packages.

The second assignment, digit_recognition_binary, gets its own template (`template
--assignment digit_recognition_binary`), installed the same way (about 2 s more from uv's
cache): its README's `check` names its own notebook, and in the light install gives the
untouched release 0 with each test's "not implemented yet" and the solution, as a student
hands it in, full public marks.

The README's `python3 -m venv` and `pip install` are run by uv (`uv venv`, `uv pip install`,
same arguments) when uv is on hand: the same packages in seconds instead of minutes. Without
uv they run as written (about three minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from catalogue import as_student

from helpers import (
    BINARY_ID,
    BINARY_NAME,
    BINARY_RELEASE,
    BINARY_SOLUTION,
    BINARY_TESTS,
    BINARY_TOTAL,
    DIGIT_TESTS,
    DIGIT_TOTAL,
    ROOT,
)

NOTEBOOK = "assignments/digit_recognition/digit_recognition.ipynb"
BINARY_NOTEBOOK = f"assignments/{BINARY_ID}/{BINARY_NAME}"
ROUTES = ("Codespaces", "computer", "Colab")  # a word of each route's heading, in order


# --- the README, read as a student reads it -------------------------------------------------

def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section ## {heading}"
    return match[1]


def routes(readme: str) -> list[tuple[str, str]]:
    """The ``### `` subsections of "Set up": (heading, body), in order."""
    parts = re.split(r"^### (.+)\n", section(readme, "Set up"), flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def route(readme: str, word: str) -> str:
    (body,) = [body for heading, body in routes(readme) if word in heading]
    return body


def commands(block: str) -> list[str]:
    return [line.strip() for line in block.splitlines() if line.strip()]


def check_command(readme: str) -> str:
    (block,) = code_blocks(section(readme, "Check yourself"), "bash")
    (line,) = commands(block)
    return line


@pytest.fixture(scope="module")
def readme(student_template) -> str:
    return (student_template / "README.md").read_text("utf-8")


# --- fast: the commands agree ---------------------------------------------------------------

def test_three_routes_in_order(readme):
    headings = [heading for heading, _ in routes(readme)]
    assert len(headings) == 3, headings
    assert all(word in heading for word, heading in zip(ROUTES, headings, strict=True)), headings


def test_every_route_installs_the_students_packages(readme, student_template):
    bash, powershell = (code_blocks(route(readme, "computer"), lang) for lang in
                        ("bash", "powershell"))
    assert len(bash) == len(powershell) == 1
    unix, windows = commands(bash[0]), commands(powershell[0])
    assert unix == ["python3 -m venv .venv", "source .venv/bin/activate", "pip install -e .",
                    "jupyter lab"]
    assert re.fullmatch(r"py -3\.1[123] -m venv \.venv", windows[0])
    assert windows[1:] == [r".venv\Scripts\Activate.ps1", "pip install -e .", "jupyter lab"]
    # Codespaces installs the same, as the user (its image's site-packages belong to root)
    config = json.loads((student_template / ".devcontainer/devcontainer.json").read_text())
    assert config["postCreateCommand"] == "pip install --user -e ."
    assert f"`{config['postCreateCommand']}`" in route(readme, "Codespaces")
    assert "[grader]" not in readme
    assert check_command(readme) == f"python -m autograder check {NOTEBOOK}"
    assert (student_template / NOTEBOOK).is_file()


@pytest.mark.parametrize("which", ["readme", "binary_readme"])
def test_the_readme_prepares_the_first_hour(which, request):
    """What a student meets before the notebook runs: the Pythons that can install TensorFlow
    2.21 (3.10 and older cannot), Debian's and Ubuntu's python3-venv, the download and disk it
    takes; and before `check`: save the notebook, run it from the repository's top folder."""
    text = request.getfixturevalue(which)
    local = " ".join(route(text, "computer").split())
    assert "Python 3.11, 3.12 or 3.13" in local and "Python 3.10 and older" in local
    assert "`sudo apt install python3-venv`" in local and "Debian and Ubuntu" in local
    assert "downloads about 400 MB" in local and "about 2 GB of disk" in local
    check = " ".join(section(text, "Check yourself").split())
    assert check.startswith("Save the notebook first") and "not what is open in Jupyter" in check
    assert "run it from the repository's top folder" in check


def test_colab_cell(readme, student_template):
    """The Colab cell is valid IPython, does nothing outside Colab (it may stay in the graded
    notebook), and in Colab clones the repository (with the token when there is one), installs
    the helpers from the clone and points them to the clone's data."""
    from IPython.core.inputtransformer2 import TransformerManager

    from digit_helpers.data import ENV_VAR

    (cell,) = code_blocks(route(readme, "Colab"), "python")
    code = compile(TransformerManager().transform_cell(cell), "<colab cell>", "exec")
    shell = FakeShell()
    before = dict(os.environ)
    exec(code, {"get_ipython": lambda: shell})  # no google.colab here: nothing happens
    assert shell.ran == [] and dict(os.environ) == before

    for token, login in (("t0ken", "t0ken@"), (None, "")):
        shell = FakeShell()
        namespace = {"get_ipython": lambda shell=shell: shell}
        saved = {name: sys.modules.get(name) for name in ("google", "google.colab")}
        sys.modules.update(fake_colab(token))
        try:
            exec(code, namespace)
            data = os.environ.pop(ENV_VAR)
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
        repo = namespace["REPO"]
        (clone, install) = shell.ran
        assert clone == ("!", f"git clone -q --depth 1 https://{login}{repo}.git /content/repo")
        assert install == ("%pip", "install -q --no-deps /content/repo")
        assert data == "/content/repo/data/digits.npz"
        assert (student_template / "data/digits.npz").is_file()


class FakeShell:
    """Records what the cell asks IPython to run (``!cmd`` and ``%pip``), expanding ``{name}``
    from the caller's globals as IPython does."""

    def __init__(self):
        self.ran: list[tuple[str, str]] = []

    def system(self, cmd: str) -> None:
        self.ran.append(("!", cmd.format_map(sys._getframe(1).f_globals)))

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> None:
        self.ran.append((f"%{name}", line))


def fake_colab(token: str | None) -> dict:
    from types import ModuleType, SimpleNamespace

    class SecretNotFoundError(Exception):
        pass

    class NotebookAccessError(Exception):
        pass

    def get(name):
        assert name == "GITHUB_TOKEN"
        if token is None:
            raise SecretNotFoundError(name)
        return token

    google, colab = ModuleType("google"), ModuleType("google.colab")
    colab.userdata = SimpleNamespace(get=get, SecretNotFoundError=SecretNotFoundError,
                                     NotebookAccessError=NotebookAccessError)
    google.colab = colab
    return {"google": google, "google.colab": colab}


# --- slow: the Linux/macOS commands run in a fresh venv -------------------------------------

def find_uv() -> str | None:
    venv_bin = str(Path(sys.executable).parent)
    return shutil.which("uv", path=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]))


def runnable(line: str, uv: str | None) -> str:
    """One README line as the test runs it: `python3` is this interpreter's base Python (the
    one the test suite's venv was made from), and uv does the venv and pip's work if it can."""
    words = shlex.split(line)
    base = getattr(sys, "_base_executable", sys.executable)
    if words[:3] == ["python3", "-m", "venv"]:
        words = ([uv, "venv", "-q", "--python", base, *words[3:]] if uv
                 else [base, "-m", "venv", *words[3:]])
    elif words[0] == "pip":
        words = [uv, "pip", *words[1:], "-q"] if uv else ["pip", *words[1:], "-q"]
    elif words[0] != "source":
        raise AssertionError(f"the test does not know how to run {line!r}")
    return shlex.join(words)


def student_env() -> dict[str, str]:
    """This environment without the suite's venv: nothing of the instructor's packages."""
    # Nor a setting that stops Python caching bytecode, which no student has: with it, every
    # process of the run would compile TensorFlow's modules anew (uv installs no bytecode).
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP",
                        "PYTHONDONTWRITEBYTECODE")}
    venv = ROOT / ".venv"
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not Path(p).resolve().is_relative_to(venv.resolve()))
    return env


def bash(script: str, cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -e\n" + script], cwd=cwd, env=student_env(),
                          capture_output=True, text=True, timeout=timeout)


def setup_lines(readme: str) -> list[str]:
    """The README's Linux/macOS commands, all but the last (`jupyter lab`)."""
    (block,) = code_blocks(route(readme, "computer"), "bash")
    lines = commands(block)
    assert lines[-1] == "jupyter lab"
    return lines[:-1]


def install(template: Path, readme: str, repo: Path) -> Path:
    """A copy of ``template`` at ``repo`` with the README's install run in it."""
    shutil.copytree(template, repo)
    uv = find_uv()
    proc = bash("\n".join(runnable(line, uv) for line in setup_lines(readme)), repo,
                timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return repo


@pytest.fixture(scope="module")
def student_repo(student_template, readme, tmp_path_factory) -> Path:
    """A copy of the template with the README's Linux/macOS commands run in it (all but the
    last, `jupyter lab`)."""
    return install(student_template, readme, tmp_path_factory.mktemp("student") / "repo")


ACTIVATE = "source .venv/bin/activate\n"

RUN_TO_FIRST_ERROR = r"""
import json, sys
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path = Path(sys.argv[1]).resolve()
nb = nbformat.read(path, as_version=4)
name = nb.metadata.kernelspec.name
client = NotebookClient(nb, timeout=300, kernel_name=name,
                        resources={"metadata": {"path": str(path.parent)}})
try:
    client.execute()
except CellExecutionError:
    pass
cells = [{"id": c.metadata.get("nbgrader", {}).get("grade_id"),
          "count": c.get("execution_count"),
          "errors": [[o.ename, o.evalue] for o in c.get("outputs", [])
                     if o.output_type == "error"],
          "text": "".join(o.get("text", "") for o in c.get("outputs", [])
                          if o.output_type == "stream")}
         for c in nb.cells if c.cell_type == "code"]
print(json.dumps({"cells": cells, "python": sys.executable,
                  "kernel": KernelManager(kernel_name=name).format_kernel_cmd()[0]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("repo", ["student_repo", "binary_repo"])
def test_only_the_students_packages(repo, request):
    """Each assignment's install is the student's: TensorFlow, the helpers and the kit from
    the repository, and nothing of the grader (no nbgrader, no gradebook's packages)."""
    student_repo = request.getfixturevalue(repo)
    # TensorFlow's version from its metadata: importing it takes 5-20 s, and the notebook does
    code = ("import importlib.metadata as m, importlib.util as u, json, sys\n"
            "import autograder, digit_helpers\n"
            "(tf,) = m.packages_distributions()['tensorflow']\n"
            "print(json.dumps({'prefix': sys.prefix, 'tf': m.version(tf),\n"
            "  'files': [autograder.__file__, digit_helpers.__file__],\n"
            "  'absent': [m for m in ('nbgrader', 'sqlalchemy', 'alembic', 'autograder.grader')\n"
            "             if u.find_spec(m) is None]}))")
    proc = bash(ACTIVATE + f"python -c {shlex.quote(code)}", student_repo, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(found["prefix"]) == student_repo / ".venv"
    assert found["tf"].startswith("2.21.")
    assert all(Path(f).is_relative_to(student_repo) for f in found["files"]), found["files"]
    assert found["absent"] == ["nbgrader", "sqlalchemy", "alembic", "autograder.grader"]
    # the README's "about 2 GB of disk" (uv writes no bytecode, which pip adds: about 0.2 GB)
    size = sum(f.stat().st_size for f in (student_repo / ".venv").rglob("*")
               if f.is_file() and not f.is_symlink())
    assert 1.3e9 < size < 2.5e9, size


@pytest.mark.slow
def test_release_runs_to_its_first_public_test(student_repo):
    """Run top to bottom as a student's first "Run all" does: the setup, the figures and the
    `my_relu` stub run; the first public test fails on the stub's NotImplementedError (which
    it reports as an AssertionError that says so); nothing after it runs."""
    before = (student_repo / NOTEBOOK).read_bytes()
    proc = bash(ACTIVATE + f"python -c {shlex.quote(RUN_TO_FIRST_ERROR)} {NOTEBOOK}",
                student_repo, timeout=600)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    assert run["kernel"] == run["python"]
    assert Path(run["python"]).parent == student_repo / ".venv/bin"
    cells = run["cells"]
    failed = [i for i, c in enumerate(cells) if c["errors"]]
    assert failed, "no cell failed"
    first = cells[failed[0]]
    assert first["id"] == "test_my_relu"
    ((ename, evalue),) = first["errors"]
    assert ename == "AssertionError"
    assert "my_relu is not implemented yet" in evalue and "NotImplementedError" in evalue
    ran, not_run = cells[:failed[0]], cells[failed[0] + 1:]
    assert all(c["count"] for c in ran) and "my_relu" in [c["id"] for c in ran]
    assert "TensorFlow 2.21." in next(c["text"] for c in ran if c["id"] == "setup")
    assert not_run and not any(c["count"] for c in not_run)
    assert (student_repo / NOTEBOOK).read_bytes() == before


@pytest.mark.slow
def test_the_help_offers_check_alone(student_repo):
    """In the student's repository and install (no autograder/grader/), `python -m autograder
    --help` describes what it can do there, `check`, and how: nothing of grading a class."""
    proc = bash(ACTIVATE + "python -m autograder --help", student_repo, timeout=120)
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert "{check}" in said and "Check your notebook" in said
    assert not re.search(r"\b(grade|grading|feedback|class)\b", said, re.I), said
    assert "Save the notebook in Jupyter first" in said and "top folder" in said
    assert "python -m autograder check assignments/<id>/<id>.ipynb" in said


@pytest.mark.slow
def test_check_as_the_readme_says(student_repo, readme):
    before = (student_repo / NOTEBOOK).read_bytes()
    proc = bash(ACTIVATE + check_command(readme), student_repo, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # tests failed (0: all passed, 3: cannot run)
    rows = re.findall(r"^(test_\w+)\s+(pass|FAIL)\s+(\S+)", proc.stdout, re.M)
    assert [r[1] for r in rows] == ["FAIL"] * len(DIGIT_TESTS), out
    assert rows[0] == ("test_my_relu", "FAIL", "0/10")
    assert "replace the line `raise NotImplementedError(...)`" in proc.stdout
    assert f"public tests: 0/{DIGIT_TOTAL} points" in proc.stdout
    assert (student_repo / NOTEBOOK).read_bytes() == before


# --- the second assignment, digit_recognition_binary: its own template and install ----------

def check_commands(readme: str) -> list[str]:
    """Every `python -m autograder check` line in the README's code blocks (the full README's
    "Check yourself", or the one block of the short README the template writes)."""
    blocks = re.findall(r"^```\w*\n(.*?)^```", readme, re.M | re.S)
    return [line for block in blocks for line in commands(block)
            if line.startswith("python -m autograder check")]


def grade_ids(nb: nbformat.NotebookNode, key: str) -> dict[str, str]:
    """grade id -> source of the cells whose nbgrader metadata has ``key`` true."""
    return {c.metadata.nbgrader.grade_id: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get(key)}


def check_rows(stdout: str) -> dict[str, tuple[str, str, str]]:
    """`check`'s table: test -> (pass|FAIL, points, message)."""
    rows = re.findall(r"^(test_\w+) +(pass|FAIL) +(\S+) *(.*)$", stdout, re.M)
    return {test: (result, points, message) for test, result, points, message in rows}


@pytest.fixture(scope="module")
def binary_template(tmp_path_factory) -> Path:
    """The binary assignment's template, as `python -m autograder template OUT --assignment
    digit_recognition_binary` writes it."""
    out = tmp_path_factory.mktemp("export-binary") / "student-template"
    proc = subprocess.run([sys.executable, "-m", "autograder", "template", str(out),
                           "--assignment", BINARY_ID],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def binary_readme(binary_template) -> str:
    return (binary_template / "README.md").read_text("utf-8")


@pytest.fixture(scope="module")
def binary_repo(binary_template, binary_readme, tmp_path_factory) -> Path:
    """The binary template installed as its README says (from uv's warm cache: ~2 s)."""
    return install(binary_template, binary_readme,
                   tmp_path_factory.mktemp("student-binary") / "repo")


def test_binary_readme_checks_its_own_notebook(binary_readme, binary_template):
    """The binary template's README gives one `check` command, on the binary notebook, the
    light install, and never names the other assignment's notebook (its repository holds
    only the binary one)."""
    assert check_commands(binary_readme) == [f"python -m autograder check {BINARY_NOTEBOOK}"]
    # the same light install as digit_recognition's (test_every_route_installs_...)
    assert setup_lines(binary_readme) == ["python3 -m venv .venv", "source .venv/bin/activate",
                                          "pip install -e ."]
    assert NOTEBOOK not in binary_readme
    assert "[grader]" not in binary_readme
    assert (binary_template / BINARY_NOTEBOOK).read_bytes() == BINARY_RELEASE.read_bytes()
    assert not (binary_template / NOTEBOOK).exists()


@pytest.mark.slow
def test_binary_release_checks_to_zero(binary_repo, binary_readme):
    """The README's `check` on the untouched release, in the light install: every public test
    listed, failed with 0 points and the "not implemented yet" message of its own cell;
    exit status 1 (tests failed), and the notebook unchanged."""
    (command,) = check_commands(binary_readme)
    assert command == f"python -m autograder check {BINARY_NOTEBOOK}"
    before = (binary_repo / BINARY_NOTEBOOK).read_bytes()
    proc = bash(ACTIVATE + command, binary_repo, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    rows = check_rows(proc.stdout)
    assert list(rows) == list(BINARY_TESTS), out
    tests = grade_ids(nbformat.reads(before.decode(), as_version=4), "grade")
    for test, (result, points, message) in rows.items():
        assert (result, points) == ("FAIL", f"0/{BINARY_TESTS[test]}"), (test, out)
        # the message is one the test's own cell writes (a string literal of its source)
        said = re.findall(r'"([^"]*not implemented yet[^"]*)"', tests[test])
        assert said and any(message.startswith(f"AssertionError: {s}") for s in said), \
            (test, message)
    assert f"public tests: 0/{BINARY_TOTAL} points" in proc.stdout
    assert (binary_repo / BINARY_NOTEBOOK).read_bytes() == before


@pytest.mark.slow
def test_binary_solution_checks_to_full_marks(binary_repo):
    """The solution as a student hands it in (hidden tests gone), at the notebook's place in
    the light install: every public test passes with its full points, exit status 0."""
    notebook = binary_repo / BINARY_NOTEBOOK
    release = notebook.read_bytes()
    submission = nbformat.writes(as_student(source=BINARY_SOLUTION))
    submitted = nbformat.reads(submission, as_version=4)
    released = nbformat.reads(release.decode(), as_version=4)
    assert grade_ids(submitted, "grade") == grade_ids(released, "grade")  # tests as released
    assert grade_ids(submitted, "solution") != grade_ids(released, "solution")  # answered
    notebook.write_text(submission, encoding="utf-8")
    try:
        proc = bash(ACTIVATE + f"python -m autograder check {BINARY_NOTEBOOK}", binary_repo,
                    timeout=600)
    finally:
        notebook.write_bytes(release)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    rows = check_rows(proc.stdout)
    assert rows == {test: ("pass", f"{points}/{points}", "")
                    for test, points in BINARY_TESTS.items()}, out
    assert f"public tests: {BINARY_TOTAL}/{BINARY_TOTAL} points" in proc.stdout
