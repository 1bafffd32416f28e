"""A simulated world (two weeks) through the real marts and payout planning, then every payout's statement. Each
statement adds up (the module refuses one that does not), its transfer is the amount of the record whose EDI情報
is its payout id in the Zengin file of its batch (read back by the independent reader), and the statements of a
batch add up to the file's total."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

import ingestion
import simulator
from contracts.zengin_transfer import read_transfer_file
from payments.files import render_transfer_bytes
from payments.planning import load_batches, municipalities_in_force, plan_day
from reports.merchant_statement import payout_ids_of_day, statement_figures, write_statements
from seisan.marts import build_marts

START, DAYS = dt.date(2026, 9, 1), 14
NOW = dt.datetime(2026, 9, 15, 9, 0)


@pytest.mark.slow
def test_every_statement_of_a_simulated_world_matches_its_bank_file(tmp_path) -> None:
    inbox, end = tmp_path / "inbox", START + dt.timedelta(days=DAYS - 1)
    simulator.simulate(inbox, START, DAYS, 2, 150, 7, faults="typical")
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ingestion.ingest(con, inbox, tmp_path / "raw", end)
    build_marts(warehouse, end)
    statements_seen = 0
    with duckdb.connect(str(warehouse)) as con:
        codes = [m.municipality_code for m in municipalities_in_force(con, end)]
        con.execute("create schema if not exists recon")
        con.execute("create table recon.gate (run_date date, municipality_code varchar, status varchar)")
        for offset in range(DAYS):
            day = START + dt.timedelta(days=offset)
            con.executemany("insert into recon.gate values (?, ?, 'open')", [(day, c) for c in codes])
            plan_day(con, day, now=NOW)
            for batch in load_batches(con, day):
                read = read_transfer_file(render_transfer_bytes(batch))
                assert read.file is not None, read.problems
                in_file = {r.edi: r.amount for r in read.file.records}
                figures = [statement_figures(con, payout.payout_id) for payout in batch.payouts]
                assert {s.payout_id: s.transfer_yen for s in figures} == in_file
                statements_seen += len(figures)
            paths = write_statements(con, tmp_path / "out", payout_ids_of_day(con, day))
            assert all(p.stat().st_size > 0 for p in paths)
    assert statements_seen > 0
