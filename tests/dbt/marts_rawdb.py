"""Raw tables for dbt tests, written exactly as docs/raw-tables.md says ingestion writes them.

The columns come from contracts.schemas (the same FileKinds ingestion loads) plus the lineage columns, so a
fixture cannot drift from the raw contract. Fixture rows are plain dicts; missing optional columns are NULL and
lineage gets a fake file hash and a running line number.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import date

import duckdb

from contracts.schemas import CSV_KINDS, ColumnType
from ingestion.schema import CSV_TABLES, TABLES

_DUCKDB_TYPES = {
    ColumnType.AMOUNT: "BIGINT", ColumnType.COUNT: "BIGINT", ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
}
_line_numbers = itertools.count(2)


def raw_columns() -> dict[str, list[tuple[str, str]]]:
    """table -> [(column, DuckDB type)] for every CSV-fed raw table, lineage included."""
    tables = {}
    for kind in CSV_KINDS:
        columns = [(c.name, _DUCKDB_TYPES.get(c.type, "VARCHAR")) for c in kind.columns]
        if kind.source == "partner":
            columns.append(("partner_code", "VARCHAR"))
        columns += [("file_sha256", "VARCHAR"), ("line_number", "BIGINT"), ("business_date", "DATE")]
        tables[kind.table] = columns
    return tables


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for table, columns in raw_columns().items():
        cols = ", ".join(f"{name} {kind}" for name, kind in columns)
        con.execute(f"create table if not exists raw.{table} ({cols})")
    # the raw tables not fed by CSV (terminal logs, bank statements, bookkeeping), as ingestion creates them:
    # staging views over them must exist even when a test loads none
    for name, table in TABLES.items():
        if name not in CSV_TABLES:
            con.execute(table.ddl())


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Mapping[str, object]],
           business_date: date | None = None) -> int:
    """Insert fixture rows; business_date defaults to the row's own (or its event date for the ledger)."""
    columns = [name for name, _ in raw_columns()[table]]
    values = []
    for row in rows:
        full = dict(row)
        full.setdefault("file_sha256", "f" * 64)
        full.setdefault("line_number", next(_line_numbers))
        if "business_date" not in full:
            full["business_date"] = business_date or _row_date(full)
        unknown = set(full) - set(columns)
        if unknown:
            raise KeyError(f"{table} has no columns {sorted(unknown)}")
        values.append([full.get(c) for c in columns])
    if values:
        marks = ", ".join("?" for _ in columns)
        con.executemany(f"insert into raw.{table} ({', '.join(columns)}) values ({marks})", values)
    return len(values)


def _row_date(row: Mapping[str, object]) -> date:
    for key in ("event_ts", "txn_ts", "order_ts", "charged_at"):
        value = row.get(key)
        if value is not None:
            return value.date()  # type: ignore[union-attr]
    raise KeyError("row needs business_date")
