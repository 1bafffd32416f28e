"""Incremental runs day by day (with late events arriving days after their date) equal one full rebuild.

The late events: a use, a grant that re-orders FIFO, a cancel, a negative adjust (see the comments).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import duckdb
import pytest
from conftest import new_warehouse
from marts_generated import generate
from marts_worlds import Ledger, write_masters

from seisan.marts import UNIT_TESTS_STAMP, build_marts, dbt_work_dir

START = date(2024, 3, 25)
TABLES = {
    "staging.int_lot_movements": "movement_id",
    "marts.fct_point_lots": "lot_event_id",
    "marts.fct_lot_consumptions": "consumption_id",
    "marts.fct_ledger_entries": "entry_id",
    "marts.fct_balances": "business_date, municipality_code, program_code, mykey_id",
    "marts.fct_settlement_items": "settlement_item_id",
    "staging.int_point_lots__dated": "lot_event_id",
    "staging.int_settlement__events": "event_id",
    "staging.int_settlement__merchant_status": "event_id",
    "staging.int_settlement__periods": "event_id",
}


# when a build ran is not what it computed: the columns saying so are left out of the comparison
BUILD_STAMPS = {"staging.int_lot_movements": "computed_for_date", "marts.fct_ledger_entries": "computed_for_date",
                "staging.int_point_lots__dated": "computed_for_date", "marts.fct_balances": "computed_at"}


def snapshot(path, tables: dict[str, str] = TABLES) -> dict[str, list[tuple]]:
    """Every row of each table (name: its order key), without the build stamps (BUILD_STAMPS)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: con.execute(
                    f"select * {f'exclude ({BUILD_STAMPS[table]})' if table in BUILD_STAMPS else ''} from {table} "
                    f"order by {key}").fetchall()
                for table, key in tables.items()}


