"""The release gate: per business date (run date) and municipality, may its money move — `open` or `blocked`,
with every reason (contracts.reasons.GateReason) and the numbers behind it, in `recon.gate`.

A municipality is blocked by any of (docs/reconciliation.md, "The release gate"):
- open breaks (recon.breaks status 'open', data dated on or before the run date) whose summed amount at risk is
  above the materiality threshold (exactly at the threshold is open); each break code is listed with its count
  and amount. A break that names no municipality counts for every municipality: nobody can tell whose money it
  is, so nobody's may move on it;
- a failed error-severity data-quality check of the run date (recon.check_results), global or its own;
- an expected source of the run date that did not arrive (recon.source_freshness), global or its own;
- unresolved holds: settlement items of periods ended on or before the run date that are not payable because
  they are held (marts.fct_settlement_items, settlement_status held_*) and hold money (amount_yen > 0), unless
  an officer explained them: a use at an undesignated or inactive merchant is never paid, and once an officer has
  resolved every such control break of the municipality in the item's period, its hold stops blocking
  (HOLDS_EXPLAINED_BY).

Every municipality in force in the masters on the run date gets a row (no reason: open), as does any other
municipality code a blocking fact names (a code no master knows yet is blocked, never silently skipped).
The whole decision is a few set-based queries; Python only assembles one row per municipality. A rerun of the
same run date replaces its rows (delete + insert in one transaction): the same inputs and `now` give the same
rows. Payments ask `is_open` and pay nothing of a municipality without an open row for the run date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

from contracts.reasons import BreakCode, GateReason

GATE_OPEN = "open"
GATE_BLOCKED = "blocked"

GATE_DDL = """
create schema if not exists recon;
create table if not exists recon.gate (
    run_date date not null,
    municipality_code varchar not null,
    status varchar not null,
    reasons varchar not null,
    open_breaks bigint not null,
    open_break_amount_yen bigint not null,
    failed_checks bigint not null,
    missing_sources bigint not null,
    held_amount_yen bigint not null,
    materiality_yen bigint not null,
    decided_at timestamp not null,
    primary key (run_date, municipality_code)
)
"""

# The tables the gate reads, and the step that writes each (named in the error when one is missing).
INPUT_TABLES = {
    ("recon", "breaks"): "reconcile (reconciliation.breaks.sync_breaks)",
    ("recon", "check_results"): "quality (reconciliation.quality.run_checkpoint)",
    ("recon", "source_freshness"): "quality (reconciliation.quality.run_checkpoint)",
    ("marts", "fct_settlement_items"): "build_marts (dbt)",
    ("marts", "dim_municipalities"): "build_marts (dbt)",
}


class GateInputMissing(RuntimeError):
    """A table the gate reads does not exist: the step that writes it has not run. Deciding without it would
    open a gate on missing evidence, so the gate refuses and says which step to run."""


@dataclass(frozen=True, slots=True)
class ReasonItem:
    """One thing behind a reason: a break code, a check (suite.expectation on target), a source (source/kind)
    or a hold status; how many, and the yen involved (None where a count has no amount)."""

    name: str
    count: int
    amount_yen: int | None


@dataclass(frozen=True, slots=True)
class GateReasonEntry:
    """One reason a gate is blocked: its code, a one-line detail (English, for logs and `seisan sql`), the yen
    involved (None for checks and sources) and the items behind it (for the report, in either language)."""

    code: GateReason
    detail: str
    amount_yen: int | None
    items: tuple[ReasonItem, ...]

    def as_json(self) -> dict[str, object]:
        return {"code": str(self.code), "detail": self.detail, "amount_yen": self.amount_yen,
                "count": sum(i.count for i in self.items),
                "items": [{"name": i.name, "count": i.count, "amount_yen": i.amount_yen} for i in self.items]}


@dataclass(frozen=True, slots=True)
class GateDecision:
    """One row of recon.gate."""

    run_date: dt.date
    municipality_code: str
    status: str
    reasons: tuple[GateReasonEntry, ...]
    open_breaks: int
    open_break_amount_yen: int
    failed_checks: int
    missing_sources: int
    held_amount_yen: int
    materiality_yen: int
    decided_at: dt.datetime

    @property
    def is_open(self) -> bool:
        return self.status == GATE_OPEN

    def reasons_json(self) -> str:
        return json.dumps([r.as_json() for r in self.reasons], ensure_ascii=False, sort_keys=True)


# Each query returns (municipality_code or NULL for "every municipality", item name, count, amount_yen).
_OPEN_BREAKS = """
select municipality_code, break_code, count(*), sum(amount_at_risk_yen)::bigint
from recon.breaks
where status = 'open' and business_date <= $run_date
group by all
"""
_FAILED_CHECKS = """
select municipality_code, suite || '.' || expectation || ' on ' || target, count(*), null
from recon.check_results
where run_date = $run_date and severity = 'error' and not success
group by all
"""
_MISSING_SOURCES = """
select municipality_code, source || '/' || kind, count(*), null
from recon.source_freshness
where run_date = $run_date and expected and not coalesce(arrived, false)
group by all
"""
# A hold an officer may explain, and the control break that explains it: a use at an undesignated or inactive
# merchant stays unpaid (held) for good, so once the officer has resolved every such break of the municipality in
# the item's period (not 'auto': that only means the finding vanished), the hold no longer blocks. Holds of
# unknown references have no such break: they block until a master snapshot names the reference and lifts them.
HOLDS_EXPLAINED_BY: dict[str, BreakCode] = {
    "held_undesignated": BreakCode.USE_AT_UNDESIGNATED_MERCHANT,
    "held_inactive_merchant": BreakCode.USE_AT_INACTIVE_MERCHANT,
}
_HOLDS = """
with held as (
    select municipality_code, settlement_status, period_start_date, period_end_date, amount_yen
    from marts.fct_settlement_items
    where starts_with(settlement_status, 'held_') and period_end_date <= $run_date and amount_yen > 0
),
explaining as (
    select * from (values {explaining}) as t (settlement_status, break_code)
),
explained as (
    select held.municipality_code, held.settlement_status, held.period_start_date, held.period_end_date
    from held
    join explaining using (settlement_status)
    join recon.breaks as b
        on b.break_code = explaining.break_code and b.municipality_code = held.municipality_code
        and b.business_date between held.period_start_date and held.period_end_date
    group by all
    having bool_and(b.status = 'resolved' and coalesce(b.resolution, 'auto') <> 'auto')
)
select municipality_code, settlement_status, count(*), sum(amount_yen)::bigint
from held
anti join explained using (municipality_code, settlement_status, period_start_date, period_end_date)
group by all
""".format(explaining=", ".join(f"('{status}', '{code}')" for status, code in HOLDS_EXPLAINED_BY.items()))
_IN_FORCE = """
select distinct municipality_code from marts.dim_municipalities
where valid_from <= $run_date and (valid_to is null or valid_to >= $run_date)
"""

Items = dict[str | None, list[ReasonItem]]


def _require_inputs(con) -> None:
    present = set(con.execute("select table_schema, table_name from information_schema.tables").fetchall())
    missing = [f"{schema}.{table} (written by {step})" for (schema, table), step in INPUT_TABLES.items()
               if (schema, table) not in present]
    if missing:
        raise GateInputMissing("the gate cannot decide without " + ", ".join(missing) + "; run those steps first")


def _items(con, query: str, run_date: dt.date) -> Items:
    found: Items = defaultdict(list)
    for municipality, name, count, amount in con.execute(query, {"run_date": run_date}).fetchall():
        found[municipality].append(ReasonItem(str(name), int(count), None if amount is None else int(amount)))
    return found


def _for(items: Items, municipality: str) -> tuple[ReasonItem, ...]:
    """A municipality's items plus those that name no municipality (they concern every one), merged by name."""
    merged: dict[str, ReasonItem] = {}
    for item in items.get(municipality, []) + items.get(None, []):
        if item.name in merged:
            before = merged[item.name]
            amount = None if item.amount_yen is None else (before.amount_yen or 0) + item.amount_yen
            item = ReasonItem(item.name, before.count + item.count, amount)
        merged[item.name] = item
    return tuple(sorted(merged.values(), key=lambda i: i.name))


