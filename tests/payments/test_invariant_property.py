"""Property: on random item histories (late changes, negatives, holds applied and lifted, gates closed, holidays),
every day and for every merchant, Σ transfers + Σ carried forward + Σ held = Σ items, and the payouts equal an
independent reference model of the rules (freeze what is payable when the gate is open; pay a balance that
reaches the minimum on a bank business day; payee bears the fee → the largest transfer t with t + fee(t) ≤
balance, found by brute force here)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payments_world import (
    FEES,
    NOW,
    PAYER_BANK,
    PAYER_BRANCH,
    Item,
    add_merchant,
    connect,
    open_gate,
    set_items,
    standard_world,
)

from payments.planning import plan_day
from payments.positions import positions

START = dt.date(2026, 12, 24)        # runs over Christmas, the year end (31 Dec - 3 Jan) and a weekend
DAYS = 14
MERCHANTS = {"M00000001": {}, "M00000002": {"bank": PAYER_BANK, "branch": PAYER_BRANCH},
             "M00000003": {"bank": PAYER_BANK, "branch": "555"}}
BANK_HOLIDAYS = {dt.date(2026, 12, 26), dt.date(2026, 12, 27), dt.date(2026, 12, 31), dt.date(2027, 1, 1),
                 dt.date(2027, 1, 2), dt.date(2027, 1, 3), dt.date(2027, 1, 9), dt.date(2027, 1, 10),
                 dt.date(2027, 1, 11)}   # weekends, year end, 成人の日 (11 Jan 2027), typed by hand


def _relation(account: dict) -> str:
    if account.get("bank", "0005") != PAYER_BANK:
        return "other_bank"
    return "same_branch" if account.get("branch") == PAYER_BRANCH else "same_bank"


def _fee(relation: str, transfer: int) -> int:
    return next(fee for rel, lo, hi, fee in FEES
                if rel == relation and lo <= transfer and (hi is None or transfer <= hi))


def _ref_payout(balance: int, bearer: str, relation: str) -> int | None:
    """The amount a payout takes from the balance (None: nothing can be sent)."""
    if bearer == "payer":
        return balance
    for transfer in range(balance, 0, -1):
        if transfer + _fee(relation, transfer) <= balance:
            return transfer + _fee(relation, transfer)
    return None


change = st.tuples(
    st.sampled_from(sorted(MERCHANTS)),
    st.integers(min_value=-2, max_value=1),                                   # period: days before/after today
    st.integers(min_value=-5_000, max_value=45_000),                          # change of the amount
    st.sampled_from(["payable", "payable", "payable", "held_undesignated"]),
)
day_plan = st.tuples(st.lists(change, max_size=4), st.booleans(), st.booleans())  # changes, gate open, flip hold


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=st.lists(day_plan, min_size=DAYS, max_size=DAYS), min_payout=st.sampled_from([0, 1, 3_000, 30_000]),
       bearer=st.sampled_from(["payer", "payee"]))
def test_every_yen_is_transferred_carried_or_held(days, min_payout: int, bearer: str) -> None:
    con = connect()
    standard_world(con, min_payout_yen=min_payout, fee_bearer=bearer)
    for merchant, account in MERCHANTS.items():
        add_merchant(con, merchant, **account)
    items: dict[tuple[str, dt.date, str], int] = {}
    frozen: dict[str, int] = dict.fromkeys(MERCHANTS, 0)
    paid: dict[str, int] = dict.fromkeys(MERCHANTS, 0)
    for offset, (changes, gate_open, flip_hold) in enumerate(days):
        today = START + dt.timedelta(days=offset)
        for merchant, rel_day, delta, status in changes:
            period = today + dt.timedelta(days=rel_day)
            items[(merchant, period, status)] = items.get((merchant, period, status), 0) + delta
        if flip_hold:   # a late master lifts every hold: held items of each period become payable
            for (merchant, period, status), amount in list(items.items()):
                if status != "payable":
                    del items[(merchant, period, status)]
                    items[(merchant, period, "payable")] = items.get((merchant, period, "payable"), 0) + amount
        set_items(con, [Item(m, p, p, a, s) for (m, p, s), a in sorted(items.items())])
        open_gate(con, today, status="open" if gate_open else "blocked")
        plan_day(con, today, now=NOW)
        plan_day(con, today, now=NOW)   # a rerun changes nothing

        # the reference model
        if gate_open:
            for merchant in MERCHANTS:
                frozen[merchant] = sum(a for (m, p, s), a in items.items()
                                       if m == merchant and p <= today and s == "payable")
            if today not in BANK_HOLIDAYS:
                for merchant, account in MERCHANTS.items():
                    balance = frozen[merchant] - paid[merchant]
                    if balance > 0 and balance >= min_payout:
                        paid[merchant] += _ref_payout(balance, bearer, _relation(account)) or 0

        by_merchant = {p.merchant_id: p for p in positions(con, today)}
        for merchant in MERCHANTS:
            closed = [(s, a) for (m, p, s), a in items.items() if m == merchant and p <= today]
            pos = by_merchant.get(merchant)
            if pos is None:
                assert not closed
                continue
            assert pos.items_yen == sum(a for _, a in closed)
            assert pos.held_yen == sum(a for s, a in closed if s != "payable")
            assert pos.transferred_yen + pos.carried_yen + pos.unfrozen_yen + pos.held_yen == pos.items_yen
            assert pos.balanced
            assert pos.frozen_yen == frozen[merchant], (today, merchant)
            assert pos.transferred_yen == paid[merchant], (today, merchant)
    # no source in two payouts, every payout's sources add up to its amount plus its remainder
    assert con.execute("""
        select count(*) from payments.payouts p
        left join (select payout_id, sum(amount_yen) s from payments.payout_items group by all) i using (payout_id)
        left join payments.remainders r using (payout_id)
        where coalesce(i.s, 0) <> p.amount_yen + coalesce(r.amount_yen, 0)""").fetchone()[0] == 0
