"""The simulated platform's days: what residents do, and the events, terminal records and partner rows it
leaves behind.

`run_platform(world, fault_plan)` walks the business dates in order. Each day it plans the residents'
actions with a seeded generator (batch grants in the night, conversions, charges, uses at terminals, online
and at exchanges, cancels of earlier uses, rare manual adjusts), sorts them by time and applies them to the
`PointEngine`, so that every amount is decided against the balance the platform holds at that moment. At the
end of the day the engine lapses expired lots and reports balances. Terminal uses and cancels also become
`TerminalRecord`s (the terminal logs are written from them by simulator/terminals.py).

Reconciliation faults that change what the platform does (a grant over the annual cap, a use at an
undesignated or inactive merchant) are injected here, on days the fault plan picked; they are real events that
move points. This module never writes files and never reads the clock.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from simulator.engine import JST, Balance, BalanceSnapshot, PointEngine
from simulator.world import CONVERSION_KINDS, Resident, World, rng_for

BATCH_GRANT_SECONDS = 3 * 3600       # benefit/activity/health grants run at 03:00
ADJUST_SECONDS = 5 * 3600            # manual adjusts at 05:00
DAY_OPEN, DAY_CLOSE = 8 * 3600, 21 * 3600
CONVERSION_BATCH_SECONDS = 22 * 3600  # applied conversions become grants at 22:00
USE_AMOUNTS = (100, 200, 300, 500, 800, 1000, 1500, 2000, 3000)
ACQUIRER_FEE_PER_MILLE = 25          # 2.5 %, rounded down to the yen


@lru_cache(maxsize=1 << 18)
def jst(day: dt.date, seconds: int) -> dt.datetime:
    """The moment `seconds` after midnight JST of `day`: one shared object per moment (a datetime is immutable).
    A national world's 18 million events fall on some 50,000 moments a day: 48 bytes an event saved, about 0.8 GB,
    for about 150 bytes a moment cached. A small world pays more than it saves (20,000 residents: 694 bytes an
    event under tracemalloc, 613 without the cache)."""
    return dt.datetime.combine(day, dt.time(0), JST) + dt.timedelta(seconds=seconds)


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(JST).isoformat()


@dataclass(slots=True)
class LedgerEvent:
    """One row of platform/ledger_D.csv (mutable only so that a fault can change it before writing)."""

    event_id: str
    event_ts: dt.datetime
    municipality_code: str
    program_code: str
    mykey_id: str
    event_type: str
    amount: int
    channel: str
    merchant_id: str = ""
    terminal_id: str = ""
    auth_id: str = ""
    cancel_of: str = ""
    lot_event_id: str = ""
    partner_code: str = ""
    partner_txn_id: str = ""
    payment_ref: str = ""

    def row(self) -> dict[str, str]:
        return {
            "event_id": self.event_id, "event_ts": iso(self.event_ts), "municipality_code": self.municipality_code,
            "program_code": self.program_code, "mykey_id": self.mykey_id, "event_type": self.event_type,
            "amount": str(self.amount), "merchant_id": self.merchant_id, "terminal_id": self.terminal_id,
            "auth_id": self.auth_id, "cancel_of": self.cancel_of, "lot_event_id": self.lot_event_id,
            "channel": self.channel, "partner_code": self.partner_code, "partner_txn_id": self.partner_txn_id,
            "payment_ref": self.payment_ref,
        }


@dataclass(slots=True)
class TerminalRecord:
    """A use or cancel as the shop terminal logs it. key_index: the card key that signs it; forged: sign a
    different message so the card signature does not verify (an ingestion fault); dropped: never logged."""

    terminal_id: str
    ts: dt.datetime
    type: str
    merchant_id: str
    municipality_code: str
    mykey_id: str
    amount: int
    auth_id: str
    cancel_of: str
    card_cert_serial: str
    key_index: int
    event_id: str = ""          # the ledger event it mirrors ("" for a use the platform never recorded)
    forged: bool = False
    dropped: bool = False
    seq: int = 0


@dataclass(frozen=True, slots=True)
class CertEvent:
    """A row of platform/mykey_certs_D.csv, before its DER is issued (serial and validity are enough)."""

    resident: int
    mykey_id: str
    serial: int
    key_index: int
    event: str
    previous_serial: int | None
    event_ts: dt.datetime
    not_before: dt.date
    not_after: dt.date


def _balance_row(balance: Balance) -> dict[str, str]:
    return {"municipality_code": balance.municipality_code, "program_code": balance.program_code,
            "mykey_id": balance.mykey_id, "balance": str(balance.balance)}


class BalanceRows:
    """The rows of a day's platform/balances file, made from the engine's snapshot as they are read, so that a
    national world's balances stay compact until written. Reading a row by index (a fault picking the row it
    changes) makes them all once and keeps them: iterating afterwards gives those same rows, so the file holds
    the changed row and a fault entry can find its line."""

    __slots__ = ("_made", "_snapshot")

    def __init__(self, snapshot: BalanceSnapshot) -> None:
        self._snapshot = snapshot
        self._made: list[dict[str, str]] | None = None

    def __len__(self) -> int:
        return len(self._snapshot)

    def __getitem__(self, index: int) -> dict[str, str]:
        if self._made is None:
            self._made = [_balance_row(b) for b in self._snapshot]
        return self._made[index]

    def __iter__(self) -> Iterator[dict[str, str]]:
        if self._made is not None:
            return iter(self._made)
        return (_balance_row(b) for b in self._snapshot)


@dataclass(slots=True)
class PlatformOutput:
    """Everything the platform days produced, per business date."""

    ledger: dict[dt.date, list[LedgerEvent]] = field(default_factory=dict)
    balances: dict[dt.date, BalanceRows] = field(default_factory=dict)
    certs: dict[dt.date, list[CertEvent]] = field(default_factory=dict)
    conversions: dict[tuple[str, dt.date], list[dict[str, str]]] = field(default_factory=dict)
    sales: dict[tuple[str, dt.date], list[dict[str, str]]] = field(default_factory=dict)
    settlements: dict[tuple[str, dt.date], list[dict[str, str]]] = field(default_factory=dict)
    terminal_records: list[TerminalRecord] = field(default_factory=list)
    # money owed to municipalities: (partner, municipality, year, month) -> yen; (municipality, date) -> net
    partner_owed: dict[tuple[str, str, int, int], int] = field(default_factory=dict)
    acquirer_net: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    recon_faults: list[dict] = field(default_factory=list)


class CertBook:
    """Which certificate (serial, card key) each resident holds at a moment, and the certificate events."""

    def __init__(self, world: World) -> None:
        self.world = world
        rng = rng_for(world.seed, "certs")
        self.first_not_before = {r.index: world.start - dt.timedelta(days=rng.randint(30, 1500))
                                 for r in world.residents}

    def serial(self, resident: Resident, generation: int) -> int:
        return int(f"a{self.world.seed % 4096:03x}{resident.index:07x}{generation:x}", 16)

    def events(self, resident: Resident) -> list[CertEvent]:
        w = self.world
        first_nb = self.first_not_before[resident.index]
        five_years = dt.timedelta(days=5 * 365)
        join_ts = jst(w.date(resident.join_day), 0 if resident.join_day == 0 else 7 * 3600)
        events = [CertEvent(resident.index, resident.mykey_id, self.serial(resident, 0), resident.key_index,
                            "registered", None, join_ts, first_nb, first_nb + five_years)]
        if resident.reissue_day is not None:
            day = w.date(resident.reissue_day)
            events.append(CertEvent(resident.index, resident.mykey_id, self.serial(resident, 1),
                                    resident.new_key_index, "reissued", self.serial(resident, 0),
                                    jst(day, 7 * 3600 + 1800), day, day + five_years))
        if resident.revoke_day is not None:
            events.append(CertEvent(resident.index, resident.mykey_id, self.serial(resident, 0), resident.key_index,
                                    "revoked", None, jst(w.date(resident.revoke_day), 12 * 3600),
                                    first_nb, first_nb + five_years))
            if resident.rejoin_day is not None:
                day = w.date(resident.rejoin_day)
                events.append(CertEvent(resident.index, resident.mykey_id, self.serial(resident, 1),
                                        resident.new_key_index, "reissued", self.serial(resident, 0),
                                        jst(day, 7 * 3600 + 1800), day, day + five_years))
        return events

    def card_at(self, resident: Resident, ts: dt.datetime) -> tuple[str, int] | None:
        """(serial hex, key index) of the certificate valid at `ts`, or None (not registered, or revoked)."""
        current: tuple[str, int] | None = None
        for event in self.events(resident):
            if event.event_ts > ts:
                break
            current = None if event.event == "revoked" else (f"{event.serial:x}", event.key_index)
        return current


CONVERSION_GRANT_ORDER_BASE = 10**7  # after every planned action of the same second


@dataclass(slots=True)
class _Action:
    seconds: int
    order: int
    kind: str
    resident: Resident
    municipality_code: str
    params: dict


class PlatformDays:
    """The mutable state of the platform across the simulated days."""

    def __init__(self, world: World, fault_days: dict[str, set[int]],
                 progress: Callable[[str], None] | None = None) -> None:
        self.world = world
        self.engine = PointEngine({p.code: p.expiry for p in world.programs},
                                  {p.code: p.annual_cap for p in world.programs})
        self.out = PlatformOutput()
        self.certs = CertBook(world)
        self.fault_days = fault_days
        self.progress = progress
        self.counters: dict[str, int] = {}
        self._merchants_day: dt.date | None = None
        self._merchants_of: dict[tuple[str, str], list] = {}
        self.scheduled_cancels: dict[int, list[_Action]] = {}
        self.use_info: dict[str, TerminalRecord | dict] = {}
        self.bank_days = None

    # --- ids -------------------------------------------------------------------------------------------------
    def next_id(self, prefix: str, day: dt.date) -> str:
        key = f"{prefix}{day:%Y%m%d}"
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"{key}{self.counters[key]:06d}"

    # --- planning --------------------------------------------------------------------------------------------
    def plan_day(self, index: int, rng: random.Random) -> list[_Action]:
        actions: list[_Action] = []
        order = 0

        def add(seconds: int, action_kind: str, resident: Resident, code: str, **params) -> None:
            nonlocal order
            order += 1
            actions.append(_Action(seconds, order, action_kind, resident, code, params))

        sign_up, grants = self.world.mix.sign_up_points, self.world.mix.grants
        for r in self.world.residents:
            if r.join_day > index:
                continue
            if sign_up and r.join_day == index:
                add(BATCH_GRANT_SECONDS + rng.randrange(3600), "grant", r, r.municipalities[0], kind="health",
                    amount=rng.choice(sign_up))
            for code in r.municipalities:
                a = r.activity
                g = a * grants
                if r.age >= 65 and rng.random() < 0.2 * g:
                    add(BATCH_GRANT_SECONDS + rng.randrange(3600), "grant", r, code, kind="benefit", amount=500)
                if rng.random() < 0.06 * g:
                    add(BATCH_GRANT_SECONDS + rng.randrange(3600), "grant", r, code, kind="activity",
                        amount=rng.choice((100, 200, 300, 500)))
                if rng.random() < 0.05 * g:
                    add(BATCH_GRANT_SECONDS + rng.randrange(3600), "grant", r, code, kind="health",
                        amount=rng.choice((50, 100, 200)))
                if rng.random() < 0.03 * a:
                    add(rng.randrange(DAY_OPEN, 20 * 3600), "conversion", r, code,
                        partner=rng.choice([p for p in self.world.partners if p.kind in CONVERSION_KINDS]).code,
                        points=rng.choice((100, 300, 500, 1000, 2000)), cancelled=rng.random() < 0.05)
                if rng.random() < 0.02 * a:
                    add(rng.randrange(DAY_OPEN, 22 * 3600), "charge", r, code,
                        amount=rng.choice((1000, 2000, 3000, 5000, 10000)))
                for _ in range(2 if rng.random() < 0.1 else 1):
                    if rng.random() < 0.3 * a:
                        add(rng.randrange(DAY_OPEN, DAY_CLOSE), "use", r, code, roll=rng.random(),
                            pick=rng.random(), size=rng.choice(USE_AMOUNTS + (0,)))
                if rng.random() < 0.003:
                    add(ADJUST_SECONDS + rng.randrange(600), "adjust", r, code, sign=rng.choice((1, -1)),
                        amount=rng.choice((100, 200, 300)))
        for action in self.scheduled_cancels.pop(index, []):
            order += 1
            action.order = order
            actions.append(action)
        actions.sort(key=lambda a: (a.seconds, a.order))
        return actions

    # --- running ---------------------------------------------------------------------------------------------
    def run(self) -> PlatformOutput:
        for index in range(self.world.days):
            day = self.world.date(index)
            rng = rng_for(self.world.seed, f"day/{index}")
            self.today = day
            self.today_index = index
            self.ledger: list[LedgerEvent] = []
            self.terminals_today = self._eligible_terminals(day)
            self.forced = [kind for kind in ("use_at_undesignated_merchant", "use_at_inactive_merchant")
                           if index in self.fault_days.get(kind, set())]
            self.over_cap = index in self.fault_days.get("grant_over_annual_cap", set())
            self.out.certs[day] = sorted((e for r in self.world.residents for e in self.certs.events(r)
                                          if e.event_ts.date() == day), key=lambda e: (e.event_ts, e.serial))
            # Actions run in time order; an action may schedule a later one the same day (a conversion's grant
            # in the evening batch), so the day is a priority queue, not a list.
            self.queue = [(a.seconds, a.order, a) for a in self.plan_day(index, rng)]
            heapq.heapify(self.queue)
            while self.queue:
                action = heapq.heappop(self.queue)[2]
                getattr(self, f"_do_{action.kind}")(action, rng)
            for expiry in self.engine.end_of_day(day):
                self.ledger.append(LedgerEvent(self.next_id("E", day), expiry.event_ts, expiry.municipality_code,
                                               expiry.program_code, expiry.mykey_id, "expire", expiry.amount,
                                               "batch", lot_event_id=expiry.lot_event_id))
            self.out.ledger[day] = self.ledger
            self.out.balances[day] = BalanceRows(self.engine.balance_snapshot(day))
            if self.progress:
                self.progress(f"day {index + 1}/{self.world.days} ({day}): {len(self.ledger):,} ledger events")
        return self.out

    def _eligible_terminals(self, day: dt.date) -> dict[str, list[tuple[str, str]]]:
        """Per municipality: (terminal_id, merchant_id) where a use may happen on `day`."""
        w = self.world
        result: dict[str, list[tuple[str, str]]] = {m.code: [] for m in w.municipalities}
        for key in w.terminals:
            merchant = w.merchant(key.merchant_id)
            if not key.active_on(day) or merchant.status_on(day) != "active" or merchant.listed_from > day:
                continue
            for code in w.designating(merchant.merchant_id, day):
                if code in result:
                    result[code].append((key.terminal_id, key.merchant_id))
        return result

    def _merchants(self, code: str, channel: str) -> list:
        """The merchants of `channel` where residents of `code` may spend today (in the world's order)."""
        day = self.today
        if self._merchants_day != day:
            self._merchants_day, self._merchants_of = day, {}
            for m in self.world.merchants:
                if m.status_on(day) == "active" and m.listed_from <= day:
                    for designating in self.world.designating(m.merchant_id, day):
                        self._merchants_of.setdefault((designating, m.channel), []).append(m)
        return list(self._merchants_of.get((code, channel), ()))

    # --- actions ---------------------------------------------------------------------------------------------
    def _do_grant(self, action: _Action, rng: random.Random) -> None:
        program = self.world.programs_of(action.municipality_code)[action.params["kind"]]
        r = action.resident
        if program.min_age is not None and r.age < program.min_age:
            return
        ts = jst(self.today, action.seconds)
        amount = action.params["amount"]
        room = self.engine.cap_room(program.code, r.mykey_id, self.today)
        fault = None
        if room is not None and self.over_cap and program.kind == "benefit":
            self.over_cap = False
            amount = room + amount  # one grant that takes the resident past the cap
            fault = {"kind": "grant_over_annual_cap", "cap": program.annual_cap, "room_before": room}
        elif room is not None and room < amount:
            amount = room
        if amount <= 0:
            return
        event = self._grant_event(ts, action.municipality_code, program.code, r, amount)
        if fault:
            self._recon(fault["kind"], event.event_id, self.today, program_code=program.code,
                        amount=amount, annual_cap=fault["cap"], room_before=fault["room_before"])

    def _grant_event(self, ts: dt.datetime, code: str, program_code: str, r: Resident, amount: int,
                     **extra: str) -> LedgerEvent:
        event = LedgerEvent(self.next_id("E", self.today), ts, code, program_code, r.mykey_id, "grant", amount,
                            "batch", **extra)
        self.engine.add_lot(event.event_id, ts, code, r.mykey_id, program_code, amount, is_grant=True)
        self.ledger.append(event)
        return event

    def _do_conversion(self, action: _Action, rng: random.Random) -> None:
        partner = self.world.partner(action.params["partner"])
        r, code = action.resident, action.municipality_code
        points = action.params["points"]
        txn_id = f"{partner.code}-{self.next_id('C', self.today)}"
        txn_ts = jst(self.today, action.seconds)
        status = "cancelled" if action.params["cancelled"] else "applied"
        self.out.conversions.setdefault((partner.code, self.today), []).append({
            "partner_txn_id": txn_id, "txn_ts": iso(txn_ts), "mykey_id": r.mykey_id, "municipality_code": code,
            "partner_points": str(points * partner.points_per_yen), "municipal_points": str(points),
            "amount_due_yen": str(points), "status": status})
        if status == "cancelled":
            return
        key = (partner.code, code, self.today.year, self.today.month)
        self.out.partner_owed[key] = self.out.partner_owed.get(key, 0) + points
        # The platform grants converted points in its evening batch: the lot exists from the grant's time only.
        seconds = CONVERSION_BATCH_SECONDS + min(3600, action.order % 3600)
        order = CONVERSION_GRANT_ORDER_BASE + action.order
        grant = _Action(seconds, order, "conversion_grant", r, code, {"points": points, "partner": partner.code,
                                                                      "txn_id": txn_id})
        heapq.heappush(self.queue, (seconds, order, grant))

    def _do_conversion_grant(self, action: _Action, rng: random.Random) -> None:
        program = self.world.programs_of(action.municipality_code)["conversion"]
        self._grant_event(jst(self.today, action.seconds), action.municipality_code, program.code,
                          action.resident, action.params["points"], partner_code=action.params["partner"],
                          partner_txn_id=action.params["txn_id"])

    def _do_charge(self, action: _Action, rng: random.Random) -> None:
        r, code = action.resident, action.municipality_code
        program = self.world.programs_of(code)["prepaid"]
        acquirer = next(p for p in self.world.partners if p.kind == "acquirer")
        ts = jst(self.today, action.seconds)
        amount = action.params["amount"]
        ref = self.next_id("PAY", self.today)
        event = LedgerEvent(self.next_id("E", self.today), ts, code, program.code, r.mykey_id, "charge", amount,
                            "online", partner_code=acquirer.code, payment_ref=ref)
        self.engine.add_lot(event.event_id, ts, code, r.mykey_id, program.code, amount)
        self.ledger.append(event)
        fee = amount * ACQUIRER_FEE_PER_MILLE // 1000
        deposit = self.bank_day_after(self.today, 2)
        self.out.settlements.setdefault((acquirer.code, self.today), []).append({
            "payment_ref": ref, "charged_at": iso(ts), "municipality_code": code, "amount": str(amount),
            "fee": str(fee), "net": str(amount - fee), "deposit_date": deposit.isoformat()})
        self.out.acquirer_net[(code, deposit)] = self.out.acquirer_net.get((code, deposit), 0) + amount - fee

    def bank_day_after(self, day: dt.date, count: int) -> dt.date:
        from simulator.calendar import add_bank_days

        return add_bank_days(day, count)

    def _do_adjust(self, action: _Action, rng: random.Random) -> None:
        r, code = action.resident, action.municipality_code
        ts = jst(self.today, action.seconds)
        programs = self.world.programs_of(code)
        amount = action.params["amount"]
        if action.params["sign"] > 0:
            program = programs[rng.choice(("activity", "health"))]
            event = LedgerEvent(self.next_id("E", self.today), ts, code, program.code, r.mykey_id, "adjust",
                                amount, "batch")
            self.engine.add_lot(event.event_id, ts, code, r.mykey_id, program.code, amount)
        else:
            held = [p for p in programs.values()
                    if self.engine.available(code, r.mykey_id, self.today, p.code) > 0]
            if not held:
                return
            program = held[0]
            amount = min(amount, self.engine.available(code, r.mykey_id, self.today, program.code))
            event = LedgerEvent(self.next_id("E", self.today), ts, code, program.code, r.mykey_id, "adjust",
                                -amount, "batch")
            self.engine.take(ts, code, r.mykey_id, program.code, amount)
        self.ledger.append(event)

    def _do_use(self, action: _Action, rng: random.Random) -> None:
        r, code = action.resident, action.municipality_code
        ts = jst(self.today, action.seconds)
        available = self.engine.available(code, r.mykey_id, self.today)
        if available <= 0:
            return
        size = action.params["size"] or available
        amount = min(available, size)
        roll = action.params["roll"]
        if roll < 0.75:
            self._terminal_use(action, ts, amount, rng)
        elif roll < 0.9:
            self._online_use(action, ts, amount, rng)
        else:
            merchants = self._merchants(code, "exchange")
            if merchants:
                merchant = merchants[int(action.params["pick"] * len(merchants))]
                self._use_event(ts, r, code, amount, "exchange", merchant.merchant_id)

    def _use_event(self, ts: dt.datetime, r: Resident, code: str, amount: int, channel: str, merchant_id: str,
                   **extra: str) -> LedgerEvent:
        event = LedgerEvent(self.next_id("E", self.today), ts, code, "", r.mykey_id, "use", amount, channel,
                            merchant_id=merchant_id, **extra)
        self.engine.use(event.event_id, ts, code, r.mykey_id, amount)
        self.ledger.append(event)
        return event

    def _forced_terminal(self, code: str) -> tuple[str, tuple[str, str]] | None:
        """A terminal for a planned control-break use today: undesignated or inactive merchant."""
        w, day = self.world, self.today
        while self.forced:
            kind = self.forced.pop(0)
            for key in w.terminals:
                merchant = w.merchant(key.merchant_id)
                if not key.active_on(day) or merchant.listed_from > day:
                    continue
                if kind == "use_at_undesignated_merchant" and merchant.status_on(day) == "active" \
                        and not w.designated(code, merchant.merchant_id, day):
                    return kind, (key.terminal_id, key.merchant_id)
                if kind == "use_at_inactive_merchant" and merchant.status_on(day) != "active" \
                        and w.designated(code, merchant.merchant_id, day):
                    return kind, (key.terminal_id, key.merchant_id)
        return None

    def _terminal_use(self, action: _Action, ts: dt.datetime, amount: int, rng: random.Random) -> None:
        r, code = action.resident, action.municipality_code
        card = self.certs.card_at(r, ts)
        if card is None:
            return
        forced = self._forced_terminal(code) if self.forced else None
        if forced:
            terminal_id, merchant_id = forced[1]
        else:
            choices = self.terminals_today[code]
            if not choices:
                return
            terminal_id, merchant_id = choices[int(action.params["pick"] * len(choices))]
        auth = self.next_id("A", self.today)
        event = self._use_event(ts, r, code, amount, "terminal", merchant_id, terminal_id=terminal_id,
                                auth_id=auth)
        record = TerminalRecord(terminal_id, ts, "use", merchant_id, code, r.mykey_id, amount, auth, "",
                                card[0], card[1], event.event_id)
        self.out.terminal_records.append(record)
        self.use_info[event.event_id] = record
        if forced:
            self._recon(forced[0], event.event_id, self.today, merchant_id=merchant_id, terminal_id=terminal_id,
                        auth_id=auth, municipality_code=code)
        if rng.random() < 0.05:
            partial = rng.random() < 0.5 and amount > 1
            self._schedule_cancel(action, event, rng.randint(1, amount - 1) if partial else amount, rng)

    def _online_use(self, action: _Action, ts: dt.datetime, amount: int, rng: random.Random) -> None:
        r, code = action.resident, action.municipality_code
        merchants = self._merchants(code, "online")
        if not merchants:
            return
        merchant = merchants[int(action.params["pick"] * len(merchants))]
        order_id = self.next_id("OD", self.today)
        event = self._use_event(ts, r, code, amount, "online", merchant.merchant_id,
                                partner_code=merchant.partner_code, partner_txn_id=order_id)
        self.out.sales.setdefault((merchant.partner_code, self.today), []).append({
            "order_id": order_id, "order_ts": iso(ts), "mykey_id": r.mykey_id, "municipality_code": code,
            "merchant_id": merchant.merchant_id, "points_used": str(amount), "status": "captured"})
        self.use_info[event.event_id] = {"partner_code": merchant.partner_code, "order_id": order_id}
        if rng.random() < 0.04:
            self._schedule_cancel(action, event, amount, rng)

    def _schedule_cancel(self, action: _Action, use: LedgerEvent, amount: int, rng: random.Random) -> None:
        delay = rng.randrange(300, 30 * 3600)
        when = action.seconds + delay
        index = self.today_index + when // 86400
        seconds = max(DAY_OPEN, min(when % 86400, DAY_CLOSE + 3600)) if index > self.today_index else when
        if seconds >= 86400 - 120:
            return
        self.scheduled_cancels.setdefault(index, []).append(
            _Action(seconds, 0, "cancel", action.resident, action.municipality_code,
                    {"use": use, "amount": amount}))

    def _do_cancel(self, action: _Action, rng: random.Random) -> None:
        use: LedgerEvent = action.params["use"]
        amount = min(action.params["amount"], self.engine.cancellable(use.event_id))
        if amount <= 0:
            return
        r = action.resident
        ts = jst(self.today, action.seconds)
        info = self.use_info[use.event_id]
        if use.channel == "terminal":
            card = self.certs.card_at(r, ts)
            key = self.world.terminal_key_on(use.terminal_id, self.today)
            merchant = self.world.merchant(use.merchant_id)
            if card is None or key is None or merchant.status_on(self.today) != "active":
                return
            auth = self.next_id("A", self.today)
            event = LedgerEvent(self.next_id("E", self.today), ts, use.municipality_code, "", r.mykey_id,
                                "cancel", amount, "terminal", merchant_id=use.merchant_id,
                                terminal_id=use.terminal_id, auth_id=auth, cancel_of=use.event_id)
            self.out.terminal_records.append(TerminalRecord(
                use.terminal_id, ts, "cancel", use.merchant_id, use.municipality_code, r.mykey_id, amount, auth,
                info.auth_id, card[0], card[1], event.event_id))
        else:
            event = LedgerEvent(self.next_id("E", self.today), ts, use.municipality_code, "", r.mykey_id,
                                "cancel", amount, "online", merchant_id=use.merchant_id,
                                cancel_of=use.event_id, partner_code=info["partner_code"],
                                partner_txn_id=info["order_id"])
            self.out.sales.setdefault((info["partner_code"], self.today), []).append({
                "order_id": info["order_id"], "order_ts": iso(ts), "mykey_id": r.mykey_id,
                "municipality_code": use.municipality_code, "merchant_id": use.merchant_id,
                "points_used": str(amount), "status": "refunded"})
        self.engine.cancel(use.event_id, amount)
        self.ledger.append(event)
        self.cancelled_uses.add(use.event_id)

    cancelled_uses: set[str] = set()

    def _recon(self, kind: str, event_id: str, day: dt.date, **details) -> None:
        self.out.recon_faults.append({"kind": kind, "day": day, "event_id": event_id, **details})


def run_platform(world: World, fault_days: dict[str, set[int]],
                 progress: Callable[[str], None] | None = None) -> tuple[PlatformOutput, set[str]]:
    """Simulate every business date; returns the output and the event ids of uses that were cancelled."""
    days = PlatformDays(world, fault_days, progress)
    days.cancelled_uses = set()
    return days.run(), days.cancelled_uses
