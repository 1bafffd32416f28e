"""Japan Standard Time and the timestamps of FORMATS.md ("Common rules"), owned once.

A business date is a calendar date in Asia/Tokyo. Timestamps are ISO 8601 with an offset (`Z`, ±hh:mm, ±hhmm or ±hh); a
timestamp in another offset is valid and is converted. Every module that needs JST or reads a timestamp from
outside imports it from here.

Written by hand: Japan has no daylight saving time, so a fixed +09:00 offset is exact and needs no tz database.
"""

from __future__ import annotations

import datetime as dt
import re

JST = dt.timezone(dt.timedelta(hours=9), "Asia/Tokyo")
TIMESTAMP_CHARS_MAX = 40  # longest valid form: 2026-11-25T10:15:03.123456789+09:00 is 35 characters

# ISO 8601 extended format with an offset: seconds and their fraction optional (reduced precision), the
# fraction after `.` or `,` with up to 9 digits (kept to the microsecond), the offset `Z`, ±hh:mm, ±hhmm or ±hh.
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
)


def parse_timestamp(text: str) -> dt.datetime | None:
    """An ISO 8601 timestamp with offset as an aware datetime in JST; None when it is not one."""
    if not isinstance(text, str) or len(text) > TIMESTAMP_CHARS_MAX or not _TIMESTAMP_RE.fullmatch(text):
        return None
    try:
        aware = dt.datetime.fromisoformat(text)  # a fraction past 6 digits is truncated to the microsecond
    except ValueError:
        return None  # not a calendar date or time, or an offset of a day or more
    try:
        return aware.astimezone(JST)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no JST equivalent
        return None


def parse_timestamp_jst(text: str) -> dt.datetime | None:
    """The same timestamp as naive JST wall-clock time (how the warehouse stores timestamps); None if invalid."""
    aware = parse_timestamp(text)
    return None if aware is None else aware.replace(tzinfo=None)


def jst_date(moment: dt.datetime) -> dt.date:
    """The business date (JST calendar date) of an aware moment."""
    return moment.astimezone(JST).date()
