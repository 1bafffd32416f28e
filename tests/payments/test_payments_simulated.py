"""On a simulated world, through the real marts (simulator → ingestion → one dbt build), planning every day with
every gate open: per municipality and merchant, every day, Σ transfers + Σ carried + Σ held (+ unfrozen) = Σ items,
no source is in two payouts, and the fee comparison runs on the real staging tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

import ingestion
import simulator
from payments.compare import compare_costs
from payments.planning import municipalities_in_force, plan_day
from payments.positions import positions
from seisan.marts import build_marts

START, DAYS = dt.date(2026, 3, 1), 40
NOW = dt.datetime(2026, 4, 15, 9, 0)


@pytest.mark.slow
def test_simulated_world_every_yen_accounted(tmp_path) -> None:
    inbox, end = tmp_path / "inbox", START + dt.timedelta(days=DAYS - 1)
    simulator.simulate(inbox, START, DAYS, 2, 150, 7, faults="typical")
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ingestion.ingest(con, inbox, tmp_path / "raw", end)
    build_marts(warehouse, end)
    with duckdb.connect(str(warehouse)) as con:
        codes = [m.municipality_code for m in municipalities_in_force(con, end)]
        assert codes
        con.execute("create schema if not exists recon")
        con.execute("create table recon.gate (run_date date, municipality_code varchar, status varchar)")
        payouts_seen = 0
        for offset in range(DAYS):
            day = START + dt.timedelta(days=offset)
            con.executemany("insert into recon.gate values (?, ?, 'open')", [(day, c) for c in codes])
            for result in plan_day(con, day, now=NOW):
                payouts_seen += len(result.batch.payouts) if result.batch else 0
            unbalanced = [p for p in positions(con, day) if not p.balanced]
            assert unbalanced == []
        assert payouts_seen > 0
        items, held = con.execute("select sum(amount_yen), sum(amount_yen) filter (where settlement_status <> "
                                  "'payable') from marts.fct_settlement_items where period_end_date <= ?",
                                  [end]).fetchone()
        transferred, carried, unfrozen, held_pos = (sum(getattr(p, f) for p in positions(con, end)) for f in
                                                    ("transferred_yen", "carried_yen", "unfrozen_yen", "held_yen"))
        assert (held_pos, unfrozen) == (held or 0, 0)
        assert transferred + carried + held_pos == items
        assert con.execute("select count(*) - count(distinct source_id) from payments.payout_items").fetchone() == (0,)
        costs = compare_costs(con, end, codes[0])
        assert sum(c.policy.is_current for c in costs) == 1
