"""Deterministic key material for simulated worlds.

`seisan simulate` must write byte-identical files for the same arguments, so every key is derived from the
world's seed: Ed25519 keys from 32 seeded bytes, RSA-2048 keys from seeded primes. `cryptography` cannot
generate an RSA key from a seed, hence the small prime search here (Miller-Rabin with a seeded generator);
the resulting numbers are handed to `cryptography`, which does all signing. Simulation only: never use these
keys for anything real.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

_SMALL_PRIMES = tuple(p for p in range(3, 2000, 2) if all(p % q for q in range(3, int(p**0.5) + 1, 2)))
RSA_PUBLIC_EXPONENT = 65537


def _seeded_random(label: str) -> random.Random:
    return random.Random(hashlib.sha256(label.encode("utf-8")).digest())


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 24) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if (candidate - 1) % RSA_PUBLIC_EXPONENT and _is_probable_prime(candidate, rng):
            return candidate


@lru_cache(maxsize=256)
def rsa_key(label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The RSA key named `label` (e.g. "seed=7/card-key/12"): same label, same key, on every machine."""
    rng = _seeded_random("rsa:" + label)
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        if p != q and (p * q).bit_length() == bits:
            break
    if p < q:
        p, q = q, p
    phi = (p - 1) * (q - 1)
    d = pow(RSA_PUBLIC_EXPONENT, -1, phi)
    public = rsa.RSAPublicNumbers(RSA_PUBLIC_EXPONENT, p * q)
    private = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q), public_numbers=public,
    )
    return private.private_key()


def ed25519_key(label: str) -> ed25519.Ed25519PrivateKey:
    """The Ed25519 key named `label`: its 32-byte seed is SHA-256 of the label."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(("ed25519:" + label).encode()).digest())
