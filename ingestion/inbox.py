"""Finding the files of an inbox, telling their kind and business date from their names, and ordering them.

Only inbox/{master,platform,terminal,partner,bank} are scanned; anything else at the top level (`later/`,
`faults.json`, `world.json`) is ignored. Names and their patterns are contracts.inbox_names'.

Delivery rule (docs/formats.md, "Delivering files"): a sender writes a file under a temporary name and renames
it when complete. Names starting with `.` (at any level) or ending in `.tmp` or `.part` are never read. A file
whose modification time is less than `settle_seconds` before the scan (seisan.toml `[ingest] settle_seconds`)
may still be being written: it is left for the next run, not recorded anywhere but in the run's progress
lines. A file name that is not valid UTF-8 or holds control or bidirectional-override characters is not
understood: it is listed with kind `unknown` and reason `file_name_invalid`, under a printable path (the
offending bytes written `\\xff`, characters `\\u000a`), so it ends as a `rejected` manifest row like any
unknown file.
This module reads directory entries and file metadata only, never file contents.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from contracts.codes import mask_my_numbers
from contracts.inbox_names import BANK_KIND, SOURCES, TERMINAL_KIND, match_path
from contracts.reasons import Reason
from contracts.schemas import CSV_KINDS
from contracts.validation import BIDI_CONTROLS

__all__ = ["BANK_KIND", "SOURCES", "TERMINAL_KIND", "UNKNOWN_KIND", "InboxFile", "InboxScan", "files_due",
           "load_phase", "scan", "scan_inbox"]

UNKNOWN_KIND = "unknown"
TEMPORARY_SUFFIXES = (".tmp", ".part")
_KIND_RANK = {kind.name: rank for rank, kind in enumerate(CSV_KINDS)}


@dataclass(frozen=True, slots=True)
class InboxFile:
    """One file found in the inbox.

    os_path: absolute path as the OS names it (a string: a scan of a year's inbox makes tens of thousands of
    these and reads only the new ones; `path` makes the Path of one when it is read); rel_path: path relative
    to the inbox, `/`-separated and always printable UTF-8 (the manifest's `path`); source: inbox folder; name:
    file name (printable); kind: a CSV kind name, `terminal_log`, `bank_statement` or `unknown`; business_date:
    the date in the name (None when the name is not understood); groups: the name's other parts (`partner`,
    `terminal`, `upload`, `bank`, `branch`, `account`); size_bytes, mtime_ns: file metadata at scan time;
    name_invalid: the name was not valid UTF-8 or held unsafe characters (kind is then `unknown`).
    """

    os_path: str
    rel_path: str
    source: str
    name: str
    kind: str
    business_date: dt.date | None
    groups: dict[str, str]
    size_bytes: int
    mtime_ns: int
    name_invalid: bool = False

    @property
    def path(self) -> Path:
        return Path(self.os_path)

    @property
    def identity(self) -> tuple[str, str]:
        """FORMATS.md "File identity": a file is its name (within its source folder) and its content."""
        return self.source, self.name

    @property
    def rejection(self) -> tuple[str, str]:
        """(reason code, detail) for a file of kind `unknown`."""
        if self.name_invalid:
            return Reason.FILE_NAME_INVALID, (
                f"{self.rel_path}: the name is not valid UTF-8, holds control characters or a personal number"
            )
        return Reason.FILE_UNKNOWN_KIND, f"{self.rel_path} matches no inbox file pattern"


@dataclass(frozen=True, slots=True)
class InboxScan:
    """What one scan found: the files to consider, and the printable paths of files left for a later run
    because they changed within the settle time."""

    files: list[InboxFile]
    unsettled: list[str] = field(default_factory=list)


# The characters a printable path escapes: Unicode categories Cc (C0, DEL, C1) and Cs (surrogates), and the
# bidirectional controls. One class, so that a name holding none of them (almost every name) costs one search.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(BIDI_CONTROLS)) + "]")


def printable_path(rel: str) -> tuple[str, bool]:
    """(path safe to store and print, whether it had to be changed): a byte that is not UTF-8 (a surrogate
    escape from the OS) is written `\\xff`, a control or bidirectional-override character `\\u202e`, so an
    operator can still find the file and two different bad names stay different; a My Number in the name is
    masked (the file is then `file_name_invalid`, never matched to a kind)."""
    text = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    safe = _UNSAFE.sub(lambda found: f"\\u{ord(found[0]):04x}", text)
    safe = mask_my_numbers(safe) or safe  # a name is a byte seisan writes: a personal number in it never is
    return safe, safe != rel


def _ignored(rel_parts: tuple[str, ...]) -> bool:
    """The delivery rule: hidden names and temporary names are files still being delivered."""
    return any(part.startswith(".") for part in rel_parts) or rel_parts[-1].endswith(TEMPORARY_SUFFIXES)


def _inbox_file(os_path: str, rel_parts: tuple[str, ...], stat_size: int, stat_mtime_ns: int) -> InboxFile:
    rel, invalid = printable_path("/".join(rel_parts))
    source = rel_parts[0]
    found = None if invalid else match_path(rel_parts)
    return InboxFile(
        os_path,
        rel,
        source,
        rel.rsplit("/", 1)[-1],
        found.kind if found else UNKNOWN_KIND,
        found.business_date if found else None,
        dict(found.parts) if found else {},
        stat_size,
        stat_mtime_ns,
        invalid,
    )


def scan(inbox: Path, settle_seconds: float = 0.0, now_ns: int | None = None) -> InboxScan:
    """Every regular file under the five source folders that the delivery rule lets through, classified, in
    path order; files modified less than `settle_seconds` before `now_ns` (default: the clock) are left out
    and listed as unsettled. A file that disappears while being scanned (renamed away) is not listed."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    settle_ns = int(settle_seconds * 1_000_000_000)
    files: list[InboxFile] = []
    unsettled: list[str] = []
    for source in SOURCES:
        root = inbox / source
        if not root.is_dir():
            continue
        for rel_parts, entry in sorted(_walk(str(root), (source,))):
            if _ignored(rel_parts):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except OSError:
                continue
            if 0 <= now_ns - stat.st_mtime_ns < settle_ns:
                unsettled.append(printable_path("/".join(rel_parts))[0])
                continue
            files.append(_inbox_file(entry.path, rel_parts, stat.st_size, stat.st_mtime_ns))
    return InboxScan(files, unsettled)


