"""Terminal logs: the signed, hash-chained JSON Lines files that shop terminals upload (FORMATS.md, terminal/).

What lives here is the byte-exact part both sides must agree on: the canonical form, the record hash, the card
message the resident's card signs, the seal and its Ed25519 signature, and verification of a file on its own.
The reader agent writes with it, the simulator forges worlds with it, ingestion verifies with it.

Written by hand: the canonical form is this format's own (sorted keys, compact separators, UTF-8, integers
only); no library defines it. Cryptography comes from `cryptography`.
This module never sees a PIN; it only handles what goes into the log.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

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


def _check_canonical_value(value: Any) -> None:
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


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One reason a terminal file fails verification on its own.

    code: stable reason code (see docs/formats.md); line_number: 1-based line, 0 for the file as a whole;
    detail: a human sentence (never carries personal data beyond ids already in the record).
    """

    code: str
    line_number: int
    detail: str


def verify_chain(records: Sequence[Mapping[str, Any]],
                 public_key: ed25519.Ed25519PublicKey | None) -> list[ChainProblem]:
    """Check one file's records on their own: hashes recompute, `prev_hash` links, `seq` rises by one, the
    file ends with exactly one seal whose count is right and whose signature verifies with `public_key`.

    Linking the first record to the previous file's seal is the caller's job (it needs the other file).
    Returns every problem found; an empty list means the file verifies.
    """
    problems: list[ChainProblem] = []
    if not records:
        return [ChainProblem("terminal_file_empty", 0, "the file holds no records")]
    for index, record in enumerate(records):
        line = index + 1
        if record.get("hash") != record_hash(record):
            problems.append(ChainProblem("terminal_hash_mismatch", line, "the record's hash does not recompute"))
        if index > 0:
            previous = records[index - 1]
            if record.get("prev_hash") != previous.get("hash"):
                problems.append(ChainProblem("terminal_chain_broken", line,
                                             "prev_hash does not equal the previous record's hash"))
            if record.get("seq") != previous.get("seq", 0) + 1:
                problems.append(ChainProblem("terminal_seq_not_consecutive", line,
                                             f"seq {record.get('seq')} does not follow {previous.get('seq')}"))
        if record.get("type") == "seal" and index != len(records) - 1:
            problems.append(ChainProblem("terminal_seal_not_last", line, "a seal record before the end of the file"))
    seal = records[-1]
    if seal.get("type") != "seal":
        problems.append(ChainProblem("terminal_seal_missing", len(records), "the file does not end with a seal"))
        return problems
    if seal.get("records") != len(records) - 1:
        problems.append(ChainProblem("terminal_seal_count_mismatch", len(records),
                                     f"seal counts {seal.get('records')} records, the file holds {len(records) - 1}"))
    if public_key is None:
        problems.append(ChainProblem("terminal_key_unknown", len(records),
                                     "no terminal key in force on the seal's date"))
    elif not verify_seal_signature(public_key, seal):
        problems.append(ChainProblem("terminal_seal_signature_invalid", len(records),
                                     "the seal's signature does not verify with the terminal's key"))
    return problems


def iter_json_lines(data: bytes) -> Iterable[tuple[int, str]]:
    """(line_number, text) for each non-empty line of a JSON Lines file, LF or CRLF."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        text = raw.rstrip(b"\r").decode("utf-8")
        if text.strip():
            yield number, text
