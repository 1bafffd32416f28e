"""Payout planning: frozen amounts → one payout per merchant → one `PaymentBatch` per municipality and date.

On run date D (a bank business day) and for a municipality whose gate for D is open, after freezing its closed
periods (payments.statements), each merchant's *open sources* are summed: statements, adjustments, payouts the
bank returned and payee-fee remainders that no payout has taken yet. That balance is:
- paid when it is at least the municipality's `min_payout_yen` (equal is paid) and positive, to the merchant's
  account in force on D, in one payout (never split: one fee per merchant and date, fees.md §4);
- otherwise carried forward (reason in contracts.reasons.CarryReason); a negative balance is owed back and is
  netted against later payable amounts, never sent.
The transfer fee is the payer bank's fee schedule in force on D for the relation of payer and payee accounts
(same branch / same bank / other bank) and the band of the amount the bank transfers (`transfer_yen`, which is
what the bank charges on). Fee bearer `payer`: the file carries the whole balance and the municipality pays the
fee. Fee bearer `payee` (先方負担): the file carries the largest amount t with t + fee(t) ≤ balance; the payout's
amount is t + fee(t), and when no t fits a band exactly (a balance just above a band boundary) the few yen left
stay owed as a remainder for the next payout.
Transfer date: the next bank business day after D (contracts.bank_calendar), so one batch per municipality and
transfer date. Ids are hashes of what they identify, so the same inputs give the same payouts and batches, and
a rerun of D returns the batch already planned. Every payout's sources are written to payments.payout_items,
whose primary key lets a source belong to one payout only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from contracts.bank_calendar import add_bank_days, is_bank_business_day
from contracts.reasons import CarryReason
from payments.ledger import SYSTEM_ACTOR, record_event, requeue
from payments.model import PayeeAccount, PayerAccount, PaymentBatch, Payout
from payments.schema import ensure_schema
from payments.statements import FreezeResult, freeze_statements, gate_is_open, short_hash

RELATIONS = ("same_branch", "same_bank", "other_bank")


class PlanningError(ValueError):
    """Planning cannot go on for a municipality (the message says what to fix)."""


@dataclass(frozen=True, slots=True)
class FeeBand:
    """One row of the payer bank's fee schedule: `min_amount_yen` ≤ transfer ≤ `max_amount_yen` (None: open)."""

    relation: str
    min_amount_yen: int
    max_amount_yen: int | None
    fee_yen: int

    def holds(self, transfer_yen: int) -> bool:
        return self.min_amount_yen <= transfer_yen and (self.max_amount_yen is None
                                                       or transfer_yen <= self.max_amount_yen)


@dataclass(frozen=True, slots=True)
class Municipality:
    """The municipalities master row in force on the planning date (what planning needs of it)."""

    municipality_code: str
    min_payout_yen: int
    fee_bearer: str
    payer: PayerAccount


@dataclass(frozen=True, slots=True)
class Carried:
    merchant_id: str
    balance_yen: int
    reason: CarryReason


@dataclass(frozen=True, slots=True)
class PlanResult:
    """One municipality's plan for D: the batch (None when nothing is paid), what was carried and why."""

    municipality_code: str
    business_date: dt.date
    gate_open: bool
    freeze: FreezeResult | None
    batch: PaymentBatch | None
    carried: tuple[Carried, ...]
    already_planned: bool = False
    skipped_reason: str = ""


# ---- pure rules ----------------------------------------------------------------------------------------

def transfer_date_for(business_date: dt.date) -> dt.date:
    """Payouts planned on D are transferred on the next bank business day (the bank executes the file then)."""
    return add_bank_days(business_date, 1)


def bank_relation(payer_bank: str, payer_branch: str, payee_bank: str, payee_branch: str) -> str:
    """同一店 / 本支店 / 他行 by comparing Zengin bank and branch codes (fees.md §4)."""
    if payer_bank != payee_bank:
        return "other_bank"
    return "same_branch" if payer_branch == payee_branch else "same_bank"


def fee_for(bands: Sequence[FeeBand], relation: str, transfer_yen: int) -> int:
    """The schedule's fee for one transfer of `transfer_yen` with `relation`; no band covering it is an error."""
    for band in bands:
        if band.relation == relation and band.holds(transfer_yen):
            return band.fee_yen
    raise PlanningError(f"the fee schedule has no {relation} band for a transfer of {transfer_yen} yen; "
                        f"add it to master/fee_schedule and run again")


