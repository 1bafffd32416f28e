"""Writing CSV files exactly as FORMATS.md describes them (RFC 4180, one header row, UTF-8 or CP932).

The reader (`read_csv`) splits a file into records with their physical line numbers and raw text; validation
is contracts.validation's job. The writer is what the simulator and tests use
to produce inbox files, and what seisan uses for its own CSV outputs. Empty string or None = empty field.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TextIO

from contracts.codes import looks_like_my_number, mask_value
from contracts.problems import Problem


def write_csv(stream: TextIO, columns: Sequence[str],
              rows: Iterable[Mapping[str, object] | Sequence[object]], line_ending: str = "\n") -> None:
    """Write a CSV file's text to `stream`, row by row: header `columns`, then `rows` (mappings by column name,
    or sequences in column order). Fields are quoted only when needed (comma, quote, CR or LF inside). The
    stream decides the encoding; open a file with newline="" so that `line_ending` reaches it unchanged."""
    writer = csv.writer(stream, lineterminator=line_ending, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        if isinstance(row, Mapping):
            values = [row.get(c) for c in columns]
        else:
            values = list(row)
        writer.writerow(["" if v is None else v for v in values])


def csv_bytes(columns: Sequence[str], rows: Iterable[Mapping[str, object] | Sequence[object]],
              encoding: str = "utf-8", line_ending: str = "\n", bom: bool = False) -> bytes:
    """The bytes of a CSV file as `write_csv` writes it, in `encoding` (a UTF-8 BOM first when `bom`)."""
    buffer = io.StringIO()
    write_csv(buffer, columns, rows, line_ending)
    data = buffer.getvalue().encode(encoding)
    if bom and encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        data = b"\xef\xbb\xbf" + data
    return data


# --- reading ----------------------------------------------------------------------------------------------
# Why not polars/pyarrow's CSV readers: quarantine needs, per record, the physical line where it starts
# (quoted newlines respected) and its raw text, and a malformed row must not take the whole file's typing
# down with it. Python's csv module over the decoded text gives exactly that (well over 100k rows/s).

UTF8_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One CSV data record.

    line_number: 1-based physical line where the record starts (the first data row after a one-line
    header is 2); fields: the record's fields as text, in file order; delivered: the record's physical lines
    as delivered (quoted newlines included). `raw_text` is what quarantine keeps of it.
    """

    line_number: int
    fields: list[str]
    delivered: str

    @property
    def raw_text(self) -> str:
        """The record's physical lines as delivered (final line ending removed), except that a record with a
        field that is a My Number (codes.looks_like_my_number) is re-serialised with that field masked: masking
        by field, so the number never reaches a quarantine row in clear, however it is written. Computed when
        asked (only a quarantined record is): a record that loads never pays for it."""
        return _raw_text(self.delivered, self.fields)


def CsvError(code: str, line_number: int, detail: str) -> Problem:
    """Why a CSV file could not be read as records, as the one problem type: code (a contracts.reasons
    code), the physical line where the trouble starts (0 for the whole file) and a human sentence."""
    return Problem(code, None, detail, line=line_number)


@dataclass(frozen=True, slots=True)
class CsvRead:
    """A CSV file read into records. header: the header row's names as delivered (BOM removed);
    records: every data record (fully blank lines are not records), a list or PlainLines (`read_csv_text`);
    error: set when the file could not be read to its end (then `records` holds what was read before the
    error)."""

    header: tuple[str, ...]
    records: list[CsvRecord] | PlainLines
    error: Problem | None = None


def decode_csv(data: bytes, encoding: str = "utf-8") -> str:
    """The text of a CSV file: UTF-8 (one leading BOM dropped) or CP932. Raises UnicodeDecodeError."""
    name = encoding.lower().replace("_", "-")
    if name in ("utf-8", "utf8"):
        text = data.decode("utf-8")
        return text[1:] if text.startswith(UTF8_BOM) else text
    return data.decode(name)


_BLANK_LINES = frozenset(("", "\n", "\r", "\r\n"))  # a physical line that is no record


@dataclass(frozen=True, slots=True)
class PlainLines:
    """Records that are each one plain physical line: no quote, no NUL, within csv's field limit, not blank.
    A record's fields are its line, line ending removed, split at every comma: exactly what csv.reader makes of
    it, so its reader may split them all at once. lines[i] (as delivered) starts on line line_numbers[i]."""

    line_numbers: list[int]
    lines: list[str]

    @classmethod
    def of(cls, first: int, lines: list[str]) -> PlainLines:
        """The records of consecutive plain physical lines, the first on line `first` (blank lines dropped)."""
        if _BLANK_LINES.isdisjoint(lines):
            return cls(list(range(first, first + len(lines))), lines)
        kept = [index for index, line in enumerate(lines) if line not in _BLANK_LINES]
        return cls([first + index for index in kept], [lines[index] for index in kept])

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> CsvRecord:
        return _plain_record(self.line_numbers[index], self.lines[index])

    def __iter__(self) -> Iterator[CsvRecord]:
        return iter(self.records())

    def records(self) -> list[CsvRecord]:
        return [_plain_record(n, line) for n, line in zip(self.line_numbers, self.lines, strict=True)]

    def split(self, size: int) -> tuple[PlainLines, PlainLines | None]:
        """(the first `size` records, the rest or None)."""
        if size >= len(self.lines):
            return self, None
        return (PlainLines(self.line_numbers[:size], self.lines[:size]),
                PlainLines(self.line_numbers[size:], self.lines[size:]))


