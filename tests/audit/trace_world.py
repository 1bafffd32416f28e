"""A hand-built warehouse that went through payments, small enough to read (and to build in milliseconds):

- inbox file `platform/ledger_20261102.csv` (sha LEDGER_SHA): E1 use 1,000 yen at M1 (auth A1, terminal T1,
  line 2), E2 use 500 at M1 (auth A2, line 3), E3 use 300 at M2 (online, line 4), E4 cancel 200 of E1 (line 5);
- inbox file `terminal/T1/T1_20261102_0001.jsonl` (sha TERMINAL_SHA): T1 seq 1 (A1, line 1), seq 2 (A2, line 2);
- an unrelated file OTHER_SHA with E9 (use 800 at M3, never paid);
- a partner's online-sales file (sha SALES_SHA) whose order O-3 is E3 (the ledger's partner_txn_id);
- items I1 (M1, 1,300 = 1,000 + 500 − 200) and I2 (M2, 300), I9 (M3, 800, held); statements ST1 and ST2;
- payouts PO1 (M1, 1,300; fee 0) and PO2 (M2, 300 − 110 fee borne by the merchant = 190) in batch B1 whose
  file was prepared; then PO1 came back 振込不能 and PO3 (M1, 1,300) paid it again in batch B2 (whose file
  payments.batches does not name, as the payments code leaves it today: audit.outputs recorded it);
- break BRK-1 whose right side is line 4 of the ledger file (its `expected` holds a My Number);
- step runs: ingest 2026-11-02, build_marts and payments 2026-11-03, payments 2026-11-06.

Tables carry the real DDL where a room owns it (raw, payments, recon.breaks, audit); the two staging views and
the item mart are tables with the columns the trace reads.
"""

from __future__ import annotations

import datetime as dt
import json

from audit import StepRun, record_step_run
from audit import chain as audit_chain
from audit.outputs import OUTPUTS, ensure_outputs
from contracts.codes import my_number_check_digit
from ingestion.schema import ensure_raw_schema
from payments.schema import ensure_schema
from reconciliation.breaks import ensure_break_store

LEDGER_SHA, TERMINAL_SHA, OTHER_SHA, SALES_SHA = "a" * 64, "b" * 64, "c" * 64, "d" * 64
LEDGER_PATH, TERMINAL_PATH = "platform/ledger_20261102.csv", "terminal/T1/T1_20261102_0001.jsonl"
D, D_PLAN, D_REPAY = dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 6)
MY_NUMBER = "12345678901" + str(my_number_check_digit("12345678901"))
MUNI = "012025"
T0 = dt.datetime(2026, 11, 2, 22, 0, tzinfo=dt.UTC)

EVENTS = (  # event_id, type, amount, merchant, auth, terminal, cancel_of, channel, file, line
    ("E1", "use", 1000, "M1", "A1", "T1", None, "terminal", LEDGER_SHA, 2),
    ("E2", "use", 500, "M1", "A2", "T1", None, "terminal", LEDGER_SHA, 3),
    ("E3", "use", 300, "M2", None, None, None, "online", LEDGER_SHA, 4),
    ("E4", "cancel", 200, "M1", None, None, "E1", "online", LEDGER_SHA, 5),
    ("E9", "use", 800, "M3", None, None, None, "online", OTHER_SHA, 2),
)