def split_for_payee(balance_yen: int, bands: Sequence[FeeBand], relation: str) -> tuple[int, int] | None:
    """(transfer_yen, fee_yen) when the payee bears the fee: the largest transfer t ≥ 1 with t + fee(t) ≤
    balance, judged band by band; None when no transfer fits."""
    best: tuple[int, int] | None = None
    for band in bands:
        if band.relation != relation:
            continue
        top = balance_yen - band.fee_yen
        if band.max_amount_yen is not None:
            top = min(top, band.max_amount_yen)
        if top >= max(band.min_amount_yen, 1) and (best is None or top > best[0]):
            best = (top, band.fee_yen)
    return best


def payout_amounts(balance_yen: int, fee_bearer: str, bands: Sequence[FeeBand],
                   relation: str) -> tuple[int, int, int] | None:
    """(amount_yen, fee_yen, transfer_yen) for a balance to be paid, or None when the fee leaves nothing."""
    if fee_bearer == "payer":
        return balance_yen, fee_for(bands, relation, balance_yen), balance_yen
    if fee_bearer != "payee":
        raise PlanningError(f"fee_bearer {fee_bearer!r} is neither payer nor payee; fix the municipalities master")
    split = split_for_payee(balance_yen, bands, relation)
    if split is None:
        return None
    transfer_yen, fee_yen = split
    return transfer_yen + fee_yen, fee_yen, transfer_yen


def payout_id_for(municipality_code: str, merchant_id: str, business_date: dt.date) -> str:
    """19 characters, 'PO-' and 16 upper-case hex: never 12 digits, at most 20 (FORMATS.md, EDI情報)."""
    return "PO-" + short_hash(municipality_code, merchant_id, business_date)


def batch_id_for(municipality_code: str, transfer_date: dt.date, payout_ids: Sequence[str]) -> str:
    return "PB-" + short_hash(municipality_code, transfer_date, *sorted(payout_ids))


# ---- reading the inputs ----------------------------------------------------------------------------------

_MUNICIPALITIES_SQL = """
select municipality_code, min_payout_yen, fee_bearer, client_code, client_name_kana, payer_bank_code,
       payer_branch_code, payer_account_type, payer_account_number
from marts.dim_municipalities
where valid_from <= ? and (valid_to is null or valid_to >= ?)
order by municipality_code
"""

_ACCOUNTS_SQL = """
select merchant_id, bank_code, branch_code, account_type, account_number, account_holder_kana
from marts.dim_merchants
where valid_from <= ? and (valid_to is null or valid_to >= ?)
"""

# the fee schedule is a full snapshot: the newest one on or before D is in force (FORMATS.md master/)
_FEES_SQL = """
select relation, min_amount, max_amount, fee_yen
from raw.master_fee_schedule
where bank_code = ? and business_date = (
    select max(business_date) from raw.master_fee_schedule where business_date <= ?)
order by relation, min_amount
"""

_OPEN_SOURCES_SQL = """
with sources as (
    select 'statement' as source_kind, statement_id as source_id, merchant_id, amount_yen
    from payments.statements where municipality_code = $m
    union all
    select 'adjustment', adjustment_id, merchant_id, amount_yen from payments.adjustments where municipality_code = $m
    union all
    select 'returned_payout', payout_id, merchant_id, amount_yen from payments.payouts
    where municipality_code = $m and state = 'returned'
    union all
    select 'remainder', remainder_id, merchant_id, amount_yen from payments.remainders where municipality_code = $m
)
select source_kind, source_id, merchant_id, amount_yen
from sources
where source_id not in (select source_id from payments.payout_items)
order by merchant_id, source_id
"""


