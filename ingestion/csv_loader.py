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

import codecs
import concurrent.futures
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.csvio import CsvRecord, CsvScan, PlainLines, read_csv
from contracts.reasons import Reason
from contracts.schemas import CSV_KINDS_BY_NAME, FileKind
from contracts.validation import InMemoryMasters, RowContext, header_problem, valid_id, validate_record
from contracts.validation_columnar import ROW, clean_rows, no_rows
from ingestion.identity import read_once
from ingestion.inbox import InboxFile
from ingestion.masters import REFERENCED_MASTERS, MastersInForce
from ingestion.outcome import FileOutcome, FileStatus, QuarantinedRecord, whole_file
from ingestion.schema import CSV_TABLES, sql_literal


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
    progress: Callable[[str], None] | None = None  # a streamed file says how far it got, every STREAM_PROGRESS_RECORDS


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


def _loaded_key_condition(kind: FileKind, scope_value: object) -> tuple[str, list[object]]:
    """The join condition (candidate rows `c`, raw table `r`) under which a row's key is already loaded."""
    condition = " AND ".join(f"c.{k} = r.{k}" for k in kind.keys)
    scope = _key_scope(kind)
    params: list[object] = []
    if scope:
        condition += f" AND r.{scope} = ?"
        params.append(scope_value)
    return condition, params


def _loaded_duplicates(
    con: duckdb.DuckDBPyConnection, kind: FileKind, good: pl.DataFrame, scope_value: object
) -> set[int]:
    """Lines of the `good` rows whose key is already in the raw table (within the kind's scope)."""
    if good.height == 0:
        return set()
    keys = good.select([*kind.keys, "line_number"]).to_arrow()
    condition, params = _loaded_key_condition(kind, scope_value)
    con.register("_ingest_keys", keys)
    try:
        found = con.execute(
            f"SELECT DISTINCT c.line_number FROM _ingest_keys c JOIN raw.{kind.table} r ON {condition}", params
        ).fetchall()
    finally:
        con.unregister("_ingest_keys")
    return {line for (line,) in found}


def _master_id(kind: FileKind, header: tuple[str, ...], fields: list[str]) -> str | None:
    """The id of a quarantined row of a referenced master, when the row splits into the header's fields and
    its id has a valid shape (docs/formats.md: such an id still counts as known in its snapshot)."""
    master = kind.name.removeprefix("master_")
    if master not in REFERENCED_MASTERS or len(fields) != len(header):
        return None
    return valid_id(kind, dict(zip(header, fields, strict=True)), REFERENCED_MASTERS[master])


# Below this many records a chunk is decided row by row: polars' fixed cost per chunk (about 13 ms for a partner
# conversion file, 16 ms for a ten-row ledger chunk) is more than `validate_record` takes for it. The two cross at
# about 1,000 rows since the columnar checks split plain lines themselves (a 2,000-row conversion file: 30 ms row
# by row, 16 ms columnar; 1,000 rows: 16 and 15 ms).
COLUMNAR_MIN_ROWS = 1_000


