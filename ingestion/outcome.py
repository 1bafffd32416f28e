"""What a loader decides about one file, before anything is written: rows per raw table and quarantined
records.

Loaders are pure with respect to the warehouse (they may read it, never write it); `ingestion.store` writes
an outcome in one transaction. An outcome checks its own accounting: records read = loaded + quarantined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pyarrow as pa

from contracts.validation import Problem


class FileStatus(StrEnum):
    """A manifest row's status: what one evaluation of a file came to (docs/formats.md)."""

    LOADED = "loaded"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    RELEASED = "released"  # rows of an earlier evaluation released from quarantine by a later master snapshot


class GapAction(StrEnum):
    """What a GapChange does to raw.terminal_seq_gaps."""

    OPEN = "open"
    RESOLVE = "resolve"



@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """One record kept out of the raw tables. line_number: physical line (Zengin: record number), 0 for a
    whole file that could not be split into records; reason_code/detail: its first problem (the quarantine
    reason); raw_text: the record as delivered (masked on write); master_id: for a row of a referenced master
    (municipalities, merchants, partners) whose id column has a valid shape, that id: it still counts as known
    in the snapshot for referential checks; problems: every problem found, in check order (the first is
    reason_code's; given none, that one alone)."""

    line_number: int
    reason_code: str
    detail: str
    raw_text: str | None
    master_id: str | None = None
    problems: tuple[Problem, ...] = ()

    def __post_init__(self) -> None:
        if not self.problems:
            object.__setattr__(self, "problems", (Problem(self.reason_code, None, self.detail),))
        elif self.problems[0].code != self.reason_code:
            raise ValueError(f"reason {self.reason_code} is not the first problem's {self.problems[0].code}")

    @classmethod
    def of(
        cls, line_number: int, problems: Sequence[Problem], raw_text: str | None, master_id: str | None = None
    ) -> QuarantinedRecord:
        """A record quarantined for `problems` (at least one, in check order)."""
        first = problems[0]
        return cls(line_number, first.code, first.detail, raw_text, master_id, tuple(problems))

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """Every distinct code of the record's problems, in check order (raw.quarantine.reason_codes)."""
        return tuple(dict.fromkeys(str(p.code) for p in self.problems))


@dataclass(frozen=True, slots=True)
class GapChange:
    """A change to raw.terminal_seq_gaps: `open` inserts a gap, `resolve` marks the open gap
    (terminal_id, missing_from_seq, missing_to_seq) resolved by this file."""

    action: GapAction
    terminal_id: str
    missing_from_seq: int
    missing_to_seq: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", GapAction(self.action))  # a bare "open" is checked, then typed


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """A loader's verdict on one file.

    status: loaded | duplicate | conflict | rejected | released; reason_code/detail: why, for a rejected or
    conflicting file; rows_read: records in the file (0 for a release); rows_loaded: records that went into
    raw tables (a Zengin header, trailer and end count as loaded into bank_statements); tables: raw table ->
    rows (lineage included); quarantined: rejected records; gap_changes: terminal seq gap bookkeeping;
    rows_released: records of an earlier evaluation that a late master released from quarantine (loaded now);
    spilled: raw table -> a Parquet file in the batch's pending folder holding its rows, for a file streamed
    in bounded memory (ingestion.csv_loader.load_csv_stream) instead of rows in `tables`.
    Accounting: rows_read = rows_loaded + rows_quarantined - rows_released.
    """

    status: FileStatus
    rows_read: int
    rows_loaded: int
    tables: dict[str, pa.Table] = field(default_factory=dict)
    quarantined: tuple[QuarantinedRecord, ...] = ()
    reason_code: str | None = None
    detail: str | None = None
    gap_changes: tuple[GapChange, ...] = ()
    rows_released: int = 0
    spilled: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", FileStatus(self.status))
        counted = sum(1 for q in self.quarantined if q.line_number > 0)
        if self.rows_read != self.rows_loaded + counted - self.rows_released:
            raise AssertionError(
                f"rows read {self.rows_read} != loaded {self.rows_loaded} + quarantined {counted}"
                f" - released {self.rows_released}"
            )

    @property
    def rows_quarantined(self) -> int:
        return sum(1 for q in self.quarantined if q.line_number > 0)


def whole_file(
    status: FileStatus, reason_code: str, detail: str, records: list[tuple[int, str | None]] | None
) -> FileOutcome:
    """A file kept out whole: every record quarantined with the file's reason, or one line-0 row when the
    file cannot be split into records (`records` None)."""
    if not records:
        return FileOutcome(
            status,
            0,
            0,
            quarantined=(QuarantinedRecord(0, reason_code, detail, None),),
            reason_code=reason_code,
            detail=detail,
        )
    quarantined = tuple(QuarantinedRecord(line, reason_code, detail, text) for line, text in records)
    return FileOutcome(
        status, len(records), 0, quarantined=quarantined, reason_code=reason_code, detail=detail
    )


@dataclass(frozen=True, slots=True)
class FileFacts:
    """The facts about a file that every written row carries: sha256, inbox-relative path, source, kind,
    business date (None for unknown files), size, mtime and the run's date."""

    sha256: str
    path: str
    source: str
    kind: str
    business_date: dt.date | None
    size_bytes: int
    mtime_ns: int
    ingest_run_date: dt.date
