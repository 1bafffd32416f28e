"""Row validation for the CSV files of FORMATS.md: text values in, typed values or reason-coded problems out.

Pure functions: no files, no database, no clock. What a check needs from outside (the business date, the
masters in force) comes in a `RowContext`. Ingestion calls `validate_record` for every CSV data row; the
simulator and docs/formats.md rely on the check order below, which is therefore part of the contract:

1. field count (`csv_field_count`)                       — only in `validate_record`
2. required fields (`field_required`), every column
3. My Number in any id/text/enum/digits field (`my_number_detected`), every column
4. per-column checks in column order: control characters in any field (`field_control_character`: C0 and C1
   controls including TAB, CR and LF, DEL, bidirectional overrides and isolates), length of id/text fields
   (`field_too_long`), then the type: pattern / check digit / enum / amount (`amount_signed` for `+`, for
   `-` on an unsigned column and for `-0` anywhere) / date / timestamp
5. cross-field rules (`fields_inconsistent`, `amount_signed` for a signed non-adjust amount,
   `date_out_of_range` for an interval that ends before it starts)
6. date range (`event_date_mismatch` for ledger events, else `date_out_of_range`)
7. referential checks against the masters in force on the row's date (`*_unknown`); never for platform
   ledger rows, which happened on the platform whatever the masters say (FORMATS.md "References not known
   yet": they load and dbt holds and flags them)
(8. duplicate keys: ingestion's job, it needs the loaded rows.)

Every problem found is returned, in that order; the first one is the row's quarantine reason. A column that
failed an earlier stage is skipped by the later ones. Typed values: int yen, `datetime.date`, naive
`datetime.datetime` holding Asia/Tokyo wall-clock time, text otherwise; empty fields are None.

Written by hand: the rules are FORMATS.md's own (amount sign rules, JST conversion, My Number, cross-field
rules); no schema library expresses them with per-row reason codes. A detail never echoes the value of an
id or text field (a My Number, a certificate serial or a name could be in it): it names the column and says
what is wrong; other values are echoed at most `ECHO_MAX_CHARS` characters long, long digit runs masked.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.codes import (
    MY_NUMBER_ASCII_CHARS,
    is_valid_municipality_code,
    looks_like_my_number,
    mask_long_digit_runs,
)
from contracts.in_force import snapshot_in_force
from contracts.jst import parse_timestamp_jst
from contracts.limits import AMOUNT_MAX_YEN
from contracts.problems import Problem
from contracts.reasons import Reason
from contracts.schemas import (
    MUNICIPALITY_CODE,
    PLATFORM_LEDGER,
    REF_MAX_CHARS,
    REFERENCE,
    TEXT_MAX_CHARS,
    Column,
    ColumnType,
    FileKind,
)

COUNT_MAX_DIGITS = 18  # fits BIGINT
TRANSACTION_DAYS_BEFORE_MAX = 400  # a row's timestamp may be this many days before the file's date
TRANSACTION_DAYS_AFTER_MAX = 1  # ... and this many after (a late-evening offset, clock skew)
OTHER_DATE_DAYS_MAX = 400  # other dates of transactional files (e.g. deposit_date), both ways
MASTER_DATE_MIN = dt.date(1989, 1, 8)  # master validity dates: Heisei onwards ...
MASTER_DATE_MAX = dt.date(2099, 12, 31)  # ... to the end of the century (an open end is an empty field)

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Unicode bidirectional formatting characters (TR9): the embeddings, overrides and isolates that make text
# display other than it reads, and the marks. A value may hold a mark (it reorders nothing by itself); names
# and what is shown to people (file names, officer CSVs) are escaped for any of them.
BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BIDI_CONTROLS = BIDI_OVERRIDES | frozenset("\u200e\u200f\u061c")
# Characters no value may hold: C0 controls (TAB, CR and LF included: no FORMATS.md field is multi-line, and
# values flow into fixed-width Zengin records, officer CSVs and logs), DEL, C1 controls, and the Unicode
# bidirectional embeddings, overrides and isolates that make text display other than it reads.
CONTROL_RANGES: tuple[tuple[int, int], ...] = ((0x00, 0x1F), (0x7F, 0x9F)) + tuple(
    (ord(c), ord(c)) for c in sorted(BIDI_OVERRIDES)
)  # as code point ranges, so a regex of another engine (contracts.validation_columnar) is built from them too
_CONTROL_RE = re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in CONTROL_RANGES) + "]")
ECHO_MAX_CHARS = 24
_DECIMAL_RE = re.compile(r"[0-9]+(\.[0-9]+)?")
_MEMO_ENTRIES_MAX = 65_536
# FORMATS.md: a text value is any field but an amount, count, date or timestamp (a decimal rate is a number)
_MY_NUMBER_TYPES = frozenset((ColumnType.ID, ColumnType.TEXT, ColumnType.ENUM, ColumnType.DIGITS))


def _max_chars(column: Column) -> int | None:
    """The length bound of a free value: text, or an id that others assign (schemas.REFERENCE); identifiers
    with a shape (and base64 certificates and keys) are bounded by their pattern."""
    if column.type is ColumnType.TEXT:
        return TEXT_MAX_CHARS
    return REF_MAX_CHARS if column.type is ColumnType.ID and column.pattern == REFERENCE else None


def echo(text: str) -> str:
    """A value as a problem's detail may show it: quoted, at most ECHO_MAX_CHARS characters, control characters
    escaped, every run of 12 or more digits masked (a My Number inside a longer number too). Only for values
    that are not identifiers or free text (amounts, dates, header names, ...)."""
    shown = mask_long_digit_runs(text)  # before cutting: a number cut short would no longer look like one
    if len(shown) > ECHO_MAX_CHARS:
        shown = shown[:ECHO_MAX_CHARS] + "..."
    return ascii(shown) if _CONTROL_RE.search(shown) else repr(shown)


class MasterLookup(Protocol):
    """What referential checks ask: is `key` in master `master` (`municipalities`, `merchants`,
    `partners`) as in force on date `on` (the newest snapshot on or before it)?"""

    def known(self, master: str, key: str, on: dt.date) -> bool: ...


@dataclass(slots=True)
class InMemoryMasters:
    """A MasterLookup over snapshots held in memory: master -> sorted snapshot dates -> keys.

    Ingestion fills one from raw.master_* and adds each snapshot it loads; tests build one by hand."""

    snapshots: dict[str, dict[dt.date, frozenset[str]]] = field(default_factory=dict)
    _dates: dict[str, list[dt.date]] = field(default_factory=dict)

    def add_snapshot(self, master: str, snapshot_date: dt.date, keys: Iterable[str]) -> None:
        by_date = self.snapshots.setdefault(master, {})
        by_date[snapshot_date] = frozenset(keys)
        self._dates[master] = sorted(by_date)

    def in_force(self, master: str, on: dt.date) -> frozenset[str]:
        snapshot = snapshot_in_force(self._dates.get(master, []), on)
        return frozenset() if snapshot is None else self.snapshots[master][snapshot]

    def known(self, master: str, key: str, on: dt.date) -> bool:
        return key in self.in_force(master, on)


@dataclass(frozen=True, slots=True)
class RowContext:
    """What validation needs beyond the row. business_date: the date in the file's name (snapshot date for
    masters); masters: for referential checks (None skips them)."""

    business_date: dt.date
    masters: MasterLookup | None = None


# --- per-column type checks ------------------------------------------------------------------------------
# A checker takes the non-empty text and returns (typed value, None) or (None, Problem).
Checked = tuple[Any, Problem | None]


def _check_amount(column: Column, text: str) -> Checked:
    sign = ""
    digits = text
    if text[:1] in ("+", "-"):
        sign, digits = text[0], text[1:]
    if not (digits.isascii() and digits.isdigit()):
        return None, Problem(
            Reason.AMOUNT_NOT_INTEGER, column.name, f"{column.name} is not a whole number of yen: {echo(text)}"
        )
    if sign == "+" or (sign == "-" and not column.signed):
        return None, Problem(Reason.AMOUNT_SIGNED, column.name, f"{column.name} carries a sign: {echo(text)}")
    if len(digits.lstrip("0")) > len(str(AMOUNT_MAX_YEN)):  # bounded before int(): any length may arrive
        return None, Problem(
            Reason.AMOUNT_OUT_OF_RANGE, column.name, f"{column.name} has {len(digits)} digits, over {AMOUNT_MAX_YEN:,}"
        )
    value = int(digits)
    if sign == "-" and value == 0:  # "-0": a sign on an amount that is not negative
        return None, Problem(
            Reason.AMOUNT_SIGNED, column.name, f"{column.name} {echo(text)} is signed but not negative"
        )
    if value > AMOUNT_MAX_YEN:
        return None, Problem(
            Reason.AMOUNT_OUT_OF_RANGE,
            column.name,
            f"{column.name} {echo(text)} is over {AMOUNT_MAX_YEN:,} yen for one transaction",
        )
    return (-value if sign else value), None


def _check_count(column: Column, text: str) -> Checked:
    if text.isascii() and text.isdigit():
        if len(text) > COUNT_MAX_DIGITS:
            return None, Problem(
                Reason.AMOUNT_OUT_OF_RANGE, column.name, f"{column.name} has too many digits"
            )
        return int(text), None
    if text[:1] in ("+", "-") and text[1:].isascii() and text[1:].isdigit():
        return None, Problem(Reason.AMOUNT_SIGNED, column.name, f"{column.name} carries a sign: {echo(text)}")
    return None, Problem(
        Reason.AMOUNT_NOT_INTEGER, column.name, f"{column.name} is not a whole number: {echo(text)}"
    )


def _check_decimal(column: Column, text: str) -> Checked:
    if _DECIMAL_RE.fullmatch(text):
        return text, None
    if text[:1] in ("+", "-") and _DECIMAL_RE.fullmatch(text[1:]):
        return None, Problem(Reason.AMOUNT_SIGNED, column.name, f"{column.name} carries a sign: {echo(text)}")
    return None, Problem(Reason.FIELD_PATTERN, column.name, f"{column.name} is not a plain decimal: {echo(text)}")


def _check_date(column: Column, text: str) -> Checked:
    if _DATE_RE.fullmatch(text):
        try:
            return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10])), None
        except ValueError:
            pass
    return None, Problem(
        Reason.DATE_INVALID, column.name, f"{column.name} is not a YYYY-MM-DD date: {echo(text)}"
    )


def _check_timestamp(column: Column, text: str) -> Checked:
    value = parse_timestamp_jst(text)
    if value is None:
        return None, Problem(
            Reason.TIMESTAMP_INVALID,
            column.name,
            f"{column.name} is not an ISO 8601 timestamp with offset: {echo(text)}",
        )
    return value, None


@functools.cache
def pattern_regex(pattern: str | None) -> re.Pattern[str]:
    """The compiled full-match pattern of an id/digits column (any text when it has none)."""
    return re.compile(pattern or r".*", re.DOTALL)


def _pattern_checker(column: Column) -> Callable[[Column, str], Checked]:
    regex = pattern_regex(column.pattern)
    municipality = column.pattern == MUNICIPALITY_CODE
    memo: dict[str, Checked] = {}  # identifiers repeat a lot (municipalities, programmes): check each once

    def check(col: Column, text: str) -> Checked:
        found = memo.get(text)
        if found is None:
            if len(memo) >= _MEMO_ENTRIES_MAX:
                memo.clear()
            found = memo[text] = _check_pattern(col, text)
        return found

    def _check_pattern(col: Column, text: str) -> Checked:
        if not regex.fullmatch(text):
            return None, Problem(
                Reason.FIELD_PATTERN, col.name, f"{col.name} has the wrong shape ({len(text)} characters)"
            )
        if municipality and not is_valid_municipality_code(text):
            return None, Problem(
                Reason.MUNICIPALITY_CODE_CHECK_DIGIT, col.name, f"{col.name} fails its check digit"
            )
        return text, None

    return check


def _enum_checker(column: Column) -> Callable[[Column, str], Checked]:
    allowed = frozenset(column.values)

    def check(col: Column, text: str) -> Checked:
        if text in allowed:
            return text, None
        return None, Problem(
            Reason.FIELD_ENUM, col.name, f"{col.name} {echo(text)} is not one of {', '.join(col.values)}"
        )

    return check


def _text_checker(column: Column, text: str) -> Checked:
    return text, None


def _checker(column: Column) -> Callable[[Column, str], Checked]:
    kind = column.type
    if kind in (ColumnType.ID, ColumnType.DIGITS):
        return _pattern_checker(column)
    if kind is ColumnType.ENUM:
        return _enum_checker(column)
    return {
        ColumnType.TEXT: _text_checker,
        ColumnType.AMOUNT: _check_amount,
        ColumnType.COUNT: _check_count,
        ColumnType.DECIMAL: _check_decimal,
        ColumnType.DATE: _check_date,
        ColumnType.TIMESTAMP: _check_timestamp,
    }[kind]


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    column: Column
    check: Callable[[Column, str], Checked]
    my_number_checked: bool
    max_chars: int | None


_PLANS: dict[str, tuple[tuple[ColumnPlan, ...], tuple[Column, ...]]] = {}


def _plan(kind: FileKind) -> tuple[tuple[ColumnPlan, ...], tuple[Column, ...]]:
    """The kind's column checkers and its date/timestamp columns, built once per kind name."""
    plan = _PLANS.get(kind.name)
    if plan is None:
        checkers = tuple(
            ColumnPlan(c, _checker(c), c.type in _MY_NUMBER_TYPES, _max_chars(c)) for c in kind.columns
        )
        dated = tuple(c for c in kind.columns if c.type in (ColumnType.DATE, ColumnType.TIMESTAMP))
        plan = _PLANS[kind.name] = (checkers, dated)
    return plan