def build(con, *, b2_outputs: bool = True) -> None:
    """The world in `con`; `b2_outputs`: also B2's file and manifests in audit.outputs (not on any disk)."""
    ensure_raw_schema(con)
    ensure_schema(con)
    ensure_break_store(con)
    ensure_outputs(con)
    _raw(con)
    _marts(con)
    _payments(con)
    con.execute("insert into recon.breaks (break_id, break_code, pair, business_date, municipality_code, "
                "right_source, right_key, expected, amount_at_risk_yen, status, first_seen_date, last_seen_date, "
                "left_lineage, right_lineage) values ('BRK-1', 'use_missing_in_terminal', 'terminal~platform', ?, "
                "?, 'platform', 'E3', ?, 300, 'open', ?, ?, '[]', ?)",
                [D, MUNI, f"card {MY_NUMBER}", D, D, json.dumps([{"file_sha256": LEDGER_SHA, "line_number": 4}])])
    for step, date, minutes in (("ingest", D, 0), ("build_marts", D_PLAN, 60), ("payments", D_PLAN, 70),
                                ("payments", D_REPAY, 5000)):
        start = T0 + dt.timedelta(minutes=minutes)
        record_step_run(con, StepRun(date, step, start, start + dt.timedelta(seconds=3), {}))
    if not b2_outputs:
        return
    b2 = f"out/{D_REPAY}/payments/{MUNI}_2026-11-09_B2"
    audit_chain.append(con, OUTPUTS, [
        {"path": f"{b2}{suffix}", "kind": kind, "business_date": D_REPAY, "sha256": digest * 32, "bytes": 240,
         "written_at": T0 + dt.timedelta(days=4), "step": step}
        for suffix, kind, digest, step in ((".txt", "payment_file", "b2", "payments_prepare"),
                                           (".manifest.json", "payment_manifest", "m1", "payments_prepare"),
                                           (".manifest.json", "payment_manifest", "m2", "payments_approve"))])


def _raw(con) -> None:
    for sha, path, source, kind in ((LEDGER_SHA, LEDGER_PATH, "platform", "platform_ledger"),
                                    (TERMINAL_SHA, TERMINAL_PATH, "terminal", "terminal_log"),
                                    (OTHER_SHA, "platform/ledger_20261102_2.csv", "platform", "platform_ledger"),
                                    (SALES_SHA, "partner/P01/sales_20261102.csv", "partner", "partner_sales")):
        con.execute("insert into raw.file_manifest (file_sha256, path, source, kind, business_date, status, "
                    "ingested_at, ingest_run_date) values (?, ?, ?, ?, ?, 'loaded', ?, ?)",
                    [sha, path, source, kind, D, dt.datetime(2026, 11, 2, 22, 0), D])
    con.executemany("insert into raw.platform_ledger (event_id, event_ts, municipality_code, mykey_id, event_type, "
                    "amount, merchant_id, auth_id, terminal_id, cancel_of, channel, file_sha256, line_number, "
                    "business_date) values (?, ?, ?, 'MK0000001', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[e[0], dt.datetime(2026, 11, 2, 9, i), MUNI, e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8],
                      e[9], D] for i, e in enumerate(EVENTS)])
    con.execute("update raw.platform_ledger set partner_code = 'P01', partner_txn_id = 'O-3' where event_id = 'E3'")
    con.execute("insert into raw.partner_sales (order_id, order_ts, municipality_code, merchant_id, points_used, "
                "status, partner_code, file_sha256, line_number, business_date) values ('O-3', ?, ?, 'M2', 300, "
                "'completed', 'P01', ?, 2, ?)", [dt.datetime(2026, 11, 2, 9, 2), MUNI, SALES_SHA, D])
    con.executemany("insert into raw.terminal_records (terminal_id, seq, type, ts, merchant_id, municipality_code, "
                    "mykey_id, amount, auth_id, file_sha256, line_number, business_date) values "
                    "('T1', ?, 'use', ?, 'M1', ?, 'MK0000001', ?, ?, ?, ?, ?)",
                    [[1, dt.datetime(2026, 11, 2, 9, 0), MUNI, 1000, "A1", TERMINAL_SHA, 1, D],
                     [2, dt.datetime(2026, 11, 2, 9, 1), MUNI, 500, "A2", TERMINAL_SHA, 2, D]])


