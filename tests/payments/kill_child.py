"""A child process for the kill tests: runs a fixed ten-day payments history on one DuckDB file, every step as the
daily run would (marts recomputed, gate decided, freeze + plan, mark_batched, mark_issued, the simulated bank's
statement lines, confirm_from_bank). It is killed with SIGKILL at a random moment and run again; the rerun
(from the interrupted day on, as a scheduler reruns a failed day) must finish with exactly the tables of an
uninterrupted run. Every input write is idempotent (replace the day's
rows), as the steps before payments are.

    python tests/payments/kill_child.py WAREHOUSE.duckdb [--rerun-last]
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import duckdb  # noqa: E402
from payments_world import DDL, NOW, Item, add_fees, add_merchant, add_municipality, open_gate, set_items  # noqa: E402

from payments.ledger import confirm_from_bank, mark_batched, mark_issued  # noqa: E402
from payments.planning import plan_day  # noqa: E402
from payments.schema import ensure_schema  # noqa: E402

START = dt.date(2026, 12, 1)
DAYS = 10
MERCHANTS = ("M00000001", "M00000002", "M00000003", "M00000004")
RETURNED = "M00000002"            # the bank cannot credit this merchant's first payout
CORRECTED_ON = dt.date(2026, 12, 8)


def items_until(day: dt.date) -> list[Item]:
    """The marts' settlement items as rebuilt on `day`: a daily item per merchant and day, a late change to an
    earlier period on some days, one negative period, one item held until 5 Dec."""
    items = []
    for offset in range((day - START).days + 1):
        period = START + dt.timedelta(days=offset)
        for i, merchant in enumerate(MERCHANTS):
            amount = 1_000 * (i + 1) * (offset % 3 + 1) + 29_000 * (i == 3)
            if merchant == "M00000003" and offset == 2:
                amount = -2_500
            late = 300 if offset == 1 and day >= START + dt.timedelta(days=4) else 0
            status = "held_undesignated" if merchant == "M00000001" and offset == 3 and day < dt.date(2026, 12, 5) \
                else "payable"
            items.append(Item(merchant, period, period, amount + late, status))
    return items


def setup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("begin transaction")
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'recon'").fetchone()[0]
    if not exists:
        for statement in DDL:
            con.execute(statement)
        add_municipality(con, min_payout_yen=2_000, fee_bearer="payee")
        add_fees(con)
        for merchant in MERCHANTS:
            if merchant == RETURNED:
                add_merchant(con, merchant, account="0000001", valid_to=CORRECTED_ON - dt.timedelta(days=1))
                add_merchant(con, merchant, account="0000002", valid_from=CORRECTED_ON)
            else:
                add_merchant(con, merchant)
    ensure_schema(con)
    con.execute("commit")


def bank_lines(con: duckdb.DuckDBPyConnection, run_date: dt.date) -> None:
    """The simulated bank: for each batch issued with transfer date = run_date, its total and fee withdrawals;
    two days later a 振込不能 return of RETURNED's first payout. Replaced whole per day (idempotent)."""
    con.execute("begin transaction")
    con.execute("delete from raw.bank_statement_lines where business_date = ?", [run_date])
    rows = con.execute("select b.batch_id, b.total_transfer_yen, b.total_fee_yen from payments.batches b "
                       "where b.transfer_date = ? and exists (select 1 from payments.payouts p where p.batch_id = "
                       "b.batch_id and p.state <> 'pending' and p.state <> 'batched') order by 1",
                       [run_date]).fetchall()
    lines = []
    for _, total, fees in rows:
        lines += [("debit", total, "ｿｳｺﾞｳﾌﾘｺﾐ", None), ("debit", fees, "ﾌﾘｺﾐﾃｽｳﾘﾖｳ", None)]
    first = con.execute("select payout_id, transfer_yen, transfer_date from payments.payouts where merchant_id = ? "
                        "order by business_date limit 1", [RETURNED]).fetchone()
    if first and first[2] + dt.timedelta(days=2) == run_date:
        lines.append(("credit", first[1], "ﾌﾘｺﾐﾌﾉｳ", first[0]))
    for n, (direction, amount, description, edi) in enumerate(lines, start=1):
        con.execute("insert into raw.bank_statement_lines values ('0001', '001', '1234567', ?, ?, ?, ?, '11', ?, "
                    "null, null, null, null, ?, ?, ?, ?, ?)",
                    [f"{n:08d}", run_date, run_date, direction, amount, description, edi,
                     f"{run_date:%Y%m%d}".ljust(64, "0"), n, run_date])
    con.execute("commit")


def run_day(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    con.execute("begin transaction")
    set_items(con, items_until(day))
    open_gate(con, day)
    con.execute("commit")
    bank_lines(con, day)
    confirm_from_bank(con, day, NOW)
    for result in plan_day(con, day, now=NOW):
        if result.batch:
            mark_batched(con, result.batch, "officer-a", NOW)
            mark_issued(con, result.batch.batch_id, "officer-b", NOW)
    bank_lines(con, day)              # a transfer date today of a batch issued just now (none with D+1 dates)
    confirm_from_bank(con, day, NOW)


def main(path: str, rerun_last: bool) -> None:
    """Run every day not yet done (the scheduler's view: a day is done when its run finished), then, with
    --rerun-last, the last day once more in full."""
    con = duckdb.connect(path)
    setup(con)
    con.execute("create table if not exists main.days_done (day date primary key)")
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        if con.execute("select count(*) from main.days_done where day = ?", [day]).fetchone()[0]:
            continue
        run_day(con, day)
        con.execute("insert into main.days_done values (?)", [day])
    if rerun_last:
        run_day(con, START + dt.timedelta(days=DAYS - 1))
    con.close()


if __name__ == "__main__":
    main(sys.argv[1], "--rerun-last" in sys.argv[2:])
