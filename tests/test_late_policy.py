"""The course's late policy (autograder/grader/late.py) through nbgrader's own
``AssignLatePenalties``, on a real SQLite gradebook: an assignment due at a time, one notebook
with one 10-point autograded cell, submissions handed in at various lateness, an extension
granted with ``Gradebook.grant_extension``; and the parsers of extensions and deadlines.
"""

from __future__ import annotations

import math
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbformat.v4 import new_notebook
from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Float, TraitError
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.grader import late
from autograder.records import CommandError

# nbgrader 0.9 with SQLAlchemy 2 warns on every submission; the grader silences it too.
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")

ASSIGNMENT, NOTEBOOK, CELL = "ps1", "p1", "q1"
DEADLINE = "2026-12-03 23:59 +0100"
DUE = late.parse_deadline(DEADLINE)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
PLUGIN = "autograder.grader.late.PercentLatePenalty"


def course_config(percent: float = 10, period: str = "day", cap: float = 50) -> Config:
    """What nbgrader_config.py sets for the course's policy (the class by its path)."""
    c = Config()
    c.AssignLatePenalties.plugin_class = PLUGIN
    c.PercentLatePenalty.percent = percent
    c.PercentLatePenalty.period = period
    c.PercentLatePenalty.cap = cap
    return c


def nbgrader_config(penalty_method: str | None = None) -> Config:
    """nbgrader's own plugin, with its penalty_method when given."""
    c = Config()
    if penalty_method:
        c.LateSubmissionPlugin.penalty_method = penalty_method
    return c


class Fixed(LateSubmissionPlugin):
    """A plugin of some other course: whatever penalty it is told, however late."""

    value = Float(0.0).tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return self.value


def fixed_config(value: float) -> Config:
    c = Config()
    c.AssignLatePenalties.plugin_class = Fixed
    c.Fixed.value = value
    return c


@pytest.fixture
def db(tmp_path: Path, empty_gradebook: Path) -> str:
    """A gradebook with the assignment due at DEADLINE (nbgrader stores it in UTC)."""
    path = tmp_path / "gradebook.db"
    shutil.copyfile(empty_gradebook, path)
    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.add_assignment(ASSIGNMENT, duedate=DUE)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        gb.add_grade_cell(CELL, NOTEBOOK, ASSIGNMENT, max_score=10, cell_type="code")
    return url


def hand_in(db: str, student: str, late_by: timedelta, score: float = 10,
            extension: timedelta | None = None) -> None:
    """A submission ``late_by`` after the due date (negative: early), autograded ``score``."""
    with Gradebook(db) as gb:
        gb.add_student(student)
        gb.add_submission(ASSIGNMENT, student, timestamp=DUE + late_by)
        if extension is not None:
            gb.grant_extension(ASSIGNMENT, student, minutes=extension / timedelta(minutes=1))
        gb.find_grade(CELL, NOTEBOOK, ASSIGNMENT, student).auto_score = score
        gb.db.commit()


def assigned_penalty(db: str, student: str, config: Config) -> float | None:
    """Run nbgrader's AssignLatePenalties as ``nbgrader autograde`` does; read the penalty
    back from the gradebook (None: nbgrader recorded none)."""
    resources = {"nbgrader": {"student": student, "assignment": ASSIGNMENT,
                              "notebook": NOTEBOOK, "db_url": db}}
    AssignLatePenalties(config=config).preprocess(new_notebook(), resources)
    with Gradebook(db) as gb:
        return gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).late_submission_penalty


# --- the policy, through nbgrader -----------------------------------------------------------

@pytest.mark.parametrize(("late_by", "penalty"), [
    (-HOUR, None),  # early: nbgrader calls no plugin
    (timedelta(0), None),  # at the deadline is on time
    (timedelta(seconds=1), 1.0),  # a started day counts whole
    (DAY, 1.0),
    (DAY + timedelta(seconds=1), 2.0),
    (3.5 * DAY, 4.0),
    (5 * DAY, 5.0),  # the cap, exactly
    (30 * DAY, 5.0),  # far late: the cap, 50%
])
def test_percent_per_started_day_up_to_the_cap(db, late_by, penalty):
    hand_in(db, "alice", late_by)
    assert assigned_penalty(db, "alice", course_config()) == penalty


