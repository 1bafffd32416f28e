"""File identity (FORMATS.md "File identity"): has this file, by name and SHA-256, been seen before?

Rules (docs/formats.md, "Re-runs and redeliveries"):
- a (name, sha256) already in the manifest with the same path and mtime is a re-scan: skipped silently, so
  re-running a date changes nothing;
- the same (name, sha256) again with another path or mtime is a duplicate delivery: one `duplicate`
  manifest row per (path, mtime), nothing read;
- a name whose content differs from a *loaded* file of that name is a conflict;
- anything else is new (including a corrected file under the name of one that was rejected).
This module only reads the manifest; it never writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SKIP, DUPLICATE, CONFLICT, NEW = "skip", "duplicate", "conflict", "new"
_HASH_CHUNK_BYTES = 1 << 20


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Seen:
    """One manifest row as identity needs it."""

    sha256: str
    path: str
    mtime_ns: int
    status: str


@dataclass(slots=True)
class ManifestIndex:
    """The manifest by file identity (source, name), kept current as the run writes rows."""

    by_name: dict[tuple[str, str], list[Seen]] = field(default_factory=dict)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> ManifestIndex:
        index = cls()
        rows = con.execute(
            "SELECT source, path, file_sha256, mtime_ns, status FROM raw.file_manifest"
        ).fetchall()
        for source, path, sha, mtime_ns, status in rows:
            index.add(source, path, Seen(sha, path, mtime_ns, status))
        return index

    def add(self, source: str, path: str, seen: Seen) -> None:
        self.by_name.setdefault((source, path.rsplit("/", 1)[-1]), []).append(seen)

    def decide(self, source: str, name: str, path: str, sha256: str, mtime_ns: int) -> str:
        history = self.by_name.get((source, name), [])
        same_content = [s for s in history if s.sha256 == sha256]
        if same_content:
            if any(s.path == path and s.mtime_ns == mtime_ns for s in same_content):
                return SKIP
            return DUPLICATE
        if any(s.status == "loaded" for s in history):
            return CONFLICT
        return NEW
