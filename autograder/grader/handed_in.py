"""``python -m autograder.grader.handed_in SOURCE OUT``: an assignment's source notebook as a
student who solved it hands it in: the solutions kept, the hidden tests removed (nbgrader's
own ``ClearHiddenTests``, as the release removes them). Its test cells then equal the
release's, so grading reports no changed test cell. ``make demo`` grades it as `solution`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests


def handed_in(source: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(source, as_version=4)
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return nb


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m autograder.grader.handed_in SOURCE.ipynb OUT.ipynb",
              file=sys.stderr)
        return 2
    nbformat.write(handed_in(Path(args[0])), args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
