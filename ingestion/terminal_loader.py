"""Loading one terminal log (terminal/<tid>/<tid>_D_<nnnn>.jsonl): verify, link to the terminal's other files,
check card signatures, and turn it into raw.terminal_records / raw.terminal_seals rows.

Reading and the shape and value rules of a line are the contract's (`contracts.terminal_log.parse_file`);
this module decides what they mean for the file and checks what needs the warehouse. Nothing it stores of a
refused line is the line as delivered: it is the parser's `safe_text` (personal numbers masked by field).

Order of checks (docs/formats.md, "Terminal logs"):
1. whole file: a byte order mark or a line that is not strict JSON (`terminal_json_invalid`), a line over
   16 KiB (`terminal_line_too_long`), record shape (`terminal_record_invalid`), terminal id
   (`terminal_id_mismatch`), the last record's `ts` within D-400 .. D+1 days of the file's business date
   (`date_out_of_range`, as for CSV timestamps), the file on its own (`contracts.terminal_log.verify_chain`
   with the key of the terminals master in force on the seal's JST date), then its place among loaded files:
   an exact repeat of a loaded file is all `duplicate_key`; any other overlap, or a first record that does not
   link to the loaded
   seal at seq-1 (or a loaded successor that does not link to this seal) is `terminal_fork`;
2. per use/cancel record: field values (`contracts.terminal_log`: required, My Number, patterns, check digit,
   amount; `ts` within D-400 .. D+1 days: `date_out_of_range`), masters (`municipality_unknown`, `merchant_unknown`),
   the card certificate (`terminal_cert_not_valid`) and signature (`terminal_card_signature_invalid`); such
   records are quarantined alone.
A missing predecessor opens a row in raw.terminal_seq_gaps; a file that fills a gap resolves it.
Everything it checks against comes through `TerminalLookups` (committed rows plus what the run has decided to
load); it never writes the warehouse.

In a run with a worker pool (ingestion.card_signatures), `check_ahead` hands a batch's new terminal logs to the
workers, which make every check that needs only the file and its certificates (ingestion.terminal_checks) and
build the rows of the files that pass them all. At such a file's turn `load_checked_file` makes the checks left
(the terminal key and seal signature, placement, masters); a file either step does not clear is decided by
`load_terminal_file` as if there were no pool, so every refusal and quarantine row comes from one code path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from contracts import terminal_log
from contracts.problems import Problem
from contracts.reasons import Reason
from contracts.terminal_log import ParsedLine, TerminalRecord, TerminalSeal
from contracts.validation import InMemoryMasters
from ingestion.card_signatures import CardSignatures
from ingestion.inbox import InboxFile
from ingestion.masters import MastersInForce
from ingestion.outcome import FileOutcome, FileStatus, GapAction, GapChange, QuarantinedRecord, whole_file
from ingestion.schema import TERMINAL_RECORDS, TERMINAL_SEALS
from ingestion.terminal_checks import (
    CheckedChunk,
    CheckedFile,
    FileToCheck,
    Lineage,
    add_rows,
    card_problem,
    check_files,
    mykey_ids_written,
    record_problem_alone,
    seal_verifies,
)
from ingestion.terminal_state import Cert, CertLookup, TerminalChains


def _evidence(lines: tuple[ParsedLine, ...]) -> list[tuple[int, str | None]]:
    """(line_number, safe text) of every line: what a file quarantined whole keeps of each record."""
    return [(line.line_number, line.safe_text) for line in lines]


def split_terminal_records(data: bytes) -> list[tuple[int, str | None]] | None:
    """(line_number, safe text) of each non-empty line, for quarantining a file whole (a conflict)."""
    return _evidence(terminal_log.parse_file(data).lines) or None


def _line_detail(line_number: int, detail: str) -> str:
    # "line 3 is not JSON" is the wording reports have always shown for a torn line; keep it.
    return f"line {line_number} is not JSON" if detail == "not JSON" else f"line {line_number}: {detail}"


def _parse(data: bytes, max_records: int) -> tuple[tuple[ParsedLine, ...], FileOutcome | None]:
    parsed = terminal_log.parse_file(data, max_records)
    if parsed.problem is not None:
        return (), whole_file(
            FileStatus.REJECTED, parsed.problem.code, parsed.problem.detail, _evidence(parsed.lines) or None
        )
    bad = parsed.first_shape_problem()
    if bad is not None:
        line, problem = bad
        detail = _line_detail(line.line_number, problem.detail)
        return (), whole_file(FileStatus.REJECTED, problem.code, detail, _evidence(parsed.lines))
    if not parsed.lines:
        return (), whole_file(FileStatus.REJECTED, Reason.TERMINAL_FILE_EMPTY, "the file holds no records", None)
    return parsed.lines, None


@dataclass(frozen=True, slots=True)
class TerminalLookups:
    """What a terminal file is checked against: the masters in force (terminal keys), the referential
    masters, card certificates and the terminal's loaded chain and gaps (see ingestion.terminal_state)."""

    in_force: MastersInForce
    referential: InMemoryMasters
    certs: CertLookup
    chains: TerminalChains
    signatures: CardSignatures = field(default_factory=CardSignatures)


