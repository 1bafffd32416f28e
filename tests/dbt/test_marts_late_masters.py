"""Late master snapshots, each kind, built day by day: holds lift by themselves on the next build, a snapshot
dated before days already built changes them, and the final state equals a full refresh.

Story (2024, masters of 1 Jan in force; each late snapshot is a full snapshot of its kind):
- merchants + designations dated 6 May name M00000009 (designated for 津市 from 1 May): its 3 May use is held
  (merchant_unknown) until the 6 May build, then payable;
- designations dated 2 May, delivered only for the 8 May build, designate M00000004 for 津市 from 1 May
  (the 6 May snapshot does not list it, so it ends on 5 May): its 3 May use turns from held_undesignated to
  payable;
- municipalities dated Sat 4 May, delivered for the 9 May build, switch 札幌市 from monthly-on-the-10th to
  weekly-on-Sunday: its 5 May use moves from the period 11 Apr .. 10 May to 4 .. 5 May;
- programmes dated 2 May, delivered for the 10 May build: TSU_BEN expires after 3 days instead of 60,
  CHY_D30 becomes partner-funded, LATEPROG (unknown until then) is named (prepaid, 2 days), and SAP_BEN gets an
  annual cap of 500 yen: LATC0002's 3 May grant of 1,000 is over it, though LATC0002 has no other event and no
  lot expiring by 12 May (nothing replays it: only the lot's own is_over_annual_cap changes).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb
import pytest
from conftest import new_warehouse
from marts_rawdb import insert
from marts_worlds import DESIGNATED, MERCHANTS, MUNICIPALITIES, PROGRAMS, Ledger, at, write_masters
from test_marts_incremental import TABLES, snapshot

TSU, SAP, CHY = "242012", "011002", "131016"
BUILDS = (date(2024, 5, 5), date(2024, 5, 6), date(2024, 5, 8), date(2024, 5, 9), date(2024, 5, 10),
          date(2024, 5, 12))
COMPARED = {**TABLES, "marts.fct_control_flags": "event_id, flag_code",
            "staging.int_settlement__merchant_status": "event_id", "staging.int_settlement__periods": "event_id"}
LATE_PROGRAMS = {**PROGRAMS, "TSU_BEN": ("242012", "benefit", "municipal_budget", "days:3", 2000),
                 "CHY_D30": ("131016", "activity", "partner", "days:30", None),
                 "LATEPROG": ("242012", "prepaid", "prepaid", "days:2", None),
                 "SAP_BEN": ("011002", "benefit", "municipal_budget", "days:20", 500)}


def designations(extra: dict) -> list[dict]:
    return [{"municipality_code": mun, "merchant_id": mid, "valid_from": date(2020, 1, 1) if mid in DESIGNATED
             else date(2024, 5, 1), "valid_to": None}
            for mid, muns in {**DESIGNATED, **extra}.items() for mun in muns]


def deliver_masters(con: duckdb.DuckDBPyConnection, build_date: date) -> None:
    """The master files that arrive for the build of build_date."""
    if build_date == date(2024, 5, 6):
        write_masters(con, date(2024, 5, 6), merchants={**MERCHANTS, "M00000009": "active"},
                      only=("master_merchants",))
        insert(con, "master_designations", designations({"M00000009": (TSU,)}), date(2024, 5, 6))
    if build_date == date(2024, 5, 8):
        insert(con, "master_designations", designations({"M00000004": (TSU,)}), date(2024, 5, 2))
    if build_date == date(2024, 5, 9):
        write_masters(con, date(2024, 5, 4), municipalities={**MUNICIPALITIES, SAP: ("weekly", "7")},
                      only=("master_municipalities",))
    if build_date == date(2024, 5, 10):
        write_masters(con, date(2024, 5, 2), programs=LATE_PROGRAMS, only=("master_programs",))


def story() -> tuple[Ledger, dict[str, str]]:
    ledger, ids = Ledger(prefix="L"), {}
    ledger.charge(at(date(2024, 5, 1)), TSU, "LATM0001", "TSU_PRE", 1000)
    ids["m9_use"] = ledger.use(at(date(2024, 5, 3)), TSU, "LATM0001", 120, "M00000009")
    ids["m4_use"] = ledger.use(at(date(2024, 5, 3), 13), TSU, "LATM0001", 40, "M00000004")
    ledger.grant(at(date(2024, 5, 1)), SAP, "LATC0001", "SAP_BEN", 1000)
    ids["sap_use"] = ledger.use(at(date(2024, 5, 5)), SAP, "LATC0001", 70, "M00000002")
    ids["sap_lot"] = ledger.grant(at(date(2024, 5, 3)), SAP, "LATC0002", "SAP_BEN", 1000)
    ids["tsu_lot"] = ledger.grant(at(date(2024, 5, 3)), TSU, "LATP0001", "TSU_BEN", 100)
    ledger.use(at(date(2024, 5, 5)), TSU, "LATP0001", 80, "M00000003")
    ids["tsu_use2"] = ledger.use(at(date(2024, 5, 8)), TSU, "LATP0001", 50, "M00000003")
    ids["chy_lot"] = ledger.grant(at(date(2024, 5, 3)), CHY, "LATP0002", "CHY_D30", 100)
    ids["chy_use"] = ledger.use(at(date(2024, 5, 4)), CHY, "LATP0002", 60, "M00000002")
    ids["lp_lot"] = ledger.grant(at(date(2024, 5, 3)), TSU, "LATP0003", "LATEPROG", 100)
    ids["lp_use"] = ledger.use(at(date(2024, 5, 4)), TSU, "LATP0003", 10, "M00000003")
    return ledger, ids


def status(path, event_id: str) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select settlement_status from staging.int_settlement__merchant_status "
                           "where event_id = ?", [event_id]).fetchone()[0]


def one(path, sql: str, params: list) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchone()


@pytest.mark.slow
def test_late_masters_lift_holds_and_day_by_day_equals_full_refresh(tmp_path, dbt_build):
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    con.close()
    ledger, ids = story()
    period = ("select period_start_date, period_end_date from staging.int_settlement__periods where event_id = ?",
              [ids["sap_use"]])
    lot = ("select expiry_date, funding, consumed_yen, expired_yen, remaining_yen from marts.fct_point_lots "
           "where lot_event_id = ?")
    over_cap = "select is_over_annual_cap from marts.fct_point_lots where lot_event_id = ?"
    previous = None
    for build_date in BUILDS:
        with duckdb.connect(str(path)) as con:
            ledger.write(con, from_date=previous + timedelta(days=1) if previous else None, up_to=build_date)
            deliver_masters(con, build_date)
        # the models every day; dbt's data tests on the checked days and the last (they test all dates so far)
        dbt_build(path, build_date, with_tests=build_date in (date(2024, 5, 5), BUILDS[-1]),
                  full_check=build_date == BUILDS[-1])
        previous = build_date
        if build_date == date(2024, 5, 5):
            assert status(path, ids["m9_use"]) == "held_unknown_merchant"
            assert status(path, ids["m4_use"]) == "held_undesignated"
            assert one(path, *period) == (date(2024, 4, 11), date(2024, 5, 10))
            assert one(path, lot, [ids["tsu_lot"]]) == (date(2024, 7, 2), "municipal_budget", 80, 0, 20)
            assert one(path, lot, [ids["lp_lot"]]) == (None, None, 10, 0, 90)
            assert one(path, over_cap, [ids["sap_lot"]]) == (False,)
        if build_date == date(2024, 5, 6):
            assert status(path, ids["m9_use"]) == "payable"
        if build_date == date(2024, 5, 8):
            assert status(path, ids["m4_use"]) == "payable"
        if build_date == date(2024, 5, 9):
            assert one(path, *period) == (date(2024, 5, 4), date(2024, 5, 5))
            # before the late programmes: the 8 May use takes the 20 left, 30 uncovered
            assert one(path, "select sum(unallocated_yen), sum(municipal_budget_yen) from marts.fct_settlement_items "
                       "where municipality_code = ? and merchant_id = 'M00000003' and period_start_date = ?",
                       [TSU, date(2024, 5, 8)]) == (30, 20)
    # after the late programmes snapshot (built 10 May): TSU_BEN lot expires 6 May with 20 left, so the
    # 8 May use is uncovered entirely; CHY_D30 is partner-funded; LATEPROG expires 5 May with 90 left
    assert one(path, lot, [ids["tsu_lot"]]) == (date(2024, 5, 6), "municipal_budget", 80, 20, 0)
    assert one(path, "select sum(unallocated_yen), sum(municipal_budget_yen) from marts.fct_settlement_items "
               "where municipality_code = ? and merchant_id = 'M00000003' and period_start_date = ?",
               [TSU, date(2024, 5, 8)]) == (50, 0)
    assert one(path, lot, [ids["chy_lot"]]) == (date(2024, 6, 2), "partner", 60, 0, 40)
    assert one(path, lot, [ids["lp_lot"]]) == (date(2024, 5, 5), "prepaid", 10, 90, 0)
    assert one(path, over_cap, [ids["sap_lot"]]) == (True,)  # 1,000 granted against a cap of 500
    assert one(path, "select sum(partner_yen) from marts.fct_settlement_items where municipality_code = ? "
               "and merchant_id = 'M00000002'", [CHY]) == (60,)
    # the late snapshot is in force on the grant date itself: no control break is left
    assert one(path, "select count(*) from marts.fct_control_flags where event_id = ?", [ids["lp_lot"]]) == (0,)
    incremental = snapshot(path, COMPARED)

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    dbt_build(rebuilt, BUILDS[-1], full_refresh=True)
    full = snapshot(rebuilt, COMPARED)
    for table in COMPARED:
        assert incremental[table] == full[table], table
