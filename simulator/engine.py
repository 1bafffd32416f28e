"""The simulated platform's point engine: lots, FIFO use, cancel restore, expiry and balances.

This is how the simulated 自治体ポイント管理クラウド moves points, exactly as FORMATS.md "How the platform moves
points" describes it (seisan recomputes the same and reconciles the difference):

- a lot is one `grant`, `charge` or positive `adjust`; its expiry comes from the programme's rule
  (`expiry_date`);
- a `use` consumes the resident's unexpired lots of that municipality in order of expiry date (lots without
  expiry last), then event time, then `event_id`; one use may span several lots;
- a `cancel` gives points back to the lots its use consumed, last-consumed first;
- at the end of day D every lot with expiry date <= D that still holds points lapses (one `expire` per lot
  and day, at D 23:59:59 JST): that covers the normal expiry on E = D and points a cancel gave back to a lot
  that had already expired (they lapse at 23:59:59 of the cancel's date);
- a negative `adjust` takes from that programme's unexpired lots in the same order.

Balances (balances_D.csv): the platform pools points per municipality, but reports them per programme by
the programmes of the lots that hold them. A (municipality, programme, resident) row is written while the
resident holds at least one unexpired lot of that programme (expiry after D, or none), even when those lots
are spent down to zero; once every lot of the programme has expired the row disappears.

Pure bookkeeping: no files, no randomness, no clock. It never decides whether an event *should* happen
(caps, designations): the world generator does, and faults may make it do otherwise on purpose.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contracts.jst import JST

END_OF_DAY = dt.time(23, 59, 59)


class EngineError(ValueError):
    """An event the engine cannot apply (not enough points, unknown use, cancel over the use)."""


def fiscal_year(day: dt.date) -> int:
    """The Japanese fiscal year (1 April .. 31 March) that `day` falls in, named by its starting year."""
    return day.year if day.month >= 4 else day.year - 1


def expiry_date(rule: str, grant_day: dt.date) -> dt.date | None:
    """The last day a lot granted on `grant_day` can be spent: `days:N` -> grant day + N days;
    `fiscal_year_end:K` -> 31 March ending fiscal year (grant's fiscal year + K); `none` -> None."""
    if rule == "none":
        return None
    kind, _, number = rule.partition(":")
    if kind == "days":
        return grant_day + dt.timedelta(days=int(number))
    if kind == "fiscal_year_end":
        return dt.date(fiscal_year(grant_day) + int(number) + 1, 3, 31)
    raise ValueError(f"unknown expiry rule {rule!r}")


@dataclass(slots=True)
class Lot:
    """One lot: event_id of the grant/charge/adjust that made it, where it belongs, its expiry (None = never),
    the event time, the amount granted and what remains."""

    event_id: str
    municipality_code: str
    mykey_id: str
    program_code: str
    expiry: dt.date | None
    event_ts: dt.datetime
    amount: int
    remaining: int

    def order_key(self) -> tuple[bool, dt.date, dt.datetime, str]:
        return (self.expiry is None, self.expiry or dt.date.max, self.event_ts, self.event_id)

    def usable_on(self, day: dt.date) -> bool:
        return self.expiry is None or self.expiry >= day


@dataclass(slots=True)
class _Use:
    municipality_code: str
    mykey_id: str
    amount: int
    cancelled: int = 0
    # [lot, consumed, restored] in consumption order
    parts: list[list] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Expiry:
    """Points that lapse at the end of `day`: one per lot and day."""

    lot_event_id: str
    municipality_code: str
    mykey_id: str
    program_code: str
    amount: int
    day: dt.date

    @property
    def event_ts(self) -> dt.datetime:
        return dt.datetime.combine(self.day, END_OF_DAY, JST)


@dataclass(frozen=True, slots=True)
class Balance:
    """End-of-day balance of one (municipality, programme, resident)."""

    municipality_code: str
    program_code: str
    mykey_id: str
    balance: int


class BalanceSnapshot:
    """A day's end-of-day balances in `balances` order, held as columns: a (municipality, programme) index, the
    resident's MyKey ID (the string the lots already hold) and the amount, about 20 bytes a row. Every day's
    snapshot is held until its file is written; a 10-million-resident world's four days hold some 28 million
    balances, about 6.6 GB as the file's dicts (about 235 bytes a row) and 0.6 GB as columns. Iterating makes
    the `Balance`s one by one."""

    __slots__ = ("_amounts", "_holders", "_pair", "_pairs")

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._pair = array("I")
        self._holders: list[str] = []
        self._amounts = array("q")

    def extend(self, municipality_code: str, program_code: str, holders: list[str], amounts: list[int]) -> None:
        """Append one (municipality, programme)'s residents and balances (the caller keeps the order)."""
        self._pair.extend([len(self._pairs)] * len(holders))
        self._pairs.append((municipality_code, program_code))
        self._holders.extend(holders)
        self._amounts.extend(amounts)

    def __len__(self) -> int:
        return len(self._amounts)

    def __iter__(self) -> Iterator[Balance]:
        pairs = self._pairs
        for pair, mykey_id, amount in zip(self._pair, self._holders, self._amounts, strict=True):
            municipality_code, program_code = pairs[pair]
            yield Balance(municipality_code, program_code, mykey_id, amount)


class PointEngine:
    """The platform's lots and uses. Apply events in time order; call `end_of_day` after each day."""

    def __init__(self, expiry_rules: dict[str, str], caps: dict[str, int | None] | None = None) -> None:
        self._expiry_rules = dict(expiry_rules)
        self._caps = dict(caps or {})
        self._lots: dict[tuple[str, str], list[Lot]] = {}
        self._uses: dict[str, _Use] = {}
        self._granted: dict[tuple[str, str, int], int] = {}

    # --- questions -----------------------------------------------------------------------------------------
    def lots(self, municipality_code: str, mykey_id: str) -> list[Lot]:
        return self._lots.get((municipality_code, mykey_id), [])

    def available(self, municipality_code: str, mykey_id: str, day: dt.date,
                  program_code: str | None = None) -> int:
        """Points the resident can spend in the municipality on `day` (of one programme if given)."""
        return sum(lot.remaining for lot in self.lots(municipality_code, mykey_id)
                   if lot.usable_on(day) and (program_code is None or lot.program_code == program_code))

    def granted_in_fiscal_year(self, program_code: str, mykey_id: str, day: dt.date) -> int:
        return self._granted.get((program_code, mykey_id, fiscal_year(day)), 0)

    def cap_room(self, program_code: str, mykey_id: str, day: dt.date) -> int | None:
        """How much more may be granted under the programme's annual cap in `day`'s fiscal year (None: no cap)."""
        cap = self._caps.get(program_code)
        if cap is None:
            return None
        return max(0, cap - self.granted_in_fiscal_year(program_code, mykey_id, day))

    def cancellable(self, use_event_id: str) -> int:
        use = self._uses[use_event_id]
        return use.amount - use.cancelled

    # --- events --------------------------------------------------------------------------------------------
    def add_lot(self, event_id: str, event_ts: dt.datetime, municipality_code: str, mykey_id: str,
                program_code: str, amount: int, *, is_grant: bool = False) -> Lot:
        """A grant, charge or positive adjust: a new lot. Grants count towards the programme's annual cap."""
        if amount <= 0:
            raise EngineError("a lot holds a positive amount")
        day = event_ts.astimezone(JST).date()
        lot = Lot(event_id, municipality_code, mykey_id, program_code,
                  expiry_date(self._expiry_rules[program_code], day), event_ts, amount, amount)
        self._lots.setdefault((municipality_code, mykey_id), []).append(lot)
        if is_grant:
            key = (program_code, mykey_id, fiscal_year(day))
            self._granted[key] = self._granted.get(key, 0) + amount
        return lot

    def _consume(self, lots: Iterable[Lot], amount: int, day: dt.date) -> list[tuple[Lot, int]]:
        ordered = sorted((lot for lot in lots if lot.remaining > 0 and lot.usable_on(day)),
                         key=Lot.order_key)
        if sum(lot.remaining for lot in ordered) < amount:
            raise EngineError(f"not enough points for {amount}")
        taken: list[tuple[Lot, int]] = []
        left = amount
        for lot in ordered:
            if left == 0:
                break
            part = min(left, lot.remaining)
            lot.remaining -= part
            left -= part
            taken.append((lot, part))
        return taken

    def use(self, event_id: str, event_ts: dt.datetime, municipality_code: str, mykey_id: str,
            amount: int) -> list[tuple[str, int]]:
        """Spend `amount` FIFO; returns (lot event_id, points) in consumption order."""
        if amount <= 0:
            raise EngineError("a use spends a positive amount")
        day = event_ts.astimezone(JST).date()
        taken = self._consume(self.lots(municipality_code, mykey_id), amount, day)
        self._uses[event_id] = _Use(municipality_code, mykey_id, amount,
                                    parts=[[lot, part, 0] for lot, part in taken])
        return [(lot.event_id, part) for lot, part in taken]

    def cancel(self, use_event_id: str, amount: int) -> list[tuple[str, int]]:
        """Give `amount` of a use back, last-consumed lot first; returns (lot event_id, points) restored."""
        use = self._uses.get(use_event_id)
        if use is None:
            raise EngineError(f"unknown use {use_event_id}")
        if amount <= 0 or amount > use.amount - use.cancelled:
            raise EngineError(f"cancel of {amount} exceeds what is left of use {use_event_id}")
        restored: list[tuple[str, int]] = []
        left = amount
        for part in reversed(use.parts):
            if left == 0:
                break
            lot, consumed, back = part
            give = min(left, consumed - back)
            if give <= 0:
                continue
            part[2] += give
            lot.remaining += give
            left -= give
            restored.append((lot.event_id, give))
        use.cancelled += amount
        return restored

    def take(self, event_ts: dt.datetime, municipality_code: str, mykey_id: str, program_code: str,
             amount: int) -> list[tuple[str, int]]:
        """A negative adjust of `amount` points from one programme's lots, in the usual order."""
        day = event_ts.astimezone(JST).date()
        lots = [lot for lot in self.lots(municipality_code, mykey_id) if lot.program_code == program_code]
        return [(lot.event_id, part) for lot, part in self._consume(lots, amount, day)]

    def end_of_day(self, day: dt.date) -> list[Expiry]:
        """Lapse every lot with expiry <= `day` that still holds points; sorted by lot event_id."""
        expiries: list[Expiry] = []
        for lots in self._lots.values():
            for lot in lots:
                if lot.remaining > 0 and lot.expiry is not None and lot.expiry <= day:
                    expiries.append(Expiry(lot.event_id, lot.municipality_code, lot.mykey_id,
                                           lot.program_code, lot.remaining, day))
                    lot.remaining = 0
        expiries.sort(key=lambda e: e.lot_event_id)
        return expiries

    def balances(self, day: dt.date) -> list[Balance]:
        """End-of-day balances per (municipality, programme, resident) holding an unexpired lot, sorted."""
        return list(self.balance_snapshot(day))

    def balance_snapshot(self, day: dt.date) -> BalanceSnapshot:
        """`balances(day)` as columns, made one municipality at a time (see BalanceSnapshot)."""
        residents_of: dict[str, list[str]] = {}
        for municipality_code, mykey_id in self._lots:
            residents_of.setdefault(municipality_code, []).append(mykey_id)
        snapshot = BalanceSnapshot()
        for municipality_code in sorted(residents_of):
            # per programme, its residents in order and their balances: (municipality, programme, resident) order
            of_program: dict[str, tuple[list[str], list[int]]] = {}
            for mykey_id in sorted(residents_of[municipality_code]):
                totals: dict[str, int] = {}
                for lot in self._lots[(municipality_code, mykey_id)]:
                    if lot.expiry is None or lot.expiry > day:
                        totals[lot.program_code] = totals.get(lot.program_code, 0) + lot.remaining
                for program_code, balance in totals.items():
                    holders, amounts = of_program.setdefault(program_code, ([], []))
                    holders.append(mykey_id)
                    amounts.append(balance)
            for program_code in sorted(of_program):
                snapshot.extend(municipality_code, program_code, *of_program[program_code])
        return snapshot
