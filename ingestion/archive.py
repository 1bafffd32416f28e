"""Moving settled files out of the inbox into the archive, so that a run scans the day's files, not the years'.

The inbox is where senders deliver; without an archive it keeps every file ever delivered, and every run lists,
stats and classifies all of them (43,451 files and about 0.9 s of a small world's day 365; a national inbox gains
some 300,000 terminal files a day). With `[ingest] archive = true` (seisan.toml) an ingest run ends by moving each
due file it has nothing more to do with to the same relative path under the archive folder (default
`<inbox>/archive`: a top-level folder the scan does not read, on the same file system, so a move is a rename).

A file is settled, and moved, when the manifest holds its content under this very path and mtime and identity
would skip it (`Verdict.SKIP`: loaded, a `duplicate` delivery, a `conflict`, a final rejection). A file stays in the
inbox when a later run still needs it there:
- its latest decision is a retryable rejection (ingestion.identity: a late master or a raised limit can load it);
- a partner file with rows held for an unknown reference (ingestion.release reads it again when a master arrives);
- it was not due (named for a later date), was changed within the settle time, or could not be read.

Identity of what is moved: the file must hold the bytes the manifest names. It is renamed first, then the
archived file is checked: its size and mtime must equal the manifest row's, and when that row was recorded less
than identity's racy margin (2 s) after the mtime (a file read the moment it was written), its SHA-256 too. A
file that fails the check is moved back for the next run to read. Nothing is deleted, with one exception: a
redelivery of bytes the archive already holds under that path (SHA-256 checked) is removed from the inbox, as
its content is archived and its delivery recorded (`duplicate` manifest row). A name already taken in the archive
by other bytes (a corrected file under the name of a rejected one) gets the SHA-256's first 16 hex digits:
`name~<sha16>`.

Auditors find a file by its manifest path under either folder (`located`). Written by hand: moving files with a
check is a few calls of `os`; no library decides when a settlement input is settled.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ingestion.identity import UNREADABLE_SHA256, ManifestIndex, Verdict
from ingestion.inbox import SOURCES, InboxFile

__all__ = ["ARCHIVE_FOLDER", "Archived", "Known", "archive_settled", "check_archive", "default_archive", "located"]

ARCHIVE_FOLDER = "archive"  # default archive: <inbox>/archive (not one of the five source folders: never scanned)


@dataclass(frozen=True, slots=True)
class Known:
    """A due file (its size and mtime as read, or as scanned for a re-scan) and the SHA-256 identity says it
    holds: that of the bytes read, or the one the manifest vouches for."""

    file: InboxFile
    sha256: str


@dataclass(frozen=True, slots=True)
class Archived:
    """What one archive pass did: files moved, redeliveries removed (their bytes archived already), files
    moved back (changed since they were read) and files left in the inbox because a move failed."""

    moved: int = 0
    removed: int = 0
    moved_back: int = 0
    failed: int = 0


def default_archive(inbox: Path) -> Path:
    return Path(inbox) / ARCHIVE_FOLDER


def check_archive(inbox: Path, archive: Path) -> None:
    """Raise ValueError for an archive folder that would lose or re-read files: the inbox itself (each file's
    archive path would be the file: a redelivery check would remove it) or a folder inside a source folder (every
    ingest would scan the archive)."""
    inbox, archive = Path(inbox).resolve(), Path(archive).resolve()
    if archive == inbox:
        raise ValueError(f"the archive {archive} is the inbox itself: choose a folder of its own "
                         f"(by default {default_archive(inbox)})")
    for source in SOURCES:
        if archive == inbox / source or (inbox / source) in archive.parents:
            raise ValueError(f"the archive {archive} is inside the inbox folder {source}/, which every ingest reads: "
                             f"choose a folder outside inbox/{{{','.join(SOURCES)}}}")


def _suffixed(path: Path, sha256: str) -> Path:
    """Where the archive keeps other bytes under a name it already holds (module docstring)."""
    return path.with_name(f"{path.name}~{sha256[:16]}")


def located(inbox: Path, archive: Path | None, rel_path: str, sha256: str | None = None) -> Path:
    """Where a manifest path's file is now: in the inbox if it is there, else in the archive (under its `~<sha16>`
    name when `sha256` is given and the archive holds that name), else (gone) its inbox path."""
    in_inbox = Path(inbox) / rel_path
    if archive is None or in_inbox.exists():
        return in_inbox
    in_archive = Path(archive) / rel_path
    if sha256 and _suffixed(in_archive, sha256).exists():
        return _suffixed(in_archive, sha256)
    return in_archive if in_archive.exists() else in_inbox


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _move(source: Path, target: Path) -> None:
    """Rename, or copy and remove across file systems (an archive configured on another disk)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copy2(source, target)
        os.unlink(source)


def _settled(manifest: ManifestIndex, known: Known) -> bool:
    file = known.file
    if known.sha256 == UNREADABLE_SHA256:
        return False
    return manifest.decide(file.source, file.name, file.rel_path, known.sha256, file.mtime_ns) is Verdict.SKIP


def _vouched(manifest: ManifestIndex, known: Known) -> bool:
    """True when the manifest vouches for the content from size and mtime alone (ingestion.identity)."""
    file = known.file
    return manifest.unchanged(file.source, file.name, file.rel_path, file.size_bytes, file.mtime_ns) == known.sha256


def _holds(path: Path, known: Known, vouched: bool) -> bool:
    stat = path.stat()
    if (stat.st_size, stat.st_mtime_ns) != (known.file.size_bytes, known.file.mtime_ns):
        return False
    return vouched or _sha256(path) == known.sha256


def archive_settled(
    inbox: Path,
    archive: Path,
    files: Iterable[Known],
    manifest: ManifestIndex,
    keep: set[str],
    progress: Callable[[str], None] | None = None,
) -> Archived:
    """Move every settled file of `files` (module docstring) from `inbox` to `archive`, except those whose
    manifest path is in `keep` (partner files with held rows). `manifest` must hold this run's rows."""
    inbox, archive = Path(inbox), Path(archive)
    check_archive(inbox, archive)
    moved = removed = moved_back = failed = 0
    for known in files:
        file = known.file
        if file.rel_path in keep or not _settled(manifest, known):
            continue
        source = Path(file.os_path)
        plain = archive / os.path.relpath(source, inbox)
        suffixed = _suffixed(plain, known.sha256)
        vouched = _vouched(manifest, known)
        try:
            archived = next((p for p in (plain, suffixed) if p.exists() and _sha256(p) == known.sha256), None)
            if archived is not None or suffixed.exists():
                if archived is not None and _holds(source, known, vouched):
                    os.unlink(source)  # a redelivery of archived bytes: its delivery is in the manifest
                    removed += 1
                else:
                    failed += 1
                    if progress is not None:
                        progress(f"{file.rel_path}: not archived, {suffixed} holds other bytes; left in the inbox")
                continue
            target = suffixed if plain.exists() else plain
            _move(source, target)
            if _holds(target, known, vouched):
                moved += 1
                continue
            if not source.exists():
                _move(target, source)
            moved_back += 1
            if progress is not None:
                progress(f"{file.rel_path}: changed since it was read; left in the inbox for the next run")
        except OSError as exc:
            failed += 1
            if progress is not None:
                progress(f"{file.rel_path}: not archived ({type(exc).__name__}: {exc.strerror}); left in the inbox, "
                         f"the next run tries again")
    if progress is not None and (moved or removed):
        progress(f"archived {moved} settled files to {archive}"
                 + (f", removed {removed} redeliveries of archived bytes" if removed else ""))
    return Archived(moved, removed, moved_back, failed)
