"""Attempt markers: a file whose reading killed the ingest process is rejected by the next run, not read again.

Before a run parses a file it writes `raw_dir/.attempts/current.json` naming the file (source, name, path,
SHA-256 of the bytes read); once the file's verdict is decided (in memory) the record is overwritten with
spaces, and at the end of the run the marker is removed. It is one open file overwritten in place (a record,
then spaces; all spaces while no file is parsed): creating and unlinking it per file cost about 1 s of an ingest
of 4,700 files, and emptying it with ftruncate (whose blocks the next write allocates again) about 0.3 s while
the warehouse kept the disk busy. A marker naming a file still there when a run starts means the process died
while that file was being parsed (kill -9, the OOM killer, a crash inside a parser): the run keeps it as
`crashed-<id>.json`, and every run rejects that content `file_crashed_ingest` instead of parsing it (so one file
cannot kill every run), then deletes the marker once the rejection is committed. A corrected file (other bytes)
is parsed as usual.

The marker survives a killed process: the kernel keeps the page cache, so no fsync is needed for what the
marker is for (a file that kills the process: kill -9, the OOM killer, a crash in a parser). A power cut may
lose it; no file causes a power cut, and the file is simply parsed again. (It was fsynced once: two fsyncs and
an unlink per file cost about 7 s of a 110 s ingest of 4,700 files.)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingestion.store import fsync_dir

ATTEMPTS_FOLDER = ".attempts"
_CURRENT = "current.json"
_MARKER_MAX_BYTES = 64 * 1024  # a marker is a few hundred bytes; anything larger is not one of ours


@dataclass(frozen=True, slots=True)
class Attempt:
    """One file being parsed: its identity (source, name, sha256) and inbox-relative path."""

    source: str
    name: str
    path: str
    sha256: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.source, self.name, self.sha256


def _read(path: Path) -> Attempt | None:
    """The attempt a marker names; None for a blank one (no file was being parsed), a torn one (the write
    itself was cut short, so the file it would name was not yet being parsed) or a foreign one."""
    try:
        with path.open("rb") as handle:
            text = handle.read(_MARKER_MAX_BYTES + 1)
        if len(text) > _MARKER_MAX_BYTES:
            return None
        values = json.loads(text)
        attempt = Attempt(**{k: values[k] for k in ("source", "name", "path", "sha256")})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(v, str) for v in asdict(attempt).values()):
        return None
    return attempt


@dataclass(slots=True)
class Attempts:
    """The markers of one raw_dir: the crashed attempts found at start, and the one being parsed now."""

    folder: Path
    crashed: dict[tuple[str, str, str], Path] = field(default_factory=dict)
    _marker: int | None = None  # current.json, open; blank while no file is being parsed

    @classmethod
    def open(cls, raw_dir: Path) -> Attempts:
        """Turn a leftover `current.json` into a crashed marker, then read every crashed marker."""
        folder = raw_dir / ATTEMPTS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        current = folder / _CURRENT
        if current.exists():
            attempt = _read(current)
            if attempt is None:
                current.unlink()
            else:
                marker_id = hashlib.sha256(json.dumps(asdict(attempt)).encode()).hexdigest()[:16]
                os.replace(current, folder / f"crashed-{marker_id}.json")
                fsync_dir(folder)
        crashed: dict[tuple[str, str, str], Path] = {}
        for path in sorted(folder.glob("crashed-*.json")):
            found = _read(path)
            if found is None:
                path.unlink()
                continue
            crashed[found.key] = path
        return cls(folder, crashed)

    def crashed_before(self, source: str, name: str, sha256: str) -> Attempt | None:
        """The crashed attempt of this content, if a earlier run died parsing it."""
        path = self.crashed.get((source, name, sha256))
        return None if path is None else _read(path)

    @contextmanager
    def parsing(self, attempt: Attempt) -> Iterator[None]:
        """Hold the marker of `attempt` while the body runs; blanked however the body ends, except by the
        death of the process (that is what it is for)."""
        if self._marker is None:
            self._marker = os.open(self.folder / _CURRENT, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        record = json.dumps(asdict(attempt), ensure_ascii=True).encode()
        os.pwrite(self._marker, record, 0)  # over blanks: each record is blanked once its file is decided
        try:
            yield
        finally:
            os.pwrite(self._marker, b" " * len(record), 0)

    def close(self) -> None:
        """Remove the (blank) marker: the run parses no more files."""
        if self._marker is not None:
            os.close(self._marker)
            self._marker = None
            (self.folder / _CURRENT).unlink(missing_ok=True)

    def settled(self, keys: list[tuple[str, str, str]]) -> None:
        """Delete the crashed markers of these contents, whose rejection is now committed."""
        for key in keys:
            path = self.crashed.pop(key, None)
            if path is not None:
                path.unlink(missing_ok=True)
