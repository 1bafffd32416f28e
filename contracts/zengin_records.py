"""Fixed-width record machinery shared by the Zengin codecs (zengin_statement.py 03, zengin_transfer.py 21).

Three independent parts, one per use:

- Values: normalising the digit strings the record dataclasses hold (`zero_filled`, `zero_to_empty`) and
  trimming their text fields (`trim_text_fields`). Used by the dataclasses, so by both sides below.
- Writer (strict): `n_field` (N: digits, zero-filled), `c_field` (C: Zengin characters, space-filled) and
  `fixed_record` (joins the fields and checks the record length). Never pads over a bad value: it raises.
- Reader (lenient on layout, strict on content): `split_records` (CR, LF, CRLF or no separator; right-trimmed
  records; a final 0x1A), `looks_ebcdic`, and `parse_fields`, which reads one record from a field table
  (name, 1-based start, length, kind) as copied from the layout tables in domain/zengin.md.

The reader part never calls the writer part and the writer part never calls the reader part (zengin.md §10):
the writer builds records from widths in field order, the reader slices them at table positions, so a layout
slip shows up as a round-trip failure instead of being repeated on both sides. Keep it that way.
Written by hand: no PyPI package reads or writes Zengin files (zengin.md §11). This module knows no record
layout, reason for rejecting a whole file, or message of a codec; it must never repair a value.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from contracts.era import EraDateError, parse_era_date
from contracts.kana import FieldClass, fit_field, zengin_char_problems
from contracts.reasons import Reason

# --------------------------------------------------------------------------------------------------------
# Values held by the record dataclasses.
# --------------------------------------------------------------------------------------------------------


def _is_digits_within(value: object, width: int) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= width


def zero_filled(value: str, width: int) -> str:
    """ASCII digits of at most `width` characters, zero-filled to `width`; anything else unchanged (the
    writer rejects it later)."""
    return value.zfill(width) if _is_digits_within(value, width) else value


def zero_to_empty(value: str, width: int) -> str:
    """Like `zero_filled`, but an all-zero code (an unused optional N field) becomes ""."""
    if _is_digits_within(value, width):
        return "" if int(value) == 0 else value.zfill(width)
    return value


def trim_text_fields(record: object, names: tuple[str, ...]) -> None:
    """Right-trim the spaces of text fields of a frozen dataclass, in its __post_init__: C fields are
    space-filled on the wire, so "ﾐｽﾞﾎ " and "ﾐｽﾞﾎ" are the same name."""
    for name in names:
        object.__setattr__(record, name, getattr(record, name).rstrip(" "))


# --------------------------------------------------------------------------------------------------------
# Writer (strict): fields from values, records from fields. Shares nothing with the reader below.
# --------------------------------------------------------------------------------------------------------


def n_field(value: int | str, width: int, name: str, *, exact: bool = False) -> bytes:
    """An N field: a non-negative int or ASCII digit string, zero-filled to `width`. With `exact`, a string
    must already have `width` digits (codes such as 銀行番号, where a short one is a wrong code)."""
    text = str(value)
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or len(text) > width or (
            exact and len(text) != width):
        bound = "exactly" if exact else "at most"
        raise ValueError(f"{name}: {value!r} is not a non-negative number of {bound} {width} digits")
    return text.zfill(width).encode("ascii")


def c_field(text: str, width: int, field_class: FieldClass, name: str) -> bytes:
    """A C field: Zengin characters of `field_class`, space-filled to `width` bytes; never truncated."""
    problems = zengin_char_problems(text, field_class)
    if problems:
        raise ValueError(f"{name}: " + "; ".join(problems))
    try:
        return fit_field(text, width).encode("cp932")
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def fixed_record(length: int, parts: list[bytes]) -> bytes:
    """The fields joined into one record; a length other than `length` is a layout bug, never data."""
    record = b"".join(parts)
    if len(record) != length:
        raise AssertionError(f"built a {len(record)}-byte record")
    return record


# --------------------------------------------------------------------------------------------------------
# Reader (lenient on layout, strict on content). Field kinds: N digits; Z optional digits (spaces read as
# None); D era date YYMMDD; E optional era date (zeros or spaces read as None); C single-byte JIS X 0201
# text, right-trimmed; F filler (never checked). Shares nothing with the writer above.
# --------------------------------------------------------------------------------------------------------

FieldSpec = tuple[tuple[str, int, int, str], ...]  # (name, 1-based start, length, kind), in record order

_SEPARATOR_RE = re.compile(rb"\r\n|\r|\n")
_EOF = b"\x1a"
_EBCDIC_ONE = 0xF1  # '1' in EBCDIC: the header record of an EBCDIC file starts with it


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as found: 1-based record number, 1-based physical line where it starts (the record number
    when the file has no separators), its bytes space-padded to the record length, and the length it had
    (longer than the record length: the record is wrong; shorter: it was right-trimmed)."""

    number: int
    line: int
    data: bytes
    size: int


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """Why a Zengin file is rejected: reason code (contracts/reasons.py), 1-based record number (0 for the
    whole file), 1-based physical line where that record starts, and a sentence (no personal data).
    Each codec subclasses it under its own public name."""

    code: str
    record_number: int
    line_number: int
    detail: str

    @classmethod
    def at(cls, code: str, raw: RawRecord, detail: str) -> Self:
        return cls(code, raw.number, raw.line, detail)


