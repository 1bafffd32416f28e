"""A pair with `changes` matches only the dates changed since its previous run (docs/reconciliation.md, "Matching
only what changed"). The independent expectation is the whole-history match of the same data: day after day, with
old dates rebuilt, late rows, skipped and repeated runs, the changed-dates run must write exactly the findings
(break ids included) and match summary that a full run writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciliation.engine import run_matching
from reconciliation.rules import RuleError, load_rule
from tests.reconciliation.engine_fixtures import side, write_rules

START = dt.date(2026, 4, 1)
KEYS = ("a", "b", "c")
MUNICIPALITIES = {"a": "131016", "b": "131016", "c": "242012"}


def changed_dates_rule(**overrides) -> dict:
    rule = {
        "pair": "snapshots", "description": "daily snapshots", "kind": "pair",
        "left": side("l", key=["d", "k"]), "right": side("r", key=["d", "k"]), "cardinality": "1:1",
        "compare": [{"left": "amount_yen", "right": "amount_yen", "tolerance": {"value": 0, "unit": "yen"},
                     "break": "balance_drift"}],
        "orphans": {"left": {"break": "balance_missing_in_platform"},
                    "right": {"break": "balance_unexpected_in_platform"}},
        "changes": "t.changes",
    }
    rule.update(overrides)
    return rule


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _setup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA t")
    for name in ("l", "r"):
        con.execute(f"CREATE TABLE t.{name} (k VARCHAR, d DATE, m VARCHAR, amount_yen BIGINT, sha VARCHAR, "
                    "line BIGINT, changed_at TIMESTAMP)")
    # a rebuilt date is listed even when the rebuild left it without rows (as fct_balances' days are)
    con.execute("CREATE TABLE t.rebuilds (business_date DATE, changed_at TIMESTAMP)")
    con.execute("CREATE VIEW t.changes AS SELECT d AS business_date, changed_at FROM t.l UNION ALL "
                "SELECT d, changed_at FROM t.r UNION ALL SELECT business_date, changed_at FROM t.rebuilds")


# One day of the world: the day's rows of each side ({key: amount}), an older date rebuilt on the left (None: no
# rebuild) with its new rows, late right rows for an older date (a key may come twice), and how often the matching
# runs that day (0: skipped, 2: run again).
_amounts = st.dictionaries(st.sampled_from(KEYS), st.sampled_from((0, 100, 250)), max_size=3)
_day = st.fixed_dictionaries({
    "left": _amounts, "right": _amounts,
    "rebuild": st.none() | st.tuples(st.integers(1, 5), _amounts),
    "late": st.none() | st.tuples(st.integers(1, 5), st.lists(st.tuples(st.sampled_from(KEYS),
                                                                       st.sampled_from((100, 250))), max_size=2)),
    "runs": st.sampled_from((1, 1, 1, 0, 2)),
})


def _apply(con: duckdb.DuckDBPyConnection, day: dt.date, today: dict, line: int) -> None:
    stamp = _now()
    for name in ("l", "r"):
        for key, amount in sorted(today["left" if name == "l" else "right"].items()):
            con.execute(f"INSERT INTO t.{name} VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [key, day, MUNICIPALITIES[key], amount, f"{name}{day}", line, stamp])
    if today["rebuild"] is not None:
        back, rows = today["rebuild"]
        old = max(START, day - dt.timedelta(days=back))
        con.execute("DELETE FROM t.l WHERE d = ?", [old])
        for key, amount in sorted(rows.items()):
            con.execute("INSERT INTO t.l VALUES (?, ?, ?, ?, NULL, NULL, ?)", [key, old, MUNICIPALITIES[key], amount,
                                                                               stamp])
        con.execute("INSERT INTO t.rebuilds VALUES (?, ?)", [old, stamp])
    if today["late"] is not None:
        back, rows = today["late"]
        old = max(START, day - dt.timedelta(days=back))
        for index, (key, amount) in enumerate(rows):
            con.execute("INSERT INTO t.r VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [key, old, MUNICIPALITIES[key], amount, f"late{day}", line + index, stamp])


def _outputs(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> tuple[list, list]:
    findings = con.execute("SELECT * EXCLUDE (run_date) FROM recon.findings WHERE run_date = ? ORDER BY ALL",
                           [run_date]).fetchall()
    summary = con.execute("SELECT * EXCLUDE (run_date) FROM recon.match_summary WHERE run_date = ? ORDER BY ALL",
                          [run_date]).fetchall()
    return findings, summary


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(_day, min_size=2, max_size=5))
def test_changed_dates_match_equals_the_whole_history_match(tmp_path: Path, days: list[dict]) -> None:
    rules = write_rules(tmp_path / "rules", changed_dates_rule())
    with duckdb.connect() as scoped, duckdb.connect() as whole:
        for con in (scoped, whole):
            _setup(con)
        compared = 0
        for offset, today in enumerate(days):
            day = START + dt.timedelta(days=offset)
            for con in (scoped, whole):
                _apply(con, day, today, line=offset * 10 + 1)
            for _ in range(today["runs"]):
                result = run_matching(scoped, day, rules)
                run_matching(whole, day, rules, full=True)
                assert _outputs(scoped, day) == _outputs(whole, day), (day, result.pairs)
                compared += 1
        if compared:
            assert whole.execute("SELECT DISTINCT scope FROM recon.pair_runs").fetchall() == [("full",)]
            # the first run of the pair matches everything; a run after a run of an earlier date only what changed
            scopes = scoped.execute("SELECT scope FROM recon.pair_runs ORDER BY run_date").fetchall()
            assert scopes[0] == ("full",)
            assert all(scope == ("changed",) for scope in scopes[1:])


def test_a_run_matches_only_the_changed_dates_and_carries_the_rest(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", changed_dates_rule())
    with duckdb.connect() as con:
        _setup(con)
        quiet = {"left": {}, "right": {}, "rebuild": None, "late": None, "runs": 1}
        _apply(con, START, {**quiet, "left": {"a": 100, "b": 100}, "right": {"a": 100, "b": 250}}, line=1)
        run_matching(con, START, rules)
        for offset in (1, 2, 3):
            day = START + dt.timedelta(days=offset)
            _apply(con, day, {**quiet, "left": {"a": 100}, "right": {"a": 100}}, line=offset * 10)
            result = run_matching(con, day, rules)
            (outcome,) = result.pairs
            assert (outcome.scope, outcome.dates_matched) == ("changed", 1)
            # the drift of day 1 is carried, with its id, every day it is not matched again
            assert con.execute("SELECT break_code, business_date FROM recon.findings WHERE run_date = ?",
                               [day]).fetchall() == [("balance_drift", START)]
            assert con.execute("SELECT sum(matched_pairs), sum(breaks) FROM recon.match_summary WHERE run_date = ?",
                               [day]).fetchone() == (offset + 2, 1)   # a pair that disagrees is matched
        # the platform corrects day 1 late: that date alone is matched again, and the drift is gone
        con.execute("UPDATE t.r SET amount_yen = 100, changed_at = ? WHERE d = ? AND k = 'b'", [_now(), START])
        day = START + dt.timedelta(days=4)
        result = run_matching(con, day, rules)
        assert (result.pairs[0].scope, result.pairs[0].dates_matched) == ("changed", 2)
        assert con.execute("SELECT count(*) FROM recon.findings WHERE run_date = ?", [day]).fetchone() == (0,)
        assert con.execute("SELECT since_run_date FROM recon.pair_runs WHERE run_date = ?", [day]).fetchone() == (
            START + dt.timedelta(days=3),)
        # on demand, every date again
        result = run_matching(con, day, rules, full=True)
        assert (result.pairs[0].scope, result.pairs[0].dates_matched) == ("full", None)


def test_an_edited_rule_file_matches_the_whole_history_again(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", changed_dates_rule())
    with duckdb.connect() as con:
        _setup(con)
        run_matching(con, START, rules)
        assert run_matching(con, START + dt.timedelta(days=1), rules).pairs[0].scope == "changed"
        write_rules(rules, changed_dates_rule(description="daily snapshots, reworded"))
        assert run_matching(con, START + dt.timedelta(days=2), rules).pairs[0].scope == "full"


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"left": side("l", key=["k"]), "right": side("r", key=["k"])},
     "changes: the date of each side must be one of its key columns, at the same place"),
    ({"right": side("r", key=["k", "d"])},
     "changes: the date of each side must be one of its key columns, at the same place"),
    ({"orphans": {"left": {"break": "balance_missing_in_platform", "window": {"value": 1, "unit": "days"}},
                  "right": {"break": "balance_unexpected_in_platform"}}},
     "changes: a pair matched by changed dates can have no orphan window and no pending_while"),
    ({"left": side("l", key=["d", "k"], pending_while="waiting")},
     "changes: a pair matched by changed dates can have no orphan window and no pending_while"),
    ({"changes": "changes"}, "changes: 'changes' is not schema.table"),
])
def test_a_changed_dates_pair_must_not_depend_on_other_dates_or_on_time(tmp_path: Path, overrides: dict,
                                                                         problem: str) -> None:
    path = write_rules(tmp_path / "rules", changed_dates_rule(**overrides)) / "snapshots.yml"
    with pytest.raises(RuleError) as error:
        load_rule(path)
    assert error.value.problems == (f"snapshots.yml: {problem}",)


def test_a_check_has_no_changes(tmp_path: Path) -> None:
    check = {"pair": "flags", "description": "flags", "kind": "check", "left": side("l"), "changes": "t.changes"}
    path = write_rules(tmp_path / "rules", check) / "flags.yml"
    with pytest.raises(RuleError) as error:
        load_rule(path)
    assert any("changes: only a pair has this key" in p for p in error.value.problems)
