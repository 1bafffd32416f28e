"""File identity (FORMATS.md "File identity"): has this file, by name and SHA-256, been seen before?

Rules (docs/formats.md, "Re-runs and redeliveries"):
- a (name, sha256) already in the manifest with the same path and mtime is a re-scan: skipped silently, so
  re-running a date changes nothing. A file whose path, size and mtime equal a manifest row's, recorded at least
  RACY_MARGIN_NS after that mtime, is taken to hold the content that row names without being read again
  (`ManifestIndex.unchanged`): else every day would read and hash every file ever delivered (at day 365 of a
  small world, 43,000 files and half the ingest's time). Writing a file changes its mtime; the margin keeps out a
  file rewritten within one tick of the file system's clock after it was read (as git's "racy clean" rule does);
  the delivery rule's settle time (seisan.toml, 5 s) keeps such a file out of any run anyway;
- the same (name, sha256) again with another path or mtime is a duplicate delivery: one `duplicate`
  manifest row per (path, mtime), nothing read;
- a name whose content differs from a *loaded* file of that name is a conflict;
- a content whose latest decision (its latest manifest row other than `duplicate`) is `rejected` for a
  retryable reason (`RETRYABLE_REASONS`: the verdict rests on something outside the file's bytes and name -
  configured limits, a master that may arrive late) is evaluated again by every run (`RETRY`), unless
  another content of that name is loaded; the run records a new manifest row only when the outcome changes;
- anything else is new (including a corrected file under the name of one that was rejected).
This module reads inbox files once each (`read_once`) and the manifest; it never writes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import duckdb

from contracts.reasons import Reason
from ingestion.outcome import FileStatus


class Verdict(StrEnum):
    """What identity says about a scanned file before it is read (module docstring)."""

    SKIP = "skip"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    NEW = "new"
    RETRY = "retry"


# Rejections that rest on something other than the file's bytes and name: the configured limits, the partners
# master (a partner folder unknown, or the encoding it gives), the terminals master (the key a seal is checked
# with). A master that arrives late, or a raised limit, can turn such a file into a loadable one. So can a
# file that could not be read (permissions, a vanished file) and one whose checking raised (fixed by a release).
RETRYABLE_REASONS = frozenset(
    (
        Reason.FILE_UNREADABLE,
        Reason.FILE_INTERNAL_ERROR,
        Reason.FILE_TOO_LARGE,
        Reason.FILE_TOO_MANY_ROWS,
        Reason.PARTNER_UNKNOWN,
        Reason.TERMINAL_KEY_UNKNOWN,
        Reason.TERMINAL_SEAL_SIGNATURE_INVALID,
    )
)
PARTNER_RETRYABLE_REASONS = frozenset((Reason.FILE_ENCODING_INVALID,))  # the partner's encoding is master data
_HASH_CHUNK_BYTES = 1 << 20
RACY_MARGIN_NS = 2_000_000_000  # the coarsest mtime tick of a common file system (FAT's 2 s)
UNREADABLE_SHA256 = ""  # the manifest's file_sha256 of a file that could not be read: its content is unknown
_NOT_DECISIONS = frozenset((FileStatus.DUPLICATE, FileStatus.RELEASED))
# a manifest row's status string to its member by one dict lookup: the manifest of a year's inbox is tens of
# thousands of rows, read on every run, and calling the enum costs several times more
_STATUSES = {status.value: status for status in FileStatus}


@dataclass(frozen=True, slots=True)
class FileRead:
    """A file as read once: sha256 of exactly `data` (or of every byte, when over the limit), size_bytes of what
    was read, mtime_ns seen when it was opened; data None when the file is over the limit (hashed only)."""

    sha256: str
    size_bytes: int
    mtime_ns: int
    data: bytes | None


def read_once(path: Path, max_bytes: int) -> FileRead:
    """Read a file through one handle and hash those bytes: whatever is parsed later is what was hashed, even
    if the file changes on disk meanwhile. A file over `max_bytes` (at open, or grown past it while read) is
    hashed in 1 MiB chunks and not kept."""
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        # read(n) allocates n bytes first: ask for what the file holds (plus one, to see it grew), not the limit
        want = min(stat.st_size, max_bytes) + 1
        data = handle.read(want) if stat.st_size <= max_bytes else b""
        if len(data) == want:  # grown since opened: read on up to the limit
            data += handle.read(max_bytes + 1 - want)
        digest = hashlib.sha256(data)
        size = len(data)
        if size <= max_bytes and stat.st_size <= max_bytes:
            return FileRead(digest.hexdigest(), size, stat.st_mtime_ns, data)
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return FileRead(digest.hexdigest(), size, stat.st_mtime_ns, None)


@dataclass(frozen=True, slots=True)
class Seen:
    """One manifest row as identity needs it; size_bytes and recorded_ns (its ingested_at, ns since the epoch)
    let `ManifestIndex.unchanged` recognise a re-scan without reading the file."""

    sha256: str
    path: str
    mtime_ns: int
    status: FileStatus
    reason_code: str | None = None
    size_bytes: int | None = None
    recorded_ns: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", _STATUSES.get(self.status) or FileStatus(self.status))


def retryable(source: str, seen: Seen) -> bool:
    """True when `seen` is a rejection that a later run must evaluate again (module docstring)."""
    if seen.status is not FileStatus.REJECTED or seen.reason_code is None:
        return False
    return seen.reason_code in RETRYABLE_REASONS or (
        source == "partner" and seen.reason_code in PARTNER_RETRYABLE_REASONS
    )


@dataclass(slots=True)
class ManifestIndex:
    """The manifest by file identity (source, name), kept current as the run writes rows."""

    by_name: dict[tuple[str, str], list[Seen]] = field(default_factory=dict)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, identities: list[tuple[str, str]] | None = None) -> ManifestIndex:
        """The manifest rows of the given (source, name) identities (every row: None). A run needs only those
        of the files it scanned: with an archive, a day's files among a year's manifest rows."""
        index = cls()
        wanted, params = "", []
        if identities is not None:  # a hash join, not list_contains: that compares every row with every key
            wanted = ("SEMI JOIN (SELECT unnest(?) AS identity) AS wanted "
                      "ON wanted.identity = source || '/' || string_split(path, '/')[-1] ")
            params = [sorted({f"{source}/{name}" for source, name in identities})]
        rows = con.execute(
            "SELECT source, path, file_sha256, mtime_ns, status, reason_code, size_bytes, epoch_ns(ingested_at) "
            f"FROM raw.file_manifest {wanted}ORDER BY ingested_at", params
        ).fetchall()
        for source, path, sha, mtime_ns, status, reason, size, recorded_ns in rows:
            index.add(source, path, Seen(sha, path, mtime_ns, status, reason, size, recorded_ns))
        return index

    def add(self, source: str, path: str, seen: Seen) -> None:
        self.by_name.setdefault((source, path.rsplit("/", 1)[-1]), []).append(seen)

    def latest_decision(self, source: str, name: str, sha256: str) -> Seen | None:
        """The latest manifest row of this content under this name that decided it (not a `duplicate`
        delivery, not a `released` row of quarantined records)."""
        history = self.by_name.get((source, name), [])
        decided = [s for s in history if s.sha256 == sha256 and s.status not in _NOT_DECISIONS]
        return decided[-1] if decided else None

    def unchanged(self, source: str, name: str, path: str, size_bytes: int, mtime_ns: int) -> str | None:
        """The SHA-256 a manifest row recorded for this path, size and mtime, if the file can be taken to hold
        that content unread: the row was recorded at least RACY_MARGIN_NS after the mtime (module docstring).
        None when the file must be read (never seen so, seen too soon after it was written, or seen so with two
        contents)."""
        contents = {
            s.sha256
            for s in self.by_name.get((source, name), [])
            if s.path == path and s.mtime_ns == mtime_ns and s.size_bytes == size_bytes
            and s.sha256 != UNREADABLE_SHA256  # a row of a file that could not be read vouches for no content
            and s.recorded_ns is not None and s.recorded_ns - mtime_ns >= RACY_MARGIN_NS
        }
        return contents.pop() if len(contents) == 1 else None

    def decide(self, source: str, name: str, path: str, sha256: str, mtime_ns: int) -> Verdict:
        history = self.by_name.get((source, name), [])
        same_content = [s for s in history if s.sha256 == sha256]
        latest = self.latest_decision(source, name, sha256)
        if (
            latest is not None
            and retryable(source, latest)
            and not any(s.status is FileStatus.LOADED and s.sha256 != sha256 for s in history)
        ):
            return Verdict.RETRY
        if same_content:
            if any(s.path == path and s.mtime_ns == mtime_ns for s in same_content):
                return Verdict.SKIP
            return Verdict.DUPLICATE
        if any(s.status is FileStatus.LOADED for s in history):
            return Verdict.CONFLICT
        return Verdict.NEW
