"""Late masters: partner rows quarantined for an unknown reference are evaluated again and released.

FORMATS.md ("References not known yet"): partner rows (conversion, sales, acquirer) whose municipality,
merchant or partner is not in the masters in force on their date are quarantined and evaluated again whenever
a later master snapshot arrives. At the end of a run that finds a referenced master snapshot committed after
the last release pass (raw.release_checks), each such row still open (its file's evaluation was `loaded`,
the row is not in raw.quarantine_releases yet) and older than that snapshot is checked again: its file is
read again from the inbox (the same path and SHA-256, else the row stays quarantined until the next
snapshot: lineage is of those bytes), the CSV loader decides it with the masters in force now, and the rows
that pass, and whose keys are not loaded yet, are loaded with their original lineage (file_sha256,
line_number, business_date). In the same batch: one `raw.quarantine_releases` row per released record (the
quarantine row stays, for the auditors) and one manifest row of status `released` (rows_read 0, rows_loaded
= rows_released = n), so per manifest row rows_read = rows_loaded + rows_quarantined - rows_released, and per
file the rows in raw tables = the loaded evaluation's rows_loaded + the released rows. A row is released once:
a later evaluation skips rows already released. Held rows are read again only when a new snapshot arrived,
not by every run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from contracts.reasons import Reason
from contracts.schemas import CSV_KINDS_BY_NAME
from ingestion.csv_loader import CsvLoadContext, load_csv
from ingestion.inbox import InboxFile
from ingestion.outcome import FileFacts, FileOutcome, FileStatus
from ingestion.schema import QUARANTINE_RELEASES
from ingestion.store import Written

UNKNOWN_REFERENCE_REASONS = (Reason.MUNICIPALITY_UNKNOWN, Reason.MERCHANT_UNKNOWN, Reason.PARTNER_UNKNOWN)
REFERENCED_MASTER_KINDS = ("master_municipalities", "master_merchants", "master_partners")


@dataclass(frozen=True, slots=True)
class HeldRow:
    """One open quarantine row that a later master may release: where it came from and when it was held."""

    line_number: int
    reason_code: str
    quarantined_at: dt.datetime


@dataclass(frozen=True, slots=True)
class HeldFile:
    """A loaded partner file with open unknown-reference rows: its manifest facts and those rows."""

    sha256: str
    path: str
    size_bytes: int
    mtime_ns: int
    rows: tuple[HeldRow, ...]


_HELD_SQL = f"""
SELECT q.file_sha256, q.path, m.size_bytes, m.mtime_ns, q.line_number, q.reason_code, q.ingested_at
FROM raw.quarantine q
JOIN raw.file_manifest m
  ON m.file_sha256 = q.file_sha256 AND m.path = q.path AND m.ingested_at = q.ingested_at AND m.status = 'loaded'
WHERE q.source = 'partner' AND q.line_number > 0
  AND q.reason_code IN ({", ".join("?" for _ in UNKNOWN_REFERENCE_REASONS)})
  AND NOT EXISTS (SELECT 1 FROM raw.quarantine_releases r
                  WHERE r.file_sha256 = q.file_sha256 AND r.line_number = q.line_number)
  AND q.ingested_at < ?
ORDER BY q.path, q.file_sha256, q.line_number
"""
_NEWEST_MASTER_SQL = f"""
SELECT max(ingested_at) FROM raw.file_manifest
WHERE status = 'loaded' AND kind IN ({", ".join("?" for _ in REFERENCED_MASTER_KINDS)})
"""


def masters_to_check(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The ingested_at of the newest committed referenced master snapshot when no release pass has checked
    against it yet (raw.release_checks), else None: nothing new can release anything."""
    (newest,) = con.execute(_NEWEST_MASTER_SQL, list(REFERENCED_MASTER_KINDS)).fetchone()
    (checked,) = con.execute("SELECT max(masters_through) FROM raw.release_checks").fetchone()
    if newest is None or (checked is not None and checked >= newest):
        return None
    return newest


def record_check(con: duckdb.DuckDBPyConnection, masters_through: dt.datetime, run_date: dt.date) -> None:
    """Note that every held row was checked against the masters committed up to `masters_through` (written
    after the releases are committed: a crash in between only makes the next run check again)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("INSERT INTO raw.release_checks VALUES (?, ?, ?)", [masters_through, now, run_date])


def held_files(con: duckdb.DuckDBPyConnection, masters_through: dt.datetime) -> list[HeldFile]:
    """The files with open unknown-reference rows held before the referenced snapshot of `masters_through`."""
    rows = con.execute(_HELD_SQL, [*UNKNOWN_REFERENCE_REASONS, masters_through]).fetchall()
    grouped: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    return [
        HeldFile(sha, path, group[0][2], group[0][3], tuple(HeldRow(r[4], r[5], r[6]) for r in group))
        for (sha, path), group in grouped.items()
    ]


def held_paths(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The manifest paths of every partner file with open unknown-reference rows: a later master snapshot reads
    them again from the inbox, so they are never archived (ingestion.archive)."""
    return {held.path for held in held_files(con, dt.datetime(9999, 12, 31))}


def release(
    file: InboxFile, data: bytes, held: HeldFile, context: CsvLoadContext, run_date: dt.date, now: dt.datetime
) -> Written | None:
    """The batch item that releases the held rows of `file` that pass now (None: none does). `data` must be
    the bytes of `held.sha256` (the caller checks)."""
    kind = CSV_KINDS_BY_NAME[file.kind]
    outcome = load_csv(file, data, context)
    rows = outcome.tables.get(kind.table)
    if outcome.status is not FileStatus.LOADED or rows is None:
        return None
    by_line = {row.line_number: row for row in held.rows}
    released = rows.filter(pc.is_in(rows.column("line_number"), pa.array(list(by_line), pa.int64())))
    if released.num_rows == 0:
        return None
    lines = released.column("line_number").to_pylist()
    marks = pa.table(
        {
            "file_sha256": [held.sha256] * len(lines),
            "path": [held.path] * len(lines),
            "line_number": lines,
            "business_date": [file.business_date] * len(lines),
            "reason_code": [by_line[n].reason_code for n in lines],
            "quarantined_at": [by_line[n].quarantined_at for n in lines],
            "released_at": [now] * len(lines),
            "ingest_run_date": [run_date] * len(lines),
        },
        schema=QUARANTINE_RELEASES.arrow_schema(),
    )
    result = FileOutcome(
        FileStatus.RELEASED,
        0,
        len(lines),
        {kind.table: released, QUARANTINE_RELEASES.name: marks},
        detail=f"{len(lines)} quarantined rows released: their references are in the masters in force now",
        rows_released=len(lines),
    )
    facts = FileFacts(
        held.sha256, held.path, file.source, file.kind, file.business_date, held.size_bytes, held.mtime_ns, run_date
    )
    return Written(facts, result, now)
