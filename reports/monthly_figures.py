"""Every number of the monthly cost and usage report (月次利用・費用報告) of one municipality and month.

The PDF (reports.monthly_pdf), the Excel workbook (reports.monthly_xlsx) and the national summary
(reports.monthly_national) are renderers of the `MonthlyFigures` this module returns: none of them computes a
figure, so they can never disagree. Every amount is integer yen; every figure comes from set-based SQL over

- `marts.fct_ledger_entries` (postings to `resident_point_liability`: granted, used, expired, adjusted, and the
  balance at any day as the running sum of credit − debit), `marts.fct_point_lots` (expiry dates), `marts.dim_*`
  (names, merchant category and channel), `marts.fct_settlement_items`, `marts.fct_prepaid_unused_balances`;
- `payments.payouts`, `payments.statements`, `payments.adjustments` (transfers, fees and who bore them, carried
  amounts), `recon.breaks` (breaks open at month end);
- `staging.stg_master__cost_rates` (the cost rates master; no mart carries it), `staging.stg_terminal__records`
  and `staging.stg_bank__statements` (the quantities two cost rates are priced on): dbt models, never raw files.

Documented readings:
- **used** = points taken from residents' balances by uses, net of what cancels gave back (the liability side);
  its split by channel and merchant category follows the merchant of each posting (`dim_merchants` in force on
  the posting date, the latest version before it otherwise); `online` merchants are online, every other channel
  is terminal use. A use that no lot covered (shortfall, a control break) moves no point and is not "used" here.
- **balance at month end** = every liability posting up to the last day of the month (a month not over yet: up
  to the last business date loaded, which the report states).
- **carried forward at month end** = amounts frozen into statements or adjustments up to month end that no live
  payout planned up to month end has taken (payments.positions' rule, cut at month end; payout states as they
  stand now); **held** = settlement items of periods ended by month end whose status is not `payable`.
- **open breaks at month end** = breaks first seen by month end and not resolved by then (status as stored now).
- **operating cost** = each cost rate × its quantity in the month, rounded half up to whole yen per line, plus
  the transfer fees the municipality bore; the total is the sum of the lines (so a table of them adds up).
  A rate item seisan cannot count is listed with no quantity and left out of the total, with a note.

What this module must never do: read the inbox or raw tables, use a float for an amount, or return a MyKey ID or
My Number (it groups and sums; no resident identifier leaves the SQL).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

SOURCE_LABELS = {"benefit": "自治体給付", "partner": "提携ポイント交換", "charged": "チャージ",
                 "adjustment": "調整（加算）"}
COST_ITEM_LABELS = {"ledger_event": "台帳イベント処理", "terminal_record": "端末記録処理",
                    "payout_transfer": "振込データ作成", "bank_statement": "入出金明細取込"}
FEE_BEARER_LABELS = {"payer": "自治体負担", "payee": "加盟店負担"}
LIVE_PAYOUT_STATES = ("pending", "batched", "issued", "confirmed")  # payments.positions: planned, not returned
EXPIRY_OUTLOOK_MONTHS = 12
BALANCE_HISTORY_MONTHS = 12
UNKNOWN = "（不明）"


class MonthlyReportError(ValueError):
    """The report cannot be made as asked (unknown municipality, a month with no data); one sentence."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month (`YYYY-MM`)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            first = dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a month in YYYY-MM form") from exc
        return cls(first.year, first.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class GrantLine:
    """Points granted in the month for one programme and source. source: benefit | partner | charged |
    adjustment (SOURCE_LABELS); lot_count: lots created; amount_yen: points (1 point = 1 yen)."""

    program_code: str
    program_name: str
    source: str
    lot_count: int
    amount_yen: int


@dataclass(frozen=True, slots=True)
class UseLine:
    """Points used in the month at merchants of one category (net of cancels); channel: terminal | online."""

    category: str
    channel: str
    amount_yen: int


@dataclass(frozen=True, slots=True)
class CostLine:
    """One line of the operating cost: a cost-rate item priced on a quantity, or the transfer fees borne.
    rate_text: the rate as delivered (exact decimal text, yen per unit); quantity / cost_yen: None when seisan
    cannot count that item (left out of the total)."""

    item: str
    label: str
    unit: str
    rate_text: str
    quantity: int | None
    cost_yen: int | None


@dataclass(frozen=True, slots=True)
class CostOfMonth:
    """The operating cost of one month, for the comparison columns. None = not known (no data or no rates that
    month): shown as "—", never as 0. use_count: use events; used_yen: points used (net) in the month."""

    month: Month
    operating_cost_yen: int | None
    use_count: int | None
    used_yen: int | None


@dataclass(frozen=True, slots=True)
class BreakLine:
    """Breaks open at month end with one break code: how many and the yen at risk."""

    break_code: str
    count: int
    amount_yen: int


@dataclass(frozen=True, slots=True)
class PrepaidBaseDate:
    """The latest 基準日 (31 March / 30 September) on or before month end, from marts.fct_prepaid_unused_balances
    (domain/prepaid-law.md; readings there: issuer = the municipality, expired points are not unused)."""

    reference_date: dt.date
    unused_balance_yen: int
    is_threshold_exceeded: bool
    deposit_required_yen: int
    deposit_deadline_date: dt.date


@dataclass(frozen=True, slots=True)
class FeeCycleCost:
    """Transfer fees a year would cost under one settlement cycle at the municipality's minimum payout
    (payments.compare, computed by the caller: reports may not import payments). fees_per_year_yen None:
    no period of that cycle ended in the history yet (not known, not zero)."""

    label: str
    min_payout_yen: int
    fees_per_year_yen: int | None
    transfers_per_year: int | None
    is_current: bool


@dataclass(frozen=True, slots=True)
class MonthlyFigures:
    """Every figure of one municipality's monthly report. Amounts are integer yen. The balance identity
    opening + granted − used − expired − adjusted_out + other = closing holds (asserted when built)."""

    municipality_code: str
    municipality_name: str
    prefecture: str
    month: Month
    data_through: dt.date                 # last business date in the ledger (≤ month end: the month is partial)
    # points
    opening_balance_yen: int
    grants: tuple[GrantLine, ...]
    granted_yen: int
    used_terminal_yen: int
    used_online_yen: int
    used_yen: int
    use_count: int
    uses_by_category: tuple[UseLine, ...]
    expired_yen: int
    adjusted_out_yen: int                 # negative adjustments (points taken back by hand)
    other_movement_yen: int               # postings of no class above (0 unless the marts add a kind)
    closing_balance_yen: int
    # settlement and payments
    items_payable_yen: int                # settlement items of periods ended in the month, status payable
    items_held_in_month_yen: int          # ... not payable (held)
    merchants_paid: int
    transfer_count: int
    paid_gross_yen: int                   # payouts with transfer date in the month (live states), fee included
    transferred_yen: int                  # what reached merchants' accounts (gross − payee-borne fee)
    fee_payer_yen: int                    # transfer fees borne by the municipality
    fee_payee_yen: int                    # transfer fees deducted from merchants
    returned_count: int
    returned_yen: int
    held_month_end_yen: int
    carried_month_end_yen: int
    unfrozen_month_end_yen: int           # payable but not yet frozen (the gate was not open)
    # cost
    cost_lines: tuple[CostLine, ...]
    rates_date: dt.date | None            # snapshot of the cost rates master used (None: no rates)
    operating_cost_yen: int | None
    previous_month: CostOfMonth
    same_month_last_year: CostOfMonth
    # breaks and prepaid
    open_breaks: tuple[BreakLine, ...]
    open_break_count: int
    open_break_yen: int
    charged_yen: int
    prepaid_unused_month_end_yen: int
    prepaid_base_date: PrepaidBaseDate | None
    # charts
    daily_use: tuple[tuple[dt.date, int], ...]
    balance_by_month: tuple[tuple[Month, int], ...]
    expiry_outlook: tuple[tuple[Month, int], ...]
    expiry_later_yen: int                 # expiring after the outlook's last month
    never_expiring_yen: int
    fee_cycles: tuple[FeeCycleCost, ...]

    @property
    def cost_per_use(self) -> Decimal | None:
        return per_unit(self.operating_cost_yen, self.use_count)

    @property
    def cost_per_10000_yen_used(self) -> Decimal | None:
        return per_unit(self.operating_cost_yen, self.used_yen, scale=10_000)


_WEEKDAYS = "月火水木金土日"


def cycle_label(cycle: str, settlement_day: str | None) -> str:
    """日次 / 週次（日曜締め） / 月次（月末締め）, 月次（10日締め）: a settlement cycle as an officer reads it."""
    if cycle == "weekly" and settlement_day and settlement_day.isdigit() and 1 <= int(settlement_day) <= 7:
        return f"週次（{_WEEKDAYS[int(settlement_day) - 1]}曜締め）"
    if cycle == "monthly":
        return "月次（月末締め）" if settlement_day in (None, "", "end") else f"月次（{settlement_day}日締め）"
    return {"daily": "日次"}.get(cycle, cycle)


def per_unit(cost_yen: int | None, quantity: int | None, scale: int = 1) -> Decimal | None:
    """cost × scale / quantity to 0.01 yen (half up); None when either is unknown or quantity is 0."""
    if cost_yen is None or not quantity:
        return None
    return (Decimal(cost_yen) * scale / Decimal(quantity)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def line_cost_yen(quantity: int, rate_text: str) -> int:
    """quantity × rate, rounded half up to whole yen (the one rounding of a cost line)."""
    return int((Decimal(quantity) * Decimal(rate_text)).quantize(Decimal(1), ROUND_HALF_UP))


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and "
                            "table_name = ?", [schema, table]).fetchone()[0])


