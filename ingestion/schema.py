"""The DuckDB `raw` schema: every table ingestion writes, its columns and types, and the in-force master
macros.

docs/raw-tables.md is the contract dbt builds on; this module is its executable form and must stay equal to
it. It never drops a table or a column: `ensure_raw_schema` only creates what is missing (tables, and
columns added to a table after a warehouse was made).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from contracts.schemas import CSV_KINDS, MASTER_KINDS, ColumnType, FileKind

_SQL_BY_COLUMN_TYPE = {
    ColumnType.ID: "VARCHAR",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.ENUM: "VARCHAR",
    ColumnType.DIGITS: "VARCHAR",
    ColumnType.DECIMAL: "VARCHAR",
    ColumnType.AMOUNT: "BIGINT",
    ColumnType.COUNT: "BIGINT",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
}
_ARROW_BY_SQL = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR[]": pa.list_(pa.string()),
}
LINEAGE = (("file_sha256", "VARCHAR"), ("line_number", "BIGINT"), ("business_date", "DATE"))


# Columns DuckDB stores uncompressed: base64 of random bytes (a certificate's DER), in which its string
# compression (FSST) finds nothing to gain. Analysing them was most of an ingest's checkpoint: with the 16,059
# certificates of a 300,000-resident day it took 1.3 s, 0.4 s uncompressed, for 4% more disk. A column's
# compression is set when its table is created, so a warehouse made before keeps its own.
_STORED_UNCOMPRESSED = frozenset({"cert_der"})


@dataclass(frozen=True, slots=True)
class Table:
    """One raw table: name (without schema) and (column, DuckDB type) pairs in table order."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(name, _ARROW_BY_SQL[sql]) for name, sql in self.columns])

    def ddl(self) -> str:
        body = ", ".join(
            f"{name} {sql}" + (" USING COMPRESSION uncompressed" if name in _STORED_UNCOMPRESSED else "")
            for name, sql in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS raw.{self.name} ({body})"


def csv_table(kind: FileKind) -> Table:
    """The raw table of a CSV kind: columns in FORMATS.md order, partner_code for partner files, lineage."""
    columns = tuple((c.name, _SQL_BY_COLUMN_TYPE[c.type]) for c in kind.columns)
    if kind.source == "partner":
        columns += (("partner_code", "VARCHAR"),)
    return Table(kind.table, columns + LINEAGE)


V, B, D, TS = "VARCHAR", "BIGINT", "DATE", "TIMESTAMP"

TERMINAL_RECORDS = Table(
    "terminal_records",
    (
        ("terminal_id", V),
        ("seq", B),
        ("type", V),
        ("ts", TS),
        ("merchant_id", V),
        ("municipality_code", V),
        ("mykey_id", V),
        ("amount", B),
        ("auth_id", V),
        ("cancel_of", V),
        ("card_cert_serial", V),
        ("prev_hash", V),
        ("hash", V),
        ("upload_number", B),
    )
    + LINEAGE,
)
TERMINAL_SEALS = Table(
    "terminal_seals",
    (
        ("terminal_id", V),
        ("seq", B),
        ("ts", TS),
        ("records", B),
        ("prev_hash", V),
        ("hash", V),
        ("upload_number", B),
        ("first_seq", B),
    )
    + LINEAGE,
)
TERMINAL_SEQ_GAPS = Table(
    "terminal_seq_gaps",
    (
        ("terminal_id", V),
        ("missing_from_seq", B),
        ("missing_to_seq", B),
        ("detected_business_date", D),
        ("detected_file_sha256", V),
        ("status", V),
        ("resolved_business_date", D),
        ("resolved_file_sha256", V),
    ),
)
BANK_STATEMENTS = Table(
    "bank_statements",
    (
        ("bank_code", V),
        ("branch_code", V),
        ("account_type", V),
        ("account_number", V),
        ("account_name", V),
        ("created_date", D),
        ("period_from", D),
        ("period_to", D),
        ("opening_balance", B),
        ("credit_count", B),
        ("credit_total", B),
        ("debit_count", B),
        ("debit_total", B),
        ("closing_balance", B),
    )
    + LINEAGE,
)
BANK_STATEMENT_LINES = Table(
    "bank_statement_lines",
    (
        ("bank_code", V),
        ("branch_code", V),
        ("account_number", V),
        ("inquiry_number", V),
        ("account_date", D),
        ("value_date", D),
        ("direction", V),
        ("transaction_type", V),
        ("amount", B),
        ("remitter_code", V),
        ("remitter_name", V),
        ("sending_bank_name", V),
        ("sending_branch_name", V),
        ("description", V),
        ("edi", V),
    )
    + LINEAGE,
)
FILE_MANIFEST = Table(
    "file_manifest",
    (
        ("file_sha256", V),
        ("path", V),
        ("source", V),
        ("kind", V),
        ("business_date", D),
        ("status", V),
        ("rows_read", B),
        ("rows_loaded", B),
        ("rows_quarantined", B),
        ("reason_code", V),
        ("detail", V),
        ("size_bytes", B),
        ("mtime_ns", B),
        ("ingested_at", TS),
        ("ingest_run_date", D),
        ("rows_released", B),
        ("batch_id", V),
    ),
)
# Not a warehouse table: the Parquet form of raw.terminal_seq_gaps, which the warehouse updates in place. One
# row per change (action `open` or `resolve`) in the order applied; business_date and file_sha256 are the file
# that made the change.
TERMINAL_SEQ_GAP_CHANGES = Table(
    "terminal_seq_gap_changes",
    (
        ("action", V),
        ("terminal_id", V),
        ("missing_from_seq", B),
        ("missing_to_seq", B),
        ("business_date", D),
        ("file_sha256", V),
        ("batch_id", V),
    ),
)
QUARANTINE = Table(
    "quarantine",
    (
        ("file_sha256", V),
        ("path", V),
        ("source", V),
        ("kind", V),
        ("business_date", D),
        ("line_number", B),
        ("reason_code", V),
        ("detail", V),
        ("raw_text", V),
        ("ingest_run_date", D),
        ("master_id", V),
        ("ingested_at", TS),
        ("reason_codes", "VARCHAR[]"),
    ),
)
QUARANTINE_RELEASES = Table(
    "quarantine_releases",
    (
        ("file_sha256", V),
        ("path", V),
        ("line_number", B),
        ("business_date", D),
        ("reason_code", V),
        ("quarantined_at", TS),
        ("released_at", TS),
        ("ingest_run_date", D),
    ),
)
RELEASE_CHECKS = Table(
    "release_checks",
    (("masters_through", TS), ("checked_at", TS), ("ingest_run_date", D)),
)

CSV_TABLES = {kind.name: csv_table(kind) for kind in CSV_KINDS}
TABLES: dict[str, Table] = {
    **CSV_TABLES,
    **{
        t.name: t
        for t in (
            TERMINAL_RECORDS,
            TERMINAL_SEALS,
            TERMINAL_SEQ_GAPS,
            BANK_STATEMENTS,
            BANK_STATEMENT_LINES,
            FILE_MANIFEST,
            QUARANTINE,
            QUARANTINE_RELEASES,
            RELEASE_CHECKS,
        )
    },
}


def sql_literal(text: str) -> str:
    """`text` as a DuckDB string literal (a file path in `read_parquet(...)`, say): quoted, quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema `raw` and every raw table (empty) if absent. Ingestion creates no SQL logic in `raw`
    (the old `raw.master_<x>_in_force` macros are dropped: the in-force rule lives in dbt's macro `in_force` and
    in `ingestion.masters.rows_in_force`)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table in TABLES.values():
        con.execute(table.ddl())
        for name, sql in table.columns:  # a warehouse made before a column was added gets it (NULL in old rows)
            con.execute(f"ALTER TABLE raw.{table.name} ADD COLUMN IF NOT EXISTS {name} {sql}")
    for kind in MASTER_KINDS:
        con.execute(f"DROP MACRO TABLE IF EXISTS raw.{kind.table}_in_force")