def test_percent_per_started_hour_of_the_notebooks_score(db):
    hand_in(db, "bob", timedelta(minutes=90), score=7)
    assert assigned_penalty(db, "bob", course_config(percent=5, period="hour", cap=100)) == \
        pytest.approx(7 * 0.10)
    hand_in(db, "carol", 30 * DAY, score=7)
    # Uncapped, 5% an hour takes it all by the 20th hour; never more than the score.
    assert assigned_penalty(db, "carol", course_config(percent=5, period="hour", cap=100)) == 7


def test_an_extension_moves_the_deadline(db):
    extension = late.parse_extension("3d")
    hand_in(db, "dave", 2 * DAY, extension=extension)  # late by the due date, not by his own
    assert assigned_penalty(db, "dave", course_config()) is None
    hand_in(db, "erin", 36 * HOUR, extension=late.parse_extension("1d"))  # 12 h past her own
    assert assigned_penalty(db, "erin", course_config()) == 1.0
    with Gradebook(db) as gb:
        sub = gb.find_submission(ASSIGNMENT, "dave")
        assert sub.duedate == DUE.astimezone(UTC).replace(tzinfo=None) + extension
        assert sub.total_seconds_late == 0


def test_nbgraders_own_methods_still_work(db):
    hand_in(db, "frank", HOUR, score=8)
    assert assigned_penalty(db, "frank", nbgrader_config("zero")) == 8
    assert assigned_penalty(db, "frank", nbgrader_config()) is None
    zero = late.plugin(nbgrader_config("zero"))
    assert type(zero) is LateSubmissionPlugin and zero.penalty_method == "zero"
    assert zero.late_submission_penalty("frank", 8.0, 3600.0) == 8.0


def test_the_lines_nbgrader_config_py_holds(tmp_path):
    """The course's settings, read from a config file as nbgrader reads nbgrader_config.py."""
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.AssignLatePenalties.plugin_class = {PLUGIN!r}\n"
        "c.PercentLatePenalty.percent = 10\n"
        'c.PercentLatePenalty.period = "day"\n'
        "c.PercentLatePenalty.cap = 50\n")
    config = PyFileConfigLoader("nbgrader_config.py", str(tmp_path)).load_config()
    assert late.describe(config) == "10% of the score per started day late, at most 50%"
    assert late.plugin(config).late_submission_penalty("a", 10.0, 3.5 * 86400) == 4.0


def test_plugin_is_configured_from_the_config():
    policy = late.plugin(course_config(percent=12.5, period="hour", cap=40))
    assert type(policy) is late.PercentLatePenalty
    assert (policy.percent, policy.period, policy.cap) == (12.5, "hour", 40)
    defaults = late.plugin(Config({"AssignLatePenalties": {"plugin_class": PLUGIN}}))
    assert (defaults.percent, defaults.period, defaults.cap) == (10, "day", 100)
    assert defaults.late_submission_penalty("a", 10.0, 0) == 0


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("percent", -1, "percent must be a number >= 0"),
    ("percent", math.inf, "percent must be a number >= 0"),
    ("percent", math.nan, "percent must be a number >= 0"),
    ("cap", 150, "cap must be a number from 0 to 100"),
    ("cap", -5, "cap must be a number from 0 to 100"),
    ("cap", math.nan, "cap must be a number from 0 to 100"),
    ("period", "week", "'hour', 'day'"),
])
def test_bad_settings_are_refused(setting, value, message):
    c = course_config()
    c.PercentLatePenalty[setting] = value
    with pytest.raises(TraitError, match=message):
        late.plugin(c)


