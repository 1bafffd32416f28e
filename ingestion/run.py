"""One ingest run for business date D: every due file of the inbox into the `raw` schema, in batches.

The caller holds the control flow here; loaders (csv_loader, terminal_loader, bank_loader) decide, `store`
writes. Files are decided one at a time, in load order, and written in batches (one load phase at most,
MAX_BATCH_FILES files): each batch is one transaction, so a crash leaves whole batches loaded or not at all,
and the next run carries on with what was not committed. One file never stops the day: any failure while
reading, parsing or checking a file (an exception of any class from any loader) becomes that file's
`rejected` manifest row (`file_unreadable`, `file_internal_error`), and a file whose parsing killed the
process is rejected `file_crashed_ingest` by the next run (ingestion.attempts). Each file is read once: the
SHA-256 recorded is that of exactly the bytes parsed. Loaders see the committed warehouse plus the
batch's earlier files through the run's lookups (terminal chains, statements); a CSV file whose duplicate
scope already has rows in the open batch commits the batch first. This module never deletes or moves inbox
files and never rewrites a loaded row, except when told an archive folder: then the run ends by moving the
files it has settled there (ingestion.archive).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import gc
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import duckdb

from contracts.reasons import Reason
from contracts.schemas import CSV_KINDS_BY_NAME
from contracts.validation import InMemoryMasters
from ingestion.archive import Known, archive_settled
from ingestion.attempts import Attempt, Attempts
from ingestion.bank_loader import LoadedStatements, load_bank_file, split_bank_records
from ingestion.card_signatures import CardSignatures
from ingestion.csv_loader import (
    CsvLoadContext,
    StreamedAhead,
    StreamedFileChanged,
    StreamedRows,
    duplicate_scope,
    encoding_for,
    finish_stream,
    load_csv,
    load_csv_stream,
    master_snapshot_keys,
    split_csv_records,
    stream_ahead,
    unchecked_path,
)
from ingestion.identity import UNREADABLE_SHA256, ManifestIndex, Seen, Verdict, read_once
from ingestion.inbox import BANK_KIND, TERMINAL_KIND, UNKNOWN_KIND, InboxFile, files_due, load_phase, scan
from ingestion.masters import CACHED_MASTER_TABLES, MastersInForce, load_masters
from ingestion.outcome import FileFacts, FileOutcome, FileStatus, whole_file
from ingestion.release import HeldFile, held_files, held_paths, masters_to_check, record_check, release
from ingestion.schema import ensure_raw_schema
from ingestion.store import Written, discard_staged, new_batch_id, recover_pending_parquet, staged_path, write_batch
from ingestion.terminal_checks import written_in
from ingestion.terminal_loader import (
    AheadChunk,
    CheckedAhead,
    ParsedTerminalFile,
    TerminalLookups,
    check_ahead,
    load_checked_file,
    load_terminal_file,
    parse_terminal_file,
    split_terminal_records,
    start_pool,
)
from ingestion.terminal_state import CertLookup, CertRow, TerminalChains, certificate_rows

MIB = 1 << 20
GIB = 1 << 30
WHOLE_FILE_MAX_BYTES = 1 * GIB  # a terminal log or bank statement file over this is rejected file_too_large
MAX_BATCH_FILES = 1000  # files per batch (one transaction)
MAX_BATCH_BYTES = 16 * MIB  # inbox bytes per batch: bounds what a batch holds in memory ...
MAX_BATCH_ROWS = 1_000_000  # ... and records decided but not yet written
# Batches of terminal files the pool checks ahead of their turn (up to 16 x 16 MiB of logs held, with what the
# workers found in them). Counted among the batches that hold terminal files: the day's ledger and balances
# snapshot come first in their load phase, and the main process loads them for many seconds (22 s on day 4 of the
# 3,500,000-resident world) while the pool, handed four batches ahead of any kind, had one batch of terminal
# files to check. Measured there (2026-12-07): 4 batches of any kind 93.4 s; 4 / 16 / 32 / 64 terminal batches
# 89.1 / 85.1 / 88.8 / 84.2 s, the ingest process peaking at 2.23 / 2.37 / 2.93 / 3.81 GB. Since the ledger and the
# balances are validated in the pool while the certificates load (`_Run.stream_ahead`), their turns leave this
# process free after 6-7 s each instead of 16 and 8: 16 batches then kept the pool busy for 16 s of them, and it
# waited 8 s for the next (2026-12-07, about 09:45 UTC: 87.1 s with 16, 80.8 s with 32, peak 2.59 GB).
LOOKAHEAD_BATCHES = 32
# Records and rows are millions of small objects, nearly all alive until their batch is written: Python's cyclic
# garbage collector, run every 700 new objects by default, looked through them again and again for cycles they
# do not have (a third of the time it took to split a CSV file into records). An ingest runs it every 100,000, and
# freezes what was alive before it (a chain's process holds dbt's and Great Expectations' modules) out of its way.
GC_YOUNG_THRESHOLD = 100_000
CHECKPOINT_THRESHOLD = "1GB"  # WAL an ingest lets grow before DuckDB checkpoints (47 MB on a 300,000-resident day)
LIMIT_MAX = 1 << 40  # the largest limit a configuration may set (1 TiB, a trillion records): fits every counter
_T = TypeVar("_T")
STREAM_WAIT_SAY = 30  # seconds between the lines that say a streamed file's turn waits on the worker reading it


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one file: its size in bytes and its number of records. Crossing one rejects the file. They
    guard against garbage, not against a big platform: the defaults take a national first day (every resident's
    certificate in one file, about 13 GB). stream_bytes: a CSV file larger than this is streamed in bounded
    memory (csv_loader.load_csv_stream) instead of read whole; terminal logs and bank statements, small by
    nature and checked as a whole (seals, chains, Zengin totals), are read whole up to WHOLE_FILE_MAX_BYTES.
    All come from configuration, so they are bounded themselves (1..LIMIT_MAX)."""

    max_file_bytes: int = 64 * GIB
    max_records: int = 100_000_000
    stream_bytes: int = 16 * MIB

    def read_whole_up_to(self, kind: str) -> int:
        """The bytes of a file of `kind` read whole; a CSV file over them (and within max_file_bytes) streams."""
        whole_only = kind in (TERMINAL_KIND, BANK_KIND)  # checked as a whole (seals, chains, Zengin totals)
        return min(self.max_file_bytes, WHOLE_FILE_MAX_BYTES if whole_only else self.stream_bytes)

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_records", "stream_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LIMIT_MAX:
                raise ValueError(f"{name} must be an integer from 1 to {LIMIT_MAX}, not {value!r}")


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one run did. files_by_status: manifest rows written per status (re-scans are not counted);
    rows_read/rows_loaded/rows_quarantined: per file kind; quarantined_by_reason: quarantined records (and
    whole-file rows) per reason code; rows_released: quarantined rows of earlier runs that a late master
    released (loaded now, counted in rows_loaded too), per kind; files_skipped: re-scanned files already in
    the manifest (and retried rejections whose outcome did not change); files_retried: retried rejections
    whose outcome changed (their new manifest row is counted in files_by_status); seconds; files_archived:
    settled files moved (or, as redeliveries of archived bytes, removed) from the inbox to the archive."""

    business_date: dt.date
    files_by_status: dict[str, int] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    files_skipped: int = 0
    seconds: float = 0.0
    files_retried: int = 0
    rows_released: dict[str, int] = field(default_factory=dict)
    files_archived: int = 0


@dataclass(slots=True)
class _Tally:
    files: Counter[str] = field(default_factory=Counter)
    read: Counter[str] = field(default_factory=Counter)
    loaded: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    retried: int = 0
    released: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, outcome: FileOutcome) -> None:
        self.files[outcome.status] += 1
        self.read[kind] += outcome.rows_read
        self.loaded[kind] += outcome.rows_loaded
        self.quarantined[kind] += outcome.rows_quarantined
        if outcome.rows_released:
            self.released[kind] += outcome.rows_released
        for record in outcome.quarantined:
            self.reasons[str(record.reason_code)] += 1


def _split_records(file: InboxFile, data: bytes) -> list[tuple[int, str | None]] | None:
    """A file's records for whole-file quarantine (conflicts), by its kind's own splitter."""
    if file.kind == TERMINAL_KIND:
        return split_terminal_records(data)
    if file.kind == BANK_KIND:
        return split_bank_records(data)
    if file.kind == UNKNOWN_KIND:
        return None
    return split_csv_records(data)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A file of the current batch before its turn: the file with the size and mtime of what was read, its
    bytes (None when over the size limit or streamed: hashed only, or unreadable), the SHA-256 of exactly those
    bytes (of every byte, when hashed only), for a new terminal file their parse (or, in a run with a pool,
    `ahead`: to be checked in the pool, and `checked`: its place there), for a streamed file the pool read and
    validated before its turn `read_ahead`, and the verdict already reached when reading or parsing failed.
    Everything decided about the file uses these bytes: it is read once (a streamed file is read twice, and its
    second read must hash the same; read ahead, both reads are the worker's)."""

    file: InboxFile
    sha256: str
    data: bytes | None = None
    parsed: ParsedTerminalFile | None = None
    failure: FileOutcome | None = None
    streamed: bool = False  # a CSV file over Limits.stream_bytes: hashed only, streamed at its turn
    ahead: bool = False
    checked: CheckedAhead | None = None
    read_ahead: _ReadAhead | None = None  # a streamed file the pool read and validated before its turn


