"""The payout ledger: states, guarded transitions, append-only events, and confirmation from the bank statement.

    pending --mark_batched--> batched --mark_issued--> issued --confirm_from_bank--> confirmed
    issued or confirmed --振込不能 deposit--> returned --planning, account corrected--> requeued

A payout enters each state at most once (unique (payout_id, to_state) on payments.payout_events), and every
transition is one transaction that moves `payments.payouts.state` only from an allowed state and appends its
event: a second `mark_issued` of a batch, or a rerun of any step, finds the payouts already there and changes
nothing. A return arrives days after the transfer, usually after the total withdrawal confirmed the batch, so
`confirmed → returned` is allowed as well as `issued → returned`. A returned payout's amount is owed again: the
planner pays it in a new payout once the merchants master holds another account (`returned → requeued`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from contracts.bank_descriptions import FEES_WITHDRAWAL, RETURN_DEPOSIT, TRANSFER_WITHDRAWAL
from contracts.reasons import PayoutCheck
from payments.model import PaymentBatch
from payments.schema import ensure_schema
from payments.statements import short_hash

SYSTEM_ACTOR = "seisan"

# to_state → the states it may be entered from (None: the payout is new)
ALLOWED_FROM: Mapping[str, frozenset[str | None]] = {
    "pending": frozenset({None}),
    "batched": frozenset({"pending"}),
    "issued": frozenset({"batched"}),
    "confirmed": frozenset({"issued"}),
    "returned": frozenset({"issued", "confirmed"}),
    "requeued": frozenset({"returned"}),
}

# 摘要内容 of the paying account's statement lines (FORMATS.md bank/, "What appears in it")
DESCRIPTION_TRANSFER = TRANSFER_WITHDRAWAL
DESCRIPTION_FEES = FEES_WITHDRAWAL
DESCRIPTION_RETURN = RETURN_DEPOSIT


class IllegalTransition(ValueError):
    """A transition the ledger refuses (the message says which payout, from which state, to which)."""


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """How many payouts moved, and how many were already in the target state (a rerun)."""

    moved: int
    already: int


def record_event(con: duckdb.DuckDBPyConnection, payout_id: str, from_state: str | None, to_state: str,
                 at: dt.datetime, actor: str, detail: Mapping[str, object]) -> None:
    """Append one event (inside the caller's transaction). The id is derived from (payout, to_state), which
    the table also holds unique: the same transition can never be written twice."""
    event_id = "EV-" + short_hash(payout_id, to_state)
    con.execute("insert into payments.payout_events values (?, ?, ?, ?, ?, ?, ?)",
                [event_id, payout_id, from_state, to_state, at, actor, json.dumps(detail, sort_keys=True,
                                                                                  ensure_ascii=False)])


def _has_entered(con: duckdb.DuckDBPyConnection, payout_id: str, state: str) -> bool:
    return con.execute("select count(*) from payments.payout_events where payout_id = ? and to_state = ?",
                       [payout_id, state]).fetchone()[0] > 0


def _transition(con: duckdb.DuckDBPyConnection, payout_ids: Iterable[str], to_state: str, actor: str,
                now: dt.datetime, detail: Mapping[str, object]) -> TransitionResult:
    """Move payouts to `to_state` inside the caller's transaction; already there or past it (its event exists)
    → counted, not repeated; any other state → IllegalTransition (the caller rolls back, nothing moves)."""
    moved = already = 0
    allowed = ALLOWED_FROM[to_state]
    for payout_id in payout_ids:
        row = con.execute("select state from payments.payouts where payout_id = ?", [payout_id]).fetchone()
        if row is None:
            raise IllegalTransition(f"payout {payout_id} does not exist, so it cannot become {to_state}")
        state = row[0]
        if state == to_state or _has_entered(con, payout_id, to_state):
            already += 1     # done before (a rerun), possibly moved on since: nothing to repeat
            continue
        if state not in allowed:
            raise IllegalTransition(f"payout {payout_id} is {state} and cannot become {to_state} "
                                    f"(allowed from: {', '.join(sorted(s for s in allowed if s))})")
        con.execute("update payments.payouts set state = ? where payout_id = ? and state = ?",
                    [to_state, payout_id, state])
        record_event(con, payout_id, state, to_state, now, actor, detail)
        moved += 1
    return TransitionResult(moved, already)


def _in_transaction(con: duckdb.DuckDBPyConnection, work):
    con.execute("begin transaction")
    try:
        result = work()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def batch_payout_ids(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select payout_id from payments.payouts where batch_id = ? order by payout_id", [batch_id]).fetchall()]


def mark_batched(con: duckdb.DuckDBPyConnection, batch: PaymentBatch, actor: str, now: dt.datetime, *,
                 file_path: str | None = None, file_sha256: str | None = None) -> TransitionResult:
    """The payment file of `batch` has been written: its payouts pending → batched, and the batch row names the
    file (`file_path`, `file_sha256`) and its preparer `actor`. The batch must be the planned one (same ids and
    amounts): a file made from anything else is refused, and so is a second, different file for the batch."""
    ensure_schema(con)
    if file_sha256 is not None:
        known = con.execute("select file_sha256 from payments.batches where batch_id = ?", [batch.batch_id]).fetchone()
        if known is not None and known[0] not in (None, file_sha256):
            raise IllegalTransition(f"batch {batch.batch_id} already has the payment file {known[0][:12]}…; a "
                                    f"different file {file_sha256[:12]}… for it is refused (files are byte-identical "
                                    f"on a rerun)")
    planned = {r[0]: r[1:] for r in con.execute(
        "select payout_id, transfer_yen, fee_yen from payments.payouts where batch_id = ?",
        [batch.batch_id]).fetchall()}
    given = {p.payout_id: (p.transfer_yen, p.fee_yen) for p in batch.payouts}
    if not planned or planned != given:
        raise IllegalTransition(f"batch {batch.batch_id} is not the batch planned under that id "
                                f"(payout ids or amounts differ); plan again and prepare from the planned batch")

    def work() -> TransitionResult:
        if file_sha256 is not None:
            con.execute("update payments.batches set file_path = ?, file_sha256 = ?, prepared_by = ? "
                        "where batch_id = ?", [file_path, file_sha256, actor, batch.batch_id])
        return _transition(con, sorted(given), "batched", actor, now, {"batch_id": batch.batch_id})

    return _in_transaction(con, work)


def mark_issued(con: duckdb.DuckDBPyConnection, batch_id: str, actor: str, now: dt.datetime, *,
                approved_by: str | None = None) -> TransitionResult:
    """The batch's verified, doubly signed file was handed to the bank: batched → issued, all or none; the batch
    row keeps its approver and the first hand-over time."""
    ensure_schema(con)
    ids = batch_payout_ids(con, batch_id)
    if not ids:
        raise IllegalTransition(f"batch {batch_id} has no planned payouts, so it cannot be issued")

    def work() -> TransitionResult:
        con.execute("update payments.batches set approved_by = coalesce(?, approved_by), "
                    "exported_at = coalesce(exported_at, ?) where batch_id = ?", [approved_by, now, batch_id])
        return _transition(con, ids, "issued", actor, now, {"batch_id": batch_id})

    return _in_transaction(con, work)


def requeue(con: duckdb.DuckDBPyConnection, returned_payout_id: str, new_payout_id: str, now: dt.datetime) -> None:
    """returned → requeued, naming the payout that pays the amount again (inside the planner's transaction)."""
    _transition(con, [returned_payout_id], "requeued", SYSTEM_ACTOR, now, {"new_payout_id": new_payout_id})


# --- confirmation from the bank statement ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ConfirmResult:
    run_date: dt.date
    batches_confirmed: int
    payouts_confirmed: int
    payouts_returned: int
    problems: tuple[str, ...]


_LINES_SQL = """
select bank_code, branch_code, account_number, account_date, direction, amount, description, edi,
       file_sha256, line_number
from raw.bank_statement_lines
where business_date <= ?
order by file_sha256, line_number
"""

# batches with a payout still issued; the expected withdrawal is the file's whole total and fees, as planned
_ISSUED_BATCHES_SQL = """
select b.batch_id, b.payer_bank_code, b.payer_branch_code, b.payer_account_number, b.transfer_date,
       b.total_transfer_yen, b.total_fee_yen
from payments.batches b
where exists (select 1 from payments.payouts p where p.batch_id = b.batch_id and p.state = 'issued')
order by b.batch_id
"""


def _bank_lines(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> list[tuple]:
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'raw' and table_name = 'bank_statement_lines'").fetchone()
    if not exists or exists[0] == 0:
        return []
    return con.execute(_LINES_SQL, [run_date]).fetchall()


def _check(con: duckdb.DuckDBPyConnection, run_date: dt.date, code: PayoutCheck, *, batch_id: str | None = None,
           payout_id: str | None = None, expected: int | None = None, actual: int | None = None,
           line: tuple | None = None, detail: str = "") -> None:
    """One bank_checks row; its id is derived from what it is about, so a rerun (or a later day seeing the same
    line) keeps the first row and never repeats it."""
    sha, number = (line[8], line[9]) if line else (None, None)
    check_id = "BC-" + short_hash(code, batch_id, payout_id, sha, number)
    con.execute("insert into payments.bank_checks values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
                [check_id, run_date, batch_id, payout_id, str(code), expected, actual, sha, number, detail])


def confirm_from_bank(con: duckdb.DuckDBPyConnection, run_date: dt.date, now: dt.datetime) -> ConfirmResult:
    """Read every paying-account statement line up to run_date and move payouts: the 総合振込 withdrawal of an
    issued batch's total on its transfer date → its payouts confirmed (and its fee withdrawal checked against the
    schedule's fees); a 振込不能 deposit whose EDI is a payout id → that payout returned. One transaction; a
    rerun finds everything already done."""
    ensure_schema(con)
    lines = _bank_lines(con, run_date)

    def work() -> ConfirmResult:
        batches, confirmed, problems = _confirm_batches(con, run_date, now, lines)
        returned, return_problems = _apply_returns(con, run_date, now, lines)
        return ConfirmResult(run_date, batches, confirmed, returned, tuple(problems + return_problems))

    return _in_transaction(con, work)


def _account_lines(lines: list[tuple], bank: str, branch: str, account: str, day: dt.date, direction: str,
                   description: str) -> list[tuple]:
    return [ln for ln in lines if (ln[0], ln[1], ln[2]) == (bank, branch, account) and ln[3] == day
            and ln[4] == direction and (ln[6] or "").strip() == description]


def _used_line_keys(con: duckdb.DuckDBPyConnection) -> set[tuple[str, int]]:
    """Statement lines already matched to a batch (its total or its fees): a withdrawal serves one batch only."""
    return {(r[0], r[1]) for r in con.execute(
        "select file_sha256, line_number from payments.bank_checks "
        "where batch_id is not null and file_sha256 is not null").fetchall()}


def _confirm_batches(con: duckdb.DuckDBPyConnection, run_date: dt.date, now: dt.datetime,
                     lines: list[tuple]) -> tuple[int, int, list[str]]:
    batches = payouts = 0
    problems: list[str] = []
    used = _used_line_keys(con)
    for batch_id, bank, branch, account, transfer_date, total_yen, fee_total_yen in con.execute(
            _ISSUED_BATCHES_SQL).fetchall():
        if transfer_date > run_date:
            continue
        withdrawals = [ln for ln in _account_lines(lines, bank, branch, account, transfer_date, "debit",
                                                   DESCRIPTION_TRANSFER)
                       if ln[5] == total_yen and (ln[8], ln[9]) not in used]
        if not withdrawals:
            if _statement_arrived(lines, bank, branch, account, transfer_date):
                _check(con, run_date, PayoutCheck.BATCH_WITHDRAWAL_MISSING, batch_id=batch_id, expected=total_yen,
                       detail=f"no {DESCRIPTION_TRANSFER} withdrawal of {total_yen} yen on {transfer_date}")
                problems.append(f"{PayoutCheck.BATCH_WITHDRAWAL_MISSING}: {batch_id}")
            continue
        line = withdrawals[0]
        used.add((line[8], line[9]))
        # a statement that came late: the withdrawal reported missing on an earlier day is there after all
        con.execute("delete from payments.bank_checks where batch_id = ? and check_code = ?",
                    [batch_id, str(PayoutCheck.BATCH_WITHDRAWAL_MISSING)])
        _check(con, run_date, PayoutCheck.BATCH_CONFIRMED, batch_id=batch_id, expected=total_yen, actual=line[5],
               line=line, detail="total withdrawn on the transfer date")
        moved = _transition(con, batch_payout_ids_in_state(con, batch_id, "issued"), "confirmed", SYSTEM_ACTOR, now,
                            {"batch_id": batch_id, "file_sha256": line[8], "line_number": line[9]})
        batches += 1
        payouts += moved.moved
        problems += _check_fees(con, run_date, batch_id, fee_total_yen, bank, branch, account, transfer_date, lines,
                                used)
    return batches, payouts, problems


def batch_payout_ids_in_state(con: duckdb.DuckDBPyConnection, batch_id: str, state: str) -> list[str]:
    return [r[0] for r in con.execute("select payout_id from payments.payouts where batch_id = ? and state = ? "
                                      "order by payout_id", [batch_id, state]).fetchall()]


def _statement_arrived(lines: list[tuple], bank: str, branch: str, account: str, day: dt.date) -> bool:
    """Some line of that account dated on or after the day: the day's statement is in (lines are the only
    evidence here; the statement header has no lines for a quiet day, which then reads as not arrived)."""
    return any((ln[0], ln[1], ln[2]) == (bank, branch, account) and ln[3] >= day for ln in lines)


def _check_fees(con: duckdb.DuckDBPyConnection, run_date: dt.date, batch_id: str, expected_yen: int, bank: str,
                branch: str, account: str, day: dt.date, lines: list[tuple], used: set[tuple[str, int]]) -> list[str]:
    """The bank debits the batch's transfer fees as one more withdrawal: compare with the schedule's fees that
    planning put on the payouts (whoever bears them, the bank charges the payer's account)."""
    fee_lines = [ln for ln in _account_lines(lines, bank, branch, account, day, "debit", DESCRIPTION_FEES)
                 if (ln[8], ln[9]) not in used]
    if not fee_lines:
        if expected_yen == 0:
            return []
        _check(con, run_date, PayoutCheck.FEES_WITHDRAWAL_MISSING, batch_id=batch_id, expected=expected_yen,
               detail=f"no {DESCRIPTION_FEES} withdrawal on {day}")
        return [f"{PayoutCheck.FEES_WITHDRAWAL_MISSING}: {batch_id}"]
    exact = [ln for ln in fee_lines if ln[5] == expected_yen]
    line = exact[0] if exact else fee_lines[0]
    used.add((line[8], line[9]))
    actual = line[5]
    code = (PayoutCheck.FEES_MATCH if actual == expected_yen
            else PayoutCheck.FEES_OVER_SCHEDULE if actual > expected_yen else PayoutCheck.FEES_UNDER_SCHEDULE)
    _check(con, run_date, code, batch_id=batch_id, expected=expected_yen, actual=actual, line=line,
           detail="transfer fees withdrawn vs the fee schedule")
    return [] if code == PayoutCheck.FEES_MATCH else [f"{code}: {batch_id} expected {expected_yen} got {actual}"]


def _apply_returns(con: duckdb.DuckDBPyConnection, run_date: dt.date, now: dt.datetime,
                   lines: list[tuple]) -> tuple[int, list[str]]:
    returned = 0
    problems: list[str] = []
    for line in lines:
        if line[4] != "credit" or (line[6] or "").strip() != DESCRIPTION_RETURN:
            continue
        payout_id = (line[7] or "").strip()
        row = con.execute("select state, transfer_yen from payments.payouts where payout_id = ?",
                          [payout_id]).fetchone()
        if row is None or row[0] not in ("issued", "confirmed", "returned", "requeued"):
            _check(con, run_date, PayoutCheck.RETURN_UNKNOWN_PAYOUT, payout_id=payout_id or None, actual=line[5],
                   line=line, detail="振込不能 deposit naming no issued payout")
            problems.append(f"{PayoutCheck.RETURN_UNKNOWN_PAYOUT}: line {line[9]}")
            continue
        state, transfer_yen = row
        if line[5] != transfer_yen:
            _check(con, run_date, PayoutCheck.RETURN_AMOUNT_MISMATCH, payout_id=payout_id, expected=transfer_yen,
                   actual=line[5], line=line, detail="振込不能 deposit amount differs from the transfer")
            problems.append(f"{PayoutCheck.RETURN_AMOUNT_MISMATCH}: {payout_id}")
            continue
        _check(con, run_date, PayoutCheck.PAYOUT_RETURNED, payout_id=payout_id, expected=transfer_yen,
               actual=line[5], line=line, detail="振込不能: owed again, re-paid once the account is corrected")
        if state in ("issued", "confirmed"):
            _transition(con, [payout_id], "returned", SYSTEM_ACTOR, now,
                        {"file_sha256": line[8], "line_number": line[9]})
            returned += 1
    return returned, problems
