"""runner: the one notebook runner. Grading runs it with ``--consume``: the notebook it is
handed holds the restored hidden tests, and student code runs in the same folder."""

import subprocess

import nbformat

from autograder.student import runner

READ_OWN_INPUT = "print(open('in.ipynb').read()[:40])"


def _run(tmp_path, consume: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(READ_OWN_INPUT)])
    nbformat.write(nb, tmp_path / "in.ipynb")
    cmd = runner.command(tmp_path / "in.ipynb", tmp_path / "out.ipynb", tmp_path / "export",
                         cell_timeout=30, consume=consume)
    subprocess.run(cmd, cwd=tmp_path, capture_output=True, check=False, timeout=120)
    return nbformat.read(tmp_path / "out.ipynb", as_version=4)


def test_without_consume_student_code_reads_the_notebook_it_runs_in(tmp_path):
    out = _run(tmp_path, consume=False)
    assert out.cells[0].outputs[0].get("text", "").startswith("{")
    assert (tmp_path / "in.ipynb").is_file()  # `check` never changes the student's file


def test_consume_deletes_it_before_any_cell_runs(tmp_path):
    out = _run(tmp_path, consume=True)
    error = out.cells[0].outputs[0]
    assert error.output_type == "error" and error.ename == "FileNotFoundError"
    assert not (tmp_path / "in.ipynb").exists()
