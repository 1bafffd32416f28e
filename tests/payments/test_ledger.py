"""The payout ledger: guarded transitions, reruns, bank confirmation and a return re-paid exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest
from payments_world import NOW, BankLines, Item, add_merchant, connect, open_gate, set_items, standard_world

from contracts.reasons import CarryReason, PayoutCheck
from payments import ledger
from payments.ledger import IllegalTransition, confirm_from_bank, mark_batched, mark_issued
from payments.planning import plan_day
from payments.positions import positions

FRI, MON, TUE = dt.date(2026, 12, 4), dt.date(2026, 12, 7), dt.date(2026, 12, 8)
M1, M2 = "M00000001", "M00000002"


def _world():
    con = connect()
    standard_world(con)
    add_merchant(con, M1)
    add_merchant(con, M2, account="1111111")
    set_items(con, [Item(M1, FRI, FRI, 10_000), Item(M2, FRI, FRI, 40_000)])
    open_gate(con, FRI)
    (result,) = plan_day(con, FRI, now=NOW)
    return con, result.batch


def _states(con) -> dict[str, str]:
    return dict(con.execute("select merchant_id, state from payments.payouts where state <> 'requeued' "
                            "order by all").fetchall())


def _events(con) -> int:
    return con.execute("select count(*) from payments.payout_events").fetchone()[0]


def _issue(con, batch):
    mark_batched(con, batch, "officer-a", NOW)
    mark_issued(con, batch.batch_id, "officer-b", NOW)


def test_happy_path_and_every_rerun_adds_nothing() -> None:
    con, batch = _world()
    assert _states(con) == {M1: "pending", M2: "pending"}
    assert mark_batched(con, batch, "officer-a", NOW).moved == 2
    assert mark_batched(con, batch, "officer-a", NOW) == ledger.TransitionResult(0, 2)
    assert mark_issued(con, batch.batch_id, "officer-b", NOW).moved == 2
    assert mark_issued(con, batch.batch_id, "officer-b", NOW) == ledger.TransitionResult(0, 2)
    bank = BankLines(con)
    bank.add(MON, "debit", 50_000, "ｿｳｺﾞｳﾌﾘｺﾐ")
    bank.add(MON, "debit", 550 + 770, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ")
    result = confirm_from_bank(con, MON, NOW)
    assert (result.batches_confirmed, result.payouts_confirmed, result.problems) == (1, 2, ())
    events = _events(con)
    assert confirm_from_bank(con, MON, NOW).payouts_confirmed == 0
    assert _events(con) == events == 8          # pending, batched, issued, confirmed for each of the two
    assert _states(con) == {M1: "confirmed", M2: "confirmed"}
    codes = {r[0] for r in con.execute("select check_code from payments.bank_checks").fetchall()}
    assert codes == {PayoutCheck.BATCH_CONFIRMED, PayoutCheck.FEES_MATCH}


def test_illegal_transitions_are_refused_and_nothing_moves() -> None:
    con, batch = _world()
    with pytest.raises(IllegalTransition, match="is pending and cannot become issued"):
        mark_issued(con, batch.batch_id, "officer-b", NOW)
    assert _states(con) == {M1: "pending", M2: "pending"}
    doctored = dataclasses.replace(batch, payouts=tuple(
        dataclasses.replace(p, transfer_yen=p.transfer_yen + 1) for p in batch.payouts))
    with pytest.raises(IllegalTransition, match="not the batch planned"):
        mark_batched(con, doctored, "officer-a", NOW)
    with pytest.raises(IllegalTransition, match="no planned payouts"):
        mark_issued(con, "PB-NOSUCHBATCH", "officer-b", NOW)
    # half a batch already issued by hand: mark_issued refuses the whole batch in one transaction
    mark_batched(con, batch, "officer-a", NOW)
    con.execute("update payments.payouts set state = 'pending' where merchant_id = ?", [M2])
    with pytest.raises(IllegalTransition):
        mark_issued(con, batch.batch_id, "officer-b", NOW)
    assert _states(con) == {M1: "batched", M2: "pending"}


def test_the_database_refuses_a_second_issue_event_and_a_second_use_of_a_source() -> None:
    con, batch = _world()
    _issue(con, batch)
    payout_id = batch.payouts[0].payout_id
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into payments.payout_events values ('EV-X', ?, 'batched', 'issued', ?, 'x', '{}')",
                    [payout_id, NOW])
    source = con.execute("select source_id from payments.payout_items limit 1").fetchone()[0]
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into payments.payout_items values (?, 'PO-OTHER', 'statement', 1)", [source])


def test_fee_over_schedule_and_unknown_return_are_reported() -> None:
    con, batch = _world()
    _issue(con, batch)
    bank = BankLines(con)
    bank.add(MON, "debit", 50_000, "ｿｳｺﾞｳﾌﾘｺﾐ")
    bank.add(MON, "debit", 1_400, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ")                   # schedule says 550 + 770 = 1,320
    bank.add(MON, "credit", 123, "ﾌﾘｺﾐﾌﾉｳ", "PO-0000000000000000")
    bank.add(MON, "credit", 5_000, "ﾘｿｸ")                           # interest: not ours, not a problem
    result = confirm_from_bank(con, MON, NOW)
    assert result.problems == (f"{PayoutCheck.FEES_OVER_SCHEDULE}: {batch.batch_id} expected 1320 got 1400",
                               f"{PayoutCheck.RETURN_UNKNOWN_PAYOUT}: line 3")
    assert _states(con) == {M1: "confirmed", M2: "confirmed"}


def test_wrong_total_leaves_the_batch_issued_until_a_late_statement_confirms_it() -> None:
    con, batch = _world()
    _issue(con, batch)
    BankLines(con).add(MON, "debit", 49_999, "ｿｳｺﾞｳﾌﾘｺﾐ")
    result = confirm_from_bank(con, MON, NOW)
    assert result.problems == (f"{PayoutCheck.BATCH_WITHDRAWAL_MISSING}: {batch.batch_id}",)
    assert _states(con) == {M1: "issued", M2: "issued"}
    # a corrected statement for Monday arrives on Tuesday: confirmed, and the missing finding is gone
    bank = BankLines(con, count=10)
    bank.add(MON, "debit", 50_000, "ｿｳｺﾞｳﾌﾘｺﾐ", business_date=TUE)
    bank.add(MON, "debit", 1_320, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ", business_date=TUE)
    assert confirm_from_bank(con, TUE, NOW).problems == ()
    assert _states(con) == {M1: "confirmed", M2: "confirmed"}
    assert {r[0] for r in con.execute("select check_code from payments.bank_checks").fetchall()} == {
        PayoutCheck.BATCH_CONFIRMED, PayoutCheck.FEES_MATCH}


def test_return_is_requeued_once_after_the_account_is_corrected() -> None:
    con, batch = _world()
    _issue(con, batch)
    bank = BankLines(con)
    bank.add(MON, "debit", 50_000, "ｿｳｺﾞｳﾌﾘｺﾐ")
    bank.add(MON, "debit", 1_320, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ")
    confirm_from_bank(con, MON, NOW)
    returned = next(p for p in batch.payouts if p.merchant_id == M1)
    bank.add(TUE, "credit", returned.transfer_yen, "ﾌﾘｺﾐﾌﾉｳ", returned.payout_id)
    assert confirm_from_bank(con, TUE, NOW).payouts_returned == 1
    assert confirm_from_bank(con, TUE, NOW).payouts_returned == 0
    assert _states(con) == {M1: "returned", M2: "confirmed"}
    # Tuesday: the account is still the one the bank could not credit → carried, not paid again
    open_gate(con, TUE)
    (tue,) = plan_day(con, TUE, now=NOW)
    assert tue.batch is None
    assert [(c.merchant_id, c.balance_yen, c.reason) for c in tue.carried] == [
        (M1, 10_000, CarryReason.ACCOUNT_UNCHANGED_AFTER_RETURN)]
    # Wednesday: a merchants snapshot with the corrected account → paid again, once
    wed = dt.date(2026, 12, 9)
    con.execute("update marts.dim_merchants set valid_to = ? where merchant_id = ?", [TUE, M1])
    add_merchant(con, M1, account="2222222", valid_from=wed)
    open_gate(con, wed)
    (wed_plan,) = plan_day(con, wed, now=NOW)
    assert [(p.merchant_id, p.amount_yen, p.payee.account_number) for p in wed_plan.batch.payouts] == [
        (M1, 10_000, "2222222")]
    assert con.execute("select state from payments.payouts where payout_id = ?",
                       [returned.payout_id]).fetchone() == ("requeued",)
    assert plan_day(con, wed, now=NOW)[0].already_planned
    thu = dt.date(2026, 12, 10)
    open_gate(con, thu)
    assert plan_day(con, thu, now=NOW)[0].batch is None           # nothing left to pay: no second payout
    by_merchant = {p.merchant_id: p for p in positions(con, thu)}
    assert (by_merchant[M1].transferred_yen, by_merchant[M1].carried_yen) == (10_000, 0)
    assert all(p.balanced for p in by_merchant.values())


def test_daily_payments_step_confirms_then_plans() -> None:
    import json

    from payments.daily import run_payments_day

    con, batch = _world()
    _issue(con, batch)
    bank = BankLines(con)
    bank.add(MON, "debit", 50_000, "ｿｳｺﾞｳﾌﾘｺﾐ")
    bank.add(MON, "debit", 1_320, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ")
    set_items(con, [Item(M1, FRI, FRI, 10_000), Item(M2, FRI, FRI, 40_000), Item(M1, MON, MON, 2_000)])
    open_gate(con, MON)
    summary = run_payments_day(con, MON, now=NOW)
    json.dumps(summary)
    assert summary["bank"]["payouts_confirmed"] == 2
    (muni,) = summary["municipalities"]
    assert (muni["statements_frozen"], muni["payouts"], muni["total_transfer_yen"]) == (1, 1, 2_000)
    assert run_payments_day(con, MON, now=NOW)["bank"]["payouts_confirmed"] == 0


def test_the_batch_row_names_its_file_preparer_and_approver() -> None:
    con, batch = _world()
    sha = "ab" * 32
    mark_batched(con, batch, "officer-a", NOW, file_path="out/2026-12-04/payments/f.txt", file_sha256=sha)
    mark_batched(con, batch, "officer-a", NOW, file_path="out/2026-12-04/payments/f.txt", file_sha256=sha)  # rerun
    with pytest.raises(IllegalTransition, match="different file"):
        mark_batched(con, batch, "officer-a", NOW, file_path="out/2026-12-04/payments/f.txt", file_sha256="cd" * 32)
    later = NOW + dt.timedelta(hours=1)
    mark_issued(con, batch.batch_id, "seisan", NOW, approved_by="officer-b")
    mark_issued(con, batch.batch_id, "seisan", later, approved_by="officer-b")  # handed over once: the first time
    row = con.execute("select file_path, file_sha256, prepared_by, approved_by, exported_at from payments.batches "
                      "where batch_id = ?", [batch.batch_id]).fetchone()
    assert row == ("out/2026-12-04/payments/f.txt", sha, "officer-a", "officer-b", NOW.replace(tzinfo=None))