def _run(con, sql: str, params: dict):
    """Execute with only the named parameters the statement uses (DuckDB refuses extra ones)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _int(value) -> int:
    return int(value or 0)


# ---------------------------------------------------------------------------------------------------- SQL
_LIABILITY = "marts.fct_ledger_entries where account = 'resident_point_liability' and municipality_code = $m"

_MOVEMENTS_SQL = f"""
select
    coalesce(sum(credit_yen - debit_yen) filter (where business_date < $f), 0) as opening,
    coalesce(sum(credit_yen - debit_yen) filter (where business_date <= $l), 0) as closing,
    coalesce(sum(credit_yen - debit_yen) filter (where business_date between $f and $l
        and movement_kind = 'create'), 0) as granted,
    coalesce(sum(debit_yen - credit_yen) filter (where business_date between $f and $l
        and event_type in ('use', 'cancel') and movement_kind in ('consume', 'restore')), 0) as used,
    coalesce(sum(debit_yen - credit_yen) filter (where business_date between $f and $l
        and movement_kind in ('expire', 'lapse')), 0) as expired,
    coalesce(sum(debit_yen - credit_yen) filter (where business_date between $f and $l
        and event_type = 'adjust' and movement_kind <> 'create'), 0) as adjusted_out,
    coalesce(sum(credit_yen - debit_yen) filter (where prepaid_funded and business_date <= $l), 0) as prepaid,
    coalesce(sum(credit_yen) filter (where business_date between $f and $l and movement_kind = 'create'
        and event_type = 'charge'), 0) as charged,