def _text_problem(column: Column, text: str, limit: int | None) -> Problem | None:
    """A control character in any field, or an id/text value over its length bound `limit` (`_max_chars`)."""
    found = _CONTROL_RE.search(text)
    if found is not None:
        return Problem(
            Reason.FIELD_CONTROL_CHARACTER,
            column.name,
            f"{column.name} holds control character U+{ord(found.group()):04X} at position {found.start() + 1}",
        )
    if limit is not None and len(text) > limit:
        return Problem(Reason.FIELD_TOO_LONG, column.name, f"{column.name} is over {limit} characters ({len(text)})")
    return None


def value_checked(plan: ColumnPlan, text: str) -> Checked:
    """Stages 3-4 for one non-empty value of `plan`'s column: My Number, control characters and length, then the
    type. A pure function of the value: contracts.validation_columnar calls it once per distinct value."""
    column = plan.column
    # inline pre-filter: an ASCII value under 12 characters is never one (most values; saves a call)
    too_short = len(text) < MY_NUMBER_ASCII_CHARS[0] and text.isascii()
    if plan.my_number_checked and not too_short and looks_like_my_number(text):
        return None, Problem(Reason.MY_NUMBER_DETECTED, column.name, f"{column.name} holds a personal number (masked)")
    problem = _text_problem(column, text, plan.max_chars)
    if problem is not None:
        return None, problem
    return plan.check(column, text)


