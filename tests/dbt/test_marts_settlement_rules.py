"""Hand-computed cases for the settlement rules of FORMATS.md ("References not known yet", "Cancels in
settlement", "Settlement periods"), all in ONE dbt build, each case its own resident (and, where items are
compared, its own merchant or dates, so items of different cases never add up).

Masters: the usual snapshot of 1 Jan 2024, and a full snapshot of Mon 20 May 2024 in which 札幌市 (011002)
switches from monthly-on-the-10th to weekly-on-Sunday and merchant M00000009 (designated for 津市 from 1 May)
appears for the first time.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from conftest import new_warehouse
from marts_worlds import DESIGNATED, MERCHANTS, MUNICIPALITIES, Ledger, at, write_masters

BUILD_DATE = date(2024, 6, 30)
CHANGE_DATE = date(2024, 5, 20)
TSU, SAP = "242012", "011002"


@pytest.fixture(scope="module")
def built(marts_home, dbt_build):
    path, con = new_warehouse(marts_home, "settlement_rules.duckdb")
    write_masters(con)
    write_masters(con, CHANGE_DATE, municipalities={**MUNICIPALITIES, SAP: ("weekly", "7")},
                  merchants={**MERCHANTS, "M00000009": "active"},
                  designated={**DESIGNATED, "M00000009": (TSU,)}, designated_from=date(2024, 5, 1))
    ledger, ids = Ledger(prefix="S"), {}

    # A. Cancels capped at what the use still holds: use 500, cancel 300, cancel 400 -> only 200 taken back.
    ids["a_lot"] = ledger.charge(at(date(2024, 5, 1)), TSU, "EXCS0001", "TSU_PRE", 1000)
    ids["a_use"] = ledger.use(at(date(2024, 5, 2)), TSU, "EXCS0001", 500, "M00000001")
    ids["a_c1"] = ledger.cancel(at(date(2024, 5, 3)), TSU, "EXCS0001", ids["a_use"], 300, "M00000001")
    ids["a_c2"] = ledger.cancel(at(date(2024, 5, 4)), TSU, "EXCS0001", ids["a_use"], 400, "M00000001")
    # A use with a shortfall: 150 of which 100 from a lot; a cancel of 150 takes back all 150 (the 50 no lot
    # covered included); a further cancel of 10 exceeds the use entirely.
    ids["s_lot"] = ledger.grant(at(date(2024, 6, 1)), TSU, "SHCX0001", "TSU_BEN", 100)
    ids["s_use"] = ledger.use(at(date(2024, 6, 2)), TSU, "SHCX0001", 150, "M00000001")
    ids["s_c1"] = ledger.cancel(at(date(2024, 6, 5)), TSU, "SHCX0001", ids["s_use"], 150, "M00000001")
    ids["s_c2"] = ledger.cancel(at(date(2024, 6, 6)), TSU, "SHCX0001", ids["s_use"], 10, "M00000001")

    # B. Cancels naming another merchant, or none, settle against the use's merchant (M00000002).
    ledger.charge(at(date(2024, 5, 6)), TSU, "MISM0001", "TSU_PRE", 1000)
    ids["b_use"] = ledger.use(at(date(2024, 5, 7)), TSU, "MISM0001", 400, "M00000002")
    ids["b_c1"] = ledger.cancel(at(date(2024, 5, 8)), TSU, "MISM0001", ids["b_use"], 100, "M00000001")
    ids["b_c2"] = ledger.cancel(at(date(2024, 5, 9)), TSU, "MISM0001", ids["b_use"], 50, None)

    # C. A cancel of a use that does not exist, and one of ANOTHER resident's use: nothing to give back.
    ledger.charge(at(date(2024, 5, 6)), TSU, "NOUS0001", "TSU_PRE", 100)
    ids["c_c1"] = ledger.cancel(at(date(2024, 5, 10)), TSU, "NOUS0001", "NO-SUCH-USE", 70, "M00000001")
    ids["c_c2"] = ledger.cancel(at(date(2024, 5, 10)), TSU, "NOUS0001", ids["a_use"], 30, "M00000001")

    # D. Merchants not known on the use's date: M00000009 first named on 20 May (designated for 津市 from 1 May),
    # M00000099 never named.
    ledger.charge(at(date(2024, 4, 15)), TSU, "UNKM0001", "TSU_PRE", 1000)
    ids["d_before"] = ledger.use(at(date(2024, 4, 20)), TSU, "UNKM0001", 100, "M00000009")
    ids["d_named"] = ledger.use(at(date(2024, 5, 10)), TSU, "UNKM0001", 200, "M00000009")
    ids["d_never"] = ledger.use(at(date(2024, 5, 11)), TSU, "UNKM0001", 300, "M00000099")

    # E. A municipality no snapshot names: points move, the use is held, its period is its own day.
    ids["e_lot"] = ledger.charge(at(date(2024, 5, 1)), "999999", "UNMU0001", "TSU_PRE", 500)
    ids["e_use"] = ledger.use(at(date(2024, 5, 2)), "999999", "UNMU0001", 200, "M00000001")

    # F. A programme and a partner no snapshot names.
    ids["f_prog"] = ledger.grant(at(date(2024, 5, 1)), TSU, "UNPP0001", "NOPROG", 100)
    ids["f_part"] = ledger.grant(at(date(2024, 5, 1)), TSU, "UNPP0001", "TSU_BEN", 100, partner_code="NOPART")

    # G. 札幌市 monthly on the 10th until Sun 19 May, weekly on Sunday from Mon 20 May.
    ledger.grant(at(date(2024, 5, 12)), SAP, "CYCL0001", "SAP_BEN", 1000)
    ids["g_u1"] = ledger.use(at(date(2024, 5, 15)), SAP, "CYCL0001", 100, "M00000001")   # 11 .. 19 May
    ids["g_u2"] = ledger.use(at(date(2024, 5, 20)), SAP, "CYCL0001", 200, "M00000001")   # 20 .. 26 May
    ids["g_u3"] = ledger.use(at(date(2024, 5, 27)), SAP, "CYCL0001", 50, "M00000001")    # 27 May .. 2 June
    ids["g_c1"] = ledger.cancel(at(date(2024, 5, 19)), SAP, "CYCL0001", ids["g_u1"], 30, "M00000001")

    ledger.write(con)
    con.close()
    result = dbt_build(path, BUILD_DATE)
    return duckdb.connect(str(path), read_only=True), ids, result


def settled(con, event_id):
    """What the event adds to (or takes from) its merchant's settlement."""
    return con.execute("select sum(settlement_yen) from staging.int_lot_movements where event_id = ?",
                       [event_id]).fetchone()[0]