def _validate(
    kind: FileKind,
    header: tuple[str, ...],
    records: list[CsvRecord] | PlainLines,
    context: RowContext,
    in_file_duplicates: bool = True,
) -> tuple[pl.DataFrame, list[QuarantinedRecord]]:
    """The rows that pass contracts.validation, typed (the kind's columns and `line_number`, in line order),
    and the records quarantined. Rows are decided a chunk at a time by contracts.validation_columnar (from
    COLUMNAR_MIN_ROWS records); the rows it leaves undecided, and every row of a smaller chunk, go through
    `validate_record` one by one, which says why a row is refused. With
    `in_file_duplicates`, a row whose key repeats an earlier good row of `records` is quarantined too (a
    streamed file leaves that to `_stream_duplicates`, over the whole file)."""
    plain = isinstance(records, PlainLines)
    if len(records) >= COLUMNAR_MIN_ROWS:
        rows = records if plain else [record.fields for record in records]
        clean, undecided = clean_rows(kind, header, rows, context)
    else:
        clean, undecided = no_rows(kind), list(range(len(records)))
    numbers = records.line_numbers if plain else [record.line_number for record in records]
    lines = pl.Series("line_number", numbers, dtype=pl.Int64)
    good = clean.with_columns(line_number=lines.gather(clean[ROW])).drop(ROW)
    bad: list[QuarantinedRecord] = []
    passed: list[dict[str, Any]] = []
    for index in undecided:
        record = records[index]
        typed, problems = validate_record(kind, header, record.fields, context)
        if typed is None:
            known = _master_id(kind, header, record.fields)
            bad.append(QuarantinedRecord.of(record.line_number, problems, record.raw_text, known))
        else:
            passed.append({**typed, "line_number": record.line_number})
    if passed:
        good = pl.concat([good, pl.DataFrame(passed, schema=good.schema)]).sort("line_number")
    if in_file_duplicates and good.height:
        first = good.select(pl.struct(list(kind.keys)).is_first_distinct()).to_series()
        if not first.all():
            raw_by_line = {record.line_number: record.raw_text for record in records}
            bad.extend(
                QuarantinedRecord(
                    line,
                    Reason.DUPLICATE_KEY,
                    f"key {', '.join(kind.keys)} repeats an earlier row of this file",
                    raw_by_line[line],
                )
                for line in good.filter(~first)["line_number"].to_list()
            )
            good = good.filter(first)
    bad.sort(key=lambda q: q.line_number)
    return good, bad


def _rows_table(kind: FileKind, good: pl.DataFrame, file: InboxFile, sha256: str) -> pa.Table:
    """The raw table's rows: the typed columns, their lineage and the file's business date (and partner)."""
    table = CSV_TABLES[kind.name]
    extra = [pl.lit(sha256, pl.String).alias("file_sha256"), pl.lit(file.business_date, pl.Date).alias("business_date")]
    if kind.source == "partner":
        extra.append(pl.lit(file.groups["partner"], pl.String).alias("partner_code"))
    rows = good.with_columns(extra).select(table.column_names).to_arrow()
    return rows.cast(table.arrow_schema())


def encoding_for(file: InboxFile, in_force: MastersInForce) -> str | None:
    """UTF-8, or a partner's encoding as its master in force on the file's date says (None: unknown)."""
    if file.source != "partner":
        return "utf-8"
    return in_force.partner_encoding(file.groups["partner"], file.business_date)


def _partner_unknown(file: InboxFile, records: list[tuple[int, str | None]] | None) -> FileOutcome:
    """The rejection of a partner file whose partner is not in the partners master in force on its date."""
    return whole_file(
        FileStatus.REJECTED,
        Reason.PARTNER_UNKNOWN,
        f"partner {file.groups['partner']} is not in the partners master in force on {file.business_date}",
        records,
    )


def load_csv(file: InboxFile, data: bytes, ctx: CsvLoadContext) -> FileOutcome:
    """The outcome of one CSV file of a known kind."""
    kind = CSV_KINDS_BY_NAME[file.kind]
    encoding = encoding_for(file, ctx.in_force)
    if encoding is None:
        return _partner_unknown(file, split_csv_records(data))
    read = read_csv(data, encoding, ctx.max_records, plain=True)
    if read.error is not None:
        return whole_file(FileStatus.REJECTED, read.error.code, read.error.detail, None)
    problem = header_problem(kind, read.header)
    if problem is not None:
        return whole_file(
            FileStatus.REJECTED, problem.code, problem.detail, [(r.line_number, r.raw_text) for r in read.records]
        )
    context = RowContext(file.business_date, ctx.masters)
    good, bad = _validate(kind, read.header, read.records, context)
    repeated = _loaded_duplicates(ctx.con, kind, good, duplicate_scope(file)[1])
    if repeated:
        raw_by_line = {r.line_number: r.raw_text for r in read.records}
        said = f"key {', '.join(kind.keys)} is already loaded"
        bad.extend(QuarantinedRecord(line, Reason.DUPLICATE_KEY, said, raw_by_line[line]) for line in sorted(repeated))
        good = good.filter(~pl.col("line_number").is_in(list(repeated)))
    bad.sort(key=lambda q: q.line_number)
    rows = _rows_table(kind, good, file, ctx.sha256)
    return FileOutcome(FileStatus.LOADED, len(read.records), rows.num_rows, {kind.table: rows}, tuple(bad))


