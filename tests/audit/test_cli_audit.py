"""`seisan audit verify|pack` and `seisan trace` as an auditor types them, on a temporary home holding the
hand-built world of trace_world.py, its payment file and a report recorded in audit.outputs."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from audit import record_outputs
from seisan.cli import main
from tests.audit import trace_world as w

PAYMENT = "out/2026-11-03/payments/012025_2026-11-05_B1.txt"


@pytest.fixture
def home(seisan_home: Path) -> Path:
    seisan_home.mkdir(parents=True)
    day = seisan_home / "out" / "2026-11-03"
    (day / "payments").mkdir(parents=True)
    (day / "data-docs").mkdir()
    (seisan_home / PAYMENT).write_bytes(b"1" + b" " * 119 + b"\r\n")
    (seisan_home / PAYMENT.replace(".txt", ".manifest.json")).write_text('{"approved_by": "bob"}\n')
    (day / "data-docs" / "index.html").write_text("<h1>checks</h1>")
    (day / "reconciliation-2026-11-03.html").write_text("<p>report</p>")
    with duckdb.connect(str(seisan_home / "warehouse.duckdb")) as con:
        w.build(con, b2_outputs=False)  # every output recorded here is on the home's disk
        for paths, kind in (([seisan_home / PAYMENT], "payment_file"), ([day / "data-docs"], "data_docs"),
                            ([day / "reconciliation-2026-11-03.html"], "daily_report")):
            record_outputs(con, paths, kind=kind, business_date=dt.date(2026, 11, 3), base_dir=seisan_home,
                           step="test")
    return seisan_home


def run(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_verify_passes_untouched_and_names_one_edited_byte(home: Path, capsys) -> None:
    status, out = run(capsys, "audit", "verify")
    assert status == 0 and "audit verify: OK" in out
    data = bytearray((home / PAYMENT).read_bytes())
    data[5] = ord("9")
    (home / PAYMENT).write_bytes(bytes(data))
    status, out = run(capsys, "audit", "verify")
    assert status == 1
    assert f"PROBLEM [output_changed] output {PAYMENT} (payment_file of 2026-11-03) was changed" in out


@pytest.mark.parametrize("statement, expected", [
    ("update audit.step_runs set seconds = 1 where step = 'build_marts'",
     "[row_edited] audit.step_runs row seq 2 (step build_marts, business_date 2026-11-03"),
    ("delete from audit.step_runs where seq = 3", "[rows_deleted] audit.step_runs row seq 3 was deleted"),
    ("insert into audit.step_runs (business_date, step, started_at, finished_at, seconds) values "
     "(date '2026-11-04', 'gate', now(), now(), 1)", "[row_inserted] audit.step_runs holds a row that was inserted"),
])
def test_verify_names_a_step_run_changed_by_sql(home: Path, capsys, statement: str, expected: str) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(statement)
    status, out = run(capsys, "audit", "verify", "--json")
    result = json.loads(out)
    assert status == 1 and not result["ok"]
    assert any(expected in f"[{p['code']}] {p['sentence']}" for p in result["problems"]), result["problems"]


def test_trace_prints_the_way_back_and_json_round_trips(home: Path, capsys) -> None:
    status, out = run(capsys, "trace", "payout", "PO1")
    assert status == 0
    assert "payouts (振込): 1" in out
    assert f"{home / 'inbox' / w.LEDGER_PATH} — sha256 {w.LEDGER_SHA}" in out
    assert "line 5 (ledger event E4)" in out
    status, out = run(capsys, "trace", "file", w.TERMINAL_PATH, "--json")
    assert status == 0 and "PO1" in [p["payout_id"] for p in json.loads(out)["sections"]["payouts"]]
    status, _ = run(capsys, "trace", "break", "BRK-404")
    assert status == 1


def test_trace_names_where_an_archived_file_is(home: Path, capsys, monkeypatch) -> None:
    """With `[ingest] archive` on, a loaded file lives under inbox/archive/ (same relative path): trace prints
    that place; a file still in the inbox (a copy delivered again, say) is named there first."""
    monkeypatch.setenv("SEISAN_INGEST_ARCHIVE", "true")
    archived = home / "inbox" / "archive" / w.LEDGER_PATH
    archived.parent.mkdir(parents=True)
    archived.write_bytes(b"ledger")
    status, out = run(capsys, "trace", "payout", "PO1")
    assert status == 0 and f"{archived} — sha256 {w.LEDGER_SHA}" in out
    (home / "inbox" / w.LEDGER_PATH).parent.mkdir(parents=True)
    (home / "inbox" / w.LEDGER_PATH).write_bytes(b"ledger")
    status, out = run(capsys, "trace", "payout", "PO1")
    assert f"{home / 'inbox' / w.LEDGER_PATH} — sha256 {w.LEDGER_SHA}" in out


def test_pack_is_deterministic_complete_and_recorded(home: Path, capsys) -> None:
    status, out = run(capsys, "audit", "pack", "--month", "2026-11")
    assert status == 0 and "recorded in audit.outputs" in out
    zip_path = home / "out" / "audit-pack" / "2026-11.zip"
    first = zip_path.read_bytes()
    status, out = run(capsys, "audit", "pack", "--month", "2026-11")
    assert "nothing new recorded" in out and zip_path.read_bytes() == first
    names = zipfile.ZipFile(zip_path).namelist()
    assert names == sorted(names)
    for expected in ("2026-11/README.md", "2026-11/SHA256SUMS", "2026-11/breaks/breaks.csv",
                     "2026-11/payments/2026-11-03/012025_2026-11-05_B1.txt",
                     "2026-11/payments/2026-11-03/012025_2026-11-05_B1.manifest.json",
                     "2026-11/payments/payouts.csv", "2026-11/quality/data-docs/2026-11-03/index.html",
                     "2026-11/reports/out/2026-11-03/reconciliation-2026-11-03.html", "2026-11/audit/step_runs.csv"):
        assert expected in names
    readme = (home / "out" / "audit-pack" / "2026-11" / "README.md").read_text()
    assert "seisan payments verify payments/2026-11-03/012025_2026-11-05_B1.txt" in readme
    assert "seisan audit verify --expect audit.step_runs=4:" in readme
    status, out = run(capsys, "audit", "verify")
    assert status == 0
