#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04).
# Written by `python -m autograder gradescope`; the paths can be moved for a local test:
#   AUTOGRADER_ROOT    the folder Gradescope calls /autograder
#   AUTOGRADER_PYTHON  an existing Python to install into (skips the system part below)
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
PYTHON_VERSION="$(sed -n 's/.*"python": "\([0-9.]*\)".*/\1/p' "$SOURCE/gradescope.json")"

if [ -z "${AUTOGRADER_PYTHON:-}" ]; then
    # System part. Ubuntu 22.04's Python (3.10) has no TensorFlow 2.21 wheels: uv brings
    # the Python this course was tested with, into a venv of its own.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends python3-pip ca-certificates
    python3 -m pip install --no-cache-dir uv
    # Outside /root (closed to other users): student code runs as another uid and needs
    # to read the interpreter when the container forbids namespaces.
    export UV_PYTHON_INSTALL_DIR=/opt/uv-python
    uv venv --seed --python "$PYTHON_VERSION" "$ROOT/venv"
    AUTOGRADER_PYTHON="$ROOT/venv/bin/python"
fi

# Install step: the pinned packages, then the course itself from source/course (a path
# entry: the grader finds nbgrader_config.py and the source notebook beside its package).
"$AUTOGRADER_PYTHON" -m pip install --no-input --disable-pip-version-check \
    -r "$SOURCE/requirements.txt"
SITE="$("$AUTOGRADER_PYTHON" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
echo "$SOURCE/course" > "$SITE/digit-recognition-course.pth"
echo "$AUTOGRADER_PYTHON" > "$SOURCE/python"

# Fail the build now, not at the first submission, if anything is missing.
"$AUTOGRADER_PYTHON" -c 'import autograder.grader.platforms.gradescope_run, tensorflow'
