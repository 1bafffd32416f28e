"""Hand-computed cases for the simulated platform's point engine (FORMATS.md "How the platform moves points")."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine import JST, EngineError, PointEngine, expiry_date, fiscal_year

RULES = {"A": "days:10", "B": "days:3", "C": "none", "F": "fiscal_year_end:0", "F1": "fiscal_year_end:1"}


def ts(day: str, hms: str = "10:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hms}+09:00")


def test_fiscal_year_end_on_31_march_vs_1_april() -> None:
    assert fiscal_year(dt.date(2026, 3, 31)) == 2025
    assert fiscal_year(dt.date(2026, 4, 1)) == 2026
    assert expiry_date("fiscal_year_end:0", dt.date(2026, 3, 31)) == dt.date(2026, 3, 31)
    assert expiry_date("fiscal_year_end:0", dt.date(2026, 4, 1)) == dt.date(2027, 3, 31)
    assert expiry_date("fiscal_year_end:1", dt.date(2026, 3, 31)) == dt.date(2027, 3, 31)
    assert expiry_date("fiscal_year_end:2", dt.date(2026, 11, 25)) == dt.date(2029, 3, 31)
    assert expiry_date("none", dt.date(2026, 11, 25)) is None


def test_days_rule_over_a_leap_day() -> None:
    assert expiry_date("days:1", dt.date(2028, 2, 28)) == dt.date(2028, 2, 29)
    assert expiry_date("days:2", dt.date(2028, 2, 28)) == dt.date(2028, 3, 1)
    assert expiry_date("days:1", dt.date(2027, 2, 28)) == dt.date(2027, 3, 1)
    assert expiry_date("days:365", dt.date(2028, 1, 1)) == dt.date(2028, 12, 31)


def test_lot_granted_31_march_expires_that_night_1_april_lot_a_year_later() -> None:
    engine = PointEngine(RULES)
    engine.add_lot("g1", ts("2026-03-31", "09:00:00"), "242012", "K1", "F", 300)
    engine.add_lot("g2", ts("2026-04-01", "09:00:00"), "242012", "K1", "F", 200)
    expired = engine.end_of_day(dt.date(2026, 3, 31))
    assert [(e.lot_event_id, e.amount) for e in expired] == [("g1", 300)]
    assert expired[0].event_ts.isoformat() == "2026-03-31T23:59:59+09:00"
    assert engine.available("242012", "K1", dt.date(2026, 4, 1)) == 200


def test_use_spanning_three_lots_in_expiry_then_time_then_id_order() -> None:
    engine = PointEngine(RULES)
    day = "2026-11-25"
    engine.add_lot("g3", ts(day, "08:00:00"), "242012", "K1", "C", 1000)   # no expiry: last
    engine.add_lot("g2", ts(day, "09:00:00"), "242012", "K1", "A", 300)    # expires 12-05
    engine.add_lot("g1", ts(day, "09:00:00"), "242012", "K1", "A", 200)    # same expiry and time: id first
    engine.add_lot("g0", ts(day, "11:00:00"), "242012", "K1", "B", 100)    # expires 11-28: first
    taken = engine.use("u1", ts(day, "12:00:00"), "242012", "K1", 700)
    assert taken == [("g0", 100), ("g1", 200), ("g2", 300), ("g3", 100)]
    assert engine.available("242012", "K1", dt.date(2026, 11, 25)) == 900
    with pytest.raises(EngineError):
        engine.use("u2", ts(day, "12:30:00"), "242012", "K1", 901)


def test_partial_cancel_restores_last_consumed_first_and_expired_lot_lapses_on_cancel_date() -> None:
    engine = PointEngine(RULES)
    engine.add_lot("gB", ts("2026-11-20"), "242012", "K1", "B", 100)   # expires 2026-11-23
    engine.add_lot("gA", ts("2026-11-20"), "242012", "K1", "A", 500)   # expires 2026-11-30
    assert engine.use("u1", ts("2026-11-21"), "242012", "K1", 400) == [("gB", 100), ("gA", 300)]
    assert engine.end_of_day(dt.date(2026, 11, 23)) == []            # gB fully spent: nothing lapses
    # cancel 350 of 400 on 11-25: 300 back to gA (consumed last), then 50 back to gB, which expired on 11-23
    assert engine.cancel("u1", 350) == [("gA", 300), ("gB", 50)]
    assert engine.available("242012", "K1", dt.date(2026, 11, 25)) == 500  # gB's 50 are not spendable
    expired = engine.end_of_day(dt.date(2026, 11, 25))
    assert [(e.lot_event_id, e.amount, e.event_ts.isoformat()) for e in expired] == [
        ("gB", 50, "2026-11-25T23:59:59+09:00")]
    assert engine.cancellable("u1") == 50
    assert engine.cancel("u1", 50) == [("gB", 50)]
    with pytest.raises(EngineError):
        engine.cancel("u1", 1)


def test_expiry_one_event_per_lot_and_day_and_spendable_until_the_last_day() -> None:
    engine = PointEngine(RULES)
    engine.add_lot("g1", ts("2026-11-25"), "242012", "K1", "B", 300)   # expires 2026-11-28
    assert engine.end_of_day(dt.date(2026, 11, 27)) == []
    assert engine.use("u1", ts("2026-11-28", "23:00:00"), "242012", "K1", 100) == [("g1", 100)]
    expired = engine.end_of_day(dt.date(2026, 11, 28))
    assert [(e.lot_event_id, e.amount) for e in expired] == [("g1", 200)]
    assert engine.end_of_day(dt.date(2026, 11, 29)) == []


def test_annual_cap_reached_exactly_and_reset_by_fiscal_year() -> None:
    engine = PointEngine({"BEN": "fiscal_year_end:0"}, {"BEN": 2000})
    for i in range(4):
        assert engine.cap_room("BEN", "K1", dt.date(2027, 3, 30)) == 2000 - 500 * i
        engine.add_lot(f"g{i}", ts("2027-03-30"), "242012", "K1", "BEN", 500, is_grant=True)
    assert engine.cap_room("BEN", "K1", dt.date(2027, 3, 31)) == 0
    assert engine.cap_room("BEN", "K1", dt.date(2027, 4, 1)) == 2000
    assert engine.cap_room("BEN", "K2", dt.date(2027, 3, 31)) == 2000


def test_negative_adjust_takes_only_from_its_programme() -> None:
    engine = PointEngine(RULES)
    engine.add_lot("g1", ts("2026-11-25", "08:00:00"), "242012", "K1", "B", 100)
    engine.add_lot("g2", ts("2026-11-25", "09:00:00"), "242012", "K1", "C", 100)
    assert engine.take(ts("2026-11-25", "10:00:00"), "242012", "K1", "C", 60) == [("g2", 60)]
    assert [b.balance for b in engine.balances(dt.date(2026, 11, 25))] == [100, 40]


def test_balances_keep_zero_rows_while_lots_are_held_and_drop_them_after_expiry() -> None:
    engine = PointEngine(RULES)
    engine.add_lot("g1", ts("2026-11-25"), "242012", "K1", "B", 100)   # expires 2026-11-28
    engine.use("u1", ts("2026-11-25", "11:00:00"), "242012", "K1", 100)
    engine.end_of_day(dt.date(2026, 11, 25))
    assert [(b.program_code, b.balance) for b in engine.balances(dt.date(2026, 11, 25))] == [("B", 0)]
    engine.end_of_day(dt.date(2026, 11, 28))
    assert engine.balances(dt.date(2026, 11, 28)) == []
    assert JST.utcoffset(None) == dt.timedelta(hours=9)


# --- balances as columns (a national day's snapshot) ------------------------------------------------------
_LOTS = st.lists(st.tuples(st.sampled_from(["131016", "011002", "242012"]), st.sampled_from(["K2", "K10", "A1"]),
                           st.sampled_from(sorted(RULES)), st.integers(0, 12), st.integers(1, 500),
                           st.integers(0, 500)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(lots=_LOTS, on=st.integers(0, 14))
def test_the_balance_snapshot_is_every_unexpired_lot_summed_in_file_order(lots, on) -> None:
    """Reference: FORMATS.md's balances rule summed directly over the lots, sorted by the file's key."""
    start = dt.date(2026, 3, 25)
    engine = PointEngine(RULES)
    expected: dict[tuple[str, str, str], int] = {}
    day = start + dt.timedelta(days=on)
    for i, (municipality, mykey, program, offset, amount, spent) in enumerate(lots):
        lot = engine.add_lot(f"g{i}", ts((start + dt.timedelta(days=offset)).isoformat()), municipality, mykey,
                             program, amount)
        lot.remaining = min(spent, amount)  # spent down, possibly to zero: the row stays while unexpired
        if lot.expiry is None or lot.expiry > day:
            key = (municipality, program, mykey)
            expected[key] = expected.get(key, 0) + lot.remaining
    snapshot = engine.balance_snapshot(day)
    assert len(snapshot) == len(expected)
    assert [(b.municipality_code, b.program_code, b.mykey_id, b.balance) for b in snapshot] == \
        [(*key, total) for key, total in sorted(expected.items())]
    assert engine.balances(day) == list(snapshot)


def test_a_snapshot_row_costs_bytes_not_objects() -> None:
    """About 18 bytes a row (an index, a reference to the lot's MyKey ID string, the amount), not a Balance."""
    engine = PointEngine(RULES)
    for i in range(20_000):
        engine.add_lot(f"g{i}", ts("2026-04-01"), "131016", f"K{i:05d}", "C", 100)
    before = tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        snapshot = engine.balance_snapshot(dt.date(2026, 4, 1))
        held = tracemalloc.get_traced_memory()[0]
    finally:
        if not before:
            tracemalloc.stop()
    assert len(snapshot) == 20_000
    assert held < 40 * 20_000  # a Balance each would be over 80 bytes a row, the file's dicts over 200
