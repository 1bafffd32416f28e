"""A small reference model of lots, FIFO, cancels, expiry and settlement periods — the oracle for property tests.

Written independently of dbt/models (it shares no code with the Python FIFO model and reads the rules from
FORMATS.md, not from the SQL): one timeline per resident where expiries are explicit timeline entries at
E 23:59:59 sorted together with the events, points held as a per-lot counter, and each use remembered as a
stack of (lot, points) so a cancel pops from the top. Settlement periods are computed by stepping through
calendar days rather than by formulas.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True, slots=True)
class Event:
    """One platform ledger event of one resident (amount in yen; program for lot events and adjusts)."""

    event_id: str
    ts: datetime
    kind: str                    # grant, charge, adjust, use, cancel
    amount: int
    program: str | None = None
    cancel_of: str | None = None
    merchant: str | None = None


@dataclass
class RefLot:
    lot_id: str
    program: str
    funding: str
    expiry: date | None
    ts: datetime
    amount: int
    consumed: int = 0
    restored: int = 0
    expired: int = 0
    gone: bool = False           # its expiry has passed

    @property
    def remaining(self) -> int:
        return self.amount - self.consumed + self.restored - self.expired


@dataclass
class RefResult:
    lots: dict[str, RefLot] = field(default_factory=dict)
    # (use or cancel event_id) -> net points it moved to the merchant per funding (cancel negative)
    settled: dict[str, dict[str, int]] = field(default_factory=dict)


def expiry_date(rule: str, granted: date) -> date | None:
    if rule == "none":
        return None
    name, number = rule.split(":")
    if name == "days":
        return granted + timedelta(days=int(number))
    fiscal_year = granted.year if granted.month >= 4 else granted.year - 1
    return date(fiscal_year + int(number) + 1, 3, 31)


def replay(events: list[Event], programs: dict[str, tuple[str, str]], until: date) -> RefResult:
    """Replay one resident's events; programs: code -> (funding, expiry rule)."""
    result = RefResult()
    stacks: dict[str, list[list]] = {}
    holding: dict[str, int] = {}    # use event_id -> what it still holds after the cancels so far
    timeline: list[tuple[datetime, int, str, object]] = [(e.ts, 0, e.event_id, e) for e in events]
    timeline.sort(key=lambda item: (item[0], item[1], item[2]))
    pending = list(timeline)
    while pending:
        ts, _, _, event = pending.pop(0)
        if isinstance(event, RefLot):
            event.expired += event.remaining
            event.gone = True
            continue
        if event.ts.date() > until:
            break
        if event.kind in ("grant", "charge") or (event.kind == "adjust" and event.amount > 0):
            funding, rule = programs[event.program]
            lot = RefLot(event.event_id, event.program, funding, expiry_date(rule, event.ts.date()), event.ts,
                         event.amount)
            result.lots[lot.lot_id] = lot
            if lot.expiry is not None and lot.expiry <= until:
                pending.append((datetime.combine(lot.expiry, END_OF_DAY), 1, lot.lot_id, lot))
                pending.sort(key=lambda item: (item[0], item[1], item[2]))
        elif event.kind in ("use", "adjust"):
            _take(result, stacks, event)
            if event.kind == "use":
                holding[event.event_id] = event.amount
        elif event.kind == "cancel":
            _give_back(result, stacks, holding, event)
    return result


def _take(result: RefResult, stacks: dict[str, list[list]], event: Event) -> None:
    wanted = abs(event.amount)
    candidates = [lot for lot in result.lots.values() if not lot.gone and lot.remaining > 0
                  and (event.kind == "use" or lot.program == event.program)]
    candidates.sort(key=lambda lot: (lot.expiry is None, lot.expiry or date.max, lot.ts, lot.lot_id))
    stack = stacks.setdefault(event.event_id, [])
    moved: dict[str, int] = defaultdict(int)
    for lot in candidates:
        points = min(wanted, lot.remaining)
        if points <= 0:
            break
        lot.consumed += points
        wanted -= points
        stack.append([lot.lot_id, points])
        moved[lot.funding] += points
    moved["unallocated"] += wanted
    if event.kind == "use":
        result.settled[event.event_id] = dict(moved)


def _give_back(result: RefResult, stacks: dict[str, list[list]], holding: dict[str, int], event: Event) -> None:
    # FORMATS.md "Cancels in settlement": at most what the use still holds (nothing before the use happened);
    # the excess moves nothing
    wanted = min(event.amount, holding.get(event.cancel_of, 0))
    if event.cancel_of in holding:
        holding[event.cancel_of] -= wanted
    moved: dict[str, int] = defaultdict(int)
    stack = stacks.get(event.cancel_of, [])
    position = len(stack) - 1
    while wanted > 0 and position >= 0:
        lot_id, held = stack[position]
        points = min(held, wanted)
        stack[position][1] -= points
        wanted -= points
        lot = result.lots[lot_id]
        lot.restored += points
        if lot.gone:
            lot.expired += points   # lapses at once
        moved[lot.funding] -= points
        position -= 1
    moved["unallocated"] -= wanted
    result.settled[event.event_id] = dict(moved)


def balances(result: RefResult) -> dict[str, int]:
    """programme -> points left, from the lots."""
    totals: dict[str, int] = defaultdict(int)
    for lot in result.lots.values():
        totals[lot.program] += lot.remaining
    return dict(totals)


def settlement_period(cycle: str, day_setting: str | None, day: date) -> tuple[date, date]:
    """(start, end) of the settlement period holding `day`, by walking the calendar."""
    def closes(candidate: date) -> bool:
        if cycle == "daily":
            return True
        if cycle == "weekly":
            return candidate.isoweekday() == int(day_setting)
        if day_setting == "end":
            return candidate.day == calendar.monthrange(candidate.year, candidate.month)[1]
        return candidate.day == int(day_setting)

    end = day
    while not closes(end):
        end += timedelta(days=1)
    start = day
    while not closes(start - timedelta(days=1)):
        start -= timedelta(days=1)
    return start, end
