"""TensorFlow imported without its start-up log lines on the notebook's stderr.

``TF_CPP_MIN_LOG_LEVEL=3``, set before the import, is meant to hide TensorFlow's C++ log
lines. TensorFlow 2.21 still writes two when it loads, each preceded by absl's notice that
logging is not initialised yet::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796513803.685058    3483 port.cc:153] oneDNN custom operations are on. ...

Jupyter shows them in pink boxes under the setup cell. ``TF_ENABLE_ONEDNN_OPTS=0`` would
silence the second by turning oneDNN off, which changes the trained weights in their last
bits (and not where grading already imported TensorFlow): so they are filtered instead.
:func:`quiet_tensorflow` catches what is written to the process's stderr (file descriptor 2,
where C++ writes) while its block runs, drops the log records the level hides, and writes
anything else back to ``sys.stderr`` when the block ends: nothing else is lost.

Standard library only: the grader imports this package for the data set's location.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

LEVEL_VAR = "TF_CPP_MIN_LOG_LEVEL"
# A record of absl or TensorFlow's C++ log: its severity is the first letter, I, W, E or F.
# "I0000 00:00:1796513803.685058    3483 port.cc:153] ..." (absl), and
# "2025-09-17 14:44:05.157831: I external/.../cudart_stub.cc:32] ..." (TensorFlow's own).
# (Before absl's logging is initialised, its time is "00:00:" and the seconds since 1970.)
RECORD = re.compile(r"(?:(?P<absl>[IWEF])\d{4} [\d:.]+ +\d+ "
                    r"|\d{4}-\d\d-\d\d [\d:.]+: (?P<tf>[IWEF]) )\S+:\d+\] ")
PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
HIDDEN = {0: "", 1: "I", 2: "IW", 3: "IWE"}  # TF_CPP_MIN_LOG_LEVEL -> the severities it hides


def hidden_severities(level: str | None) -> str:
    """The severities TF_CPP_MIN_LOG_LEVEL hides: "IWE" for "3"; none if it is not a level."""
    try:
        return HIDDEN[min(max(int(level or 0), 0), 3)]
    except ValueError:
        return ""


def drop_hidden_records(text: str, hidden: str) -> str:
    """``text`` without the log records of a severity in ``hidden`` (a record's lines that
    do not start a record go with it), nor absl's preamble when any severity is hidden."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if hidden and line.rstrip("\r\n") == PREAMBLE:
            continue
        if record := RECORD.match(line):
            dropping = (record["absl"] or record["tf"]) in hidden
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextmanager
def quiet_tensorflow() -> Iterator[None]:
    """Run the block (``import tensorflow as tf``) with TensorFlow's logs switched off.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` to 3 unless the environment sets it; while the block runs,
    holds back what is written to stderr and drops the C++ log records that level hides;
    afterwards sets TensorFlow's and absl's Python loggers to errors only.
    """
    os.environ.setdefault(LEVEL_VAR, "3")
    hidden = hidden_severities(os.environ[LEVEL_VAR])
    sys.stderr.flush()
    with ExitStack() as stack:
        try:  # where stderr goes meanwhile, and where it goes back to
            caught = stack.enter_context(tempfile.TemporaryFile())
            saved = os.dup(2)
        except OSError:  # no temporary file, or no stderr (a closed descriptor): hold nothing
            caught = None
        if caught is not None:
            os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            if caught is not None:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                caught.seek(0)
                rest = drop_hidden_records(caught.read().decode(errors="replace"), hidden)
                if rest:
                    sys.stderr.write(rest)
                    sys.stderr.flush()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # tf.get_logger()
    absl_logging = sys.modules.get("absl.logging")  # imported by TensorFlow
    if absl_logging is not None:
        absl_logging.set_verbosity("error")
