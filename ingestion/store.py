"""Writing a batch of file outcomes: their raw rows, quarantine rows, gap changes and manifest rows in one
DuckDB transaction, and the same rows as Parquet under raw_dir/source=<s>/date=<YYYY-MM-DD>/.

Unit of atomicity: the batch (docs/formats.md, "Runs, identity and re-runs"). Every table gets one Arrow
append per batch, not one per file. Parquet is written to raw_dir/.pending/<batch id>/ before the
transaction, with a marker naming one of the batch's manifest rows, and moved into place after COMMIT. A
failed transaction removes the pending folder; after a hard crash, `recover_pending_parquet` (run at the
start of every ingest) moves a pending folder into place when its marker row was committed and deletes it
otherwise, so the warehouse and the Parquet copy agree. This module never decides anything about the data
and never writes a My Number in clear: quarantine text and details go through `codes.mask_my_numbers` here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.codes import mask_my_numbers
from ingestion.outcome import DUPLICATE, FileFacts, FileOutcome
from ingestion.schema import FILE_MANIFEST, QUARANTINE, TABLES

PENDING_FOLDER = ".pending"
_MARKER = "batch.json"


@dataclass(frozen=True, slots=True)
class Written:
    """One file's outcome, waiting in a batch: its facts, the loader's outcome and when it was ingested."""

    facts: FileFacts
    outcome: FileOutcome
    ingested_at: dt.datetime


def _quarantine_rows(items: list[Written]) -> pa.Table:
    columns: dict[str, list[object]] = {name: [] for name in QUARANTINE.column_names}
    for item in items:
        facts = item.facts
        for q in item.outcome.quarantined:
            columns["file_sha256"].append(facts.sha256)
            columns["path"].append(facts.path)
            columns["source"].append(facts.source)
            columns["kind"].append(facts.kind)
            columns["business_date"].append(facts.business_date)
            columns["line_number"].append(q.line_number)
            columns["reason_code"].append(str(q.reason_code))
            columns["detail"].append(mask_my_numbers(q.detail))
            columns["raw_text"].append(mask_my_numbers(q.raw_text))
            columns["ingest_run_date"].append(facts.ingest_run_date)
            columns["master_id"].append(q.master_id)
            columns["ingested_at"].append(item.ingested_at)
            columns["reason_codes"].append(list(q.reason_codes))
    return pa.table(columns, schema=QUARANTINE.arrow_schema())


def _manifest_rows(items: list[Written]) -> pa.Table:
    rows = [
        {
            "file_sha256": item.facts.sha256,
            "path": item.facts.path,
            "source": item.facts.source,
            "kind": item.facts.kind,
            "business_date": item.facts.business_date,
            "status": item.outcome.status,
            "rows_read": item.outcome.rows_read,
            "rows_loaded": item.outcome.rows_loaded,
            "rows_quarantined": item.outcome.rows_quarantined,
            "reason_code": str(item.outcome.reason_code) if item.outcome.reason_code else None,
            "detail": mask_my_numbers(item.outcome.detail),
            "size_bytes": item.facts.size_bytes,
            "mtime_ns": item.facts.mtime_ns,
            "ingested_at": item.ingested_at,
            "ingest_run_date": item.facts.ingest_run_date,
            "rows_released": item.outcome.rows_released,
        }
        for item in items
    ]
    return pa.Table.from_pylist(rows, schema=FILE_MANIFEST.arrow_schema())


def _tables_of(items: list[Written]) -> dict[str, pa.Table]:
    """Raw table -> the batch's rows, in file order; quarantine and file_manifest included."""
    parts: dict[str, list[pa.Table]] = {}
    for item in items:
        for name, rows in item.outcome.tables.items():
            if rows.num_rows:
                parts.setdefault(name, []).append(rows)
    tables = {name: pa.concat_tables(pieces) for name, pieces in parts.items()}
    tables["quarantine"] = _quarantine_rows(items)
    tables["file_manifest"] = _manifest_rows(items)
    return tables


def batch_id(items: list[Written]) -> str:
    """16 hex digits naming the batch, from its files' manifest identities (sha256, path, mtime)."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.facts.sha256} {item.facts.path} {item.facts.mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _parquet_files(items: list[Written], batch: str) -> dict[str, pa.Table]:
    """Relative Parquet path -> rows: one file per (source, business date, table) of the batch,
    source=<s>/date=<D>/<table>-<batch id>.parquet. Files with no business date (not understood) and
    redeliveries (their manifest row lives in the warehouse only, as the original's rows are already in
    Parquet) are left out."""
    groups: dict[tuple[str, dt.date], list[Written]] = {}
    for item in items:
        if item.facts.business_date is not None and item.outcome.status != DUPLICATE:
            groups.setdefault((item.facts.source, item.facts.business_date), []).append(item)
    files: dict[str, pa.Table] = {}
    for (source, day), members in groups.items():
        for name, rows in _tables_of(members).items():
            if rows.num_rows:
                files[f"source={source}/date={day.isoformat()}/{name}-{batch}.parquet"] = rows
    return files


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


def _stage_parquet(folder: Path, files: dict[str, pa.Table], marker: Written) -> None:
    """Write the batch's Parquet into its pending folder, then the marker naming one of its manifest rows."""
    folder.mkdir(parents=True, exist_ok=True)
    for relative, rows in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, path)
    key = {"file_sha256": marker.facts.sha256, "path": marker.facts.path, "mtime_ns": marker.facts.mtime_ns}
    (folder / _MARKER).write_text(json.dumps(key), encoding="utf-8")


def _publish(folder: Path, raw_dir: Path) -> None:
    """Move a committed batch's Parquet files into place and remove its pending folder."""
    for path in sorted(folder.rglob("*.parquet")):
        target = raw_dir / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
    shutil.rmtree(folder)


def write_batch(con: duckdb.DuckDBPyConnection, raw_dir: Path, items: list[Written]) -> None:
    """All of a batch's rows and manifest rows, or nothing; then its Parquet files, in place."""
    if not items:
        return
    tables = _tables_of(items)
    batch = batch_id(items)
    folder = raw_dir / PENDING_FOLDER / batch
    shutil.rmtree(folder, ignore_errors=True)
    try:
        _stage_parquet(folder, _parquet_files(items, batch), items[0])
        con.execute("BEGIN TRANSACTION")
        try:
            for name, rows in tables.items():
                if name != "file_manifest":
                    _append(con, name, rows)
            for item in items:
                _apply_gap_changes(con, item.facts, item.outcome)
            _append(con, "file_manifest", tables["file_manifest"])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _publish(folder, raw_dir)


def _committed(con: duckdb.DuckDBPyConnection, marker: Path) -> bool:
    try:
        key = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # no marker (or a torn one): the batch crashed before its transaction began
    row = con.execute(
        "SELECT count(*) FROM raw.file_manifest WHERE file_sha256 = ? AND path = ? AND mtime_ns = ?",
        [key["file_sha256"], key["path"], key["mtime_ns"]],
    ).fetchall()
    return row[0][0] > 0


def recover_pending_parquet(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> list[str]:
    """Finish what a crash left in raw_dir/.pending: publish the Parquet of committed batches, delete that of
    the others. Returns the ids of the batches published."""
    root = raw_dir / PENDING_FOLDER
    if not root.is_dir():
        return []
    published: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if _committed(con, folder / _MARKER):
            _publish(folder, raw_dir)
            published.append(folder.name)
        else:
            shutil.rmtree(folder)
    return published