def master_snapshot_keys(file: InboxFile, outcome: FileOutcome) -> tuple[str, list[str]] | None:
    """(master, keys) of a loaded master snapshot that rows refer to, for the run's masters lookup: the ids
    of its loaded rows and of its quarantined rows whose id has a valid shape."""
    master = file.kind.removeprefix("master_")
    if outcome.status != FileStatus.LOADED or master not in REFERENCED_MASTERS:
        return None
    column = REFERENCED_MASTERS[master]
    rows = outcome.tables.get(file.kind)
    if rows is None and file.kind in outcome.spilled:
        rows = pq.read_table(outcome.spilled[file.kind], columns=[column])
    if rows is None or rows.num_rows == 0:
        return None  # no rows loaded: no snapshot, the previous one stays in force (as in SQL)
    known = [q.master_id for q in outcome.quarantined if q.master_id is not None]
    return master, rows.column(column).to_pylist() + known


# --- streaming: a file of any size in bounded memory ----------------------------------------------------------
# A file over Limits.stream_bytes is never held whole: it is decoded and split by contracts.csvio.CsvScan as it
# is read, validated a chunk at a time (STREAM_CHUNK_RECORDS) by the same `_validate`, and its good rows are
# written to a Parquet file in the batch's pending folder as they come (by a thread, while the next chunk is
# validated: at most one chunk waits to be written). Key duplicates (within the file, and
# against loaded rows) are then found by DuckDB over that file; that file becomes the file's place in the batch
# (ingestion.store publishes it with the batch), or, when some rows repeat a key, the rows to load are written
# once more there without them. Memory holds
# two chunks, the quarantined records and DuckDB's bounded working set, whatever the file weighs. What differs
# from a file loaded whole, and why: a streamed file kept out whole (undecodable, a broken header, too many
# records, a conflict) gets one line-0 quarantine row instead of one row per record, since quarantining every
# record of a file of any size would hold it whole after all; every row that loads, and every record
# quarantined alone, is decided exactly as for a file read whole (tests/ingestion/test_ingest_streaming.py
# compares the two paths table by table).

STREAM_PROGRESS_RECORDS = 1_000_000
# A chunk holds up to STREAM_CHUNK_RECORDS records, fewer once they hold STREAM_CHUNK_CHARS characters: a few
# MB of text, and its records in Python a few times that. The columnar checks pay about 25 ms per chunk
# whatever its size (16 columns of polars calls), so chunks of 10,000 ledger lines spent a third of their time
# there; a 4 MiB chunk holds about 38,000.
STREAM_CHUNK_RECORDS = 100_000
STREAM_CHUNK_CHARS = 4 << 20
_STREAM_READ_BYTES = 1 << 20


class StreamedFileChanged(Exception):
    """The bytes streamed are not those hashed when the file was first read: it changed in between."""