@dataclass(frozen=True, slots=True)
class ParsedTerminalFile:
    """A terminal file read into lines whose shape holds, or the outcome that rejects it whole (rejected)."""

    lines: tuple[ParsedLine, ...]
    rejected: FileOutcome | None

    def mykey_ids(self) -> set[str]:
        """The MyKey IDs of its use/cancel records (for prefetching certificates)."""
        return {line.entry.mykey_id for line in self.lines if isinstance(line.entry, TerminalRecord)}

    def card_pairs(self, certs: dict[str, list[Cert]]) -> list[tuple[str, dict[str, Any]]]:
        """(certificate, record) for each use or cancel and each certificate of its MyKey ID and serial (any
        validity: a pair verified for nothing is only a cache entry), for CardSignatures.prefetch."""
        pairs: list[tuple[str, dict[str, Any]]] = []
        for line in self.lines:
            entry = line.entry
            if not isinstance(entry, TerminalRecord) or line.fields is None or line.values:
                continue
            try:
                serial = int(entry.card_cert_serial, 16)
            except (TypeError, ValueError):
                continue
            pairs.extend((c.der_b64, line.fields) for c in certs.get(entry.mykey_id, ()) if c.serial == serial)
        return pairs

    def seq_window(self, terminal_id: str) -> tuple[str, int, int] | None:
        """(terminal_id, first seq - 1, last seq + 1): the loaded seqs its placement looks at."""
        if not self.lines:
            return None
        return terminal_id, _entry(self.lines[0]).seq - 1, _entry(self.lines[-1]).seq + 1


def _entry(line: ParsedLine) -> TerminalRecord | TerminalSeal:
    assert line.entry is not None  # only lines whose shape holds get this far
    return line.entry


def parse_terminal_file(data: bytes, max_records: int) -> ParsedTerminalFile:
    """Split and shape-check a terminal file; reads nothing else. Never raises."""
    lines, rejected = _parse(data, max_records)
    return ParsedTerminalFile(lines, rejected)


def _key_for(in_force: MastersInForce, terminal_id: str, seal_day: dt.date | None) -> Any:
    """The terminal's Ed25519 key in force on the seal's JST date (None: no seal, no key, or not a key)."""
    if seal_day is None:
        return None
    encoded = in_force.terminal_key(terminal_id, seal_day)
    if encoded is None:
        return None
    try:
        return terminal_log.load_terminal_public_key(encoded)
    except ValueError:
        return None


def _gap_changes(
    chains: TerminalChains, terminal_id: str, first: int, last: int, predecessor_loaded: bool
) -> tuple[GapChange, ...]:
    gap = chains.open_gap_containing(terminal_id, first, last)
    if gap is not None:
        low, high = gap
        changes = [GapChange(GapAction.RESOLVE, terminal_id, low, high)]
        if low <= first - 1:
            changes.append(GapChange(GapAction.OPEN, terminal_id, low, first - 1))
        if last + 1 <= high:
            changes.append(GapChange(GapAction.OPEN, terminal_id, last + 1, high))
        return tuple(changes)
    if first > 1 and not predecessor_loaded:
        return (GapChange(GapAction.OPEN, terminal_id, chains.last_seal_before(terminal_id, first) + 1, first - 1),)
    return ()


