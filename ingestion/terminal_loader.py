"""Loading one terminal log (terminal/<tid>/<tid>_D_<nnnn>.jsonl): verify, link to the terminal's other files,
check card signatures, and turn it into raw.terminal_records / raw.terminal_seals rows.

Order of checks (docs/formats.md, "Terminal logs"):
1. whole file: JSON lines (`terminal_json_invalid`), record shape (`terminal_record_invalid`), terminal id
   (`terminal_id_mismatch`), the last record's `ts` within D-400 .. D+1 days of the file's business date
   (`date_out_of_range`, as for CSV timestamps), the file on its own (`contracts.terminal_log.verify_chain`
   with the key of the terminals master in force on the seal's JST date), then its place among loaded files:
   an exact repeat of a loaded file is all `duplicate_key`; any other overlap, or a first record that does not
   link to the loaded
   seal at seq-1 (or a loaded successor that does not link to this seal) is `terminal_fork`;
2. per use/cancel record: field values (the CSV rules: My Number, patterns, check digit, amount, timestamp,
   `ts` within D-400 .. D+1 days: `date_out_of_range`), masters (`municipality_unknown`, `merchant_unknown`),
   the card certificate (`terminal_cert_not_valid`) and signature (`terminal_card_signature_invalid`); such
   records are quarantined alone.
A missing predecessor opens a row in raw.terminal_seq_gaps; a file that fills a gap resolves it.
Everything it checks against comes through `TerminalLookups` (committed rows plus what the run has decided to
load); it never writes the warehouse.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa
from cryptography import x509

from contracts import terminal_log
from contracts.reasons import Reason
from contracts.schemas import GENERIC_REF, HEX_SERIAL, MERCHANT_ID, MUNICIPALITY_CODE, MYKEY_ID, FileKind
from contracts.schemas import Column as C
from contracts.schemas import ColumnType as T
from contracts.validation import InMemoryMasters, check_fields, date_range_problems, parse_timestamp_jst
from ingestion.inbox import InboxFile
from ingestion.masters import MastersInForce
from ingestion.outcome import LOADED, REJECTED, FileOutcome, GapChange, QuarantinedRecord, whole_file
from ingestion.schema import TERMINAL_RECORDS, TERMINAL_SEALS
from ingestion.terminal_state import Cert, CertLookup, TerminalChains

# The value rules of a use/cancel record, expressed as a CSV kind so that contracts.validation checks them
# exactly as it checks the same fields in CSV files.
_RECORD_VALUES = FileKind(
    "terminal_record",
    "terminal",
    r"",
    (
        C("ts", T.TIMESTAMP),
        C("merchant_id", T.ID, pattern=MERCHANT_ID),
        C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
        C("mykey_id", T.ID, pattern=MYKEY_ID),
        C("amount", T.AMOUNT),
        C("auth_id", T.ID, pattern=GENERIC_REF),
        C("cancel_of", T.ID, required=False, pattern=GENERIC_REF),
        C("card_cert_serial", T.ID, pattern=HEX_SERIAL),
    ),
    (),
)
_INT_FIELDS = frozenset(("v", "seq", "amount", "records"))


@dataclass(frozen=True, slots=True)
class _Line:
    line_number: int
    text: str
    record: dict[str, Any]


def split_terminal_records(data: bytes) -> list[tuple[int, str | None]] | None:
    """(line_number, text) of each non-empty line, for quarantining a file whole; None if not UTF-8."""
    try:
        return [(number, text) for number, text in terminal_log.iter_json_lines(data)]
    except UnicodeDecodeError:
        return None


def _shape_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    expected = terminal_log.FIELDS_BY_TYPE.get(record.get("type"))
    if expected is None:
        return f"unknown type {record.get('type')!r}"
    if set(record) != expected:
        return f"fields differ from a {record['type']} record: " + ", ".join(sorted(set(record) ^ expected))
    for name, value in record.items():
        wanted = int if name in _INT_FIELDS else str
        if isinstance(value, bool) or not isinstance(value, wanted):
            return f"{name} is not {'an integer' if wanted is int else 'a string'}"
    if record["v"] != terminal_log.FORMAT_VERSION or record["seq"] < 1:
        return "unsupported version or seq below 1"
    if parse_timestamp_jst(record["ts"]) is None:
        return "ts is not an ISO 8601 timestamp with offset"
    return None


def _parse(data: bytes, max_records: int) -> tuple[list[_Line], FileOutcome | None]:
    try:
        pairs = list(terminal_log.iter_json_lines(data))
    except UnicodeDecodeError:
        return [], whole_file(REJECTED, Reason.TERMINAL_JSON_INVALID, "the file is not UTF-8", None)
    if len(pairs) > max_records:
        return [], whole_file(
            REJECTED,
            Reason.FILE_TOO_MANY_ROWS,
            f"more than {max_records} records (the configured limit)",
            None,
        )
    lines: list[_Line] = []
    for number, text in pairs:
        try:
            record = json.loads(text)
        except ValueError:
            return [], whole_file(REJECTED, Reason.TERMINAL_JSON_INVALID, f"line {number} is not JSON", pairs)
        problem = _shape_problem(record)
        if problem is not None:
            return [], whole_file(REJECTED, Reason.TERMINAL_RECORD_INVALID, f"line {number}: {problem}", pairs)
        lines.append(_Line(number, text, record))
    if not lines:
        return [], whole_file(REJECTED, Reason.TERMINAL_FILE_EMPTY, "the file holds no records", None)
    return lines, None


@dataclass(frozen=True, slots=True)
class TerminalLookups:
    """What a terminal file is checked against: the masters in force (terminal keys), the referential
    masters, card certificates and the terminal's loaded chain and gaps (see ingestion.terminal_state)."""

    in_force: MastersInForce
    referential: InMemoryMasters
    certs: CertLookup
    chains: TerminalChains