@pytest.mark.slow
def test_day_by_day_with_late_events_equals_full_rebuild(tmp_path, dbt_build, monkeypatch):
    """The day-by-day builds replay 7 residents at a time (int_lot_movements' pages), the full rebuild all of
    them in one page: the paging changes nothing either."""
    monkeypatch.setenv("SEISAN_DBT_FIFO_PAGE_RESIDENTS", "7")
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix="I")
    generate(ledger, seed=5, start=START, days=16, municipalities=("131016", "141500", "242012"), residents=40)
    late_ids = {ledger.use(datetime(2024, 3, 27, 8), "131016", "GEN05000000", 700)}  # all arrive on 3 April
    # A late GRANT re-orders FIFO: the 3/28 and 4/1 uses (first taken from the prepaid lot) now take the earlier-
    # expiring grant, so the prepaid lot - created before the restart date - gets no new movement row at all.
    prepaid = ledger.charge(datetime(2024, 3, 26, 9), "131016", "LATEGRNT", "CHY_PRE", 1000)
    ledger.use(datetime(2024, 3, 28, 10), "131016", "LATEGRNT", 300)
    ledger.use(datetime(2024, 4, 1, 10), "131016", "LATEGRNT", 100)
    late_grant = ledger.grant(datetime(2024, 3, 27, 9), "131016", "LATEGRNT", "CHY_D10", 400)  # expires 6 Apr
    # A late cancel and a late use empty a lot whose expiry (30 Mar, 300 left) the 30 Mar run already posted:
    # its expiry becomes 0 and the ledger partition of that day must lose its old postings.
    d10 = ledger.grant(datetime(2024, 3, 20, 9), "131016", "LATECANC", "CHY_D10", 500)  # expires 30 Mar
    first_use = ledger.use(datetime(2024, 3, 27, 10), "131016", "LATECANC", 200)
    late_ids |= {ledger.cancel(datetime(2024, 3, 28, 10), "131016", "LATECANC", first_use, 50),
                 ledger.use(datetime(2024, 3, 29, 10), "131016", "LATECANC", 350)}
    # A late negative adjust turns a use into a pure shortfall: that day loses every lot consumption.
    ledger.grant(datetime(2024, 3, 26, 9), "131016", "LATEADJS", "CHY_D30", 100)
    shortfall_use = ledger.use(datetime(2024, 3, 28, 10), "131016", "LATEADJS", 100)
    late_ids |= {late_grant, ledger.adjust(datetime(2024, 3, 27, 9), "131016", "LATEADJS", "CHY_D30", -100)}
    # A late USE whose cancel came on time: until the use arrives the cancel settles nothing (use not found); then
    # it settles against the use's merchant, so the incremental settlement models must compute the cancel again.
    ledger.grant(datetime(2024, 3, 25, 9), "131016", "LATEUSEC", "CHY_D30", 500)
    late_use = ledger.use(datetime(2024, 3, 28, 11), "131016", "LATEUSEC", 200)
    use_cancel = ledger.cancel(datetime(2024, 3, 29, 10), "131016", "LATEUSEC", late_use, 80)
    late_ids.add(late_use)
    # A late GRANT earlier in the fiscal year takes a later, on-time grant over the annual cap (CHY_BEN, 5,000):
    # 2,500 + 3,000. Only the late lot is new; the on-time lot's running total must be computed again.
    capped_grant = ledger.grant(datetime(2024, 3, 29, 9), "131016", "LATECAPS", "CHY_BEN", 3000)
    late_ids.add(ledger.grant(datetime(2024, 3, 26, 9), "131016", "LATECAPS", "CHY_BEN", 2500))
    on_time = Ledger(prefix="I", rows=[r for r in ledger.rows if r["event_id"] not in late_ids])
    late = Ledger(prefix="I", rows=[r for r in ledger.rows if r["event_id"] in late_ids])

    on_time.write(con, up_to=date(2024, 3, 30))
    con.close()
    unit_tests_run = [dbt_build(path, date(2024, 3, 30)).unit_tests_passed]
    for day_from, day_to in ((date(2024, 3, 31), date(2024, 4, 3)), (date(2024, 4, 4), date(2024, 4, 9))):
        with duckdb.connect(str(path)) as con:
            on_time.write(con, from_date=day_from, up_to=day_to)
            if day_to == date(2024, 4, 3):
                late.write(con)
        if day_to == date(2024, 4, 9):  # as if the dbt project had changed since the unit tests last passed
            (dbt_work_dir(path) / UNIT_TESTS_STAMP).write_text("0" * 64 + "\n", encoding="ascii")
            with duckdb.connect(str(path)) as con:  # what a build before the clean-up left (its name, as dbt's)
                con.execute("create table main.int_lot_movements__dbt_tmp20240403000000000000 as select 1 as x")
        unit_tests_run.append(dbt_build(path, day_to).unit_tests_passed)
    # The dbt unit tests run on a warehouse's first build and after a change of the project, not every day.
    assert unit_tests_run[0] > 0 and unit_tests_run == [unit_tests_run[0], 0, unit_tests_run[0]]
    incremental = snapshot(path)
    with duckdb.connect(str(path), read_only=True) as con:
        # an incremental build of the FIFO engine (a Python model) leaves no copy of its result behind, and
        # removes the ones earlier builds left (dbt/macros/drop_python_model_leftovers.sql); nor its helper views
        assert con.execute("select table_schema, table_name from information_schema.tables "
                           "where table_name like '%dbt_tmp%' or table_name like '%dbt_backup%' "
                           "or table_schema = 'main'").fetchall() == []
        # hand-computed: the 3/28 use (300) and the 4/1 use (100) both come from the late D10 grant (400)
        assert con.execute("select consumed_yen, remaining_yen from marts.fct_point_lots where lot_event_id = ?",
                           [prepaid]).fetchone() == (0, 1000)
        # 500 - 200 + 50 - 350 = 0 left at expiry: no expiry posting remains for LATECANC's lot
        assert con.execute("select count(*) from marts.fct_ledger_entries where posting_group_id = ?",
                           ["expiry:" + d10]).fetchone() == (0,)
        assert con.execute("select count(*) from marts.fct_lot_consumptions where event_id = ?",
                           [shortfall_use]).fetchone() == (0,)
        assert con.execute("select is_over_annual_cap from marts.fct_point_lots where lot_event_id = ?",
                           [capped_grant]).fetchone() == (True,)
        # the cancel built before its use arrived now settles against it, with its status
        assert con.execute("select use_event_id, merchant_id from staging.int_settlement__events where event_id = ?",
                           [use_cancel]).fetchone() == (late_use, "M00000001")
        assert con.execute("select list(settlement_status order by event_type desc) "
                           "from staging.int_settlement__merchant_status where event_id in (?, ?)",
                           [late_use, use_cancel]).fetchone() == (["payable", "payable"],)

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    monkeypatch.delenv("SEISAN_DBT_FIFO_PAGE_RESIDENTS")
    dbt_build(rebuilt, date(2024, 4, 9), full_refresh=True)
    full = snapshot(rebuilt)
    assert len(full["marts.fct_point_lots"]) > 50
    assert late_ids <= {row[0].split("|")[0] for row in full["staging.int_lot_movements"]}
    for table in TABLES:
        assert incremental[table] == full[table], table


