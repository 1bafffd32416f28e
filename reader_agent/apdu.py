"""JPKI command APDUs and their answers, as pure functions (domain/jpki.md §1.2-§1.3).

Builders return the exact bytes OpenSC and myna send; `classify_pin_status` turns a VERIFY status word into
tries-left / locked; `der_total_length` reads a certificate's size from its DER header; `mask_apdu` is what an
APDU trace prints (the VERIFY body — the PIN — is never shown). Short APDUs only.

Hand-written: these are a handful of fixed byte strings from the JPKI protocol; no library speaks JPKI.
This module must never log, keep or return a PIN; `verify_pin_apdu` writes into a caller-owned bytearray so
the caller can wipe it.
"""

from __future__ import annotations

from dataclasses import dataclass

JPKI_AID = bytes.fromhex("D392F000260100000001")
EF_TOKEN = 0x0006
EF_AUTH_CERT = 0x000A
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
TOKEN_MY_NUMBER_CARD = "JPKIAPICCTOKEN2"
TOKEN_LENGTH = 32
CERT_BYTES_MAX = 4096
READ_CHUNK_BYTES_MAX = 255
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
LOCKED_STATUS_WORDS = (0x63C0, 0x6983, 0x6984)
AUTH_PIN_LENGTH = 4

SW_OK = 0x9000
SW_NOT_FOUND = 0x6A82
SW_SECURITY = 0x6982


def select_aid(aid: bytes = JPKI_AID) -> bytes:
    """SELECT by DF name, no FCI wanted (case 3)."""
    return bytes((0x00, 0xA4, 0x04, 0x0C, len(aid))) + aid


def select_ef(fid: int) -> bytes:
    """SELECT an EF of the current DF by its 2-byte FID (case 3)."""
    return bytes((0x00, 0xA4, 0x02, 0x0C, 0x02)) + fid.to_bytes(2, "big")


def read_binary(offset: int, length: int) -> bytes:
    """READ BINARY of `length` (1..256, 256 sent as 00) bytes at a 15-bit offset (case 2)."""
    if not 0 <= offset < 0x8000 or not 1 <= length <= 256:
        raise ValueError("READ BINARY offset or length out of range")
    return bytes((0x00, 0xB0, offset >> 8, offset & 0xFF, length & 0xFF))


def pin_tries_query() -> bytes:
    """VERIFY without data: asks for tries left, sends no PIN (case 1)."""
    return bytes((0x00, 0x20, 0x00, 0x80))


def verify_pin_apdu(pin: bytearray) -> bytearray:
    """VERIFY with the PIN's ASCII digits (case 3), in a bytearray the caller wipes after sending."""
    if len(pin) != AUTH_PIN_LENGTH or not all(0x30 <= b <= 0x39 for b in pin):
        raise ValueError("the auth PIN is exactly 4 digits")
    apdu = bytearray((0x00, 0x20, 0x00, 0x80, len(pin)))
    apdu += pin
    return apdu


def sign_apdu(digest_info: bytes) -> bytes:
    """COMPUTE DIGITAL SIGNATURE (CLA 80, case 4, Le=00) over a DigestInfo."""
    return bytes((0x80, 0x2A, 0x00, 0x80, len(digest_info))) + digest_info + b"\x00"


def sha256_digest_info(digest: bytes) -> bytes:
    """DER DigestInfo for a SHA-256 digest: what the card signs (51 bytes)."""
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    return SHA256_DIGEST_INFO_PREFIX + digest


def der_total_length(header: bytes, limit: int = CERT_BYTES_MAX) -> int:
    """Total size of a DER SEQUENCE from its first bytes (`30 81 ll`, `30 82 hh ll`, `30 83 ...`).

    Raises ValueError for anything that is not a definite-length SEQUENCE or is larger than `limit`.
    """
    if len(header) < 2 or header[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    first = header[1]
    if first < 0x80:
        total = 2 + first
    else:
        count = first & 0x7F
        if count == 0 or count > 3 or len(header) < 2 + count:
            raise ValueError("unsupported DER length form")
        total = 2 + count + int.from_bytes(header[2:2 + count], "big")
    if total > limit:
        raise ValueError(f"DER object of {total} bytes exceeds the {limit}-byte cap")
    return total


@dataclass(frozen=True, slots=True)
class PinStatus:
    """What a VERIFY status word says: tries_left (None when unknown), locked, verified (9000)."""

    tries_left: int | None
    locked: bool
    verified: bool


def classify_pin_status(sw: int) -> PinStatus | None:
    """63Cx → x tries left (63C0 locked); 6983/6984 → locked; 9000 → verified; None for anything else."""
    if sw in LOCKED_STATUS_WORDS:
        return PinStatus(tries_left=0, locked=True, verified=False)
    if sw & 0xFFF0 == 0x63C0:
        return PinStatus(tries_left=sw & 0x0F, locked=False, verified=False)
    if sw == SW_OK:
        return PinStatus(tries_left=None, locked=False, verified=True)
    return None


def mask_apdu(apdu: bytes | bytearray) -> str:
    """Hex for a trace; the data field of a VERIFY (INS 20) is replaced by `**`s of the same count (and never
    copied: only the 5-byte header is read out of the command)."""
    if len(apdu) > 5 and apdu[1] == 0x20:
        return bytes(apdu[:5]).hex(" ").upper() + " " + " ".join("**" for _ in range(len(apdu) - 5))
    return bytes(apdu).hex(" ").upper()


def mask_response(command: bytes | bytearray, data: bytes, sw: int) -> str:
    """Hex for a trace of the card's answer; what READ BINARY (INS B0) returns — the user-auth certificate,
    whose serial identifies the resident's MyKey registration — is shown only by its length."""
    if len(command) > 1 and command[1] == 0xB0 and data:
        return f"({len(data)} bytes) SW {sw:04X}"
    return f"{data.hex(' ').upper()} SW {sw:04X}".lstrip()