@dataclass(frozen=True, slots=True)
class _ReadAhead:
    """A streamed file the pool read before its turn, as its turn finds it: the batch id its rows are staged
    under, the encoding it was read in, and what the worker made of its rows (csv_loader.stream_rows)."""

    batch_id: str
    encoding: str
    rows: StreamedRows | FileOutcome


@dataclass(frozen=True, slots=True)
class _StreamAhead:
    """A streamed file handed to the run's pool before its turn (`_Run.stream_ahead`): the batch id its rows
    are staged under, the encoding it is read in, and the worker's answer (csv_loader.stream_ahead)."""

    batch_id: str
    encoding: str
    future: concurrent.futures.Future[StreamedAhead | None]
    handed_ns: int

    def answer(self, file: InboxFile, progress: Callable[[str], None] | None) -> StreamedAhead | None:
        """The worker's answer, waited for (saying so every STREAM_WAIT_SAY seconds); None when it has none
        or failed in any way (the file is then read at its turn, as without a pool)."""
        while True:
            try:
                return self.future.result(timeout=STREAM_WAIT_SAY)
            except concurrent.futures.TimeoutError:
                if progress is not None:
                    progress(f"{file.rel_path}: still being read and validated in the worker pool "
                             f"({(time.time_ns() - self.handed_ns) // 10**9} s since it was handed over)")
            except Exception:  # a worker that died, a file that changed while read: read again at its turn
                return None


def _phase_files(planned: list[list[InboxFile]]) -> list[InboxFile]:
    """The files of the first batch's load phase, from the batches planned."""
    phase = load_phase(planned[0][0])
    found: list[InboxFile] = []
    for files in planned:
        if load_phase(files[0]) != phase:
            break
        found.extend(files)
    return found


def _terminal_logs(files: list[InboxFile]) -> list[tuple[str, str]]:
    """(path, terminal id) of the terminal logs among `files` small enough to be read whole: those whose MyKey
    IDs and seq windows a load phase reads ahead (terminal_checks.written_in)."""
    return [(str(file.path), file.groups["terminal"]) for file in files
            if file.kind == TERMINAL_KIND and file.size_bytes <= WHOLE_FILE_MAX_BYTES]