def _placement(
    chains: TerminalChains, terminal_id: str, links: Sequence[tuple[int, str, str]]
) -> tuple[str | None, str, tuple[GapChange, ...]]:
    """(problem code or `duplicate`, detail, gap changes) for the file among the terminal's loaded files, from
    the (seq, prev_hash, hash) of each of its lines."""
    (first_seq, first_prev_hash, _), (seal_seq, _, seal_hash) = links[0], links[-1]
    loaded = chains.loaded_by_seq(terminal_id, first_seq - 1, seal_seq + 1)
    overlap = [(seq, hash_) for seq, _, hash_ in links if seq in loaded]
    if overlap:
        if len(overlap) == len(links) and all(loaded[seq][1] == hash_ for seq, hash_ in overlap):
            return "duplicate", "repeats a loaded file of this terminal", ()
        return Reason.TERMINAL_FORK, "records with seqs already loaded differ from the loaded ones", ()
    if first_seq == 1 and first_prev_hash != terminal_log.GENESIS_HASH:
        return Reason.TERMINAL_CHAIN_BROKEN, "seq 1 must link to 64 zeros", ()
    predecessor = loaded.get(first_seq - 1)
    if predecessor is not None and predecessor[1] != first_prev_hash:
        return Reason.TERMINAL_FORK, f"seq {first_seq} does not link to the loaded seal at seq-1", ()
    successor = loaded.get(seal_seq + 1)
    if successor is not None and successor[0] != seal_hash:
        return (
            Reason.TERMINAL_FORK,
            f"the loaded file from seq {seal_seq + 1} does not link to this seal",
            (),
        )
    return None, "", _gap_changes(chains, terminal_id, first_seq, seal_seq, predecessor is not None)


def _record_problem(
    line: ParsedLine,
    masters: InMemoryMasters,
    certs: dict[str, list[Cert]],
    business_date: dt.date,
    signatures: CardSignatures,
) -> tuple[str, str, tuple[Problem, ...]] | None:
    """(reason, detail, every problem) quarantining one use/cancel on its own, or None: value rules, date
    window, masters, certificate and card signature, in that order."""
    alone = record_problem_alone(line, business_date)
    if alone is not None:
        return alone
    record = _entry(line)
    assert isinstance(record, TerminalRecord)
    day = record.ts_jst.date()
    for value, master, code, column in (
        (record.municipality_code, "municipalities", Reason.MUNICIPALITY_UNKNOWN, "municipality_code"),
        (record.merchant_id, "merchants", Reason.MERCHANT_UNKNOWN, "merchant_id"),
    ):
        if not masters.known(master, value, day):
            detail = f"seq {record.seq}: {column} {value} is not in the {master} master in force on {day}"
            return code, detail, (Problem(code, column, detail),)
    assert line.fields is not None
    return card_problem(record, line.fields, certs, signatures.verified)


def _tables(records: dict[str, list[Any]], seals: dict[str, list[Any]]) -> tuple[pa.Table, pa.Table]:
    return (
        pa.table(records, schema=TERMINAL_RECORDS.arrow_schema()),
        pa.table(seals, schema=TERMINAL_SEALS.arrow_schema()),
    )


def _rows(
    good: list[ParsedLine], seal_line: ParsedLine, first_seq: int, file: InboxFile, sha256: str
) -> tuple[pa.Table, pa.Table]:
    records: dict[str, list[Any]] = {name: [] for name in TERMINAL_RECORDS.column_names}
    seals: dict[str, list[Any]] = {name: [] for name in TERMINAL_SEALS.column_names}
    add_rows(records, seals, good, seal_line, first_seq, _lineage(file, sha256))
    return _tables(records, seals)


def _lineage(file: InboxFile, sha256: str) -> Lineage:
    assert file.business_date is not None  # a terminal log's name holds its date
    return Lineage(sha256, file.business_date, int(file.groups["upload"]))