@dataclass(frozen=True, slots=True)
class ParsedTerminalFile:
    """A terminal file split into JSON records (lines), or the outcome that rejects it whole (rejected)."""

    lines: tuple[_Line, ...]
    rejected: FileOutcome | None

    def mykey_ids(self) -> set[str]:
        """The MyKey IDs of its use/cancel records (for prefetching certificates)."""
        return {line.record["mykey_id"] for line in self.lines[:-1] if "mykey_id" in line.record}

    def seq_window(self, terminal_id: str) -> tuple[str, int, int] | None:
        """(terminal_id, first seq - 1, last seq + 1): the loaded seqs its placement looks at."""
        if not self.lines:
            return None
        return terminal_id, self.lines[0].record["seq"] - 1, self.lines[-1].record["seq"] + 1


def parse_terminal_file(data: bytes, max_records: int) -> ParsedTerminalFile:
    """Split and shape-check a terminal file; reads nothing else."""
    lines, rejected = _parse(data, max_records)
    return ParsedTerminalFile(tuple(lines), rejected)


def _key_for(in_force: MastersInForce, terminal_id: str, seal: dict[str, Any]) -> Any:
    if seal.get("type") != "seal":
        return None
    encoded = in_force.terminal_key(terminal_id, parse_timestamp_jst(seal["ts"]).date())
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
        changes = [GapChange("resolve", terminal_id, low, high)]
        if low <= first - 1:
            changes.append(GapChange("open", terminal_id, low, first - 1))
        if last + 1 <= high:
            changes.append(GapChange("open", terminal_id, last + 1, high))
        return tuple(changes)
    if first > 1 and not predecessor_loaded:
        return (GapChange("open", terminal_id, chains.last_seal_before(terminal_id, first) + 1, first - 1),)
    return ()


def _placement(
    chains: TerminalChains, terminal_id: str, lines: tuple[_Line, ...]
) -> tuple[str | None, str, tuple[GapChange, ...]]:
    """(problem code or `duplicate`, detail, gap changes) for the file among the terminal's loaded files."""
    first, seal = lines[0].record, lines[-1].record
    loaded = chains.loaded_by_seq(terminal_id, first["seq"] - 1, seal["seq"] + 1)
    overlap = [line.record for line in lines if line.record["seq"] in loaded]
    if overlap:
        if len(overlap) == len(lines) and all(loaded[r["seq"]][1] == r["hash"] for r in overlap):
            return "duplicate", "repeats a loaded file of this terminal", ()
        return Reason.TERMINAL_FORK, "records with seqs already loaded differ from the loaded ones", ()
    if first["seq"] == 1 and first["prev_hash"] != terminal_log.GENESIS_HASH:
        return Reason.TERMINAL_CHAIN_BROKEN, "seq 1 must link to 64 zeros", ()
    predecessor = loaded.get(first["seq"] - 1)
    if predecessor is not None and predecessor[1] != first["prev_hash"]:
        return Reason.TERMINAL_FORK, f"seq {first['seq']} does not link to the loaded seal at seq-1", ()
    successor = loaded.get(seal["seq"] + 1)
    if successor is not None and successor[0] != seal["hash"]:
        return (
            Reason.TERMINAL_FORK,
            f"the loaded file from seq {seal['seq'] + 1} does not link to this seal",
            (),
        )
    return None, "", _gap_changes(chains, terminal_id, first["seq"], seal["seq"], predecessor is not None)


@lru_cache(maxsize=4096)
def _certificate(der_b64: str) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(der_b64, validate=True))
    except ValueError:
        return None