class _EarlyLookups:
    """The look-ups of the load phase that holds the terminal logs, read while the earlier phases (masters,
    the day's certificates) load: the MyKey IDs and seq windows written in its terminal logs, read by the
    run's pool (a part of the files each worker), then every certificate row of those IDs committed when that
    query ran, on a cursor of its own in a thread. On day 4 of the 1,000,000-resident world that read took
    2-3 s of the main process before the pool could be handed anything; at 3,500,000 residents, read by a
    thread of the main process, its 54,000 files took 5-10 s while the day's certificates loaded beside it.
    `result()` is None when anything failed (the phase then reads its look-ups itself)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, phase: int, files: list[InboxFile],
                 signatures: CardSignatures) -> None:
        self.phase = phase
        logs = _terminal_logs(files)
        step = -(-len(logs) // (2 * signatures.workers)) or 1
        parts = [logs[i : i + step] for i in range(0, len(logs), step)]
        read = [(part, signatures.submit(written_in, part)) for part in parts]
        reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="early-lookups")
        self._future = reader.submit(_read_early, con.cursor(), read)
        reader.shutdown(wait=False)  # the thread ends with its one read

    def result(self) -> tuple[set[str], list[tuple[str, int, int]], list[CertRow]] | None:
        try:
            return self._future.result()
        except Exception:  # only a cache
            return None


_Written = tuple[set[str], list[tuple[str, int, int]]]  # what terminal_checks.written_in finds


def _read_early(cursor: duckdb.DuckDBPyConnection,
                parts: list[tuple[list[tuple[str, str]], concurrent.futures.Future[_Written] | None]],
                ) -> tuple[set[str], list[tuple[str, int, int]], list[CertRow]]:
    try:
        wanted: set[str] = set()
        windows: list[tuple[str, int, int]] = []
        for part, future in parts:
            try:
                ids, found = future.result() if future is not None else written_in(part)
            except Exception:  # a pool that broke: read here
                ids, found = written_in(part)
            wanted |= ids
            windows.extend(found)
        return wanted, windows, certificate_rows(cursor, sorted(wanted)) if wanted else []
    finally:
        cursor.close()


def _internal_error(exc: BaseException, what: str) -> FileOutcome:
    # The class only: an exception's message may quote the file's content (a personal number, say).
    return whole_file(
        FileStatus.REJECTED,
        Reason.FILE_INTERNAL_ERROR,
        f"{type(exc).__name__} while {what} the file (a defect in seisan or a file no check foresaw)",
        None,
    )


@dataclass(slots=True)
class _Batch:
    """Outcomes decided but not yet written, the (table, scope) pairs their CSV rows occupy, their row count
    and the progress lines to say once they are committed."""

    items: list[Written] = field(default_factory=list)
    scopes: set[tuple[str, object]] = field(default_factory=set)
    rows: int = 0
    messages: list[str] = field(default_factory=list)
    crashed: list[tuple[str, str, str]] = field(default_factory=list)  # crashed markers this batch settles
    batch_id: str | None = None  # set by a streamed file, whose rows are already staged under it


@dataclass(slots=True)
class _Run:
    con: duckdb.DuckDBPyConnection
    raw_dir: Path
    business_date: dt.date
    limits: Limits
    manifest: ManifestIndex
    tally: _Tally
    progress: Callable[[str], None] | None
    masters: InMemoryMasters
    in_force: MastersInForce
    certs: CertLookup
    chains: TerminalChains
    statements: LoadedStatements
    attempts: Attempts
    signatures: CardSignatures
    batch: _Batch = field(default_factory=_Batch)
    known: list[Known] = field(default_factory=list)  # each decided file's content as read (for the archive)
    waiting: list[AheadChunk] = field(default_factory=list)  # the pool's chunks not answered yet
    cert_files: set[str] = field(default_factory=set)  # SHA-256 of the certificate files this run committed
    early: _EarlyLookups | None = None
    streams: dict[tuple[str, str], _StreamAhead] = field(default_factory=dict)  # handed to the pool, not taken yet

    def flush(self) -> None:
        """Commit the open batch (rows, quarantine, gaps and manifest rows together), then say what it did."""
        batch, self.batch = self.batch, _Batch()
        write_batch(self.con, self.raw_dir, batch.items, batch.batch_id)
        self.attempts.settled(batch.crashed)
        written = {name for item in batch.items for name in (*item.outcome.tables, *item.outcome.spilled)}
        if written & CACHED_MASTER_TABLES:
            self.in_force.forget()
        if "platform_mykey_certs" in written:
            self.certs.forget()
            self.cert_files.update(
                item.facts.sha256 for item in batch.items
                if "platform_mykey_certs" in item.outcome.tables or "platform_mykey_certs" in item.outcome.spilled
            )
        if self.progress is not None:
            for message in batch.messages:
                self.progress(message)

    def _guarded(self, item: _Prepared, work: Callable[[], _T]) -> _T | FileOutcome:
        """`work()` (parsing or checking one file) under the file's attempt marker; any exception it raises
        becomes the file's file_internal_error rejection. Warehouse writes never run inside it."""
        file = item.file
        try:
            with self.attempts.parsing(Attempt(file.source, file.name, file.rel_path, item.sha256)):
                return work()
        except Exception as exc:  # whatever one file does, the run goes on (module docstring)
            return _internal_error(exc, "reading")

    def _crashed(self, item: _Prepared) -> FileOutcome | None:
        """The file_crashed_ingest rejection of a content whose parsing killed an earlier run, else None."""
        file = item.file
        attempt = self.attempts.crashed_before(file.source, file.name, item.sha256)
        if attempt is None:
            return None
        self.batch.crashed.append(attempt.key)
        return whole_file(
            FileStatus.REJECTED,
            Reason.FILE_CRASHED_INGEST,
            "an earlier ingest process died while parsing this content (killed, out of memory); "
            "it is not parsed again: deliver a corrected file",
            None,
        )

    def prepare(self, file: InboxFile) -> _Prepared:
        """Read and hash the file once; parse it ahead of its turn if it is a new terminal file (for
        prefetching). A file that cannot be read gets its file_unreadable verdict here."""
        ahead = self.streams.pop((file.source, file.rel_path), None)
        found = None if ahead is None else ahead.answer(file, self.progress)
        if ahead is not None and found is None:
            discard_staged(self.raw_dir, ahead.batch_id)
        if ahead is not None and found is not None:
            file = replace(file, size_bytes=found.size_bytes, mtime_ns=found.mtime_ns)
            return _Prepared(file, found.sha256, streamed=True,
                             read_ahead=_ReadAhead(ahead.batch_id, ahead.encoding, found.rows))
        whole_only = file.kind in (TERMINAL_KIND, BANK_KIND)
        limit = self.limits.max_file_bytes
        try:
            read = read_once(file.path, self.limits.read_whole_up_to(file.kind))
        except OSError as exc:
            detail = f"{type(exc).__name__} ({exc.errno}) reading the file; a later run tries again"
            failure = whole_file(FileStatus.REJECTED, Reason.FILE_UNREADABLE, detail, None)
            return _Prepared(file, UNREADABLE_SHA256, failure=failure)
        file, sha, data = replace(file, size_bytes=read.size_bytes, mtime_ns=read.mtime_ns), read.sha256, read.data
        if data is None and read.size_bytes <= limit:
            if not whole_only:
                return _Prepared(file, sha, streamed=True)
            detail = f"{read.size_bytes} bytes: a {file.kind} file is read whole, up to {WHOLE_FILE_MAX_BYTES} bytes"
            return _Prepared(file, sha, failure=whole_file(FileStatus.REJECTED, Reason.FILE_TOO_LARGE, detail, None))
        item = _Prepared(file, sha, data)
        if file.kind != TERMINAL_KIND or data is None:
            return item
        verdict = self.manifest.decide(file.source, file.name, file.rel_path, sha, file.mtime_ns)
        if verdict not in (Verdict.NEW, Verdict.RETRY) or self.attempts.crashed_before(file.source, file.name, sha):
            return item
        if self.signatures.enabled:  # parsed and checked in the run's pool (check_ahead), or at its turn
            return dataclasses.replace(item, ahead=True)
        parsed = self._guarded(item, lambda: parse_terminal_file(data, self.limits.max_records))
        if isinstance(parsed, FileOutcome):
            return dataclasses.replace(item, failure=parsed)
        return dataclasses.replace(item, parsed=parsed)

    def check_ahead(self, prepared: list[_Prepared]) -> list[_Prepared]:
        """The batch's files, its terminal files to be checked `ahead` handed to the run's pool
        (terminal_loader.check_ahead), which works on them while this process decides the files before them."""
        todo = [index for index, item in enumerate(prepared) if item.ahead and item.data is not None]
        if not todo:
            return prepared
        files = [(prepared[i].file, prepared[i].data, prepared[i].sha256) for i in todo]
        try:
            handles = check_ahead(files, self.certs, self.chains, self.signatures, self.limits.max_records,  # type: ignore[arg-type]
                                  self.in_force, self.waiting)
        except Exception:  # only a speed-up: every file is then decided in process, at its turn
            return prepared
        done = list(prepared)
        for index, handle in zip(todo, handles, strict=True):
            done[index] = dataclasses.replace(prepared[index], checked=handle)
        return done

    def prefetch(self, prepared: list[_Prepared]) -> None:
        """Read the certificates and loaded seq windows the batch's terminal files will ask for."""
        parsed = [(p.file, p.parsed) for p in prepared if p.parsed is not None and p.parsed.rejected is None]
        if not parsed:
            return
        try:
            certs = self.certs.certs_for(set().union(*(q.mykey_ids() for _, q in parsed)))  # one query
            windows = (q.seq_window(f.groups["terminal"]) for f, q in parsed)
            self.chains.prefetch([w for w in windows if w is not None])
            self.signatures.prefetch(pair for _, q in parsed for pair in q.card_pairs(certs))
        except Exception:  # only a cache: each file then asks alone, and a file that breaks it is rejected alone
            return

    def _load_new(self, item: _Prepared, data: bytes) -> FileOutcome:
        """A new (or retried) file's outcome by its kind's loader. Runs inside `_guarded`: no writes."""
        file = item.file
        if file.kind == TERMINAL_KIND:  # not cleared by the pool (`_cleared`): decided here
            lookups = TerminalLookups(self.in_force, self.masters, self.certs, self.chains, self.signatures)
            parsed = item.parsed or parse_terminal_file(data, self.limits.max_records)
            outcome = load_terminal_file(file, parsed, lookups, item.sha256)
            self.chains.remember(outcome)
            return outcome
        if file.kind == BANK_KIND:
            outcome = load_bank_file(file, data, self.statements, item.sha256, self.limits.max_records)
            self.statements.remember(outcome)
            return outcome
        context = CsvLoadContext(self.con, self.masters, self.in_force, item.sha256, self.limits.max_records)
        outcome = load_csv(file, data, context)
        if outcome.rows_loaded:
            self.batch.scopes.add(duplicate_scope(file))
        snapshot = master_snapshot_keys(file, outcome)
        if snapshot is not None:
            self.masters.add_snapshot(snapshot[0], file.business_date, snapshot[1])
        return outcome

    def _outcome(self, item: _Prepared, decision: Verdict) -> FileOutcome:
        file = item.file
        if decision is Verdict.DUPLICATE:
            return FileOutcome(FileStatus.DUPLICATE, 0, 0, detail="same name and content as a file already seen")
        if item.failure is not None:
            return item.failure
        if item.data is None and not item.streamed:
            return whole_file(
                FileStatus.REJECTED,
                Reason.FILE_TOO_LARGE,
                f"{max(file.size_bytes, self.limits.max_file_bytes + 1)} bytes or more is over the limit of "
                f"{self.limits.max_file_bytes}",
                None,
            )
        if file.kind == UNKNOWN_KIND:
            return whole_file(FileStatus.REJECTED, *file.rejection, None)
        crashed = self._crashed(item)
        if crashed is not None:
            return crashed
        data = item.data
        if decision is Verdict.CONFLICT:
            if data is None:  # streamed: kept out whole as one line-0 row (csv_loader, streaming)
                detail = "same name as a loaded file, different content"
                return whole_file(FileStatus.CONFLICT, Reason.FILE_CONFLICTING_DUPLICATE, detail, None)
            records = self._guarded(item, lambda: _split_records(file, data))
            if isinstance(records, FileOutcome):
                return records
            return whole_file(
                FileStatus.CONFLICT,
                Reason.FILE_CONFLICTING_DUPLICATE,
                "same name as a loaded file, different content",
                records,
            )
        if data is None:
            self.flush()  # a streamed file is a batch of its own: its rows are staged under the batch's id
            return self._guarded(item, lambda: self._load_streamed(item))
        if file.kind not in (TERMINAL_KIND, BANK_KIND) and duplicate_scope(file) in self.batch.scopes:
            self.flush()  # the duplicate-key check reads committed rows of this scope
        cleared = self._cleared(item)
        if cleared is not None:
            return cleared
        return self._guarded(item, lambda: self._load_new(item, data))

    def _cleared(self, item: _Prepared) -> FileOutcome | None:
        """The outcome of a terminal file the pool checked and cleared (every line of it loads, as the worker
        found them), else None (decided by `_load_new`). Outside the attempt marker: this process parses none of
        the file's bytes here (the worker did, and a worker that dies breaks the pool, whose files are then
        decided in process, under the marker); the marker's two writes and its record cost 3 s of the main
        process for the 54,000 logs of day 4 at 3,500,000 residents. Whatever it raises is still the file's
        file_internal_error, as under `_guarded`."""
        if item.checked is None:
            return None
        try:
            pooled = item.checked.pooled()
            if pooled is None:
                return None
            lookups = TerminalLookups(self.in_force, self.masters, self.certs, self.chains, self.signatures)
            outcome = load_checked_file(item.file, pooled, lookups)
            if outcome is not None:
                self.chains.remember_whole(item.file.groups["terminal"], pooled.checked.links, outcome.gap_changes)
            return outcome
        except Exception as exc:  # whatever one file does, the run goes on (module docstring)
            return _internal_error(exc, "reading")

    def _load_streamed(self, item: _Prepared) -> FileOutcome:
        """A CSV file over Limits.stream_bytes, streamed into the open (empty) batch's staging folder. A file
        whose bytes changed since they were hashed is file_unreadable (retried by a later run)."""
        file = item.file
        ahead = item.read_ahead
        self.batch.batch_id = new_batch_id() if ahead is None else ahead.batch_id
        table = CSV_KINDS_BY_NAME[file.kind].table
        target = staged_path(self.raw_dir, self.batch.batch_id, file.source, file.business_date, table)
        try:
            if ahead is not None:
                outcome = self._finish_ahead(item, ahead, target)
            else:
                context = CsvLoadContext(
                    self.con, self.masters, self.in_force, item.sha256, self.limits.max_records, self.progress
                )
                outcome = load_csv_stream(file, file.path, context, target)
        except (StreamedFileChanged, OSError) as exc:
            detail = f"{type(exc).__name__}: the file changed or vanished while read; a later run tries again"
            return whole_file(FileStatus.REJECTED, Reason.FILE_UNREADABLE, detail, None)
        snapshot = master_snapshot_keys(file, outcome)
        if snapshot is not None:
            self.masters.add_snapshot(snapshot[0], file.business_date, snapshot[1])
        return outcome

    def _finish_ahead(self, item: _Prepared, ahead: _ReadAhead, target: Path) -> FileOutcome:
        """A file the pool read ahead (`stream_ahead`): its rejection as the worker found it, or its rows'
        duplicate keys looked for now, against the rows committed before its turn."""
        if isinstance(ahead.rows, FileOutcome):
            return ahead.rows
        try:
            return finish_stream(self.con, item.file, item.file.path, ahead.encoding, item.sha256, ahead.rows, target)
        finally:
            unchecked_path(target).unlink(missing_ok=True)

    def stream_ahead(self, planned: list[list[InboxFile]]) -> None:
        """Hand the run's pool every file of `planned` that streams (a CSV file over Limits.stream_bytes), to be
        hashed, split and validated into its batch's pending folder before its turn (csv_loader.stream_ahead);
        its turn then looks for duplicate keys and commits (`_finish_ahead`). Called once the masters phase is
        committed (validation reads the masters, `self.masters`), with the batches after the current one.
        Not handed: a file named by a crashed marker (its turn rejects it unread) and a partner file whose
        encoding this run does not know (its turn says so). On day 4 of the 3,500,000-resident world the
        ledger and the balances snapshot took 24 s of the ingest process, during which the pool had little to
        check; handed over when the day's certificates start to load, their rows are validated while those load
        and the phase's look-ups are read, and their turns (the first of the last phase) find them done."""
        crashed = {(source, name) for source, name, _ in self.attempts.crashed}
        for files in planned:
            for file in files:
                key = (file.source, file.rel_path)
                if key in self.streams or not _streams(file, self.limits) or (file.source, file.name) in crashed:
                    continue
                encoding = encoding_for(file, self.in_force)
                if encoding is None:
                    continue
                batch = new_batch_id()
                table = CSV_KINDS_BY_NAME[file.kind].table
                target = staged_path(self.raw_dir, batch, file.source, file.business_date, table)
                future = self.signatures.submit(stream_ahead, file, encoding, self.masters,
                                                self.limits.read_whole_up_to(file.kind),
                                                self.limits.max_file_bytes, self.limits.max_records, target)
                if future is None:  # no pool (any more): read at their turns
                    discard_staged(self.raw_dir, batch)
                    return
                self.streams[key] = _StreamAhead(batch, encoding, future, time.time_ns())
                if self.progress is not None:
                    self.progress(f"{file.rel_path}: handed to the worker pool, read and validated before its turn")

    def drop_streams(self) -> None:
        """Remove the pending folders of the files handed to the pool that never took their turn (a run that
        stopped early); the pool is closed first, so no worker writes there any more."""
        for ahead in self.streams.values():
            discard_staged(self.raw_dir, ahead.batch_id)
        self.streams.clear()

    def _retried(self, item: _Prepared, outcome: FileOutcome) -> FileOutcome | None:
        """A retried rejection's outcome to record: the new outcome when its status or reason changed; a
        `duplicate` row when it did not but the (path, mtime) was never seen (a redelivery); None otherwise
        (nothing is written, so re-running a date with nothing new changes no table)."""
        file = item.file
        latest = self.manifest.latest_decision(file.source, file.name, item.sha256)
        if latest is None or (outcome.status, outcome.reason_code) != (latest.status, latest.reason_code):
            self.tally.retried += 1
            return outcome
        history = self.manifest.by_name.get(file.identity, [])
        if any(s.sha256 == item.sha256 and s.path == file.rel_path and s.mtime_ns == file.mtime_ns for s in history):
            return None
        return self._outcome(item, Verdict.DUPLICATE)

    def ingest_file(self, item: _Prepared) -> None:
        try:
            self._ingest_file(item)
        finally:
            if item.read_ahead is not None:  # committed and published by now, or not taken: nothing to keep
                discard_staged(self.raw_dir, item.read_ahead.batch_id)

    def _ingest_file(self, item: _Prepared) -> None:
        file, sha = item.file, item.sha256
        self.known.append(Known(file, sha))
        decision = self.manifest.decide(file.source, file.name, file.rel_path, sha, file.mtime_ns)
        if decision is Verdict.SKIP:
            self.tally.skipped += 1
            return
        outcome = self._outcome(item, decision)
        if decision is Verdict.RETRY:
            outcome = self._retried(item, outcome)
            if outcome is None:
                self.tally.skipped += 1
                return
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
        recorded_ns = time.time_ns()
        ingested_at = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=recorded_ns // 1000)
        self.batch.items.append(Written(facts, outcome, ingested_at))
        self.batch.rows += outcome.rows_read + 1
        self.manifest.add(
            file.source,
            file.rel_path,
            Seen(sha, file.rel_path, file.mtime_ns, outcome.status, outcome.reason_code, file.size_bytes, recorded_ns),
        )
        self.tally.add(file.kind, outcome)
        self.batch.messages.append(
            f"{file.rel_path}: {outcome.status}"
            + (f" ({outcome.reason_code})" if outcome.reason_code else "")
            + f", {outcome.rows_loaded} loaded, {outcome.rows_quarantined} quarantined"
        )
        if self.batch.rows >= MAX_BATCH_ROWS or self.batch.batch_id is not None:
            self.flush()

    def _add_release(self, file: InboxFile, held: HeldFile) -> None:
        """Decide the release of `held`'s rows (file read again; same bytes or nothing) and queue it."""
        try:
            read = read_once(file.path, self.limits.read_whole_up_to(file.kind))
        except OSError:
            return  # unreadable now: the rows stay quarantined, a later run tries again
        data, sha = read.data, read.sha256
        if data is None or sha != held.sha256:
            return  # other bytes under that path now: lineage is of the quarantined bytes, so they stay
        if duplicate_scope(file) in self.batch.scopes:
            self.flush()  # the duplicate-key check reads committed rows of this scope
        context = CsvLoadContext(self.con, self.masters, self.in_force, sha, self.limits.max_records)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        try:
            written = release(file, data, held, context, self.business_date, now)
        except Exception:  # a release that cannot be decided leaves the rows quarantined; the day goes on
            return
        if written is None:
            return
        self.batch.scopes.add(duplicate_scope(file))
        self.batch.items.append(written)
        self.batch.rows += written.outcome.rows_loaded + 1
        self.tally.add(file.kind, written.outcome)
        self.batch.messages.append(f"{file.rel_path}: {written.outcome.rows_released} quarantined rows released")

    def release_held(self, files: list[InboxFile]) -> None:
        """Evaluate again the partner rows held for an unknown reference (ingestion.release), then commit."""
        masters_through = masters_to_check(self.con)
        if masters_through is None:
            return  # no master snapshot since the last pass: nothing held can pass now
        by_path = {f.rel_path: f for f in files if f.source == "partner" and f.kind != UNKNOWN_KIND}
        for held in held_files(self.con, masters_through):
            file = by_path.get(held.path)
            if file is not None:  # a file gone from the inbox keeps its rows quarantined
                self._add_release(file, held)
            if self.batch.rows >= MAX_BATCH_ROWS:
                self.flush()
        self.flush()
        record_check(self.con, masters_through, self.business_date)

    def ingest_batches(self, planned: list[list[InboxFile]]) -> None:
        """Ingest the batches in order. In a run with a pool, the terminal files of the next batches of the same
        load phase (`lookahead`) are read and handed to it before their turn, so the workers check them while
        this process loads the batches before (the day's ledger and balances, say), not only while it decides
        the files of their own batch. A later phase reads what earlier ones commit (certificates), so
        nothing is handed over across a phase."""
        ready: dict[int, list[_Prepared]] = {}
        terminal = next((i for i, files in enumerate(planned) if any(f.kind == TERMINAL_KIND for f in files)), None)
        phase = load_phase(planned[terminal][0]) if terminal is not None else None
        if self.signatures.pooled() and phase is not None and phase != load_phase(planned[0][0]):
            first = next(i for i, files in enumerate(planned) if load_phase(files[0]) == phase)
            with contextlib.suppress(Exception):  # only a head start
                self.early = _EarlyLookups(self.con, phase, _phase_files(planned[first:]), self.signatures)
        for index, files in enumerate(planned):
            if self.signatures.pooled() and (index == 0 or load_phase(planned[index - 1][0]) != load_phase(files[0])):
                if load_phase(files[0]) > 0:  # the masters are committed: the later streamed files can be read
                    self.stream_ahead(planned[index + 1 :])
                self.prefetch_phase(planned[index:])
            if index not in ready:
                ready[index] = self.check_ahead([self.prepare(file) for file in files])
            handed = False
            if self.signatures.pooled():
                for later in lookahead(planned, index):
                    if later not in ready:
                        ready[later] = self.check_ahead([self.prepare(file) for file in planned[later]])
                        handed = True
            if handed and index > 0 and load_phase(planned[index - 1][0]) != load_phase(files[0]):
                # The pool has work for seconds: checkpoint now what the earlier phases wrote (the day's
                # certificates, 20 MB of DER at 300,000 residents, took most of the run's one checkpoint).
                self.con.execute("CHECKPOINT")
            self.ingest_batch(ready.pop(index))
        if self.early is not None:  # its phase never read it (the pool stopped): no read left running at the end
            self.early.result()
            self.early = None

    def prefetch_phase(self, planned: list[list[InboxFile]]) -> None:
        """Before a load phase's first batch, in a run with a pool: the committed certificates of every MyKey ID
        written in the phase's terminal files, and the loaded seqs each file's placement looks at, in one query
        each. The batches' look-ups (check_ahead, the answers of the pool's chunks) then find them cached.
        - A certificate query reads the DER of every row of raw.platform_mykey_certs, whatever it matches (0.2-0.6
          s at 1,000,000 residents, more as the registrations grow): one a batch took 9.5 s of the main process
          on a day of 16 batches. When `_EarlyLookups` read them while the earlier phases loaded, only the rows
          of the certificate files this run committed since are read here (filtered by their hashes).
        - A seq-window query scans the terminals' whole history: one per answered group of chunks (about a
          hundred on day 4 at 1,000,000 residents) took 2.2 s of the run; one for the phase takes 0.04 s.
        The files are read for their IDs and first and last lines alone (from the page cache when their turn
        comes); a file that cannot be read, or is too large to be read whole, is left to its batch."""
        early = self.early if self.early is not None and self.early.phase == load_phase(planned[0][0]) else None
        if early is not None:
            self.early = None
        found = early.result() if early is not None else None
        with contextlib.suppress(Exception):  # only caches: each batch then asks for its own
            if found is None:
                wanted, windows = written_in(_terminal_logs(_phase_files(planned)))
                if wanted:
                    self.certs.prefetch(wanted)
            else:
                wanted, windows, rows = found
                ours = sorted(self.cert_files)
                if ours:  # what this run committed after the early read: read now, in table order after the rest
                    rows = [row for row in rows if row[6] not in self.cert_files]
                    rows += certificate_rows(self.con, sorted(wanted), ours)
                self.certs.take(wanted, rows)
            if windows:
                self.chains.prefetch(windows)

    def ingest_batch(self, prepared: list[_Prepared]) -> None:
        """Decide every file of one batch (read and prepared) in order, then commit what is left open."""
        self.prefetch(prepared)
        for item in prepared:
            self.ingest_file(item)
        self.flush()