def load_terminal_file(
    file: InboxFile, parsed: ParsedTerminalFile, lookups: TerminalLookups, sha256: str
) -> FileOutcome:
    """The outcome of one terminal log file (parsed by `parse_terminal_file`)."""
    if parsed.rejected is not None:
        return parsed.rejected
    lines = parsed.lines
    terminal_id = file.groups["terminal"]
    entries = [_entry(line) for line in lines]
    if any(entry.terminal_id != terminal_id for entry in entries):
        return whole_file(
            FileStatus.REJECTED,
            Reason.TERMINAL_ID_MISMATCH,
            f"records of another terminal than {terminal_id}",
            _evidence(lines),
        )
    last = entries[-1]
    if isinstance(last, TerminalSeal):
        window = terminal_log.ts_window_problem(last.ts_jst, file.business_date, "seal")
        if window is not None:
            detail = f"line {lines[-1].line_number}: {window.detail}"
            return whole_file(FileStatus.REJECTED, Reason.DATE_OUT_OF_RANGE, detail, _evidence(lines))
    seal_day = last.ts_jst.date() if isinstance(last, TerminalSeal) else None
    chain = terminal_log.verify_chain(
        [line.fields for line in lines if line.fields is not None], _key_for(lookups.in_force, terminal_id, seal_day)
    )
    if chain:
        return whole_file(
            FileStatus.REJECTED,
            chain[0].code,
            f"line {lines[max(chain[0].line, 1) - 1].line_number}: {chain[0].detail}",
            _evidence(lines),
        )
    verdict, detail, gaps = _placement(lookups.chains, terminal_id, [(e.seq, e.prev_hash, e.hash) for e in entries])
    if verdict == "duplicate":
        return FileOutcome(
            FileStatus.LOADED,
            len(lines),
            0,
            quarantined=tuple(
                QuarantinedRecord(n, Reason.DUPLICATE_KEY, f"(terminal_id, seq) already loaded: {detail}", text)
                for n, text in _evidence(lines)
            ),
        )
    if verdict is not None:
        return whole_file(FileStatus.REJECTED, verdict, detail, _evidence(lines))
    certs = lookups.certs.certs_for(parsed.mykey_ids())
    good: list[ParsedLine] = []
    bad: list[QuarantinedRecord] = []
    for line in lines[:-1]:
        problem = _record_problem(line, lookups.referential, certs, file.business_date, lookups.signatures)
        if problem is None:
            good.append(line)
        else:
            code, detail, problems = problem
            bad.append(QuarantinedRecord(line.line_number, code, detail, line.safe_text, problems=problems))
    records, seals = _rows(good, lines[-1], entries[0].seq, file, sha256)
    return FileOutcome(
        FileStatus.LOADED,
        len(lines),
        len(good) + 1,
        {"terminal_records": records, "terminal_seals": seals},
        tuple(bad),
        gap_changes=gaps,
    )


# --- files checked ahead in the run's worker processes (ingestion.terminal_checks) ------------------------------

CHECK_CHUNK_BYTES = 1 << 20  # one worker task: about 1 MiB of terminal logs (a hundred-odd files)


@dataclass(frozen=True, slots=True)
class PooledFile:
    """A terminal file a worker checked: what it found (terminal_checks.CheckedFile) and its rows as tables."""

    checked: CheckedFile
    records: pa.Table
    seal: pa.Table

    def seq_window(self, terminal_id: str) -> tuple[str, int, int]:
        """(terminal_id, first seq - 1, last seq + 1): the loaded seqs its placement looks at."""
        links = self.checked.links
        return terminal_id, links[0][0] - 1, links[-1][0] + 1


def _chunks(files: list[FileToCheck]) -> list[list[FileToCheck]]:
    chunks: list[list[FileToCheck]] = [[]]
    size = 0
    for work in files:
        if chunks[-1] and size + len(work.data) > CHECK_CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(work)
        size += len(work.data)
    return [chunk for chunk in chunks if chunk]


def _pooled_files(chunk: CheckedChunk) -> list[PooledFile | None]:
    records, seals = chunk.records, chunk.seals
    return [
        None if checked is None else PooledFile(checked, records.slice(checked.rows_from, checked.rows),
                                                seals.slice(checked.seal_row, 1))
        for checked in chunk.files
    ]


@dataclass(slots=True)
class AheadChunk:
    """One worker task checking some of a batch's terminal files, answered at the first of its files' turn.
    Answering it also answers every other chunk of the run the pool has finished (`waiting`), and the loaded
    seq windows of all the files they cleared are read in one query: each such query scans the terminals'
    whole history, and one per chunk (a hundred-odd a day at 1,000,000 residents) took 5.6 s of the run."""

    future: Future[CheckedChunk]
    terminal_ids: list[str]
    chains: TerminalChains
    waiting: list[AheadChunk]
    _answer: list[PooledFile | None] | None = None

    def _take(self) -> list[tuple[str, int, int]]:
        try:
            self._answer = _pooled_files(self.future.result())
        except Exception:  # a worker that died, say: every file of the chunk is decided in process
            self._answer = [None] * len(self.terminal_ids)
        return [p.seq_window(t) for p, t in zip(self._answer, self.terminal_ids, strict=True) if p]

    def answer(self) -> list[PooledFile | None]:
        if self._answer is None:
            ready = [self, *(c for c in self.waiting if c is not self and c._answer is None and c.future.done())]
            windows = [window for chunk in ready for window in chunk._take()]
            self.waiting[:] = [c for c in self.waiting if c._answer is None]
            try:
                self.chains.prefetch(windows)
            except Exception:  # only a cache: each file then asks alone
                pass
        assert self._answer is not None
        return self._answer


