"""``python -m autograder VERB``: one verb per job, as nbgrader has one app per command.

Students: ``check``. Instructors: ``grade``, ``feedback``, ``export``, ``merge``,
``template``. The instructor's verbs are defined in ``autograder.grader.verbs``; the student
kit (template repository, platform bundles) ships without that package, and then offers
``check`` alone.
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Check or grade the course's nbgrader assignments.")
    sub = parser.add_subparsers(dest="verb", required=True)
    grader = _grader_verbs()
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