def lookahead(planned: list[list[InboxFile]], index: int, limit: int | None = None) -> list[int]:
    """The batches after `planned[index]` whose terminal files a run with a pool hands it now: the next `limit`
    (LOOKAHEAD_BATCHES) batches of the same load phase that hold terminal files. Batches without any are passed
    over, not counted: the pool has nothing to check in them, and they may be the longest of the phase."""
    limit = LOOKAHEAD_BATCHES if limit is None else limit
    phase = load_phase(planned[index][0])
    found: list[int] = []
    for later in range(index + 1, len(planned)):
        if len(found) >= limit or load_phase(planned[later][0]) != phase:
            break
        if any(file.kind == TERMINAL_KIND for file in planned[later]):
            found.append(later)
    return found


def _rescan(manifest: ManifestIndex, file: InboxFile) -> Known | None:
    """The content of a re-scan told from the file's path, size and mtime alone (ingestion.identity,
    `ManifestIndex.unchanged`): skipped without being read, as a re-scan read and hashed would be. None: read it."""
    sha = manifest.unchanged(file.source, file.name, file.rel_path, file.size_bytes, file.mtime_ns)
    if sha is None or manifest.decide(file.source, file.name, file.rel_path, sha, file.mtime_ns) is not Verdict.SKIP:
        return None
    return Known(file, sha)