def column_plans(kind: FileKind) -> tuple[ColumnPlan, ...]:
    """The kind's per-column checkers, in column order (built once per kind)."""
    return _plan(kind)[0]


def check_fields(kind: FileKind, values: Mapping[str, str | None]) -> tuple[dict[str, Any], list[Problem]]:
    """Stages 2-4: required, My Number, per-column types. Returns the typed values of the columns that
    passed (failed columns are absent) and the problems, ordered by stage then column."""
    required: list[Problem] = []
    personal: list[Problem] = []
    typed_problems: list[Problem] = []
    typed: dict[str, Any] = {}
    for plan in _plan(kind)[0]:
        column = plan.column
        text = values.get(column.name)
        if not text:
            if column.required:
                required.append(Problem(Reason.FIELD_REQUIRED, column.name, f"{column.name} is empty"))
            else:
                typed[column.name] = None
            continue
        value, problem = value_checked(plan, text)
        if problem is None:
            typed[column.name] = value
        elif problem.code == Reason.MY_NUMBER_DETECTED:
            personal.append(problem)
        else:
            typed_problems.append(problem)
    return typed, required + personal + typed_problems


# --- cross-field rules -----------------------------------------------------------------------------------
_PROGRAM_SET = frozenset(("grant", "expire", "charge", "adjust"))


