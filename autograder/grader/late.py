"""The course's late policy, and the parsers per-student deadlines need.

- :class:`PercentLatePenalty`: nbgrader's ``LateSubmissionPlugin`` offers ``none`` and
  ``zero``; this one takes a percent of the notebook's score per started hour or day late,
  up to a cap. nbgrader_config.py selects it::

      c.AssignLatePenalties.plugin_class = "autograder.grader.late.PercentLatePenalty"
      c.PercentLatePenalty.percent = 10
      c.PercentLatePenalty.period = "day"
      c.PercentLatePenalty.cap = 50

  nbgrader's ``AssignLatePenalties`` makes the plugin with ``parent=self``, so these settings
  reach it wherever nbgrader (or :func:`plugin`) builds it.
- :func:`plugin`, :func:`describe`, :func:`penalty_when_marked_late`: the policy a config
  selects, in words for people, and for a submission the LMS marked late without a time.
- :func:`parse_extension` (``"1d12h"``) and :func:`parse_deadline` (ISO 8601 with a zone).
- :func:`is_late`: what counts as late in the gradebook, for every place that shows it.

The lateness itself is nbgrader's: ``SubmittedAssignment.total_seconds_late``, the hand-in
time past the assignment's due date plus the student's extension (``Gradebook.
grant_extension``), 0 without a time or a due date.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from nbgrader.api import SubmittedAssignment
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Enum, Float, TraitError, validate
from traitlets.config import Config

from autograder.records import CommandError

PERIOD_SECONDS = {"hour": 3600, "day": 86400}


class LatePolicyError(ValueError, CommandError):
    """A deadline or extension that cannot be read. A ValueError (what a parser raises), and
    the CLI's CommandError, so that a verb passing the user's text along needs no wrapper."""


class PercentLatePenalty(LateSubmissionPlugin):
    """``percent`` of the notebook's score per started ``period`` late, at most ``cap``.

    A started period counts whole: one second late costs one period's percent, a day and a
    second two. nbgrader calls the plugin only for a submission that is late (its
    ``AssignLatePenalties``), once per notebook, with that notebook's score, and keeps the
    penalty within [0, score]. ``penalty_method`` (inherited from nbgrader's plugin) is not
    used here.
    """

    percent = Float(
        10.0, help="The percent of the notebook's score taken per started period late (>= 0)."
    ).tag(config=True)
    period = Enum(("hour", "day"), default_value="day",
                  help="The period the percent is taken per: 'hour' or 'day'.").tag(config=True)
    cap = Float(
        100.0, help="The most percent of the score taken in all, however late (0 to 100)."
    ).tag(config=True)

    @validate("percent")
    def _valid_percent(self, proposal):
        value = proposal["value"]
        # `not >=` also refuses NaN, which every comparison fails.
        if not (math.isfinite(value) and value >= 0):
            raise TraitError(f"PercentLatePenalty.percent must be a number >= 0 (the percent "
                             f"of the score taken per started period late), not {value!r}")
        return value

    @validate("cap")
    def _valid_cap(self, proposal):
        value = proposal["value"]
        if not 0 <= value <= 100:
            raise TraitError(f"PercentLatePenalty.cap must be a number from 0 to 100 (the "
                             f"most percent of the score taken in all), not {value!r}")
        return value

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        if total_seconds_late <= 0:
            return 0.0
        periods = math.ceil(total_seconds_late / PERIOD_SECONDS[self.period])
        return score * min(self.cap, self.percent * periods) / 100


def plugin(config: Config) -> LateSubmissionPlugin:
    """The late-submission plugin ``config`` selects (``AssignLatePenalties.plugin_class``,
    nbgrader's ``LateSubmissionPlugin`` by default), configured as nbgrader configures it:
    made by nbgrader's own ``AssignLatePenalties``. A bad setting raises traitlets'
    ``TraitError``."""
    assign = AssignLatePenalties(config=config)
    assign.init_plugin()
    return assign.plugin_inst


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def describe(config: Config) -> str | None:
    """The late policy in words for people (feedback, reports), or None when no penalty
    applies. Only the classes here and nbgrader's are known; another plugin (or a subclass,
    which may compute anything) is named, not guessed at."""
    policy = plugin(config)
    if type(policy) is PercentLatePenalty:
        if policy.percent == 0 or policy.cap == 0:
            return None
        words = f"{policy.percent:g}% of the score per started {policy.period} late"
        # At 100 the cap says nothing: nbgrader never takes more than the score.
        return words if policy.cap >= 100 else f"{words}, at most {policy.cap:g}%"
    if type(policy) is LateSubmissionPlugin:
        return "a late submission scores zero" if policy.penalty_method == "zero" else None
    return f"the course's late policy ({_qualified(type(policy))})"


def penalty_when_marked_late(config: Config, student: str, score: float) -> float:
    """The penalty for a submission the LMS marked late without saying when (Canvas's LATE
    marker): the policy's penalty for one second late, within [0, score] as nbgrader's
    ``AssignLatePenalties`` keeps it.

    The marker proves only "after the deadline", and a time is never invented, so the least
    lateness it proves is taken: "zero" takes the whole score, a percent policy one period's
    percent."""
    penalty = plugin(config).late_submission_penalty(student, score, 1.0)
    if penalty is None:  # nbgrader's "none"
        return 0.0
    return float(min(max(penalty, 0.0), score))


# --- extensions and deadlines ---------------------------------------------------------------

EXTENSION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z])", re.IGNORECASE)
EXTENSION_FORMS = ('a number and a unit, w (weeks), d (days), h (hours) or m (minutes), '
                   'each unit once, as in "2d", "36h", "90m", "1w", "1d12h" or "1.5d"')


def parse_extension(text: str) -> timedelta:
    """``"2d"``, ``"36h"``, ``"90m"``, ``"1w"``, ``"1d12h"``, ``"1.5d"`` -> a timedelta.

    Weeks, days, hours and minutes, in any case, with spaces allowed between the parts; each
    unit at most once (``"1d 1d"`` is more likely a slip than two days). A bare number is
    refused: "2" could be days or hours, and a wrong guess moves a deadline."""
    parts: dict[str, float] = {}
    rest = text.strip()
    refused = LatePolicyError(f"extension {text!r} is not a duration: write {EXTENSION_FORMS}")
    if not rest:
        raise refused
    at = 0
    while at < len(rest):
        part = _PART.match(rest, at)
        if part is None:
            raise refused
        number, unit = part.group(1), part.group(2).lower()
        if unit not in EXTENSION_UNITS or unit in parts:
            raise refused
        parts[unit] = float(number)
        at = part.end()
    try:
        return timedelta(**{EXTENSION_UNITS[unit]: n for unit, n in parts.items()})
    except OverflowError:
        raise LatePolicyError(f"extension {text!r} is longer than any calendar holds") from None


DEADLINE_FORMATS = ("%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S %z")
DEADLINE_EXAMPLE = '"2026-12-03T23:59+01:00" or "2026-12-03 23:59 +0100"'


def parse_deadline(text: str) -> datetime:
    """``"2026-12-03 23:59 +0100"``, or ISO 8601 with a zone (``"2026-12-03T23:59+01:00"``,
    ``"...Z"``) -> an aware datetime, in the zone given (nbgrader stores naive UTC: its
    ``parse_utc`` converts). The zone is required: a deadline read in the grader's own zone
    would move by hours on another machine. Accepts what ``collecting.git`` has accepted."""
    for fmt in DEADLINE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LatePolicyError(f"deadline {text!r} is not a date: write it as "
                              f"{DEADLINE_EXAMPLE}") from None
    if when.tzinfo is None:
        raise LatePolicyError(f"deadline {text!r} has no time zone: give the time zone, "
                              f"e.g. +01:00, as in {DEADLINE_EXAMPLE}")
    return when


def is_late(submission: SubmittedAssignment) -> bool:
    """nbgrader's submission came after the student's due date, or was judged late by the
    LMS's marker (a penalty recorded, perhaps 0: nbgrader records None when on time)."""
    return (submission.total_seconds_late > 0
            or any(nb.late_submission_penalty is not None for nb in submission.notebooks))
