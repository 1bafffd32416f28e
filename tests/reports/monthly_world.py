"""A hand-built warehouse for the monthly report tests: only the tables and columns the figures read, with a
handful of rows whose totals are worked out by hand below (EXPECTED). Municipality A (011002) has October and
November 2026; B (022004) one grant in November; nothing exists for November 2025.

November for A, by hand:
  opening (October: grant 5,000 − use 1,000)                           4,000
  granted: partner 3,000 (A-CNV), charged 10,000 (A-PRE), adjust +500   13,500
  used: 2,500 at M1 (store) − cancel 300, 4,000 at M2 (online)           6,200
  expired: lot L4 (500) on 11-15                                           500
  negative adjust from L2                                                  200
  closing = 4,000 + 13,500 − 6,200 − 500 − 200                         10,600
  remaining by lot at 11-30: L1 1,800 (2027-03-31), L2 2,800 (2027-05-31), L3 6,000 (no expiry)
Cost (rates of 2026-11-15): ledger events 7 × 0.25 = 1.75 → 2; terminal records 2 × 0.1 = 0.2 → 0;
  transfers 2 × 12 = 24; bank statements 2 × 5 = 10; storage (not counted) —; fees borne 220 → 256.
October: ledger events 2 × 0.3 = 0.6 → 1; terminal 1 × 0.1 → 0 → 1 yen; 1 use of 1,000 yen.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from contracts.codes import my_number_check_digit

D = dt.date
A, B = "011002", "022004"
MYKEY_IDS = ("MKa1b2c3d4e5", "MKz9y8x7w6v5")  # must never appear in any output
# a check-digit-valid My Number typed into a programme name by mistake: never printed whole
MY_NUMBER = "12345678901" + str(my_number_check_digit("12345678901"))
FORMULA_NAME = '=HYPERLINK("http://x")見本町ポイント'  # must stay text in the workbook

DDL = """
create schema marts; create schema payments; create schema recon; create schema staging;
create table marts.fct_ledger_entries (posting_group_id varchar, movement_id varchar, event_type varchar,
    movement_kind varchar, business_date date, municipality_code varchar, mykey_id varchar, account varchar,
    program_code varchar, funding varchar, merchant_id varchar, lot_event_id varchar, debit_yen bigint,
    credit_yen bigint);
create table marts.fct_point_lots (lot_event_id varchar, expiry_date date);
create table marts.dim_programs (program_code varchar, name varchar, valid_from date);
create table marts.dim_merchants (merchant_id varchar, category varchar, channel varchar, valid_from date);
create table marts.dim_municipalities (municipality_code varchar, name varchar, prefecture varchar, valid_from date,
    payer_bank_code varchar, payer_branch_code varchar, payer_account_number varchar);
create table marts.fct_settlement_items (municipality_code varchar, period_end_date date, settlement_status varchar,
    amount_yen bigint);
create table marts.fct_prepaid_unused_balances (municipality_code varchar, reference_date date,
    unused_balance_yen bigint, is_threshold_exceeded boolean, deposit_required_yen bigint,
    deposit_deadline_date date);
create table payments.payouts (payout_id varchar, municipality_code varchar, merchant_id varchar, business_date date,
    transfer_date date, amount_yen bigint, fee_yen bigint, fee_bearer varchar, transfer_yen bigint, state varchar);
create table payments.statements (municipality_code varchar, amount_yen bigint, frozen_on date);
create table payments.adjustments (municipality_code varchar, amount_yen bigint, found_on date);
create table recon.breaks (break_id varchar, break_code varchar, municipality_code varchar, first_seen_date date,
    status varchar, resolved_date date, amount_at_risk_yen bigint);
create table staging.stg_master__cost_rates (snapshot_date date, item varchar, unit varchar, yen_per_unit varchar);
create table staging.stg_terminal__records (municipality_code varchar, business_date date, mykey_id varchar);
create table staging.stg_bank__statements (bank_code varchar, branch_code varchar, account_number varchar,
    business_date date);
