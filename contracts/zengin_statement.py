"""Zengin 入出金取引明細 (種別コード 03, deposit and withdrawal statement): 200-byte CP932 records.

The bank sends one file per account and business date (FORMATS.md, bank/); seisan matches its payout debits,
fee debits, returned transfers (振込不能) and incoming partner payments against the rows. Layout:
domain/zengin.md §3; tolerances: §9; era dates: §5 (contracts/era.py).

- `write_statement` is strict: full 200-byte records, N fields zero-filled, C fields space-filled and checked
  against the Zengin character set, trailer and end record computed. `trailer_overrides` / `end_overrides`
  let the simulator and tests forge a deliberately wrong trailer or end record.
- `read_statement` is lenient on layout (no separator, CR, LF or CRLF; right-trimmed records; a final 0x1A;
  zeros or spaces in unused numeric fields) and strict on content (EBCDIC, structure, record length, numeric
  fields, era dates within the statement period, trailer counts and sums, opening + credits - debits =
  closing). Any problem rejects the whole file: `statement` is None and every problem is listed.

The reader is table-driven (1-based positions copied from the layout tables) and shares no code with the
writer (which builds records from widths in field order), as zengin.md §10 advises: a layout slip in one
shows up as a round-trip failure instead of being repeated in both. The field and record mechanics common
to both Zengin codecs (N/C field writers, record splitting, table-driven field parsing) live in
contracts/zengin_records.py, whose writer and reader halves are independent too.
Written by hand: no PyPI package reads or writes Zengin files (zengin.md §11).
This module must never silently repair a file: it reads it as the bank wrote it or rejects it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts import zengin_records as zr
from contracts.era import EraDateError, format_era_date
from contracts.kana import FieldClass
from contracts.reasons import Reason

RECORD_LENGTH = 200
KIND_CODE = "03"
MAX_RECORDS = 200_000  # about 40 MB: far above one account's day; above it the file is refused, not read
PLAUSIBLE_DAYS = 366  # 作成日 further than this from the reference date means a wrong era inference
AMOUNT_MAX = 999_999_999_999  # N(12)
BALANCE_MAX = 99_999_999_999_999  # N(14)
TRANSACTION_TYPES = {
    "10": "現金", "11": "振込", "12": "他店券入金", "13": "交換", "14": "振替", "15": "継続", "18": "その他",
    "19": "訂正",
}
DIRECTION_CODES = {"credit": "1", "debit": "2"}
OVERDRAFT_PLUS, OVERDRAFT_MINUS = 1, 2


# --------------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StatementHeader:
    """The header record (データ区分 1) of one account's statement.

    created_date: 作成日; period_from / period_to: 勘定日(自)/(至); bank_code (4 digits) / bank_name (kana);
    branch_code (3 digits) / branch_name; account_type: 預金種目 (1 普通, 2 当座, 4 貯蓄, ...);
    account_number: 口座番号, digits, kept as at least 7 digits without extra leading zeros
    ("0001234567" -> "1234567"); account_name: 口座名 kana; overdraft_flag: 貸越区分 of the opening
    balance, 1 plus, 2 minus (None: derived from the sign); passbook_flag: 通帳・証書区分 (1 通帳, 2 証書,
    0 not given); opening_balance: 取引前残高 in yen, negative when overdrawn.
    """

    created_date: dt.date
    period_from: dt.date
    period_to: dt.date
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_number: str
    account_name: str
    overdraft_flag: int | None = None
    passbook_flag: int = 1
    opening_balance: int = 0

    def __post_init__(self) -> None:
        if self.overdraft_flag is None:
            flag = OVERDRAFT_MINUS if self.opening_balance < 0 else OVERDRAFT_PLUS
            object.__setattr__(self, "overdraft_flag", flag)
        number = self.account_number
        if isinstance(number, str) and number.isascii() and number.isdigit() and len(number) <= 10:
            object.__setattr__(self, "account_number", number.lstrip("0").zfill(7))
        zr.trim_text_fields(self, ("bank_name", "branch_name", "account_name"))


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One data record (データ区分 2): a deposit or withdrawal.

    inquiry_number: 照会番号 (8 digits, zero-filled); account_date: 勘定日; value_date: 預入・払出日 (起算日);
    direction: 入払区分, "credit" (1 入金) or "debit" (2 出金); transaction_type: 取引区分 ("11" 振込 ...);
    amount: 取引金額 in yen; other_bank_amount: うち他店券金額; remitter_code: 振込依頼人コード
    (10 digits or ""); remitter_name: 振込依頼人名 (credit) or 契約者番号 (debit); sending_bank_name /
    sending_branch_name: 仕向銀行名 / 仕向店名; description: 摘要内容 (e.g. ｿｳｺﾞｳﾌﾘｺﾐ);
    edi: EDI情報 carried by the transfer (e.g. a payout id).
    """

    inquiry_number: str
    account_date: dt.date
    value_date: dt.date
    direction: Literal["credit", "debit"]
    transaction_type: str
    amount: int
    other_bank_amount: int = 0
    remitter_code: str = ""
    remitter_name: str = ""
    sending_bank_name: str = ""
    sending_branch_name: str = ""
    description: str = ""
    edi: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "inquiry_number", zr.zero_filled(self.inquiry_number, 8))
        object.__setattr__(self, "remitter_code", zr.zero_to_empty(self.remitter_code, 10))
        zr.trim_text_fields(self, ("remitter_name", "sending_bank_name", "sending_branch_name", "description", "edi"))


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement: its header and data lines; the trailer values are computed from them."""

    header: StatementHeader
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))

    def _amounts(self, direction: Literal["credit", "debit"]) -> list[int]:
        return [line.amount for line in self.lines if line.direction == direction]

    @property
    def credit_count(self) -> int:
        return len(self._amounts("credit"))

    @property
    def credit_total(self) -> int:
        return sum(self._amounts("credit"))

    @property
    def debit_count(self) -> int:
        return len(self._amounts("debit"))

    @property
    def debit_total(self) -> int:
        return sum(self._amounts("debit"))

    @property
    def closing_balance(self) -> int:
        return self.header.opening_balance + self.credit_total - self.debit_total


# --------------------------------------------------------------------------------------------------------
# Writer (strict). Builds each record from field widths in order; shares nothing with the reader below.
# --------------------------------------------------------------------------------------------------------

def _code(value: str, width: int, name: str) -> bytes:
    """A bank or branch code: a string of exactly `width` digits (an int would lose its leading zeros)."""
    if not isinstance(value, str) or len(value) != width:
        raise ValueError(f"{name}: {value!r} is not exactly {width} digits")
    return zr.n_field(value, width, name)


def _d(day: dt.date, name: str) -> bytes:
    try:
        return format_era_date(day).encode("ascii")
    except EraDateError as error:
        raise ValueError(f"{name}: {error}") from None


def _write_header(h: StatementHeader) -> bytes:
    if not h.period_from <= h.period_to <= h.created_date:
        raise ValueError("header dates: need 勘定日(自) <= 勘定日(至) <= 作成日")
    if h.overdraft_flag != (OVERDRAFT_MINUS if h.opening_balance < 0 else OVERDRAFT_PLUS):
        raise ValueError("overdraft_flag must be 1 for a balance >= 0 and 2 for a negative one")
    return zr.fixed_record(RECORD_LENGTH, [
        b"1", KIND_CODE.encode("ascii"), b"0",
        _d(h.created_date, "created_date"), _d(h.period_from, "period_from"), _d(h.period_to, "period_to"),
        _code(h.bank_code, 4, "bank_code"),
        zr.c_field(h.bank_name, 15, FieldClass.BANK_NAME, "bank_name"),
        _code(h.branch_code, 3, "branch_code"),
        zr.c_field(h.branch_name, 15, FieldClass.BANK_NAME, "branch_name"),
        b"000",
        zr.n_field(h.account_type, 1, "account_type"),
        zr.n_field(h.account_number, 10, "account_number"),
        zr.c_field(h.account_name, 40, FieldClass.PARTY_NAME, "account_name"),
        zr.n_field(h.overdraft_flag, 1, "overdraft_flag"),
        zr.n_field(h.passbook_flag, 1, "passbook_flag"),
        zr.n_field(abs(h.opening_balance), 14, "opening_balance"),
        b" " * 71,
    ])


def _write_line(line: StatementLine, header: StatementHeader) -> bytes:
    if not header.period_from <= line.account_date <= header.period_to:
        raise ValueError(f"line {line.inquiry_number}: 勘定日 {line.account_date} outside the period")
    if line.direction not in DIRECTION_CODES:
        raise ValueError(f"line {line.inquiry_number}: direction is credit or debit")
    if line.transaction_type not in TRANSACTION_TYPES:
        raise ValueError(f"line {line.inquiry_number}: unknown 取引区分 {line.transaction_type!r}")
    if line.other_bank_amount > line.amount:
        raise ValueError(f"line {line.inquiry_number}: うち他店券金額 exceeds the amount")
    return zr.fixed_record(RECORD_LENGTH, [
        b"2",
        zr.n_field(line.inquiry_number, 8, "inquiry_number"),
        _d(line.account_date, "account_date"), _d(line.value_date, "value_date"),
        DIRECTION_CODES[line.direction].encode("ascii"),
        line.transaction_type.encode("ascii"),
        zr.n_field(line.amount, 12, "amount"),
        zr.n_field(line.other_bank_amount, 12, "other_bank_amount"),
        b"000000", b"000000",  # 交換呈示日, 不渡返還日
        b"0", b"0000000", b"000",  # 手形・小切手区分, 番号, 僚店番号
        zr.n_field(line.remitter_code or 0, 10, "remitter_code"),
        zr.c_field(line.remitter_name, 48, FieldClass.PARTY_NAME, "remitter_name"),
        zr.c_field(line.sending_bank_name, 15, FieldClass.BANK_NAME, "sending_bank_name"),
        zr.c_field(line.sending_branch_name, 15, FieldClass.BANK_NAME, "sending_branch_name"),
        zr.c_field(line.description, 20, FieldClass.EDI, "description"),
        zr.c_field(line.edi, 20, FieldClass.EDI, "edi"),
        b" ",
    ])


TRAILER_KEYS = ("credit_count", "credit_total", "debit_count", "debit_total", "overdraft_flag",
                "closing_balance", "data_record_count")
END_KEYS = ("total_records", "account_count")


def _trailer_values(statement: Statement, overrides: Mapping[str, int]) -> dict[str, int]:
    unknown = set(overrides) - set(TRAILER_KEYS)
    if unknown:
        raise ValueError(f"unknown trailer overrides {sorted(unknown)}; known: {TRAILER_KEYS}")
    closing = statement.closing_balance
    values = {
        "credit_count": statement.credit_count, "credit_total": statement.credit_total,
        "debit_count": statement.debit_count, "debit_total": statement.debit_total,
        "overdraft_flag": OVERDRAFT_MINUS if closing < 0 else OVERDRAFT_PLUS,
        "closing_balance": closing, "data_record_count": len(statement.lines),
    }
    values.update(overrides)
    return values


def _write_trailer(values: Mapping[str, int]) -> bytes:
    return zr.fixed_record(RECORD_LENGTH, [
        b"8",
        zr.n_field(values["credit_count"], 6, "credit_count"), zr.n_field(values["credit_total"], 13, "credit_total"),
        zr.n_field(values["debit_count"], 6, "debit_count"), zr.n_field(values["debit_total"], 13, "debit_total"),
        zr.n_field(values["overdraft_flag"], 1, "overdraft_flag"),
        zr.n_field(abs(values["closing_balance"]), 14, "closing_balance"),
        zr.n_field(values["data_record_count"], 7, "data_record_count"),
        b" " * 139,
    ])


def _write_end(total_records: int, account_count: int) -> bytes:
    return zr.fixed_record(RECORD_LENGTH, [b"9", zr.n_field(total_records, 10, "total_records"),
                                        zr.n_field(account_count, 5, "account_count"), b" " * 184])


def write_statement(statement: Statement, *, separator: bytes = b"\r\n",
                    trailer_overrides: Mapping[str, int] | None = None,
                    end_overrides: Mapping[str, int] | None = None) -> bytes:
    """The statement as a Zengin 03 file: header, data records, trailer, end; each record followed by
    `separator` (CRLF as banks send it; b"" for none). Raises ValueError for anything a bank would not write.

    `trailer_overrides` (keys TRAILER_KEYS) and `end_overrides` (END_KEYS: total_records, which by default
    counts header + data + trailer, and account_count) replace computed values, to forge broken files.
    """
    if separator not in (b"", b"\r\n", b"\n", b"\r"):
        raise ValueError("separator is CRLF, LF, CR or nothing")
    records = [_write_header(statement.header)]
    records += [_write_line(line, statement.header) for line in statement.lines]
    records.append(_write_trailer(_trailer_values(statement, trailer_overrides or {})))
    end = {"total_records": len(records), "account_count": 1, **(end_overrides or {})}
    if set(end) - set(END_KEYS):
        raise ValueError(f"unknown end overrides; known: {END_KEYS}")
    records.append(_write_end(end["total_records"], end["account_count"]))
    return b"".join(record + separator for record in records)


# --------------------------------------------------------------------------------------------------------
# Reader (lenient on layout, strict on content). Table-driven: (name, 1-based start, length, kind).
# Kinds: N digits; Z optional digits (zeros or spaces allowed, spaces read as None); D era date; E optional
# era date (zeros or spaces = none); C Zengin text; F filler (never checked). See zengin_records.read_field.
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StatementProblem(zr.RecordProblem):
    """Why a statement file is rejected: reason code (contracts/reasons.py), 1-based record number (0 for the
    whole file), 1-based physical line where that record starts, and a sentence (no personal data)."""


@dataclass(frozen=True, slots=True)
class StatementRead:
    """The outcome of reading one file: the statement (None when any problem was found), how many records
    (header + data + trailer + end) the file held, and every problem."""

    statement: Statement | None
    records_read: int
    problems: tuple[StatementProblem, ...]


HEADER_SPEC = (
    ("record_type", 1, 1, "N"), ("kind_code", 2, 2, "N"), ("code_division", 4, 1, "N"),
    ("created_date", 5, 6, "D"), ("period_from", 11, 6, "D"), ("period_to", 17, 6, "D"),
    ("bank_code", 23, 4, "N"), ("bank_name", 27, 15, "C"), ("branch_code", 42, 3, "N"),
    ("branch_name", 45, 15, "C"), ("dummy", 60, 3, "Z"), ("account_type", 63, 1, "N"),
    ("account_number", 64, 10, "N"), ("account_name", 74, 40, "C"), ("overdraft_flag", 114, 1, "Z"),
    ("passbook_flag", 115, 1, "Z"), ("opening_balance", 116, 14, "N"), ("filler", 130, 71, "F"),
)
DATA_SPEC = (
    ("record_type", 1, 1, "N"), ("inquiry_number", 2, 8, "N"), ("account_date", 10, 6, "D"),
    ("value_date", 16, 6, "D"), ("direction", 22, 1, "N"), ("transaction_type", 23, 2, "N"),
    ("amount", 25, 12, "N"), ("other_bank_amount", 37, 12, "Z"), ("exchange_date", 49, 6, "E"),
    ("dishonour_date", 55, 6, "E"), ("bill_kind", 61, 1, "Z"), ("bill_number", 62, 7, "Z"),
    ("handling_branch", 69, 3, "Z"), ("remitter_code", 72, 10, "Z"), ("remitter_name", 82, 48, "C"),
    ("sending_bank_name", 130, 15, "C"), ("sending_branch_name", 145, 15, "C"), ("description", 160, 20, "C"),
    ("edi", 180, 20, "C"), ("filler", 200, 1, "F"),
)
TRAILER_SPEC = (
    ("record_type", 1, 1, "N"), ("credit_count", 2, 6, "N"), ("credit_total", 8, 13, "N"),
    ("debit_count", 21, 6, "N"), ("debit_total", 27, 13, "N"), ("overdraft_flag", 40, 1, "Z"),
    ("closing_balance", 41, 14, "N"), ("data_record_count", 55, 7, "N"), ("filler", 62, 139, "F"),
)
END_SPEC = (
    ("record_type", 1, 1, "N"), ("total_records", 2, 10, "Z"), ("account_count", 12, 5, "Z"),
    ("filler", 17, 184, "F"),
)
SPECS = {"1": HEADER_SPEC, "2": DATA_SPEC, "8": TRAILER_SPEC, "9": END_SPEC}

_problem = StatementProblem.at  # (code, raw record, detail)


def _length_problems(raws: list[zr.RawRecord]) -> list[StatementProblem]:
    return [_problem(Reason.ZENGIN_RECORD_LENGTH, raw, f"record of {raw.size} bytes, longer than {RECORD_LENGTH}")
            for raw in raws if raw.size > RECORD_LENGTH]


_NEXT_ALLOWED = {"start": "1", "1": "28", "2": "28", "8": "9", "9": ""}
_NAMES = {"1": "header", "2": "data", "8": "trailer", "9": "end"}


def _structure_problems(raws: list[zr.RawRecord]) -> list[StatementProblem]:
    """Header, data*, trailer, end: exactly one group. Reports every unknown データ区分, then the first record
    out of place (or what is missing at the end)."""
    problems = [_problem(Reason.ZENGIN_STRUCTURE, raw, f"データ区分 {raw.data[:1]!r} is not 1, 2, 8 or 9")
                for raw in raws if chr(raw.data[0]) not in SPECS]
    if problems:
        return problems
    state = "start"
    for raw in raws:
        kind = chr(raw.data[0])
        if kind not in _NEXT_ALLOWED[state]:
            expected = " or ".join(_NAMES[k] for k in _NEXT_ALLOWED[state]) or "nothing"
            return [_problem(Reason.ZENGIN_STRUCTURE, raw, f"a {_NAMES[kind]} record where {expected} must come")]
        state = kind
    if state != "9":
        missing = {"start": "header", "1": "trailer", "2": "trailer", "8": "end"}[state]
        last = raws[-1] if raws else zr.RawRecord(0, 0, b"", 0)
        return [_problem(Reason.ZENGIN_STRUCTURE, last, f"the file ends without its {missing} record")]
    return []


def _header_from(values: dict[str, Any], raw: zr.RawRecord, reference_date: dt.date,
                 problems: list[StatementProblem]) -> StatementHeader | None:
    if values["kind_code"] != KIND_CODE:
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw,
                                 f"種別コード {values['kind_code']} is not 03"))
    if values["code_division"] not in (None, "0"):
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw, "コード区分 is not 0 (JIS)"))
    if values["account_type"] == "0":
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw, "預金種目 0 is not an account type"))
    if values["overdraft_flag"] not in (None, "0", "1", "2"):
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw, "貸越区分 is not 1 or 2"))
    created, start, end = values["created_date"], values["period_from"], values["period_to"]
    if created and start and end:
        if not start <= end <= created:
            problems.append(_problem(Reason.ZENGIN_DATE_INVALID, raw,
                                     f"need 勘定日(自) {start} <= 勘定日(至) {end} <= 作成日 {created}"))
        if abs((created - reference_date).days) > PLAUSIBLE_DAYS:
            problems.append(_problem(Reason.ZENGIN_DATE_INVALID, raw,
                                     f"作成日 {created} is over {PLAUSIBLE_DAYS} days from {reference_date}"))
    if problems:
        return None
    minus = values["overdraft_flag"] == "2"
    return StatementHeader(
        created_date=created, period_from=start, period_to=end, bank_code=values["bank_code"],
        bank_name=values["bank_name"], branch_code=values["branch_code"], branch_name=values["branch_name"],
        account_type=int(values["account_type"]), account_number=values["account_number"],
        account_name=values["account_name"], overdraft_flag=OVERDRAFT_MINUS if minus else OVERDRAFT_PLUS,
        passbook_flag=int(values["passbook_flag"] or 0),
        opening_balance=-int(values["opening_balance"]) if minus else int(values["opening_balance"]),
    )


def _line_from(values: dict[str, Any], raw: zr.RawRecord, header: StatementHeader | None,
               problems: list[StatementProblem]) -> StatementLine | None:
    found = len(problems)
    if values["direction"] not in ("1", "2"):
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw,
                                 f"入払区分 {values['direction']} is not 1 or 2"))
    if values["transaction_type"] not in TRANSACTION_TYPES:
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw,
                                 f"取引区分 {values['transaction_type']} is not a known code"))
    day = values["account_date"]
    if header and day and not header.period_from <= day <= header.period_to:
        problems.append(_problem(Reason.ZENGIN_DATE_INVALID, raw,
                                 f"勘定日 {day} outside {header.period_from}..{header.period_to}"))
    if len(problems) > found or day is None or values["value_date"] is None:
        return None
    return StatementLine(
        inquiry_number=values["inquiry_number"], account_date=day, value_date=values["value_date"],
        direction="credit" if values["direction"] == "1" else "debit",
        transaction_type=values["transaction_type"], amount=int(values["amount"]),
        other_bank_amount=int(values["other_bank_amount"] or 0), remitter_code=values["remitter_code"] or "",
        remitter_name=values["remitter_name"], sending_bank_name=values["sending_bank_name"],
        sending_branch_name=values["sending_branch_name"], description=values["description"],
        edi=values["edi"],
    )


def _total_problems(trailer: dict[str, Any], raw: zr.RawRecord, statement: Statement) -> list[StatementProblem]:
    expected = {
        "credit_count": statement.credit_count, "credit_total": statement.credit_total,
        "debit_count": statement.debit_count, "debit_total": statement.debit_total,
        "data_record_count": len(statement.lines),
    }
    problems = [_problem(Reason.ZENGIN_TRAILER_MISMATCH, raw, f"{name}: trailer says {int(trailer[name])}, "
                                                              f"the data records give {value}")
                for name, value in expected.items() if int(trailer[name]) != value]
    if trailer["overdraft_flag"] not in (None, "0", "1", "2"):
        problems.append(_problem(Reason.ZENGIN_FIELD_INVALID, raw, "貸越区分 is not 1 or 2"))
        return problems
    sign = -1 if trailer["overdraft_flag"] == "2" else 1
    closing = sign * int(trailer["closing_balance"])
    if closing != statement.closing_balance:
        problems.append(_problem(Reason.ZENGIN_BALANCE_MISMATCH, raw,
                                 f"opening {statement.header.opening_balance} "
                                 f"+ credits {statement.credit_total} - debits {statement.debit_total} "
                                 f"= {statement.closing_balance}, trailer says {closing}"))
    return problems


def _end_problems(end: dict[str, Any], raw: zr.RawRecord, record_count: int) -> list[StatementProblem]:
    # レコード総件数: sources differ on whether it counts the end record itself; both readings are accepted.
    problems = []
    total = end["total_records"]
    if total is not None and int(total) not in (record_count - 1, record_count):
        problems.append(_problem(Reason.ZENGIN_TRAILER_MISMATCH, raw,
                                 f"レコード総件数 {int(total)}, the file holds {record_count} records"))
    if end["account_count"] is not None and int(end["account_count"]) != 1:
        problems.append(_problem(Reason.ZENGIN_TRAILER_MISMATCH, raw,
                                 f"口座数 {int(end['account_count'])}; one account per file"))
    return problems


def _layout_problems(data: bytes, raws: list[zr.RawRecord]) -> list[StatementProblem]:
    if not raws:
        return [StatementProblem(Reason.FILE_EMPTY, 0, 0, "the file holds no records")]
    if len(raws) > MAX_RECORDS:
        return [StatementProblem(Reason.FILE_TOO_MANY_ROWS, 0, 0, f"over {MAX_RECORDS} records")]
    if zr.looks_ebcdic(data, raws[0]):
        return [StatementProblem(Reason.ZENGIN_EBCDIC, 1, 1,
                                 "EBCDIC file (コード区分 1); only JIS files are read")]
    return []


def read_statement(data: bytes, reference_date: dt.date) -> StatementRead:
    """Read a Zengin 03 statement; `reference_date` is the business date used for the era rule (zengin.md §5).

    Returns the statement only when the file has no problem at all; otherwise every problem found.
    """
    raws = zr.split_records(data, RECORD_LENGTH)
    early = _layout_problems(data, raws)
    if early:
        return StatementRead(None, len(raws), tuple(early))
    problems = _length_problems(raws) + _structure_problems(raws)
    parsed = []
    for raw in raws:
        spec = SPECS.get(chr(raw.data[0]))
        if spec:
            values, field_problems = zr.parse_fields(raw, spec, StatementProblem, reference_date)
            parsed.append((raw, values))
            problems += field_problems
    if problems:
        return StatementRead(None, len(raws), tuple(problems))
    statement = _assemble(parsed, reference_date, problems)
    return StatementRead(None if problems else statement, len(raws), tuple(problems))


def _assemble(parsed: list[tuple[zr.RawRecord, dict[str, Any]]], reference_date: dt.date,
              problems: list[StatementProblem]) -> Statement | None:
    """Structure and fields are sound here: build the records and check dates, totals and balance."""
    (header_raw, header_values), *middle, (trailer_raw, trailer_values), (end_raw, end_values) = parsed
    header = _header_from(header_values, header_raw, reference_date, problems)
    lines = [_line_from(values, raw, header, problems) for raw, values in middle]
    problems += _end_problems(end_values, end_raw, len(parsed))
    if header is None or any(line is None for line in lines):
        return None
    statement = Statement(header, tuple(line for line in lines if line is not None))
    problems += _total_problems(trailer_values, trailer_raw, statement)
    return statement
