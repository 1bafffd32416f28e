"""Properties of the matching engine (Hypothesis, small): no record matched twice and every record accounted for
once; a matched pair is each other's strictly best candidate; equally good best candidates are ambiguous, never
first-wins; a rerun gives identical findings (break ids included); the result does not depend on the order in
which rows were inserted.

Scores are recomputed here from the generated rows (how many compared fields agree), independently of the SQL.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

import duckdb
from engine_fixtures import COLUMNS, DAY, pair_rule, write_rules
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.engine import compiled_sql, run_matching
from reconciliation.rules import load_rule

_RULES = write_rules(Path(tempfile.mkdtemp(prefix="recon-props-")) / "rules", pair_rule("p"))
_RULE = load_rule(_RULES / "p.yml")
TS = dt.datetime(2026, 4, 1, 9, 0)

_row = st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from([DAY - dt.timedelta(days=2), DAY]),
                 st.sampled_from([100, 200]), st.sampled_from(["M1", "M2"]))
_sides = st.tuples(st.lists(_row, max_size=7), st.lists(_row, max_size=7))


def _load(con: duckdb.DuckDBPyConnection, left: list[tuple], right: list[tuple], seed: int | None = None) -> None:
    """Rows with lineage (side file, 1-based position in the generated list), inserted in a shuffled order when
    seed is given: a row's lineage travels with it."""
    con.execute("CREATE SCHEMA IF NOT EXISTS t")
    for name, rows in (("l", left), ("r", right)):
        con.execute(f"CREATE OR REPLACE TABLE t.{name} ({COLUMNS})")
        numbered = [(key, day, "131016", amount, merchant, TS, f"{name}file", line)
                    for line, (key, day, amount, merchant) in enumerate(rows, start=1)]
        if seed is not None:
            random.Random(seed).shuffle(numbered)
        if numbered:
            con.executemany(f"INSERT INTO t.{name} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", numbered)


def _score(a: tuple, b: tuple) -> int:
    return int(a[2] == b[2]) + int(a[3] == b[3])


def _resolved(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    sql = compiled_sql(_RULE, DAY)
    for step in ("keys", "join", "resolve"):
        con.execute(sql[step])
    return con.execute("SELECT outcome, l_line, r_line FROM _rc_resolved").fetchall()


@settings(max_examples=40, deadline=None)
@given(_sides)
def test_exclusive_every_row_once_and_ties_ambiguous(sides) -> None:
    left, right = sides
    con = duckdb.connect()
    _load(con, left, right)
    rows = _resolved(con)
    looked_at_left = [r[1] for r in rows if r[1] is not None]
    looked_at_right = [r[2] for r in rows if r[2] is not None]
    assert len(looked_at_left) == len(set(looked_at_left)) and len(looked_at_right) == len(set(looked_at_right))
    # a row the engine never had to look at is the only row of its key on both sides and agrees on everything
    for lines, own, other in ((looked_at_left, left, right), (looked_at_right, right, left)):
        for line, row in enumerate(own, 1):
            if line not in lines:
                mine, theirs = [o for o in own if o[0] == row[0]], [o for o in other if o[0] == row[0]]
                assert len(mine) == 1 and len(theirs) == 1 and _score(row, theirs[0]) == 2
    outcome_left = {r[1]: r[0] for r in rows if r[1] is not None}
    outcome_right = {r[2]: r[0] for r in rows if r[2] is not None}
    for outcome, l_line, r_line in rows:
        if outcome != "match":
            continue
        lrow, rrow = left[l_line - 1], right[r_line - 1]
        best = _score(lrow, rrow)
        assert all(_score(lrow, o) < best for i, o in enumerate(right, 1) if o[0] == lrow[0] and i != r_line)
        assert all(_score(o, rrow) < best for i, o in enumerate(left, 1) if o[0] == rrow[0] and i != l_line)
    for line, row in enumerate(left, 1):
        scores = [_score(row, o) for o in right if o[0] == row[0]]
        if not scores:
            assert outcome_left[line] == "left_orphan"
        elif scores.count(max(scores)) > 1:
            assert outcome_left[line] == "left_ambiguous"
        elif line not in outcome_left:
            assert scores == [2]
    for line, row in enumerate(right, 1):
        scores = [_score(o, row) for o in left if o[0] == row[0]]
        if not scores:
            assert outcome_right[line] == "right_orphan"
        elif scores.count(max(scores)) > 1:
            assert outcome_right[line] == "right_ambiguous"
        elif line not in outcome_right:
            assert scores == [2]


def _findings(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM recon.findings ORDER BY break_id, break_code, left_lineage, right_lineage") \
        .fetchall()


@settings(max_examples=25, deadline=None)
@given(_sides, st.integers(0, 10_000))
def test_rerun_and_insertion_order_give_identical_findings(sides, seed: int) -> None:
    left, right = sides
    first = duckdb.connect()
    _load(first, left, right)
    run_matching(first, DAY, _RULES)
    once = _findings(first)
    run_matching(first, DAY, _RULES)
    assert _findings(first) == once
    shuffled = duckdb.connect()
    _load(shuffled, left, right, seed=seed)
    run_matching(shuffled, DAY, _RULES)
    assert _findings(shuffled) == once
    ids = [row[1] for row in once]
    assert len(ids) == len(set(ids)), "a break id names one finding"
    summary = "SELECT * FROM recon.match_summary ORDER BY ALL"
    assert shuffled.execute(summary).fetchall() == first.execute(summary).fetchall()


def _as_views(con: duckdb.DuckDBPyConnection) -> None:
    """Put the sides behind views (schema v): a view has no rowid, so the engine reads kept rows again by key."""
    con.execute("CREATE SCHEMA IF NOT EXISTS v")
    for name in ("l", "r"):
        con.execute(f"CREATE OR REPLACE VIEW v.{name} AS SELECT * FROM t.{name}")


_VIEW_RULES = write_rules(Path(tempfile.mkdtemp(prefix="recon-props-views-")) / "rules",
                          pair_rule("p", left={**pair_rule()["left"], "relation": "v.l"},
                                    right={**pair_rule()["right"], "relation": "v.r"}))


@settings(max_examples=25, deadline=None)
@given(_sides)
def test_reading_kept_rows_by_rowid_or_by_key_gives_the_same_findings(sides) -> None:
    # tables: kept rows read again by rowid; the same rows behind views: by key. Same findings, same summary.
    left, right = sides
    con = duckdb.connect()
    _load(con, left, right)
    _as_views(con)
    run_matching(con, DAY, _RULES)
    by_rowid = _findings(con), con.execute("SELECT * FROM recon.match_summary ORDER BY ALL").fetchall()
    run_matching(con, DAY, _VIEW_RULES)
    assert (_findings(con), con.execute("SELECT * FROM recon.match_summary ORDER BY ALL").fetchall()) == by_rowid


@settings(max_examples=25, deadline=None)
@given(_sides)
def test_compiled_sql_by_rowid_resolves_like_by_key(sides) -> None:
    left, right = sides
    con = duckdb.connect()
    _load(con, left, right)
    by_key = sorted(_resolved(con), key=repr)
    sql = compiled_sql(_RULE, DAY, con)
    for step in ("keys", "join", "resolve"):
        con.execute(sql[step])
    assert sorted(con.execute("SELECT outcome, l_line, r_line FROM _rc_resolved").fetchall(), key=repr) == by_key