def _plain_record(line_number: int, line: str) -> CsvRecord:
    """The record of a plain line: its fields are the line, line ending removed, split at every comma."""
    return CsvRecord(line_number, line.rstrip("\r\n").split(","), line)


class _LineTap:
    """Iterates physical lines for csv.reader and remembers the ones of the record being read. Lines already
    taken from `lines` can be handed back, to be taken first (`push`); `take` takes a block of lines at once."""

    __slots__ = ("_lines", "_pending", "taken", "count")

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pending: deque[str] = deque()
        self.taken: list[str] = []
        self.count = 0

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = self._pending.popleft() if self._pending else next(self._lines)
        self.taken.append(line)
        self.count += 1
        return line

    def take(self, size: int) -> list[str]:
        """The next lines: those handed back, or else up to `size` new ones (none at the end)."""
        if self._pending:
            block = list(self._pending)
            self._pending.clear()
        else:
            block = list(islice(self._lines, size))
        self.count += len(block)
        return block

    def push(self, lines: list[str]) -> None:
        self._pending.extendleft(reversed(lines))
        self.count -= len(lines)


# An ASCII record without 12 digits grouped at most 4-4-4 holds no My Number field: most records, decided at
# C speed before any field is looked at.
_ASCII_CANDIDATE = re.compile(r"[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{4}")


def _raw_text(delivered: str, fields: list[str]) -> str:
    """The record's text for quarantine: as delivered, or rebuilt with every My Number field masked."""
    text = delivered.rstrip("\r\n")
    if text.isascii() and _ASCII_CANDIDATE.search(text) is None:
        return text
    if not any(looks_like_my_number(value) for value in fields):
        return text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow([mask_value(v) for v in fields])
    return buffer.getvalue().rstrip("\n")


PLAIN_BLOCK_LINES = 4096  # physical lines CsvScan takes at a time to split without csv.reader


