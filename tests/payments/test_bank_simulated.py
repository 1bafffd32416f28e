"""The simulated bank on a simulated world, end to end: simulate → run days (ingest, reconcile, payments step) →
prepare and approve by two officers (keys made in tmp) → export → the bank executes → the next days find what it
did. Against faults.json: the fee the bank overcharged is a break with the file's schedule fee and the amount
charged; every payout returned 振込不能 is a break until it is paid again, is re-queued once the corrected
merchants master is in force and paid again exactly once (confirmed). Every day, per municipality and merchant,
Σ transfers + Σ carried + Σ held (+ not yet frozen) = Σ payable items.

The marts are built once (all files but the bank statements ingested up front: planning reads the versioned
masters in force on each day, so the corrected account takes effect on its date); the statements, which the bank
rewrites, are ingested day by day. The gate is opened by the test (a typical world's other breaks would keep it
shut at materiality 0; the gate has its own tests)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import payfile_builders as b
import pytest

import ingestion
import simulator
from contracts.reasons import BreakCode
from payments.daily import run_payments_day
from payments.planning import municipalities_in_force
from payments.positions import positions
from payments.schema import ensure_schema
from reconciliation.breaks import sync_breaks
from reconciliation.engine import run_matching
from seisan.config import load_settings
from seisan.marts import build_marts
from seisan.payments_file_steps import approve_payment_file, export_payment_files, prepare_payment_files
from simulator.bank import execute

START, DAYS, RUN_DAYS = dt.date(2026, 3, 2), 8, 9   # Monday; the last run is the day after the world ends
SEED = 7
NOW = dt.datetime(2026, 3, 20, 9, 0)


def _copy_bank_statements(sim: Path, inbox: Path, through: dt.date) -> None:
    """Deliver the (possibly rewritten) statements named for dates up to `through` into the test's inbox."""
    for path in sorted((sim / "bank").rglob("*.txt")):
        if dt.datetime.strptime(path.stem[-8:], "%Y%m%d").date() <= through:
            target = inbox / path.relative_to(sim)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