from (select *, funding = 'prepaid' as prepaid_funded from {_LIABILITY})
"""

_GRANTS_SQL = f"""
with grants as (
    select program_code,
           case when event_type = 'charge' then 'charged' when event_type = 'adjust' then 'adjustment'
                when funding = 'partner' then 'partner' else 'benefit' end as source,
           count(distinct lot_event_id) as lots, sum(credit_yen - debit_yen) as amount_yen
    from {_LIABILITY} and movement_kind = 'create' and business_date between $f and $l
    group by all
),
names as (
    select program_code, arg_max(name, valid_from) as name from marts.dim_programs where valid_from <= $l
    group by all
)
select g.program_code, coalesce(n.name, '{UNKNOWN}'), g.source, g.lots, g.amount_yen
from grants as g left join names as n using (program_code)
order by g.program_code, g.source
"""

# The merchant of a liability posting is on the other side of its movement (merchant_payable).
_USES_SQL = """
with used as (
    select l.business_date, l.posting_group_id, l.event_type, p.merchant_id, l.debit_yen - l.credit_yen as yen
    from marts.fct_ledger_entries as l
    left join marts.fct_ledger_entries as p
        on p.movement_id = l.movement_id and p.account = 'merchant_payable'
    where l.account = 'resident_point_liability' and l.municipality_code = $m
      and l.business_date between $f and $l
      and l.event_type in ('use', 'cancel') and l.movement_kind in ('consume', 'restore')
),
merchant as (
    select u.*, (select arg_max(d.category || chr(31) || d.channel, d.valid_from) from marts.dim_merchants as d
                 where d.merchant_id = u.merchant_id and d.valid_from <= u.business_date) as version
    from used as u
)
select coalesce(split_part(version, chr(31), 1), '{unknown}') as category,
       case when split_part(version, chr(31), 2) = 'online' then 'online' else 'terminal' end as channel,
       sum(yen) as amount_yen