def _streams(file: InboxFile, limits: Limits) -> bool:
    """Whether `file`, as scanned, is a CSV file its turn streams (over Limits.stream_bytes, within the limit)."""
    streamed = limits.read_whole_up_to(file.kind) < file.size_bytes <= limits.max_file_bytes
    return file.kind in CSV_KINDS_BY_NAME and streamed


def batches(files: list[InboxFile], alone: Callable[[InboxFile], bool] = lambda _: False) -> list[list[InboxFile]]:
    """The due files cut into batches: never across a load phase (masters, certificates, the rest, as later
    phases read what earlier ones committed), at most MAX_BATCH_FILES files and MAX_BATCH_BYTES bytes; a file
    `alone` says of in a batch of its own (a file that streams commits alone anyway, and one handed to the pool
    ahead must not be waited for while the terminal logs planned with it are read ahead)."""
    result: list[list[InboxFile]] = []
    current: list[InboxFile] = []
    size = 0
    for file in files:
        if current and (
            load_phase(file) != load_phase(current[-1])
            or len(current) >= MAX_BATCH_FILES
            or size + file.size_bytes > MAX_BATCH_BYTES
            or alone(file)
            or alone(current[-1])
        ):
            result.append(current)
            current, size = [], 0
        current.append(file)
        size += file.size_bytes
    if current:
        result.append(current)
    return result


