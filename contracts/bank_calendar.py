"""Bank business days (銀行営業日): the one rule, used by payout planning (transfer dates) and the simulator's bank.

A bank business day is a weekday that is not a national holiday (jpholiday) and not one of the banks'
year-end holidays (31 December to 3 January). Written here because jpholiday knows national holidays only.
This module never reads the clock.
"""

from __future__ import annotations

import datetime as dt

import jpholiday

# The banks' year-end holidays (銀行の休業日, 12月31日〜1月3日), as (month, day).
YEAR_END_HOLIDAYS = frozenset({(12, 31), (1, 1), (1, 2), (1, 3)})


def is_bank_business_day(day: dt.date) -> bool:
    if day.weekday() >= 5:
        return False
    if (day.month, day.day) in YEAR_END_HOLIDAYS:
        return False
    return not jpholiday.is_holiday(day)


def add_bank_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th bank business day after `day` (count >= 1)."""
    current = day
    while count > 0:
        current += dt.timedelta(days=1)
        if is_bank_business_day(current):
            count -= 1
    return current


def bank_day_on_or_before(day: dt.date) -> dt.date:
    while not is_bank_business_day(day):
        day -= dt.timedelta(days=1)
    return day
