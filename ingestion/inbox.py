"""Finding the files of an inbox, telling their kind and business date from their names, and ordering them.

Only inbox/{master,platform,terminal,partner,bank} are scanned; anything else at the top level (`later/`,
`faults.json`, `world.json`) is ignored, as are hidden files (names starting with `.`, e.g. partial uploads).
This module reads directory entries and file metadata only, never file contents.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from contracts.schemas import CSV_KINDS, classify

SOURCES = ("master", "platform", "terminal", "partner", "bank")
TERMINAL_KIND = "terminal_log"
BANK_KIND = "bank_statement"
UNKNOWN_KIND = "unknown"
_TERMINAL_NAME = re.compile(r"(?P<terminal>T[0-9]{8})_(?P<date>[0-9]{8})_(?P<upload>[0-9]{4})\.jsonl")
_BANK_NAME = re.compile(r"(?P<bank>[0-9]{4})_(?P<branch>[0-9]{3})_(?P<account>[0-9]{7})_(?P<date>[0-9]{8})\.txt")
_KIND_RANK = {kind.name: rank for rank, kind in enumerate(CSV_KINDS)}


@dataclass(frozen=True, slots=True)
class InboxFile:
    """One file found in the inbox.

    path: absolute path; rel_path: path relative to the inbox, `/`-separated (the manifest's `path`);
    source: inbox folder; name: file name; kind: a CSV kind name, `terminal_log`, `bank_statement` or
    `unknown`; business_date: the date in the name (None when the name is not understood); groups: the
    name's other parts (`partner`, `terminal`, `upload`, `bank`, `branch`, `account`); size_bytes, mtime_ns:
    file metadata at scan time.
    """

    path: Path
    rel_path: str
    source: str
    name: str
    kind: str
    business_date: dt.date | None
    groups: dict[str, str]
    size_bytes: int
    mtime_ns: int

    @property
    def identity(self) -> tuple[str, str]:
        """FORMATS.md "File identity": a file is its name (within its source folder) and its content."""
        return self.source, self.name


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _classify(source: str, rel_parts: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    name = rel_parts[-1]
    folder = rel_parts[-2] if len(rel_parts) >= 3 else None
    if source == "terminal":
        match = _TERMINAL_NAME.fullmatch(name)
        if match and folder == match["terminal"] and len(rel_parts) == 3:
            return TERMINAL_KIND, match.groupdict()
        return UNKNOWN_KIND, {}
    if source == "bank":
        match = _BANK_NAME.fullmatch(name)
        if match and folder == match["bank"] and len(rel_parts) == 3:
            return BANK_KIND, match.groupdict()
        return UNKNOWN_KIND, {}
    found = classify(source, name)
    if found is None:
        return UNKNOWN_KIND, {}
    kind, groups = found
    expected_depth = 3 if source == "partner" else 2
    if len(rel_parts) != expected_depth or (source == "partner" and folder != groups.get("partner")):
        return UNKNOWN_KIND, {}
    return kind.name, groups


def scan_inbox(inbox: Path) -> list[InboxFile]:
    """Every regular, non-hidden file under the five source folders, classified, in path order."""
    files: list[InboxFile] = []
    for source in SOURCES:
        root = inbox / source
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(inbox)
            if not path.is_file() or any(part.startswith(".") for part in rel.parts):
                continue
            kind, groups = _classify(source, rel.parts)
            business_date = _parse_date(groups["date"]) if "date" in groups else None
            if kind != UNKNOWN_KIND and business_date is None:
                kind = UNKNOWN_KIND
            stat = path.stat()
            files.append(
                InboxFile(
                    path,
                    rel.as_posix(),
                    source,
                    path.name,
                    kind,
                    business_date,
                    {k: v for k, v in groups.items() if k != "date"},
                    stat.st_size,
                    stat.st_mtime_ns,
                )
            )
    return files


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
