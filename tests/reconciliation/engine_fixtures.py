"""Tiny hand-made sides and rule files for the engine tests: two tables `t.l` and `t.r` (key, date, municipality,
amount, merchant, ts, lineage) and a rule writer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import yaml

COLUMNS = "k VARCHAR, d DATE, m VARCHAR, amount_yen BIGINT, merchant VARCHAR, ts TIMESTAMP, sha VARCHAR, line BIGINT"
DAY = dt.date(2026, 4, 1)


def side(name: str = "l", source: str | None = None, **overrides: Any) -> dict[str, Any]:
    base = {"source": source or {"l": "terminal", "r": "platform"}[name], "relation": f"t.{name}", "key": ["k"],
            "date": "d", "municipality": "m", "amount": "amount_yen", "lineage": ["sha", "line"]}
    base.update(overrides)
    return base


def pair_rule(name: str = "p", **overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "pair": name, "description": "test pair", "kind": "pair", "left": side("l"), "right": side("r"),
        "cardinality": "1:1",
        "compare": [{"left": "amount_yen", "right": "amount_yen", "tolerance": {"value": 0, "unit": "yen"},
                     "break": "amount_mismatch"},
                    {"left": "merchant", "right": "merchant", "break": "merchant_mismatch"}],
        "orphans": {"left": {"break": "use_missing_in_platform", "window": {"value": 1, "unit": "days"}},
                    "right": {"break": "use_missing_in_terminal", "window": {"value": 1, "unit": "days"}}},
    }
    rule.update(overrides)
    return rule


def write_rules(directory: Path, *rules: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yml"):
        old.unlink()
    for rule in rules:
        (directory / f"{rule['pair']}.yml").write_text(yaml.safe_dump(rule, sort_keys=False), encoding="utf-8")
    return directory


def make_sides(con: duckdb.DuckDBPyConnection, left: list[tuple], right: list[tuple]) -> None:
    """Rows (k, d, m, amount_yen, merchant, ts) per side; lineage is the side's name and the row's position."""
    con.execute("CREATE SCHEMA IF NOT EXISTS t")
    for name, rows in (("l", left), ("r", right)):
        con.execute(f"CREATE OR REPLACE TABLE t.{name} ({COLUMNS})")
        for index, row in enumerate(rows, start=1):
            con.execute(f"INSERT INTO t.{name} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [*row, f"{name}file", index])


def findings(con: duckdb.DuckDBPyConnection, run_date: dt.date = DAY) -> list[tuple]:
    """(break_code, status, left_key, right_key, expected, actual, amount_at_risk_yen, pending_until), sorted."""
    return sorted(con.execute(
        "SELECT break_code, status, left_key, right_key, expected, actual, amount_at_risk_yen, pending_until "
        "FROM recon.findings WHERE run_date = ?", [run_date]).fetchall(), key=repr)