def _has(typed: Mapping[str, Any], name: str) -> bool:
    return typed.get(name) is not None


def _inconsistent(detail: str) -> Problem:
    return Problem(Reason.FIELDS_INCONSISTENT, None, detail)


def _ledger_rules(typed: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    event_type = typed.get("event_type")
    channel = typed.get("channel")
    if event_type is None:
        return problems
    if "program_code" in typed:
        if event_type in _PROGRAM_SET and not _has(typed, "program_code"):
            problems.append(_inconsistent(f"a {event_type} needs program_code"))
        if event_type not in _PROGRAM_SET and _has(typed, "program_code"):
            problems.append(_inconsistent(f"a {event_type} must not carry program_code"))
    if "cancel_of" in typed and (event_type == "cancel") != _has(typed, "cancel_of"):
        problems.append(_inconsistent("cancel_of is set exactly for a cancel"))
    if event_type == "expire" and "lot_event_id" in typed and not _has(typed, "lot_event_id"):
        problems.append(_inconsistent("an expire needs lot_event_id"))
    if event_type == "charge" and "payment_ref" in typed and not _has(typed, "payment_ref"):
        problems.append(_inconsistent("a charge needs payment_ref"))
    if event_type == "adjust" and channel is not None and channel != "batch":
        problems.append(_inconsistent("an adjust comes through channel batch"))
    if channel == "terminal" and "terminal_id" in typed and "auth_id" in typed:
        if not (_has(typed, "terminal_id") and _has(typed, "auth_id")):
            problems.append(_inconsistent("channel terminal needs terminal_id and auth_id"))
    amount = typed.get("amount")
    if amount is not None and amount < 0 and event_type != "adjust":
        problems.append(Problem(Reason.AMOUNT_SIGNED, "amount", f"a {event_type} amount cannot be negative"))
    return problems


def _interval_rule(start: str, end: str) -> Callable[[Mapping[str, Any]], list[Problem]]:
    def rule(typed: Mapping[str, Any]) -> list[Problem]:
        first, last = typed.get(start), typed.get(end)
        if first is not None and last is not None and last < first:
            return [Problem(Reason.DATE_OUT_OF_RANGE, end, f"{end} {last} is before {start} {first}")]
        return []

    return rule


def _municipality_rules(typed: Mapping[str, Any]) -> list[Problem]:
    cycle, day = typed.get("settlement_cycle"), typed.get("settlement_day")
    if cycle is None or "settlement_day" not in typed:
        return []
    if cycle == "daily" and day is not None:
        return [_inconsistent("a daily settlement has no settlement_day")]
    if cycle == "weekly" and day not in tuple("1234567"):
        return [_inconsistent("a weekly settlement_day is 1 (Mon) to 7 (Sun)")]
    if cycle == "monthly" and day is None:
        return [_inconsistent("a monthly settlement needs settlement_day 1..28 or end")]
    return []


def _fee_rules(typed: Mapping[str, Any]) -> list[Problem]:
    low, high = typed.get("min_amount"), typed.get("max_amount")
    if low is not None and high is not None and high < low:
        return [_inconsistent(f"max_amount {high} is below min_amount {low}")]
    return []


def _cert_rules(typed: Mapping[str, Any]) -> list[Problem]:
    event = typed.get("event")
    if event is None or "previous_serial" not in typed:
        return []
    if (event == "reissued") != _has(typed, "previous_serial"):
        return [_inconsistent("previous_serial is set exactly for a reissued certificate")]
    return []


def _settlement_rules(typed: Mapping[str, Any]) -> list[Problem]:
    amount, fee, net = typed.get("amount"), typed.get("fee"), typed.get("net")
    if None not in (amount, fee, net) and amount - fee != net:
        return [_inconsistent(f"net {net} is not amount {amount} - fee {fee}")]
    return []


@dataclass(frozen=True, slots=True)
class CrossRule:
    """A stage 5 rule (`check`: typed values -> problems) and what it reads of a row: the columns in `values` by
    value, those in `present` only whether they are empty, those in `signs` only their sign. It sees nothing else,
    so contracts.validation_columnar may judge each distinct projection of a chunk's rows once
    (tests/contracts/test_validation_columnar.py holds every rule to its declaration)."""

    check: Callable[[Mapping[str, Any]], list[Problem]]
    values: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    signs: tuple[str, ...] = ()

    def __call__(self, typed: Mapping[str, Any]) -> list[Problem]:
        return self.check(typed)


_CROSS_RULES: dict[str, tuple[CrossRule, ...]] = {
    "platform_ledger": (
        CrossRule(
            _ledger_rules,
            values=("event_type", "channel"),
            present=("program_code", "cancel_of", "lot_event_id", "payment_ref", "terminal_id", "auth_id"),
            signs=("amount",),
        ),
    ),
    "master_municipalities": (CrossRule(_municipality_rules, values=("settlement_cycle", "settlement_day")),),
    "master_designations": (CrossRule(_interval_rule("valid_from", "valid_to"), values=("valid_from", "valid_to")),),
    "master_terminals": (CrossRule(_interval_rule("active_from", "active_to"), values=("active_from", "active_to")),),
    "master_fee_schedule": (CrossRule(_fee_rules, values=("min_amount", "max_amount")),),
    "platform_mykey_certs": (CrossRule(_cert_rules, values=("event",), present=("previous_serial",)),),
    "partner_settlement": (CrossRule(_settlement_rules, values=("amount", "fee", "net")),),
}


def cross_field_rules(kind: FileKind) -> tuple[CrossRule, ...]:
    """Stage 5's rules for rows of `kind`, each a function of the row's typed values."""
    return _CROSS_RULES.get(kind.name, ())


# --- date range ------------------------------------------------------------------------------------------
def row_date_columns(kind: FileKind) -> tuple[Column, ...]:
    """The timestamp columns whose first non-empty one gives a row's date (`row_date`); none for a master."""
    if kind.source == "master":
        return ()
    return tuple(c for c in _plan(kind)[1] if c.type is ColumnType.TIMESTAMP)


def row_date(kind: FileKind, typed: Mapping[str, Any], business_date: dt.date) -> dt.date:
    """The date a row is about: the JST date of its first timestamp column, else the file's business date.
    Referential checks use the masters in force on this date."""
    for column in row_date_columns(kind):
        if typed.get(column.name) is not None:
            return typed[column.name].date()
    return business_date


def date_range_problems(kind: FileKind, typed: Mapping[str, Any], business_date: dt.date) -> list[Problem]:
    """Stage 6 for typed values of `kind` against the file's business date (also used for terminal records
    and seals, whose `ts` follows the rule of CSV timestamps: D-400 .. D+1 days)."""
    return _date_range_rules(kind, typed, business_date)


def dated_columns(kind: FileKind) -> tuple[Column, ...]:
    """The kind's date and timestamp columns, which stage 6 bounds (`date_bounds`)."""
    return _plan(kind)[1]


def date_bounds(kind: FileKind, column: Column, business_date: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last JST date a value of dated `column` may fall on in a file of `business_date`: the
    business date itself for the ledger's event_ts, else the master or transactional window."""
    if kind is PLATFORM_LEDGER and column.name == "event_ts":
        return business_date, business_date
    if kind.source == "master":
        return MASTER_DATE_MIN, MASTER_DATE_MAX
    if column.type is ColumnType.TIMESTAMP:
        return (
            business_date - dt.timedelta(days=TRANSACTION_DAYS_BEFORE_MAX),
            business_date + dt.timedelta(days=TRANSACTION_DAYS_AFTER_MAX),
        )
    window = dt.timedelta(days=OTHER_DATE_DAYS_MAX)
    return business_date - window, business_date + window


def _date_range_rules(kind: FileKind, typed: Mapping[str, Any], business_date: dt.date) -> list[Problem]:
    problems: list[Problem] = []
    for column in _plan(kind)[1]:
        value = typed.get(column.name)
        if value is None:
            continue
        day = value.date() if isinstance(value, dt.datetime) else value
        low, high = date_bounds(kind, column, business_date)
        if low <= day <= high:
            continue
        if kind is PLATFORM_LEDGER and column.name == "event_ts":
            problems.append(
                Problem(
                    Reason.EVENT_DATE_MISMATCH, column.name, f"event on {day} (JST) in the file for {business_date}"
                )
            )
        else:
            problems.append(
                Problem(Reason.DATE_OUT_OF_RANGE, column.name, f"{column.name} {day} is outside {low}..{high}")
            )
    return problems


# --- referential -----------------------------------------------------------------------------------------
_REFERENCES = (
    ("municipality_code", "municipalities", Reason.MUNICIPALITY_UNKNOWN),
    ("merchant_id", "merchants", Reason.MERCHANT_UNKNOWN),
    ("partner_code", "partners", Reason.PARTNER_UNKNOWN),
)
_NO_REFERENCES = frozenset(
    (
        "master_municipalities",
        "master_merchants",
        "master_partners",
        "master_fee_schedule",
        "master_cost_rates",
        "platform_mykey_certs",
    )
)


def reference_columns(kind: FileKind) -> tuple[tuple[str, str, str], ...]:
    """(column, master, reason) of each referential check stage 7 makes on rows of `kind` (none for the masters
    that nothing precedes, certificates and the platform ledger: module docstring, stage 7)."""
    if kind.name in _NO_REFERENCES or kind is PLATFORM_LEDGER:
        return ()
    names = set(kind.column_names)
    return tuple(reference for reference in _REFERENCES if reference[0] in names)


def _referential_rules(
    kind: FileKind, typed: Mapping[str, Any], on: dt.date, masters: MasterLookup
) -> list[Problem]:
    problems: list[Problem] = []
    for column_name, master, code in reference_columns(kind):
        value = typed.get(column_name)
        if value is not None and not masters.known(master, value, on):
            problems.append(
                Problem(
                    code, column_name, f"{column_name} {value} is not in the {master} master in force on {on}"
                )
            )
    return problems


def validate_row(
    kind: FileKind, values: Mapping[str, str | None], context: RowContext
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Stages 2-7 for one row given as column -> text (None or "" = empty). Returns (typed values, []) for a
    good row, (None, problems) otherwise; problems are in check order (module docstring)."""
    typed, problems = check_fields(kind, values)
    for rule in _CROSS_RULES.get(kind.name, ()):
        problems.extend(rule(typed))
    if not problems:
        problems.extend(_date_range_rules(kind, typed, context.business_date))
    if not problems and context.masters is not None:
        on = row_date(kind, typed, context.business_date)
        problems.extend(_referential_rules(kind, typed, on, context.masters))
    return (None, problems) if problems else (typed, [])


def valid_id(kind: FileKind, values: Mapping[str, str | None], column_name: str) -> str | None:
    """The value of id column `column_name` when it has a valid shape (pattern, check digit, not a My Number),
    whatever the row's other fields hold; else None. A master row quarantined for another field still names
    an id that exists in its snapshot: referential checks count such ids as known (docs/formats.md)."""
    text = values.get(column_name)
    column = next((c for c in kind.columns if c.name == column_name), None)
    if column is None or not text or looks_like_my_number(text) or _text_problem(column, text, _max_chars(column)):
        return None
    value, problem = _checker(column)(column, text)
    return value if problem is None else None


def header_problem(kind: FileKind, header: Sequence[str]) -> Problem | None:
    """None when `header` holds exactly the kind's columns (any order), else a csv_header_invalid problem."""
    counts = Counter(header)  # linear: a header of 100,000 names is judged at once
    expected = set(kind.column_names)
    repeated = sorted(n for n, count in counts.items() if count > 1)
    missing = sorted(expected - set(counts))
    extra = sorted(set(counts) - expected)
    if not (repeated or missing or extra):
        return None
    parts = [
        f"{label}: {_names_shown(items)}"
        for label, items in (("missing", missing), ("not listed", extra), ("repeated", repeated))
        if items
    ]
    return Problem(Reason.CSV_HEADER_INVALID, None, "header " + "; ".join(parts))


_HEADER_NAMES_SHOWN = 10


def _names_shown(names: list[str]) -> str:
    """Header names for a detail: the first few, each echoed bounded and masked, and how many more."""
    shown = ", ".join(echo(n) for n in names[:_HEADER_NAMES_SHOWN])
    more = len(names) - _HEADER_NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def validate_record(
    kind: FileKind, header: Sequence[str], fields: Sequence[str], context: RowContext
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Stage 1 (field count against `header`) and then `validate_row`."""
    if len(fields) != len(header):
        return None, [
            Problem(Reason.CSV_FIELD_COUNT, None, f"{len(fields)} fields where the header has {len(header)}")
        ]
    return validate_row(kind, dict(zip(header, fields, strict=True)), context)
