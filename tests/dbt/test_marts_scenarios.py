"""Hand-computed cases for the FIFO engine and the marts, all in ONE dbt build (each case its own resident).

The FIFO lives in a dbt Python model, which dbt unit tests cannot run, so its tricky cases are checked here on
tiny raw fixtures; the SQL-only rules (expiry dates, fiscal years, leap day, annual cap, settlement periods)
have dbt unit tests in the model YAML, which run inside the same build.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest
from conftest import new_warehouse
from marts_rawdb import insert
from marts_worlds import Ledger, at, write_masters

BUILD_DATE = date(2024, 10, 1)
CHY, SGM, TSU = "131016", "141500", "242012"


@pytest.fixture(scope="module")
def built(marts_home, dbt_build):
    path, con = new_warehouse(marts_home)
    write_masters(con)
    ledger = Ledger()
    ids: dict[str, str] = {}

    # 1. One use spanning three lots with different expiries (order: earliest expiry first, none last).
    d = date(2024, 4, 1)
    ids["span_d30"] = ledger.grant(at(d, 9), CHY, "SPAN0001", "CHY_D30", 100)      # expires 1 May
    ids["span_d10"] = ledger.grant(at(d, 9, 1), CHY, "SPAN0001", "CHY_D10", 200)   # expires 11 Apr
    ids["span_pre"] = ledger.charge(at(d, 9, 2), CHY, "SPAN0001", "CHY_PRE", 300)  # never expires
    ids["span_use"] = ledger.use(at(date(2024, 4, 2), 10), CHY, "SPAN0001", 450)

    # 2. A partial cancel after one of its lots expired: the part given back to the expired lot lapses.
    ids["pc_d10"] = ledger.grant(at(d, 9), CHY, "PCAN0001", "CHY_D10", 100)        # expires 11 Apr
    ids["pc_d30"] = ledger.grant(at(d, 9, 1), CHY, "PCAN0001", "CHY_D30", 200)     # expires 1 May
    ids["pc_use"] = ledger.use(at(date(2024, 4, 2), 10), CHY, "PCAN0001", 250)     # D10 100, D30 150
    ids["pc_cancel"] = ledger.cancel(at(date(2024, 4, 20), 10), CHY, "PCAN0001", ids["pc_use"], 180)

    # 3. fiscal_year_end:0: a grant on 31 March lapses that night; one on 1 April lasts a year.
    ids["fy_mar"] = ledger.grant(at(date(2024, 3, 31), 10), CHY, "FYEA0001", "CHY_BEN", 100)
    ids["fy_use1"] = ledger.use(at(date(2024, 3, 31), 23, 59, 59), CHY, "FYEA0001", 40)  # last second: allowed
    ids["fy_apr"] = ledger.grant(at(date(2024, 4, 1), 0, 0, 1), CHY, "FYEA0001", "CHY_BEN", 100)
    ids["fy_use2"] = ledger.use(at(date(2024, 4, 1), 12), CHY, "FYEA0001", 100)

    # 4. Annual cap 5,000 (CHY_BEN) reached exactly, then passed by 1.
    ids["cap_1"] = ledger.grant(at(date(2024, 5, 1)), CHY, "CAPS0001", "CHY_BEN", 3000)
    ids["cap_2"] = ledger.grant(at(date(2024, 6, 1)), CHY, "CAPS0001", "CHY_BEN", 2000)
    ids["cap_3"] = ledger.grant(at(date(2024, 7, 1)), CHY, "CAPS0001", "CHY_BEN", 1)

    # 5. Weekly settlement (Sunday) across a month end, with held uses kept apart.
    ids["wk_g"] = ledger.grant(at(date(2024, 5, 1)), CHY, "WEEK0001", "CHY_PRE", 5000)
    ids["wk_u1"] = ledger.use(at(date(2024, 5, 30)), CHY, "WEEK0001", 700, "M00000002")   # Thu
    ids["wk_u2"] = ledger.use(at(date(2024, 6, 1)), CHY, "WEEK0001", 300, "M00000002")    # Sat
    ids["wk_c"] = ledger.cancel(at(date(2024, 6, 2)), CHY, "WEEK0001", ids["wk_u1"], 100, "M00000002")
    ids["wk_u3"] = ledger.use(at(date(2024, 6, 3)), CHY, "WEEK0001", 50, "M00000002")     # next week
    ids["wk_undes"] = ledger.use(at(date(2024, 5, 31)), CHY, "WEEK0001", 11, "M00000004")  # undesignated
    ids["wk_susp"] = ledger.use(at(date(2024, 5, 31)), CHY, "WEEK0001", 13, "M00000003")   # suspended

    # 6. Prepaid 基準日: 10,000,001 unused on 31 March 2024 -> deposit 5,000,001 by 31 May.
    ids["pp_1"] = ledger.charge(at(date(2024, 1, 10)), SGM, "PREP0001", "SGM_PRE", 6_000_000)  # exp 8 Jul
    ids["pp_2"] = ledger.charge(at(date(2024, 3, 31), 23), SGM, "PREP0001", "SGM_PRE", 4_000_001)  # exp 27 Sep
    ids["pp_use"] = ledger.use(at(date(2024, 4, 1)), SGM, "PREP0001", 1)

    # 7. A use bigger than the balance: the uncovered part is a shortfall, never a negative lot.
    ids["sf_g"] = ledger.grant(at(date(2024, 4, 1)), TSU, "SHRT0001", "TSU_BEN", 100)
    ids["sf_use"] = ledger.use(at(date(2024, 4, 2)), TSU, "SHRT0001", 130)

    # 8. Negative adjust takes from its programme's lots only; the platform's own expire is kept apart.
    ids["adj_ben"] = ledger.grant(at(date(2024, 4, 1)), SGM, "ADJS0001", "SGM_D1", 50)     # expires 2 Apr
    ids["adj_pre"] = ledger.charge(at(date(2024, 4, 1), 13), SGM, "ADJS0001", "SGM_PRE", 500)
    ids["adj_neg"] = ledger.adjust(at(date(2024, 4, 1), 14), SGM, "ADJS0001", "SGM_PRE", -120)
    ids["adj_pexp"] = ledger.platform_expire(date(2024, 4, 2), SGM, "ADJS0001", "SGM_D1", ids["adj_ben"], 50)

    # 9. A negative adjust larger than its programme's lots: the uncovered 30 is credited to point_adjustment.
    ids["adjx_d30"] = ledger.grant(at(date(2024, 6, 1), 9), CHY, "ADJN0001", "CHY_D30", 100)
    ids["adjx_pre"] = ledger.charge(at(date(2024, 6, 1), 9, 1), CHY, "ADJN0001", "CHY_PRE", 100)
    ids["adjx_neg"] = ledger.adjust(at(date(2024, 6, 2), 9), CHY, "ADJN0001", "CHY_D30", -130)

    # 10. Daily cycle (津市): a cancel settled two periods after its use nets that period negative.
    ids["neg_g"] = ledger.charge(at(date(2024, 5, 9)), TSU, "NEGS0001", "TSU_PRE", 1000)
    ids["neg_use"] = ledger.use(at(date(2024, 5, 10)), TSU, "NEGS0001", 400, "M00000002")
    ids["neg_can"] = ledger.cancel(at(date(2024, 5, 12)), TSU, "NEGS0001", ids["neg_use"], 150, "M00000002")

    # 11. A grant of a programme in no snapshot in force on its date: no expiry, no funding, a warning.
    ids["unk_g"] = ledger.grant(at(date(2024, 4, 1)), CHY, "UNKP0001", "CHY_GONE", 100)

    ledger.write(con)
    insert(con, "partner_conversion", [
        {"partner_code": "CARDCO", "partner_txn_id": "X1", "txn_ts": datetime(2024, 4, 5, 10), "mykey_id": "CONV0001",
         "municipality_code": CHY, "partner_points": 1000, "municipal_points": 1000, "amount_due_yen": 900,
         "status": "applied"},
        {"partner_code": "CARDCO", "partner_txn_id": "X1", "txn_ts": datetime(2024, 4, 20, 10), "mykey_id": "CONV0001",
         "municipality_code": CHY, "partner_points": 100, "municipal_points": 100, "amount_due_yen": 90,
         "status": "cancelled"},
        # X2 was cancelled before it took effect: no applied row anywhere, so it owes nothing.
        {"partner_code": "CARDCO", "partner_txn_id": "X2", "txn_ts": datetime(2024, 4, 25, 10), "mykey_id": "CONV0001",
         "municipality_code": CHY, "partner_points": 500, "municipal_points": 500, "amount_due_yen": 500,
         "status": "cancelled"},
        # Another partner's cancel with X1's txn id does not reverse CARDCO's X1 (and has no applied row itself).
        {"partner_code": "ACQ1", "partner_txn_id": "X1", "txn_ts": datetime(2024, 4, 26, 10), "mykey_id": "CONV0001",
         "municipality_code": CHY, "partner_points": 70, "municipal_points": 70, "amount_due_yen": 70,
         "status": "cancelled"},
        # X3: the cancel (3 May) arrives in an EARLIER file than its applied row (10 April, loaded 5 May).
        {"partner_code": "CARDCO", "partner_txn_id": "X3", "txn_ts": datetime(2024, 5, 3, 10), "mykey_id": "CONV0001",
         "municipality_code": CHY, "partner_points": 300, "municipal_points": 300, "amount_due_yen": 300,
         "status": "cancelled", "business_date": date(2024, 5, 3)},
        {"partner_code": "CARDCO", "partner_txn_id": "X3", "txn_ts": datetime(2024, 4, 10, 10), "mykey_id": "CONV0001",
         "municipality_code": CHY, "partner_points": 300, "municipal_points": 300, "amount_due_yen": 300,
         "status": "applied", "business_date": date(2024, 5, 5)},
    ])
    con.close()
    result = dbt_build(path, BUILD_DATE)
    return duckdb.connect(str(path), read_only=True), ids, result


def lot(con, lot_id):
    return con.execute("select consumed_yen, restored_yen, expired_yen, remaining_yen from marts.fct_point_lots "
                       "where lot_event_id = ?", [lot_id]).fetchone()


def allocations(con, event_id):
    return con.execute("select lot_event_id, net_consumed_yen from marts.fct_lot_consumptions "
                       "where event_id = ? order by allocation_seq", [event_id]).fetchall()


def balance(con, mykey, program, day=BUILD_DATE):
    row = con.execute("select balance_yen from marts.fct_balances where mykey_id = ? and program_code = ? "
                      "and business_date = ?", [mykey, program, day]).fetchone()
    return row[0] if row else None


def _unit_tests_in_the_project() -> int:
    """Counted from the model YAML files, not from dbt."""
    import yaml

    from seisan.marts import DBT_PROJECT_DIR

    return sum(len((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("unit_tests") or [])
               for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"))


def test_build_ran_unit_tests_and_data_tests(built):
    _, _, result = built
    assert "fct_settlement_items" in result.models_built
    assert result.tests_passed >= 100
    # A warehouse's first build runs every unit test of the project (seisan.marts.UNIT_TESTS_STAMP).
    assert result.unit_tests_passed == _unit_tests_in_the_project() > 0


def test_use_spans_three_lots_in_expiry_order(built):
    con, ids, _ = built
    assert allocations(con, ids["span_use"]) == [(ids["span_d10"], 200), (ids["span_d30"], 100),
                                                 (ids["span_pre"], 150)]
    assert lot(con, ids["span_pre"]) == (150, 0, 0, 150)
    assert balance(con, "SPAN0001", "CHY_PRE") == 150


def test_partial_cancel_after_a_lot_expired_lapses_that_part(built):
    con, ids, _ = built
    # cancel 180: last consumed first -> D30 gets 150 back, then D10 gets 30, which lapses (D10 expired 11 Apr)
    assert allocations(con, ids["pc_cancel"]) == [(ids["pc_d30"], -150), (ids["pc_d10"], -30)]
    assert lot(con, ids["pc_d10"]) == (100, 30, 30, 0)
    assert lot(con, ids["pc_d30"]) == (150, 150, 200, 0)  # expired 1 May with 200 back in it
    assert balance(con, "PCAN0001", "CHY_D30", date(2024, 4, 30)) == 200
    assert balance(con, "PCAN0001", "CHY_D10", date(2024, 4, 20)) == 0
    lapse = con.execute("select sum(credit_yen) from marts.fct_ledger_entries where posting_group_id = ? "
                        "and account = 'expired_points'", [ids["pc_cancel"]]).fetchone()[0]
    assert lapse == 30


def test_fiscal_year_end_0_on_31_march_vs_1_april(built):
    con, ids, _ = built
    assert con.execute("select expiry_date from marts.fct_point_lots where lot_event_id in (?, ?) "
                       "order by lot_event_id", [ids["fy_mar"], ids["fy_apr"]]).fetchall() == [
        (date(2024, 3, 31),), (date(2025, 3, 31),)]
    assert lot(con, ids["fy_mar"]) == (40, 0, 60, 0)
    assert allocations(con, ids["fy_use2"]) == [(ids["fy_apr"], 100)]


def test_annual_cap_reached_exactly_is_allowed(built):
    con, ids, _ = built
    flags = dict(con.execute("select lot_event_id, is_over_annual_cap from marts.fct_point_lots "
                             "where mykey_id = 'CAPS0001'").fetchall())
    assert flags == {ids["cap_1"]: False, ids["cap_2"]: False, ids["cap_3"]: True}


def test_weekly_settlement_across_month_end_and_held_uses(built):
    con, _, _ = built
    rows = con.execute("""
        select merchant_id, period_start_date, period_end_date, settlement_status, use_amount_yen,
               cancel_amount_yen, amount_yen, prepaid_yen
        from marts.fct_settlement_items where municipality_code = '131016'
            and merchant_id in ('M00000002', 'M00000003', 'M00000004')
        order by period_start_date, merchant_id""").fetchall()
    assert rows == [
        ("M00000002", date(2024, 5, 27), date(2024, 6, 2), "payable", 1000, 100, 900, 900),
        ("M00000003", date(2024, 5, 27), date(2024, 6, 2), "held_inactive_merchant", 13, 0, 13, 13),
        ("M00000004", date(2024, 5, 27), date(2024, 6, 2), "held_undesignated", 11, 0, 11, 11),
        ("M00000002", date(2024, 6, 3), date(2024, 6, 9), "payable", 50, 0, 50, 50),
    ]


def test_prepaid_unused_balance_and_deposit(built):
    con, _, _ = built
    rows = con.execute("""
        select reference_date, issued_total_yen, used_total_yen, expired_total_yen, unused_balance_yen,
               deposit_required_yen, deposit_deadline_date
        from marts.fct_prepaid_unused_balances where municipality_code = '141500'
        order by reference_date""").fetchall()
    assert rows == [
        (date(2024, 3, 31), 10_000_001, 0, 0, 10_000_001, 5_000_001, date(2024, 5, 31)),
        # + ADJS0001's 500 charged 1 Apr (-120 adjusted, 380 expired 28 Sep); PREP0001's lots expired 8 Jul, 27 Sep
        (date(2024, 9, 30), 10_000_501, 121, 10_000_380, 0, 0, date(2024, 11, 30)),
    ]


def test_shortfall_is_kept_apart_and_lots_stay_non_negative(built):
    con, ids, _ = built
    assert lot(con, ids["sf_g"]) == (100, 0, 0, 0)
    kinds = con.execute("select movement_kind, amount_yen from staging.int_lot_movements where event_id = ? "
                        "order by movement_kind", [ids["sf_use"]]).fetchall()
    assert kinds == [("consume", 100), ("shortfall", 30)]
    suspense = con.execute("select sum(debit_yen) from marts.fct_ledger_entries where posting_group_id = ? "
                           "and account = 'unallocated_point_suspense'", [ids["sf_use"]]).fetchone()[0]
    assert suspense == 30


def test_negative_adjust_and_platform_expiry_kept_for_reconciliation(built):
    con, ids, _ = built
    assert allocations(con, ids["adj_neg"]) == [(ids["adj_pre"], 120)]
    assert lot(con, ids["adj_ben"]) == (0, 0, 50, 0)
    row = con.execute("select platform_expired_yen, seisan_expired_yen, is_matching from marts.fct_platform_expiries "
                      "where event_id = ?", [ids["adj_pexp"]]).fetchone()
    assert row == (50, 50, True)


def test_partner_receivable_per_month(built):
    con, _, _ = built
    rows = con.execute("""
        select partner_code, month_start_date, applied_amount_due_yen, cancelled_amount_due_yen,
               unmatched_cancelled_count, amount_due_yen, due_date
        from marts.fct_partner_receivables where municipality_code = '131016'
        order by partner_code, month_start_date""").fetchall()
    assert rows == [
        # ACQ1's cancel of "X1" matches no ACQ1 applied row (CARDCO's X1 is another partner's): owes nothing.
        ("ACQ1", date(2024, 4, 1), 0, 0, 1, 0, date(2024, 5, 10)),
        # April: applied X1 900 + X3 300 = 1200; X1's cancel (20 Apr) reverses 90 -> 1110. X2's cancel has no
        # applied row: owes nothing (subtracting every cancelled row gave 1200 - 90 - 500 = 610).
        ("CARDCO", date(2024, 4, 1), 1200, 90, 1, 1110, date(2024, 5, 10)),
        # May: X3's cancel (3 May) reverses the April applied row although it was loaded before it: -300.
        ("CARDCO", date(2024, 5, 1), 0, 300, 0, -300, date(2024, 6, 10)),
    ]


def test_negative_adjust_beyond_its_programme_credits_point_adjustment(built):
    con, ids, _ = built
    # -130 on CHY_D30 (100 in lots): 100 consumed from the D30 lot, 30 uncovered; the prepaid lot is untouched.
    assert allocations(con, ids["adjx_neg"]) == [(ids["adjx_d30"], 100)]
    assert lot(con, ids["adjx_pre"]) == (0, 0, 0, 100)
    postings = con.execute("""
        select account, sum(debit_yen), sum(credit_yen) from marts.fct_ledger_entries
        where posting_group_id = ? group by account order by account""", [ids["adjx_neg"]]).fetchall()
    assert postings == [("point_adjustment", 0, 130), ("resident_point_liability", 100, 0),
                        ("unallocated_point_suspense", 30, 0)]


def test_cancel_in_a_later_period_makes_a_negative_item_not_payable(built):
    con, _, _ = built
    rows = con.execute("""
        select period_start_date, settlement_status, amount_yen, is_negative, is_payable
        from marts.fct_settlement_items where municipality_code = '242012' and merchant_id = 'M00000002'
        order by period_start_date""").fetchall()
    assert rows == [(date(2024, 5, 10), "payable", 400, False, True),
                    (date(2024, 5, 12), "payable", -150, True, False)]


def test_lot_of_a_programme_not_in_force_is_listed_as_a_warning(built):
    con, ids, result = built
    row = con.execute("select expiry_date, funding, is_program_known, remaining_yen from marts.fct_point_lots "
                      "where lot_event_id = ?", [ids["unk_g"]]).fetchone()
    assert row == (None, None, False, 100)
    warned = {w.name.split(".")[2]: w.message for w in result.warnings}
    assert warned["fct_point_lots_program_in_force_on_grant_date"] == "Got 1 result, configured to warn if != 0"


def test_partial_cancel_after_a_lot_expired_built_day_by_day(marts_home, dbt_build):
    """Case 2 again, built on 19 April and then incrementally on 20 April, the cancel's day: the replay from
    20 April loads the expired lot D10 as state only because the cancelled use took from it
    (int_lot_movements._stage_state), and gives back and lapses exactly as the one build above does."""
    path, con = new_warehouse(marts_home, "day_by_day.duckdb")
    write_masters(con)
    ledger = Ledger()
    d = date(2024, 4, 1)
    d10 = ledger.grant(at(d, 9), CHY, "PCAN0002", "CHY_D10", 100)        # expires 11 Apr
    d30 = ledger.grant(at(d, 9, 1), CHY, "PCAN0002", "CHY_D30", 200)     # expires 1 May
    gone = ledger.grant(at(date(2024, 3, 20), 9), CHY, "PCAN0002", "CHY_D10", 40)  # expired 30 Mar untouched
    use = ledger.use(at(date(2024, 4, 2), 10), CHY, "PCAN0002", 250)     # D10 100, D30 150
    cancel = ledger.cancel(at(date(2024, 4, 20), 10), CHY, "PCAN0002", use, 180)
    ledger.write(con)
    con.close()
    dbt_build(path, date(2024, 4, 19), with_tests=False)
    dbt_build(path, date(2024, 4, 20))
    con = duckdb.connect(str(path), read_only=True)
    assert allocations(con, cancel) == [(d30, -150), (d10, -30)]
    assert lot(con, d10) == (100, 30, 30, 0)
    assert lot(con, d30) == (150, 150, 0, 200)  # not expired yet on 20 April
    assert lot(con, gone) == (0, 0, 40, 0)
    assert balance(con, "PCAN0002", "CHY_D30", date(2024, 4, 20)) == 200
    assert balance(con, "PCAN0002", "CHY_D10", date(2024, 4, 20)) == 0
