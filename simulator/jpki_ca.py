"""A simulated JPKI certification authority for user-authentication certificates (利用者証明用電子証明書).

It issues the RSA-2048 certificates that simulated residents' My Number Cards carry (domain/jpki.md §1.6):
issuer `C=JP, O=JPKI, OU=JPKI for user authentication, OU=Japan Agency for Local Authority Information
Systems` plus a "SIMULATED" marker so a simulated certificate can never be mistaken for a real one, serials
as positive integers, validity set by the caller, sha256WithRSAEncryption, keyUsage digitalSignature. The
subject carries no personal attribute, like the real user-auth certificate. Deterministic: the same seed and
arguments give byte-identical DER.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from contracts.jst import JST
from simulator.keys import rsa_key


def _issuer_name(generation: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                           "Japan Agency for Local Authority Information Systems"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"SIMULATED JPKI user authentication CA {generation}"),
    ])


@dataclass(frozen=True, slots=True)
class SimulatedCA:
    """A CA generation: its key, its self-signed certificate and its name."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    name: x509.Name

    @classmethod
    def create(cls, seed: int | str, generation: str = "2023") -> SimulatedCA:
        key = rsa_key(f"seed={seed}/jpki-ca/{generation}")
        name = _issuer_name(generation)
        start = dt.datetime(int(generation), 7, 16, tzinfo=dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start.replace(year=start.year + 10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=cert, name=name)

    def issue(self, serial: int, public_key: rsa.RSAPublicKey, not_before: dt.date,
              not_after: dt.date) -> x509.Certificate:
        """A user-authentication certificate for `public_key` with this serial and validity (JST days)."""
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"SIMULATED user authentication {serial:x}")])
        start = dt.datetime.combine(not_before, dt.time(0, 0), JST)
        end = dt.datetime.combine(not_after, dt.time(23, 59, 59), JST)
        return (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(self.name).public_key(public_key)
            .serial_number(serial).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                           critical=True)
            .sign(self.key, hashes.SHA256())
        )
