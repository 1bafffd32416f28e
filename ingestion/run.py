"""One ingest run for business date D: every due file of the inbox into the `raw` schema, one file at a time.

The caller holds the control flow here; loaders (csv_loader, terminal_loader, bank_loader) decide, `store`
writes. Each file is one transaction, so a crash leaves whole files loaded or not at all, and the next run
carries on. This module never deletes or moves inbox files and never rewrites a loaded row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from contracts.reasons import Reason
from contracts.validation import InMemoryMasters
from ingestion.csv_loader import CsvLoadContext, load_csv, master_snapshot_keys, split_csv_records
from ingestion.identity import CONFLICT, DUPLICATE, SKIP, ManifestIndex, Seen, sha256_of
from ingestion.inbox import BANK_KIND, TERMINAL_KIND, UNKNOWN_KIND, InboxFile, files_due, scan_inbox
from ingestion.masters import load_masters
from ingestion.outcome import CONFLICT as CONFLICT_STATUS
from ingestion.outcome import DUPLICATE as DUPLICATE_STATUS
from ingestion.outcome import REJECTED, FileFacts, FileOutcome, whole_file
from ingestion.schema import ensure_raw_schema
from ingestion.store import write_outcome

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one file: its size in bytes and its number of records. Crossing one rejects the file."""

    max_file_bytes: int = 256 * MIB
    max_records: int = 2_000_000


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one run did. files_by_status: manifest rows written per status (re-scans are not counted);
    rows_read/rows_loaded/rows_quarantined: per file kind; quarantined_by_reason: quarantined records (and
    whole-file rows) per reason code; files_skipped: re-scanned files already in the manifest; seconds."""

    business_date: dt.date
    files_by_status: dict[str, int] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    files_skipped: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Tally:
    files: Counter[str] = field(default_factory=Counter)
    read: Counter[str] = field(default_factory=Counter)
    loaded: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    def add(self, kind: str, outcome: FileOutcome) -> None:
        self.files[outcome.status] += 1
        self.read[kind] += outcome.rows_read
        self.loaded[kind] += outcome.rows_loaded
        self.quarantined[kind] += outcome.rows_quarantined
        for record in outcome.quarantined:
            self.reasons[str(record.reason_code)] += 1


def _split_records(file: InboxFile, data: bytes) -> list[tuple[int, str | None]] | None:
    """A file's records for whole-file quarantine (conflicts), by its kind's own splitter."""
    if file.kind == TERMINAL_KIND:
        from ingestion.terminal_loader import split_terminal_records

        return split_terminal_records(data)
    if file.kind == BANK_KIND:
        from ingestion.bank_loader import split_bank_records

        return split_bank_records(data)
    if file.kind == UNKNOWN_KIND:
        return None
    return split_csv_records(data)


@dataclass(slots=True)
class _Run:
    con: duckdb.DuckDBPyConnection
    raw_dir: Path
    business_date: dt.date
    limits: Limits
    manifest: ManifestIndex
    tally: _Tally
    progress: Callable[[str], None] | None
    masters: InMemoryMasters | None = None

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def _load_new(self, file: InboxFile, data: bytes, sha: str) -> FileOutcome:
        if file.kind == UNKNOWN_KIND:
            return whole_file(
                REJECTED, Reason.FILE_UNKNOWN_KIND, f"{file.rel_path} matches no inbox file pattern", None
            )
        if file.kind == TERMINAL_KIND:
            from ingestion.terminal_loader import load_terminal_file

            return load_terminal_file(file, data, self.con, self.masters, sha, self.limits.max_records)
        if file.kind == BANK_KIND:
            from ingestion.bank_loader import load_bank_file

            return load_bank_file(file, data, self.con, sha, self.limits.max_records)
        context = CsvLoadContext(self.con, self.masters, sha, self.limits.max_records)
        outcome = load_csv(file, data, context)
        snapshot = master_snapshot_keys(file, outcome)
        if snapshot is not None:
            self.masters.add_snapshot(snapshot[0], file.business_date, snapshot[1])
        return outcome

    def _outcome(self, file: InboxFile, sha: str, decision: str) -> FileOutcome:
        if decision == DUPLICATE:
            return FileOutcome(DUPLICATE_STATUS, 0, 0, detail="same name and content as a file already seen")
        if file.size_bytes > self.limits.max_file_bytes:
            return whole_file(
                REJECTED,
                Reason.FILE_TOO_LARGE,
                f"{file.size_bytes} bytes is over the limit of {self.limits.max_file_bytes}",
                None,
            )
        data = file.path.read_bytes()
        if decision == CONFLICT:
            return whole_file(
                CONFLICT_STATUS,
                Reason.FILE_CONFLICTING_DUPLICATE,
                "same name as a loaded file, different content",
                _split_records(file, data),
            )
        return self._load_new(file, data, sha)

    def ingest_file(self, file: InboxFile) -> None:
        sha = sha256_of(file.path)
        decision = self.manifest.decide(file.source, file.name, file.rel_path, sha, file.mtime_ns)
        if decision == SKIP:
            self.tally.skipped += 1
            return
        outcome = self._outcome(file, sha, decision)
        facts = FileFacts(
            sha,
            file.rel_path,
            file.source,
            file.kind,
            file.business_date,
            file.size_bytes,
            file.mtime_ns,
            self.business_date,
        )
        write_outcome(self.con, self.raw_dir, facts, outcome, dt.datetime.now(dt.UTC).replace(tzinfo=None))
        self.manifest.add(file.source, file.rel_path, Seen(sha, file.rel_path, file.mtime_ns, outcome.status))
        self.tally.add(file.kind, outcome)
        self.say(
            f"{file.rel_path}: {outcome.status}"
            + (f" ({outcome.reason_code})" if outcome.reason_code else "")
            + f", {outcome.rows_loaded} loaded, {outcome.rows_quarantined} quarantined"
        )


def ingest(
    con: duckdb.DuckDBPyConnection,
    inbox: Path,
    raw_dir: Path,
    business_date: dt.date,
    limits: Limits = Limits(),
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Load every file of `inbox` named for `business_date` or earlier that is not loaded yet.

    Idempotent: running it again for the same date with the same inbox adds nothing. Files named for later
    dates are left for their run. Raises only on programmer errors or when the warehouse cannot be written.
    """
    started = time.perf_counter()
    ensure_raw_schema(con)
    run = _Run(
        con,
        Path(raw_dir),
        business_date,
        limits,
        ManifestIndex.load(con),
        _Tally(),
        progress,
        load_masters(con),
    )
    for file in files_due(scan_inbox(Path(inbox)), business_date):
        run.ingest_file(file)
    tally = run.tally
    return IngestSummary(
        business_date,
        dict(tally.files),
        dict(tally.read),
        dict(tally.loaded),
        dict(tally.quarantined),
        dict(tally.reasons),
        tally.skipped,
        round(time.perf_counter() - started, 3),
    )