def municipalities_in_force(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[Municipality]:
    out = []
    for code, min_payout, bearer, client, client_kana, bank, branch, acct_type, acct in con.execute(
            _MUNICIPALITIES_SQL, [day, day]).fetchall():
        out.append(Municipality(code, int(min_payout or 0), bearer,
                                PayerAccount(client, client_kana, bank, branch, int(acct_type), acct)))
    return out


def accounts_in_force(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, PayeeAccount]:
    return {r[0]: PayeeAccount(r[1], r[2], int(r[3]), r[4], r[5])
            for r in con.execute(_ACCOUNTS_SQL, [day, day]).fetchall() if r[1] and r[4]}


def fee_bands(con: duckdb.DuckDBPyConnection, payer_bank_code: str, day: dt.date) -> list[FeeBand]:
    return [FeeBand(r[0], int(r[1]), None if r[2] is None else int(r[2]), int(r[3]))
            for r in con.execute(_FEES_SQL, [payer_bank_code, day]).fetchall()]


# ---- planning ------------------------------------------------------------------------------------------

def plan_day(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, municipality: str | None = None,
             now: dt.datetime) -> list[PlanResult]:
    """Freeze and plan every municipality in force on D (or one): the whole payments planning of a day."""
    ensure_schema(con)
    results = []
    for muni in municipalities_in_force(con, business_date):
        if municipality is None or muni.municipality_code == municipality:
            results.append(plan_municipality(con, business_date, muni, now=now))
    return results


def plan_batches(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, municipality: str | None = None,
                 now: dt.datetime | None = None) -> list[PaymentBatch]:
    """The batches to prepare for D (planning them first if not yet planned): what payments.files consumes."""
    at = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return [r.batch for r in plan_day(con, business_date, municipality=municipality, now=at) if r.batch]


def plan_municipality(con: duckdb.DuckDBPyConnection, business_date: dt.date, muni: Municipality, *,
                      now: dt.datetime) -> PlanResult:
    code = muni.municipality_code
    if not gate_is_open(con, business_date, code):
        return PlanResult(code, business_date, False, None, None, (), skipped_reason="gate not open")
    freeze = freeze_statements(con, business_date, code, now=now)
    existing = load_batches(con, business_date, municipality=code)
    if existing:
        return PlanResult(code, business_date, True, freeze, existing[0], (), already_planned=True)
    if not is_bank_business_day(business_date):
        return PlanResult(code, business_date, True, freeze, None, (),
                          skipped_reason="not a bank business day: amounts wait for the next one")
    con.execute("begin transaction")
    try:
        batch, carried = _plan_in_transaction(con, business_date, muni, now)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return PlanResult(code, business_date, True, freeze, batch, tuple(carried))


@dataclass(frozen=True, slots=True)
class _Source:
    kind: str
    source_id: str
    amount_yen: int


def _open_sources(con: duckdb.DuckDBPyConnection, municipality_code: str) -> dict[str, list[_Source]]:
    by_merchant: dict[str, list[_Source]] = {}
    for kind, source_id, merchant, amount in con.execute(_OPEN_SOURCES_SQL, {"m": municipality_code}).fetchall():
        by_merchant.setdefault(merchant, []).append(_Source(kind, source_id, int(amount)))
    return by_merchant


def _returned_accounts(con: duckdb.DuckDBPyConnection, payout_ids: Sequence[str]) -> set[PayeeAccount]:
    if not payout_ids:
        return set()
    rows = con.execute("select bank_code, branch_code, account_type, account_number, holder_kana "
                       "from payments.payouts where list_contains(?, payout_id)", [list(payout_ids)]).fetchall()
    return {PayeeAccount(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows}


def _plan_in_transaction(con: duckdb.DuckDBPyConnection, business_date: dt.date, muni: Municipality,
                         now: dt.datetime) -> tuple[PaymentBatch | None, list[Carried]]:
    code, transfer_date = muni.municipality_code, transfer_date_for(business_date)
    accounts = accounts_in_force(con, business_date)
    bands: list[FeeBand] | None = None
    payouts: list[tuple[Payout, str, list[_Source], list[str]]] = []
    carried: list[Carried] = []
    for merchant, sources in sorted(_open_sources(con, code).items()):
        balance = sum(s.amount_yen for s in sources)
        returned = [s.source_id for s in sources if s.kind == "returned_payout"]
        account = accounts.get(merchant)
        reason = _carry_reason(balance, muni.min_payout_yen, account, _returned_accounts(con, returned))
        if reason is not None:
            carried.append(Carried(merchant, balance, reason))
            continue
        assert account is not None
        if bands is None:
            bands = fee_bands(con, muni.payer.bank_code, business_date)
        relation = bank_relation(muni.payer.bank_code, muni.payer.branch_code, account.bank_code,
                                 account.branch_code)
        amounts = payout_amounts(balance, muni.fee_bearer, bands, relation)
        if amounts is None:
            carried.append(Carried(merchant, balance, CarryReason.FEE_EXCEEDS_AMOUNT))
            continue
        amount_yen, fee_yen, transfer_yen = amounts
        payout = Payout(payout_id_for(code, merchant, business_date), code, merchant, transfer_date, account,
                        amount_yen, fee_yen, muni.fee_bearer, transfer_yen)
        payouts.append((payout, relation, sources, returned))
    if not payouts:
        return None, carried
    batch = PaymentBatch(batch_id_for(code, transfer_date, [p.payout_id for p, *_ in payouts]), code,
                         business_date, transfer_date, muni.payer,
                         tuple(sorted((p for p, *_ in payouts), key=lambda p: p.payout_id)))
    _write_batch(con, batch, now)
    for payout, relation, sources, returned in payouts:
        _write_payout(con, batch, payout, relation, sources, returned, business_date, now)
    return batch, carried


def _carry_reason(balance_yen: int, min_payout_yen: int, account: PayeeAccount | None,
                  returned_accounts: set[PayeeAccount]) -> CarryReason | None:
    if balance_yen <= 0:
        return CarryReason.NOT_POSITIVE
    if balance_yen < min_payout_yen:
        return CarryReason.BELOW_MINIMUM
    if account is None:
        return CarryReason.NO_ACCOUNT_IN_FORCE
    if account in returned_accounts:
        # the bank could not credit this account: pay again only once the merchants master names another one
        return CarryReason.ACCOUNT_UNCHANGED_AFTER_RETURN
    return None


def _write_batch(con: duckdb.DuckDBPyConnection, batch: PaymentBatch, now: dt.datetime) -> None:
    payer = batch.payer
    con.execute("insert into payments.batches (batch_id, municipality_code, business_date, transfer_date, "
                "client_code, client_name_kana, payer_bank_code, payer_branch_code, payer_account_type, "
                "payer_account_number, payout_count, total_transfer_yen, total_fee_yen, planned_at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [batch.batch_id, batch.municipality_code, batch.business_date, batch.transfer_date,
                 payer.client_code, payer.client_name_kana, payer.bank_code, payer.branch_code, payer.account_type,
                 payer.account_number, len(batch.payouts), batch.total_transfer_yen,
                 sum(p.fee_yen for p in batch.payouts), now])


def _write_payout(con: duckdb.DuckDBPyConnection, batch: PaymentBatch, payout: Payout, relation: str,
                  sources: list[_Source], returned: list[str], business_date: dt.date, now: dt.datetime) -> None:
    a = payout.payee
    con.execute("insert into payments.payouts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [payout.payout_id, batch.batch_id, payout.municipality_code, payout.merchant_id, business_date,
                 payout.transfer_date, a.bank_code, a.branch_code, a.account_type, a.account_number, a.holder_kana,
                 relation, payout.amount_yen, payout.fee_yen, payout.fee_bearer, payout.transfer_yen,
                 returned[0] if returned else None, "pending"])
    con.executemany("insert into payments.payout_items values (?, ?, ?, ?)",
                    [(s.source_id, payout.payout_id, s.kind, s.amount_yen) for s in sources])
    remainder = sum(s.amount_yen for s in sources) - payout.amount_yen
    if remainder:
        con.execute("insert into payments.remainders values (?, ?, ?, ?, ?, ?)",
                    ["RM-" + payout.payout_id[3:], payout.payout_id, payout.municipality_code, payout.merchant_id,
                     remainder, business_date])
    record_event(con, payout.payout_id, None, "pending", now, SYSTEM_ACTOR,
                 {"batch_id": batch.batch_id, "sources": len(sources)})
    for returned_id in returned:
        requeue(con, returned_id, payout.payout_id, now)