@pytest.mark.slow
def test_bank_faults_are_found_and_returns_repaid_once(seisan_home, tmp_path, monkeypatch) -> None:
    officers = b.make_officers(tmp_path / "officers")
    monkeypatch.setenv("SEISAN_PAYMENTS_OFFICERS_FILE", str(officers.registry_path))
    monkeypatch.setenv("SEISAN_OFFICER_KEY_DIR", str(officers.key_dir))
    monkeypatch.setenv("SEISAN_PAYMENTS_EXPORT_DIR", str(tmp_path / "bank-outbox"))
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)

    sim, inbox = tmp_path / "sim", tmp_path / "inbox"
    simulator.simulate(sim, START, DAYS, 2, 150, SEED, faults="typical")
    shutil.copytree(sim, inbox, ignore=shutil.ignore_patterns("bank", "bank-sim", "faults.json"))
    end = START + dt.timedelta(days=RUN_DAYS - 1)
    with duckdb.connect(str(settings.warehouse)) as con:
        ingestion.ingest(con, inbox, settings.raw_dir, end)
        ensure_schema(con)   # the bank-check view reads the payments tables (rebuilt with the marts daily)
    build_marts(settings.warehouse, end)

    with duckdb.connect(str(settings.warehouse)) as con:
        codes = [m.municipality_code for m in municipalities_in_force(con, START)]
        con.execute("create schema if not exists recon")
        con.execute("create table recon.gate (run_date date, municipality_code varchar, status varchar)")
    files_executed = 0
    for offset in range(RUN_DAYS):
        day = START + dt.timedelta(days=offset)
        _copy_bank_statements(sim, inbox, day)
        with duckdb.connect(str(settings.warehouse)) as con:
            ingestion.ingest(con, inbox, settings.raw_dir, day)
            run_matching(con, day)
            sync_breaks(con, day, now=NOW.replace(tzinfo=dt.UTC))
            con.executemany("insert into recon.gate values (?, ?, 'open')", [(day, c) for c in codes])
            run_payments_day(con, day, now=NOW)
            unbalanced = [p for p in positions(con, day) if not p.balanced]
            assert unbalanced == [], (day, unbalanced)
        prepared = prepare_payment_files(settings, day, "OFF-SATO", now=NOW)
        for item in prepared:
            approve_payment_file(settings, item.path, "OFF-KATO")
        export_payment_files(settings, day, now=NOW)
        result = execute(sim, settings.payments_export_dir, day)
        files_executed += sum(not e.already for e in result.executions)
        again = execute(sim, settings.payments_export_dir, day)   # idempotent: nothing new
        assert all(e.already for e in again.executions) and again.statements_written == ()

    truth = json.loads((sim / "faults.json").read_text(encoding="utf-8"))["entries"]
    fee_faults = [e for e in truth if e["kind"] == "bank_fee_over_schedule"]
    returns = [e for e in truth if e["kind"] == "bank_transfer_returned"]
    wrong = [e for e in truth if e["kind"] == "merchant_account_wrong"]
    assert files_executed >= 2 and fee_faults and returns and wrong
    with duckdb.connect(str(settings.warehouse)) as con:
        for fault in fee_faults:
            batch_id = fault["batch"]
            rows = con.execute("select break_code, expected, actual, amount_at_risk_yen, status from recon.breaks "
                               "where break_code = ? and left_key like ?",
                               [BreakCode.BANK_FEES_OVER_SCHEDULE.value, f"{batch_id}|%"]).fetchall()
            assert rows == [(BreakCode.BANK_FEES_OVER_SCHEDULE.value, str(fault["expected"]), str(fault["actual"]),
                             fault["actual"] - fault["expected"], "open")]
            assert con.execute("select total_fee_yen from payments.batches where batch_id = ?",
                               [batch_id]).fetchone() == (fault["expected"],)
        for fault in returns:
            payout_id = fault["payout_id"]
            state, merchant, transfer_yen = con.execute(
                "select state, merchant_id, transfer_yen from payments.payouts where payout_id = ?",
                [payout_id]).fetchone()
            assert (state, merchant, transfer_yen) == ("requeued", fault["merchant_id"], fault["amount"])
            # the break was raised while the payout waited, and resolved by itself once it was paid again
            status, resolution = con.execute(
                "select status, resolution from recon.breaks where break_code = ? and left_key like ?",
                [BreakCode.BANK_PAYOUT_RETURNED.value, f"{payout_id}|%"]).fetchone()
            assert (status, resolution) == ("resolved", "auto")
            # paid again exactly once, to the corrected account, and that transfer went through
            repaid = con.execute("select p.payout_id, p.state, p.account_number from payments.payout_items i "
                                 "join payments.payouts p using (payout_id) where i.source_id = ?",
                                 [payout_id]).fetchall()
            assert len(repaid) == 1 and repaid[0][1] == "confirmed"
            listed = next(e for e in wrong if e["merchant_id"] == fault["merchant_id"])["listed_account_number"]
            assert repaid[0][2] != listed
        # no other bank break than the faults': every other file's fees matched, every total was withdrawn
        others = con.execute("select break_code, count(*) from recon.breaks where starts_with(break_code, 'bank_') "
                             "group by all order by 1").fetchall()
        lost = [e for e in truth if e["kind"] == "bank_execution_in_rejected_statement"]
        for fault in lost:   # executed into a statement the world forged: seisan never sees the withdrawal
            assert con.execute("select expected, status from recon.breaks where break_code = ? and left_key like ?",
                               [BreakCode.BANK_BATCH_WITHDRAWAL_MISSING.value, f"{fault['batch']}|%"]
                               ).fetchall() == [(str(fault["expected"]), "open")]
        expected = {BreakCode.BANK_FEES_OVER_SCHEDULE.value: len(fee_faults),
                    BreakCode.BANK_PAYOUT_RETURNED.value: len(returns),
                    BreakCode.BANK_BATCH_WITHDRAWAL_MISSING.value: len(lost)}
        assert dict(others) == {code: n for code, n in expected.items() if n}
