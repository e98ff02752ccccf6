"""Moodle's times as its pages and files write them: ``userdate()`` in English, the
language pack's ``strftimedaydatetime`` (``%A, %d %B %Y, %I:%M %p`` without the leading zeros
of the day and the hour): ``Tuesday, 2 December 2025, 9:15 AM``, in the zone of the user who
downloaded the file, which the file does not say. The grading worksheet writes its
``Last modified (submission)`` and ``Last modified (grade)`` so (mod/assign/gradingtable.php,
``col_timesubmitted`` and ``col_timemarked``): ``collect --worksheet`` reads the one,
``return --to moodle`` the other.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
USERDATE = re.compile(r"\A(?:[^\W\d]+,\s*)?(\d{1,2})\s+([^\W\d]+)\s+(\d{4}),\s*"
                      r"(\d{1,2}):(\d{2})\s*([AaPp][Mm])\Z")


def read_userdate(value: str, zone: tzinfo | None = None) -> datetime | None:
    """``Tuesday, 2 December 2025, 9:15 AM`` as a time in ``zone`` (default: this machine's);
    None for any other text (another language, ``-``)."""
    match = USERDATE.match(value.strip())
    if not match or match.group(2).casefold() not in MONTHS:
        return None
    day, month, year, hour, minute, half = match.groups()
    hour_24 = int(hour) % 12 + (12 if half.casefold() == "pm" else 0)
    try:
        when = datetime(int(year), MONTHS.index(month.casefold()) + 1, int(day), hour_24,
                        int(minute))
        return when.replace(tzinfo=zone) if zone else when.astimezone()  # naive: local
    except (ValueError, OverflowError, OSError):
        return None
