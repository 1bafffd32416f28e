"""The matching engine on hand-computed cases: each cardinality, each tolerance unit at its edge, the pending
window's edge, ties, orphans of both sides, checks, break ids and the per-run replacement of rows.

Every expected row below is worked out by hand from the rows the test writes, not read back from the engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from engine_fixtures import DAY, findings, make_sides, pair_rule, side, write_rules

from reconciliation.engine import run_matching

TS = dt.datetime(2026, 4, 1, 10, 0, 0)
M = "131016"
YESTERDAY = DAY - dt.timedelta(days=1)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _row(key: str, amount: int = 500, merchant: str = "M1", day: dt.date = DAY, ts: dt.datetime = TS) -> tuple:
    return (key, day, M, amount, merchant, ts)


def test_one_to_one_matches_mismatches_and_orphans(con, tmp_path: Path) -> None:
    make_sides(con, [_row("A1"), _row("A2", 700), _row("A3", 100, day=YESTERDAY)],
               [_row("A1"), _row("A2", 800, "M2"), _row("A4", 300, day=YESTERDAY)])
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule()))
    assert findings(con) == sorted([
        ("amount_mismatch", "break", "A2", "A2", "700", "800", 100, None),          # |700 - 800|
        ("merchant_mismatch", "break", "A2", "A2", "M1", "M2", 800, None),          # the larger amount is at risk
        ("use_missing_in_platform", "break", "A3", None, "100", None, 100, None),   # yesterday + 1 day: due today
        ("use_missing_in_terminal", "break", None, "A4", None, "300", 300, None),
    ], key=repr)
    assert (result.breaks, result.pending, result.pairs[0].matched_pairs) == (4, 0, 2)
    summary = con.execute("SELECT pair, municipality_code, left_rows, right_rows, matched_pairs, matched_amount_yen, "
                          "breaks, break_amount_yen, pending, pending_amount_yen FROM recon.match_summary").fetchall()
    assert summary == [("p", M, 3, 3, 2, 500 + 700, 4, 100 + 800 + 100 + 300, 0, 0)]


@pytest.mark.parametrize("unit, left_value, right_value, tolerance, agrees", [
    ("yen", 1000, 1010, 10, True), ("yen", 1000, 1011, 10, False), ("yen", 1010, 1000, 10, True),
    ("seconds", TS, TS + dt.timedelta(seconds=120), 120, True),
    ("seconds", TS, TS + dt.timedelta(seconds=121), 120, False),
    ("seconds", TS + dt.timedelta(seconds=120), TS, 120, True),
    ("days", DAY, DAY + dt.timedelta(days=2), 2, True), ("days", DAY, DAY + dt.timedelta(days=3), 2, False),
])
def test_tolerance_equal_to_the_limit_matches(con, tmp_path: Path, unit, left_value, right_value, tolerance,
                                              agrees) -> None:
    column = {"yen": "amount_yen", "seconds": "ts", "days": "d"}[unit]
    old = YESTERDAY - dt.timedelta(days=5)
    left, right = list(_row("A1", day=old)), list(_row("A1", day=old))
    index = {"amount_yen": 3, "ts": 5, "d": 1}[column]
    left[index], right[index] = left_value, right_value
    rule = pair_rule(compare=[{"left": column, "right": column, "tolerance": {"value": tolerance, "unit": unit},
                               "break": "amount_mismatch"}])
    make_sides(con, [tuple(left)], [tuple(right)])
    run_matching(con, DAY + dt.timedelta(days=10), write_rules(tmp_path / "rules", rule))
    codes = [f[0] for f in findings(con, DAY + dt.timedelta(days=10))]
    assert codes == ([] if agrees else ["amount_mismatch"])


def test_window_edge_pending_on_its_last_day_and_a_break_the_day_after(con, tmp_path: Path) -> None:
    rule = pair_rule(orphans={"left": {"break": "use_missing_in_platform", "window": {"value": 3, "unit": "days"}},
                              "right": {"break": "use_missing_in_terminal"}})
    rules = write_rules(tmp_path / "rules", rule)
    make_sides(con, [_row("A1", day=DAY)], [_row("A2", 200, day=DAY)])
    last_pending = DAY + dt.timedelta(days=2)                 # window 3 days: DAY, DAY+1, DAY+2
    for run_date, status, until in ((DAY, "pending", last_pending), (last_pending, "pending", last_pending),
                                    (last_pending + dt.timedelta(days=1), "break", None)):
        run_matching(con, run_date, rules)
        assert findings(con, run_date) == [
            ("use_missing_in_platform", status, "A1", None, "500", None, 500, until),
            ("use_missing_in_terminal", "break", None, "A2", None, "200", 200, None),   # no window: at once
        ]


def test_window_in_seconds_keeps_an_orphan_pending_only_on_its_own_day(con, tmp_path: Path) -> None:
    rule = pair_rule(orphans={"left": {"break": "use_missing_in_platform", "window": {"value": 60, "unit": "seconds"}},
                              "right": {"break": "use_missing_in_terminal", "window": {"value": 0, "unit": "days"}}})
    rules = write_rules(tmp_path / "rules", rule)
    make_sides(con, [_row("A1")], [_row("A2")])
    run_matching(con, DAY, rules)
    assert [(f[0], f[1], f[7]) for f in findings(con)] == [("use_missing_in_platform", "pending", DAY),
                                                           ("use_missing_in_terminal", "break", None)]
    run_matching(con, DAY + dt.timedelta(days=1), rules)
    assert [f[1] for f in findings(con, DAY + dt.timedelta(days=1))] == ["break", "break"]


def test_rows_after_run_date_are_not_in_scope(con, tmp_path: Path) -> None:
    make_sides(con, [_row("A1", day=DAY + dt.timedelta(days=1))], [_row("A2", day=DAY + dt.timedelta(days=1))])
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule()))
    assert findings(con) == [] and result.findings == 0


def test_pending_while_column_keeps_an_orphan_pending_open_ended(con, tmp_path: Path) -> None:
    old = YESTERDAY - dt.timedelta(days=3)
    make_sides(con, [], [_row("A1", day=old), _row("A2", day=old)])
    con.execute("ALTER TABLE t.r ADD COLUMN gap BOOLEAN")
    con.execute("UPDATE t.r SET gap = (k = 'A1')")
    rule = pair_rule(right=side("r", pending_while="gap"))
    run_matching(con, DAY, write_rules(tmp_path / "rules", rule))
    assert [(f[0], f[1], f[3], f[7]) for f in findings(con)] == [
        ("use_missing_in_terminal", "break", "A2", None), ("use_missing_in_terminal", "pending", "A1", None)]


def test_ties_are_ambiguous_never_first_wins(con, tmp_path: Path) -> None:
    # A1: one terminal record, two identical ledger rows -> all three ambiguous.
    # A2: two ledger rows, one agrees on every field: it is the unique best both ways and matches; the other,
    #     which lost to a strictly better candidate, is an orphan (its window has passed).
    make_sides(con, [_row("A1", day=YESTERDAY), _row("A2", 300, day=YESTERDAY)],
               [_row("A1", day=YESTERDAY), _row("A1", day=YESTERDAY), _row("A2", 300, day=YESTERDAY),
                _row("A2", 999, day=YESTERDAY)])
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule()))
    assert findings(con) == sorted([
        ("ambiguous_match", "break", "A1", None, "500", None, 500, None),
        ("ambiguous_match", "break", None, "A1", None, "500", 500, None),
        ("ambiguous_match", "break", None, "A1", None, "500", 500, None),
        ("use_missing_in_terminal", "break", None, "A2", None, "999", 999, None),
    ], key=repr)
    assert result.pairs[0].matched_pairs == 1
    ids = [r[0] for r in con.execute("SELECT break_id FROM recon.findings").fetchall()]
    assert len(set(ids)) == len(ids), "findings with equal keys still get distinct break ids"


def test_n_to_one_sums_the_n_side_per_key_first(con, tmp_path: Path) -> None:
    # left is the n side: K1 = 300 + 200 = 500 matches right 500; K2 = 100 + 100 = 200 against 250.
    make_sides(con, [_row("K1", 300), _row("K1", 200), _row("K2", 100), _row("K2", 100)],
               [_row("K1", 500), _row("K2", 250)])
    rule = pair_rule(cardinality="n:1")
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", rule))
    assert findings(con) == [("amount_mismatch", "break", "K2", "K2", "200", "250", 50, None)]
    assert result.pairs[0].matched_pairs == 2
    lineage = con.execute("SELECT left_lineage FROM recon.findings").fetchone()[0]
    assert json.loads(lineage) == [{"file_sha256": "lfile", "line_number": 3},
                                   {"file_sha256": "lfile", "line_number": 4}]


def test_one_to_n_sums_the_right_side_and_a_disagreeing_field_is_a_mismatch(con, tmp_path: Path) -> None:
    # right is the n side: K1 = 400 + 100 matches; K2's rows name two merchants: the merchant disagrees.
    make_sides(con, [_row("K1", 500), _row("K2", 200)],
               [_row("K1", 400), _row("K1", 100), _row("K2", 100, "M1"), _row("K2", 100, "M2")])
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule(cardinality="1:n")))
    assert findings(con) == [("merchant_mismatch", "break", "K2", "K2", "M1", None, 200, None)]
    assert result.pairs[0].matched_pairs == 2


def _check_rule(**overrides) -> dict:
    rule = {"pair": "c", "description": "a check", "kind": "check",
            "left": side("l", source="terminal", key=["k", "merchant"]), "break": "terminal_seq_gap"}
    rule.update(overrides)
    return rule


def test_check_rows_are_findings_with_optional_columns(con, tmp_path: Path) -> None:
    make_sides(con, [_row("T1", 0), _row("T2", 40, day=DAY + dt.timedelta(days=1))], [])
    con.execute("ALTER TABLE t.l ADD COLUMN expected VARCHAR")
    con.execute("ALTER TABLE t.l ADD COLUMN pending_until DATE")
    con.execute("UPDATE t.l SET expected = 'seq ' || k, pending_until = CASE WHEN k = 'T1' THEN d END")
    run_matching(con, DAY, write_rules(tmp_path / "rules", _check_rule()))
    assert findings(con) == [("terminal_seq_gap", "pending", "T1|M1", None, "seq T1", None, 0, DAY)]
    run_matching(con, DAY + dt.timedelta(days=1), write_rules(tmp_path / "rules", _check_rule()))
    assert findings(con, DAY + dt.timedelta(days=1)) == [
        ("terminal_seq_gap", "break", "T1|M1", None, "seq T1", None, 0, None),
        ("terminal_seq_gap", "break", "T2|M1", None, "seq T2", None, 40, None)]


def test_check_takes_its_break_code_from_a_column_when_the_rule_names_none(con, tmp_path: Path) -> None:
    make_sides(con, [_row("E1", 700)], [])
    con.execute("ALTER TABLE t.l ADD COLUMN break_code VARCHAR")
    con.execute("UPDATE t.l SET break_code = 'grant_over_annual_cap'")
    rule = _check_rule(window={"value": 1, "unit": "days"})
    del rule["break"]
    run_matching(con, DAY, write_rules(tmp_path / "rules", rule))
    assert findings(con) == [("grant_over_annual_cap", "pending", "E1|M1", None, None, None, 700, DAY)]


def test_break_id_is_the_documented_hash(con, tmp_path: Path) -> None:
    make_sides(con, [_row("A1", 700)], [_row("A1", 800)])
    run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule()))
    break_id = con.execute("SELECT break_id FROM recon.findings").fetchone()[0]
    assert break_id == "BRK-" + hashlib.sha256(b"p|amount_mismatch|A1|A1").hexdigest()[:16]


def test_a_rerun_replaces_the_run_dates_rows_and_leaves_other_dates(con, tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", pair_rule())
    make_sides(con, [_row("A1", 700, day=YESTERDAY)], [_row("A1", 800, day=YESTERDAY)])
    run_matching(con, YESTERDAY, rules)
    run_matching(con, DAY, rules)
    first = con.execute("SELECT * FROM recon.findings ORDER BY ALL").fetchall()
    con.execute("UPDATE t.r SET amount_yen = 700")            # corrected at source
    run_matching(con, DAY, rules)
    assert findings(con) == []
    assert findings(con, YESTERDAY) == [("amount_mismatch", "break", "A1", "A1", "700", "800", 100, None)]
    assert len(first) == 2
    assert con.execute("SELECT count(*) FROM recon.match_summary WHERE run_date = ?", [DAY]).fetchone()[0] == 1


def test_a_failing_rule_leaves_the_previous_rows(con, tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", pair_rule())
    make_sides(con, [_row("A1", 700)], [_row("A1", 800)])
    run_matching(con, DAY, rules)
    write_rules(tmp_path / "rules", pair_rule(), pair_rule("q", left=side("l", relation="t.missing")))
    with pytest.raises(duckdb.Error):
        run_matching(con, DAY, rules)
    assert findings(con) == [("amount_mismatch", "break", "A1", "A1", "700", "800", 100, None)]


def test_a_timestamp_date_column_counts_by_its_calendar_date(con, tmp_path: Path) -> None:
    # ts 10:00 on DAY: in scope on DAY (a timestamp compared with the run date as such would not be)
    make_sides(con, [_row("A1")], [])
    rule = pair_rule(left=side("l", date="ts"))
    run_matching(con, DAY, write_rules(tmp_path / "rules", rule))
    assert con.execute("SELECT break_code, status, business_date FROM recon.findings").fetchall() == [
        ("use_missing_in_platform", "pending", DAY)]


def test_a_repeat_hidden_among_agreeing_pairs_is_still_ambiguous(con, tmp_path: Path) -> None:
    # 50 keys one row a side, all agreeing; D: two identical terminal rows and one ledger row agreeing with both.
    # Every joined row agrees, so no row is kept for disagreeing: only the counts of the one pass show that a
    # paired key repeats (52 pair rows, but 51 ledger rows paired). D's three rows are ambiguous, the 50 others match.
    bulk = [_row(f"K{i:02d}", 100 + i, day=YESTERDAY) for i in range(50)]
    make_sides(con, [*bulk, _row("D", 300, day=YESTERDAY), _row("D", 300, day=YESTERDAY)],
               [*bulk, _row("D", 300, day=YESTERDAY)])
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule()))
    assert findings(con) == sorted([
        ("ambiguous_match", "break", "D", None, "300", None, 300, None),
        ("ambiguous_match", "break", "D", None, "300", None, 300, None),
        ("ambiguous_match", "break", None, "D", None, "300", 300, None),
    ], key=repr)
    assert result.pairs[0].matched_pairs == 50


def test_a_key_repeated_on_one_side_only_gives_one_orphan_per_row(con, tmp_path: Path) -> None:
    # E twice at the terminal, never on the platform; the other keys pair one to one: two orphans, own break ids
    make_sides(con, [_row("A1"), _row("E", 200, day=YESTERDAY), _row("E", 250, day=YESTERDAY)], [_row("A1")])
    result = run_matching(con, DAY, write_rules(tmp_path / "rules", pair_rule()))
    assert findings(con) == sorted([
        ("use_missing_in_platform", "break", "E", None, "200", None, 200, None),
        ("use_missing_in_platform", "break", "E", None, "250", None, 250, None),
    ], key=repr)
    ids = {r[0] for r in con.execute("SELECT break_id FROM recon.findings").fetchall()}
    assert len(ids) == 2 and result.pairs[0].matched_pairs == 1
