"""Card signatures of a batch's terminal records, verified ahead of their files' turn in a process pool.

An RSA-2048 verification is the one piece of a terminal record's checks that costs real CPU (tens of
microseconds each; a national day holds a million of them), and it is a pure function of the certificate, the
record's card message and its signature. So before a batch's terminal files are decided, `CardSignatures`
verifies every (certificate, record) pair the batch can ask about, spread over the machine's cores, and keeps
the verdicts; `terminal_loader._card_problem` then asks `verified()` and gets the verdict it would have computed
itself (contracts.terminal_log.verify_card_signature, the one owner of the rule, runs in the workers). Anything
not verified ahead (a pair outside the batch's prefetch, a small batch, a pool that could not start) is
verified in process at the record's turn, so a verdict never depends on what was prefetched.

The same pool checks whole terminal files ahead of their turn (`submit`, ingestion.terminal_checks): in a run
with a pool, a batch's new terminal logs are parsed, checked and their card signatures verified there, while
the main process decides the files before them; `prefetch` then only serves files parsed in process.

Workers are spawned, not forked: the ingest process holds DuckDB's threads, and a forked child of a threaded
process may inherit a held lock. A spawned worker imports only this module, ingestion.terminal_checks, the
contracts (the `ingestion` package imports its loaders lazily) and pyarrow (for the rows it sends back), not
DuckDB or polars. A pool starts only in a run with enough terminal logs to pay for it (POOL_MIN_RUN_BYTES) and
lives for that ingest run.
"""

from __future__ import annotations

import base64
import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from cryptography import x509

from contracts import terminal_log

# A pool costs about a second of CPU to start (spawned workers import cryptography and the contracts); the
# terminal logs it checks ahead leave the main process free for the rest of the day's files. Measured on day 4 of
# the bench-national worlds (2026-12-06): at 10,000 residents (0.8 MiB of terminal logs a day) a pool made the
# ingest 0.1 s slower, at 100,000 (7 MiB) 1.5 s faster (6.1 -> 4.5 s). So a run starts one only when its due
# terminal logs weigh POOL_MIN_RUN_BYTES or more, and then uses it for every batch with POOL_MIN_PAIRS pairs or more.
POOL_MIN_RUN_BYTES = 4 << 20
POOL_MIN_PAIRS = 1_000
_CHUNK_PAIRS = 2_000
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Cert:
    """One certificate of a MyKey ID: serial, valid from its registration/reissue event (JST naive) until
    its revocation or superseding reissue, whichever comes first (None: still valid), DER in base64."""

    serial: int
    mykey_id: str
    valid_from_ts: dt.datetime
    revoked_ts: dt.datetime | None
    der_b64: str

    def __reduce__(self) -> tuple[type[Cert], tuple[int, str, dt.datetime, dt.datetime | None, str]]:
        # How a certificate travels to the pool's workers (check_ahead ships each chunk the certificates its
        # records name: 165,000 on day 4 at 1,000,000 residents). A frozen dataclass with slots otherwise pickles
        # through its generic state methods, about 15 times slower, in the thread that feeds the pool.
        return Cert, (self.serial, self.mykey_id, self.valid_from_ts, self.revoked_ts, self.der_b64)


@lru_cache(maxsize=4096)
def certificate(der_b64: str) -> x509.Certificate | None:
    """A card certificate from the certificates file's base64 DER, or None when it does not parse."""
    try:
        return x509.load_der_x509_certificate(base64.b64decode(der_b64, validate=True))
    except ValueError:
        return None


def verify(der_b64: str, record: Mapping[str, Any]) -> bool:
    """True when `record`'s card signature verifies under the certificate `der_b64` (False if it does not
    parse, or holds no RSA key)."""
    found = certificate(der_b64)
    if found is None:
        return False
    try:
        return terminal_log.verify_card_signature(found.public_key(), record)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _verify_chunk(pairs: list[tuple[str, dict[str, Any]]]) -> list[bool]:
    return [verify(der_b64, record) for der_b64, record in pairs]


@dataclass(slots=True)
class CardSignatures:
    """Verdicts of (certificate, record) pairs verified ahead of time, and the pool that verified them."""

    workers: int = field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)))
    enabled: bool = True  # False: never start a pool (a run with few terminal logs: `for_run`)
    # (certificate, id of the record) -> (the record itself, verdict). A verdict is kept for that very record
    # object (a parsed line's fields, never changed after parsing) and found again only by identity (`is`): the
    # record is held, so its id cannot be reused. Keying by content would cost a canonical message per record,
    # as much as the pool saves.
    _verdicts: dict[tuple[str, int], tuple[Mapping[str, Any], bool]] = field(default_factory=dict)
    _pool: Executor | None = None
    _pool_failed: bool = False

    @classmethod
    def for_run(cls, terminal_bytes: int) -> CardSignatures:
        """The verifier of one ingest run whose due terminal logs weigh `terminal_bytes`."""
        return cls(enabled=terminal_bytes >= POOL_MIN_RUN_BYTES)

    def verified(self, der_b64: str, record: Mapping[str, Any]) -> bool:
        """The verdict for this pair: prefetched, or computed now."""
        known = self._verdicts.get((der_b64, id(record)))
        if known is not None and known[0] is record:
            return known[1]
        return verify(der_b64, record)

    def prefetch(self, pairs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Forget the last batch's verdicts (its files are decided), then verify these pairs in the pool when
        there are enough of them to pay for it."""
        self._verdicts.clear()
        todo: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {}
        for der_b64, record in pairs:
            todo.setdefault((der_b64, id(record)), (der_b64, record))
        if not self.enabled or len(todo) < POOL_MIN_PAIRS or self.workers < 2:
            return
        pool = self._start()
        if pool is None:
            return
        keys = list(todo)
        chunks = [[todo[k] for k in keys[i : i + _CHUNK_PAIRS]] for i in range(0, len(keys), _CHUNK_PAIRS)]
        try:
            verdicts = [v for chunk in pool.map(_verify_chunk, chunks) for v in chunk]
        except Exception:  # a broken pool is only a lost speed-up: every record is verified at its turn
            self.close()
            self._pool_failed = True
            return
        for key, verdict in zip(keys, verdicts, strict=True):
            self._verdicts[key] = (todo[key][1], verdict)

    def pooled(self) -> bool:
        """Whether this run works in a pool of processes (started here if need be)."""
        return self.enabled and self.workers >= 2 and self._start() is not None

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T] | None:
        """`fn(*args)` in the pool; None when the run has no pool or it broke (the work is then done in
        process). The future's result raises whatever the pool met (a worker that died, say)."""
        if not self.pooled():
            return None
        assert self._pool is not None
        try:
            return self._pool.submit(fn, *args)
        except Exception:  # a broken pool is only a lost speed-up
            self.close()
            self._pool_failed = True
            return None

    def _start(self) -> Executor | None:
        if self._pool is None and not self._pool_failed:
            try:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            except (OSError, ValueError):
                self._pool_failed = True
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