def flags(con, event_id):
    return con.execute("select flag_code, reference_value, amount_yen, is_resolved from marts.fct_control_flags "
                       "where event_id = ? order by flag_code", [event_id]).fetchall()


def items(con, municipality, merchant):
    return con.execute("""
        select period_start_date, period_end_date, settlement_status, use_amount_yen, cancel_amount_yen,
               cancel_excess_yen, amount_yen
        from marts.fct_settlement_items where municipality_code = ? and merchant_id = ?
        order by period_start_date, settlement_status""", [municipality, merchant]).fetchall()


def status(con, event_id):
    return con.execute("select settlement_status from staging.int_settlement__merchant_status where event_id = ?",
                       [event_id]).fetchone()[0]


def test_cancel_gives_back_at_most_what_its_use_still_holds(built):
    con, ids, _ = built
    assert [settled(con, ids[k]) for k in ("a_use", "a_c1", "a_c2")] == [500, -300, -200]
    assert flags(con, ids["a_c1"]) == []
    assert flags(con, ids["a_c2"]) == [("cancel_exceeds_use", ids["a_use"], 200, False)]
    # the resident gets back only what the use took: 1000 - 500 + 300 + 200
    assert con.execute("select consumed_yen, restored_yen, remaining_yen from marts.fct_point_lots "
                       "where lot_event_id = ?", [ids["a_lot"]]).fetchone() == (500, 500, 1000)
    # nothing of the excess reaches the ledger: the cancel's postings are the 200 given back, balanced
    assert con.execute("select sum(debit_yen), sum(credit_yen) from marts.fct_ledger_entries "
                       "where posting_group_id = ?", [ids["a_c2"]]).fetchone() == (200, 200)
    item = con.execute("""select cancel_amount_yen, cancel_excess_yen, amount_yen from marts.fct_settlement_items
                          where municipality_code = ? and merchant_id = 'M00000001' and period_start_date = ?""",
                       [TSU, date(2024, 5, 4)]).fetchone()
    assert item == (200, 200, -200)


def test_cancel_of_a_use_with_a_shortfall_takes_back_the_uncovered_part_then_nothing(built):
    con, ids, _ = built
    assert [settled(con, ids[k]) for k in ("s_use", "s_c1", "s_c2")] == [150, -150, 0]
    assert flags(con, ids["s_c1"]) == []
    assert flags(con, ids["s_c2"]) == [("cancel_exceeds_use", ids["s_use"], 10, False)]


