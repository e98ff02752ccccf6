"""Classroom 50 autograder for one assignment of the course (public: no solutions, no
hidden tests). Written by `python -m autograder classroom50`; do not edit, rebuild it.

Classroom 50 runs `python autograder.py` in the student's checkout. The runner installs no
packages, so this installs the pinned ones beside it first, then grades.
"""

import subprocess
import sys
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent


def install() -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-input", "-r", str(BUNDLE / "requirements.txt")]
    if subprocess.run(cmd).returncode != 0:
        sys.exit("error: the autograder's packages could not be installed (see above)")


if __name__ == "__main__":
    install()
    sys.path.insert(0, str(BUNDLE))
    from autograder.public.classroom50 import main

    sys.exit(main(BUNDLE))
