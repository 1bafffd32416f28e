"""recon.findings and recon.match_summary as the matching engine writes them (design9.md "Engine output"), for tests
of the break store that run without the engine: the tables with exactly the engine's columns, and a writer that
replaces one run date's rows the way the engine does (delete + insert), with one summary row saying it ran."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import duckdb

FINDINGS_DDL = """
CREATE TABLE IF NOT EXISTS recon.findings (
    run_date DATE, break_id VARCHAR, pair VARCHAR, break_code VARCHAR, status VARCHAR, business_date DATE,
    municipality_code VARCHAR, left_source VARCHAR, left_key VARCHAR, right_source VARCHAR, right_key VARCHAR,
    expected VARCHAR, actual VARCHAR, amount_at_risk_yen BIGINT, pending_until DATE, left_lineage VARCHAR,
    right_lineage VARCHAR)
"""
MATCH_SUMMARY_DDL = """
CREATE TABLE IF NOT EXISTS recon.match_summary (
    run_date DATE, pair VARCHAR, municipality_code VARCHAR, left_rows BIGINT, right_rows BIGINT, matched_pairs BIGINT,
    matched_amount_yen BIGINT, breaks BIGINT, break_amount_yen BIGINT, pending BIGINT, pending_amount_yen BIGINT)
"""


def break_id_of(pair: str, break_code: str, left_key: str | None, right_key: str | None) -> str:
    """The engine's id rule (design9.md): 'BRK-' + 16 hex of sha256(pair|break_code|left_key|right_key)."""
    text = "|".join((pair, break_code, left_key or "", right_key or ""))
    return "BRK-" + hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding of one run: a terminal ↔ platform disagreement on auth id `key` unless said otherwise."""

    key: str
    status: str = "break"  # 'break' | 'pending'
    amount_at_risk_yen: int = 1000
    expected: str | None = "1000"
    actual: str | None = None
    break_code: str = "use_missing_in_platform"
    pair: str = "terminal_platform_transactions"
    business_date: dt.date = dt.date(2026, 11, 2)
    municipality_code: str = "011002"
    file_sha256: str = "a" * 64
    line_number: int = 1

    @property
    def left_key(self) -> str:
        return self.key

    @property
    def break_id(self) -> str:
        return break_id_of(self.pair, self.break_code, self.left_key, None)


def ensure_findings_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS recon")
    con.execute(FINDINGS_DDL)
    con.execute(MATCH_SUMMARY_DDL)


def write_findings(con: duckdb.DuckDBPyConnection, run_date: dt.date, findings: list[Finding]) -> None:
    """Replace run_date's findings by `findings` (the engine's rerun rule), and its summary by one row (the counts
    are not what the break store reads; that a row exists says the matching ran for run_date)."""
    ensure_findings_table(con)
    con.execute("DELETE FROM recon.findings WHERE run_date = ?", [run_date])
    con.execute("DELETE FROM recon.match_summary WHERE run_date = ?", [run_date])
    con.execute("INSERT INTO recon.match_summary VALUES (?, 'terminal_platform_transactions', '011002', 10, 10, 10, "
                "10000, 0, 0, 0, 0)", [run_date])
    for f in findings:
        lineage = json.dumps([{"file_sha256": f.file_sha256, "line_number": f.line_number}])
        pending_until = f.business_date + dt.timedelta(days=1) if f.status == "pending" else None
        con.execute("INSERT INTO recon.findings VALUES (?, ?, ?, ?, ?, ?, ?, 'terminal', ?, 'platform', NULL, ?, ?, ?, "
                    "?, ?, '[]')",
                    [run_date, f.break_id, f.pair, f.break_code, f.status, f.business_date, f.municipality_code,
                     f.left_key, f.expected, f.actual, f.amount_at_risk_yen, pending_until, lineage])
