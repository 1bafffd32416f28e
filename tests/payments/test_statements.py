"""Statements: hand-computed freezes, adjustments for late changes, negatives kept, holds released later."""

from __future__ import annotations

import datetime as dt

from payments_world import MUNI, NOW, Item, connect, open_gate, set_items, standard_world

from payments.statements import freeze_statements

D1, D2, D3, D4 = (dt.date(2026, 12, d) for d in (1, 2, 3, 4))
M1, M2 = "M00000001", "M00000002"


def _statements(con):
    return con.execute("select merchant_id, period_start_date, amount_yen, frozen_on from payments.statements "
                       "order by all").fetchall()


def _adjustments(con):
    return con.execute("select merchant_id, period_start_date, seq, amount_yen, recomputed_amount_yen, found_on "
                       "from payments.adjustments order by all").fetchall()


def _world():
    con = connect()
    standard_world(con)
    return con


def test_closed_periods_are_frozen_negatives_kept_held_and_open_periods_not() -> None:
    con = _world()
    set_items(con, [Item(M1, D1, D1, 1_000), Item(M1, D2, D2, -300), Item(M2, D2, D2, 500, "held_undesignated"),
                    Item(M2, D3, D3, 700)])  # D3's period has not ended on D2
    open_gate(con, D2)
    result = freeze_statements(con, D2, MUNI, now=NOW)
    assert (result.statements_frozen, result.statement_amount_yen, result.adjustments) == (2, 700, 0)
    assert _statements(con) == [(M1, D1, 1_000, D2), (M1, D2, -300, D2)]


def test_closed_gate_freezes_nothing() -> None:
    con = _world()
    set_items(con, [Item(M1, D1, D1, 1_000)])
    open_gate(con, D2, status="blocked")
    assert freeze_statements(con, D2, MUNI, now=NOW).gate_open is False
    assert freeze_statements(con, D3, MUNI, now=NOW).gate_open is False  # no gate row for D3: not decided
    assert _statements(con) == []


def test_late_event_becomes_an_adjustment_and_the_statement_is_never_rewritten() -> None:
    con = _world()
    set_items(con, [Item(M1, D1, D1, 1_000)])
    open_gate(con, D1)
    freeze_statements(con, D1, MUNI, now=NOW)
    set_items(con, [Item(M1, D1, D1, 1_200)])     # a late use of 200 in the frozen period
    open_gate(con, D2)
    freeze_statements(con, D2, MUNI, now=NOW)
    freeze_statements(con, D2, MUNI, now=NOW)     # rerun: nothing new
    set_items(con, [Item(M1, D1, D1, 1_150)])     # then a late cancel of 50
    open_gate(con, D3)
    freeze_statements(con, D3, MUNI, now=NOW)
    assert _statements(con) == [(M1, D1, 1_000, D1)]
    assert _adjustments(con) == [(M1, D1, 1, 200, 1_200, D2), (M1, D1, 2, -50, 1_150, D3)]


def test_released_hold_goes_into_the_next_statement_and_a_new_hold_is_taken_back() -> None:
    con = _world()
    set_items(con, [Item(M1, D1, D1, 400), Item(M2, D1, D1, 500, "held_unknown_merchant")])
    open_gate(con, D1)
    freeze_statements(con, D1, MUNI, now=NOW)
    assert _statements(con) == [(M1, D1, 400, D1)]
    # a late merchants snapshot names M2 (its hold lifts) and one removes M1's designation (its item is held)
    set_items(con, [Item(M1, D1, D1, 400, "held_undesignated"), Item(M2, D1, D1, 500)])
    open_gate(con, D4)
    freeze_statements(con, D4, MUNI, now=NOW)
    assert _statements(con) == [(M1, D1, 400, D1), (M2, D1, 500, D4)]
    assert _adjustments(con) == [(M1, D1, 1, -400, 0, D4)]
