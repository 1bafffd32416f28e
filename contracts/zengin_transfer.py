"""Zengin 総合振込 (種別コード 21, comprehensive transfer): the payment files seisan sends to a bank.

120-byte CP932 records: header 1, data 2 (one per payout), trailer 8, end 9 (domain/zengin.md §2).
Each data record's EDI情報 (識別表示 `Y`, bytes 92–111 as one C(20) field) carries the payout id, which comes
back in the payee's statement and in a 振込不能 return (FORMATS.md, "What seisan sends out").

- `write_transfer_file` is strict: full records, N zero-filled, C space-filled and checked against the Zengin
  character set (never truncated), 手形交換所番号 zeros, trailer count and total computed, no 0x1A.
- `read_transfer_file` is an independent, table-driven reader (1-based positions from the layout tables; it
  shares no code with the writer) used to verify a file before upload and by tests. Lenient on layout (CRLF,
  LF, CR or none; right-trimmed records; final 0x1A; zeros or spaces in unused numeric fields), strict on
  content. Any problem rejects the file.
- The field and record mechanics common to both Zengin codecs (N/C field writers, record splitting,
  table-driven field parsing) live in contracts/zengin_records.py, whose writer and reader halves are
  independent too (zengin.md §10).

The header carries the transfer date as MMDD only (振込指定日, no year), so
`TransferHeader.transfer_mmdd` is a string; `format_mmdd` makes it from a date. Whether that day is a bank
business day is the caller's check.
Written by hand: no PyPI package writes or reads Zengin transfer files (zengin.md §11).
This module must never silently repair or truncate anything that goes to a bank.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import zengin_records as zr
from contracts.kana import FieldClass
from contracts.reasons import Reason

RECORD_LENGTH = 120
KIND_CODE = "21"
AMOUNT_MIN, AMOUNT_MAX = 1, 9_999_999_999  # 振込金額 N(10)
TOTAL_MAX = 999_999_999_999  # 合計金額 N(12)
MAX_RECORDS = 100_000
PAYEE_ACCOUNT_TYPES = (1, 2, 4, 9)
PAYER_ACCOUNT_TYPES = (1, 2, 9)
NEW_CODES = (0, 1, 2)
TRANSFER_KINDS = (7, 8)  # 7 telegraphic (電信), 8 document (文書)


def format_mmdd(day: dt.date) -> str:
    """振込指定日 as the header carries it: MMDD."""
    return f"{day.month:02d}{day.day:02d}"


def _is_mmdd(text: str) -> bool:
    if len(text) != 4 or not text.isascii() or not text.isdigit():
        return False
    try:
        dt.date(2000, int(text[:2]), int(text[2:]))  # a leap year, so 0229 is a valid MMDD
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class TransferHeader:
    """Header record: who pays, from which account, on which day.

    client_code: 委託者コード (振込依頼人コード), 10 digits assigned by the bank;
    client_name: 振込依頼人名, kana, at most 40 bytes; transfer_mmdd: 振込指定日 MMDD;
    bank_code / branch_code: 仕向銀行番号 / 仕向支店番号;
    account_type: 預金種目 of the payer (1 普通, 2 当座, 9 その他); account_number: 口座番号, up to 7 digits;
    bank_name / branch_name: 仕向銀行名 / 仕向支店名 kana, optional (blank is accepted by most banks).
    """

    client_code: str
    client_name: str
    transfer_mmdd: str
    bank_code: str
    branch_code: str
    account_type: int
    account_number: str
    bank_name: str = ""
    branch_name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "client_code", zr.zero_filled(self.client_code, 10))
        object.__setattr__(self, "account_number", zr.zero_filled(self.account_number, 7))
        zr.trim_text_fields(self, ("client_name", "bank_name", "branch_name"))


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One payout (data record).

    bank_code / branch_code: 被仕向銀行番号 / 支店番号;
    account_type: 預金種目 (1 普通, 2 当座, 4 貯蓄, 9 その他);
    account_number: 口座番号 (up to 7 digits, zero-filled); payee_name: 受取人名 kana, at most 30 bytes;
    amount: 振込金額 in yen (1 to 9,999,999,999); bank_name / branch_name: optional kana names;
    new_code: 新規コード (0 other, 1 first transfer, 2 changed); customer_code1 / customer_code2: 顧客コード
    N(10) each, or "" — not used together with `edi`; edi: EDI情報 C(20) (識別表示 Y), e.g. the payout id;
    transfer_kind: 振込指定区分 (7 telegraphic, 8 document).
    """

    bank_code: str
    branch_code: str
    account_type: int
    account_number: str
    payee_name: str
    amount: int
    bank_name: str = ""
    branch_name: str = ""
    new_code: int = 0
    customer_code1: str = ""
    customer_code2: str = ""
    edi: str = ""
    transfer_kind: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "account_number", zr.zero_filled(self.account_number, 7))
        object.__setattr__(self, "customer_code1", zr.zero_to_empty(self.customer_code1, 10))
        object.__setattr__(self, "customer_code2", zr.zero_to_empty(self.customer_code2, 10))
        zr.trim_text_fields(self, ("payee_name", "bank_name", "branch_name", "edi"))