def _walk(folder: str, parts: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], os.DirEntry[str]]]:
    """(path parts relative to the inbox, entry) of everything under `folder`, as `Path.rglob("*")` finds it:
    symbolic links are listed, not followed into, and a folder that cannot be listed is passed over. Written
    with os.scandir because the inbox keeps every file ever delivered: pathlib's per-path objects cost about
    1.5 s a day for a year of a small world's 43,000 files."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return
    for entry in entries:
        rel_parts = (*parts, entry.name)
        yield rel_parts, entry
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_folder:
            yield from _walk(entry.path, rel_parts)


def scan_inbox(inbox: Path, settle_seconds: float = 0.0, now_ns: int | None = None) -> list[InboxFile]:
    """The files of `scan` (without the unsettled list)."""
    return scan(inbox, settle_seconds, now_ns).files


def load_phase(file: InboxFile) -> int:
    """0 for masters, 1 for certificate files, 2 for the rest: later phases check against earlier ones."""
    if file.kind.startswith("master_"):
        return 0
    if file.kind == "platform_mykey_certs":
        return 1
    return 2


def _order_key(file: InboxFile) -> tuple[object, ...]:
    rank = _KIND_RANK.get(file.kind, len(_KIND_RANK) + (file.kind == BANK_KIND))
    return load_phase(file), file.business_date or dt.date.min, rank, file.rel_path


def files_due(files: list[InboxFile], business_date: dt.date) -> list[InboxFile]:
    """The files an ingest of `business_date` considers (named for it or earlier, or not understood), in
    load order: masters by date, then certificate files, then the rest by date (terminal files by terminal
    and upload number, so a terminal's files arrive in seq order)."""
    due = [f for f in files if f.business_date is None or f.business_date <= business_date]
    return sorted(due, key=_order_key)