def _marts(con) -> None:
    con.execute("create schema if not exists staging")
    con.execute("create schema if not exists marts")
    con.execute("create table staging.int_settlement__periods (event_id varchar, event_type varchar, "
                "event_date date, municipality_code varchar, merchant_id varchar, settlement_cycle varchar, "
                "settlement_day integer, period_start_date date, period_end_date date)")
    con.execute("create table staging.int_settlement__merchant_status (event_id varchar, event_type varchar, "
                "use_event_id varchar, is_designated boolean, merchant_status varchar, settlement_status varchar)")
    con.execute("create table marts.fct_settlement_items (settlement_item_id varchar, municipality_code varchar, "
                "merchant_id varchar, period_start_date date, period_end_date date, settlement_status varchar, "
                "use_count bigint, cancel_count bigint, amount_yen bigint, is_payable boolean)")
    for event_id, event_type, _, merchant, *_ in EVENTS:
        status = "held_inactive_merchant" if merchant == "M3" else "payable"
        con.execute("insert into staging.int_settlement__periods values (?, ?, ?, ?, ?, 'daily', null, ?, ?)",
                    [event_id, event_type, D, MUNI, merchant, D, D])
        con.execute("insert into staging.int_settlement__merchant_status values (?, ?, null, true, 'active', ?)",
                    [event_id, event_type, status])
    con.executemany("insert into marts.fct_settlement_items values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [["I1", MUNI, "M1", D, D, "payable", 2, 1, 1300, True],
                     ["I2", MUNI, "M2", D, D, "payable", 1, 0, 300, True],
                     ["I9", MUNI, "M3", D, D, "held_inactive_merchant", 1, 0, 800, False]])


def _payments(con) -> None:
    at = dt.datetime(2026, 11, 3, 7, 0)
    for statement, merchant, item, amount in (("ST1", "M1", "I1", 1300), ("ST2", "M2", "I2", 300)):
        con.execute("insert into payments.statements values (?, ?, ?, 'daily', ?, ?, ?, ?, 0, ?, ?, ?)",
                    [statement, MUNI, merchant, D, D, amount, amount, json.dumps([item]), D_PLAN, at])
    for batch, date, transfer, count, total in (("B1", D_PLAN, dt.date(2026, 11, 5), 2, 1490),
                                                ("B2", D_REPAY, dt.date(2026, 11, 9), 1, 1300)):
        con.execute("insert into payments.batches values (?, ?, ?, ?, '1234567890', 'ｼﾔｸｼﾖ', '0001', '001', 1, "
                    "'1234567', ?, ?, 110, ?, ?, ?, 'alice', 'bob', ?)",
                    [batch, MUNI, date, transfer, count, total, at,  # B2's file is known from audit.outputs only
                     f"out/{date}/payments/{MUNI}_{transfer}_{batch}.txt" if batch == "B1" else None,
                     batch.lower() * 32 if batch == "B1" else None, at])
    payouts = (("PO1", "B1", "M1", D_PLAN, 1300, 0, "payer", 1300, None, "requeued"),
               ("PO2", "B1", "M2", D_PLAN, 300, 110, "payee", 190, None, "issued"),
               ("PO3", "B2", "M1", D_REPAY, 1300, 0, "payer", 1300, "PO1", "issued"))
    for payout_id, batch, merchant, date, amount, fee, bearer, transfer, requeue_of, state in payouts:
        con.execute("insert into payments.payouts values (?, ?, ?, ?, ?, ?, '0005', '001', 1, '7654321', 'ｶ)ﾃｽﾄ', "
                    "'owner', ?, ?, ?, ?, ?, ?)",
                    [payout_id, batch, MUNI, merchant, date, date + dt.timedelta(days=2), amount, fee, bearer,
                     transfer, requeue_of, state])
    con.executemany("insert into payments.payout_items values (?, ?, ?, ?)",
                    [["ST1", "PO1", "statement", 1300], ["ST2", "PO2", "statement", 300],
                     ["PO1", "PO3", "returned_payout", 1300]])
