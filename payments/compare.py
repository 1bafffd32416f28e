"""What a year of payouts costs in transfer fees under the current cycle and minimum, against other choices.

From the marts' history (every payable use and cancel up to D, by merchant and day: staging.int_settlement__events,
int_lot_movements.settlement_yen, int_settlement__merchant_status), each policy (cycle × minimum payout) is
replayed per merchant: amounts accumulate, and at each period end a balance that reaches the minimum is paid as
one transfer with the fee the planner would charge (payments.planning.payout_amounts, the payer bank's fee
schedule in force on D, the merchant's account in force on D). Scaled to a year linearly: counts and fees × 365 /
days of history (a history shorter than a month scales noisily, and a monthly cycle needs at least one month end
in the history; the table says how many days it saw). `avg_wait_days` is the amount-weighted number of days
between a use and the end of the period it is paid in (the merchant's cash-flow cost of a slower cycle);
`carried_end_yen` what is still unpaid at the end of the history.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

from payments.planning import (
    FeeBand,
    PlanningError,
    accounts_in_force,
    bank_relation,
    fee_bands,
    municipalities_in_force,
    payout_amounts,
)

MINIMUMS_YEN = (0, 1_000, 3_000, 5_000, 10_000, 30_000)

_DAILY_SQL = """
select e.municipality_code, e.merchant_id, e.event_date as day, sum(m.settlement_yen)::bigint as amount_yen
from staging.int_settlement__events e
join staging.int_lot_movements m using (event_id)
join staging.int_settlement__merchant_status s using (event_id)
where s.settlement_status = 'payable' and e.event_date <= $d and e.municipality_code = $m
group by all
having sum(m.settlement_yen) <> 0
order by all
"""

_CYCLE_SQL = """
select settlement_cycle, settlement_day from marts.dim_municipalities
where municipality_code = ? and valid_from <= ? and (valid_to is null or valid_to >= ?)
"""


@dataclass(frozen=True, slots=True)
class Policy:
    cycle: str                 # daily | weekly | monthly
    settlement_day: str | None  # weekly: 1..7 (Mon..Sun); monthly: 1..28 or 'end'
    min_payout_yen: int
    is_current: bool = False

    @property
    def label(self) -> str:
        return self.cycle + (f"({self.settlement_day})" if self.settlement_day else "")


@dataclass(frozen=True, slots=True)
class PolicyCost:
    policy: Policy
    days_seen: int
    transfers_per_year: int
    fees_per_year_yen: int
    avg_wait_days: float
    carried_end_yen: int
    periods_ended: int = 0     # period ends of this cycle inside the history: 0 means nothing to scale from

    @property
    def known(self) -> bool:
        """False when no period of this cycle ended in the history: its cost is not known yet, not zero."""
        return self.periods_ended > 0


def period_ends(cycle: str, settlement_day: str | None) -> Callable[[dt.date], bool]:
    """Is this day the last day of a settlement period (docs/marts.md: weekly ends on weekday k, monthly on day k
    or month end)?"""
    if cycle == "daily":
        return lambda day: True
    if cycle == "weekly":
        weekday = int(settlement_day or 7)
        return lambda day: day.isoweekday() == weekday
    if cycle == "monthly":
        if settlement_day in (None, "", "end"):
            return lambda day: day.day == calendar.monthrange(day.year, day.month)[1]
        k = int(settlement_day)
        return lambda day: day.day == k
    raise PlanningError(f"unknown settlement cycle {cycle!r}")


def replay(daily: dict[str, list[tuple[dt.date, int]]], first: dt.date, last: dt.date, policy: Policy,
           fee: Callable[[str, int], int | None]) -> PolicyCost:
    """Replay one policy over the history. `fee(merchant, balance)` is the fee of paying that balance (None:
    the fee leaves nothing to send, so it is carried)."""
    ends = period_ends(policy.cycle, policy.settlement_day)
    days_seen = (last - first).days + 1
    transfers = fees = 0
    wait_weighted = paid_total = carried_end = 0
    for merchant, amounts in daily.items():
        by_day = dict(amounts)
        balance, pending = 0, []          # pending: (day, amount) not yet paid, for the wait
        day = first
        while day <= last:
            if day in by_day:
                balance += by_day[day]
                pending.append((day, by_day[day]))
            if ends(day) and balance > 0 and balance >= policy.min_payout_yen:
                charged = fee(merchant, balance)
                if charged is not None:
                    transfers += 1
                    fees += charged
                    wait_weighted += sum(a * (day - d).days for d, a in pending)
                    paid_total += sum(a for _, a in pending)
                    balance, pending = 0, []
            day += dt.timedelta(days=1)
        carried_end += balance
    scale = 365 / days_seen
    periods_ended = sum(1 for offset in range(days_seen) if ends(first + dt.timedelta(days=offset)))
    return PolicyCost(policy, days_seen, round(transfers * scale), round(fees * scale),
                      round(wait_weighted / paid_total, 1) if paid_total else 0.0, carried_end, periods_ended)


def policies_for(current_cycle: str, current_day: str | None, current_min: int) -> list[Policy]:
    cycles = [("daily", None), ("weekly", "7"), ("monthly", "end")]
    if (current_cycle, current_day) not in cycles:
        cycles.append((current_cycle, current_day))
    out = []
    for cycle, day in cycles:
        for minimum in sorted(set(MINIMUMS_YEN) | {current_min}):
            is_current = (cycle, day) == (current_cycle, current_day) and minimum == current_min
            out.append(Policy(cycle, day, minimum, is_current))
    return out


def compare_costs(con: duckdb.DuckDBPyConnection, run_date: dt.date, municipality_code: str) -> list[PolicyCost]:
    muni = next((m for m in municipalities_in_force(con, run_date) if m.municipality_code == municipality_code),
                None)
    if muni is None:
        raise PlanningError(f"municipality {municipality_code} is not in the municipalities master on {run_date}")
    cycle_row = con.execute(_CYCLE_SQL, [municipality_code, run_date, run_date]).fetchone()
    daily: dict[str, list[tuple[dt.date, int]]] = {}
    for _, merchant, day, amount in con.execute(_DAILY_SQL, {"d": run_date, "m": municipality_code}).fetchall():
        daily.setdefault(merchant, []).append((day, int(amount)))
    if not daily:
        return []
    first = min(d for amounts in daily.values() for d, _ in amounts)
    bands = fee_bands(con, muni.payer.bank_code, run_date)
    accounts = accounts_in_force(con, run_date)
    fee = _fee_function(muni.payer.bank_code, muni.payer.branch_code, muni.fee_bearer, bands, accounts)
    return [replay(daily, first, run_date, p, fee)
            for p in policies_for(cycle_row[0], cycle_row[1], muni.min_payout_yen)]


def _fee_function(payer_bank: str, payer_branch: str, bearer: str, bands: Sequence[FeeBand],
                  accounts: dict) -> Callable[[str, int], int | None]:
    def fee(merchant: str, balance: int) -> int | None:
        account = accounts.get(merchant)
        if account is None:
            return None
        amounts = payout_amounts(balance, bearer, bands,
                                 bank_relation(payer_bank, payer_branch, account.bank_code, account.branch_code))
        return None if amounts is None else amounts[1]
    return fee


def format_costs(municipality_code: str, costs: Sequence[PolicyCost]) -> str:
    if not costs:
        return f"{municipality_code}: no payable settlement history yet; nothing to compare"
    header = (f"{municipality_code}: transfer fees for a year, scaled from {costs[0].days_seen} days of history "
              f"(× 365 / {costs[0].days_seen}); * = current settings")
    rows = [("", "cycle", "min_payout_yen", "transfers/year", "fees_yen/year", "avg_wait_days", "carried_end_yen")]
    for c in sorted(costs, key=lambda c: (not c.known, c.fees_per_year_yen, c.avg_wait_days)):
        known = (f"{c.transfers_per_year:,}", f"{c.fees_per_year_yen:,}", f"{c.avg_wait_days:.1f}") if c.known \
            else ("n/a", "n/a", "n/a")
        rows.append(("*" if c.policy.is_current else "", c.policy.label, f"{c.policy.min_payout_yen:,}", *known,
                     f"{c.carried_end_yen:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    unknown = sorted({c.policy.label for c in costs if not c.known})
    note = ([f"n/a: no {', '.join(unknown)} period ended in these {costs[0].days_seen} days, so its cost is not "
             f"known yet (not zero); compare again once the history holds one"] if unknown else [])
    return "\n".join([header, *lines, *note])
