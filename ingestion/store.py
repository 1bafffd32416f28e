"""Writing a batch of file outcomes: their raw rows, quarantine rows, gap changes and manifest rows in one
DuckDB transaction, and the same rows as Parquet under raw_dir/source=<s>/date=<YYYY-MM-DD>/.

Unit of atomicity: the batch (docs/formats.md, "Runs, identity and re-runs"). Every batch gets a fresh id
(`new_batch_id`), written on its manifest rows and in its Parquet file names. Every table gets one Arrow append
per batch, not one per file. Parquet is written to raw_dir/.pending/<batch id>/ and synced before the
transaction, with a marker listing the files, and renamed into place after COMMIT. A failed transaction removes
the pending folder; after a hard crash, `recover_pending_parquet` (run at the start of every ingest) publishes
a pending folder when manifest rows with its batch id were committed and deletes it otherwise, so the warehouse
and the Parquet copy agree (`ingestion.mirror.verify_mirror` checks it). docs/reliability.md lists the crash
points and their tests. This module never decides anything about the data and never writes a My Number in
clear: quarantine text and details go through `codes.mask_my_numbers` here.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.codes import mask_my_numbers
from ingestion.outcome import FileFacts, FileOutcome
from ingestion.schema import FILE_MANIFEST, QUARANTINE, TABLES, TERMINAL_SEQ_GAP_CHANGES, sql_literal

PENDING_FOLDER = ".pending"
UNDATED = "undated"  # the date= partition of files whose name gives no business date
GAP_CHANGES = TERMINAL_SEQ_GAP_CHANGES.name
GAP_CHANGES_SCHEMA = TERMINAL_SEQ_GAP_CHANGES.arrow_schema()
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


def _manifest_rows(items: list[Written], batch: str) -> pa.Table:
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
            "batch_id": batch,
        }
        for item in items
    ]
    return pa.Table.from_pylist(rows, schema=FILE_MANIFEST.arrow_schema())


def _tables_of(items: list[Written], batch: str) -> dict[str, pa.Table]:
    """Raw table -> the batch's rows, in file order; quarantine and file_manifest included."""
    parts: dict[str, list[pa.Table]] = {}
    for item in items:
        for name, rows in item.outcome.tables.items():
            if rows.num_rows:
                parts.setdefault(name, []).append(rows)
    tables = {name: pa.concat_tables(pieces) for name, pieces in parts.items()}
    tables["quarantine"] = _quarantine_rows(items)
    tables["file_manifest"] = _manifest_rows(items, batch)
    return tables


def staged_path(raw_dir: Path, batch: str, source: str, business_date: dt.date | None, table: str) -> Path:
    """Where a batch stages `table`'s Parquet for one (source, business date), its folder created: a streamed
    file's loader writes its rows there itself (FileOutcome.spilled), and `write_batch` with that batch id
    publishes it. A crash before the batch commits leaves a folder the next run's recovery deletes."""
    day = business_date.isoformat() if business_date is not None else UNDATED
    path = raw_dir / PENDING_FOLDER / batch / f"source={source}/date={day}" / f"{table}-{batch}.parquet"
    _make_dirs(path.parent)
    return path


def discard_staged(raw_dir: Path, batch: str) -> None:
    """Remove what a batch that will not commit staged under its id (`staged_path`), if anything."""
    shutil.rmtree(raw_dir / PENDING_FOLDER / batch, ignore_errors=True)


def new_batch_id() -> str:
    """16 hex digits naming one attempt at writing a batch: 13 of the clock in microseconds (so ids sort by
    time) and 3 random. Never derived from the files: a batch that failed, or a retried file's new evaluation,
    must not reuse the name (and the Parquet file names) of an earlier attempt."""
    return f"{time.time_ns() // 1000:013x}{secrets.randbits(12):03x}"


def _partition(item: Written) -> str:
    day = item.facts.business_date
    return f"source={item.facts.source}/date={day.isoformat() if day is not None else UNDATED}"


