"""A hand-built warehouse for the merchant-statement tests: a few payments rows and the marts columns the
statement reads, with every expected figure worked out by hand in the docstrings below (not by the code).

Municipality 242012 津市. Business date D = 2026-11-30 (Monday), transfer date 2026-12-01.

PO-A (M00000001 山田商店, fee borne by the merchant, other bank, fee 770 for ≥ 30,000):
  statement ST-A1, 2026-11-01..07: uses 3 = 12,000, cancels 1 = 2,000 → 10,000 frozen; held in that period:
      1 use of 1,500 (held_undesignated)
  statement ST-A2, 2026-11-08..14: uses 2 = 25,000 → 25,000 frozen
  adjustment AD-A1 of period 2026-10-25..31, seq 1: +800 (a late use)
  remainder RM-OLD of an earlier payout: +51
  uses 6 = 38,500; cancels 1 = 2,000; items 36,500; held 1,500; adjustments 800; carried in 51
  sources 10,000 + 25,000 + 800 + 51 = 35,851 = amount; transfer = 35,851 − 770 = 35,081
PO-B (M00000002 鈴木パン, fee borne by the merchant, fees 550 < 30,000 ≤ 770):
  statement ST-B1, 2026-11-15..21: uses 4 = 31,000, cancels 2 = 400 → 30,600
  no t with t + fee(t) = 30,600: t = 29,999, fee 550, amount 30,549, carried out 51 (RM-B)
PO-C (M00000003 佐藤書店, fee borne by the municipality, 440): statement ST-C1, 2026-11-22..28: uses 1 = 50,000
  → transfer 50,000, fee 440 not deducted.
PO-R (M00000004 田中青果, planned 2026-11-20, fee 220 borne by the municipality): statement ST-R1, 2026-11-08..14:
  uses 1 = 7,000 → transfer 7,000; the bank returned it (振込不能), state requeued.
PO-D (M00000004, on D, fee 220 by the municipality): its only source is the returned PO-R → items 0, carried in
  7,000, transfer 7,000; PO-R's statement says PO-D paid it again.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from payments.schema import ensure_schema

MUNI = "242012"
D = dt.date(2026, 11, 30)
TRANSFER = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 11, 30, 9, 0)
ACCOUNTS = {"M00000001": "1234567", "M00000002": "7654321", "M00000003": "0012345", "M00000004": "5550001"}

MARTS_DDL = (
    "create schema if not exists marts",
    """create table marts.fct_settlement_items (settlement_item_id varchar, municipality_code varchar,
        merchant_id varchar, settlement_cycle varchar, period_start_date date, period_end_date date,
        settlement_status varchar, is_payable boolean, use_count bigint, use_amount_yen bigint,
        cancel_count bigint, cancel_amount_yen bigint, amount_yen bigint)""",
    """create table marts.dim_municipalities (municipality_code varchar, name varchar, valid_from date,
        valid_to date, fee_bearer varchar)""",
    """create table marts.dim_merchants (merchant_id varchar, name varchar, valid_from date, valid_to date)""",
)


def _d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


def build(con: duckdb.DuckDBPyConnection) -> None:
    for statement in MARTS_DDL:
        con.execute(statement)
    ensure_schema(con)
    con.execute("insert into marts.dim_municipalities values (?, '津市', '2020-01-01', null, 'payee')", [MUNI])
    con.executemany("insert into marts.dim_merchants values (?, ?, '2020-01-01', null)",
                    [("M00000001", "山田商店"), ("M00000002", "鈴木パン"), ("M00000003", "佐藤書店"),
                     ("M00000004", "田中青果")])
    items = [  # id, merchant, start, end, status, uses, use yen, cancels, cancel yen
        ("I-A1", "M00000001", _d(11, 1), _d(11, 7), "payable", 3, 12_000, 1, 2_000),
        ("I-A1H", "M00000001", _d(11, 1), _d(11, 7), "held_undesignated", 1, 1_500, 0, 0),
        ("I-A2", "M00000001", _d(11, 8), _d(11, 14), "payable", 2, 25_000, 0, 0),
        ("I-B1", "M00000002", _d(11, 15), _d(11, 21), "payable", 4, 31_000, 2, 400),
        ("I-C1", "M00000003", _d(11, 22), _d(11, 28), "payable", 1, 50_000, 0, 0),
        ("I-R1", "M00000004", _d(11, 8), _d(11, 14), "payable", 1, 7_000, 0, 0),
    ]
    con.executemany("insert into marts.fct_settlement_items values (?, ?, ?, 'weekly', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(i, MUNI, m, s, e, st, st == "payable", uc, uy, cc, cy, uy - cy)
                     for i, m, s, e, st, uc, uy, cc, cy in items])
    statements = [("ST-A1", "M00000001", _d(11, 1), _d(11, 7), 12_000, 2_000, ["I-A1"]),
                  ("ST-A2", "M00000001", _d(11, 8), _d(11, 14), 25_000, 0, ["I-A2"]),
                  ("ST-B1", "M00000002", _d(11, 15), _d(11, 21), 31_000, 400, ["I-B1"]),
                  ("ST-C1", "M00000003", _d(11, 22), _d(11, 28), 50_000, 0, ["I-C1"]),
                  ("ST-OLD", "M00000001", _d(10, 25), _d(10, 31), 5_000, 0, []),
                  ("ST-R1", "M00000004", _d(11, 8), _d(11, 14), 7_000, 0, ["I-R1"])]
    con.executemany("insert into payments.statements values (?, ?, ?, 'weekly', ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(sid, MUNI, m, s, e, u - c, u, c, json.dumps(ids), e, NOW)
                     for sid, m, s, e, u, c, ids in statements])
    con.execute("insert into payments.adjustments values ('AD-A1', 'ST-OLD', 1, ?, 'M00000001', ?, ?, 800, 5800, ?, ?)",
                [MUNI, _d(10, 25), _d(10, 31), _d(11, 20), NOW])
    con.execute("insert into payments.remainders values ('RM-OLD', 'PO-OLD', ?, 'M00000001', 51, ?)",
                [MUNI, _d(11, 2)])
    con.execute("insert into payments.remainders values ('RM-B', 'PO-B', ?, 'M00000002', 51, ?)", [MUNI, D])
    payouts = [("PO-A", "PB-1", "M00000001", D, "0009", "045", 35_851, 770, "payee", 35_081, None, "pending"),
               ("PO-B", "PB-1", "M00000002", D, "0009", "045", 30_549, 550, "payee", 29_999, None, "pending"),
               ("PO-C", "PB-1", "M00000003", D, "0001", "002", 50_000, 440, "payer", 50_000, None, "pending"),
               ("PO-R", "PB-0", "M00000004", _d(11, 20), "0001", "002", 7_000, 220, "payer", 7_000, None,
                "requeued"),
               ("PO-D", "PB-1", "M00000004", D, "0001", "003", 7_000, 220, "payer", 7_000, "PO-R", "pending")]
    con.executemany("insert into payments.payouts values (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'ｼﾖｳﾃﾝ', "
                    "'other_bank', ?, ?, ?, ?, ?, ?)",
                    [(pid, batch, MUNI, m, day, day + dt.timedelta(days=1), bank, branch, ACCOUNTS[m], amount, fee,
                      bearer, transfer, requeue_of, state)
                     for pid, batch, m, day, bank, branch, amount, fee, bearer, transfer, requeue_of, state in payouts])
    con.executemany("insert into payments.batches (batch_id, municipality_code, business_date, transfer_date, "
                "client_code, client_name_kana, payer_bank_code, payer_branch_code, payer_account_type, "
                "payer_account_number, payout_count, total_transfer_yen, total_fee_yen, planned_at) values "
                "(?, ?, ?, ?, '1224201200', 'ﾂｼ', '0001', '001', 1, '1111111', ?, ?, ?, ?)",
                [["PB-1", MUNI, D, TRANSFER, 4, 122_080, 1_980, NOW],
                 ["PB-0", MUNI, _d(11, 20), _d(11, 21), 1, 7_000, 220, NOW]])
    con.executemany("insert into payments.payout_items values (?, ?, ?, ?)", [
        ("ST-A1", "PO-A", "statement", 10_000), ("ST-A2", "PO-A", "statement", 25_000),
        ("AD-A1", "PO-A", "adjustment", 800), ("RM-OLD", "PO-A", "remainder", 51),
        ("ST-B1", "PO-B", "statement", 30_600), ("ST-C1", "PO-C", "statement", 50_000),
        ("ST-R1", "PO-R", "statement", 7_000), ("PO-R", "PO-D", "returned_payout", 7_000)])


def world() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    build(con)
    return con
