"""A tiny warehouse for payments tests: the input tables payments reads, with exactly the columns it reads.

The marts (`fct_settlement_items`, `dim_municipalities`, `dim_merchants`) are dbt's outputs and the gate
(`recon.gate`, design9.md) another helper's: here they are plain tables the test fills with hand-made rows, so a
test states each day's item amounts and gate directly. `raw.master_fee_schedule` and `raw.bank_statement_lines`
have the raw layer's columns (docs/raw-tables.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

MUNI = "242012"      # 津市
MUNI2 = "011002"     # 札幌市
PAYER_BANK, PAYER_BRANCH = "0001", "001"

# みずほ-like schedule (fees.md §3): same branch 0, same bank 220/440, other bank 550/770 at the 30,000 boundary
FEES = (
    ("same_branch", 0, None, 0),
    ("same_bank", 0, 29_999, 220), ("same_bank", 30_000, None, 440),
    ("other_bank", 0, 29_999, 550), ("other_bank", 30_000, None, 770),
)

DDL = (
    "create schema if not exists marts",
    "create schema if not exists raw",
    "create schema if not exists recon",
    """create table marts.fct_settlement_items (settlement_item_id varchar, municipality_code varchar,
        merchant_id varchar, settlement_cycle varchar, period_start_date date, period_end_date date,
        settlement_status varchar, is_payable boolean, amount_yen bigint, use_amount_yen bigint,
        cancel_amount_yen bigint)""",
    """create table marts.dim_municipalities (municipality_code varchar, valid_from date, valid_to date,
        settlement_cycle varchar, settlement_day varchar, min_payout_yen bigint, fee_bearer varchar,
        payer_bank_code varchar, payer_branch_code varchar, payer_account_type varchar,
        payer_account_number varchar, client_code varchar, client_name_kana varchar)""",
    """create table marts.dim_merchants (merchant_id varchar, valid_from date, valid_to date, bank_code varchar,
        branch_code varchar, account_type varchar, account_number varchar, account_holder_kana varchar,
        merchant_status varchar)""",
    """create table raw.master_fee_schedule (bank_code varchar, relation varchar, min_amount bigint,
        max_amount bigint, fee_yen bigint, file_sha256 varchar, line_number bigint, business_date date)""",
    """create table recon.gate (run_date date, municipality_code varchar, status varchar, reasons varchar,
        open_breaks bigint, open_break_amount_yen bigint, failed_checks bigint, missing_sources bigint,
        held_amount_yen bigint, materiality_yen bigint, decided_at timestamp)""",
    """create table raw.bank_statement_lines (bank_code varchar, branch_code varchar, account_number varchar,
        inquiry_number varchar, account_date date, value_date date, direction varchar, transaction_type varchar,
        amount bigint, remitter_code varchar, remitter_name varchar, sending_bank_name varchar,
        sending_branch_name varchar, description varchar, edi varchar, file_sha256 varchar, line_number bigint,
        business_date date)""",
)

NOW = dt.datetime(2026, 12, 1, 9, 0, 0)


def connect(path: Path | str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    for statement in DDL:
        con.execute(statement)
    return con


def add_municipality(con: duckdb.DuckDBPyConnection, code: str = MUNI, *, min_payout_yen: int = 0,
                     fee_bearer: str = "payer", cycle: str = "daily", valid_from: dt.date = dt.date(2020, 1, 1),
                     valid_to: dt.date | None = None, bank: str = PAYER_BANK, branch: str = PAYER_BRANCH,
                     account: str = "1234567") -> None:
    con.execute("insert into marts.dim_municipalities values (?, ?, ?, ?, null, ?, ?, ?, ?, '1', ?, ?, ?)",
                [code, valid_from, valid_to, cycle, min_payout_yen, fee_bearer, bank, branch, account,
                 "12" + code + "00", "ﾂｼ"])


def add_merchant(con: duckdb.DuckDBPyConnection, merchant_id: str, *, bank: str = "0005", branch: str = "100",
                 account: str = "7654321", valid_from: dt.date = dt.date(2020, 1, 1),
                 valid_to: dt.date | None = None) -> None:
    con.execute("insert into marts.dim_merchants values (?, ?, ?, ?, ?, '1', ?, 'ｼﾖｳﾃﾝ', 'active')",
                [merchant_id, valid_from, valid_to, bank, branch, account])


def add_fees(con: duckdb.DuckDBPyConnection, *, bank: str = PAYER_BANK, snapshot: dt.date = dt.date(2020, 1, 1),
             rows=FEES) -> None:
    con.executemany("insert into raw.master_fee_schedule values (?, ?, ?, ?, ?, 'f', ?, ?)",
                    [(bank, rel, lo, hi, fee, i + 2, snapshot) for i, (rel, lo, hi, fee) in enumerate(rows)])


def open_gate(con: duckdb.DuckDBPyConnection, day: dt.date, code: str = MUNI, status: str = "open") -> None:
    con.execute("delete from recon.gate where run_date = ? and municipality_code = ?", [day, code])
    con.execute("insert into recon.gate values (?, ?, ?, '[]', 0, 0, 0, 0, 0, 0, ?)", [day, code, status, NOW])


@dataclass
class Item:
    merchant_id: str
    period_start: dt.date
    period_end: dt.date
    amount_yen: int
    status: str = "payable"
    municipality_code: str = MUNI


def set_items(con: duckdb.DuckDBPyConnection, items: list[Item]) -> None:
    """Replace the marts' settlement items (the marts are recomputed in full on every build)."""
    con.execute("delete from marts.fct_settlement_items")
    rows = []
    for it in items:
        item_id = hashlib.md5(f"{it.municipality_code}|{it.merchant_id}|{it.period_start}|{it.status}".encode()
                              ).hexdigest()
        payable = it.status == "payable" and it.amount_yen >= 0
        rows.append((item_id, it.municipality_code, it.merchant_id, "daily", it.period_start, it.period_end,
                     it.status, payable, it.amount_yen, max(it.amount_yen, 0), max(-it.amount_yen, 0)))
    if rows:
        con.executemany("insert into marts.fct_settlement_items values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


@dataclass
class BankLines:
    """Statement lines of the payer account, appended by a test as the bank would report them."""

    con: duckdb.DuckDBPyConnection
    count: int = field(default=0)

    def add(self, day: dt.date, direction: str, amount: int, description: str, edi: str | None = None,
            *, account: str = "1234567", business_date: dt.date | None = None) -> None:
        self.count += 1
        self.con.execute("insert into raw.bank_statement_lines values (?, ?, ?, ?, ?, ?, ?, '11', ?, null, null, "
                         "null, null, ?, ?, ?, ?, ?)",
                         [PAYER_BANK, PAYER_BRANCH, account, f"{self.count:08d}", day, day, direction, amount,
                          description, edi, "b" * 64, self.count, business_date or day])


def standard_world(con: duckdb.DuckDBPyConnection, **muni) -> None:
    add_municipality(con, **muni)
    add_fees(con)
