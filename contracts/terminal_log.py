"""Terminal logs: the signed, hash-chained JSON Lines files that shop terminals upload (FORMATS.md, terminal/).

The whole terminal-log contract lives here, once: the record shape and value rules (`parse_file` /
`parse_line` into typed `TerminalRecord` / `TerminalSeal`), the constructors producers use (`record_body`,
`make_seal`), the canonical form, the record hash, the card message the resident's card signs, the seal and
its Ed25519 signature, and verification of a file on its own. The reader agent writes with it, the simulator
forges worlds with it, ingestion verifies with it. File names are in contracts.inbox_names.

Reading is hostile-input safe and linear in the input: a line is bounded in bytes before it is decoded, its
nesting is bounded before it is parsed, integers are bounded while parsed, duplicate keys, NaN/Infinity, lone
surrogates and a byte order mark are refused, and nothing read is ever kept in clear if it holds a personal
number: `ParsedLine.safe_text` is the line re-serialised from the parsed object with such values masked.

Written by hand: the canonical form is this format's own (sorted keys, compact separators, UTF-8, integers
only); no library defines it. Cryptography comes from `cryptography`.
This module never sees a PIN; it only handles what goes into the log.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from contracts.codes import MY_NUMBER_MASK, is_valid_municipality_code, looks_like_my_number
from contracts.jst import parse_timestamp
from contracts.limits import AMOUNT_MAX_YEN, BIGINT_MAX
from contracts.problems import Problem
from contracts.reasons import Reason
from contracts.schemas import HEX_SERIAL, MERCHANT_ID, MUNICIPALITY_CODE, MYKEY_ID, TERMINAL_ID
from contracts.validation import TRANSACTION_DAYS_AFTER_MAX, TRANSACTION_DAYS_BEFORE_MAX

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64
RECORD_TYPES = ("use", "cancel", "seal")
CARD_MESSAGE_FIELDS = (
    "type", "terminal_id", "seq", "ts", "merchant_id", "municipality_code", "mykey_id", "amount", "auth_id",
)
HASH_EXCLUDED_FIELDS = ("hash", "term_sig")
USE_FIELDS = frozenset((
    "v", "type", "terminal_id", "seq", "ts", "merchant_id", "municipality_code", "mykey_id", "amount",
    "auth_id", "card_cert_serial", "card_sig", "prev_hash", "hash",
))
CANCEL_FIELDS = USE_FIELDS | {"cancel_of"}
SEAL_FIELDS = frozenset(("v", "type", "terminal_id", "seq", "ts", "records", "prev_hash", "hash", "term_sig"))
FIELDS_BY_TYPE = {"use": USE_FIELDS, "cancel": CANCEL_FIELDS, "seal": SEAL_FIELDS}


class CanonicalFormError(ValueError):
    """A value that the canonical form cannot carry (a float, a bool, a non-string key)."""


_PLAIN_TYPES = frozenset((str, int, type(None)))  # exact types: a bool is an int subclass, and is refused


# msgspec writes the canonical form of a flat record byte for byte as json.dumps(sort_keys=True, separators=(",",
# ":"), ensure_ascii=False) does (tests/contracts/test_terminal_log.py holds it to that over arbitrary text and
# integers), in a tenth of the time: a national day hashes and verifies two canonical forms of each of a million
# records. Anything else (a seal's nested values, a bool to refuse) goes through json.
_FLAT_ENCODER = msgspec.json.Encoder(order="sorted")


def _is_flat_record(value: Any) -> bool:
    return (type(value) is dict and all(type(v) in _PLAIN_TYPES for v in value.values())
            and all(type(k) is str for k in value))


def _check_canonical_value(value: Any) -> None:
    if _is_flat_record(value):
        return  # a flat record of text, integers and nulls (every record but a seal): decided at once
    if isinstance(value, bool) or isinstance(value, float):
        raise CanonicalFormError(f"canonical form carries integers only, not {type(value).__name__}")
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise CanonicalFormError("canonical form keys are strings")
            _check_canonical_value(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_canonical_value(inner)
    elif value is not None and not isinstance(value, str | int):
        raise CanonicalFormError(f"canonical form cannot carry {type(value).__name__}")


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """JSON with keys sorted, separators `,` and `:`, no whitespace, non-ASCII as UTF-8, integers only."""
    if _is_flat_record(obj):
        return _FLAT_ENCODER.encode(obj)
    _check_canonical_value(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (lowercase hex) of the record's canonical form without `hash` and `term_sig`."""
    body = {k: v for k, v in record.items() if k not in HASH_EXCLUDED_FIELDS}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def card_message(record: Mapping[str, Any]) -> bytes:
    """The bytes the resident's card signs: the canonical form of the card-message fields of a use or cancel."""
    fields = CARD_MESSAGE_FIELDS + (("cancel_of",) if record.get("type") == "cancel" else ())
    return canonical_bytes({k: record[k] for k in fields})


