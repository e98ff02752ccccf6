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


# As the notebook: the backend set up first. The figure counts its own draws; the next cell
# reads the count after the post-execute hooks (pyplot's, then the inline backend's, which
# makes the PNG).
SETUP = """%matplotlib inline
import matplotlib.pyplot as plt"""
FIGURE = """fig, ax = plt.subplots()
ax.plot([1, 3, 2])
ax.set_title("a line")
draws = []
fig.canvas.mpl_connect("draw_event", lambda event: draws.append(1))"""


def test_each_inline_figure_is_drawn_for_its_png_only(tmp_path, monkeypatch):
    """Without the inline_figures extension, pyplot's hook draws the new figure once before
    the inline backend draws it for the PNG (its tight box, then the image): three draws.
    With it, two, and the PNG is the same bytes."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                         for source in (SETUP, FIGURE, "print(len(draws))")])
    nbformat.write(nb, tmp_path / "in.ipynb")

    def run(kernel_args: tuple[str, ...]) -> tuple[str, str]:
        monkeypatch.setattr(runner, "KERNEL_ARGS", kernel_args)
        out = tmp_path / f"out-{len(kernel_args)}.ipynb"
        runner.execute(str(tmp_path / "in.ipynb"), str(out), str(tmp_path / "export"), 60)
        figure, count = nbformat.read(out, as_version=4).cells[1:3]
        [png] = [o.data["image/png"] for o in figure.outputs if "image/png" in o.get("data", {})]
        return png, count.outputs[0].text.strip()

    extension = "--InteractiveShellApp.extensions=autograder.student.inline_figures"
    assert extension in (kernel_args := runner.KERNEL_ARGS)
    png_before, draws_before = run(tuple(arg for arg in kernel_args if arg != extension))
    png_after, draws_after = run(kernel_args)
    assert (draws_before, draws_after) == ("3", "2")
    assert png_after == png_before
