"""Incremental runs day by day (with a late event arriving days after its date) equal one full rebuild."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import pytest
from conftest import new_warehouse
from marts_generated import generate
from marts_worlds import Ledger, write_masters

START = date(2024, 3, 25)
TABLES = {
    "staging.int_lot_movements": "movement_id",
    "marts.fct_point_lots": "lot_event_id",
    "marts.fct_lot_consumptions": "consumption_id",
    "marts.fct_ledger_entries": "entry_id",
    "marts.fct_balances": "business_date, municipality_code, program_code, mykey_id",
    "marts.fct_settlement_items": "settlement_item_id",
}


def snapshot(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: con.execute(f"select * exclude (computed_for_date) from {table} order by {key}").fetchall()
                if table in ("staging.int_lot_movements", "marts.fct_ledger_entries")
                else con.execute(f"select * from {table} order by {key}").fetchall()
                for table, key in TABLES.items()}


@pytest.mark.slow
def test_day_by_day_with_a_late_event_equals_full_rebuild(tmp_path, dbt_build):
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix="I")
    generate(ledger, seed=5, start=START, days=16, municipalities=("131016", "141500", "242012"), residents=40)
    late_use = ledger.use(datetime(2024, 3, 27, 8), "131016", "GEN05000000", 700)  # arrives on 3 April
    on_time = Ledger(prefix="I", rows=[r for r in ledger.rows if r["event_id"] != late_use])
    late = Ledger(prefix="I", rows=[r for r in ledger.rows if r["event_id"] == late_use])

    on_time.write(con, up_to=date(2024, 3, 30))
    con.close()
    dbt_build(path, date(2024, 3, 30))
    for day_from, day_to in ((date(2024, 3, 31), date(2024, 4, 3)), (date(2024, 4, 4), date(2024, 4, 9))):
        with duckdb.connect(str(path)) as con:
            on_time.write(con, from_date=day_from, up_to=day_to)
            if day_to == date(2024, 4, 3):
                late.write(con)
        dbt_build(path, day_to)
    incremental = snapshot(path)

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    dbt_build(rebuilt, date(2024, 4, 9), full_refresh=True)
    full = snapshot(rebuilt)
    assert len(full["marts.fct_point_lots"]) > 50
    assert any(row[0].startswith(late_use + "|") for row in full["staging.int_lot_movements"])
    for table in TABLES:
        assert incremental[table] == full[table], table
