"""`seisan trace` on the hand-built world of trace_world.py: a payout back to its inbox lines, those files forward
to the payout again (the round trip), and each other starting point; expectations written from the world's
story, not from the code."""

from __future__ import annotations

import json

import duckdb
import pytest

from audit.trace import trace_back, trace_forward
from tests.audit import trace_world as w


@pytest.fixture(scope="module")
def con():
    with duckdb.connect() as connection:
        w.build(connection)
        yield connection


def _lines(trace) -> set[tuple[str, int | None]]:
    return {(r["file_sha256"], r["line_number"]) for r in trace.sections["lines"]}


def test_a_payout_traces_back_to_its_inbox_lines_and_the_files_forward_to_it(con) -> None:
    back = trace_back(con, "payout", "PO1")
    assert back.ids("statements", "statement_id") == ["ST1"]
    assert back.ids("settlement_items", "settlement_item_id") == ["I1"]
    assert back.ids("ledger_events", "event_id") == ["E1", "E2", "E4"]
    assert back.totals() == {"ledger_events_yen": 1700, "settlement_items_yen": 1300, "payouts_transfer_yen": 1300}
    assert _lines(back) == {(w.LEDGER_SHA, 2), (w.LEDGER_SHA, 3), (w.LEDGER_SHA, 5), (w.TERMINAL_SHA, 1),
                            (w.TERMINAL_SHA, 2)}
    assert {(f["file_sha256"], f["inbox_path"]) for f in back.sections["files"]} == {
        (w.LEDGER_SHA, w.LEDGER_PATH), (w.TERMINAL_SHA, w.TERMINAL_PATH)}
    assert [(r["step"], r["business_date"]) for r in back.sections["step_runs"]] == [
        ("ingest", "2026-11-02"), ("build_marts", "2026-11-03"), ("payments", "2026-11-03")]
    assert back.ids("payment_files", "file_path") == ["out/2026-11-03/payments/012025_2026-11-05_B1.txt"]

    for key in (w.LEDGER_PATH, w.TERMINAL_SHA):  # forward from each file behind PO1: PO1 is reached again
        forward = trace_forward(con, key)
        assert "PO1" in forward.ids("payouts", "payout_id")


def test_forward_from_a_file_reaches_every_yen_it_moved_and_the_payout_that_paid_it_again(con) -> None:
    forward = trace_forward(con, w.LEDGER_SHA)
    assert forward.ids("ledger_events", "event_id") == ["E1", "E2", "E3", "E4"]
    assert forward.ids("settlement_items", "settlement_item_id") == ["I1", "I2"]
    assert forward.ids("payouts", "payout_id") == ["PO1", "PO2", "PO3"]  # PO3 re-paid the returned PO1
    assert forward.ids("payment_files", "batch_id") == ["B1", "B2"]
    assert forward.ids("breaks", "break_id") == ["BRK-1"]
    assert forward.totals() == {"ledger_events_yen": 2000, "settlement_items_yen": 1600,
                                "payouts_transfer_yen": 2790}
    assert any("not this file's share" in note for note in forward.notes)


def test_a_partner_file_reaches_the_ledger_events_its_rows_stand_for(con) -> None:
    forward = trace_forward(con, "partner/P01/sales_20261102.csv")
    assert forward.ids("ledger_events", "event_id") == ["E3"]
    assert forward.ids("payouts", "payout_id") == ["PO2"]


def test_the_repayment_traces_back_through_the_returned_payout(con) -> None:
    back = trace_back(con, "payout", "PO3")
    assert back.ids("payouts", "payout_id") == ["PO1", "PO3"]
    assert back.ids("settlement_items", "settlement_item_id") == ["I1"]
    assert back.ids("payment_files", "batch_id") == ["B1", "B2"]
    assert back.ids("payment_files", "file_path") == ["out/2026-11-03/payments/012025_2026-11-05_B1.txt",
                                                      "out/2026-11-06/payments/012025_2026-11-09_B2.txt"]
    assert [(r["batch_id"], r["kind"], r["step"]) for r in back.sections["outputs"]] == [
        ("B2", "payment_file", "payments_prepare"), ("B2", "payment_manifest", "payments_prepare"),
        ("B2", "payment_manifest", "payments_approve")]


@pytest.mark.parametrize("kind, key, seq, events, payouts", [
    ("item", "I2", None, ["E3"], ["PO2"]),
    ("event", "E2", None, ["E2"], ["PO1", "PO3"]),
    ("terminal", "T1", 1, ["E1"], ["PO1", "PO3"]),
    ("auth", "A2", None, ["E2"], ["PO1", "PO3"]),
    ("item", "I9", None, ["E9"], []),  # held: traced to its line, paid by nobody
])
def test_every_starting_point_reaches_its_events_and_payouts(con, kind, key, seq, events, payouts) -> None:
    trace = trace_back(con, kind, key, seq)
    assert trace.ids("ledger_events", "event_id") == events
    assert trace.ids("payouts", "payout_id") == payouts
    assert trace.sections["files"]
    assert {"ingest", "build_marts"} <= {r["step"] for r in trace.sections["step_runs"]}  # loaded it, built it


def test_a_break_traces_to_its_lines_and_never_shows_a_my_number(con) -> None:
    trace = trace_back(con, "break", "BRK-1")
    assert _lines(trace) == {(w.LEDGER_SHA, 4)}
    assert trace.ids("ledger_events", "event_id") == ["E3"]
    text = json.dumps(trace.as_json(), ensure_ascii=False)
    assert w.MY_NUMBER not in text and "MK0000001" in text  # MyKey ids are for auditors; My Numbers never


def test_an_unknown_file_says_how_to_name_one(con) -> None:
    trace = trace_forward(con, "platform/nothing.csv")
    assert trace.sections == {} and "relative to the inbox" in trace.notes[0]
