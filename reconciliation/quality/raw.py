"""The raw layer's suites: what ingestion loaded for the day, checked against FORMATS.md as contracts states it.

Each target reads only the day's slice: rows of files named for D plus rows of any file D's ingest run loaded
(a late file), never a whole-table scan. The CSV suites are generated from `contracts.schemas` (keys, required
columns, enums, amount signs and limits), so the rules have one owner; the rest is written here.
"""

from __future__ import annotations

from contracts.limits import AMOUNT_MAX_YEN
from contracts.schemas import CSV_KINDS, MASTER_KINDS, PARTNER_KINDS_FILES, PLATFORM_LEDGER, ColumnType, FileKind
from reconciliation.quality.spec import (
    Expect,
    Severity,
    Target,
    Where,
    between,
    in_set,
    not_null,
    unique,
    zero,
)

# Rows of the day: files named for D, and any file D's run loaded (late files keep their own business_date).
DAY_SLICE = """(business_date = $run_date or file_sha256 in (
    select file_sha256 from raw.file_manifest
    where ingest_run_date = $run_date and status in ('loaded', 'released')))"""

# FORMATS.md "Amounts": over 10,000,000 is invalid in one point transaction (a ledger event, a terminal record,
# a partner or acquirer row). Balances and bank amounts are not transactions: only their sign is checked.
_TRANSACTION_KINDS = {PLATFORM_LEDGER.name} | {k.name for k in PARTNER_KINDS_FILES}

# docs/raw-tables.md "Types": amounts and counts BIGINT, dates DATE, timestamps TIMESTAMP, everything else VARCHAR.
_DUCKDB_TYPE = {ColumnType.AMOUNT: "BIGINT", ColumnType.COUNT: "BIGINT", ColumnType.DATE: "DATE",
                ColumnType.TIMESTAMP: "TIMESTAMP"}
_LINEAGE = (("file_sha256", "VARCHAR"), ("line_number", "BIGINT"), ("business_date", "DATE"))


def contract_columns(kind: FileKind) -> list[tuple[str, str]]:
    """(column, DuckDB type) the raw table of a CSV kind must have: FORMATS.md columns, partner_code, lineage."""
    columns = [(c.name, _DUCKDB_TYPE.get(c.type, "VARCHAR")) for c in kind.columns]
    if kind.source == "partner":
        columns.append(("partner_code", "VARCHAR"))
    return columns + list(_LINEAGE)


def _schema_target() -> Target:
    contract = " union all ".join(
        f"select '{kind.table}' as table_name, '{name}' as column_name, '{sql_type}' as expected_type"
        for kind in CSV_KINDS for name, sql_type in contract_columns(kind))
    sql = f"""
        with contract as ({contract}),
        actual as (
            select table_name, column_name, data_type as actual_type from information_schema.columns
            where table_schema = 'raw' and table_name in (select table_name from contract))
        select coalesce(contract.table_name, actual.table_name) as table_name,
               coalesce(contract.column_name, actual.column_name) as column_name,
               coalesce(expected_type, '(absent)') as expected_type,
               coalesce(actual_type, '(absent)') as actual_type
        from contract full outer join actual using (table_name, column_name)
        order by 1, 2"""
    return Target("raw", "schema", "raw.*", sql, (
        Expect("column types equal the contract", "ExpectColumnPairValuesToBeEqual",
               {"column_A": "actual_type", "column_B": "expected_type"}, Severity.ERROR,
               "every CSV-fed raw table has exactly the FORMATS.md columns (plus partner_code and lineage) with "
               "the types of docs/raw-tables.md; '(absent)' marks a missing or extra column"),
    ), municipality_column=None, description="raw CSV tables against contracts.schemas")


def _csv_expectations(kind: FileKind) -> list[Expect]:
    keys = list(kind.keys) + (["partner_code"] if kind.source == "partner" else [])
    if kind in MASTER_KINDS:
        keys.append("business_date")  # a master row's id is unique within one snapshot
    found = [unique(keys, "FORMATS.md 'File identity': a repeated key is a duplicate and must not load")]
    found += [not_null(key, "part of the row's key") for key in kind.keys]
    for column in kind.columns:
        if column.type == ColumnType.ENUM:
            found.append(in_set(column.name, column.values, "the values FORMATS.md allows"))
        if column.type in (ColumnType.AMOUNT, ColumnType.COUNT):
            found.extend(_amount_expectations(kind, column.name, column.signed))
    return found