def _parquet_files(items: list[Written], batch: str) -> dict[str, pa.Table]:
    """Relative Parquet path -> rows: one file per (source, business date, table) of the batch,
    source=<s>/date=<D>/<table>-<batch id>.parquet; files with no business date (not understood) under
    date=undated. Every row the batch appends to the warehouse is in exactly one of them."""
    groups: dict[str, list[Written]] = {}
    for item in items:
        groups.setdefault(_partition(item), []).append(item)
    files: dict[str, pa.Table] = {}
    for partition, members in groups.items():
        for name, rows in _tables_of(members, batch).items():
            if rows.num_rows:
                files[f"{partition}/{name}-{batch}.parquet"] = rows
        changes = _gap_change_rows(members, batch)
        if changes.num_rows:
            files[f"{partition}/{GAP_CHANGES}-{batch}.parquet"] = changes
    return files


def _gap_change_rows(items: list[Written], batch: str) -> pa.Table:
    """The batch's changes to raw.terminal_seq_gaps, in the order they are applied: the Parquet form of a
    table the warehouse updates in place (`verify_mirror` replays them)."""
    rows = [
        {
            "action": change.action,
            "terminal_id": change.terminal_id,
            "missing_from_seq": change.missing_from_seq,
            "missing_to_seq": change.missing_to_seq,
            "business_date": item.facts.business_date,
            "file_sha256": item.facts.sha256,
            "batch_id": batch,
        }
        for item in items
        for change in item.outcome.gap_changes
    ]
    return pa.Table.from_pylist(rows, schema=GAP_CHANGES_SCHEMA)


def _append(con: duckdb.DuckDBPyConnection, table_name: str, rows: pa.Table) -> None:
    if rows.num_rows == 0:
        return
    names = ", ".join(TABLES[table_name].column_names)
    # A batch's table is the concatenation of one small table per file: DuckDB's Arrow scan pays per chunk, so
    # 1,000 files' chunks took 0.2 s to insert 11,000 rows; one chunk takes 0.02 s.
    rows = rows.combine_chunks()
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