def _yen(value: int) -> str:
    return f"¥{value:,}"


def _listing(items: tuple[ReasonItem, ...]) -> str:
    return ", ".join(f"{i.name} {i.count}" + ("" if i.amount_yen is None else f" ({_yen(i.amount_yen)})")
                     for i in items)


def _count(items: tuple[ReasonItem, ...]) -> int:
    return sum(i.count for i in items)


def _amount(items: tuple[ReasonItem, ...]) -> int:
    return sum(i.amount_yen or 0 for i in items)


def _reasons(breaks: tuple[ReasonItem, ...], checks: tuple[ReasonItem, ...], sources: tuple[ReasonItem, ...],
             holds: tuple[ReasonItem, ...], materiality_yen: int) -> tuple[GateReasonEntry, ...]:
    """The reasons, in GateReason's order; a kind of fact with nothing behind it gives no reason."""
    reasons = []
    if _amount(breaks) > materiality_yen:
        reasons.append(GateReasonEntry(
            GateReason.OPEN_BREAKS_OVER_MATERIALITY,
            f"{_count(breaks)} open breaks, {_yen(_amount(breaks))} at risk > materiality {_yen(materiality_yen)}: "
            + _listing(breaks), _amount(breaks), breaks))
    if checks:
        reasons.append(GateReasonEntry(GateReason.FAILED_EXPECTATION,
                                       f"{_count(checks)} failed error-severity checks: " + _listing(checks),
                                       None, checks))
    if sources:
        reasons.append(GateReasonEntry(GateReason.MISSING_SOURCE,
                                       f"{_count(sources)} expected files not arrived: " + _listing(sources),
                                       None, sources))
    if holds:
        reasons.append(GateReasonEntry(
            GateReason.UNRESOLVED_HOLD,
            f"{_count(holds)} held settlement items, {_yen(_amount(holds))} not payable: " + _listing(holds),
            _amount(holds), holds))
    return tuple(reasons)


