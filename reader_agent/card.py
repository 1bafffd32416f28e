"""The JPKI user-authentication steps, spoken over any `transmit(apdu) -> (data, sw)` (domain/jpki.md §1, §5).

`JpkiCard` does, in order: SELECT the JPKI AP by AID (the ATR is never trusted), check the token EF, read the
auth certificate by its DER length (capped at 4 KiB, short reads), check the certificate locally (JPKI
user-auth issuer, validity), query PIN tries, VERIFY, SELECT the auth key, sign a SHA-256 DigestInfo, and
re-SELECT the AP to drop the verified state. It never selects the signing certificate, key or password
(EF 0001/001A/001B) nor the 券面 applets, and it refuses to send a PIN when one try is left.

The PIN arrives as a bytearray that this module wipes right after the VERIFY, whatever happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from reader_agent import apdu
from reader_agent.errors import AgentError, Reason
from reader_agent.pin import wipe

Transmit = Callable[[bytes | bytearray], tuple[bytes, int]]
USER_AUTH_OU = "JPKI for user authentication"


@dataclass(frozen=True, slots=True)
class CardIdentity:
    """What the card showed without a PIN: the user-auth certificate (DER) and its serial (hex)."""

    cert_der: bytes
    serial_hex: str
    public_key: rsa.RSAPublicKey


def _expect_ok(sw: int) -> None:
    if sw != apdu.SW_OK:
        raise AgentError(Reason.CARD_ERROR, sw=f"{sw:04X}")


def check_certificate(cert: x509.Certificate, now: dt.datetime) -> None:
    """Refuse a certificate that is not JPKI user-auth (e.g. signing CA, a foreign CA) or not valid now."""
    organisations = [a.value for a in cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    units = [a.value for a in cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    if organisations != ["JPKI"] or USER_AUTH_OU not in units:
        raise AgentError(Reason.CERT_FOREIGN)
    if not isinstance(cert.public_key(), rsa.RSAPublicKey) or cert.public_key().key_size < 2048:
        raise AgentError(Reason.CERT_FOREIGN)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise AgentError(Reason.CERT_EXPIRED)


class JpkiCard:
    """The JPKI applet of one inserted card, through `transmit`."""

    def __init__(self, transmit: Transmit) -> None:
        self._transmit = transmit

    def select_applet(self) -> None:
        _data, sw = self._transmit(apdu.select_aid())
        if sw == apdu.SW_NOT_FOUND:
            raise AgentError(Reason.NOT_JPKI)
        _expect_ok(sw)

    def _select_ef(self, fid: int) -> None:
        _data, sw = self._transmit(apdu.select_ef(fid))
        if sw == apdu.SW_NOT_FOUND:
            raise AgentError(Reason.NOT_JPKI)
        _expect_ok(sw)

    def _read(self, offset: int, length: int) -> bytes:
        data, sw = self._transmit(apdu.read_binary(offset, length))
        _expect_ok(sw)
        if not data:
            raise AgentError(Reason.CERT_UNREADABLE)
        return data

    def check_token(self) -> None:
        self._select_ef(apdu.EF_TOKEN)
        token = self._read(0, apdu.TOKEN_LENGTH)
        if token.rstrip(b" \x00").decode("ascii", "replace") != apdu.TOKEN_MY_NUMBER_CARD:
            raise AgentError(Reason.TOKEN_UNSUPPORTED)

    def read_auth_certificate(self, now: dt.datetime) -> CardIdentity:
        """Read EF 000A exactly as long as its DER header says (≤ 4 KiB), parse and check it."""
        self._select_ef(apdu.EF_AUTH_CERT)
        header = self._read(0, 4)
        try:
            total = apdu.der_total_length(header)
        except ValueError as exc:
            raise AgentError(Reason.CERT_UNREADABLE) from exc
        der = bytearray(header)
        while len(der) < total:
            der += self._read(len(der), min(apdu.READ_CHUNK_BYTES_MAX, total - len(der)))
        der = der[:total]
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
        except ValueError as exc:
            raise AgentError(Reason.CERT_UNREADABLE) from exc
        check_certificate(cert, now)
        return CardIdentity(bytes(der), format(cert.serial_number, "x"), cert.public_key())

    def pin_tries_left(self) -> int | None:
        """Tries left on the auth PIN, without sending a PIN; raises PIN_LOCKED. None = already verified."""
        self._select_ef(apdu.EF_AUTH_PIN)
        _data, sw = self._transmit(apdu.pin_tries_query())
        status = apdu.classify_pin_status(sw)
        if status is None:
            raise AgentError(Reason.CARD_ERROR, sw=f"{sw:04X}")
        if status.locked:
            raise AgentError(Reason.PIN_LOCKED)
        return status.tries_left

    def verify_pin(self, pin: bytearray) -> None:
        """VERIFY the auth PIN (caller checked tries > 1). Wipes `pin`. Raises PIN_WRONG / PIN_LOCKED."""
        command = bytearray()
        try:
            command = apdu.verify_pin_apdu(pin)
            self._select_ef(apdu.EF_AUTH_PIN)
            _data, sw = self._transmit(command)
        finally:
            wipe(pin)
            wipe(command)
        status = apdu.classify_pin_status(sw)
        if status is None:
            raise AgentError(Reason.CARD_ERROR, sw=f"{sw:04X}")
        if status.locked:
            raise AgentError(Reason.PIN_LOCKED)
        if not status.verified:
            raise AgentError(Reason.PIN_WRONG, tries_left=status.tries_left)

    def sign_sha256(self, digest: bytes) -> bytes:
        """SELECT the auth key and have the card sign DigestInfo(SHA-256) — 256 bytes for RSA-2048."""
        self._select_ef(apdu.EF_AUTH_KEY)
        signature, sw = self._transmit(apdu.sign_apdu(apdu.sha256_digest_info(digest)))
        _expect_ok(sw)
        return signature

    def logout(self) -> None:
        """Re-SELECT the AP: drops the verified PIN state (OpenSC's logout). Never raises."""
        try:
            self._transmit(apdu.select_aid())
        except AgentError:
            pass


def verify_signature(public_key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    """Local check that the card's signature is RSASSA-PKCS1-v1_5/SHA-256 over `message`."""
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