@dataclass(frozen=True, slots=True)
class CheckedAhead:
    """A terminal file handed to the run's pool (`check_ahead`)."""

    chunk: AheadChunk
    position: int

    def pooled(self) -> PooledFile | None:
        """What the pool found (waiting for it if need be), or None: the file is decided in process."""
        return self.chunk.answer()[self.position]


def start_pool(signatures: CardSignatures) -> None:
    """Start the run's workers now, one empty check each (a worker imports what checking needs on its first
    task), so that they start while the masters and certificates load, not when the first terminal files come."""
    if signatures.pooled():
        for _ in range(signatures.workers):
            signatures.submit(check_files, [], {}, TERMINAL_RECORDS.arrow_schema(), TERMINAL_SEALS.arrow_schema())


def check_ahead(
    files: list[tuple[InboxFile, bytes, str]],
    certs: CertLookup,
    chains: TerminalChains,
    signatures: CardSignatures,
    max_records: int,
    in_force: MastersInForce,
    waiting: list[AheadChunk],
) -> list[CheckedAhead | None]:
    """Hand (file, bytes, SHA-256) terminal files to the run's worker processes in chunks, with the
    certificates their records name and each file's terminal key in force on its date, and return at once:
    per file its place in a chunk, or None when there is no pool (the file is then decided in process).
    `waiting`: the run's chunks not answered yet (one list for the whole run), which this call adds to."""
    if not files or not signatures.pooled():
        return [None] * len(files)
    wanted = [mykey_ids_written(data) for _, data, _ in files]
    found = certs.certs_for(set().union(*wanted))  # one query for the batch
    work = [
        FileToCheck(data, file.groups["terminal"], _lineage(file, sha), max_records,
                    in_force.terminal_key(file.groups["terminal"], file.business_date))
        for file, data, sha in files
    ]
    handles: list[CheckedAhead | None] = []
    schemas = TERMINAL_RECORDS.arrow_schema(), TERMINAL_SEALS.arrow_schema()
    for chunk in _chunks(work):
        ids = set().union(*wanted[len(handles) : len(handles) + len(chunk)])
        shipped = {m: found.get(m, []) for m in ids}
        future = signatures.submit(check_files, chunk, shipped, *schemas)
        if future is None:
            handles.extend([None] * len(chunk))
            continue
        ahead = AheadChunk(future, [w.terminal_id for w in chunk], chains, waiting)
        waiting.append(ahead)
        handles.extend(CheckedAhead(ahead, position) for position in range(len(chunk)))
    return handles


def load_checked_file(file: InboxFile, pooled: PooledFile, lookups: TerminalLookups) -> FileOutcome | None:
    """The outcome of a file a worker checked, when the checks left to the main process pass too: the
    terminal key in force and the seal's signature, the file's place among the terminal's loaded files (no
    overlap, links to its neighbours) and every record's masters. None when one does not: the file is then
    decided by load_terminal_file, the one place that says why."""
    checked = pooled.checked
    terminal_id = file.groups["terminal"]
    key = lookups.in_force.terminal_key(terminal_id, checked.seal_day)
    if key is None:
        return None
    if key != checked.seal_key_verified and not seal_verifies(key, checked.seal_hash, checked.term_sig):
        return None  # the worker verified the seal with another key, or none: verified here with the key in force
    verdict, _, gaps = _placement(lookups.chains, terminal_id, checked.links)
    if verdict is not None:
        return None
    masters = lookups.referential
    for code, merchant, day in checked.masters:
        if not (masters.known("municipalities", code, day) and masters.known("merchants", merchant, day)):
            return None
    return FileOutcome(
        FileStatus.LOADED,
        checked.lines,
        checked.rows + 1,
        {"terminal_records": pooled.records, "terminal_seals": pooled.seal},
        (),
        gap_changes=gaps,
    )
