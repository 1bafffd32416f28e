"""Hand-built input tables of the gate and the daily report, with the columns design9.md gives them (recon.*)
and the mart columns the gate reads, and small writers that fill them one row at a time for a test.

Tests of the gate and of the report build their world here so each expectation can be counted by hand.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

DDL = """
create schema if not exists recon;
create schema if not exists marts;
create table recon.findings (
    run_date date, break_id varchar, pair varchar, break_code varchar, status varchar, business_date date,
    municipality_code varchar, left_source varchar, left_key varchar, right_source varchar, right_key varchar,
    expected varchar, actual varchar, amount_at_risk_yen bigint, pending_until date, left_lineage varchar,
    right_lineage varchar);
create table recon.match_summary (
    run_date date, pair varchar, municipality_code varchar, left_rows bigint, right_rows bigint,
    matched_pairs bigint, matched_amount_yen bigint, breaks bigint, break_amount_yen bigint, pending bigint,
    pending_amount_yen bigint);
create table recon.breaks (
    break_id varchar, break_code varchar, pair varchar, business_date date, municipality_code varchar,
    left_source varchar, left_key varchar, right_source varchar, right_key varchar, expected varchar,
    actual varchar, amount_at_risk_yen bigint, status varchar, first_seen_date date, last_seen_date date,
    resolved_date date, resolution varchar, assignee varchar, left_lineage varchar, right_lineage varchar);
create table recon.break_events (
    event_id varchar, break_id varchar, event_type varchar, run_date date, "at" timestamp, actor varchar,
    reason_code varchar, note varchar, detail_json varchar);
"""

# What the gate reads besides the break store: check results, source freshness and the two marts
GATE_INPUTS_DDL = """
create schema if not exists recon;
create schema if not exists marts;
create table recon.check_results (
    run_date date, suite varchar, expectation varchar, target varchar, municipality_code varchar,
    severity varchar, success boolean, observed varchar, unexpected_count bigint, detail varchar);
create table recon.source_freshness (
    run_date date, source varchar, kind varchar, municipality_code varchar, expected boolean, arrived boolean,
    latest_business_date date);
create table marts.dim_municipalities (
    municipality_version_key varchar, municipality_code varchar, name varchar, valid_from date, valid_to date);
create table marts.fct_settlement_items (
    settlement_item_id varchar, municipality_code varchar, merchant_id varchar, period_start_date date,
    period_end_date date, settlement_status varchar, amount_yen bigint, is_payable boolean);
"""
DDL += GATE_INPUTS_DDL

RUN_DATE = dt.date(2026, 11, 5)
NOW = dt.datetime(2026, 11, 5, 21, 30, tzinfo=dt.UTC)


def empty_world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(DDL)
    return con


def municipality(con, code: str, name: str, valid_from: dt.date = dt.date(2026, 1, 1),
                 valid_to: dt.date | None = None) -> None:
    con.execute("insert into marts.dim_municipalities values (?, ?, ?, ?, ?)",
                [f"v-{code}-{valid_from}", code, name, valid_from, valid_to])


def open_break(con, break_id: str, code: str, municipality_code: str | None, amount_yen: int, *,
               status: str = "open", business_date: dt.date = RUN_DATE, first_seen: dt.date = RUN_DATE,
               pair: str = "terminal_platform_transactions", left_key: str | None = "A1",
               right_key: str | None = None, expected: str | None = None, actual: str | None = None,
               resolution: str | None = None) -> None:
    con.execute("insert into recon.breaks values (?, ?, ?, ?, ?, 'terminal', ?, 'platform', ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, null, '[]', '[]')",
                [break_id, code, pair, business_date, municipality_code, left_key, right_key, expected, actual,
                 amount_yen, status, first_seen, RUN_DATE, RUN_DATE if status == "resolved" else None, resolution])


def check(con, name: str, municipality_code: str | None, success: bool, severity: str = "error",
          run_date: dt.date = RUN_DATE) -> None:
    con.execute("insert into recon.check_results values (?, 'raw', ?, 'raw.platform_ledger', ?, ?, ?, '', 0, '')",
                [run_date, name, municipality_code, severity, success])


def source(con, source_name: str, kind: str, municipality_code: str | None, expected: bool, arrived: bool,
           run_date: dt.date = RUN_DATE) -> None:
    con.execute("insert into recon.source_freshness values (?, ?, ?, ?, ?, ?, ?)",
                [run_date, source_name, kind, municipality_code, expected, arrived, run_date if arrived else None])


def item(con, municipality_code: str, merchant_id: str, period_end: dt.date, status: str, amount_yen: int) -> None:
    con.execute("insert into marts.fct_settlement_items values (?, ?, ?, ?, ?, ?, ?, ?)",
                [f"{municipality_code}-{merchant_id}-{period_end}-{status}", municipality_code, merchant_id,
                 period_end, period_end, status, amount_yen, status == "payable" and amount_yen >= 0])


def summary(con, pair: str, municipality_code: str, left_rows: int, right_rows: int, matched_pairs: int,
            matched_amount_yen: int, breaks: int, break_amount_yen: int, pending: int = 0,
            pending_amount_yen: int = 0, run_date: dt.date = RUN_DATE) -> None:
    con.execute("insert into recon.match_summary values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_date, pair, municipality_code, left_rows, right_rows, matched_pairs, matched_amount_yen,
                 breaks, break_amount_yen, pending, pending_amount_yen])


def event(con, event_id: str, break_id: str, event_type: str, run_date: dt.date = RUN_DATE,
          actor: str = "seisan") -> None:
    con.execute("insert into recon.break_events values (?, ?, ?, ?, ?, ?, null, null, ?)",
                [event_id, break_id, event_type, run_date, dt.datetime(2026, 11, 5, 21, 0), actor,
                 json.dumps({})])
