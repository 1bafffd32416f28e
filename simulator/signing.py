"""Card keys, certificates and card signatures for a simulated world, computed in a process pool.

Each RSA-2048 signature costs about a millisecond and each deterministic RSA key about 0.4 s, so both run in
a `concurrent.futures.ProcessPoolExecutor` in chunks; results come back in input order, so the files stay
byte-identical whatever the number of workers. Keys travel to the workers as DER bytes (an initializer loads
them once per worker). Generated keys are remembered in this process (by label) so that a second simulation
in the same process does not derive them again; nothing is cached on disk.

Simulation only: these keys and certificates must never be used for anything real.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from simulator.jpki_ca import SimulatedCA
from simulator.keys import rsa_key

_DER_CACHE: dict[str, bytes] = {}
_WORKER: dict[str, Any] = {}
CHUNK = 256


def _der_of(label: str) -> bytes:
    key = rsa_key(label)
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load(der: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def key_ders(labels: Sequence[str], executor: Executor | None) -> list[bytes]:
    """DER (PKCS#8) of the deterministic RSA keys named by `labels`, derived in the pool when given."""
    missing = [label for label in dict.fromkeys(labels) if label not in _DER_CACHE]
    if missing:
        results = executor.map(_der_of, missing) if executor else map(_der_of, missing)
        _DER_CACHE.update(zip(missing, results, strict=True))
    return [_DER_CACHE[label] for label in labels]


def _init_worker(card_ders: Sequence[bytes], ca_der: bytes, ca_cert_der: bytes) -> None:
    _WORKER["cards"] = [_load(der) for der in card_ders]
    ca_cert = x509.load_der_x509_certificate(ca_cert_der)
    _WORKER["ca"] = SimulatedCA(key=_load(ca_der), certificate=ca_cert, name=ca_cert.subject)


def _sign_chunk(jobs: Sequence[tuple[int, bytes]]) -> list[str]:
    cards = _WORKER["cards"]
    return [base64.b64encode(cards[index].sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
            for index, message in jobs]


def _issue_chunk(jobs: Sequence[tuple[int, int, dt.date, dt.date]]) -> list[str]:
    ca: SimulatedCA = _WORKER["ca"]
    cards = _WORKER["cards"]
    out = []
    for serial, index, not_before, not_after in jobs:
        cert = ca.issue(serial, cards[index].public_key(), not_before, not_after)
        out.append(base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii"))
    return out


def _chunks(items: Sequence, size: int = CHUNK) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class Signer:
    """The world's card keys and CA, with signing and certificate issuance in a pool (or inline)."""

    def __init__(self, seed: int, pool_size: int, workers: int) -> None:
        self.workers = workers
        labels = [f"seed={seed}/card-key/{i}" for i in range(pool_size)]
        bootstrap = ProcessPoolExecutor(workers) if workers > 1 and _missing(labels) > 1 else None
        try:
            parts = [labels[i::workers] for i in range(workers)] if bootstrap else []
            pending = [bootstrap.submit(key_ders, part, None) for part in parts] if bootstrap else []
            # the CA key is derived here meanwhile (keys.rsa_key caches it in this process)
            self.ca = SimulatedCA.create(seed)
            for part, future in zip(parts, pending, strict=True):
                _DER_CACHE.update(zip(part, future.result(), strict=True))
            self.card_ders = key_ders(labels, None)
        finally:
            if bootstrap:
                bootstrap.shutdown()
        _DER_CACHE.update(zip(labels, self.card_ders, strict=True))
        self.ca_der = self.ca.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption())
        self.ca_cert_der = self.ca.certificate.public_bytes(serialization.Encoding.DER)
        self.cards = [_load(der) for der in self.card_ders]
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self, work: int) -> ProcessPoolExecutor | None:
        if self.workers <= 1 or work < 2 * CHUNK:
            return None
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, initializer=_init_worker,
                                                 initargs=(self.card_ders, self.ca_der, self.ca_cert_der))
        return self._executor

    def _run(self, function, jobs: Sequence) -> list:
        pool = self._pool(len(jobs))
        if pool is None:
            _init_worker(self.card_ders, self.ca_der, self.ca_cert_der)
            return function(jobs)
        return [item for chunk in pool.map(function, _chunks(jobs)) for item in chunk]

    def sign(self, jobs: Sequence[tuple[int, bytes]]) -> list[str]:
        """Base64 PKCS#1 v1.5 / SHA-256 signatures of (card key index, message) jobs, in order."""
        return self._run(_sign_chunk, list(jobs))

    def issue(self, jobs: Sequence[tuple[int, int, dt.date, dt.date]]) -> list[str]:
        """Base64 DER user-auth certificates for (serial, card key index, not_before, not_after), in order."""
        return self._run(_issue_chunk, list(jobs))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None


def _missing(labels: Sequence[str]) -> int:
    return sum(1 for label in labels if label not in _DER_CACHE)