class _HashingReader(io.RawIOBase):
    """A raw reader that hashes every byte it hands on (the SHA-256 of exactly what was parsed)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._handle.readinto(buffer)
        if count:
            self.digest.update(memoryview(buffer)[:count])
        return count or 0


@contextmanager
def _text_stream(path: Path, encoding: str, expected_sha256: str) -> Iterator[io.TextIOWrapper]:
    """The file's decoded text, physical lines kept (newline=""), a UTF-8 BOM dropped as `decode_csv` does.
    On leaving, the rest of the file is read through the hash, which must equal `expected_sha256`
    (StreamedFileChanged otherwise): everything decided was decided on the content the manifest names."""
    name = encoding.lower().replace("_", "-")
    codec = "utf-8-sig" if name in ("utf-8", "utf8") else name
    with path.open("rb", buffering=0) as handle:
        hashing = _HashingReader(handle)
        buffered = io.BufferedReader(hashing, _STREAM_READ_BYTES)
        text = io.TextIOWrapper(buffered, encoding=codec, errors="strict", newline="")
        yield text
        while buffered.read(_STREAM_READ_BYTES):
            pass
        if hashing.digest.hexdigest() != expected_sha256:
            raise StreamedFileChanged(str(path))


def _first_bad_line(path: Path, encoding: str) -> int:
    """The physical line holding the first byte that does not decode (for the rejection's detail). `encoding` as
    the file's master gives it: a BOM is valid UTF-8, so byte offsets count it, as `contracts.csvio.read_csv`'s do."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_STREAM_READ_BYTES):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                offset = max(error.start - len(pending), 0)
                return newlines + chunk[:offset].count(b"\n") + 1
            newlines += chunk.count(b"\n")
    return newlines + 1


def _stream_duplicates(
    con: duckdb.DuckDBPyConnection, kind: FileKind, unchecked: Path, scope_value: object
) -> list[tuple[int, str]]:
    """(line, detail) of the streamed good rows whose key repeats an earlier good row of the file, or is
    already loaded (for the first of the file's rows with that key): `_validate` and `_loaded_duplicates`'s
    rule, over the whole file in DuckDB."""
    keys = ", ".join(kind.keys)
    condition, params = _loaded_key_condition(kind, scope_value)
    source = f"read_parquet({sql_literal(str(unchecked))})"
    rows = con.execute(
        f"""
        WITH ranked AS (
            SELECT line_number, {keys}, row_number() OVER (PARTITION BY {keys} ORDER BY line_number) AS nth
            FROM {source}
        )
        SELECT line_number, 'repeats' FROM ranked WHERE nth > 1
        UNION ALL
        SELECT DISTINCT c.line_number, 'loaded' FROM ranked c JOIN raw.{kind.table} r ON {condition}
        WHERE c.nth = 1
        ORDER BY 1
        """,
        params,
    ).fetchall()
    named = ", ".join(kind.keys)
    said = {
        "repeats": f"key {named} repeats an earlier row of this file",
        "loaded": f"key {named} is already loaded",
    }
    return [(line, said[which]) for line, which in rows]


def _copy_without(con: duckdb.DuckDBPyConnection, unchecked: Path, target: Path, lines: list[int]) -> None:
    """Write the rows of Parquet file `unchecked` to `target`, but those of `lines`, in line order."""
    con.register("_stream_excluded", pa.table({"line_number": pa.array(lines, pa.int64())}))
    try:
        con.execute(
            f"COPY (SELECT u.* FROM read_parquet({sql_literal(str(unchecked))}) u ANTI JOIN _stream_excluded x "
            f"ON u.line_number = x.line_number ORDER BY u.line_number) TO {sql_literal(str(target))} (FORMAT parquet)"
        )
    finally:
        con.unregister("_stream_excluded")


def _raw_texts(path: Path, encoding: str, sha256: str, wanted: set[int]) -> dict[int, str]:
    """The raw text (as CsvScan gives it, My Numbers masked) of the records starting on `wanted` lines."""
    found: dict[int, str] = {}
    with _text_stream(path, encoding, sha256) as text:
        for record in CsvScan(text).records():
            if record.line_number in wanted:
                found[record.line_number] = record.raw_text
    return found


# A streamed file's chunks are validated one after the other, by one process: contracts.validation_columnar
# decides a chunk in polars, whose own threads use the other cores. (A pool of processes did pay while rows were
# validated one by one in Python; measured on day 4 of the 300,000-resident world it costs 3 s more than it
# saves, sending the records to the workers.) In a run with a pool, a whole file is handed to one worker ahead of
# its turn (`stream_ahead`: its path and the masters travel, not its records), which reads, hashes, splits and
# validates it while the ingest process loads the files before it; its turn looks for the duplicate keys
# (`finish_stream`).
_Validated = tuple[pa.Table, list[QuarantinedRecord], int]


def _validate_chunk(
    kind: FileKind, header: tuple[str, ...], chunk: list[CsvRecord] | PlainLines, file: InboxFile,
    masters: InMemoryMasters, sha256: str,
) -> _Validated:
    """One chunk of a streamed file through `_validate`: its good rows as the raw table's Arrow rows, its
    quarantined records and its record count."""
    good, bad = _validate(kind, header, chunk, RowContext(file.business_date, masters), in_file_duplicates=False)
    return _rows_table(kind, good, file, sha256), bad, len(chunk)


def load_csv_stream(file: InboxFile, path: Path, ctx: CsvLoadContext, target: Path) -> FileOutcome:
    """The outcome of one CSV file of a known kind read as a stream (module section above): its rows to load
    are written to `target` (a Parquet file in the batch's pending folder, named in `outcome.spilled`), never
    held whole. Raises StreamedFileChanged when the bytes read are not those of `ctx.sha256`."""
    encoding = encoding_for(file, ctx.in_force)
    if encoding is None:
        return _partner_unknown(file, None)
    unchecked = unchecked_path(target)
    try:
        rows = stream_rows(file, path, encoding, ctx.masters, ctx.sha256, ctx.max_records, unchecked, ctx.progress)
        if isinstance(rows, FileOutcome):
            return rows
        return finish_stream(ctx.con, file, path, encoding, ctx.sha256, rows, target)
    finally:
        unchecked.unlink(missing_ok=True)


def unchecked_path(target: Path) -> Path:
    """Where a streamed file's validated rows wait for the duplicate-key check, beside `target`."""
    return target.with_name(f".unchecked-{target.name}")


@dataclass(frozen=True, slots=True)
class StreamedRows:
    """A streamed file validated chunk by chunk, its good rows written to its `unchecked_path` (`stream_rows`),
    before the duplicate keys are looked for (`finish_stream`): its quarantined records and its record count."""

    bad: tuple[QuarantinedRecord, ...]
    total: int


def stream_rows(
    file: InboxFile,
    path: Path,
    encoding: str,
    masters: InMemoryMasters,
    sha256: str,
    max_records: int,
    unchecked: Path,
    progress: Callable[[str], None] | None = None,
) -> StreamedRows | FileOutcome:
    """The first part of `load_csv_stream`: every record split, validated and its good row written to
    `unchecked`, or the file's whole-file rejection. Reads no table (it may run in a worker process: `stream_ahead`).
    Raises StreamedFileChanged when the bytes read are not those of `sha256`."""
    kind = CSV_KINDS_BY_NAME[file.kind]
    schema = CSV_TABLES[kind.name].arrow_schema()
    bad: list[QuarantinedRecord] = []
    total = 0
    try:
        # Each chunk's rows are written by a thread of their own while the next chunk is split and validated
        # (pyarrow's writer lets go of the GIL): one chunk at most waits to be written. In order, and a failed
        # write raises here, at the next chunk or at the end.
        with _text_stream(path, encoding, sha256) as text, pq.ParquetWriter(unchecked, schema) as writer, \
                concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="spill") as spill:
            scan = CsvScan(text, max_records)
            problem = header_problem(kind, scan.header) if scan.error is None else None
            written: concurrent.futures.Future[None] | None = None
            if scan.error is None and problem is None:
                for chunk in scan.chunks(STREAM_CHUNK_RECORDS, STREAM_CHUNK_CHARS):
                    rows, chunk_bad, count = _validate_chunk(kind, scan.header, chunk, file, masters, sha256)
                    said = total // STREAM_PROGRESS_RECORDS
                    total += count
                    bad.extend(chunk_bad)
                    if written is not None:
                        written.result()
                    written = spill.submit(writer.write_table, rows)
                    if progress is not None and total // STREAM_PROGRESS_RECORDS > said:
                        progress(f"{file.rel_path}: {total:,} records read, {len(bad):,} quarantined so far")
            if written is not None:
                written.result()
    except UnicodeDecodeError:
        line = _first_bad_line(path, encoding)  # not utf-8-sig: its error offsets skip the BOM
        detail = f"not valid {encoding} (first bad byte on line {line})"
        return whole_file(FileStatus.REJECTED, Reason.FILE_ENCODING_INVALID, detail, None)
    if scan.error is not None:
        return whole_file(FileStatus.REJECTED, scan.error.code, scan.error.detail, None)
    if problem is not None:
        return whole_file(FileStatus.REJECTED, problem.code, problem.detail, None)
    return StreamedRows(tuple(bad), total)


