"""Settlement statements: freeze what is payable per merchant and closed period, never rewrite it.

On run date D, for a municipality whose gate for D is open, every settlement period that ended on or before D
is compared with what is frozen already (marts.fct_settlement_items, status `payable`, both signs):
- a period with no statement yet is frozen into one (`payments.statements`), whatever its sign: a negative net
  is owed back and is netted against the merchant's later payable amounts by planning, never sent;
- a period with a statement whose recomputed payable amount differs from the frozen amount plus its earlier
  adjustments gets an adjustment (`payments.adjustments`) of the difference, carried into the merchant's next
  payout. A late event, a cancel, a hold that lifted (its item turns `payable`) or a late master that held an
  item after all all arrive this way.
Held items (`is_payable` false because of a held_* status) are never frozen; the gate decides the day, the
marts decide the status.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import duckdb

from payments.schema import ensure_schema
from reconciliation.gate import is_open as gate_is_open  # the gate's one rule: no open decision, no pay


@dataclass(frozen=True, slots=True)
class FreezeResult:
    """What one freeze did for one municipality and run date."""

    municipality_code: str
    run_date: dt.date
    gate_open: bool
    statements_frozen: int
    statement_amount_yen: int
    adjustments: int
    adjustment_amount_yen: int


def short_hash(*parts: object) -> str:
    """16 upper-case hex digits of the SHA-256 of the parts joined by '|': every id of payments is one."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:16].upper()


# Payable amount per closed period, as the marts compute it today (both signs: a negative period is owed back).
_RECOMPUTED_SQL = """
select municipality_code, merchant_id, period_start_date, period_end_date,
       any_value(settlement_cycle) as settlement_cycle,
       sum(amount_yen)::bigint as amount_yen,
       sum(use_amount_yen)::bigint as use_amount_yen,
       sum(cancel_amount_yen)::bigint as cancel_amount_yen,
       list(settlement_item_id order by settlement_item_id) as item_ids
from marts.fct_settlement_items
where settlement_status = 'payable' and period_end_date <= ? and municipality_code = ?
group by all
"""

_FROZEN_SQL = """
select s.statement_id, s.merchant_id, s.period_start_date, s.period_end_date,
       s.amount_yen + coalesce(sum(a.amount_yen), 0) as frozen_yen, count(a.adjustment_id) as adjustments
from payments.statements s left join payments.adjustments a using (statement_id)
where s.municipality_code = ?
group by s.statement_id, s.merchant_id, s.period_start_date, s.period_end_date, s.amount_yen
"""


def freeze_statements(con: duckdb.DuckDBPyConnection, run_date: dt.date, municipality_code: str, *,
                      now: dt.datetime) -> FreezeResult:
    """Freeze the closed periods of one municipality for run_date (one transaction; a rerun adds nothing)."""
    ensure_schema(con)
    if not gate_is_open(con, run_date, municipality_code):
        return FreezeResult(municipality_code, run_date, False, 0, 0, 0, 0)
    con.execute("begin transaction")
    try:
        result = _freeze_in_transaction(con, run_date, municipality_code, now)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _freeze_in_transaction(con: duckdb.DuckDBPyConnection, run_date: dt.date, municipality_code: str,
                           now: dt.datetime) -> FreezeResult:
    recomputed = {(r[1], r[2], r[3]): r for r in con.execute(_RECOMPUTED_SQL, [run_date, municipality_code]).fetchall()}
    frozen = {(r[1], r[2], r[3]): r for r in con.execute(_FROZEN_SQL, [municipality_code]).fetchall()}
    new_statements, new_adjustments = [], []
    for key in sorted(recomputed.keys() - frozen.keys()):
        _, merchant, start, end, cycle, amount, uses, cancels, item_ids = recomputed[key]
        statement_id = "ST-" + short_hash(municipality_code, merchant, start, end)
        new_statements.append((statement_id, municipality_code, merchant, cycle, start, end, amount, uses, cancels,
                               json.dumps(item_ids), run_date, now))
    for key in sorted(frozen.keys()):
        statement_id, merchant, start, end, frozen_yen, adjustment_count = frozen[key]
        current_yen = recomputed[key][5] if key in recomputed else 0  # items gone (held again): nothing payable
        if current_yen != frozen_yen:
            seq = adjustment_count + 1
            new_adjustments.append(("AD-" + short_hash(statement_id, seq), statement_id, seq, municipality_code,
                                    merchant, start, end, current_yen - frozen_yen, current_yen, run_date, now))
    if new_statements:
        con.executemany("insert into payments.statements values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new_statements)
    if new_adjustments:
        con.executemany("insert into payments.adjustments values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new_adjustments)
    return FreezeResult(municipality_code, run_date, True, len(new_statements),
                        sum(s[6] for s in new_statements), len(new_adjustments),
                        sum(a[7] for a in new_adjustments))
