"""Batches: a run writes its files in batches (one transaction each); a failed batch leaves neither rows nor
manifest rows nor Parquet behind and the next run loads it; a crash after COMMIT is finished by the next run;
files of one batch see each other's rows (terminal links, renamed copies, repeated CSV keys)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ingestion_builders import (
    D,
    accounting_holds,
    cert_row,
    ledger_row,
    manifest,
    quarantine,
    run,
    terminal_records,
    write_certs,
    write_ledger,
    write_terminal,
)

import ingestion.store as store
from contracts import terminal_log

GENESIS = terminal_log.GENESIS_HASH
LEDGER = "platform/ledger_20261125.csv"


def _inbox_of_two_phases(tmp: Path) -> None:
    """Masters (from the fixture) and certificates in their own batches; a ledger and a terminal file in the
    last batch."""
    write_certs(tmp / "inbox", [cert_row()])
    write_ledger(tmp / "inbox", [ledger_row("E1"), ledger_row("E2")])
    write_terminal(tmp / "inbox", terminal_records(1, 2, GENESIS), 1)


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]


def _parquet(tmp: Path) -> list[str]:
    return sorted(p.relative_to(tmp / "raw").as_posix() for p in (tmp / "raw").rglob("*.parquet"))


def test_failed_batch_leaves_nothing_and_the_next_run_loads_it(con, tmp, monkeypatch):
    _inbox_of_two_phases(tmp)
    original = store._append

    def failing(connection, table_name, rows):
        original(connection, table_name, rows)  # the raw rows of the batch are in, uncommitted
        if table_name == "file_manifest" and LEDGER in rows.column("path").to_pylist():
            raise OSError("disk full while writing the batch")

    monkeypatch.setattr(store, "_append", failing)
    with pytest.raises(OSError):
        run(con, tmp)
    # masters and certificates were committed in their own batches; the last batch not at all
    paths = {p for (p,) in con.execute("SELECT path FROM raw.file_manifest").fetchall()}
    assert "platform/mykey_certs_20261102.csv" in paths
    assert not {p for p in paths if not p.startswith("master/") and "mykey_certs" not in p}
    for table in ("platform_ledger", "terminal_records", "terminal_seals", "quarantine"):
        assert _count(con, table) == 0, table
    assert not [
        p for p in _parquet(tmp) if "source=terminal" in p or "platform_ledger" in p or p.startswith(".pending/")
    ]
    assert not (tmp / "raw" / store.PENDING_FOLDER).exists() or not any((tmp / "raw" / store.PENDING_FOLDER).iterdir())

    monkeypatch.setattr(store, "_append", original)
    summary = run(con, tmp)
    assert summary.files_by_status == {"loaded": 2}  # the ledger and the terminal file, nothing else again
    assert sorted(e for (e,) in con.execute("SELECT event_id FROM raw.platform_ledger").fetchall()) == ["E1", "E2"]
    assert (_count(con, "terminal_records"), _count(con, "terminal_seals")) == (2, 1)
    assert manifest(con, LEDGER)["count"] == 1 and accounting_holds(con)
    ledger_parquet = [p for p in _parquet(tmp) if "platform_ledger" in p]
    assert len(ledger_parquet) == 1 and ledger_parquet[0].startswith("source=platform/date=2026-11-25/")


def test_crash_after_commit_is_finished_by_the_next_run(con, tmp, monkeypatch):
    _inbox_of_two_phases(tmp)

    def crash(folder, raw_dir):
        raise KeyboardInterrupt  # the process dies after COMMIT, before the Parquet is in place

    monkeypatch.setattr(store, "_publish", crash)
    with pytest.raises(KeyboardInterrupt):
        run(con, tmp)
    assert _count(con, "file_manifest") > 0 and _parquet(tmp) and all(p.startswith(".pending/") for p in _parquet(tmp))

    monkeypatch.undo()
    manifest_rows = _count(con, "file_manifest")
    run(con, tmp)  # publishes the committed batch, then loads the batches that never ran
    assert all(not p.startswith(".pending/") for p in _parquet(tmp))
    assert _count(con, "file_manifest") == manifest_rows + 3  # certificates, ledger and terminal file
    masters = [p for p in _parquet(tmp) if p.startswith("source=master/") and "-file_manifest" not in p]
    assert {p.split("/")[-1].split("-")[0] for p in masters} >= {"master_municipalities", "master_merchants"}


def test_uncommitted_pending_parquet_is_deleted(con, tmp):
    run(con, tmp)
    folder = tmp / "raw" / store.PENDING_FOLDER / "0123456789abcdef"
    stray = folder / "source=platform" / "date=2026-11-25" / "platform_ledger-0123456789abcdef.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not committed")
    (folder / "batch.json").write_text('{"file_sha256": "00", "path": "platform/x.csv", "mtime_ns": 1}')
    assert store.recover_pending_parquet(con, tmp / "raw") == []
    assert not folder.exists() and not (tmp / "raw" / "source=platform").exists()


def test_files_of_one_batch_see_each_other(con, tmp):
    inbox = tmp / "inbox"
    write_certs(inbox, [cert_row()])
    first = terminal_records(1, 2, GENESIS)
    write_terminal(inbox, first, 1)
    write_terminal(inbox, first, 2)  # a renamed copy of upload 1, in the same batch
    write_terminal(inbox, terminal_records(4, 2, first[-1]["hash"]), 3)  # links to upload 1's seal
    late = D - dt.timedelta(days=1)
    write_ledger(inbox, [ledger_row("E1", late)], late)
    write_ledger(inbox, [ledger_row("E1"), ledger_row("E2")])
    run(con, tmp)
    terminal = f"terminal/T00000001/T00000001_{D:%Y%m%d}_"
    assert quarantine(con, terminal + "0002.jsonl") == [
        (1, "duplicate_key"),
        (2, "duplicate_key"),
        (3, "duplicate_key"),
    ]
    assert manifest(con, terminal + "0003.jsonl")["loaded"] == 3
    assert [s for (s,) in con.execute("SELECT seq FROM raw.terminal_records ORDER BY seq").fetchall()] == [1, 2, 4, 5]
    assert con.execute("SELECT count(*) FROM raw.terminal_seq_gaps").fetchone()[0] == 0
    assert quarantine(con, LEDGER) == [(2, "duplicate_key")]
    assert con.execute("SELECT event_id, business_date FROM raw.platform_ledger ORDER BY 1").fetchall() == [
        ("E1", late),
        ("E2", D),
    ]
    assert accounting_holds(con)
    ledger = pq.read_table(next((tmp / "raw" / "source=platform" / "date=2026-11-25").glob("platform_ledger-*")))
    assert ledger.column("event_id").to_pylist() == ["E2"]
