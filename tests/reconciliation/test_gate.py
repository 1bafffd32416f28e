"""The release gate on hand-built tables: each reason blocks on its own, the materiality edge, no facts = open,
every municipality in force gets a row, reruns replace the run date's rows, and `is_open` is closed by default."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recon_tables import NOW, RUN_DATE, check, empty_world, item, municipality, open_break, source  # noqa: E402

from contracts.reasons import GateReason  # noqa: E402
from reconciliation.gate import GateInputMissing, decide_gates, is_open  # noqa: E402

TSU, ISE, MATSUSAKA = "242012", "242039", "242047"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        empty_world(connection)
        municipality(connection, TSU, "津市")
        municipality(connection, ISE, "伊勢市")
        yield connection


def _gate(con, materiality_yen: int = 0) -> dict[str, tuple]:
    decide_gates(con, RUN_DATE, materiality_yen=materiality_yen, now=NOW)
    rows = con.execute("select municipality_code, status, reasons, open_breaks, open_break_amount_yen, failed_checks, "
                       "missing_sources, held_amount_yen, materiality_yen, decided_at from recon.gate "
                       "where run_date = ? order by 1", [RUN_DATE]).fetchall()
    return {r[0]: r[1:] for r in rows}


def _codes(row: tuple) -> list[str]:
    return [r["code"] for r in json.loads(row[1])]


def test_no_facts_every_municipality_in_force_is_open(con) -> None:
    municipality(con, MATSUSAKA, "松阪市", valid_to=RUN_DATE - dt.timedelta(days=1))  # no longer in force
    gate = _gate(con)
    assert set(gate) == {TSU, ISE}
    assert all(row[0] == "open" and json.loads(row[1]) == [] for row in gate.values())
    assert gate[TSU][2:] == (0, 0, 0, 0, 0, 0, NOW.replace(tzinfo=None))
    assert is_open(con, RUN_DATE, TSU) and is_open(con, RUN_DATE, ISE)


def test_materiality_edge_exactly_at_threshold_is_open(con) -> None:
    open_break(con, "BRK-1", "amount_mismatch", TSU, 6_000)
    open_break(con, "BRK-2", "use_missing_in_platform", TSU, 4_000)
    gate = _gate(con, materiality_yen=10_000)
    assert gate[TSU][0] == "open"
    assert gate[TSU][2:4] == (2, 10_000)
    open_break(con, "BRK-3", "amount_mismatch", TSU, 1)
    gate = _gate(con, materiality_yen=10_000)
    assert gate[TSU][0] == "blocked" and gate[ISE][0] == "open"
    [reason] = json.loads(gate[TSU][1])
    assert reason["code"] == GateReason.OPEN_BREAKS_OVER_MATERIALITY
    assert reason["amount_yen"] == 10_001 and reason["count"] == 3
    assert reason["items"] == [{"name": "amount_mismatch", "count": 2, "amount_yen": 6_001},
                               {"name": "use_missing_in_platform", "count": 1, "amount_yen": 4_000}]
    assert "amount_mismatch" in reason["detail"] and "use_missing_in_platform" in reason["detail"]
    assert not is_open(con, RUN_DATE, TSU)


def test_only_open_breaks_dated_up_to_the_run_date_count(con) -> None:
    open_break(con, "BRK-P", "use_missing_in_platform", TSU, 500, status="pending")
    open_break(con, "BRK-R", "amount_mismatch", TSU, 700, status="resolved")
    open_break(con, "BRK-F", "amount_mismatch", TSU, 900, business_date=RUN_DATE + dt.timedelta(days=1))
    assert _gate(con)[TSU][:4] == ("open", "[]", 0, 0)
    open_break(con, "BRK-Z", "merchant_mismatch", TSU, 0)  # an open break with nothing at risk: under any threshold
    assert _gate(con)[TSU][0] == "open" and _gate(con)[TSU][2] == 1


def test_a_break_of_no_municipality_counts_for_every_one(con) -> None:
    open_break(con, "BRK-G", "terminal_seq_gap", None, 300)
    open_break(con, "BRK-T", "terminal_seq_gap", TSU, 200)
    gate = _gate(con, materiality_yen=400)
    assert gate[TSU][0] == "blocked" and gate[TSU][2:4] == (2, 500)
    assert gate[ISE][0] == "open" and gate[ISE][2:4] == (1, 300)


def test_failed_error_checks_block_their_municipality_or_all(con) -> None:
    check(con, "amounts_in_range", TSU, success=False)
    check(con, "keys_unique", ISE, success=True)
    check(con, "freshness", ISE, success=False, severity="warn")
    check(con, "amounts_in_range", TSU, success=False, run_date=RUN_DATE - dt.timedelta(days=1))  # another day
    gate = _gate(con)
    assert gate[TSU][0] == "blocked" and _codes(gate[TSU]) == [GateReason.FAILED_EXPECTATION]
    assert gate[TSU][4] == 1
    assert gate[ISE][0] == "open"
    check(con, "ledger_balances", None, success=False)
    gate = _gate(con)
    assert gate[ISE][0] == "blocked" and gate[ISE][4] == 1 and gate[TSU][4] == 2
    [reason] = json.loads(gate[ISE][1])
    assert reason["items"] == [{"name": "raw.ledger_balances on raw.platform_ledger", "count": 1, "amount_yen": None}]


def test_missing_sources_block(con) -> None:
    source(con, "bank", "statement", TSU, expected=True, arrived=False)
    source(con, "bank", "statement", ISE, expected=True, arrived=True)
    source(con, "partner", "sales", ISE, expected=False, arrived=False)
    gate = _gate(con)
    assert gate[TSU][0] == "blocked" and _codes(gate[TSU]) == [GateReason.MISSING_SOURCE] and gate[TSU][5] == 1
    assert gate[ISE][0] == "open"
    source(con, "platform", "ledger", None, expected=True, arrived=False)
    gate = _gate(con)
    assert gate[ISE][0] == "blocked" and gate[ISE][5] == 1 and gate[TSU][5] == 2


def test_unresolved_holds_of_ended_periods_block(con) -> None:
    item(con, TSU, "M00000001", RUN_DATE, "payable", 5_000)
    item(con, TSU, "M00000002", RUN_DATE + dt.timedelta(days=1), "held_undesignated", 800)  # period not ended
    item(con, ISE, "M00000003", RUN_DATE, "held_unknown_merchant", 0)  # holds nothing
    assert {code: row[0] for code, row in _gate(con).items()} == {TSU: "open", ISE: "open"}
    item(con, TSU, "M00000004", RUN_DATE - dt.timedelta(days=3), "held_inactive_merchant", 1_200)
    item(con, TSU, "M00000005", RUN_DATE, "held_undesignated", 300)
    gate = _gate(con)
    assert gate[TSU][0] == "blocked" and _codes(gate[TSU]) == [GateReason.UNRESOLVED_HOLD]
    assert gate[TSU][6] == 1_500
    [reason] = json.loads(gate[TSU][1])
    assert reason["amount_yen"] == 1_500
    assert [i["name"] for i in reason["items"]] == ["held_inactive_merchant", "held_undesignated"]


def test_a_municipality_no_master_knows_yet_gets_a_blocked_row(con) -> None:
    item(con, "999999", "M00000009", RUN_DATE, "held_unknown_municipality", 1_000)
    gate = _gate(con)
    assert set(gate) == {TSU, ISE, "999999"}
    assert gate["999999"][0] == "blocked"


def test_every_reason_together_in_the_contract_order(con) -> None:
    item(con, TSU, "M00000004", RUN_DATE, "held_inactive_merchant", 1_200)
    source(con, "bank", "statement", TSU, expected=True, arrived=False)
    check(con, "amounts_in_range", TSU, success=False)
    open_break(con, "BRK-1", "amount_mismatch", TSU, 10)
    gate = _gate(con)
    assert _codes(gate[TSU]) == list(GateReason)


def test_rerun_replaces_the_run_dates_rows(con) -> None:
    open_break(con, "BRK-1", "amount_mismatch", TSU, 10)
    first = _gate(con)
    assert _gate(con) == first
    assert con.execute("select count(*) from recon.gate").fetchone()[0] == 2
    con.execute("update recon.breaks set status = 'resolved'")
    assert _gate(con)[TSU][0] == "open"
    assert con.execute("select count(*) from recon.gate").fetchone()[0] == 2
    decide_gates(con, RUN_DATE + dt.timedelta(days=1), materiality_yen=0, now=NOW)
    assert con.execute("select count(*) from recon.gate").fetchone()[0] == 4  # another day's rows are its own


def test_is_open_is_closed_without_a_decision(con) -> None:
    assert not is_open(con, RUN_DATE, TSU)  # no gate table yet
    _gate(con)
    assert is_open(con, RUN_DATE, TSU)
    assert not is_open(con, RUN_DATE, MATSUSAKA)  # no row
    assert not is_open(con, RUN_DATE + dt.timedelta(days=1), TSU)  # not decided for that day


def test_a_missing_input_table_is_refused_with_the_step_to_run(con) -> None:
    con.execute("drop table recon.check_results")
    with pytest.raises(GateInputMissing, match=r"recon.check_results \(written by quality"):
        decide_gates(con, RUN_DATE, materiality_yen=0, now=NOW)


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_materiality_must_be_whole_yen(con, bad) -> None:
    with pytest.raises(ValueError, match="materiality_yen"):
        decide_gates(con, RUN_DATE, materiality_yen=bad, now=NOW)


@settings(max_examples=40, deadline=None)
@given(amounts=st.lists(st.tuples(st.sampled_from([TSU, ISE, None]), st.integers(0, 5_000)), max_size=8),
       materiality_yen=st.integers(0, 12_000))
def test_blocked_exactly_when_open_amount_exceeds_materiality(amounts, materiality_yen) -> None:
    with duckdb.connect() as con:
        empty_world(con)
        municipality(con, TSU, "津市")
        municipality(con, ISE, "伊勢市")
        for n, (code, amount_yen) in enumerate(amounts):
            open_break(con, f"BRK-{n}", "amount_mismatch", code, amount_yen)
        decisions = {d.municipality_code: d for d in
                     decide_gates(con, RUN_DATE, materiality_yen=materiality_yen, now=NOW)}
        for code in (TSU, ISE):
            at_risk = sum(a for c, a in amounts if c in (code, None))
            assert decisions[code].open_break_amount_yen == at_risk
            assert decisions[code].is_open == (at_risk <= materiality_yen)
            assert is_open(con, RUN_DATE, code) == (at_risk <= materiality_yen)


def test_every_gate_reason_is_documented_with_an_example() -> None:
    root = Path(__file__).resolve().parents[2]
    formats = (root / "docs" / "formats.md").read_text(encoding="utf-8")
    gate_doc = (root / "docs" / "reconciliation.md").read_text(encoding="utf-8")
    for code in GateReason:
        row = next((line for line in formats.splitlines() if line.startswith(f"| `{code}` |")), None)
        assert row is not None and row.count("|") == 5, f"{code} needs a row with an example in docs/formats.md"
        assert f"| `{code}` |" in gate_doc


def test_a_hold_explained_by_an_officer_no_longer_blocks(con) -> None:
    week_start, week_end = RUN_DATE - dt.timedelta(days=6), RUN_DATE
    con.execute("insert into marts.fct_settlement_items values ('w', ?, 'M00000007', ?, ?, 'held_undesignated', "
                "900, false)", [TSU, week_start, week_end])
    undesignated = "use_at_undesignated_merchant"
    assert _gate(con)[TSU][0] == "blocked"  # no break explains it: the engine should have raised one
    open_break(con, "BRK-u1", undesignated, TSU, 500, status="resolved", resolution="accepted_difference",
               business_date=week_start)
    open_break(con, "BRK-u2", undesignated, TSU, 400, status="open", business_date=week_end)
    gate = _gate(con)
    assert _codes(gate[TSU]) == [GateReason.OPEN_BREAKS_OVER_MATERIALITY, GateReason.UNRESOLVED_HOLD]
    con.execute("update recon.breaks set status = 'resolved', resolution = 'auto' where break_id = 'BRK-u2'")
    assert _codes(_gate(con)[TSU]) == [GateReason.UNRESOLVED_HOLD]  # vanished is not explained
    con.execute("update recon.breaks set resolution = 'explained_timing' where break_id = 'BRK-u2'")
    assert _gate(con)[TSU][:2] == ("open", "[]")
    open_break(con, "BRK-u3", undesignated, ISE, 100, status="open", business_date=week_end)  # another municipality
    open_break(con, "BRK-i1", "use_at_inactive_merchant", TSU, 100, status="open", business_date=week_end)
    assert _gate(con)[TSU][0] == "blocked" and _codes(_gate(con)[TSU]) == [GateReason.OPEN_BREAKS_OVER_MATERIALITY]
    con.execute("delete from recon.breaks where break_id = 'BRK-i1'")
    open_break(con, "BRK-u4", undesignated, TSU, 100, status="open", business_date=week_start - dt.timedelta(days=1))
    assert _codes(_gate(con)[TSU]) == [GateReason.OPEN_BREAKS_OVER_MATERIALITY]  # outside the item's period


def test_holds_of_unknown_references_are_never_explained_away(con) -> None:
    item(con, TSU, "M00000009", RUN_DATE, "held_unknown_merchant", 700)
    open_break(con, "BRK-x", "use_at_undesignated_merchant", TSU, 700, status="resolved",
               resolution="accepted_difference")
    assert _codes(_gate(con)[TSU]) == [GateReason.UNRESOLVED_HOLD]
