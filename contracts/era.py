"""Japanese-era dates (和暦 YYMMDD) as the 200-byte Zengin files carry them, with no era marker.

The adopted rule is domain/zengin.md §5: with R = the Reiwa year of the *reference date* (the business date
of the run, never the wall clock, so re-runs agree), YY = 00 is invalid, 1 <= YY <= R + 1 is Reiwa
(2018 + YY) and anything else is Heisei (1988 + YY). The calendar date is then checked, then the era
boundaries: Reiwa starts on 2019-05-01 and Heisei runs from 1989-01-08 to 2019-04-30.
A date that falls outside its era is rejected, never moved into the other era.

Written by hand: Python's standard library has no Japanese-era calendar, and the inference rule is
seisan's own.
This module must never guess across an era boundary, and must never read the clock: the caller passes the
reference date. The rule needs an update when a new era begins.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

HEISEI_FIRST_DAY = dt.date(1989, 1, 8)
HEISEI_LAST_DAY = dt.date(2019, 4, 30)
REIWA_FIRST_DAY = dt.date(2019, 5, 1)
_REIWA_OFFSET = 2018
_HEISEI_OFFSET = 1988


class EraDateError(ValueError):
    """A YYMMDD value that is not a date of its era (bad shape, year 00, bad day, outside the era)."""


class Era(StrEnum):
    """The two eras the inference rule chooses between (and `AUTO` for the rule itself)."""

    AUTO = "auto"
    REIWA = "reiwa"
    HEISEI = "heisei"


def reiwa_year_of(reference_date: dt.date) -> int:
    """R of the rule: the Reiwa year number of the reference date's Gregorian year (2026 -> 8).

    For reference dates before 2019 this is zero or negative, so every YY is read as Heisei.
    """
    return reference_date.year - _REIWA_OFFSET


def infer_era(yy: int, reference_date: dt.date) -> Era:
    """Reiwa when 1 <= yy <= R + 1, else Heisei (zengin.md §5 rule 2)."""
    if 1 <= yy <= reiwa_year_of(reference_date) + 1:
        return Era.REIWA
    return Era.HEISEI


def _split(yymmdd: str) -> tuple[int, int, int]:
    if not isinstance(yymmdd, str) or len(yymmdd) != 6 or not yymmdd.isascii() or not yymmdd.isdigit():
        raise EraDateError(f"an era date is 6 ASCII digits YYMMDD, got {yymmdd!r}")
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if yy == 0:
        raise EraDateError(f"era year 00 is not a year: {yymmdd}")
    return yy, mm, dd


def _in_era(yy: int, mm: int, dd: int, era: Era, yymmdd: str) -> dt.date:
    offset = _REIWA_OFFSET if era is Era.REIWA else _HEISEI_OFFSET
    try:
        result = dt.date(offset + yy, mm, dd)
    except ValueError as error:
        raise EraDateError(f"{yymmdd} is not a calendar date in {era.value}: {error}") from None
    if era is Era.REIWA and result < REIWA_FIRST_DAY:
        raise EraDateError(f"{yymmdd} read as Reiwa is {result}, before Reiwa began on {REIWA_FIRST_DAY}")
    if era is Era.HEISEI and result > HEISEI_LAST_DAY:
        raise EraDateError(f"{yymmdd} read as Heisei is {result}, after Heisei ended on {HEISEI_LAST_DAY}")
    if era is Era.HEISEI and result < HEISEI_FIRST_DAY:
        raise EraDateError(f"{yymmdd} read as Heisei is {result}, before Heisei began on {HEISEI_FIRST_DAY}")
    return result


def parse_era_date(yymmdd: str, reference_date: dt.date, *, era: Era = Era.AUTO) -> dt.date:
    """The Gregorian date of an era YYMMDD; raises EraDateError when it is not a valid date of its era.

    `era` defaults to the §5 inference; pass Era.HEISEI or Era.REIWA for an archive whose era is known
    (the per-bank calendar setting).
    """
    yy, mm, dd = _split(yymmdd)
    chosen = infer_era(yy, reference_date) if era is Era.AUTO else era
    return _in_era(yy, mm, dd, chosen, yymmdd)


def format_era_date(d: dt.date) -> str:
    """YYMMDD in the era in force on `d`: Reiwa from 2019-05-01, Heisei from 1989-01-08 to 2019-04-30.

    Raises EraDateError for dates before Heisei or for a Reiwa year above 99.
    """
    if d >= REIWA_FIRST_DAY:
        yy = d.year - _REIWA_OFFSET
    elif d >= HEISEI_FIRST_DAY:
        yy = d.year - _HEISEI_OFFSET
    else:
        raise EraDateError(f"{d} is before Heisei; seisan writes Heisei and Reiwa dates only")
    if yy > 99:
        raise EraDateError(f"{d} has an era year above 99, which YYMMDD cannot carry")
    return f"{yy:02d}{d.month:02d}{d.day:02d}"
