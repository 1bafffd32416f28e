"""Simulator × ingestion: every ingestion fault the simulator injects is found with the expected reason code,
nothing else is quarantined, and a world without faults quarantines nothing — for several seeds.

The simulator's faults.json is the independent expectation: it records what was broken, where, and which
reason code the formats page implies, before ingestion ever sees the files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from ingestion import ingest
from simulator import deliver, simulate

START = dt.date(2026, 3, 28)   # crosses a fiscal year end and a month end
DAYS = 6


def _run_world(tmp_path: Path, seed: int, faults: str) -> tuple[duckdb.DuckDBPyConnection, dict]:
    inbox = tmp_path / "inbox"
    simulate(inbox, START, DAYS, 2, 120, seed, faults=faults)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for offset in range(DAYS + 3):   # a few days more, so that late files arrive
        day = START + dt.timedelta(days=offset)
        deliver(inbox, day)
        ingest(con, inbox, tmp_path / "raw", day)
    truth = json.loads((inbox / "faults.json").read_text(encoding="utf-8"))
    return con, truth


def _assert_row_accounting(con: duckdb.DuckDBPyConnection) -> None:
    bad = con.execute("select path, rows_read, rows_loaded, rows_quarantined from raw.file_manifest "
                      "where rows_read != rows_loaded + rows_quarantined").fetchall()
    assert bad == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_world_without_faults_quarantines_nothing(tmp_path: Path, seed: int) -> None:
    con, truth = _run_world(tmp_path, seed, "none")
    assert truth["entries"] == []
    assert con.execute("select count(*) from raw.quarantine").fetchone()[0] == 0
    statuses = dict(con.execute("select status, count(*) from raw.file_manifest group by 1").fetchall())
    assert set(statuses) == {"loaded"}, statuses
    _assert_row_accounting(con)
    assert con.execute("select count(*) from raw.platform_ledger").fetchone()[0] > 0
    assert con.execute("select count(*) from raw.terminal_records").fetchone()[0] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed, level", [(21, "typical"), (22, "typical"), (23, "hostile")])
def test_every_injected_ingestion_fault_is_found(tmp_path: Path, seed: int, level: str) -> None:
    con, truth = _run_world(tmp_path, seed, level)
    entries = [e for e in truth["entries"] if e["layer"] == "ingestion"]
    assert entries, "a faulty world must inject ingestion faults"
    quarantined = {(p, n, r) for p, n, r in con.execute(
        "select path, line_number, reason_code from raw.quarantine").fetchall()}
    files = {(p, s, r) for p, s, r in con.execute(
        "select path, status, coalesce(reason_code, '') from raw.file_manifest").fetchall()}
    statuses = {(p, s) for p, s, _ in files}
    rows_by_reason = {(p, r): n for p, r, n in con.execute(
        "select path, reason_code, count(*) from raw.quarantine group by 1, 2").fetchall()}
    missed = []
    for entry in entries:
        expect = entry["expect"]
        if "rows_status" in expect:   # a file that loads, with some of its rows quarantined
            found = ((entry["path"], expect["file_status"]) in statuses
                     and rows_by_reason.get((entry["path"], expect["reason_code"])) == expect["rows"])
        elif "file_status" in expect:
            found = (entry["path"], expect["file_status"], expect.get("reason_code") or "") in files
        else:
            found = (entry["path"], entry["line_number"], expect["reason_code"]) in quarantined
        if not found:
            missed.append(entry)
    assert missed == [], f"{len(missed)} of {len(entries)} injected faults not found as expected: {missed[:5]}"
    _assert_row_accounting(con)


@pytest.mark.slow
def test_nothing_is_quarantined_that_was_not_injected(tmp_path: Path) -> None:
    con, truth = _run_world(tmp_path, 31, "typical")
    entries = [e for e in truth["entries"] if e["layer"] == "ingestion"]
    explained_rows = {(e["path"], e["line_number"]) for e in entries}
    explained_files = {e["path"] for e in entries if e["line_number"] == 0 or "file_status" in e["expect"]}
    rows = con.execute("select path, line_number, reason_code from raw.quarantine").fetchall()
    unexplained = [r for r in rows if (r[0], r[1]) not in explained_rows and r[0] not in explained_files]
    assert unexplained == [], f"quarantined without an injected fault: {unexplained[:10]}"
