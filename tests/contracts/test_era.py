"""Era dates: every worked example of domain/zengin.md §5, the boundaries, and round trips."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.era import Era, EraDateError, format_era_date, parse_era_date

REF_2026 = dt.date(2026, 11, 26)  # R = 8


@pytest.mark.parametrize(
    ("yymmdd", "expected"),
    [
        ("280503", dt.date(2016, 5, 3)),   # Heisei, 28 > 9 (S6's example)
        ("080401", dt.date(2026, 4, 1)),   # Reiwa 8
        ("090105", dt.date(2027, 1, 5)),   # Reiwa 9, next-year allowance
        ("100105", dt.date(1998, 1, 5)),   # Heisei 10: valid date (plausibility is the reader's job)
        ("310430", dt.date(2019, 4, 30)),  # last Heisei day
        ("010501", dt.date(2019, 5, 1)),   # first Reiwa day
    ],
)
def test_worked_examples_valid(yymmdd: str, expected: dt.date) -> None:
    assert parse_era_date(yymmdd, REF_2026) == expected


@pytest.mark.parametrize("yymmdd", ["010430", "310501", "000101"])
def test_worked_examples_invalid(yymmdd: str) -> None:
    with pytest.raises(EraDateError):
        parse_era_date(yymmdd, REF_2026)


@pytest.mark.parametrize("yymmdd", ["080230", "081301", "080000", "08040", "0804011", "O80401",
                                    "０８０４０１", "320101", "010101", "", "  0401"])
def test_malformed_or_impossible(yymmdd: str) -> None:
    with pytest.raises(EraDateError):
        parse_era_date(yymmdd, REF_2026)


def test_error_is_a_value_error() -> None:
    assert issubclass(EraDateError, ValueError)


def test_reference_date_moves_the_window() -> None:
    # R + 1 = 9 in 2026 but 10 in 2027: "100105" is Heisei 1998 in 2026 and Reiwa 2028 in 2027.
    assert parse_era_date("100105", dt.date(2027, 1, 1)) == dt.date(2028, 1, 5)
    assert parse_era_date("100105", dt.date(2026, 12, 31)) == dt.date(1998, 1, 5)


def test_leap_days() -> None:
    assert parse_era_date("060229", REF_2026) == dt.date(2024, 2, 29)  # Reiwa 6 = 2024, leap
    with pytest.raises(EraDateError):
        parse_era_date("070229", REF_2026)  # 2025 is not a leap year
    assert parse_era_date("120229", REF_2026) == dt.date(2000, 2, 29)  # Heisei 12 = 2000, leap


def test_heisei_start_boundary() -> None:
    assert parse_era_date("010108", REF_2026, era=Era.HEISEI) == dt.date(1989, 1, 8)
    with pytest.raises(EraDateError):
        parse_era_date("010107", REF_2026, era=Era.HEISEI)  # still Showa 64


def test_explicit_era_for_archives() -> None:
    # H05 = 1993 is read as Reiwa 5 by the rule (documented limitation); an explicit era reads it right.
    assert parse_era_date("050401", REF_2026) == dt.date(2023, 4, 1)
    assert parse_era_date("050401", REF_2026, era=Era.HEISEI) == dt.date(1993, 4, 1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2019, 4, 30), "310430"),
        (dt.date(2019, 5, 1), "010501"),
        (dt.date(2026, 11, 26), "081126"),
        (dt.date(1989, 1, 8), "010108"),
        (dt.date(2016, 5, 3), "280503"),
    ],
)
def test_format(day: dt.date, expected: str) -> None:
    assert format_era_date(day) == expected


def test_format_before_heisei_rejected() -> None:
    with pytest.raises(EraDateError):
        format_era_date(dt.date(1989, 1, 7))


@given(st.dates(min_value=dt.date(2019, 5, 1), max_value=dt.date(2027, 12, 31)))
def test_round_trip_recent_dates(day: dt.date) -> None:
    # Every date from the first Reiwa day to the end of R + 1 reads back from what we write.
    assert parse_era_date(format_era_date(day), REF_2026) == day


@given(st.dates(min_value=dt.date(1998, 1, 1), max_value=dt.date(2019, 4, 30)))
def test_round_trip_heisei_dates(day: dt.date) -> None:
    # Heisei 10 onwards is outside the Reiwa window in 2026, so it reads back as Heisei.
    assert parse_era_date(format_era_date(day), REF_2026) == day
