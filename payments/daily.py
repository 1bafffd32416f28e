"""The payments part of a daily run for business date D, for the step that follows the gate (seisan/steps.py):
first what the bank did (confirm_from_bank: confirmations, fee checks, returns), then freezing and planning (a
return noticed today can be re-paid today when the account was corrected). Returns a JSON-able summary."""

from __future__ import annotations

import datetime as dt

import duckdb

from payments.ledger import confirm_from_bank
from payments.planning import plan_day


def run_payments_day(con: duckdb.DuckDBPyConnection, run_date: dt.date, *, now: dt.datetime) -> dict:
    confirmed = confirm_from_bank(con, run_date, now)
    plans = plan_day(con, run_date, now=now)
    return {
        "run_date": run_date.isoformat(),
        "bank": {"batches_confirmed": confirmed.batches_confirmed, "payouts_confirmed": confirmed.payouts_confirmed,
                 "payouts_returned": confirmed.payouts_returned, "problems": list(confirmed.problems)},
        "municipalities": [{
            "municipality_code": p.municipality_code,
            "gate_open": p.gate_open,
            "statements_frozen": p.freeze.statements_frozen if p.freeze else 0,
            "adjustments": p.freeze.adjustments if p.freeze else 0,
            "batch_id": p.batch.batch_id if p.batch else None,
            "transfer_date": p.batch.transfer_date.isoformat() if p.batch else None,
            "payouts": len(p.batch.payouts) if p.batch else 0,
            "total_transfer_yen": p.batch.total_transfer_yen if p.batch else 0,
            "carried_merchants": len(p.carried),
            "carried_yen": sum(c.balance_yen for c in p.carried),
            "note": p.skipped_reason,
        } for p in plans],
    }
