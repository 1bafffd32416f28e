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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from contracts import terminal_log
from contracts.problems import Problem
from contracts.reasons import Reason
from contracts.terminal_log import ParsedLine, TerminalRecord, TerminalSeal
from contracts.validation import InMemoryMasters
from ingestion import card_signatures
from ingestion.card_signatures import CardSignatures
from ingestion.inbox import InboxFile
from ingestion.masters import MastersInForce
from ingestion.outcome import FileOutcome, FileStatus, GapAction, GapChange, QuarantinedRecord, whole_file
from ingestion.schema import TERMINAL_RECORDS, TERMINAL_SEALS
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


def _key_for(in_force: MastersInForce, terminal_id: str, last: TerminalRecord | TerminalSeal) -> Any:
    if not isinstance(last, TerminalSeal):
        return None
    encoded = in_force.terminal_key(terminal_id, last.ts_jst.date())
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
    chains: TerminalChains, terminal_id: str, lines: tuple[ParsedLine, ...]
) -> tuple[str | None, str, tuple[GapChange, ...]]:
    """(problem code or `duplicate`, detail, gap changes) for the file among the terminal's loaded files."""
    entries = [_entry(line) for line in lines]
    first, seal = entries[0], entries[-1]
    loaded = chains.loaded_by_seq(terminal_id, first.seq - 1, seal.seq + 1)
    overlap = [e for e in entries if e.seq in loaded]
    if overlap:
        if len(overlap) == len(entries) and all(loaded[e.seq][1] == e.hash for e in overlap):
            return "duplicate", "repeats a loaded file of this terminal", ()
        return Reason.TERMINAL_FORK, "records with seqs already loaded differ from the loaded ones", ()
    if first.seq == 1 and first.prev_hash != terminal_log.GENESIS_HASH:
        return Reason.TERMINAL_CHAIN_BROKEN, "seq 1 must link to 64 zeros", ()
    predecessor = loaded.get(first.seq - 1)
    if predecessor is not None and predecessor[1] != first.prev_hash:
        return Reason.TERMINAL_FORK, f"seq {first.seq} does not link to the loaded seal at seq-1", ()
    successor = loaded.get(seal.seq + 1)
    if successor is not None and successor[0] != seal.hash:
        return (
            Reason.TERMINAL_FORK,
            f"the loaded file from seq {seal.seq + 1} does not link to this seal",
            (),
        )
    return None, "", _gap_changes(chains, terminal_id, first.seq, seal.seq, predecessor is not None)


def _card_problem(
    record: TerminalRecord, fields: dict[str, Any], certs: dict[str, list[Cert]], signatures: CardSignatures
) -> tuple[str, str, tuple[Problem, ...]] | None:
    serial = int(record.card_cert_serial, 16)
    ts = record.ts_jst.replace(tzinfo=None)  # certificate events are stored as JST wall-clock time
    candidates = [
        c
        for c in certs.get(record.mykey_id, [])
        if c.serial == serial and c.valid_from_ts <= ts and (c.revoked_ts is None or ts < c.revoked_ts)
    ]
    certificate = card_signatures.certificate(candidates[0].der_b64) if candidates else None
    moment = record.ts_jst
    if certificate is None or not (certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc):
        return (
            Reason.TERMINAL_CERT_NOT_VALID,
            f"seq {record.seq}: no registered, unrevoked certificate "
            f"of this serial and MyKey ID at {ts}",  # never the serial (issue 7 §2)
            (Problem(Reason.TERMINAL_CERT_NOT_VALID, "card_cert_serial", "no registered, unrevoked certificate"),),
        )
    if not signatures.verified(candidates[0].der_b64, fields):
        detail = f"seq {record.seq}: the card signature does not verify"
        code = Reason.TERMINAL_CARD_SIGNATURE_INVALID
        return code, detail, (Problem(code, "card_sig", detail),)
    return None


def _record_problem(
    line: ParsedLine,
    masters: InMemoryMasters,
    certs: dict[str, list[Cert]],
    business_date: dt.date,
    signatures: CardSignatures,
) -> tuple[str, str, tuple[Problem, ...]] | None:
    """(reason, detail, every problem) quarantining one use/cancel on its own, or None: value rules, date
    window, masters, certificate and card signature, in that order."""
    record = _entry(line)
    assert isinstance(record, TerminalRecord)
    problems = list(line.values)
    window = terminal_log.ts_window_problem(record.ts_jst, business_date, f"seq {record.seq}")
    if window is not None:
        problems.append(window)
    if problems:
        return problems[0].code, f"seq {record.seq}: " + "; ".join(p.detail for p in problems), tuple(problems)
    day = record.ts_jst.date()
    for value, master, code, column in (
        (record.municipality_code, "municipalities", Reason.MUNICIPALITY_UNKNOWN, "municipality_code"),
        (record.merchant_id, "merchants", Reason.MERCHANT_UNKNOWN, "merchant_id"),
    ):
        if not masters.known(master, value, day):
            detail = f"seq {record.seq}: {column} {value} is not in the {master} master in force on {day}"
            return code, detail, (Problem(code, column, detail),)
    assert line.fields is not None
    return _card_problem(record, line.fields, certs, signatures)


def _rows(
    good: list[ParsedLine], seal_line: ParsedLine, first_seq: int, file: InboxFile, sha256: str
) -> tuple[pa.Table, pa.Table]:
    upload = int(file.groups["upload"])
    lineage = {"file_sha256": sha256, "business_date": file.business_date, "upload_number": upload}
    records = []
    for line in good:
        assert line.fields is not None
        records.append({
            **{name: line.fields.get(name) for name in TERMINAL_RECORDS.column_names},
            **lineage,
            "ts": _entry(line).ts_jst.replace(tzinfo=None),
            "line_number": line.line_number,
        })
    assert seal_line.fields is not None
    seal_row = {
        **{name: seal_line.fields.get(name) for name in TERMINAL_SEALS.column_names},
        **lineage,
        "ts": _entry(seal_line).ts_jst.replace(tzinfo=None),
        "line_number": seal_line.line_number,
        "first_seq": first_seq,
    }
    return (
        pa.Table.from_pylist(records, schema=TERMINAL_RECORDS.arrow_schema()),
        pa.Table.from_pylist([seal_row], schema=TERMINAL_SEALS.arrow_schema()),
    )


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
    chain = terminal_log.verify_chain(
        [line.fields for line in lines if line.fields is not None], _key_for(lookups.in_force, terminal_id, last)
    )
    if chain:
        return whole_file(
            FileStatus.REJECTED,
            chain[0].code,
            f"line {lines[max(chain[0].line, 1) - 1].line_number}: {chain[0].detail}",
            _evidence(lines),
        )
    verdict, detail, gaps = _placement(lookups.chains, terminal_id, lines)
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