def ingest(
    con: duckdb.DuckDBPyConnection,
    inbox: Path,
    raw_dir: Path,
    business_date: dt.date,
    limits: Limits = Limits(),
    progress: Callable[[str], None] | None = None,
    settle_seconds: float = 0.0,
    archive: Path | None = None,
) -> IngestSummary:
    """Load every file of `inbox` named for `business_date` or earlier that is not loaded yet.

    Idempotent: running it again for the same date with the same inbox adds nothing. Files named for later
    dates are left for their run. Files rejected for a retryable reason (ingestion.identity) are evaluated
    again; a new manifest row is written only when the outcome changed. Files modified less than
    `settle_seconds` ago are left for the next run (ingestion.inbox, the delivery rule). With `archive`, the
    files settled by the end of the run are moved there (ingestion.archive). Raises only on programmer errors or
    when the warehouse cannot be written.
    """
    started = time.perf_counter()
    # DuckDB checkpoints whenever a commit leaves more than 16 MB of WAL: three to four times a day at 300,000
    # residents, each rewriting the tables' metadata. An ingest checkpoints itself instead: once the pool has
    # work after a phase change (`ingest_batches`), and at its end.
    con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    young, *older = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)
    gc.freeze()
    try:
        return _ingest(con, inbox, raw_dir, business_date, limits, progress, settle_seconds, archive, started)
    finally:
        gc.unfreeze()
        gc.set_threshold(young, *older)
        with contextlib.suppress(duckdb.Error):  # a warehouse that failed says why in the error on its way out
            con.execute("RESET checkpoint_threshold")