@pytest.mark.slow
def test_movements_of_a_failed_build_reach_the_marts_on_the_next_day(tmp_path, dbt_build):
    """A build of D that stops after the FIFO engine committed (here: only the engine and what it reads are built,
    as when a failed data test skips the models after it), then no new run of D: the build of D+1 takes D's
    movements too (seisan.marts.recomputed_since), and every table equals a full rebuild. Before, the marts took
    only the movements computed for the date being built, and D's postings, consumptions and lots never arrived."""
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix="F")
    generate(ledger, seed=11, start=START, days=8, municipalities=("131016", "141500"), residents=30)
    ledger.write(con, up_to=START + timedelta(days=5))
    con.close()
    dbt_build(path, START + timedelta(days=5), with_tests=False)
    failed_day, next_day = START + timedelta(days=6), START + timedelta(days=7)
    with duckdb.connect(str(path)) as con:
        ledger.write(con, from_date=failed_day, up_to=failed_day)
    build_marts(path, failed_day, with_tests=False, select="+int_lot_movements", work_dir=dbt_work_dir(path))
    with duckdb.connect(str(path), read_only=True) as con:
        computed = con.execute("select count(*) from staging.int_lot_movements where computed_for_date = ?",
                               [failed_day]).fetchone()[0]
        posted = con.execute("select count(*) from marts.fct_ledger_entries where computed_for_date = ?",
                             [failed_day]).fetchone()[0]
    assert computed > 0 and posted == 0  # the engine ran for the failed day; the marts after it did not
    with duckdb.connect(str(path)) as con:
        ledger.write(con, from_date=next_day, up_to=next_day)
    dbt_build(path, next_day, with_tests=False)
    incremental = snapshot(path)

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    dbt_build(rebuilt, next_day, full_refresh=True, with_tests=False)
    full = snapshot(rebuilt)
    assert len(full["marts.fct_ledger_entries"]) > 100
    for table in TABLES:
        assert incremental[table] == full[table], table


def test_recomputed_since_by_hand(tmp_path):
    """The first computed_for_date a build of D takes: D without a stamp; the day after the last whole build that
    succeeded when that is earlier; D when that build was of D or later. Recording keeps the latest date."""
    from seisan.marts import BUILT_STAMP, _record_built, recomputed_since

    d = date(2024, 4, 10)
    assert recomputed_since(tmp_path, d) == d
    _record_built(tmp_path, date(2024, 4, 7))
    assert recomputed_since(tmp_path, d) == date(2024, 4, 8)       # the builds of 8 and 9 April failed
    _record_built(tmp_path, date(2024, 4, 12))
    _record_built(tmp_path, date(2024, 4, 9))                      # a run of an earlier date: the stamp stays
    assert (tmp_path / BUILT_STAMP).read_text(encoding="ascii") == "2024-04-12\n"
    assert recomputed_since(tmp_path, d) == d                       # 10 April run again after 12 April
    (tmp_path / BUILT_STAMP).write_text("not a date\n", encoding="ascii")
    assert recomputed_since(tmp_path, d) == d