@dataclass(frozen=True, slots=True)
class StreamedAhead:
    """A streamed file read ahead of its turn (`stream_ahead`): the SHA-256, size and mtime of its bytes as
    `identity.read_once` finds them, and what `stream_rows` made of those bytes."""

    sha256: str
    size_bytes: int
    mtime_ns: int
    rows: StreamedRows | FileOutcome


def stream_ahead(
    file: InboxFile, encoding: str, masters: InMemoryMasters, stream_bytes: int, max_bytes: int, max_records: int,
    target: Path,
) -> StreamedAhead | None:
    """In a worker of the run's pool, ahead of the file's turn: hash the file whole (`read_once`, as the ingest
    process does before streaming), then split and validate its records into `target`'s `unchecked_path`
    (`stream_rows`, which checks that it reads the bytes hashed). None when the file read now is not one to
    stream (`stream_bytes` or less, or over `max_bytes`): it is then read at its turn. Raises what reading
    raises (StreamedFileChanged, OSError): the file is then read again at its turn."""
    read = read_once(file.path, stream_bytes)
    if read.data is not None or read.size_bytes > max_bytes:
        return None
    unchecked = unchecked_path(target)
    try:
        rows = stream_rows(file, file.path, encoding, masters, read.sha256, max_records, unchecked)
    except BaseException:
        unchecked.unlink(missing_ok=True)
        raise
    if isinstance(rows, FileOutcome):
        unchecked.unlink(missing_ok=True)
    return StreamedAhead(read.sha256, read.size_bytes, read.mtime_ns, rows)