def _card_problem(record: dict[str, Any], ts: dt.datetime, certs: dict[str, list[Cert]]) -> QuarantinedRecord | None:
    serial = int(record["card_cert_serial"], 16)
    candidates = [
        c
        for c in certs.get(record["mykey_id"], [])
        if c.serial == serial and c.valid_from_ts <= ts and (c.revoked_ts is None or ts < c.revoked_ts)
    ]
    certificate = _certificate(candidates[0].der_b64) if candidates else None
    aware = ts.replace(tzinfo=dt.timezone(dt.timedelta(hours=9)))
    if certificate is None or not (certificate.not_valid_before_utc <= aware <= certificate.not_valid_after_utc):
        return QuarantinedRecord(
            0,
            Reason.TERMINAL_CERT_NOT_VALID,
            f"seq {record['seq']}: no registered, unrevoked certificate "
            f"of this serial and MyKey ID at {ts}",  # never the serial (issue 7 §2)
            None,
        )
    public_key = certificate.public_key()
    if not terminal_log.verify_card_signature(public_key, record):
        return QuarantinedRecord(
            0,
            Reason.TERMINAL_CARD_SIGNATURE_INVALID,
            f"seq {record['seq']}: the card signature does not verify",
            None,
        )
    return None


def _record_problem(
    record: dict[str, Any], masters: InMemoryMasters, certs: dict[str, list[Cert]], business_date: dt.date
) -> QuarantinedRecord | None:
    values = {c.name: (str(record[c.name]) if c.name in record else None) for c in _RECORD_VALUES.columns}
    typed, problems = check_fields(_RECORD_VALUES, values)
    if not problems:
        problems = date_range_problems(_RECORD_VALUES, typed, business_date)
    if problems:
        return QuarantinedRecord(0, problems[0].code, f"seq {record['seq']}: {problems[0].detail}", None)
    day = typed["ts"].date()
    for column, master, code in (
        ("municipality_code", "municipalities", Reason.MUNICIPALITY_UNKNOWN),
        ("merchant_id", "merchants", Reason.MERCHANT_UNKNOWN),
    ):
        if not masters.known(master, typed[column], day):
            return QuarantinedRecord(
                0,
                code,
                f"seq {record['seq']}: {column} {typed[column]} is not in the {master} master in force on {day}",
                None,
            )
    return _card_problem(record, typed["ts"], certs)


def _rows(lines: list[_Line], seal: _Line, first_seq: int, file: InboxFile, sha256: str) -> tuple[pa.Table, pa.Table]:
    upload = int(file.groups["upload"])
    lineage = {"file_sha256": sha256, "business_date": file.business_date, "upload_number": upload}
    records = [
        {
            **{name: line.record.get(name) for name in TERMINAL_RECORDS.column_names},
            **lineage,
            "ts": parse_timestamp_jst(line.record["ts"]),
            "line_number": line.line_number,
        }
        for line in lines
    ]
    seal_row = {
        **{name: seal.record.get(name) for name in TERMINAL_SEALS.column_names},
        **lineage,
        "ts": parse_timestamp_jst(seal.record["ts"]),
        "line_number": seal.line_number,
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
    everything = [(line.line_number, line.text) for line in lines]
    terminal_id = file.groups["terminal"]
    if any(line.record["terminal_id"] != terminal_id for line in lines):
        return whole_file(
            REJECTED,
            Reason.TERMINAL_ID_MISMATCH,
            f"records of another terminal than {terminal_id}",
            everything,
        )
    seal = lines[-1]
    if seal.record["type"] == "seal":
        seal_ts = {"ts": parse_timestamp_jst(seal.record["ts"])}
        seal_dates = date_range_problems(_RECORD_VALUES, seal_ts, file.business_date)
        if seal_dates:
            detail = f"line {seal.line_number}: seal {seal_dates[0].detail}"
            return whole_file(REJECTED, Reason.DATE_OUT_OF_RANGE, detail, everything)
    chain = terminal_log.verify_chain(
        [line.record for line in lines], _key_for(lookups.in_force, terminal_id, lines[-1].record)
    )
    if chain:
        return whole_file(
            REJECTED,
            chain[0].code,
            f"line {lines[max(chain[0].line_number, 1) - 1].line_number}: {chain[0].detail}",
            everything,
        )
    verdict, detail, gaps = _placement(lookups.chains, terminal_id, lines)
    if verdict == "duplicate":
        return FileOutcome(
            LOADED,
            len(lines),
            0,
            quarantined=tuple(
                QuarantinedRecord(n, Reason.DUPLICATE_KEY, f"(terminal_id, seq) already loaded: {detail}", text)
                for n, text in everything
            ),
        )
    if verdict is not None:
        return whole_file(REJECTED, verdict, detail, everything)
    certs = lookups.certs.certs_for({line.record["mykey_id"] for line in lines[:-1]})
    good: list[_Line] = []
    bad: list[QuarantinedRecord] = []
    for line in lines[:-1]:
        problem = _record_problem(line.record, lookups.referential, certs, file.business_date)
        if problem is None:
            good.append(line)
        else:
            bad.append(QuarantinedRecord(line.line_number, problem.reason_code, problem.detail, line.text))
    records, seals = _rows(good, lines[-1], lines[0].record["seq"], file, sha256)
    return FileOutcome(
        LOADED,
        len(lines),
        len(good) + 1,
        {"terminal_records": records, "terminal_seals": seals},
        tuple(bad),
        gap_changes=gaps,
    )