@contextlib.contextmanager
def _threads_beside_pool(con: duckdb.DuckDBPyConnection, signatures: CardSignatures) -> Iterator[None]:
    """While the run's pool works, DuckDB gets the cores its workers leave (at least one), then its own setting
    again. Its threads wait on each other for a core the workers hold. Day 4 of the 300,000-resident world, two
    cores and two workers: 10.7-11.2 s with two DuckDB threads, 9.2-9.7 s with one (two pairs of runs); at a
    quieter hour 8.4-9.5 s and 8.6-9.4 s (four pairs). The main process used less CPU in five pairs of six."""
    if not signatures.pooled():
        yield
        return
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])  # type: ignore[index]  # always set
    con.execute(f"SET threads = {max(1, (os.cpu_count() or 1) - signatures.workers)}")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # a warehouse that failed says why in the error on its way out
            con.execute(f"SET threads = {threads}")


def _due_files(inbox: Path, business_date: dt.date, settle_seconds: float,
               progress: Callable[[str], None] | None) -> list[InboxFile]:
    """The inbox's files due on `business_date` (`files_due`), once the run has said which it left unsettled.
    The scan's other files, named for later dates (delivered early), are not held through the run: on day 1 of
    the 1,000,000-resident bench world, whose four days are delivered at once, they were 137,000 of the scan's
    183,000 files, and the run's peak fell from 2.07-2.08 to 2.02 GiB without them (docs/scaling.md)."""
    found = scan(inbox, settle_seconds)
    for path in found.unsettled:
        if progress is not None:
            progress(f"{path}: changed within the last {settle_seconds:g} s, left for the next run")
    return files_due(found.files, business_date)