# --- durability: every file and directory entry on disk before the step that relies on it -------------------


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a file created, renamed or deleted in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """mkdir -p, with each new directory's entry synced into its parent (a rename into a directory whose own
    entry is lost in a crash would be lost with it)."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        fsync_dir(folder.parent)


def _write_synced(path: Path, write: Callable[[BinaryIO], object]) -> None:
    with path.open("xb") as handle:  # "x": a batch id is never reused, so an existing file is a bug
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def _stage_parquet(folder: Path, batch: str, files: dict[str, pa.Table], spilled: list[str]) -> None:
    """Write the batch's Parquet into its pending folder, each file synced, then the marker listing them and the
    `spilled` files a streaming loader already wrote and synced there (written under a temporary name and
    renamed: a marker is complete or absent)."""
    _make_dirs(folder)
    for relative, rows in files.items():
        path = folder / relative
        _make_dirs(path.parent)
        _write_synced(path, lambda handle, rows=rows: pq.write_table(rows, handle))
        crash_point("stage")
    for directory in {(folder / relative).parent for relative in [*files, *spilled]}:
        fsync_dir(directory)
    marker = {"batch_id": batch, "files": sorted([*files, *spilled])}
    partial = folder / f"{_MARKER}.partial"
    _write_synced(partial, lambda handle: handle.write(json.dumps(marker).encode()))
    partial.replace(folder / _MARKER)
    fsync_dir(folder)


def _staged_files(folder: Path) -> list[str]:
    try:
        return list(json.loads((folder / _MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        # no marker: only a batch whose staging was complete can have committed; list what is there
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))


def _publish(folder: Path, raw_dir: Path) -> None:
    """Move a committed batch's Parquet files into place (each rename atomic; a file already moved by an
    interrupted publish is skipped), sync the directories that received them, remove the pending folder."""
    targets: set[Path] = set()
    for relative in _staged_files(folder):
        source, target = folder / relative, raw_dir / relative
        if not source.exists():
            continue  # moved before a crash
        _make_dirs(target.parent)
        source.replace(target)
        targets.add(target.parent)
        crash_point("publish")
    for directory in targets:
        fsync_dir(directory)
    shutil.rmtree(folder)
    fsync_dir(folder.parent)


def _spilled(items: list[Written], folder: Path) -> dict[str, list[str]]:
    """Raw table -> the streamed Parquet files (relative to the batch's pending folder) holding its rows."""
    found: dict[str, list[str]] = {}
    for item in items:
        for name, path in item.outcome.spilled.items():
            found.setdefault(name, []).append(Path(path).relative_to(folder).as_posix())
    return found


def _append_parquet(con: duckdb.DuckDBPyConnection, table_name: str, path: Path) -> None:
    names = ", ".join(TABLES[table_name].column_names)
    con.execute(f"INSERT INTO raw.{table_name} ({names}) SELECT {names} FROM read_parquet({sql_literal(str(path))})")


def write_batch(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, items: list[Written], batch: str | None = None
) -> str | None:
    """All of a batch's rows and manifest rows, or nothing; then its Parquet files, in place. Returns the
    batch id (None for an empty batch). `batch`: the id a streaming loader already staged its rows under
    (`staged_path`; a fresh id otherwise).

    Order: Parquet staged and synced under raw/.pending/<batch id>/; one transaction (rows, quarantine, gap
    changes, manifest rows carrying the batch id); COMMIT; Parquet renamed into place. A crash at any point
    leaves either an uncommitted batch (no manifest row with its id: its pending folder is deleted by the next
    run) or a committed one (its pending folder is published by the next run)."""
    if not items:
        if batch is not None:
            discard_staged(raw_dir, batch)
        return None
    batch = batch or new_batch_id()
    tables = _tables_of(items, batch)
    folder = raw_dir / PENDING_FOLDER / batch
    spilled = _spilled(items, folder)
    # The Parquet is staged in a thread while the rows go into the transaction: pyarrow's writer and DuckDB's
    # inserts both let go of the GIL, and on day 4 of the 1,000,000-resident world each took about 2 s of the
    # main process. COMMIT still waits for every staged file to be synced.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="stage") as stager:
        staging = stager.submit(_stage_parquet, folder, batch, _parquet_files(items, batch),
                                [f for files in spilled.values() for f in files])
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                for name, rows in tables.items():
                    if name != "file_manifest":
                        _append(con, name, rows)
                for name, files in spilled.items():
                    for relative in files:
                        _append_parquet(con, name, folder / relative)
                for item in items:
                    _apply_gap_changes(con, item.facts, item.outcome)
                _append(con, "file_manifest", tables["file_manifest"])
                staging.result()  # raises what staging raised
                crash_point("transaction")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except BaseException:
            concurrent.futures.wait([staging])
            shutil.rmtree(folder, ignore_errors=True)
            raise
    crash_point("commit")
    _publish(folder, raw_dir)
    return batch


def _committed(con: duckdb.DuckDBPyConnection, folder: Path) -> bool:
    """True when the batch staged in `folder` has manifest rows: its id, or for a folder staged before batch
    ids were recorded, the (sha256, path, mtime) its marker names."""
    found = con.execute("SELECT count(*) FROM raw.file_manifest WHERE batch_id = ?", [folder.name]).fetchall()
    if found[0][0] > 0:
        return True
    try:
        key = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
        legacy = [key["file_sha256"], key["path"], key["mtime_ns"]]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    row = con.execute(
        "SELECT count(*) FROM raw.file_manifest WHERE batch_id IS NULL AND file_sha256 = ? AND path = ? "
        "AND mtime_ns = ?",
        legacy,
    ).fetchall()
    return row[0][0] > 0


def recover_pending_parquet(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> list[str]:
    """Finish what a crash left in raw_dir/.pending: publish the Parquet of committed batches, delete that of
    the others (and any stray file). Returns the ids of the batches published. Runs at the start of every
    ingest, before anything else is written."""
    root = raw_dir / PENDING_FOLDER
    if not root.is_dir():
        return []
    published: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and _committed(con, entry):
            _publish(entry, raw_dir)
            published.append(entry.name)
        elif entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    fsync_dir(root)
    return published


# --- test hook: a real crash at a named step ------------------------------------------------------------------

CRASH_ENV = "SEISAN_TEST_CRASH_AT"
CRASH_STEPS = ("stage", "transaction", "commit", "publish")
_crash_counts: Counter[str] = Counter()


def crash_point(step: str) -> None:
    """With SEISAN_TEST_CRASH_AT=<step>:<n> in the environment, the n-th time this process reaches `step` it
    kills itself with SIGKILL: no cleanup, no exception handler, no atexit, as a power cut or the OOM killer
    would. Steps: stage (after each staged Parquet file), transaction (inside the DuckDB transaction, all rows
    inserted), commit (after COMMIT, nothing published), publish (after each file moved into place, also when
    the next run's recovery publishes). Unset (always, outside the kill tests), it does nothing."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != step:
        return
    _crash_counts[step] += 1
    if _crash_counts[step] == int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
