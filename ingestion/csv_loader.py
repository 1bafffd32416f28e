"""Loading one CSV file (master, platform or partner) into its raw table: read, validate, de-duplicate.

File-level problems reject the file (the records it can be split into are quarantined with the file's
reason); row-level problems quarantine the row alone (contracts.validation's check order, then duplicate
keys). A master file with bad rows loads its good rows as the snapshot (docs/formats.md); a bad row's id, when
it has a valid shape, is kept with its quarantine row and still counts as known for referential checks.
This module reads the warehouse (masters, committed keys) and never writes it; rows of the run's open batch are
the caller's
to commit first (`duplicate_scope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from contracts.csvio import CsvRecord, read_csv
from contracts.reasons import Reason
from contracts.schemas import CSV_KINDS_BY_NAME, FileKind
from contracts.validation import InMemoryMasters, RowContext, header_problem, valid_id, validate_record
from ingestion.inbox import InboxFile
from ingestion.masters import REFERENCED_MASTERS, MastersInForce
from ingestion.outcome import FileOutcome, FileStatus, QuarantinedRecord, whole_file
from ingestion.schema import CSV_TABLES


@dataclass(frozen=True, slots=True)
class CsvLoadContext:
    """What loading a CSV file needs: the warehouse (read-only here), the masters lookup (updated by the
    caller after a master loads), the committed masters in force (partner encodings), the file's sha256 and
    the record limit."""

    con: duckdb.DuckDBPyConnection
    masters: InMemoryMasters
    in_force: MastersInForce
    sha256: str
    max_records: int


def _records_of(data: bytes, encoding: str) -> list[tuple[int, str | None]] | None:
    """The records of a file kept out whole, if it can be split at all (else None)."""
    read = read_csv(data, encoding)
    if read.error is not None and read.error.code != Reason.FILE_TOO_MANY_ROWS:
        return None
    return [(r.line_number, r.raw_text) for r in read.records]


def split_csv_records(data: bytes, encoding: str = "utf-8") -> list[tuple[int, str | None]] | None:
    """(line_number, raw text) of each record, for quarantining a file whole; tries CP932 after UTF-8."""
    records = _records_of(data, encoding)
    if records is None and encoding == "utf-8":
        records = _records_of(data, "cp932")
    return records


def _key_scope(kind: FileKind) -> str:
    if kind.source == "master" or kind.name == "platform_balances":
        return "business_date"  # a master row by its id within one snapshot; a balance per date
    if kind.source == "partner":
        return "partner_code"  # partners' own ids are unique per partner
    return ""


def duplicate_scope(file: InboxFile) -> tuple[str, object]:
    """(raw table, scope value) within which the file's keys are compared with loaded rows: rows of other
    files with another scope value can never be its duplicates (the caller commits rows of the same scope
    before loading the file, since the check reads committed rows)."""
    kind = CSV_KINDS_BY_NAME[file.kind]
    scope = _key_scope(kind)
    if scope == "partner_code":
        return kind.table, file.groups.get("partner")
    return kind.table, file.business_date if scope else None


def _loaded_duplicates(
    con: duckdb.DuckDBPyConnection, kind: FileKind, rows: list[dict[str, Any]], scope_value: object
) -> set[int]:
    """Indexes of `rows` whose key is already in the raw table (within the kind's scope)."""
    if not rows:
        return set()
    table = CSV_TABLES[kind.name]
    types = {f.name: f.type for f in table.arrow_schema()}
    keys = pa.table(
        {
            "_idx": pa.array(range(len(rows)), pa.int64()),
            **{k: pa.array([r[k] for r in rows], types[k]) for k in kind.keys},
        }
    )
    condition = " AND ".join(f"c.{k} = r.{k}" for k in kind.keys)
    scope = _key_scope(kind)
    params: list[object] = []
    if scope:
        condition += f" AND r.{scope} = ?"
        params.append(scope_value)
    con.register("_ingest_keys", keys)
    try:
        found = con.execute(
            f"SELECT DISTINCT c._idx FROM _ingest_keys c JOIN raw.{kind.table} r ON {condition}", params
        ).fetchall()
    finally:
        con.unregister("_ingest_keys")
    return {index for (index,) in found}


def _master_id(kind: FileKind, header: tuple[str, ...], fields: list[str]) -> str | None:
    """The id of a quarantined row of a referenced master, when the row splits into the header's fields and
    its id has a valid shape (docs/formats.md: such an id still counts as known in its snapshot)."""
    master = kind.name.removeprefix("master_")
    if master not in REFERENCED_MASTERS or len(fields) != len(header):
        return None
    return valid_id(kind, dict(zip(header, fields, strict=True)), REFERENCED_MASTERS[master])


def _validate(
    kind: FileKind, header: tuple[str, ...], records: list[CsvRecord], context: RowContext
) -> tuple[list[dict[str, Any]], list[int], list[QuarantinedRecord]]:
    good: list[dict[str, Any]] = []
    lines: list[int] = []
    bad: list[QuarantinedRecord] = []
    seen_keys: set[tuple[object, ...]] = set()
    for record in records:
        typed, problems = validate_record(kind, header, record.fields, context)
        if typed is None:
            known = _master_id(kind, header, record.fields)
            bad.append(QuarantinedRecord.of(record.line_number, problems, record.raw_text, known))
            continue
        key = tuple(typed[k] for k in kind.keys)
        if key in seen_keys:
            bad.append(
                QuarantinedRecord(
                    record.line_number,
                    Reason.DUPLICATE_KEY,
                    f"key {', '.join(kind.keys)} repeats an earlier row of this file",
                    record.raw_text,
                )
            )
            continue
        seen_keys.add(key)
        good.append(typed)
        lines.append(record.line_number)
    return good, lines, bad


def _rows_table(kind: FileKind, rows: list[dict[str, Any]], lines: list[int], file: InboxFile, sha256: str) -> pa.Table:
    table = CSV_TABLES[kind.name]
    extra = {
        "file_sha256": [sha256] * len(rows),
        "line_number": lines,
        "business_date": [file.business_date] * len(rows),
    }
    if kind.source == "partner":
        extra["partner_code"] = [file.groups["partner"]] * len(rows)
    columns = {name: extra[name] if name in extra else [r[name] for r in rows] for name in table.column_names}
    return pa.table(columns, schema=table.arrow_schema())


def _encoding_for(file: InboxFile, ctx: CsvLoadContext) -> str | None:
    """UTF-8, or a partner's encoding as its master in force on the file's date says (None: unknown)."""
    if file.source != "partner":
        return "utf-8"
    return ctx.in_force.partner_encoding(file.groups["partner"], file.business_date)


def load_csv(file: InboxFile, data: bytes, ctx: CsvLoadContext) -> FileOutcome:
    """The outcome of one CSV file of a known kind."""
    kind = CSV_KINDS_BY_NAME[file.kind]
    encoding = _encoding_for(file, ctx)
    if encoding is None:
        return whole_file(
            FileStatus.REJECTED,
            Reason.PARTNER_UNKNOWN,
            f"partner {file.groups['partner']} is not in the partners master in force on {file.business_date}",
            split_csv_records(data),
        )
    read = read_csv(data, encoding, ctx.max_records)
    if read.error is not None:
        return whole_file(FileStatus.REJECTED, read.error.code, read.error.detail, None)
    problem = header_problem(kind, read.header)
    if problem is not None:
        return whole_file(
            FileStatus.REJECTED, problem.code, problem.detail, [(r.line_number, r.raw_text) for r in read.records]
        )
    context = RowContext(file.business_date, ctx.masters)
    good, lines, bad = _validate(kind, read.header, read.records, context)
    scope_value = file.groups.get("partner") if kind.source == "partner" else file.business_date
    repeated = _loaded_duplicates(ctx.con, kind, good, scope_value)
    if repeated:
        raw_by_line = {r.line_number: r.raw_text for r in read.records}
        for index in sorted(repeated):
            bad.append(
                QuarantinedRecord(
                    lines[index],
                    Reason.DUPLICATE_KEY,
                    f"key {', '.join(kind.keys)} is already loaded",
                    raw_by_line[lines[index]],
                )
            )
        good = [r for i, r in enumerate(good) if i not in repeated]
        lines = [n for i, n in enumerate(lines) if i not in repeated]
    bad.sort(key=lambda q: q.line_number)
    rows = _rows_table(kind, good, lines, file, ctx.sha256)
    return FileOutcome(FileStatus.LOADED, len(read.records), rows.num_rows, {kind.table: rows}, tuple(bad))


def master_snapshot_keys(file: InboxFile, outcome: FileOutcome) -> tuple[str, list[str]] | None:
    """(master, keys) of a loaded master snapshot that rows refer to, for the run's masters lookup: the ids
    of its loaded rows and of its quarantined rows whose id has a valid shape."""
    master = file.kind.removeprefix("master_")
    if outcome.status != FileStatus.LOADED or master not in REFERENCED_MASTERS:
        return None
    rows = outcome.tables.get(file.kind)
    if rows is None or rows.num_rows == 0:
        return None  # no rows loaded: no snapshot, the previous one stays in force (as in SQL)
    known = [q.master_id for q in outcome.quarantined if q.master_id is not None]
    return master, rows.column(REFERENCED_MASTERS[master]).to_pylist() + known
