"""The checks of a terminal log that need nothing but the file and the certificates: shared by the in-process
path (`ingestion.terminal_loader`) and the run's worker processes, which check whole files ahead of their turn.

A file's checks are in two parts. Those of the file on its own (the line rules, the terminal id, the seal's
date window, the hash chain inside the file, every record's value rules and date window) and the card
certificate and signature of each record are pure functions of the file's bytes and the record's certificates,
so a worker can make them. The rest need the warehouse and the run's state (the terminal key in force, the
terminal's loaded chain and gaps, the masters) and stay in the main process, at the file's turn.

A worker (`check_files`) only ever says "this file passes every check a worker can make, and here are its rows"
(`CheckedFile`), or nothing. A file it says nothing about is decided at its turn by the in-process path exactly
as if there were no workers, so every refusal, its reason code, detail and quarantine row is made by one code
path only. This module imports no DuckDB or polars: a spawned worker imports only what it runs. It imports
pyarrow: a worker sends the rows of the files it checked back as Arrow tables, whose columns travel as
buffers. As lists of Python values, unpickling them and building the tables took the main process about 5 s on
day 4 of the 3,500,000-resident world (a million records), while it had the day's files to decide.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from contracts import terminal_log
from contracts.problems import Problem
from contracts.reasons import Reason
from contracts.terminal_log import ParsedLine, TerminalRecord, TerminalSeal
from ingestion.card_signatures import Cert, certificate, verify

# The certificates a file's records ask for are read before the file is parsed, from the MyKey IDs written
# plainly in its lines. A hint only: a record whose MyKey ID is not found this way (written with escapes, or
# not at all) makes the worker say nothing about its file.
_MYKEY_ID_BYTES = re.compile(rb'"mykey_id":"([^"\\]{1,64})"')

Columns = dict[str, list[Any]]
Verdict = tuple[str, str, tuple[Problem, ...]]


def mykey_ids_written(data: bytes) -> set[str]:
    """The MyKey IDs written plainly (without escapes) in a terminal file's bytes."""
    found: set[str] = set()
    for raw in _MYKEY_ID_BYTES.findall(data):
        try:
            found.add(raw.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return found


def seq_window_written(data: bytes, terminal_id: str) -> tuple[str, int, int] | None:
    """(terminal_id, first seq - 1, last seq + 1) from a terminal file's first and last non-empty lines: the
    loaded seqs its placement will look at (TerminalChains.prefetch). A hint only, like `mykey_ids_written`:
    None when either line is not a JSON object with an integer `seq`."""
    lines = data.strip().splitlines()
    if not lines or max(len(lines[0]), len(lines[-1])) > terminal_log.LINE_BYTES_MAX:
        return None
    try:
        first, last = json.loads(lines[0]), json.loads(lines[-1])
        low, high = first["seq"], last["seq"]
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None
    if type(low) is not int or type(high) is not int or not 0 < low <= high <= terminal_log.SEQ_MAX:
        return None
    return terminal_id, low - 1, high + 1


def written_in(files: Sequence[tuple[str, str]]) -> tuple[set[str], list[tuple[str, int, int]]]:
    """The MyKey IDs written plainly in these terminal logs ((path, terminal id) each) and each log's seq
    window: what a load phase's look-ups read ahead (ingestion.run). A file that cannot be read is skipped (its
    batch asks for itself). Hints only, like the two functions it calls; run in the pool's workers, a part of
    the files each, while the main process loads the earlier phases."""
    wanted: set[str] = set()
    windows: list[tuple[str, int, int]] = []
    for path, terminal_id in files:
        try:
            with open(path, "rb", buffering=0) as handle:  # unbuffered: one read of the whole file
                data = handle.read()
        except OSError:
            continue
        wanted |= mykey_ids_written(data)
        window = seq_window_written(data, terminal_id)
        if window is not None:
            windows.append(window)
    return wanted, windows


def record_problem_alone(line: ParsedLine, business_date: dt.date) -> Verdict | None:
    """(reason, detail, every problem) of a use/cancel's own rules: its value rules and its `ts` within
    D-400 .. D+1 days of the file's business date; None when they hold."""
    record = line.entry
    assert isinstance(record, TerminalRecord)
    problems = list(line.values)
    window = terminal_log.ts_window_problem(record.ts_jst, business_date, f"seq {record.seq}")
    if window is not None:
        problems.append(window)
    if problems:
        return problems[0].code, f"seq {record.seq}: " + "; ".join(p.detail for p in problems), tuple(problems)
    return None


def card_problem(
    record: TerminalRecord,
    fields: Mapping[str, Any],
    certs: Mapping[str, list[Cert]],
    verified: Callable[[str, Mapping[str, Any]], bool],
) -> Verdict | None:
    """The certificate check (a registered, unrevoked certificate of the record's serial and MyKey ID at its
    `ts`, valid then) and the card signature check (`verified(certificate, fields)`) of a use/cancel whose own
    rules hold, in that order; None when both pass."""
    serial = int(record.card_cert_serial, 16)
    ts = record.ts_jst.replace(tzinfo=None)  # certificate events are stored as JST wall-clock time
    candidates = [
        c
        for c in certs.get(record.mykey_id, [])
        if c.serial == serial and c.valid_from_ts <= ts and (c.revoked_ts is None or ts < c.revoked_ts)
    ]
    found = certificate(candidates[0].der_b64) if candidates else None
    moment = record.ts_jst
    if found is None or not (found.not_valid_before_utc <= moment <= found.not_valid_after_utc):
        return (
            Reason.TERMINAL_CERT_NOT_VALID,
            f"seq {record.seq}: no registered, unrevoked certificate "
            f"of this serial and MyKey ID at {ts}",  # never the serial (issue 7 §2)
            (Problem(Reason.TERMINAL_CERT_NOT_VALID, "card_cert_serial", "no registered, unrevoked certificate"),),
        )
    if not verified(candidates[0].der_b64, fields):
        detail = f"seq {record.seq}: the card signature does not verify"
        code = Reason.TERMINAL_CARD_SIGNATURE_INVALID
        return code, detail, (Problem(code, "card_sig", detail),)
    return None


@dataclass(frozen=True, slots=True)
class Lineage:
    """What every row of a terminal file carries besides its fields: the file's SHA-256, its business date and
    the upload number in its name."""

    file_sha256: str
    business_date: dt.date
    upload_number: int


def _column_values(name: str, lines: Sequence[ParsedLine], lineage: Lineage) -> Iterable[Any]:
    if name == "ts":
        return (line.entry.ts_jst.replace(tzinfo=None) for line in lines)  # type: ignore[union-attr]
    if name == "line_number":
        return (line.line_number for line in lines)
    if name in ("file_sha256", "business_date", "upload_number"):
        return [getattr(lineage, name)] * len(lines)
    return (line.fields.get(name) for line in lines)  # type: ignore[union-attr]


def add_rows(
    records: Columns, seals: Columns, good: Sequence[ParsedLine], seal_line: ParsedLine, first_seq: int,
    lineage: Lineage,
) -> None:
    """Append a loaded file's rows, column by column: `good` to raw.terminal_records' columns (`records`, keyed
    by column name in table order), its seal to raw.terminal_seals' (`seals`). A column is the field of that
    name, except `ts` (naive JST), `line_number`, the lineage and the seal's `first_seq`."""
    for name, column in records.items():
        column.extend(_column_values(name, good, lineage))
    for name, column in seals.items():
        column.extend([first_seq] if name == "first_seq" else _column_values(name, (seal_line,), lineage))


# --- checking files ahead of their turn, in a worker process -------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileToCheck:
    """A terminal file handed to a worker: its bytes, the terminal id and lineage of its name, the record
    limit, and the key its seal is most likely signed with (`seal_key`)."""

    data: bytes
    terminal_id: str
    lineage: Lineage
    max_records: int
    seal_key: str | None = None  # the terminal's key (base64) in force on the file's date, if the run knows one


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A terminal file that passed every check a worker makes (module docstring). lines: its records and
    seal; links: (seq, prev_hash, hash) of each line, for its place among the terminal's loaded files;
    seal_day, seal_hash, term_sig: what the seal's signature check needs (the key is the terminals master's
    in force on seal_day); seal_key_verified: the file's `seal_key` when the seal's signature verifies with it
    (the main process then checks only that this is the key in force on seal_day), else None; rows_from/rows:
    its records' rows in the chunk's record columns, seal_row its seal's row in the chunk's seal columns;
    masters: the distinct (municipality_code, merchant_id, JST date) of its records, for the master checks made
    at its turn (a terminal's records share most of them)."""

    lines: int
    links: tuple[tuple[int, str, str], ...]
    seal_day: dt.date
    seal_hash: str
    term_sig: str
    rows_from: int
    rows: int
    seal_row: int
    masters: tuple[tuple[str, str, dt.date], ...]  # no default: a file without them would skip the master checks
    seal_key_verified: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedChunk:
    """A worker's answer for a list of files: per file a CheckedFile or None (decided at its turn), and the
    rows of the checked files (raw.terminal_records' and raw.terminal_seals' Arrow schemas)."""

    files: tuple[CheckedFile | None, ...]
    records: pa.Table
    seals: pa.Table


def _passes(work: FileToCheck, certs: Mapping[str, list[Cert]]) -> tuple[tuple[ParsedLine, ...], TerminalSeal] | None:
    """The file's lines and seal when every check a worker can make passes, in the in-process order
    (terminal_loader.load_terminal_file); None at the first that does not, or that it cannot make."""
    parsed = terminal_log.parse_file(work.data, work.max_records)
    if parsed.problem is not None or not parsed.lines or parsed.first_shape_problem() is not None:
        return None
    lines = parsed.lines
    if any(line.entry.terminal_id != work.terminal_id for line in lines):  # type: ignore[union-attr]
        return None
    seal = lines[-1].entry
    if not isinstance(seal, TerminalSeal):
        return None
    if terminal_log.ts_window_problem(seal.ts_jst, work.lineage.business_date, "seal") is not None:
        return None
    # Without a key, a file whose chain holds has exactly one problem: the key; the main process checks it.
    chain = terminal_log.verify_chain([line.fields for line in lines if line.fields is not None], None)
    if len(chain) != 1 or chain[0].code != Reason.TERMINAL_KEY_UNKNOWN:
        return None
    for line in lines[:-1]:
        record = line.entry
        if not isinstance(record, TerminalRecord) or line.fields is None or record.mykey_id not in certs:
            return None
        if record_problem_alone(line, work.lineage.business_date) is not None:
            return None
        # The masters come between these checks in the main process; a record failing either is quarantined
        # whichever reason comes first, and its file is then decided in process.
        if card_problem(record, line.fields, certs, verify) is not None:
            return None
    return lines, seal


def seal_verifies(encoded_key: str, seal_hash: str, term_sig: str) -> bool:
    """Whether a seal's signature verifies with the terminal key `encoded_key` (base64, as the terminals master
    writes it; False when it is not a key), by the rule's own function."""
    try:
        key = terminal_log.load_terminal_public_key(encoded_key)
    except ValueError:
        return False
    return terminal_log.verify_seal_signature(key, {"hash": seal_hash, "term_sig": term_sig})


def check_files(
    files: Sequence[FileToCheck],
    certs: Mapping[str, list[Cert]],
    record_schema: pa.Schema,
    seal_schema: pa.Schema,
) -> CheckedChunk:
    """Check `files` (in a worker): `certs` holds every certificate of each MyKey ID the files ask for (an ID
    missing from it is one the worker cannot decide); the rows of the files checked come back in the raw
    tables' schemas. Never raises for a file: one that breaks a check is simply not checked here (rows that do
    not fit their schema raise for the whole chunk, whose files are then all decided at their turn)."""
    records: Columns = {name: [] for name in record_schema.names}
    seals: Columns = {name: [] for name in seal_schema.names}
    answers: list[CheckedFile | None] = []
    rows = checked = 0
    for work in files:
        try:
            passed = _passes(work, certs)
        except Exception:  # decided at its turn, where whatever it raises becomes the file's own verdict
            passed = None
        if passed is None:
            answers.append(None)
            continue
        lines, seal = passed
        entries = [line.entry for line in lines]
        add_rows(records, seals, lines[:-1], lines[-1], entries[0].seq, work.lineage)  # type: ignore[union-attr]
        links = tuple((e.seq, e.prev_hash, e.hash) for e in entries)  # type: ignore[union-attr]
        verified = work.seal_key is not None and seal_verifies(work.seal_key, seal.hash, seal.term_sig)
        masters = tuple({(line.fields.get("municipality_code"), line.fields.get("merchant_id"),  # type: ignore[union-attr]
                          line.entry.ts_jst.date()) for line in lines[:-1]})  # type: ignore[union-attr]
        answers.append(CheckedFile(len(lines), links, seal.ts_jst.date(), seal.hash, seal.term_sig, rows,
                                   len(lines) - 1, checked, masters, work.seal_key if verified else None))
        rows, checked = rows + len(lines) - 1, checked + 1
    return CheckedChunk(tuple(answers), pa.table(records, schema=record_schema), pa.table(seals, schema=seal_schema))