def finish_stream(
    con: duckdb.DuckDBPyConnection, file: InboxFile, path: Path, encoding: str, sha256: str, rows: StreamedRows,
    target: Path,
) -> FileOutcome:
    """The second part of `load_csv_stream`, at the file's turn: the rows of its `unchecked_path` whose key
    repeats an earlier row of the file or a loaded row quarantined (their text read again, from bytes that must
    still hash to `sha256`), the rest moved to `target`."""
    kind = CSV_KINDS_BY_NAME[file.kind]
    unchecked = unchecked_path(target)
    bad = list(rows.bad)
    repeated = _stream_duplicates(con, kind, unchecked, duplicate_scope(file)[1])
    if repeated:
        texts = _raw_texts(path, encoding, sha256, {line for line, _ in repeated})
        bad.extend(QuarantinedRecord(line, Reason.DUPLICATE_KEY, detail, texts.get(line)) for line, detail in repeated)
        _copy_without(con, unchecked, target, [line for line, _ in repeated])
    else:  # every row written loads: the file as written is the file to load (in line order, as read)
        unchecked.replace(target)
    with target.open("rb") as handle:
        os.fsync(handle.fileno())
    bad.sort(key=lambda q: q.line_number)
    loaded = rows.total - len(bad)
    return FileOutcome(FileStatus.LOADED, rows.total, loaded, quarantined=tuple(bad), spilled={kind.table: target})