def _amount_expectations(kind: FileKind, column: str, signed: bool) -> list[Expect]:
    high = AMOUNT_MAX_YEN if kind.name in _TRANSACTION_KINDS else None
    if not signed:
        return [between(column, 0, high, "integer yen, no sign on a positive field"
                        + (", at most 10,000,000 per transaction" if high else ""))]
    # Only a ledger `adjust` may be signed (FORMATS.md); its size is bounded either way.
    return [
        between(column, 0, high, "only an adjust may be negative; at most 10,000,000 per transaction",
                where=Where("event_type", "!=", "adjust"), name=f"{column} in [0, {high}] unless adjust"),
        between(column, -AMOUNT_MAX_YEN if high else None, high, "an adjust is bounded either way",
                where=Where("event_type", "==", "adjust"), name=f"{column} in [-{high}, {high}] for adjust"),
    ]


def _csv_target(kind: FileKind) -> Target:
    # For a master: the snapshot named for D (none on most days); earlier ones were checked on their own day.
    sql = f"select * from raw.{kind.table} where {DAY_SLICE}"
    expectations = _csv_expectations(kind)
    if kind == PLATFORM_LEDGER:
        # ledger_D holds the events of D (FORMATS.md): the event's JST date is the file's date
        sql = (f"select *, date_diff('day', business_date, cast(event_ts as date)) as event_day_offset "
               f"from raw.{kind.table} where {DAY_SLICE}")
        expectations.append(zero("event_day_offset", "ledger_D holds every balance-changing event of D",
                                 name="event date = file date"))
    municipality = "municipality_code" if "municipality_code" in kind.column_names else None
    return Target("raw", kind.table, f"raw.{kind.table}", sql, tuple(expectations),
                  municipality_column=municipality, description=kind.description)


def _terminal_records() -> Target:
    return Target("raw", "terminal_records", "raw.terminal_records",
                  f"select * from raw.terminal_records where {DAY_SLICE}", (
                      unique(["terminal_id", "seq"], "a terminal's seq identifies one record for ever"),
                      not_null("auth_id", "the platform's authorisation id links the record to the ledger"),
                      in_set("type", ("use", "cancel"), "records are uses or cancels (seals are apart)"),
                      between("amount", 0, AMOUNT_MAX_YEN, "integer yen, at most 10,000,000 per record"),
                      between("seq", 1, None, "seq starts at 1"),
                  ), description="verified terminal uses and cancels")


def _terminal_seals() -> Target:
    return Target("raw", "terminal_seals", "raw.terminal_seals",
                  f"select * from raw.terminal_seals where {DAY_SLICE}", (
                      unique(["terminal_id", "seq"], "one seal per terminal and seq"),
                      between("records", 0, None, "a seal counts the records before it", Severity.WARN),
                  ), municipality_column=None, description="seals of verified terminal uploads")


def _bank_statements() -> Target:
    sql = f"""select *, opening_balance + credit_total - debit_total - closing_balance as balance_difference_yen
              from raw.bank_statements where {DAY_SLICE}"""
    return Target("raw", "bank_statements", "raw.bank_statements", sql, (
        unique(["bank_code", "branch_code", "account_number", "business_date", "file_sha256"],
               "one statement per account, date and file"),
        zero("balance_difference_yen", "opening + deposits - withdrawals = closing (Zengin trailer)",
             name="opening + credits - debits = closing"),
        between("credit_total", 0, None, "totals are unsigned Zengin fields", Severity.WARN),
        between("debit_total", 0, None, "totals are unsigned Zengin fields", Severity.WARN),
    ), municipality_column=None, description="Zengin 03 statements (header + trailer)")


def _bank_lines() -> Target:
    return Target("raw", "bank_statement_lines", "raw.bank_statement_lines",
                  f"select * from raw.bank_statement_lines where {DAY_SLICE}", (
                      unique(["file_sha256", "line_number"], "lineage identifies one record"),
                      in_set("direction", ("credit", "debit"), "入払区分 1 or 2"),
                      between("amount", 0, None, "amounts are unsigned Zengin fields"),
                  ), municipality_column=None, description="Zengin 03 data records")


def _file_manifest() -> Target:
    sql = """select *, rows_read - rows_loaded - rows_quarantined + coalesce(rows_released, 0)
                 as rows_unaccounted
             from raw.file_manifest where ingest_run_date = $run_date"""
    return Target("raw", "file_manifest", "raw.file_manifest", sql, (
        zero("rows_unaccounted", "every record read is loaded or quarantined (released ones counted once)",
             name="rows_read = rows_loaded + rows_quarantined - rows_released"),
        in_set("status", ("loaded", "duplicate", "conflict", "rejected", "released"), "docs/raw-tables.md"),
        between("rows_read", 0, None, "a count", Severity.WARN),
        between("rows_loaded", 0, None, "a count", Severity.WARN),
        between("rows_quarantined", 0, None, "a count", Severity.WARN),
    ), municipality_column=None, description="the manifest rows written by D's ingest run")


def targets() -> list[Target]:
    """Every raw target, in Data Docs order."""
    return ([_schema_target()] + [_csv_target(kind) for kind in CSV_KINDS]
            + [_terminal_records(), _terminal_seals(), _bank_statements(), _bank_lines(), _file_manifest()])
