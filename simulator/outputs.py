"""The simulated world's CSV files and bank statements, as in-memory objects ready to be faulted and written.

- master/: a full snapshot of each master on the first date and again on every date it changes (named for the
  date it takes effect);
- platform/: ledger, balances and certificate events for every business date;
- partner/: conversion files on the days a partner converted something, sales files daily for online malls
  and crowdfunding sites, settlement files daily for the acquirer (header only on a quiet day);
- bank/: one Zengin 03 statement per municipality paying account and bank business day, with acquirer
  deposits, partner monthly payments (by the 10th of the next month), interest and unrelated transfers.

Columns are exactly contracts.schemas'; encodings follow the partners master. This module writes to disk only
when simulator/__init__.py asks a file to (`CsvFile.write`) and never reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contracts import banks
from contracts import schemas as s
from contracts import terminal_log as tl
from contracts.csvio import csv_bytes, write_csv
from contracts.inbox_names import BANK_KIND, inbox_path
from contracts.zengin_statement import Statement, StatementHeader, StatementLine, write_statement
from simulator.calendar import bank_day_on_or_before, is_bank_business_day
from simulator.point_platform import CertEvent, PlatformOutput
from simulator.signing import Signer
from simulator.terminals import terminal_key
from simulator.world import COST_RATES, FEE_TABLE, SALES_KINDS, World, rng_for

OPENING_BALANCE_MIN = 50_000_000


class CsvFile:
    """One CSV file: inbox-relative path, kind, business date, rows (column -> text) and encoding.

    The rows may be given, or made by `make` (the platform's ledger, balances and certificate files: a national
    world's rows do not fit in memory all at once). `rows` makes and keeps them, for a fault that needs them;
    `write` streams them from `make` when nothing made them before, holding one row at a time. `row_count`
    answers without making them; `release()` drops rows once written (the count stays)."""

    __slots__ = ("_count", "_make", "_rows", "day", "encoding", "kind", "path")

    def __init__(self, path: str, kind: s.FileKind, day: dt.date, rows: list[dict[str, str]] | None = None,
                 encoding: str = "utf-8", make: Callable[[], Iterable[dict[str, str]]] | None = None,
                 count: int = 0) -> None:
        if (rows is None) == (make is None):
            raise ValueError("a CsvFile has rows or a way to make them, not both")
        self.path, self.kind, self.day, self.encoding = path, kind, day, encoding
        self._rows, self._make, self._count = rows, make, count if rows is None else len(rows)

    @property
    def rows(self) -> list[dict[str, str]]:
        if self._rows is None:
            self._rows = list(self._stream())
            self._count = len(self._rows)
        return self._rows

    def _stream(self) -> Iterable[dict[str, str]]:
        """The rows as made or as `make` makes them, one by one."""
        if self._rows is not None:
            return self._rows
        assert self._make is not None, f"{self.path}: rows released after writing"
        return self._make()

    @property
    def row_count(self) -> int:
        return self._count if self._rows is None else len(self._rows)

    def release(self) -> None:
        """Forget the rows (they were written); `row_count` keeps their number."""
        self._count = self.row_count
        self._rows, self._make = None, None

    def data(self) -> bytes:
        return csv_bytes(self.kind.column_names, self.rows, encoding=self.encoding)

    def write(self, target: Path) -> None:
        """Write the file to `target` row by row (the same bytes as `data()`, without holding them)."""
        rows = self._stream()  # before the file is opened: a released file's rows are gone
        with target.open("w", encoding=self.encoding, newline="") as stream:
            write_csv(stream, self.kind.column_names, rows)


@dataclass(slots=True)
class BankFile:
    """One statement; trailer_overrides forge a broken trailer (a fault)."""

    path: str
    day: dt.date
    statement: Statement
    trailer_overrides: dict[str, int] = field(default_factory=dict)

    def data(self) -> bytes:
        return write_statement(self.statement, trailer_overrides=self.trailer_overrides or None)


def _d(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


# --- masters ----------------------------------------------------------------------------------------------
def master_rows(world: World, name: str, on: dt.date) -> list[dict[str, str]]:
    """The rows of master `name` as the snapshot dated `on` holds them."""
    if name == "municipalities":
        return [{"municipality_code": m.code, "name": m.name, "name_kana": m.name_kana, "prefecture": m.prefecture,
                 "settlement_cycle": m.settlement_cycle, "settlement_day": m.settlement_day,
                 "min_payout_yen": str(m.min_payout_yen), "fee_bearer": m.fee_bearer,
                 "payer_bank_code": m.account.bank_code, "payer_branch_code": m.account.branch_code,
                 "payer_account_type": m.account.account_type, "payer_account_number": m.account.account_number,
                 "client_code": m.client_code, "client_name_kana": m.client_name_kana} for m in world.municipalities]
    if name == "merchants":
        return [{"merchant_id": m.merchant_id, "name": m.name, "name_kana": m.name_kana, "category": m.category,
                 "channel": m.channel, "bank_code": m.account.bank_code, "branch_code": m.account.branch_code,
                 "account_type": m.account.account_type, "account_number": m.account.account_number,
                 "account_holder_kana": m.account_holder_kana, "status": m.status_on(on)}
                for m in world.merchants if m.listed_from <= on]
    if name == "designations":
        return [{"municipality_code": d.municipality_code, "merchant_id": d.merchant_id,
                 "valid_from": _d(d.valid_from),
                 "valid_to": _d(d.valid_to if d.end_listed_from and d.end_listed_from <= on else None)}
                for d in world.designations if d.listed_from <= on]
    if name == "programs":
        return [{"program_code": p.code, "municipality_code": p.municipality_code, "name": p.name, "kind": p.kind,
                 "funding": p.funding, "expiry": p.expiry,
                 "annual_cap_per_person": "" if p.annual_cap is None else str(p.annual_cap)}
                for p in world.programs]
    if name == "partners":
        return [{"partner_code": p.code, "name": p.name, "kind": p.kind, "encoding": p.encoding,
                 "payer_name_kana": p.payer_name_kana} for p in world.partners]
    if name == "terminals":
        return [{"terminal_id": t.terminal_id, "merchant_id": t.merchant_id,
                 "public_key": tl.terminal_public_key_b64(terminal_key(t.key_label)),
                 "active_from": _d(t.active_from),
                 "active_to": _d(t.active_to if t.end_listed_from and t.end_listed_from <= on else None)}
                for t in world.terminals if t.listed_from <= on]
    if name == "fee_schedule":
        bank_codes = sorted({m.account.bank_code for m in world.municipalities})
        return [{"bank_code": code, "relation": relation, "min_amount": str(low),
                 "max_amount": "" if high is None else str(high), "fee_yen": str(fee)}
                for code in bank_codes for relation, low, high, fee in FEE_TABLE]
    if name == "cost_rates":
        return [{"item": item, "unit": unit, "yen_per_unit": rate} for item, unit, rate in COST_RATES]
    raise KeyError(name)


def master_files(world: World) -> list[CsvFile]:
    files = []
    for kind in s.MASTER_KINDS:
        name = kind.name.removeprefix("master_")
        for day in world.master_changes[name]:
            files.append(CsvFile(inbox_path(kind.name, day), kind, day, master_rows(world, name, day)))
    return files


# --- platform and partners --------------------------------------------------------------------------------
CERTIFICATES_AT_ONCE = 16_384  # certificates issued per round while their file is written


def platform_files(world: World, out: PlatformOutput, signer: Signer) -> list[CsvFile]:
    """Ledger, balances and certificate files per business date; their rows are made when needed. The
    certificates are issued by `signer` while their file is written (a 10-million-resident first day registers
    about ten million, some 12 GB of DER in base64), so it must stay open until the files are written."""
    files = []
    for index in range(world.days):
        day = world.date(index)
        events, balances, certs = out.ledger[day], out.balances[day], out.certs[day]
        files.append(CsvFile(inbox_path(s.PLATFORM_LEDGER.name, day), s.PLATFORM_LEDGER, day,
                             make=lambda events=events: (e.row() for e in events), count=len(events)))
        files.append(CsvFile(inbox_path(s.PLATFORM_BALANCES.name, day), s.PLATFORM_BALANCES, day,
                             make=lambda balances=balances: iter(balances), count=len(balances)))
        files.append(CsvFile(inbox_path(s.PLATFORM_MYKEY_CERTS.name, day), s.PLATFORM_MYKEY_CERTS, day,
                             make=lambda certs=certs: _certificate_rows(certs, signer), count=len(certs)))
    return files


def _certificate_rows(certs: Sequence[CertEvent], signer: Signer) -> Iterator[dict[str, str]]:
    """The rows of a day's certificate file in event order, issuing their DER a round at a time."""
    for start in range(0, len(certs), CERTIFICATES_AT_ONCE):
        events = certs[start:start + CERTIFICATES_AT_ONCE]
        ders = signer.issue([(e.serial, e.key_index, e.not_before, e.not_after) for e in events])
        for e, der in zip(events, ders, strict=True):
            yield {"mykey_id": e.mykey_id, "cert_serial": f"{e.serial:x}", "cert_der": der, "event": e.event,
                   "previous_serial": "" if e.previous_serial is None else f"{e.previous_serial:x}",
                   "event_ts": e.event_ts.isoformat()}


def partner_files(world: World, out: PlatformOutput) -> list[CsvFile]:
    files = []
    for (code, day), rows in sorted(out.conversions.items()):
        files.append(CsvFile(inbox_path(s.PARTNER_CONVERSION.name, day, partner=code), s.PARTNER_CONVERSION, day,
                             rows, world.partner(code).encoding))
    for partner in world.partners:
        for index in range(world.days):
            day = world.date(index)
            if partner.kind in SALES_KINDS:
                files.append(CsvFile(inbox_path(s.PARTNER_SALES.name, day, partner=partner.code),
                                     s.PARTNER_SALES, day, out.sales.get((partner.code, day), []),
                                     partner.encoding))
            if partner.kind == "acquirer":
                files.append(CsvFile(inbox_path(s.PARTNER_SETTLEMENT.name, day, partner=partner.code),
                                     s.PARTNER_SETTLEMENT, day, out.settlements.get((partner.code, day), []),
                                     partner.encoding))
    return files


# --- bank statements --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Deposit:
    """A planned statement line: who, what, how much; ref: what it pays (for faults.json)."""

    municipality_code: str
    day: dt.date
    direction: str
    amount: int
    remitter_name: str
    description: str
    transaction_type: str = "11"
    sending_bank: str = ""
    ref: str = ""


def partner_payment_day(world: World, partner_code: str, code: str, year: int, month: int) -> dt.date:
    """When a partner pays a month's conversions: a bank business day from the 5th to the 10th of the next
    month (the same for the same partner, municipality and month)."""
    rng = rng_for(world.seed, f"partner-payment/{partner_code}/{code}/{year}-{month}")
    next_month = dt.date(year + month // 12, month % 12 + 1, 10)
    day = bank_day_on_or_before(next_month - dt.timedelta(days=rng.randint(0, 5)))
    return day


def planned_deposits(world: World, out: PlatformOutput) -> list[Deposit]:
    """Partner payments and acquirer deposits that fall inside the period, before any fault."""
    deposits = []
    acquirer = next(p for p in world.partners if p.kind == "acquirer")
    for (code, day), net in sorted(out.acquirer_net.items()):
        if world.start <= day <= world.end:
            deposits.append(Deposit(code, day, "credit", net, acquirer.payer_name_kana, "",
                                    sending_bank=acquirer.bank_code,
                                    ref=f"acquirer:{acquirer.code}:{day.isoformat()}"))
    for (partner_code, code, year, month), owed in sorted(out.partner_owed.items()):
        day = partner_payment_day(world, partner_code, code, year, month)
        if world.start <= day <= world.end:
            partner = world.partner(partner_code)
            deposits.append(Deposit(code, day, "credit", owed, partner.payer_name_kana, "",
                                    sending_bank=partner.bank_code, ref=f"partner:{partner_code}:{year}-{month:02d}"))
    return deposits


_OTHER_CREDITS = (("ｶ)ﾐﾄﾞﾘｹﾝｾﾂ", "ﾍﾝｷﾝ"), ("ｹﾝﾁﾖｳ", "ﾎｼﾞﾖｷﾝ"), ("ｼﾔ)ｶﾝｺｳｷﾖｳｶｲ", "ｷﾌｷﾝ"))
_OTHER_DEBITS = ("ﾃﾞﾝｷﾘﾖｳ", "ｺｳｷﾝﾋ", "ｲﾀｸﾘﾖｳ")


def background_lines(world: World, code: str, day: dt.date) -> list[Deposit]:
    """Interest on the first bank business day of a month, and unrelated transfers now and then."""
    rng = rng_for(world.seed, f"bank-background/{code}/{day.isoformat()}")
    lines = []
    first = dt.date(day.year, day.month, 1)
    first_bank_day = next(first + dt.timedelta(days=i) for i in range(10)
                          if is_bank_business_day(first + dt.timedelta(days=i)))
    if day == first_bank_day:
        lines.append(Deposit(code, day, "credit", rng.randint(1, 80), "", "ﾘｿｸ", "18"))
    if rng.random() < 0.4:
        name, what = rng.choice(_OTHER_CREDITS)
        lines.append(Deposit(code, day, "credit", rng.randrange(10_000, 2_000_000, 100), name, what))
    if rng.random() < 0.3:
        lines.append(Deposit(code, day, "debit", rng.randrange(5_000, 500_000, 10), "", rng.choice(_OTHER_DEBITS),
                             "14"))
    return lines


def bank_files(world: World, deposits: list[Deposit]) -> list[BankFile]:
    files = []
    for m in world.municipalities:
        balance = OPENING_BALANCE_MIN + rng_for(world.seed, f"opening/{m.code}").randrange(0, 50_000_000)
        inquiry = 0
        for index in range(world.days):
            day = world.date(index)
            if not is_bank_business_day(day):
                continue
            planned = [d for d in deposits if d.municipality_code == m.code and d.day == day]
            lines = []
            for d in planned + background_lines(world, m.code, day):
                inquiry += 1
                sending = banks.bank_name_kana(d.sending_bank) if d.sending_bank else ""
                lines.append(StatementLine(f"{inquiry:08d}", day, day, d.direction, d.transaction_type, d.amount,
                                           remitter_name=d.remitter_name, sending_bank_name=sending,
                                           description=d.description))
            account = m.account
            header = StatementHeader(day, day, day, account.bank_code, banks.bank_name_kana(account.bank_code),
                                     account.branch_code,
                                     banks.branch_name_kana(account.bank_code, account.branch_code),
                                     int(account.account_type), account.account_number, m.client_name_kana,
                                     opening_balance=balance)
            statement = Statement(header, tuple(lines))
            balance = statement.closing_balance
            files.append(BankFile(inbox_path(BANK_KIND, day, bank=account.bank_code, branch=account.branch_code,
                                             account=account.account_number), day, statement))
    return files