P = TypeVar("P", bound=RecordProblem)


def split_records(data: bytes, length: int) -> list[RawRecord]:
    """The records of a file after the layout tolerances (zengin.md §9): a final 0x1A dropped, then split at
    CR, LF or CRLF (blank lines after the last record dropped) or, with none, every `length` bytes."""
    body = data.rstrip(_EOF)
    if _SEPARATOR_RE.search(body):
        pieces = _SEPARATOR_RE.split(body)
        while pieces and not pieces[-1].strip(b" "):
            pieces.pop()  # the separator after the last record, trailing blank lines
    else:
        pieces = [body[i:i + length] for i in range(0, len(body), length)]
    return [RawRecord(number, number, piece.ljust(length, b" "), len(piece))
            for number, piece in enumerate(pieces, start=1)]


def looks_ebcdic(data: bytes, first: RawRecord) -> bool:
    """An EBCDIC file: its first byte is EBCDIC '1', or the header's コード区分 (byte 4) says 1."""
    return data[0] == _EBCDIC_ONE or first.data[3:4] == b"1"


def _is_jis_x0201_byte(byte: int) -> bool:
    return 0x20 <= byte <= 0x7E or 0xA1 <= byte <= 0xDF


def read_field(raw: bytes, kind: str, reference_date: dt.date | None) -> tuple[Any, str | None, str]:
    """(value, problem, reason code) of one field's bytes by kind; problem is a sentence or None.
    `reference_date` picks the era of D and E fields (zengin.md §5); files without dates pass None."""
    if kind == "F":
        return None, None, ""
    if kind == "C":
        if not all(_is_jis_x0201_byte(b) for b in raw):
            return None, "not single-byte JIS X 0201 text", Reason.ZENGIN_FIELD_INVALID
        return raw.decode("cp932").rstrip(" "), None, ""
    if kind in "ZE" and (not raw.strip(b" ") or (kind == "E" and not raw.strip(b"0"))):
        return None, None, ""
    if not raw.isdigit():
        return None, f"{raw.decode('latin-1')!r} is not digits", Reason.ZENGIN_FIELD_INVALID
    text = raw.decode("ascii")
    if kind in "DE":
        if reference_date is None:
            raise TypeError("a date field needs a reference date")  # a layout table bug, never data
        try:
            return parse_era_date(text, reference_date), None, ""
        except EraDateError as error:
            return None, str(error), Reason.ZENGIN_DATE_INVALID
    return text, None, ""


def parse_fields(raw: RawRecord, spec: FieldSpec, problem: type[P],
                 reference_date: dt.date | None = None) -> tuple[dict[str, Any], list[P]]:
    """Every field of `spec` read from the record: values by name (None for filler, blank optional fields
    and bad fields) and a `problem` for each bad field, naming it and its 1-based byte position."""
    values: dict[str, Any] = {}
    problems: list[P] = []
    for name, start, length, kind in spec:
        value, sentence, code = read_field(raw.data[start - 1:start - 1 + length], kind, reference_date)
        values[name] = value
        if sentence:
            problems.append(problem.at(code, raw, f"{name} (byte {start}): {sentence}"))
    return values, problems