# ---- reading batches back ----------------------------------------------------------------------------

def load_batches(con: duckdb.DuckDBPyConnection, business_date: dt.date, *,
                 municipality: str | None = None) -> list[PaymentBatch]:
    """The batches planned on D (all municipalities or one), rebuilt from the tables, payouts by id."""
    ensure_schema(con)
    rows = con.execute("select batch_id, municipality_code, business_date, transfer_date, client_code, "
                       "client_name_kana, payer_bank_code, payer_branch_code, payer_account_type, "
                       "payer_account_number from payments.batches where business_date = ? "
                       "and (? is null or municipality_code = ?) order by municipality_code",
                       [business_date, municipality, municipality]).fetchall()
    return [PaymentBatch(r[0], r[1], r[2], r[3], PayerAccount(r[4], r[5], r[6], r[7], int(r[8]), r[9]),
                         _batch_payouts(con, r[0])) for r in rows]


def _batch_payouts(con: duckdb.DuckDBPyConnection, batch_id: str) -> tuple[Payout, ...]:
    rows = con.execute("select payout_id, municipality_code, merchant_id, transfer_date, bank_code, branch_code, "
                       "account_type, account_number, holder_kana, amount_yen, fee_yen, fee_bearer, transfer_yen "
                       "from payments.payouts where batch_id = ? order by payout_id", [batch_id]).fetchall()
    return tuple(Payout(r[0], r[1], r[2], r[3], PayeeAccount(r[4], r[5], int(r[6]), r[7], r[8]), r[9], r[10], r[11],
                        r[12]) for r in rows)