class CsvScan:
    """A CSV text read record by record, in bounded memory (a file of any size): `header` once the header row is
    read, then `records()` yields each data record; `error` is set when the text could not be read to its end
    (the records yielded before it stand as read). The one reader of FORMATS.md's CSV rules: `read_csv_text`
    collects what it yields, ingestion streams large files through it.

    Stops with error `csv_malformed` at broken quoting, `file_empty` without a header, and
    `file_too_many_rows` once more than `max_records` records are seen. `lines` are physical lines with their
    line endings (a text file opened with newline="", or io.StringIO(text, newline="")); a decoding error
    raised by them propagates to the caller.
    """

    def __init__(self, lines: Iterator[str], max_records: int | None = None, plain_lines: bool = True,
                 block_lines: int = PLAIN_BLOCK_LINES) -> None:
        self._tap = _LineTap(lines)
        self._plain_lines = plain_lines  # False: every record through csv.reader (the reference, for tests)
        self._block_lines = block_lines
        self._reader = csv.reader(self._tap, strict=True)
        self._max_records = max_records
        self.error: Problem | None = None
        self.header: tuple[str, ...] = ()
        try:
            header_row = next(self._reader, None)
        except csv.Error as error:
            self.error = CsvError("csv_malformed", 1, f"header: {error}")
            return
        if not header_row or all(not h for h in header_row):
            self.error = CsvError("file_empty", 0, "the file has no header row")
            return
        self.header = tuple(header_row)

    def records(self) -> Iterator[CsvRecord]:
        """Each data record in file order. A physical line without a quote (or NUL) and shorter than csv's field
        limit is one record whose fields are split at its commas, which is exactly what csv.reader makes of
        it (tests/contracts/test_csv_roundtrip.py compares the two readers); such lines are split a block at a
        time without csv.reader, about ten times faster. Every other line starts a record read by csv.reader,
        quoted newlines and all."""
        for piece in self._limited(self._pieces(self._block_lines)):
            if isinstance(piece, PlainLines):
                yield from piece.records()
            else:
                yield piece

    def chunks(self, size: int, max_chars: int | None = None) -> Iterator[PlainLines | list[CsvRecord]]:
        """The records of `records()`, `size` at a time, or fewer once a chunk's records hold `max_chars`
        characters as delivered (the last chunk fewer): a chunk of plain lines only as PlainLines, for its
        reader to split in bulk; any other chunk as records."""
        numbers: list[int] = []
        lines: list[str] = []
        records: list[CsvRecord] | None = None  # set once the chunk holds a record read by csv.reader
        chars = 0
        for piece in self._limited(self._pieces(min(size, self._block_lines))):
            while piece:
                held = len(lines) if records is None else len(records)
                part, piece = (piece, None) if not isinstance(piece, PlainLines) else piece.split(size - held)
                if isinstance(part, CsvRecord):
                    if records is None:
                        records, numbers, lines = PlainLines(numbers, lines).records(), [], []
                    records.append(part)
                elif records is None:
                    numbers += part.line_numbers
                    lines += part.lines
                else:
                    records += part.records()
                if max_chars is not None:
                    chars += len(part.delivered) if isinstance(part, CsvRecord) else sum(map(len, part.lines))
                if (len(lines) if records is None else len(records)) >= size or (
                    max_chars is not None and chars >= max_chars
                ):
                    yield PlainLines(numbers, lines) if records is None else records
                    numbers, lines, records, chars = [], [], None, 0
        if records:
            yield records
        elif lines:
            yield PlainLines(numbers, lines)

    def _limited(self, pieces: Iterator[PlainLines | CsvRecord]) -> Iterator[PlainLines | CsvRecord]:
        """`pieces` up to the first record over `max_records` included; then `error` is set."""
        if self.error is not None:
            return
        seen, limit = 0, self._max_records
        for piece in pieces:
            size = len(piece) if isinstance(piece, PlainLines) else 1
            if limit is not None and seen + size > limit:
                yield piece.split(limit + 1 - seen)[0] if isinstance(piece, PlainLines) else piece
                self.error = CsvError("file_too_many_rows", 0, f"more than {limit} records (the configured limit)")
                return
            seen += size
            yield piece

    def _pieces(self, block_lines: int) -> Iterator[PlainLines | CsvRecord]:
        """The records in file order: runs of plain lines (never empty) and records read by csv.reader."""
        tap, limit = self._tap, csv.field_size_limit()
        while True:
            if self._plain_lines:
                block = tap.take(block_lines)
                if not block:
                    return
                plain = _plain_prefix(block, limit)
                run = PlainLines.of(tap.count - len(block) + 1, block[:plain] if plain < len(block) else block)
                if run:
                    yield run
                if plain == len(block):
                    continue
                tap.push(block[plain:])
            record = self._quoted_record()
            if record is None:
                return
            if record.fields:  # a blank line is no record
                yield record

    def _quoted_record(self) -> CsvRecord | None:
        """The next record read by csv.reader (None at the end, or at broken quoting: then `error` is set)."""
        tap = self._tap
        tap.taken.clear()
        start = tap.count + 1
        try:
            fields = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as error:
            self.error = CsvError("csv_malformed", start, f"line {start}: {error}")
            return None
        return CsvRecord(start, fields, "".join(tap.taken))


def _plain_prefix(block: list[str], limit: int) -> int:
    """How many of `block`'s first lines have no quote or NUL and fit csv's field limit."""
    joined = "".join(block)
    if '"' not in joined and "\x00" not in joined and max(map(len, block)) <= limit:
        return len(block)
    for index, line in enumerate(block):
        if '"' in line or "\x00" in line or len(line) > limit:
            return index
    return len(block)


def read_csv_text(text: str, max_records: int | None = None, plain: bool = False) -> CsvRead:
    """Split decoded CSV text into header and records (RFC 4180, strict quoting, LF or CRLF): `CsvScan`, kept.
    `plain`: when every record is one plain line, they are given as PlainLines (for a reader that splits them in
    bulk), else as a list."""
    scan = CsvScan(iter(io.StringIO(text, newline="")), max_records)
    if plain:
        return CsvRead(scan.header, next(scan.chunks(sys.maxsize), []), scan.error)
    return CsvRead(scan.header, list(scan.records()), scan.error)


def read_csv(data: bytes, encoding: str = "utf-8", max_records: int | None = None, plain: bool = False) -> CsvRead:
    """Decode and split a CSV file; undecodable bytes give error `file_encoding_invalid` (no records). `plain`:
    as for `read_csv_text`."""
    if not data:
        return CsvRead((), [], CsvError("file_empty", 0, "the file has no bytes"))
    try:
        text = decode_csv(data, encoding)
    except (UnicodeDecodeError, LookupError) as error:
        line = data[: getattr(error, "start", 0)].count(b"\n") + 1
        return CsvRead((), [], CsvError("file_encoding_invalid", 0,
                                        f"not valid {encoding} (first bad byte on line {line})"))
    return read_csv_text(text, max_records, plain)