"""

LIABILITY = "resident_point_liability"


def _pair(event: str, event_type: str, kind: str, day: dt.date, muni: str, lot: str, amount: int,
          liability_side: str, other_account: str, *, program: str | None = None, funding: str | None = None,
          merchant: str | None = None, who: str = MYKEY_IDS[0]) -> list[tuple]:
    """One movement as its two postings; liability_side 'credit' adds points to the resident, 'debit' takes."""
    movement = f"{event}|{lot}|{kind}"
    debit, credit = (0, amount) if liability_side == "credit" else (amount, 0)
    return [(event, movement, event_type, kind, day, muni, who, LIABILITY, program, funding, None, lot, debit, credit),
            (event, movement, event_type, kind, day, muni, who, other_account, None, None,
             merchant if other_account == "merchant_payable" else None, lot, credit, debit)]


def ledger_rows() -> list[tuple]:
    rows: list[tuple] = []
    rows += _pair("L1", "grant", "create", D(2026, 10, 5), A, "L1", 5000, "credit", "municipal_point_expense",
                  program="A-BEN", funding="municipal_budget")
    rows += _pair("U0", "use", "consume", D(2026, 10, 20), A, "L1", 1000, "debit", "merchant_payable",
                  program="A-BEN", funding="municipal_budget", merchant="M1")
    rows += _pair("L2", "grant", "create", D(2026, 11, 2), A, "L2", 3000, "credit", "partner_receivable",
                  program="A-CNV", funding="partner", who=MYKEY_IDS[1])
    rows += _pair("L3", "charge", "create", D(2026, 11, 3), A, "L3", 10000, "credit", "acquirer_receivable",
                  program="A-PRE", funding="prepaid")
    rows += _pair("L4", "adjust", "create", D(2026, 11, 4), A, "L4", 500, "credit", "point_adjustment",
                  program="A-BEN", funding="municipal_budget")
    rows += _pair("U1", "use", "consume", D(2026, 11, 5), A, "L1", 2500, "debit", "merchant_payable",
                  program="A-BEN", funding="municipal_budget", merchant="M1")
    rows += _pair("U2", "use", "consume", D(2026, 11, 6), A, "L3", 4000, "debit", "merchant_payable",
                  program="A-PRE", funding="prepaid", merchant="M2")
    rows += _pair("C1", "cancel", "restore", D(2026, 11, 7), A, "L1", 300, "credit", "merchant_payable",
                  program="A-BEN", funding="municipal_budget", merchant="M1")
    rows += _pair("X4", "expire", "expire", D(2026, 11, 15), A, "L4", 500, "debit", "expired_points",
                  program="A-BEN", funding="municipal_budget")
    rows += _pair("N1", "adjust", "consume", D(2026, 11, 20), A, "L2", 200, "debit", "point_adjustment",
                  program="A-CNV", funding="partner", who=MYKEY_IDS[1])
    rows += _pair("LB1", "grant", "create", D(2026, 11, 9), B, "LB1", 1000, "credit", "municipal_point_expense",
                  program="B-BEN", funding="municipal_budget")
    return rows


def build(path) -> None:
    """Write the hand-built warehouse at `path`."""
    with duckdb.connect(str(path)) as con:
        con.execute(DDL)
        con.executemany("insert into marts.fct_ledger_entries values (" + ", ".join("?" * 14) + ")", ledger_rows())
        con.executemany("insert into marts.fct_point_lots values (?, ?)", [
            ("L1", D(2027, 3, 31)), ("L2", D(2027, 5, 31)), ("L3", None), ("L4", D(2026, 11, 15)), ("LB1", None)])
        con.executemany("insert into marts.dim_programs values (?, ?, ?)", [
            ("A-BEN", "テスト市おでかけポイント", D(2026, 1, 1)),
            ("A-CNV", f"テスト市交換ポイント{MY_NUMBER}", D(2026, 1, 1)),
            ("A-PRE", "テスト市チャージポイント", D(2026, 1, 1)), ("B-BEN", FORMULA_NAME, D(2026, 1, 1))])
        con.executemany("insert into marts.dim_merchants values (?, ?, ?, ?)", [
            ("M1", "食料品", "store", D(2026, 1, 1)), ("M2", "通信販売", "online", D(2026, 1, 1)),
            ("M3", "家電", "store", D(2026, 1, 1))])
        con.executemany("insert into marts.dim_municipalities values (?, ?, ?, ?, ?, ?, ?)", [
            (A, "テスト市", "北海道", D(2026, 1, 1), "0001", "001", "1234567"),
            (B, "見本町<&>", "青森県", D(2026, 1, 1), "0005", "002", "7654321")])
        con.executemany("insert into marts.fct_settlement_items values (?, ?, ?, ?)", [
            (A, D(2026, 11, 10), "payable", 2200), (A, D(2026, 11, 27), "payable", 4000),
            (A, D(2026, 11, 20), "payable", 1000), (A, D(2026, 11, 25), "payable", 5000),
            (A, D(2026, 11, 28), "payable", 600), (A, D(2026, 11, 15), "held_undesignated", 800),
            (A, D(2026, 10, 31), "payable", 1000), (A, D(2026, 12, 5), "payable", 900)])
        con.executemany("insert into marts.fct_prepaid_unused_balances values (?, ?, ?, ?, ?, ?)", [
            (A, D(2026, 9, 30), 12_000_000, True, 6_000_000, D(2026, 11, 30)),
            (A, D(2027, 3, 31), 1, False, 0, D(2027, 5, 31))])
        con.executemany("insert into payments.payouts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ("P1", A, "M1", D(2026, 11, 10), D(2026, 11, 12), 2200, 220, "payer", 2200, "confirmed"),
            ("P2", A, "M2", D(2026, 11, 27), D(2026, 12, 1), 4000, 550, "payee", 3450, "issued"),
            ("P3", A, "M1", D(2026, 11, 20), D(2026, 11, 24), 1000, 0, "payer", 1000, "returned"),
            ("P4", A, "M3", D(2026, 11, 25), D(2026, 11, 27), 5000, 550, "payee", 4450, "batched")])
        con.executemany("insert into payments.statements values (?, ?, ?)", [
            (A, 2200, D(2026, 11, 10)), (A, 4000, D(2026, 11, 27)), (A, 1000, D(2026, 11, 20)),
            (A, 5000, D(2026, 11, 25)), (A, 700, D(2026, 11, 28)), (A, 900, D(2026, 12, 2))])
        con.execute("insert into payments.adjustments values (?, ?, ?)", (A, -100, D(2026, 11, 29)))
        con.executemany("insert into recon.breaks values (?, ?, ?, ?, ?, ?, ?)", [
            ("B1", "amount_mismatch", A, D(2026, 11, 10), "open", None, 1000),
            ("B2", "amount_mismatch", A, D(2026, 11, 20), "resolved", D(2026, 12, 3), 500),
            ("B3", "terminal_seq_gap", A, D(2026, 11, 25), "pending", None, 0),
            ("B4", "amount_mismatch", A, D(2026, 11, 1), "resolved", D(2026, 11, 28), 700),
            ("B5", "amount_mismatch", A, D(2026, 12, 2), "open", None, 300),
            ("B6", "amount_mismatch", B, D(2026, 11, 2), "open", None, 50)])
        rates = [("ledger_event", "event", "0.3"), ("terminal_record", "record", "0.1"),
                 ("payout_transfer", "transfer", "12"), ("bank_statement", "file", "5")]
        con.executemany("insert into staging.stg_master__cost_rates values (?, ?, ?, ?)",
                        [(D(2026, 10, 1), *r) for r in rates]
                        + [(D(2026, 11, 15), *r) for r in [("ledger_event", "event", "0.25"), *rates[1:],
                                                            ("storage", "GB", "3.5")]])
        con.executemany("insert into staging.stg_terminal__records values (?, ?, ?)", [
            (A, D(2026, 10, 20), MYKEY_IDS[0]), (A, D(2026, 11, 5), MYKEY_IDS[0]), (A, D(2026, 11, 7), MYKEY_IDS[0]),
            (A, D(2026, 12, 1), MYKEY_IDS[0]), (B, D(2026, 11, 9), MYKEY_IDS[1])])
        con.executemany("insert into staging.stg_bank__statements values (?, ?, ?, ?)", [
            ("0001", "001", "1234567", D(2026, 11, 4)), ("0001", "001", "1234567", D(2026, 11, 18)),
            ("0009", "001", "1234567", D(2026, 11, 18)), ("0001", "001", "1234567", D(2026, 12, 1))])