def _ingest(
    con: duckdb.DuckDBPyConnection,
    inbox: Path,
    raw_dir: Path,
    business_date: dt.date,
    limits: Limits,
    progress: Callable[[str], None] | None,
    settle_seconds: float,
    archive: Path | None,
    started: float,
) -> IngestSummary:
    ensure_raw_schema(con)
    recover_pending_parquet(con, Path(raw_dir))
    due = _due_files(Path(inbox), business_date, settle_seconds, progress)
    manifest = ManifestIndex.load(con, [file.identity for file in due])
    tally = _Tally()
    rescanned: list[Known] = []
    todo: list[InboxFile] = []
    for file in due:
        known = _rescan(manifest, file)
        if known is None:
            todo.append(file)
        else:
            rescanned.append(known)
    tally.skipped += len(rescanned)
    run = _Run(
        con,
        Path(raw_dir),
        business_date,
        limits,
        manifest,
        tally,
        progress,
        load_masters(con),
        MastersInForce(con),
        CertLookup(con),
        TerminalChains(con),
        LoadedStatements(con),
        Attempts.open(Path(raw_dir)),
        CardSignatures.for_run(sum(f.size_bytes for f in todo if f.kind == TERMINAL_KIND)),
    )
    try:
        try:
            start_pool(run.signatures)
            with _threads_beside_pool(con, run.signatures):
                run.ingest_batches(batches(todo, lambda file: _streams(file, limits)))
        finally:
            run.signatures.close()
            run.drop_streams()
        run.release_held(due)
    finally:
        run.attempts.close()
    archived = 0
    if archive is not None:
        # The settled files move to the archive while DuckDB checkpoints: the one is file system calls, the other
        # lets go of the GIL (0.6 s and 1.2 s at the end of day 4 of the 1,000,000-resident world).
        keep = held_paths(con)
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="archive") as mover:
            moving = mover.submit(archive_settled, Path(inbox), Path(archive), [*rescanned, *run.known], manifest,
                                  keep, progress)
            con.execute("CHECKPOINT")
            done = moving.result()
            archived = done.moved + done.removed
    else:
        con.execute("CHECKPOINT")
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
        tally.retried,
        dict(tally.released),
        archived,
    )