@dataclass(frozen=True, slots=True)
class TransferFile:
    """A whole 総合振込 file: one header and its payouts; the trailer's count and total are computed."""

    header: TransferHeader
    records: tuple[TransferRecord, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def total(self) -> int:
        return sum(record.amount for record in self.records)


# --------------------------------------------------------------------------------------------------------
# Writer (strict): records built from widths in field order.
# --------------------------------------------------------------------------------------------------------

def _one(value: int, allowed: tuple[int, ...], name: str) -> bytes:
    if value not in allowed or isinstance(value, bool):
        raise ValueError(f"{name}: {value!r} is not one of {allowed}")
    return str(value).encode("ascii")


def _write_header(h: TransferHeader) -> bytes:
    if not _is_mmdd(h.transfer_mmdd):
        raise ValueError(f"transfer_mmdd: {h.transfer_mmdd!r} is not a month and day MMDD")
    return zr.fixed_record(RECORD_LENGTH, [
        b"1", KIND_CODE.encode("ascii"), b"0",
        zr.n_field(h.client_code, 10, "client_code", exact=True),
        zr.c_field(h.client_name, 40, FieldClass.PARTY_NAME, "client_name"),
        h.transfer_mmdd.encode("ascii"),
        zr.n_field(h.bank_code, 4, "bank_code", exact=True),
        zr.c_field(h.bank_name, 15, FieldClass.BANK_NAME, "bank_name"),
        zr.n_field(h.branch_code, 3, "branch_code", exact=True),
        zr.c_field(h.branch_name, 15, FieldClass.BANK_NAME, "branch_name"),
        _one(h.account_type, PAYER_ACCOUNT_TYPES, "account_type"),
        zr.n_field(h.account_number, 7, "account_number", exact=True),
        b" " * 17,
    ])


def _customer_or_edi(r: TransferRecord) -> tuple[bytes, bytes]:
    """Bytes 92–111 and 識別表示: EDI C(20) with `Y`, or two N(10) customer codes with a space."""
    if r.edi:
        if r.customer_code1 or r.customer_code2:
            raise ValueError("a record carries either EDI情報 or customer codes, not both")
        return zr.c_field(r.edi, 20, FieldClass.EDI, "edi"), b"Y"
    codes = (zr.n_field(r.customer_code1 or 0, 10, "customer_code1")
             + zr.n_field(r.customer_code2 or 0, 10, "customer_code2"))
    return codes, b" "


def _write_data(r: TransferRecord) -> bytes:
    if isinstance(r.amount, bool) or not AMOUNT_MIN <= r.amount <= AMOUNT_MAX:
        raise ValueError(f"amount: {r.amount!r} is outside {AMOUNT_MIN}..{AMOUNT_MAX}")
    customer_or_edi, marker = _customer_or_edi(r)
    return zr.fixed_record(RECORD_LENGTH, [
        b"2",
        zr.n_field(r.bank_code, 4, "bank_code", exact=True),
        zr.c_field(r.bank_name, 15, FieldClass.BANK_NAME, "bank_name"),
        zr.n_field(r.branch_code, 3, "branch_code", exact=True),
        zr.c_field(r.branch_name, 15, FieldClass.BANK_NAME, "branch_name"),
        b"0000",  # 手形交換所番号: unused
        _one(r.account_type, PAYEE_ACCOUNT_TYPES, "account_type"),
        zr.n_field(r.account_number, 7, "account_number", exact=True),
        zr.c_field(r.payee_name, 30, FieldClass.PARTY_NAME, "payee_name"),
        zr.n_field(r.amount, 10, "amount"),
        _one(r.new_code, NEW_CODES, "new_code"),
        customer_or_edi,
        _one(r.transfer_kind, TRANSFER_KINDS, "transfer_kind"),
        marker,
        b" " * 7,
    ])


def write_transfer_file(tf: TransferFile, *, separator: bytes = b"\r\n",
                        trailer_overrides: Mapping[str, int] | None = None) -> bytes:
    """The file's bytes: header, one data record per payout, trailer, end, each followed by `separator`
    (CRLF by default; b"" for none). Raises ValueError for anything a bank must not receive.

    `trailer_overrides` ("count", "total") forge a wrong trailer, for tests and the simulator.
    """
    if separator not in (b"", b"\r\n", b"\n"):
        raise ValueError("separator is CRLF, LF or nothing")
    if not tf.records:
        raise ValueError("a transfer file needs at least one payout")
    trailer = {"count": tf.count, "total": tf.total, **(trailer_overrides or {})}
    if set(trailer) != {"count", "total"}:
        raise ValueError("trailer overrides are count and total")
    trailer_record = zr.fixed_record(RECORD_LENGTH, [b"8", zr.n_field(trailer["count"], 6, "count"),
                                                  zr.n_field(trailer["total"], 12, "total"), b" " * 101])
    records = [_write_header(tf.header), *(_write_data(r) for r in tf.records), trailer_record,
               zr.fixed_record(RECORD_LENGTH, [b"9", b" " * 119])]
    return b"".join(record + separator for record in records)


# --------------------------------------------------------------------------------------------------------
# Reader: table-driven (name, 1-based start, length, kind). N digits; Z digits, zeros or spaces (None);
# C Zengin text; F filler (not checked). See zengin_records.read_field.
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TransferProblem(zr.RecordProblem):
    """Why a transfer file is rejected: reason code, 1-based record number (0: whole file), 1-based physical
    line where the record starts, and a sentence."""


@dataclass(frozen=True, slots=True)
class TransferRead:
    """The outcome of reading a transfer file: the file (None on any problem), records read, problems."""

    file: TransferFile | None
    records_read: int
    problems: tuple[TransferProblem, ...]


TRANSFER_HEADER_SPEC = (
    ("record_type", 1, 1, "N"), ("kind_code", 2, 2, "N"), ("code_division", 4, 1, "N"),
    ("client_code", 5, 10, "N"), ("client_name", 15, 40, "C"), ("transfer_mmdd", 55, 4, "N"),
    ("bank_code", 59, 4, "N"), ("bank_name", 63, 15, "C"), ("branch_code", 78, 3, "N"),
    ("branch_name", 81, 15, "C"), ("account_type", 96, 1, "N"), ("account_number", 97, 7, "N"),
    ("filler", 104, 17, "F"),
)
TRANSFER_DATA_SPEC = (
    ("record_type", 1, 1, "N"), ("bank_code", 2, 4, "N"), ("bank_name", 6, 15, "C"),
    ("branch_code", 21, 3, "N"), ("branch_name", 24, 15, "C"), ("clearing_house", 39, 4, "Z"),
    ("account_type", 43, 1, "N"), ("account_number", 44, 7, "N"), ("payee_name", 51, 30, "C"),
    ("amount", 81, 10, "N"), ("new_code", 91, 1, "Z"), ("customer_or_edi", 92, 20, "C"),
    ("transfer_kind", 112, 1, "Z"), ("edi_marker", 113, 1, "C"), ("filler", 114, 7, "F"),
)
TRANSFER_TRAILER_SPEC = (
    ("record_type", 1, 1, "N"), ("count", 2, 6, "N"), ("total", 8, 12, "N"), ("filler", 20, 101, "F"),
)
TRANSFER_END_SPEC = (("record_type", 1, 1, "N"), ("filler", 2, 119, "F"))
TRANSFER_SPECS = {"1": TRANSFER_HEADER_SPEC, "2": TRANSFER_DATA_SPEC, "8": TRANSFER_TRAILER_SPEC,
                  "9": TRANSFER_END_SPEC}
class _Collector:
    """Gathers problems with their record and line numbers."""

    def __init__(self) -> None:
        self.problems: list[TransferProblem] = []

    def add(self, code: str, number: int, detail: str) -> None:
        self.problems.append(TransferProblem(code, number, number, detail))


def _fields(raw: zr.RawRecord, out: _Collector) -> dict[str, Any]:
    values, problems = zr.parse_fields(raw, TRANSFER_SPECS[chr(raw.data[0])], TransferProblem)
    out.problems += problems
    return values


def _check_order(kinds: str, out: _Collector) -> None:
    for number, kind in enumerate(kinds, start=1):
        if kind not in TRANSFER_SPECS:
            out.add(Reason.ZENGIN_STRUCTURE, number, f"データ区分 {kind!r} is not 1, 2, 8 or 9")
    if not out.problems and not re.fullmatch(r"122*89", kinds):
        out.add(Reason.ZENGIN_STRUCTURE, 0, "expected header, at least one data record, trailer, end; got "
                + re.sub(r"2{4,}", lambda m: f"2×{len(m.group(0))}", kinds))


def _header_of(v: dict[str, Any], out: _Collector) -> TransferHeader:
    if v["kind_code"] != KIND_CODE:
        out.add(Reason.ZENGIN_FIELD_INVALID, 1, f"種別コード {v['kind_code']} is not 21")
    if not _is_mmdd(v["transfer_mmdd"] or ""):
        out.add(Reason.ZENGIN_DATE_INVALID, 1, f"振込指定日 {v['transfer_mmdd']} is not MMDD")
    if int(v["account_type"] or 0) not in PAYER_ACCOUNT_TYPES:
        out.add(Reason.ZENGIN_FIELD_INVALID, 1, "預金種目 of the payer is not 1, 2 or 9")
    return TransferHeader(v["client_code"], v["client_name"], v["transfer_mmdd"], v["bank_code"],
                          v["branch_code"], int(v["account_type"] or 0), v["account_number"], v["bank_name"],
                          v["branch_name"])


def _data_of(v: dict[str, Any], number: int, out: _Collector) -> TransferRecord:
    if int(v["account_type"]) not in PAYEE_ACCOUNT_TYPES:
        out.add(Reason.ZENGIN_FIELD_INVALID, number, "預金種目 is not 1, 2, 4 or 9")
    if int(v["amount"]) < AMOUNT_MIN:
        out.add(Reason.ZENGIN_FIELD_INVALID, number, "振込金額 is zero")
    if v["new_code"] is not None and int(v["new_code"]) not in NEW_CODES:
        out.add(Reason.ZENGIN_FIELD_INVALID, number, "新規コード is not 0, 1 or 2")
    if v["transfer_kind"] not in (None, "0", "7", "8"):
        out.add(Reason.ZENGIN_FIELD_INVALID, number, "振込指定区分 is not 7 or 8")
    edi, codes = "", ("", "")
    area = v["customer_or_edi"] or ""
    if v["edi_marker"] == "Y":
        edi = area
    elif v["edi_marker"]:
        out.add(Reason.ZENGIN_FIELD_INVALID, number, "識別表示 is neither Y nor a space")
    elif area.strip() and not (area.isdigit() and len(area) == 20):
        out.add(Reason.ZENGIN_FIELD_INVALID, number, "顧客コード is not digits (and 識別表示 is not Y)")
    elif area.strip():
        codes = (area[:10], area[10:])
    return TransferRecord(
        v["bank_code"], v["branch_code"], int(v["account_type"]), v["account_number"], v["payee_name"],
        int(v["amount"]), v["bank_name"], v["branch_name"], int(v["new_code"] or 0), codes[0], codes[1], edi,
        int(v["transfer_kind"] or 7),
    )


def read_transfer_file(data: bytes) -> TransferRead:
    """Read and verify a 総合振込 file: layout, characters, codes, trailer count and total.

    Returns the file only when there is no problem at all; otherwise every problem found.
    """
    found = zr.split_records(data, RECORD_LENGTH)
    out = _Collector()
    if not found:
        return TransferRead(None, 0, (TransferProblem(Reason.FILE_EMPTY, 0, 0, "no records"),))
    if len(found) > MAX_RECORDS:
        return TransferRead(None, len(found), (TransferProblem(Reason.FILE_TOO_MANY_ROWS, 0, 0, "too many"),))
    if zr.looks_ebcdic(data, found[0]):
        out.add(Reason.ZENGIN_EBCDIC, 1, "EBCDIC file (コード区分 1)")
        return TransferRead(None, len(found), tuple(out.problems))
    for raw in found:
        if raw.size > RECORD_LENGTH:
            out.add(Reason.ZENGIN_RECORD_LENGTH, raw.number, f"record of {raw.size} bytes")
    _check_order("".join(chr(raw.data[0]) if raw.data[0] < 0x80 else "?" for raw in found), out)
    if out.problems:
        return TransferRead(None, len(found), tuple(out.problems))
    values = [_fields(raw, out) for raw in found]
    if out.problems:
        return TransferRead(None, len(found), tuple(out.problems))
    tf = TransferFile(_header_of(values[0], out),
                      tuple(_data_of(v, n, out) for n, v in enumerate(values[1:-2], start=2)))
    trailer, trailer_number = values[-2], len(values) - 1
    if int(trailer["count"]) != tf.count:
        out.add(Reason.ZENGIN_TRAILER_MISMATCH, trailer_number,
                f"合計件数 {int(trailer['count'])}, the file holds {tf.count} payouts")
    if int(trailer["total"]) != tf.total:
        out.add(Reason.ZENGIN_TRAILER_MISMATCH, trailer_number,
                f"合計金額 {int(trailer['total'])}, the payouts sum to {tf.total}")
    return TransferRead(None if out.problems else tf, len(found), tuple(out.problems))
