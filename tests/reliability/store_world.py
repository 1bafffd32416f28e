"""A small inbox with every kind of raw row, delivered over two ingest runs, for the mirror and kill tests.

Day 1 (run for D): the masters, certificates, a ledger with a bad row (quarantined), terminal uploads 1 and 3
(seq gap opened), a bank statement, a partner file for a partner not yet in the master (rejected
`partner_unknown`, retryable), a file of no known kind (undated). Day 2 (run for D + 1): a partners snapshot
naming that partner (its file is retried and loads: it is the first file of its batch), terminal upload 2 (the
gap resolved), the ledger touched (a `duplicate` delivery). Built once per session and copied (mtimes kept),
so every copy has the same bytes, paths and mtimes and runs give comparable warehouses.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import ingestion_builders as builders  # on the path by tests/reliability/conftest.py

from contracts.zengin_statement import (
    Statement,
    StatementHeader,
    StatementLine,
    write_statement,
)

D = builders.D
DAY2 = D + dt.timedelta(days=1)
ZZZ_SALES = "partner/ZZZ/ZZZ_sales_20261103.csv"  # dated early: the first file of its load phase
LEDGER = "platform/ledger_20261125.csv"
MTIME_NS = 1_764_000_000_000_000_000  # fixed, so copies of the world are identical
VOLATILE = {"ingested_at", "batch_id", "checked_at", "masters_through", "quarantined_at", "released_at"}  # clock values


def _statement() -> bytes:
    header = StatementHeader(
        created_date=D, period_from=D, period_to=D, bank_code="0001", bank_name="ﾐｽﾞﾎ", branch_code="004",
        branch_name="ﾏﾙﾉｳﾁ", account_type=1, account_number="1234567", account_name="ﾁﾖﾀﾞｸ", overdraft_flag=1,
        passbook_flag=1, opening_balance=1_000_000,
    )
    lines = (
        StatementLine("00000001", D, D, "debit", "11", 183_455, description="ｿｳｺﾞｳﾌﾘｺﾐ"),
        StatementLine("00000002", D, D, "credit", "11", 29_999, remitter_name="ｱｸﾒ", edi="P00000042"),
    )
    return write_statement(Statement(header, lines))


def _partners_with_zzz() -> bytes:
    return builders.csv_of(
        "master_partners",
        [
            dict(partner_code=builders.PARTNER, name="Acme", kind="airline", encoding="utf-8",
                 payer_name_kana="ｱｸﾒ"),
            dict(partner_code="ZZZ", name="Zed", kind="retail", encoding="utf-8", payer_name_kana="ｾﾞﾂﾄ"),
        ],
    )


def _terminal_uploads() -> dict[int, list[dict[str, Any]]]:
    first = builders.terminal_records(1, 2, builders.terminal_log.GENESIS_HASH)
    middle = builders.terminal_records(4, 2, first[-1]["hash"])
    last = builders.terminal_records(7, 2, middle[-1]["hash"])
    return {1: first, 2: middle, 3: last}


def _fix_mtimes(inbox: Path) -> None:
    for path in inbox.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(MTIME_NS, MTIME_NS))


def build_day1(inbox: Path) -> None:
    builders.write_masters(inbox)
    builders.write_certs(inbox, [builders.cert_row()])
    builders.write_ledger(inbox, [builders.ledger_row("E1"), builders.ledger_row("E2", amount="12x"),
                                  builders.ledger_row("E3")])
    uploads = _terminal_uploads()
    builders.write_terminal(inbox, uploads[1], 1)
    builders.write_terminal(inbox, uploads[3], 3)
    builders.write(inbox, "bank/0001/0001_004_1234567_20261125.txt", _statement())
    sale = builders.sale_row(order_ts="2026-11-03T12:00:00+09:00")
    builders.write(inbox, ZZZ_SALES, builders.csv_of("partner_sales", [sale]))
    builders.write(inbox, "platform/notes.txt", b"not a delivery")
    _fix_mtimes(inbox)


def build_day2(inbox: Path) -> None:
    builders.write(inbox, "master/partners_20261102.csv", _partners_with_zzz())
    builders.write_terminal(inbox, _terminal_uploads()[2], 2)
    _fix_mtimes(inbox)
    os.utime(inbox / LEDGER, ns=(MTIME_NS + 1, MTIME_NS + 1))  # same bytes, new mtime: a redelivery


def copy_world(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, copy_function=shutil.copy2)
    return target


def stable_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw table's rows without the columns that differ between two runs, sorted."""
    tables = [n for (n,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
    result = {}
    for table in tables:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall() if c not in VOLATILE]
        result[table] = con.execute(f"SELECT {', '.join(columns)} FROM raw.{table} ORDER BY ALL").fetchall()
    return result