from merchant group by all order by channel desc, category
""".replace("{unknown}", UNKNOWN)

_USE_COUNT_SQL = """
select count(distinct posting_group_id) from marts.fct_ledger_entries
where municipality_code = $m and event_type = 'use' and business_date between $f and $l
"""

_DAILY_USE_SQL = f"""
select business_date, sum(debit_yen - credit_yen) from {_LIABILITY}
  and business_date between $f and $l and event_type in ('use', 'cancel') and movement_kind in ('consume', 'restore')
group by all order by all
"""

_BALANCE_BY_MONTH_SQL = f"""
with months as (
    select unnest(generate_series($history_first, $f, interval 1 month))::date as month_first
)
select month_first, (select coalesce(sum(credit_yen - debit_yen), 0) from {_LIABILITY}
                     and business_date <= last_day(month_first)) as balance_yen
from months
where month_first >= (select date_trunc('month', min(business_date)) from {_LIABILITY})
order by month_first
"""

_EXPIRY_SQL = f"""
with remaining as (
    select lot_event_id, sum(credit_yen - debit_yen) as yen from {_LIABILITY} and business_date <= $l
    group by all having sum(credit_yen - debit_yen) <> 0
)
select date_trunc('month', lots.expiry_date)::date as expiry_month, sum(r.yen) as yen
from remaining as r left join marts.fct_point_lots as lots using (lot_event_id)
where lots.expiry_date is null or lots.expiry_date > $l
group by all order by expiry_month nulls last
"""

_SETTLEMENT_SQL = """
select
    coalesce(sum(amount_yen) filter (where period_end_date between $f and $l and settlement_status = 'payable'), 0),
    coalesce(sum(amount_yen) filter (where period_end_date between $f and $l and settlement_status <> 'payable'), 0),
    coalesce(sum(amount_yen) filter (where period_end_date <= $l and settlement_status <> 'payable'), 0),
    coalesce(sum(amount_yen) filter (where period_end_date <= $l and settlement_status = 'payable'), 0),
from marts.fct_settlement_items where municipality_code = $m
"""

_PAYOUTS_SQL = f"""
select
    count(distinct merchant_id) filter (where live),
    count(*) filter (where live),
    coalesce(sum(amount_yen) filter (where live), 0),
    coalesce(sum(transfer_yen) filter (where live), 0),
    coalesce(sum(fee_yen) filter (where live and fee_bearer = 'payer'), 0),
    coalesce(sum(fee_yen) filter (where live and fee_bearer = 'payee'), 0),
    count(*) filter (where state = 'returned'),
    coalesce(sum(amount_yen) filter (where state = 'returned'), 0),
from (select *, state in {LIVE_PAYOUT_STATES} as live from payments.payouts
      where municipality_code = $m and transfer_date between $f and $l)
"""

_CARRIED_SQL = f"""
select
    (select coalesce(sum(amount_yen), 0) from payments.statements where municipality_code = $m and frozen_on <= $l)
  + (select coalesce(sum(amount_yen), 0) from payments.adjustments where municipality_code = $m and found_on <= $l),
    (select coalesce(sum(amount_yen), 0) from payments.payouts
     where municipality_code = $m and business_date <= $l and state in {LIVE_PAYOUT_STATES})
"""

_BREAKS_SQL = """
select break_code, count(*), sum(amount_at_risk_yen) from recon.breaks
where municipality_code = $m and first_seen_date <= $l and (status <> 'resolved' or resolved_date > $l)
group by all order by break_code
"""

_PREPAID_SQL = """
select reference_date, unused_balance_yen, is_threshold_exceeded, deposit_required_yen, deposit_deadline_date
from marts.fct_prepaid_unused_balances where municipality_code = $m and reference_date <= $l
order by reference_date desc limit 1
"""

_RATES_SQL = """
select snapshot_date, item, unit, yen_per_unit from staging.stg_master__cost_rates
where snapshot_date = (select max(snapshot_date) from staging.stg_master__cost_rates where snapshot_date <= $l)
order by item
"""

_QUANTITIES_SQL = f"""
select
    (select count(distinct posting_group_id) from marts.fct_ledger_entries where municipality_code = $m
     and business_date between $f and $l and event_type in ('grant', 'use', 'cancel', 'charge', 'adjust')),
    (select count(*) from staging.stg_terminal__records where municipality_code = $m
     and business_date between $f and $l),
    (select count(*) from payments.payouts where municipality_code = $m and transfer_date between $f and $l
     and state in {LIVE_PAYOUT_STATES}),
    (select count(*) from staging.stg_bank__statements as s
     where s.business_date between $f and $l and exists (
         select 1 from marts.dim_municipalities as d where d.municipality_code = $m
         and d.payer_bank_code = s.bank_code and d.payer_branch_code = s.branch_code
         and d.payer_account_number = s.account_number)),
    (select coalesce(sum(fee_yen), 0) from payments.payouts where municipality_code = $m
     and transfer_date between $f and $l and state in {LIVE_PAYOUT_STATES} and fee_bearer = 'payer'),