@pytest.mark.slow
def test_a_replay_loads_the_lots_it_can_move_and_only_those(tmp_path, dbt_build):
    """The FIFO engine loads as state only the lots a replay can move: something left, given back by a cancel in
    the window, or expiring in it. Built on the days that matter, then against a full rebuild and by hand:
    - a cancel on 5 April gives back to a lot that expired on 4 April (an earlier build wrote its expiry): the lot
      is expired and empty, yet state; the 100 given back lapses at once;
    - a cancel on 5 April gives back to an emptied lot that never expires, and a later use takes from it;
    - a lot emptied on 27 March expires on 5 April at 0: it is state for its expiry row;
    - a lot with something left is consumed by a later use."""
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix="S")
    expired = ledger.grant(datetime(2024, 3, 25, 9), "131016", "LAPSERES", "CHY_D10", 500)   # expires 4 April
    kept = ledger.grant(datetime(2024, 3, 25, 9, 30), "131016", "LAPSERES", "CHY_D30", 100)  # expires 24 April
    use = ledger.use(datetime(2024, 3, 26, 10), "131016", "LAPSERES", 300)                    # all from `expired`
    cancel = ledger.cancel(datetime(2024, 4, 5, 10), "131016", "LAPSERES", use, 100)
    later_use = ledger.use(datetime(2024, 4, 5, 11), "131016", "LAPSERES", 60)                # from `kept`
    emptied = ledger.grant(datetime(2024, 3, 26, 9), "131016", "ZEROEXPY", "CHY_D10", 200)   # expires 5 April
    ledger.use(datetime(2024, 3, 27, 10), "131016", "ZEROEXPY", 200)
    prepaid = ledger.charge(datetime(2024, 3, 26, 9), "131016", "ZEROEXPY", "CHY_PRE", 50)    # never expires
    prepaid_use = ledger.use(datetime(2024, 3, 27, 11), "131016", "ZEROEXPY", 50)
    prepaid_cancel = ledger.cancel(datetime(2024, 4, 5, 10), "131016", "ZEROEXPY", prepaid_use, 20)
    last_use = ledger.use(datetime(2024, 4, 5, 12), "131016", "ZEROEXPY", 10)
    built = START
    for day in (date(2024, 3, 30), date(2024, 4, 4), date(2024, 4, 5)):
        ledger.write(con, from_date=built, up_to=day)
        built = day + timedelta(days=1)
        con.close()
        dbt_build(path, day)
        con = duckdb.connect(str(path))
    movements = {(row[0], row[1]): row[2:] for row in con.execute(
        "select event_id, movement_kind, lot_event_id, amount_yen from staging.int_lot_movements "
        "where computed_for_date = date '2024-04-05'").fetchall()}
    con.close()
    assert movements == {
        (cancel, "restore"): (expired, 100), (cancel, "lapse"): (expired, 100),
        (later_use, "consume"): (kept, 60),
        (prepaid_cancel, "restore"): (prepaid, 20), (last_use, "consume"): (prepaid, 10),
        (f"expiry:{emptied}", "expire"): (emptied, 0),
    }
    incremental = snapshot(path)

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    dbt_build(rebuilt, date(2024, 4, 5), full_refresh=True)
    full = snapshot(rebuilt)
    for table in TABLES:
        assert incremental[table] == full[table], table


@pytest.mark.slow
def test_a_warehouse_built_before_the_build_stamps_is_computed_again_on_its_next_build(tmp_path, dbt_build):
    """A warehouse built before fct_settlement_items was incremental (no masters_fingerprint) and before
    int_point_lots__dated stamped computed_for_date: its next daily build computes every settlement item again (its
    items are not trusted: here they are zeroed first, and must come back) and adds both columns; then the tables
    equal a full rebuild. A late use in an earlier period arrives with that build."""
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix="U")
    generate(ledger, seed=17, start=START, days=10, municipalities=("131016", "242012"), residents=30)
    late = ledger.use(datetime(2024, 3, 26, 12), "131016", "GEN17000000", 300)
    on_time = Ledger(prefix="U", rows=[r for r in ledger.rows if r["event_id"] != late])
    first_day, next_day = START + timedelta(days=7), START + timedelta(days=9)
    on_time.write(con, up_to=first_day)
    con.close()
    dbt_build(path, first_day, with_tests=False)
    with duckdb.connect(str(path)) as con:
        assert con.execute("select count(*) from marts.fct_settlement_items where amount_yen <> 0").fetchone()[0] > 0
        con.execute("update marts.fct_settlement_items set amount_yen = 0, use_count = 0")
        con.execute("alter table marts.fct_settlement_items drop column masters_fingerprint")
        con.execute("alter table staging.int_point_lots__dated drop column computed_for_date")
        on_time.write(con, from_date=first_day + timedelta(days=1), up_to=next_day)
        Ledger(prefix="U", rows=[r for r in ledger.rows if r["event_id"] == late]).write(con)
    dbt_build(path, next_day)
    incremental = snapshot(path)
    with duckdb.connect(str(path), read_only=True) as con:
        # every item was computed again: none is left zeroed, and every one carries the fingerprint
        assert con.execute("select count(*) from marts.fct_settlement_items "
                           "where use_count = 0 and cancel_count = 0 or masters_fingerprint is null").fetchone() == (0,)
        # the lots written before the column existed have no stamp; the lots this build wrote have its date
        stamps = dict(con.execute("select computed_for_date, count(*) from staging.int_point_lots__dated "
                                  "group by all").fetchall())
    assert set(stamps) <= {None, next_day} and stamps.get(None, 0) > 0

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    dbt_build(rebuilt, next_day, full_refresh=True, with_tests=False)
    full = snapshot(rebuilt)
    assert any(row[0] == late for row in full["staging.int_settlement__events"])
    for table in TABLES:
        assert incremental[table] == full[table], table
