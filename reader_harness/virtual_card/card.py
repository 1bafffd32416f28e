"""The JPKI applet of a simulated My Number Card, as an APDU-in / response-out state machine.

It answers exactly the commands of domain/jpki.md §1.2 the way OpenSC and myna expect a real card to (§3.5):
SELECT by AID and by FID, READ BINARY (offset or short EF, short or extended Le), VERIFY (retry query and PIN,
P2=80 after a SELECT or P2=80|SFI), COMPUTE DIGITAL SIGNATURE over a caller-supplied DigestInfo with PKCS#1
v1.5 type-1 padding. Volatile state (selected DF/EF, verified PINs) is lost on power off, reset and re-SELECT
of the AP; retry counters are persistent (kept in a JSON file, written before the answer, like EEPROM).

Fault knobs (`CardFaults`) make it misbehave the ways tests need: one try left, locked PIN answering 63C0,
6983 or 6984, pulled out right after a correct VERIFY, slow answers, a non-JPKI card, another token.

Hand-written on purpose: the card pads and exponentiates itself (raw RSA with the private numbers), because a
card signs whatever DigestInfo it is given and `cryptography` has no "PKCS#1 type-1 pad these bytes" API.
Simulation only: it must never hold real keys, and it never logs a PIN it receives.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

JPKI_AID = bytes.fromhex("D392F000260100000001")
TOKEN_MY_NUMBER_CARD = b"JPKIAPICCTOKEN2"
DEFAULT_ATR = bytes.fromhex("3BC5FF8131FB458073C6010000")
NON_JPKI_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")

EF_SIGN_CERT, EF_SIGN_CA, EF_TOKEN = 0x0001, 0x0002, 0x0006
EF_AUTH_CERT, EF_AUTH_CA = 0x000A, 0x000B
EF_AUTH_KEY, EF_AUTH_PIN, EF_SIGN_KEY, EF_SIGN_PIN = 0x0017, 0x0018, 0x001A, 0x001B
AUTH_PIN_TRIES_MAX, SIGN_PIN_TRIES_MAX = 3, 5
EF_PADDED_SIZE = 2048  # the certificate EF is larger than the certificate it holds (jpki.md §1.2)

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY = b"\x69\x82"
SW_NOT_ALLOWED = b"\x69\x86"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_WRONG_OFFSET = b"\x6b\x00"
SW_INS = b"\x6d\x00"
SW_CLA = b"\x6e\x00"


@dataclass(frozen=True, slots=True)
class CardFaults:
    """How this card misbehaves.

    locked_sw: the status word a locked PIN answers (0x63C0, 0x6983 or 0x6984); delay_ms: added to every APDU
    answer; pull_after_verify: the card is pulled out right after answering a correct auth-PIN VERIFY;
    non_jpki: the card has no JPKI applet (every SELECT by AID answers 6A82); token: the token EF's content;
    mute: the card gives no ATR, so the reader reports it MUTE (present but unusable); verify_delay_ms: added
    only to the answer of a VERIFY that carries a PIN (a slow card at exactly that step, for Ctrl+C tests).
    """

    locked_sw: int = 0x63C0
    delay_ms: int = 0
    verify_delay_ms: int = 0
    pull_after_verify: bool = False
    non_jpki: bool = False
    token: bytes = TOKEN_MY_NUMBER_CARD
    mute: bool = False


@dataclass(frozen=True, slots=True)
class CardContent:
    """What the card holds: the user-auth key and certificate, the CA certificate, the PINs.

    auth_pin / sign_password: ASCII as the card compares them (simulation secrets, never real ones).
    """

    auth_key: rsa.RSAPrivateKey
    auth_cert_der: bytes
    ca_cert_der: bytes
    sign_key: rsa.RSAPrivateKey
    auth_pin: bytes = b"1234"
    sign_password: bytes = b"ABC123"


class RetryCounters:
    """Persistent PIN retry counters in a JSON file, written (fsync + rename) before the card answers."""

    def __init__(self, path: Path, auth_tries: int = AUTH_PIN_TRIES_MAX, reset: bool = False) -> None:
        self._path = path
        if reset or not path.exists():
            self._tries = {str(EF_AUTH_PIN): auth_tries, str(EF_SIGN_PIN): SIGN_PIN_TRIES_MAX}
            self._save()
        else:
            self._tries = json.loads(path.read_text("utf-8"))

    def tries(self, pin_ef: int) -> int:
        return int(self._tries[str(pin_ef)])

    def set(self, pin_ef: int, tries: int) -> None:
        self._tries[str(pin_ef)] = tries
        self._save()

    def _save(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".tries-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self._tries, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)


def _padded(data: bytes) -> bytes:
    return data + b"\xff" * max(0, EF_PADDED_SIZE - len(data))


def pkcs1_type1_sign(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes:
    """What the card does on COMPUTE DIGITAL SIGNATURE: EM = 00 01 FF..FF 00 || input, then EM^d mod n."""
    numbers = key.private_numbers()
    size = (numbers.public_numbers.n.bit_length() + 7) // 8
    encoded = b"\x00\x01" + b"\xff" * (size - 3 - len(digest_info)) + b"\x00" + digest_info
    value = pow(int.from_bytes(encoded, "big"), numbers.d, numbers.public_numbers.n)
    return value.to_bytes(size, "big")


@dataclass(slots=True)
class _Volatile:
    """RAM state: lost on power off, reset and re-SELECT of the JPKI AP."""

    in_jpki: bool = False
    ef: int | None = None
    verified: set[int] = field(default_factory=set)


class JpkiCard:
    """One card. `process(apdu)` returns response data ‖ SW; `pulled` turns True when a fault pulls it."""

    def __init__(self, content: CardContent, counters: RetryCounters,
                 faults: CardFaults = CardFaults()) -> None:
        self.content = content
        self.counters = counters
        self.faults = faults
        self.pulled = False
        self._ram = _Volatile()
        self._files = {
            EF_TOKEN: faults.token.ljust(32, b" "),
            EF_AUTH_CERT: _padded(content.auth_cert_der),
            EF_AUTH_CA: _padded(content.ca_cert_der),
            EF_SIGN_CA: _padded(content.ca_cert_der),
        }

    @property
    def atr(self) -> bytes:
        if self.faults.mute:
            return b""
        return NON_JPKI_ATR if self.faults.non_jpki else DEFAULT_ATR

    def power(self, on: bool) -> None:
        """Power off, power on and reset all clear RAM state; retry counters stay."""
        self._ram = _Volatile()

    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins = apdu[0], apdu[1]
        if cla not in (0x00, 0x80):
            return SW_CLA
        handler = {0xA4: self._select, 0xB0: self._read_binary, 0x20: self._verify, 0x2A: self._sign}.get(ins)
        if handler is None or (ins == 0x2A) != (cla == 0x80):
            return SW_INS
        return handler(apdu)

    # --- commands ----------------------------------------------------------------------------------------
    def _select(self, apdu: bytes) -> bytes:
        p1, data = apdu[2], _command_data(apdu)
        if p1 == 0x04:
            if data != JPKI_AID or self.faults.non_jpki:
                return SW_NOT_FOUND
            self._ram = _Volatile(in_jpki=True)
            return SW_OK
        if p1 == 0x02 and data is not None and len(data) == 2:
            fid = int.from_bytes(data, "big")
            if not self._ram.in_jpki or fid not in _ALL_EFS:
                return SW_NOT_FOUND
            self._ram.ef = fid
            return SW_OK
        return SW_WRONG_P1P2 if p1 not in (0x00, 0x01, 0x02, 0x04, 0x08) else SW_NOT_FOUND

    def _read_binary(self, apdu: bytes) -> bytes:
        p1, p2 = apdu[2], apdu[3]
        if p1 & 0x80:
            fid = p1 & 0x1F
            if not self._ram.in_jpki or fid not in _ALL_EFS:
                return SW_NOT_FOUND
            self._ram.ef, offset = fid, p2
        else:
            offset = (p1 << 8) | p2
        ef = self._ram.ef
        if ef is None:
            return SW_NOT_ALLOWED
        if ef == EF_SIGN_CERT or ef in _PIN_EFS or ef in _KEY_EFS:
            return SW_SECURITY
        content = self._files[ef]
        length = _expected_length(apdu)
        if length is None:
            return SW_WRONG_LENGTH
        if offset > len(content):
            return SW_WRONG_OFFSET
        return content[offset:offset + length] + SW_OK

    def _verify(self, apdu: bytes) -> bytes:
        p2, data = apdu[3], _command_data(apdu)
        pin_ef = self._ram.ef if p2 == 0x80 else (p2 & 0x1F if p2 & 0x80 else None)
        if not self._ram.in_jpki or pin_ef not in _PIN_EFS:
            return SW_NOT_ALLOWED
        tries = self.counters.tries(pin_ef)
        if tries == 0:
            return self.faults.locked_sw.to_bytes(2, "big")
        if data is None:
            return SW_OK if pin_ef in self._ram.verified else bytes((0x63, 0xC0 | tries))
        secret = self.content.auth_pin if pin_ef == EF_AUTH_PIN else self.content.sign_password
        if data.upper() == secret:
            self.counters.set(pin_ef, AUTH_PIN_TRIES_MAX if pin_ef == EF_AUTH_PIN else SIGN_PIN_TRIES_MAX)
            self._ram.verified.add(pin_ef)
            self.pulled = self.faults.pull_after_verify and pin_ef == EF_AUTH_PIN
            return SW_OK
        self.counters.set(pin_ef, tries - 1)
        self._ram.verified.discard(pin_ef)
        return bytes((0x63, 0xC0 | (tries - 1)))

    def _sign(self, apdu: bytes) -> bytes:
        data = _command_data(apdu)
        key_ef = self._ram.ef
        if apdu[2:4] != b"\x00\x80" or key_ef not in _KEY_EFS:
            return SW_NOT_ALLOWED
        if _KEY_EFS[key_ef] not in self._ram.verified:
            return SW_SECURITY
        key = self.content.auth_key if key_ef == EF_AUTH_KEY else self.content.sign_key
        if data is None or len(data) > key.key_size // 8 - 11:
            return SW_WRONG_LENGTH
        return pkcs1_type1_sign(key, data) + SW_OK


_PIN_EFS = (EF_AUTH_PIN, EF_SIGN_PIN)
_KEY_EFS = {EF_AUTH_KEY: EF_AUTH_PIN, EF_SIGN_KEY: EF_SIGN_PIN}
_ALL_EFS = frozenset((EF_SIGN_CERT, EF_SIGN_CA, EF_TOKEN, EF_AUTH_CERT, EF_AUTH_CA)
                     + _PIN_EFS + tuple(_KEY_EFS))


def _command_data(apdu: bytes) -> bytes | None:
    """The data field of a short or extended command APDU, None when it has none (case 1 and 2)."""
    body = apdu[4:]
    if len(body) <= 1:
        return None
    if body[0] == 0 and len(body) >= 3:  # extended
        lc = int.from_bytes(body[1:3], "big")
        return body[3:3 + lc] if len(body) >= 3 + lc and lc else None
    lc = body[0]
    return body[1:1 + lc] if len(body) >= 1 + lc else None


def _expected_length(apdu: bytes) -> int | None:
    """Ne of a case-2 APDU: short (00 = 256) or extended (0000 = 65536); None when the APDU has no Le."""
    body = apdu[4:]
    if len(body) == 1:
        return body[0] or 256
    if len(body) == 3 and body[0] == 0:
        return int.from_bytes(body[1:], "big") or 65536
    return None
