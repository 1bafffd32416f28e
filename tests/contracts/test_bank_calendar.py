"""Bank business days (contracts.bank_calendar): hand-checked dates against the 2026/27 calendars."""

from __future__ import annotations

import datetime as dt

import pytest

import simulator.calendar
from contracts.bank_calendar import add_bank_days, bank_day_on_or_before, is_bank_business_day

D = dt.date


@pytest.mark.parametrize(("day", "open_"), [
    (D(2026, 12, 30), True),    # Wednesday
    (D(2026, 12, 31), False),   # year-end bank holiday, a Thursday
    (D(2027, 1, 1), False),     # New Year's Day
    (D(2027, 1, 4), True),      # first Monday after 3 January
    (D(2026, 1, 2), False),     # Friday, year-end holiday though no national holiday
    (D(2026, 1, 12), False),    # 成人の日 (second Monday of January)
    (D(2026, 5, 6), False),     # 振替休日: Constitution Day fell on Sunday 3 May
    (D(2026, 12, 5), False),    # Saturday
    (D(2026, 12, 7), True),     # Monday
])
def test_is_bank_business_day(day: dt.date, open_: bool) -> None:
    assert is_bank_business_day(day) is open_


def test_next_bank_day_over_the_year_end() -> None:
    assert add_bank_days(D(2026, 12, 30), 1) == D(2027, 1, 4)
    assert add_bank_days(D(2026, 12, 4), 1) == D(2026, 12, 7)      # Friday → Monday
    assert add_bank_days(D(2026, 12, 4), 2) == D(2026, 12, 8)
    assert bank_day_on_or_before(D(2027, 1, 3)) == D(2026, 12, 30)


def test_the_simulator_uses_the_same_rule() -> None:
    assert simulator.calendar.is_bank_business_day is is_bank_business_day
    assert simulator.calendar.add_bank_days is add_bank_days