def test_cancel_naming_another_merchant_or_none_settles_against_the_use_merchant(built):
    con, ids, _ = built
    assert items(con, TSU, "M00000002") == [
        (date(2024, 5, 7), date(2024, 5, 7), "payable", 400, 0, 0, 400),
        (date(2024, 5, 8), date(2024, 5, 8), "payable", 0, 100, 0, -100),
        (date(2024, 5, 9), date(2024, 5, 9), "payable", 0, 50, 0, -50),
    ]
    assert flags(con, ids["b_c1"]) == [("cancel_merchant_mismatch", "M00000001", 100, False)]
    assert flags(con, ids["b_c2"]) == [("cancel_merchant_mismatch", None, 50, False)]
    # the merchant_payable postings of both cancels name the use's merchant
    assert con.execute("select distinct merchant_id from marts.fct_ledger_entries where posting_group_id in (?, ?) "
                       "and account = 'merchant_payable'", [ids["b_c1"], ids["b_c2"]]).fetchall() == [("M00000002",)]


def test_cancel_without_its_use_settles_nothing(built):
    con, ids, _ = built
    assert [settled(con, ids[k]) for k in ("c_c1", "c_c2")] == [0, 0]
    assert flags(con, ids["c_c1"]) == [("cancel_exceeds_use", "NO-SUCH-USE", 70, False)]
    assert flags(con, ids["c_c2"]) == [("cancel_exceeds_use", ids["a_use"], 30, False)]
    assert con.execute("select count(*) from marts.fct_ledger_entries where posting_group_id in (?, ?)",
                       [ids["c_c1"], ids["c_c2"]]).fetchone() == (0,)
    assert con.execute("select balance_yen from marts.fct_balances where mykey_id = 'NOUS0001' "
                       "and business_date = ?", [BUILD_DATE]).fetchone() == (100,)


def test_merchant_named_by_a_later_snapshot_lifts_the_hold(built):
    con, ids, _ = built
    # 20 April: M00000009 is known (named later) but designated for 津市 only from 1 May
    assert status(con, ids["d_before"]) == "held_undesignated"
    assert status(con, ids["d_named"]) == "payable"
    assert status(con, ids["d_never"]) == "held_unknown_merchant"
    assert flags(con, ids["d_named"]) == [("merchant_unknown", "M00000009", 200, True)]
    assert flags(con, ids["d_never"]) == [("merchant_unknown", "M00000099", 300, False)]
    assert items(con, TSU, "M00000099") == [
        (date(2024, 5, 11), date(2024, 5, 11), "held_unknown_merchant", 300, 0, 0, 300)]
    assert items(con, TSU, "M00000009") == [
        (date(2024, 4, 20), date(2024, 4, 20), "held_undesignated", 100, 0, 0, 100),
        (date(2024, 5, 10), date(2024, 5, 10), "payable", 200, 0, 0, 200)]


def test_unknown_municipality_moves_points_and_holds_the_use(built):
    con, ids, _ = built
    assert con.execute("select consumed_yen, remaining_yen from marts.fct_point_lots where lot_event_id = ?",
                       [ids["e_lot"]]).fetchone() == (200, 300)
    assert status(con, ids["e_use"]) == "held_unknown_municipality"
    assert flags(con, ids["e_use"]) == [("municipality_unknown", "999999", 200, False)]
    assert flags(con, ids["e_lot"]) == [("municipality_unknown", "999999", 500, False)]
    row = con.execute("select settlement_cycle, period_start_date, period_end_date, settlement_status, amount_yen "
                      "from marts.fct_settlement_items where municipality_code = '999999'").fetchall()
    assert row == [(None, date(2024, 5, 2), date(2024, 5, 2), "held_unknown_municipality", 200)]


def test_unknown_programme_and_partner_are_flagged(built):
    con, ids, _ = built
    assert flags(con, ids["f_prog"]) == [("program_unknown", "NOPROG", 100, False)]
    assert flags(con, ids["f_part"]) == [("partner_unknown", "NOPART", 100, False)]


def test_cycle_change_ends_the_old_period_the_day_before(built):
    con, _, _ = built
    assert items(con, SAP, "M00000001") == [
        # monthly on the 10th would run 11 May .. 10 June; the weekly cycle starts on 20 May
        (date(2024, 5, 11), date(2024, 5, 19), "payable", 100, 30, 0, 70),
        (date(2024, 5, 20), date(2024, 5, 26), "payable", 200, 0, 0, 200),
        (date(2024, 5, 27), date(2024, 6, 2), "payable", 50, 0, 0, 50),
    ]
    overlaps = con.execute("""
        select count(*) from marts.fct_settlement_items as a
        inner join marts.fct_settlement_items as b
            on a.municipality_code = b.municipality_code and a.merchant_id = b.merchant_id
            and a.settlement_status = b.settlement_status and a.settlement_item_id < b.settlement_item_id
            and a.period_start_date <= b.period_end_date and b.period_start_date <= a.period_end_date
            and (a.period_start_date, a.period_end_date) <> (b.period_start_date, b.period_end_date)""").fetchone()
    assert overlaps == (0,)
