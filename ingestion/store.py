"""Writing one file's outcome: its raw rows, quarantine rows, gap changes and manifest row in one DuckDB
transaction, and the same rows as Parquet under raw_dir/source=<s>/date=<YYYY-MM-DD>/.

Parquet is written first (to a temporary name, then renamed) and removed again when the transaction fails,
so the warehouse and the Parquet copy agree. This module never decides anything about the data and never
writes a My Number in clear: quarantine text and details go through `codes.mask_my_numbers` here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.codes import mask_my_numbers
from ingestion.outcome import FileFacts, FileOutcome
from ingestion.schema import FILE_MANIFEST, QUARANTINE, TABLES


def _quarantine_table(facts: FileFacts, outcome: FileOutcome) -> pa.Table:
    rows = outcome.quarantined
    columns = {
        "file_sha256": [facts.sha256] * len(rows),
        "path": [facts.path] * len(rows),
        "source": [facts.source] * len(rows),
        "kind": [facts.kind] * len(rows),
        "business_date": [facts.business_date] * len(rows),
        "line_number": [q.line_number for q in rows],
        "reason_code": [str(q.reason_code) for q in rows],
        "detail": [mask_my_numbers(q.detail) for q in rows],
        "raw_text": [mask_my_numbers(q.raw_text) for q in rows],
        "ingest_run_date": [facts.ingest_run_date] * len(rows),
    }
    return pa.table(columns, schema=QUARANTINE.arrow_schema())


def _manifest_table(facts: FileFacts, outcome: FileOutcome, ingested_at: dt.datetime) -> pa.Table:
    row = {
        "file_sha256": facts.sha256,
        "path": facts.path,
        "source": facts.source,
        "kind": facts.kind,
        "business_date": facts.business_date,
        "status": outcome.status,
        "rows_read": outcome.rows_read,
        "rows_loaded": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined,
        "reason_code": str(outcome.reason_code) if outcome.reason_code else None,
        "detail": mask_my_numbers(outcome.detail),
        "size_bytes": facts.size_bytes,
        "mtime_ns": facts.mtime_ns,
        "ingested_at": ingested_at,
        "ingest_run_date": facts.ingest_run_date,
    }
    return pa.Table.from_pylist([row], schema=FILE_MANIFEST.arrow_schema())


def _append(con: duckdb.DuckDBPyConnection, table_name: str, rows: pa.Table) -> None:
    if rows.num_rows == 0:
        return
    names = ", ".join(TABLES[table_name].column_names)
    con.register("_ingest_rows", rows)
    try:
        con.execute(f"INSERT INTO raw.{table_name} ({names}) SELECT {names} FROM _ingest_rows")
    finally:
        con.unregister("_ingest_rows")


def _apply_gap_changes(con: duckdb.DuckDBPyConnection, facts: FileFacts, outcome: FileOutcome) -> None:
    for change in outcome.gap_changes:
        if change.action == "open":
            con.execute(
                "INSERT INTO raw.terminal_seq_gaps VALUES (?, ?, ?, ?, ?, 'open', NULL, NULL)",
                [
                    change.terminal_id,
                    change.missing_from_seq,
                    change.missing_to_seq,
                    facts.business_date,
                    facts.sha256,
                ],
            )
        else:
            con.execute(
                "UPDATE raw.terminal_seq_gaps SET status = 'resolved', resolved_business_date = ?, "
                "resolved_file_sha256 = ? WHERE terminal_id = ? AND missing_from_seq = ? "
                "AND missing_to_seq = ? AND status = 'open'",
                [
                    facts.business_date,
                    facts.sha256,
                    change.terminal_id,
                    change.missing_from_seq,
                    change.missing_to_seq,
                ],
            )


def parquet_paths(raw_dir: Path, facts: FileFacts, tables: dict[str, pa.Table]) -> dict[Path, pa.Table]:
    """Where each non-empty table of a file goes:
    source=<s>/date=<D>/<table>-<sha[:16]>-<path hash[:8]>.parquet
    (the path hash keeps two names with the same content apart)."""
    if facts.business_date is None:
        return {}
    folder = raw_dir / f"source={facts.source}" / f"date={facts.business_date.isoformat()}"
    path_hash = hashlib.sha256(facts.path.encode("utf-8")).hexdigest()[:8]
    return {
        folder / f"{name}-{facts.sha256[:16]}-{path_hash}.parquet": rows
        for name, rows in tables.items()
        if rows.num_rows
    }


def _write_parquet(files: dict[Path, pa.Table]) -> None:
    for path, rows in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".parquet.tmp")
        pq.write_table(rows, temporary)
        temporary.replace(path)


def write_outcome(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    facts: FileFacts,
    outcome: FileOutcome,
    ingested_at: dt.datetime,
) -> None:
    """All of a file's rows and its manifest row, or nothing."""
    quarantine = _quarantine_table(facts, outcome)
    manifest = _manifest_table(facts, outcome, ingested_at)
    # A duplicate delivery has the same sha and often the same path as the file it repeats: its manifest row
    # lives in the warehouse only, so that the original's Parquet is never overwritten.
    to_parquet = (
        {}
        if outcome.status == "duplicate"
        else {**outcome.tables, "quarantine": quarantine, "file_manifest": manifest}
    )
    parquet = parquet_paths(raw_dir, facts, to_parquet)
    _write_parquet(parquet)
    try:
        con.execute("BEGIN TRANSACTION")
        for name, rows in outcome.tables.items():
            _append(con, name, rows)
        _append(con, "quarantine", quarantine)
        _apply_gap_changes(con, facts, outcome)
        _append(con, "file_manifest", manifest)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        for path in parquet:
            path.unlink(missing_ok=True)
        raise