# --- the policy in words, and the LMS's LATE marker -----------------------------------------

@pytest.mark.parametrize(("config", "words"), [
    (course_config(), "10% of the score per started day late, at most 50%"),
    (course_config(percent=2.5, period="hour", cap=100), "2.5% of the score per started hour late"),
    (course_config(percent=0), None),
    (course_config(cap=0), None),
    (nbgrader_config("zero"), "a late submission scores zero"),
    (nbgrader_config("none"), None),
    (nbgrader_config(), None),
    (fixed_config(1), f"the course's late policy ({Fixed.__module__}.Fixed)"),
])
def test_describe(config, words):
    assert late.describe(config) == words


@pytest.mark.parametrize(("config", "penalty"), [
    (course_config(), 0.8),  # one day's 10%
    (course_config(percent=5, period="hour"), 0.4),
    (course_config(percent=80, cap=50), 4.0),
    (nbgrader_config("zero"), 8.0),  # the whole score
    (nbgrader_config(), 0.0),  # nbgrader's "none" gives no penalty (None)
    (fixed_config(20), 8.0),  # kept within the score, as nbgrader keeps it
    (fixed_config(-3), 0.0),
])
def test_penalty_when_marked_late(config, penalty):
    got = late.penalty_when_marked_late(config, "gina", 8.0)
    assert isinstance(got, float) and got == pytest.approx(penalty)


# --- extensions -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "length"), [
    ("2d", 2 * DAY),
    ("36h", 36 * HOUR),
    ("90m", timedelta(minutes=90)),
    ("1w", 7 * DAY),
    ("1d12h", 36 * HOUR),
    ("1.5d", 36 * HOUR),
    ("1D 12H", 36 * HOUR),
    (" 1w 2d 3h 4m ", timedelta(weeks=1, days=2, hours=3, minutes=4)),
    ("12h1d", 36 * HOUR),
    ("2 d", 2 * DAY),
    ("0d", timedelta(0)),
])
def test_extensions_read(text, length):
    assert late.parse_extension(text) == length


@pytest.mark.parametrize("text", [
    "", "   ", "-2d", "2", "d", "2x", "2s", "2days", "1d1d", "1,5d", "+2d", "1d-2h", "2d!",
])
def test_extensions_refused_say_the_forms(text):
    with pytest.raises(ValueError, match=r'w \(weeks\), d \(days\).*"1d12h"'):
        late.parse_extension(text)


def test_an_impossible_extension_is_refused():
    with pytest.raises(ValueError, match="longer than"):
        late.parse_extension("99999999999w")


# --- deadlines ------------------------------------------------------------------------------

UTC_DUE = datetime(2026, 12, 3, 22, 59, tzinfo=UTC)
NO_ZONE = re.escape("has no time zone: give the time zone, e.g. +01:00")


@pytest.mark.parametrize("text", [
    "2026-12-03T23:59+01:00",
    "2026-12-03 23:59 +0100",
    "2026-12-03 23:59 +01:00",
    "2026-12-03T22:59Z",
    "2026-12-03 22:59 Z",
    "2026-12-03T22:59:00+00:00",
    "  2026-12-03 17:59 -0500 ",
])
def test_deadlines_read_with_their_zone(text):
    when = late.parse_deadline(text)
    assert when.tzinfo is not None and when == UTC_DUE


@pytest.mark.parametrize(("text", "message"), [
    ("2026-12-03 23:59", NO_ZONE),
    ("2026-12-03T23:59", NO_ZONE),
    ("2026-12-03", NO_ZONE),
    ("tomorrow", "is not a date"),
    ("", "is not a date"),
    ("2026-12-03 23:59 CET", "is not a date"),  # a name is not an offset (CET or CEST?)
])
def test_deadlines_refused(text, message):
    with pytest.raises(ValueError, match=message) as refused:
        late.parse_deadline(text)
    # The CLI prints a CommandError: a verb can pass the user's text straight here.
    assert isinstance(refused.value, CommandError)
