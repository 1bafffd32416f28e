"""Planning: hand-computed minimum payout, fee bearer, fee bands and relations, transfer dates, netting, ids."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payments_world import (
    MUNI,
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

from contracts.reasons import CarryReason
from payments.planning import PlanningError, plan_day
from payments.positions import positions

FRI, SAT, SUN, MON = (dt.date(2026, 12, d) for d in (4, 5, 6, 7))
M1, M2, M3 = "M00000001", "M00000002", "M00000003"


def _plan(items, day=FRI, *, merchants=((M1, {}),), **muni):
    con = connect()
    standard_world(con, **muni)
    for merchant, account in merchants:
        add_merchant(con, merchant, **account)
    set_items(con, items)
    open_gate(con, day)
    return con, plan_day(con, day, now=NOW)[0]


def _paid(result):
    return [(p.merchant_id, p.amount_yen, p.fee_yen, p.transfer_yen) for p in result.batch.payouts] \
        if result.batch else []


def test_minimum_payout_equal_is_paid_one_yen_below_is_carried() -> None:
    _, result = _plan([Item(M1, FRI, FRI, 3_000), Item(M2, FRI, FRI, 2_999)],
                      merchants=((M1, {}), (M2, {})), min_payout_yen=3_000)
    assert _paid(result) == [(M1, 3_000, 550, 3_000)]
    assert [(c.merchant_id, c.balance_yen, c.reason) for c in result.carried] == [
        (M2, 2_999, CarryReason.BELOW_MINIMUM)]


@pytest.mark.parametrize(("amount", "fee"), [(29_999, 550), (30_000, 770)])
def test_other_bank_fee_band_boundary_payer_bears(amount: int, fee: int) -> None:
    _, result = _plan([Item(M1, FRI, FRI, amount)])
    assert _paid(result) == [(M1, amount, fee, amount)]
    assert result.batch.total_transfer_yen == amount


@pytest.mark.parametrize(("account", "amount", "fee"), [
    ({"bank": PAYER_BANK, "branch": PAYER_BRANCH}, 50_000, 0),     # 同一店
    ({"bank": PAYER_BANK, "branch": "999"}, 29_999, 220),            # 本支店, under 30,000
    ({"bank": PAYER_BANK, "branch": "999"}, 30_000, 440),
    ({"bank": "0009", "branch": PAYER_BRANCH}, 10_000, 550),         # 他行, same branch number means nothing
])
def test_fee_by_relation(account: dict, amount: int, fee: int) -> None:
    _, result = _plan([Item(M1, FRI, FRI, amount)], merchants=((M1, account),))
    assert _paid(result) == [(M1, amount, fee, amount)]


@pytest.mark.parametrize(("balance", "amount", "fee", "transfer"), [
    (30_000, 30_000, 550, 29_450),   # 30,000 - 770 would fall under 30,000: the lower band fits exactly
    (30_770, 30_770, 770, 30_000),   # exactly the upper band
    (30_600, 30_549, 550, 29_999),   # no transfer fits exactly: 51 yen stay owed as a remainder
    (551, 551, 550, 1),
])
def test_payee_bears_the_fee(balance: int, amount: int, fee: int, transfer: int) -> None:
    con, result = _plan([Item(M1, FRI, FRI, balance)], fee_bearer="payee")
    assert _paid(result) == [(M1, amount, fee, transfer)]
    (pos,) = positions(con, FRI)
    assert (pos.transferred_yen, pos.carried_yen) == (amount, balance - amount)


def test_payee_fee_larger_than_the_balance_is_carried() -> None:
    _, result = _plan([Item(M1, FRI, FRI, 550)], fee_bearer="payee")
    assert result.batch is None
    assert result.carried[0].reason == CarryReason.FEE_EXCEEDS_AMOUNT


def test_remainder_is_paid_with_the_next_amount() -> None:
    con, result = _plan([Item(M1, FRI, FRI, 30_600)], fee_bearer="payee")
    set_items(con, [Item(M1, FRI, FRI, 30_600), Item(M1, MON, MON, 1_000)])
    open_gate(con, MON)
    (nxt,) = plan_day(con, MON, now=NOW)
    assert _paid(nxt) == [(M1, 1_051, 550, 501)]


def test_negative_net_is_carried_and_netted_never_sent() -> None:
    con, result = _plan([Item(M1, FRI, FRI, -300), Item(M2, FRI, FRI, 0)], merchants=((M1, {}), (M2, {})))
    assert result.batch is None
    assert {(c.merchant_id, c.balance_yen, c.reason) for c in result.carried} == {
        (M1, -300, CarryReason.NOT_POSITIVE), (M2, 0, CarryReason.NOT_POSITIVE)}
    set_items(con, [Item(M1, FRI, FRI, -300), Item(M1, MON, MON, 1_000)])
    open_gate(con, MON)
    assert _paid(plan_day(con, MON, now=NOW)[0]) == [(M1, 700, 550, 700)]


@pytest.mark.parametrize(("day", "transfer"), [
    (FRI, MON),
    (dt.date(2026, 12, 30), dt.date(2027, 1, 4)),      # over 31 Dec - 3 Jan
    (dt.date(2026, 5, 1), dt.date(2026, 5, 7)),        # Golden Week: 3-6 May closed (6 May substitute holiday)
])
def test_transfer_date_is_the_next_bank_business_day(day: dt.date, transfer: dt.date) -> None:
    _, result = _plan([Item(M1, day, day, 1_000)], day)
    assert result.batch.transfer_date == transfer
    assert all(p.transfer_date == transfer for p in result.batch.payouts)


@pytest.mark.parametrize("day", [SAT, SUN, dt.date(2026, 12, 31), dt.date(2027, 1, 1)])
def test_no_batch_on_a_bank_holiday_the_amount_waits(day: dt.date) -> None:
    con, result = _plan([Item(M1, day, day, 1_000)], day)
    assert result.batch is None and "bank business day" in result.skipped_reason
    (pos,) = positions(con, day)
    assert (pos.frozen_yen, pos.carried_yen, pos.transferred_yen) == (1_000, 1_000, 0)


def test_gate_closed_plans_nothing() -> None:
    con = connect()
    standard_world(con)
    add_merchant(con, M1)
    set_items(con, [Item(M1, FRI, FRI, 1_000)])
    open_gate(con, FRI, status="blocked")
    (result,) = plan_day(con, FRI, now=NOW)
    assert (result.gate_open, result.batch) == (False, None)
    assert con.execute("select count(*) from payments.statements").fetchone()[0] == 0


def test_same_inputs_same_ids_and_rerun_returns_the_planned_batch() -> None:
    items = [Item(M1, FRI, FRI, 1_000), Item(M2, FRI, FRI, 40_000), Item(M3, FRI, FRI, 5)]
    merchants = ((M1, {}), (M2, {"bank": PAYER_BANK, "branch": "002"}), (M3, {}))
    con_a, a = _plan(items, merchants=merchants, min_payout_yen=10)
    _, b = _plan(list(reversed(items)), merchants=tuple(reversed(merchants)), min_payout_yen=10)
    assert a.batch == b.batch
    assert [p.payout_id for p in a.batch.payouts] == sorted(p.payout_id for p in a.batch.payouts)
    for p in a.batch.payouts:
        assert len(p.payout_id) <= 20 and not p.payout_id.isdigit()
    counts = con_a.execute("select (select count(*) from payments.payouts), (select count(*) from "
                           "payments.payout_events), (select count(*) from payments.payout_items)").fetchone()
    (again,) = plan_day(con_a, FRI, now=NOW)
    assert again.already_planned and again.batch == a.batch
    assert con_a.execute("select (select count(*) from payments.payouts), (select count(*) from "
                         "payments.payout_events), (select count(*) from payments.payout_items)").fetchone() == counts


def test_missing_fee_band_is_a_clear_error() -> None:
    con = connect()
    standard_world(con)
    con.execute("delete from raw.master_fee_schedule where relation = 'other_bank'")
    add_merchant(con, M1)
    set_items(con, [Item(M1, FRI, FRI, 1_000)])
    open_gate(con, FRI)
    with pytest.raises(PlanningError, match="no other_bank band"):
        plan_day(con, FRI, now=NOW)
    assert con.execute("select count(*) from payments.payouts").fetchone()[0] == 0


def test_one_batch_per_municipality_and_another_municipality_is_apart() -> None:
    from payments_world import MUNI2, add_municipality
    con = connect()
    standard_world(con)
    add_municipality(con, MUNI2, account="7777777")
    add_merchant(con, M1)
    set_items(con, [Item(M1, FRI, FRI, 1_000), Item(M1, FRI, FRI, 2_000, municipality_code=MUNI2)])
    open_gate(con, FRI)            # only 津市's gate is open
    results = {r.municipality_code: r for r in plan_day(con, FRI, now=NOW)}
    assert _paid(results[MUNI]) == [(M1, 1_000, 550, 1_000)]
    assert results[MUNI2].batch is None and not results[MUNI2].gate_open


def _brute_force_payee(balance: int, bands) -> tuple[int, int] | None:
    for transfer in range(balance, 0, -1):
        fee = next(b.fee_yen for b in bands if b.holds(transfer))
        if transfer + fee <= balance:
            return transfer, fee
    return None


@given(balance=st.integers(min_value=1, max_value=60_000), boundary=st.sampled_from([30_000, 50_000]),
       low=st.integers(min_value=0, max_value=800), high=st.integers(min_value=0, max_value=800))
@settings(max_examples=300, deadline=None)
def test_payee_split_is_the_largest_transfer_that_fits(balance: int, boundary: int, low: int, high: int) -> None:
    """Against brute force, for a two-band schedule (30,000 or 50,000 boundary, fees.md §1) with any fees (a
    flat fee, or even a cheaper upper band)."""
    from payments.planning import FeeBand, split_for_payee

    bands = [FeeBand("other_bank", 0, boundary - 1, low), FeeBand("other_bank", boundary, None, high)]
    assert split_for_payee(balance, bands, "other_bank") == _brute_force_payee(balance, bands)
