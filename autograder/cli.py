"""``python -m autograder VERB``: one verb per job, as nbgrader has one app per command.

Students: ``check``. Instructors: ``grade``, ``feedback``, ``export``, ``merge``,
``template``. The instructor's verbs are defined in ``autograder.grader.verbs``; the student
kit (template repository, platform bundles) ships without that package, and then offers
``check`` alone, and its help speaks of nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from autograder.records import CommandError
from autograder.student import check

EXIT_CANNOT_RUN = 3
GRADER_VERBS = "autograder.grader.verbs"


def _grader_verbs():
    """The instructor's verbs, or None where only the student kit is installed."""
    try:
        return importlib.import_module(GRADER_VERBS)
    except ModuleNotFoundError as exc:
        if exc.name in (GRADER_VERBS, GRADER_VERBS.rsplit(".", 1)[0]):
            return None
        raise


# In a student's repository (the template), which has no grader: what it can do, and how.
STUDENT_DESCRIPTION = ("Check your notebook: run it from top to bottom in a fresh kernel, as "
                       "it will be run when it is marked, and see each public test with its "
                       "points and message. Your file is not changed.")
STUDENT_EPILOG = ("Save the notebook in Jupyter first (check reads the file, not what is open), "
                  "then run from the repository's top folder, for example: "
                  "python -m autograder check assignments/<id>/<id>.ipynb")


def build_parser() -> argparse.ArgumentParser:
    grader = _grader_verbs()
    if grader is None:
        parser = argparse.ArgumentParser(prog="python -m autograder",
                                         description=STUDENT_DESCRIPTION, epilog=STUDENT_EPILOG)
    else:
        parser = argparse.ArgumentParser(
            prog="python -m autograder",
            description="Check or grade the course's nbgrader assignments.")
    sub = parser.add_subparsers(dest="verb", required=True)
    if grader is not None:
        grader.add_verbs(sub)
    check.add_verb(sub)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """argparse cannot take positionals on both sides of an option (``collect DOWNLOAD
    --from canvas OUT_DIR``): paths left over after the options join the verb's PATHs."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not isinstance(getattr(args, "paths", None), list) or any(
                e.startswith("-") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.paths.extend(Path(e) for e in extra)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        return args.run(args)
    except ModuleNotFoundError as exc:
        print(f"error: `{args.verb}` needs {exc.name}, which is not installed: install the "
              "instructor's tools with pip install -e '.[grader]'")
        return EXIT_CANNOT_RUN
    except (CommandError, FileNotFoundError) as exc:
        print(f"error: {exc}")
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