"""

_MUNICIPALITIES_SQL = """
select municipality_code, arg_max(name, valid_from), arg_max(prefecture, valid_from)
from marts.dim_municipalities where valid_from <= $l group by all order by municipality_code
"""


# ---------------------------------------------------------------------------------------------------- reading
def municipalities(con, month: Month) -> list[tuple[str, str, str]]:
    """(code, name, prefecture) of every municipality the masters name by the end of `month`."""
    return [tuple(r) for r in _run(con, _MUNICIPALITIES_SQL, {"l": month.last_day}).fetchall()]


def data_span(con) -> tuple[dt.date, dt.date] | None:
    """First and last business date in the ledger mart; None when it is empty or missing."""
    if not _table_exists(con, "marts", "fct_ledger_entries"):
        return None
    first, last = con.execute("select min(business_date), max(business_date) from marts.fct_ledger_entries")\
        .fetchone()
    return None if first is None else (first, last)


def check_month(con, month: Month) -> dt.date:
    """The last business date with data, after checking that the ledger has data in `month`."""
    span = data_span(con)
    if span is None:
        raise MonthlyReportError("the warehouse has no ledger marts yet; run `seisan run --date D` (or `seisan "
                                 "ingest` and `seisan marts`) for the month's days first")
    first, last = span
    if not (first <= month.last_day and last >= month.first_day):
        raise MonthlyReportError(f"no data for {month}: the ledger holds business dates {first} to {last}")
    return min(last, month.last_day)


def cost_of_month(con, code: str, month: Month) -> tuple[tuple[CostLine, ...], dt.date | None, int | None]:
    """The cost lines of `month`, the rates snapshot used, and the total (None when no rate is in force)."""
    p = {"m": code, "f": month.first_day, "l": month.last_day}
    rates = _run(con, _RATES_SQL, {"l": month.last_day}).fetchall() \
        if _table_exists(con, "staging", "stg_master__cost_rates") else []
    ledger, terminal, transfers, statements, fees_borne = (
        _int(v) for v in _run(con, _QUANTITIES_SQL, p).fetchone())
    quantities = {"ledger_event": ledger, "terminal_record": terminal, "payout_transfer": transfers,
                  "bank_statement": statements}
    lines = []
    for _, item, unit, rate in rates:
        quantity = quantities.get(item)
        lines.append(CostLine(item, COST_ITEM_LABELS.get(item, item), unit, rate, quantity,
                              None if quantity is None else line_cost_yen(quantity, rate)))
    lines.append(CostLine("transfer_fee_payer", "振込手数料（自治体負担）", "円", "実費", None, fees_borne))
    total = sum(line.cost_yen for line in lines if line.cost_yen is not None) if rates else None
    return tuple(lines), (rates[0][0] if rates else None), total


def _comparison(con, code: str, month: Month) -> CostOfMonth:
    p = {"m": code, "f": month.first_day, "l": month.last_day}
    use_count = _int(_run(con, _USE_COUNT_SQL, p).fetchone()[0])
    has_data = _run(con, f"select count(*) from {_LIABILITY} and business_date between $f and $l", p)\
        .fetchone()[0]
    if not has_data:
        return CostOfMonth(month, None, None, None)
    _, _, total = cost_of_month(con, code, month)
    used = _int(_run(con, f"select sum(debit_yen - credit_yen) from {_LIABILITY} and business_date between $f "
                            "and $l and event_type in ('use', 'cancel') and movement_kind in ('consume', "
                            "'restore')", p).fetchone()[0])
    return CostOfMonth(month, total, use_count, used)


def _expiry_outlook(con, p: dict, month: Month) -> tuple[tuple[tuple[Month, int], ...], int, int]:
    horizon = month.shifted(EXPIRY_OUTLOOK_MONTHS)
    outlook, later, never = [], 0, 0
    for first, yen in _run(con, _EXPIRY_SQL, p).fetchall():
        if first is None:
            never += int(yen)
        elif Month(first.year, first.month) <= horizon:
            outlook.append((Month(first.year, first.month), int(yen)))
        else:
            later += int(yen)
    return tuple(outlook), later, never


def monthly_figures(con, code: str, month: Month,
                    fee_cycles: tuple[FeeCycleCost, ...] = ()) -> MonthlyFigures:
    """Every figure of `code`'s report for `month` (see the module docstring for each reading)."""
    known = {c: (n, pref) for c, n, pref in municipalities(con, month)}
    if code not in known:
        raise MonthlyReportError(f"municipality {code} is not in the municipalities master by {month.last_day}; "
                                 f"known: {', '.join(sorted(known)) or 'none'}")
    data_through = check_month(con, month)
    p = {"m": code, "f": month.first_day, "l": month.last_day}
    opening, closing, granted, used, expired, adjusted_out, prepaid, charged = (
        _int(v) for v in _run(con, _MOVEMENTS_SQL, p).fetchone())
    other = closing - opening - granted + used + expired + adjusted_out
    grants = tuple(GrantLine(c, n, s, int(k), int(y)) for c, n, s, k, y in _run(con, _GRANTS_SQL, p).fetchall())
    uses = tuple(UseLine(c, ch, int(y)) for c, ch, y in _run(con, _USES_SQL, p).fetchall())
    assert sum(g.amount_yen for g in grants) == granted, "grant lines must add up to the granted total"
    assert sum(u.amount_yen for u in uses) == used, "use lines must add up to the used total"
    payable_m, held_m, held_end, payable_end = (_int(v) for v in _run(con, _SETTLEMENT_SQL, p).fetchone())
    has_payments = _table_exists(con, "payments", "payouts")
    paid = _run(con, _PAYOUTS_SQL, p).fetchone() if has_payments else (0,) * 8
    frozen, taken = _run(con, _CARRIED_SQL, p).fetchone() if has_payments else (0, 0)
    breaks = tuple(BreakLine(c, int(n), int(y)) for c, n, y in _run(con, _BREAKS_SQL, p).fetchall()) \
        if _table_exists(con, "recon", "breaks") else ()
    base = _run(con, _PREPAID_SQL, p).fetchone()
    cost_lines, rates_date, operating = cost_of_month(con, code, month) if has_payments else ((), None, None)
    outlook, later, never = _expiry_outlook(con, p, month)
    history = {**p, "history_first": month.shifted(1 - BALANCE_HISTORY_MONTHS).first_day}
    return MonthlyFigures(
        municipality_code=code, municipality_name=known[code][0], prefecture=known[code][1], month=month,
        data_through=data_through,
        opening_balance_yen=opening, grants=grants, granted_yen=granted,
        used_terminal_yen=sum(u.amount_yen for u in uses if u.channel == "terminal"),
        used_online_yen=sum(u.amount_yen for u in uses if u.channel == "online"), used_yen=used,
        use_count=_int(_run(con, _USE_COUNT_SQL, p).fetchone()[0]), uses_by_category=uses,
        expired_yen=expired, adjusted_out_yen=adjusted_out, other_movement_yen=other, closing_balance_yen=closing,
        items_payable_yen=payable_m, items_held_in_month_yen=held_m,
        merchants_paid=_int(paid[0]), transfer_count=_int(paid[1]), paid_gross_yen=_int(paid[2]),
        transferred_yen=_int(paid[3]), fee_payer_yen=_int(paid[4]), fee_payee_yen=_int(paid[5]),
        returned_count=_int(paid[6]), returned_yen=_int(paid[7]),
        held_month_end_yen=held_end, carried_month_end_yen=_int(frozen) - _int(taken),
        unfrozen_month_end_yen=payable_end - _int(frozen),
        cost_lines=cost_lines, rates_date=rates_date, operating_cost_yen=operating,
        previous_month=_comparison(con, code, month.shifted(-1)),
        same_month_last_year=_comparison(con, code, month.shifted(-12)),
        open_breaks=breaks, open_break_count=sum(b.count for b in breaks),
        open_break_yen=sum(b.amount_yen for b in breaks),
        charged_yen=charged, prepaid_unused_month_end_yen=prepaid,
        prepaid_base_date=PrepaidBaseDate(base[0], int(base[1]), bool(base[2]), int(base[3]), base[4])
        if base else None,
        daily_use=tuple((d, int(y)) for d, y in _run(con, _DAILY_USE_SQL, p).fetchall()),
        balance_by_month=tuple((Month(d.year, d.month), int(y))
                               for d, y in _run(con, _BALANCE_BY_MONTH_SQL, history).fetchall()),
        expiry_outlook=outlook, expiry_later_yen=later, never_expiring_yen=never,
        fee_cycles=tuple(fee_cycles))