def _decide(run_date: dt.date, municipality: str, facts: dict[str, Items], materiality_yen: int,
            now: dt.datetime) -> GateDecision:
    breaks, checks, sources, holds = (_for(facts[kind], municipality)
                                      for kind in ("breaks", "checks", "sources", "holds"))
    reasons = _reasons(breaks, checks, sources, holds, materiality_yen)
    return GateDecision(run_date, municipality, GATE_BLOCKED if reasons else GATE_OPEN, reasons,
                        open_breaks=_count(breaks), open_break_amount_yen=_amount(breaks),
                        failed_checks=_count(checks), missing_sources=_count(sources),
                        held_amount_yen=_amount(holds), materiality_yen=materiality_yen, decided_at=now)


def _utc_naive(now: dt.datetime) -> dt.datetime:
    """decided_at is stored as a UTC TIMESTAMP; an aware `now` is converted, a naive one is taken as UTC."""
    return now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now


def decide_gates(con, run_date: dt.date, *, materiality_yen: int, now: dt.datetime) -> list[GateDecision]:
    """Decide every municipality's gate for `run_date`, replace the run date's rows of recon.gate, and return
    the decisions (sorted by municipality code)."""
    if not isinstance(materiality_yen, int) or isinstance(materiality_yen, bool) or materiality_yen < 0:
        raise ValueError(f"materiality_yen must be a whole number of yen, 0 or more, got {materiality_yen!r}")
    _require_inputs(con)
    facts = {"breaks": _items(con, _OPEN_BREAKS, run_date), "checks": _items(con, _FAILED_CHECKS, run_date),
             "sources": _items(con, _MISSING_SOURCES, run_date), "holds": _items(con, _HOLDS, run_date)}
    known = {row[0] for row in con.execute(_IN_FORCE, {"run_date": run_date}).fetchall()}
    named = {code for items in facts.values() for code in items if code is not None}
    decided_at = _utc_naive(now)
    decisions = [_decide(run_date, code, facts, materiality_yen, decided_at) for code in sorted(known | named)]
    _store(con, run_date, decisions)
    return decisions


def _store(con, run_date: dt.date, decisions: list[GateDecision]) -> None:
    con.execute(GATE_DDL)
    rows = [(d.run_date, d.municipality_code, d.status, d.reasons_json(), d.open_breaks, d.open_break_amount_yen,
             d.failed_checks, d.missing_sources, d.held_amount_yen, d.materiality_yen, d.decided_at)
            for d in decisions]
    con.execute("begin transaction")
    try:
        con.execute("delete from recon.gate where run_date = ?", [run_date])
        if rows:
            con.executemany("insert into recon.gate values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def is_open(con, run_date: dt.date, municipality_code: str) -> bool:
    """True only when the gate of `municipality_code` for `run_date` was decided and is open. No row (not
    decided, unknown municipality, no gate table yet) is closed: payments never pay on a missing decision."""
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'recon' and table_name = 'gate'").fetchone()[0]
    if not exists:
        return False
    row = con.execute("select status from recon.gate where run_date = ? and municipality_code = ?",
                      [run_date, municipality_code]).fetchone()
    return row is not None and row[0] == GATE_OPEN
