"""Card files for the virtual card: a resident's user-auth key and a certificate issued by a JPKI-shaped CA.

`write_card_files` writes what `python -m reader_harness.virtual_card` loads (key PEM, certificate DER, CA DER),
so a test builds the (slow to derive) RSA keys once and starts many short-lived card processes from files.
Kinds: `valid` (issued today − 1 year, valid 5 years), `expired` (ended yesterday), `foreign` (same shape but
issued by a throw-away CA that is not the JPKI user-authentication CA).

The caller brings the issuing CA and the card's key (the tests use the simulated world's JPKI CA and its
seeded card keys), so this harness depends on no part of the simulated world. Simulation only: never real keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from reader_agent.store import JST

CARD_KINDS = ("valid", "expired", "foreign")


class CardIssuer(Protocol):
    """A user-authentication CA: its own certificate, and `issue` for a card's certificate."""

    @property
    def certificate(self) -> x509.Certificate: ...

    def issue(self, serial: int, public_key: rsa.RSAPublicKey, not_before: dt.date,
              not_after: dt.date) -> x509.Certificate: ...


@dataclass(frozen=True, slots=True)
class CardFiles:
    """Paths of one card's files and the certificate's serial (hex, lowercase, as in mykey_certs)."""

    directory: Path
    key_pem: Path
    cert_der: Path
    ca_der: Path
    serial_hex: str


def card_serial(seed: int | str, holder: int, kind: str = "valid") -> int:
    """A stable positive serial per (seed, holder, kind)."""
    base = 0x5EED0000 + int(str(seed).encode().hex(), 16) % 0x10000 * 0x100000
    return base + holder * 4 + CARD_KINDS.index(kind)


def _foreign_cert(public_key: rsa.RSAPublicKey, serial: int, today: dt.date) -> x509.Certificate:
    ca_key = rsa.generate_private_key(65537, 2048)  # a CA nobody trusts: its key is thrown away
    issuer = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Loyalty Corp"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "SIMULATED foreign CA")])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"SIMULATED foreign {serial:x}")])
    start = dt.datetime.combine(today - dt.timedelta(days=365), dt.time(0, 0), JST)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(serial).not_valid_before(start).not_valid_after(start + dt.timedelta(days=5 * 365))
            .sign(ca_key, hashes.SHA256()))


def issue_card_certificate(ca: CardIssuer, card_key: rsa.RSAPrivateKey, serial: int, kind: str,
                           today: dt.date) -> x509.Certificate:
    """The user-auth certificate of a card holding `card_key`, of the given kind."""
    if kind == "foreign":
        return _foreign_cert(card_key.public_key(), serial, today)
    day = dt.timedelta(days=1)
    if kind == "expired":
        return ca.issue(serial, card_key.public_key(), today - 5 * 365 * day, today - day)
    return ca.issue(serial, card_key.public_key(), today - 365 * day, today + 4 * 365 * day)


def write_card_files(directory: Path, ca: CardIssuer, card_key: rsa.RSAPrivateKey, serial: int,
                     kind: str = "valid", today: dt.date | None = None) -> CardFiles:
    """Write key.pem, cert.der and ca.der for one card into `directory` (created)."""
    if kind not in CARD_KINDS:
        raise ValueError(f"card kind is one of {CARD_KINDS}")
    today = today or dt.datetime.now(JST).date()
    directory.mkdir(parents=True, exist_ok=True)
    cert = issue_card_certificate(ca, card_key, serial, kind, today)
    files = CardFiles(directory, directory / "key.pem", directory / "cert.der", directory / "ca.der",
                      format(cert.serial_number, "x"))
    files.key_pem.write_bytes(card_key.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    files.key_pem.chmod(0o600)
    files.cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    files.ca_der.write_bytes(ca.certificate.public_bytes(serialization.Encoding.DER))
    return files