def card_message_digest(record: Mapping[str, Any]) -> bytes:
    """SHA-256 of the card message: what goes inside the DigestInfo the card signs."""
    return hashlib.sha256(card_message(record)).digest()


def sign_card_message_with_key(private_key: rsa.RSAPrivateKey, record: Mapping[str, Any]) -> str:
    """RSASSA-PKCS1-v1_5 / SHA-256 over the card message, base64: what a card's user-auth key produces."""
    signature = private_key.sign(card_message(record), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify_card_signature(public_key: rsa.RSAPublicKey, record: Mapping[str, Any]) -> bool:
    """True when `record["card_sig"]` is a valid PKCS#1 v1.5 / SHA-256 signature over its card message."""
    try:
        signature = base64.b64decode(record["card_sig"], validate=True)
        public_key.verify(signature, card_message(record), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def terminal_public_key_b64(private_key: ed25519.Ed25519PrivateKey) -> str:
    """The terminals master file's `public_key`: 32 raw bytes, base64."""
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_terminal_public_key(public_key_b64: str) -> ed25519.Ed25519PublicKey:
    """Parse the terminals master's `public_key`; raises ValueError when it is not 32 bytes of base64."""
    raw = base64.b64decode(public_key_b64, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 raw bytes")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def sign_seal(private_key: ed25519.Ed25519PrivateKey, seal_hash_hex: str) -> str:
    """Ed25519 signature over the 32 raw bytes of the seal's hash, base64."""
    return base64.b64encode(private_key.sign(bytes.fromhex(seal_hash_hex))).decode("ascii")


def verify_seal_signature(public_key: ed25519.Ed25519PublicKey, seal: Mapping[str, Any]) -> bool:
    """True when the seal's `term_sig` verifies over its `hash` with the terminal's key."""
    try:
        public_key.verify(base64.b64decode(seal["term_sig"], validate=True), bytes.fromhex(seal["hash"]))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def finish_record(record: dict[str, Any]) -> dict[str, Any]:
    """Set `hash` on a record whose other fields (prev_hash included) are set; returns the same dict."""
    record["hash"] = record_hash(record)
    return record


def make_seal(terminal_id: str, seq: int, ts: str, records: int, prev_hash: str,
              private_key: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    """A complete seal record: counted, chained, hashed and signed by the terminal's key."""
    seal: dict[str, Any] = {
        "v": FORMAT_VERSION, "type": "seal", "terminal_id": terminal_id, "seq": seq, "ts": ts,
        "records": records, "prev_hash": prev_hash,
    }
    finish_record(seal)
    seal["term_sig"] = sign_seal(private_key, seal["hash"])
    return seal


def dump_line(record: Mapping[str, Any]) -> bytes:
    """One JSON Lines line (canonical form plus LF) for a record, `hash` and `term_sig` included."""
    return canonical_bytes(record) + b"\n"


def _chain_problem(code: str, line: int, detail: str) -> Problem:
    """A verification problem of a terminal file: `line` is the 1-based record line, 0 for the file as a whole;
    the detail never carries personal data beyond ids already in the record."""
    return Problem(code, None, detail, line=line)


def verify_chain(records: Sequence[Mapping[str, Any]],
                 public_key: ed25519.Ed25519PublicKey | None) -> list[Problem]:
    """Check one file's records on their own: hashes recompute, `prev_hash` links, `seq` rises by one, the
    file ends with exactly one seal whose count is right and whose signature verifies with `public_key`.

    Linking the first record to the previous file's seal is the caller's job (it needs the other file).
    Returns every problem found; an empty list means the file verifies.
    """
    problems: list[Problem] = []
    if not records:
        return [_chain_problem("terminal_file_empty", 0, "the file holds no records")]
    for index, record in enumerate(records):
        line = index + 1
        if record.get("hash") != record_hash(record):
            problems.append(_chain_problem("terminal_hash_mismatch", line, "the record's hash does not recompute"))
        if index > 0:
            previous = records[index - 1]
            if record.get("prev_hash") != previous.get("hash"):
                problems.append(_chain_problem("terminal_chain_broken", line,
                                                "prev_hash does not equal the previous record's hash"))
            if record.get("seq") != previous.get("seq", 0) + 1:
                problems.append(_chain_problem("terminal_seq_not_consecutive", line,
                                             f"seq {record.get('seq')} does not follow {previous.get('seq')}"))
        if record.get("type") == "seal" and index != len(records) - 1:
            problems.append(_chain_problem("terminal_seal_not_last", line, "a seal record before the end of the file"))
    seal = records[-1]
    if seal.get("type") != "seal":
        problems.append(_chain_problem("terminal_seal_missing", len(records), "the file does not end with a seal"))
        return problems
    if seal.get("records") != len(records) - 1:
        problems.append(_chain_problem("terminal_seal_count_mismatch", len(records),
                                     f"seal counts {seal.get('records')} records, the file holds {len(records) - 1}"))
    if public_key is None:
        problems.append(_chain_problem("terminal_key_unknown", len(records),
                                     "no terminal key in force on the seal's date"))
    elif not verify_seal_signature(public_key, seal):
        problems.append(_chain_problem("terminal_seal_signature_invalid", len(records),
                                     "the seal's signature does not verify with the terminal's key"))
    return problems


def iter_json_lines(data: bytes) -> Iterable[tuple[int, str]]:
    """(line_number, text) for each non-empty line of a JSON Lines file, LF or CRLF (raises UnicodeDecodeError
    on bytes that are not UTF-8). For a terminal's own log; files from outside go through `parse_file`."""
    for number, raw in split_lines(data):
        yield number, raw.decode("utf-8")


# --- reading a file from outside: limits --------------------------------------------------------------------
LINE_BYTES_MAX = 16 * 1024  # a use record is about 800 bytes (an RSA-4096 card signature is 684 base64 chars)
NESTING_MAX = 4  # a record is one flat object; anything deeper is refused before it is parsed
INT_DIGITS_MAX = 19  # BIGINT: longer digit runs are refused while parsing, before int() sees them
STRING_CHARS_MAX = 1024  # any text value of a record (signatures included)
REF_CHARS_MAX = 128  # auth_id, cancel_of: identifiers the platform assigns; FORMATS gives them no pattern
SEQ_MAX = BIGINT_MAX - 1  # seq + 1 (the next record, a gap's end) must still fit a BIGINT
QUARANTINE_TEXT_CHARS_MAX = 4096  # what of an unparseable line may be kept as evidence
BOM = b"\xef\xbb\xbf"
_HASH_RE = re.compile(r"[0-9a-f]{64}")
_TERMINAL_ID_RE = re.compile(TERMINAL_ID)
_MERCHANT_ID_RE = re.compile(MERCHANT_ID)
_MUNICIPALITY_RE = re.compile(MUNICIPALITY_CODE)
_MYKEY_ID_RE = re.compile(MYKEY_ID)
_HEX_SERIAL_RE = re.compile(HEX_SERIAL)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_INT_FIELDS = frozenset(("v", "seq", "amount", "records"))


@dataclass(frozen=True, slots=True)
class TerminalRecord:
    """One use or cancel as a terminal logged it. `ts` is the text as written (hashed and signed as
    written), `ts_jst` the same moment parsed once, aware, in JST; `cancel_of` is None for a use."""

    type: str
    terminal_id: str
    seq: int
    ts: str
    ts_jst: dt.datetime
    merchant_id: str
    municipality_code: str
    mykey_id: str
    amount: int
    auth_id: str
    cancel_of: str | None
    card_cert_serial: str
    card_sig: str
    prev_hash: str
    hash: str
    v: int = FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class TerminalSeal:
    """The seal that ends an upload file: `records` counted before it, signed by the terminal (`term_sig`)."""

    terminal_id: str
    seq: int
    ts: str
    ts_jst: dt.datetime
    records: int
    prev_hash: str
    hash: str
    term_sig: str
    v: int = FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One non-empty line of a terminal file.

    fields: the JSON object as read (None when the line is no JSON object); entry: the typed record or seal
    when the shape rules hold; shape: the shape problem (the file is refused whole) or None; values: the
    value problems of a use/cancel (the record alone is quarantined; every problem kept, the first is the
    reason); parsed: whether the line was JSON at all, value: the parsed JSON value (any type), unparsed: what
    may be kept of a line that was not JSON. `safe_text` is computed only when a line is to be stored.
    """

    line_number: int
    fields: dict[str, Any] | None
    entry: TerminalRecord | TerminalSeal | None
    shape: Problem | None
    values: tuple[Problem, ...]
    parsed: bool = False
    value: Any = None
    unparsed: str | None = None

    @property
    def safe_text(self) -> str | None:
        """What may be stored of the line: re-serialised with personal numbers masked by field, or for a line
        that is not JSON its plain-ASCII text without escapes (None when nothing can be kept safely)."""
        return safe_serialisation(self.value) if self.parsed else self.unparsed


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A terminal file read line by line. problem: the file's own problem (a byte order mark) or None; lines:
    every non-empty line in order (a line too long to read holds its problem in `shape`)."""

    lines: tuple[ParsedLine, ...]
    problem: Problem | None

    def first_shape_problem(self) -> tuple[ParsedLine, Problem] | None:
        for line in self.lines:
            if line.shape is not None:
                return line, line.shape
        return None


class _Refused(ValueError):
    """Raised inside the JSON parser's hooks: the line is refused (message is safe to show)."""


def split_lines(data: bytes) -> list[tuple[int, bytes]]:
    """(line_number, bytes without the line end) of each non-blank line, LF or CRLF line ends."""
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        body = raw[:-1] if raw.endswith(b"\r") else raw
        if body.strip(b" \t\r"):
            lines.append((number, body))
    return lines


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > INT_DIGITS_MAX:
        raise _Refused("an integer has more digits than a 64-bit integer holds")
    value = int(text)
    if not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
        raise _Refused("an integer is past 64 bits")
    return value


def _no_constants(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("a key appears twice in one object")
    return result


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays/objects outside string literals (an upper bound when it is small); one
    pass over the text, only for the rare line with more brackets than a record can nest."""
    brackets = text.count("[") + text.count("{")
    if brackets <= NESTING_MAX:
        return brackets
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _loads(text: str) -> Any:
    """Strict RFC 8259 parse of one line: no NaN/Infinity, no duplicate keys, 64-bit integers, bounded depth."""
    if _nesting_depth(text) > NESTING_MAX:
        raise _Refused(f"nested deeper than {NESTING_MAX} levels")
    try:
        return json.loads(
            text, parse_int=_bounded_int, parse_constant=_no_constants, object_pairs_hook=_no_duplicate_keys
        )
    except RecursionError as exc:  # unreachable after the depth check; kept so no input escapes as a crash
        raise _Refused("nested too deeply") from exc


# A line written in the canonical form of a flat record (every line a terminal writes: dump_line) is decoded by
# msgspec, 2.5x faster than json.loads with the hooks above. Re-encoding it and getting the same bytes back proves
# what the strict parse checks: no key twice (the object would encode shorter), no NaN, Infinity, float or bool (not
# a flat record), no whitespace or other escapes, depth 1; a UTF-8 text (the encoder writes nothing else). Only
# the integers' 64 bits are left to check. Any other line is parsed strictly.
_DECODER = msgspec.json.Decoder()


def _canonical_flat_record(raw: bytes) -> dict[str, Any] | None:
    """The object of a line that is exactly the canonical form of a flat record with 64-bit integers: what _loads
    returns for it. None for any other line (_loads decides)."""
    if raw.count(b"[") + raw.count(b"{") > NESTING_MAX:  # may nest deeper than msgspec's recursion limit
        return None
    try:
        obj = _DECODER.decode(raw)
        if not _is_flat_record(obj) or _FLAT_ENCODER.encode(obj) != raw:
            return None
    except (msgspec.MsgspecError, ValueError, RecursionError):  # not JSON, not UTF-8, or not UTF-8-able text
        return None
    for value in obj.values():
        if type(value) is int and not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
            return None
    return obj


def _masked(value: Any) -> Any:
    """The parsed value with every text value (or key) that is a personal number masked."""
    if isinstance(value, str):
        return MY_NUMBER_MASK if looks_like_my_number(value) else value
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def safe_serialisation(value: Any) -> str:
    """A parsed JSON value re-serialised (sorted keys, compact) with personal numbers masked; lone
    surrogates written as escapes so the text can be stored as UTF-8."""
    text = json.dumps(_masked(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _unparsed_safe_text(text: str) -> str | None:
    """What may be kept of a line that did not parse: plain ASCII without escapes (the store masks digit runs);
    anything else could hide a personal number the parser never saw, so it is withheld."""
    if text.isascii() and "\\" not in text and len(text) <= QUARANTINE_TEXT_CHARS_MAX:
        return text
    return None


def _shape(code: str, field: str | None, detail: str) -> Problem:
    # A detail may quote keys from the input: lone surrogates are written as escapes so it can be stored.
    return Problem(code, field, detail.encode("utf-8", "backslashreplace").decode("utf-8"))


_FIELD_TYPES = {kind: {name: int if name in _INT_FIELDS else str for name in fields}
                for kind, fields in FIELDS_BY_TYPE.items()}
# The text fields of a use/cancel whose value rules `_value_problems` checks, in name order: every text field but
# the timestamp and the hashes (the shape rules decide those). With its shape holding, a record has exactly these.
_VALUE_TEXT_FIELDS = {kind: tuple(sorted(name for name, wanted in types.items()
                                         if wanted is str and name not in ("ts", "hash", "prev_hash")))
                      for kind, types in _FIELD_TYPES.items() if kind != "seal"}
_VALUE_PATTERNS = (
    ("merchant_id", _MERCHANT_ID_RE, "M followed by 8 digits"),
    ("municipality_code", _MUNICIPALITY_RE, "6 digits"),
    ("mykey_id", _MYKEY_ID_RE, "8 to 16 letters and digits with a letter"),
    ("card_cert_serial", _HEX_SERIAL_RE, "1 to 64 hex digits"),
)


def _shape_problem(obj: Any) -> tuple[Problem | None, dt.datetime | None]:
    """The rules that make a line a record at all; breaking one refuses the file (terminal_record_invalid).
    Returns (the first problem, None), or (None, `ts` parsed in JST) when they hold."""
    invalid = Reason.TERMINAL_RECORD_INVALID
    if not isinstance(obj, dict):
        return _shape(invalid, None, f"a JSON {type(obj).__name__}, not an object"), None
    record_type = obj.get("type")
    types = _FIELD_TYPES.get(record_type) if isinstance(record_type, str) else None
    if types is None:
        return _shape(invalid, "type", "type is not use, cancel or seal"), None
    if obj.keys() != types.keys():
        differ = ", ".join(sorted(_masked(key)[:40] for key in set(obj) ^ types.keys()))  # keys are input too
        return _shape(invalid, None, f"fields differ from a {record_type} record: {differ}"[:300]), None
    for name, value in obj.items():
        wanted = types[name]
        # exact types: a JSON value is a bool, an int, a str, ...; a bool is an int subclass, and is refused
        if type(value) is not wanted:
            return _shape(invalid, name, f"{name} is not {'an integer' if wanted is int else 'a string'}"), None
        # an ASCII text holds no surrogate: the pattern is searched only in the rare text that is not
        if wanted is str and (len(value) > STRING_CHARS_MAX or (not value.isascii() and _SURROGATE_RE.search(value))):
            detail = f"{name} is longer than {STRING_CHARS_MAX} characters or not Unicode text"
            return _shape(invalid, name, detail), None
    if obj["v"] != FORMAT_VERSION:
        return _shape(invalid, "v", f"format version {obj['v']} is not {FORMAT_VERSION}"), None
    if not 1 <= obj["seq"] <= SEQ_MAX:
        return _shape(invalid, "seq", f"seq is outside 1..{SEQ_MAX}"), None
    if record_type == "seal" and not 0 <= obj["records"] <= BIGINT_MAX:
        return _shape(invalid, "records", "records is negative"), None
    if not _TERMINAL_ID_RE.fullmatch(obj["terminal_id"]):
        return _shape(invalid, "terminal_id", "terminal_id is not T followed by 8 digits"), None
    ts_jst = parse_timestamp(obj["ts"])
    if ts_jst is None:
        return _shape(invalid, "ts", "ts is not an ISO 8601 timestamp with offset"), None
    for name in ("prev_hash", "hash"):
        if not _HASH_RE.fullmatch(obj[name]):
            return _shape(invalid, name, f"{name} is not 64 lowercase hex digits"), None
    return None, ts_jst


def _value_problems(obj: Mapping[str, Any]) -> tuple[Problem, ...]:
    """The value rules of a use/cancel (shape already holds), in check order: required, personal number,
    patterns, amount. Such a record is quarantined on its own."""
    problems: list[Problem] = []
    texts = _VALUE_TEXT_FIELDS[obj["type"]]
    for name in texts:
        if obj[name] == "":
            problems.append(Problem(Reason.FIELD_REQUIRED, name, f"{name} is empty"))
    personal = {name for name in texts if looks_like_my_number(obj[name])}
    for name in sorted(personal):
        problems.append(Problem(Reason.MY_NUMBER_DETECTED, name, f"{name} holds a personal number (masked)"))
    for name, pattern, shape in _VALUE_PATTERNS:
        if obj[name] and name not in personal and not pattern.fullmatch(obj[name]):
            problems.append(Problem(Reason.FIELD_PATTERN, name, f"{name} is not {shape}"))
    code = obj["municipality_code"]
    if _MUNICIPALITY_RE.fullmatch(code) and not is_valid_municipality_code(code):
        problems.append(Problem(Reason.MUNICIPALITY_CODE_CHECK_DIGIT, "municipality_code",
                                    f"municipality_code {code} fails its check digit"))
    for name in ("auth_id", "cancel_of"):
        if name in obj and len(obj[name]) > REF_CHARS_MAX:
            problems.append(Problem(Reason.FIELD_PATTERN, name, f"{name} is longer than {REF_CHARS_MAX}"))
    amount = obj["amount"]
    if amount < 0:
        problems.append(Problem(Reason.AMOUNT_SIGNED, "amount", "amount is negative"))
    elif amount > AMOUNT_MAX_YEN:
        problems.append(Problem(Reason.AMOUNT_OUT_OF_RANGE, "amount",
                                    f"amount {amount} is over {AMOUNT_MAX_YEN:,} yen for one transaction"))
    return tuple(problems)


def _entry(obj: Mapping[str, Any], ts_jst: dt.datetime) -> TerminalRecord | TerminalSeal:
    if obj["type"] == "seal":
        return TerminalSeal(obj["terminal_id"], obj["seq"], obj["ts"], ts_jst, obj["records"], obj["prev_hash"],
                            obj["hash"], obj["term_sig"], obj["v"])
    return TerminalRecord(
        obj["type"], obj["terminal_id"], obj["seq"], obj["ts"], ts_jst, obj["merchant_id"],
        obj["municipality_code"], obj["mykey_id"], obj["amount"], obj["auth_id"], obj.get("cancel_of"),
        obj["card_cert_serial"], obj["card_sig"], obj["prev_hash"], obj["hash"], obj["v"],
    )


def parse_line(line_number: int, raw: bytes) -> ParsedLine:
    """One line of a terminal file (without its line end): shape and value rules. Never raises."""
    invalid_json = Reason.TERMINAL_JSON_INVALID
    if len(raw) > LINE_BYTES_MAX:
        return ParsedLine(line_number, None, None, Problem(
            Reason.TERMINAL_LINE_TOO_LONG, None, f"{len(raw)} bytes is over the limit of {LINE_BYTES_MAX}"), (), None)
    obj = _canonical_flat_record(raw)
    if obj is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return ParsedLine(line_number, None, None, Problem(invalid_json, None, "the line is not UTF-8"), (), None)
        try:
            obj = _loads(text)
        except (_Refused, ValueError) as exc:
            detail = str(exc) if isinstance(exc, _Refused) else "not JSON"
            return ParsedLine(line_number, None, None, Problem(invalid_json, None, detail),
                              (), unparsed=_unparsed_safe_text(text))
    shape, ts_jst = _shape_problem(obj)
    if shape is not None:
        return ParsedLine(line_number, obj if isinstance(obj, dict) else None, None, shape, (), True, obj)
    assert ts_jst is not None  # the shape rules parsed it
    values = () if obj["type"] == "seal" else _value_problems(obj)
    return ParsedLine(line_number, obj, _entry(obj, ts_jst), None, values, True, obj)


def parse_file(data: bytes, max_lines: int | None = None) -> ParsedFile:
    """Every non-empty line of a terminal file, parsed. A leading byte order mark is the file's problem (the
    lines after it are still parsed, for what may be kept of them); more than `max_lines` lines is too (and
    then no line is parsed). Never raises."""
    problem = None
    if data.startswith(BOM):  # RFC 8259 forbids adding one; the canonical form has none
        problem = Problem(Reason.TERMINAL_JSON_INVALID, None, "the file starts with a byte order mark")
        data = data[len(BOM):]
    raw_lines = split_lines(data)
    if max_lines is not None and len(raw_lines) > max_lines:
        return ParsedFile((), Problem(Reason.FILE_TOO_MANY_ROWS, None,
                                          f"more than {max_lines} records (the configured limit)"))
    return ParsedFile(tuple(parse_line(number, raw) for number, raw in raw_lines), problem)


def ts_window_problem(ts_jst: dt.datetime, business_date: dt.date, what: str) -> Problem | None:
    """`date_out_of_range` when a record's or seal's JST date is outside D-400 .. D+1 (as CSV timestamps)."""
    low = business_date - dt.timedelta(days=TRANSACTION_DAYS_BEFORE_MAX)
    high = business_date + dt.timedelta(days=TRANSACTION_DAYS_AFTER_MAX)
    day = ts_jst.date()
    if low <= day <= high:
        return None
    return Problem(Reason.DATE_OUT_OF_RANGE, "ts", f"{what} ts {day} is outside {low}..{high}")


def record_body(record_type: str, terminal_id: str, seq: int, ts: str, merchant_id: str, municipality_code: str,
                mykey_id: str, amount: int, auth_id: str, card_cert_serial: str,
                cancel_of: str | None = None) -> dict[str, Any]:
    """The fields of a use/cancel before `card_sig`, `prev_hash` and `hash` (what producers build and sign)."""
    if record_type not in ("use", "cancel") or (record_type == "cancel") != (cancel_of is not None):
        raise ValueError("a use has no cancel_of; a cancel has one")
    body: dict[str, Any] = {
        "v": FORMAT_VERSION, "type": record_type, "terminal_id": terminal_id, "seq": seq, "ts": ts,
        "merchant_id": merchant_id, "municipality_code": municipality_code, "mykey_id": mykey_id,
        "amount": amount, "auth_id": auth_id, "card_cert_serial": card_cert_serial,
    }
    if cancel_of is not None:
        body["cancel_of"] = cancel_of
    return body
