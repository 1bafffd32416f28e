"""Batches: a run writes its files in batches (one transaction each); a failed batch leaves neither rows nor
manifest rows nor Parquet behind and the next run loads it; a crash after COMMIT is finished by the next run;
files of one batch see each other's rows (terminal links, renamed copies, repeated CSV keys)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingestion_builders import (
    D,
    accounting_holds,
    cert_row,
    csv_of,
    ledger_row,
    manifest,
    quarantine,
    run,
    sale_row,
    statuses,
    terminal_records,
    write,
    write_certs,
    write_ledger,
    write_terminal,
)

import ingestion.run as run_module
import ingestion.store as store
from contracts import terminal_log
from ingestion import identity
from ingestion.identity import read_once
from ingestion.mirror import main as mirror_main
from ingestion.mirror import verify_mirror

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


@pytest.mark.parametrize("failing_step", ["transaction", "staging"])
def test_failed_batch_leaves_nothing_and_the_next_run_loads_it(con, tmp, monkeypatch, failing_step):
    """The batch fails inside its transaction (every row inserted, not committed), or while its Parquet is
    staged (in a thread of its own, beside the transaction's inserts): either way nothing of it stays."""
    _inbox_of_two_phases(tmp)
    original, original_write = store._append, store._write_synced

    def failing(connection, table_name, rows):
        original(connection, table_name, rows)  # the raw rows of the batch are in, uncommitted
        if table_name == "file_manifest" and LEDGER in rows.column("path").to_pylist():
            raise OSError("disk full while writing the batch")

    def failing_write(path, write):
        if "platform_ledger" in path.name:
            raise OSError("disk full while staging the batch")
        original_write(path, write)

    if failing_step == "transaction":
        monkeypatch.setattr(store, "_append", failing)
    else:
        monkeypatch.setattr(store, "_write_synced", failing_write)
    with pytest.raises(OSError, match="disk full"):
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
    monkeypatch.setattr(store, "_write_synced", original_write)
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


# --- the Parquet mirror, batch ids, reading each file once -------------------------------------------------


def _parquet_rows(tmp: Path, table: str) -> int:
    return sum(pq.read_table(p).num_rows for p in (tmp / "raw").rglob(f"{table}-*.parquet"))


def _mixed_inbox(tmp: Path) -> None:
    """Loaded, quarantined, duplicate, undated and gap rows."""
    inbox = tmp / "inbox"
    _inbox_of_two_phases(tmp)
    write_ledger(inbox, [ledger_row("E9", D - dt.timedelta(days=1), amount="x")], D - dt.timedelta(days=1))
    first = terminal_records(1, 2, GENESIS)
    write_terminal(inbox, terminal_records(6, 1, first[-1]["hash"]), 2)  # seq 4-5 missing: a gap opens
    (inbox / "platform" / "notes.txt").write_bytes(b"no kind")


def test_every_written_row_is_in_exactly_one_parquet_file(con, tmp):
    _mixed_inbox(tmp)
    run(con, tmp)
    ledger = tmp / "inbox" / LEDGER
    os.utime(ledger, ns=(ledger.stat().st_mtime_ns + 1_000, ledger.stat().st_mtime_ns + 1_000))  # a redelivery
    run(con, tmp)
    assert manifest(con, LEDGER)["status"] == "duplicate"
    assert manifest(con, "platform/notes.txt")["status"] == "rejected"
    assert con.execute("SELECT count(*) FROM raw.terminal_seq_gaps").fetchone()[0] == 1
    for table in ("file_manifest", "quarantine", "platform_ledger", "terminal_records", "master_merchants"):
        assert _parquet_rows(tmp, table) == _count(con, table), table
    assert [p for p in _parquet(tmp) if "date=undated" in p]  # the file of no known kind
    assert verify_mirror(con, tmp / "raw").ok


def test_verify_mirror_reports_each_kind_of_difference(con, tmp):
    _mixed_inbox(tmp)
    run(con, tmp)
    raw = tmp / "raw"
    assert verify_mirror(con, raw).ok
    ledger = next(raw.glob("source=platform/date=2026-11-25/platform_ledger-*.parquet"))
    rows = pq.read_table(ledger)
    ledger.unlink()
    report = verify_mirror(con, raw)
    assert [(d.table, d.partition, d.missing, d.extra) for d in report.differences] == [
        ("platform_ledger", "source=platform/date=2026-11-25", 2, 0)
    ]
    pq.write_table(rows.set_column(rows.schema.get_field_index("amount"), "amount",
                                   pa.array([1, 2], pa.int64())), ledger)
    changed = verify_mirror(con, raw).differences
    assert [(d.missing, d.extra) for d in changed] == [(2, 2)]
    pq.write_table(rows, ledger)
    assert verify_mirror(con, raw).ok
    pq.write_table(rows, ledger.with_name("platform_ledger-00000000000000ff.parquet"))  # a batch never committed
    report = verify_mirror(con, raw)
    assert report.unknown_batch_files == ("source=platform/date=2026-11-25/platform_ledger-00000000000000ff.parquet",)
    assert [(d.missing, d.extra) for d in report.differences] == [(0, 2)]
    assert [n for _, n in report.foreign_rows] == [2]
    ledger.with_name("platform_ledger-00000000000000ff.parquet").unlink()
    (raw / "notes").write_text("x")
    (raw / store.PENDING_FOLDER / "0123").mkdir(parents=True)
    report = verify_mirror(con, raw)
    assert (report.stray_files, report.pending, report.differences) == (("notes",), ("0123",), ())
    gaps = next(raw.rglob(f"{store.GAP_CHANGES}-*.parquet"))
    gaps.unlink()
    (raw / "notes").unlink()
    (raw / store.PENDING_FOLDER / "0123").rmdir()
    assert [d.table for d in verify_mirror(con, raw).differences] == ["terminal_seq_gaps"]


def test_each_batch_attempt_has_its_own_id_and_parquet_files(con, tmp):
    """A retried file's two evaluations, and the batch a failed attempt left, never share a name."""
    sales = "partner/ZZZ/ZZZ_sales_20261125.csv"
    write(tmp / "inbox", sales, csv_of("partner_sales", [sale_row()]))
    run(con, tmp)
    write(tmp / "inbox", "master/partners_20261120.csv", csv_of("master_partners", [
        dict(partner_code="ZZZ", name="Zed", kind="retail", encoding="utf-8", payer_name_kana="ｾﾞﾂﾄ")]))
    run(con, tmp)
    assert statuses(con, sales) == [("rejected", "partner_unknown"), ("loaded", None)]
    batches = con.execute("SELECT batch_id FROM raw.file_manifest WHERE path = ? ORDER BY ingested_at",
                          [sales]).fetchall()
    assert len({b for (b,) in batches}) == 2 and all(b is not None and len(b) == 16 for (b,) in batches)
    mirrored = [pq.read_table(p) for p in (tmp / "raw" / "source=partner").rglob("file_manifest-*.parquet")]
    # the first evaluation's Parquet is not overwritten by the second's
    assert sorted(s for table in mirrored for s in table.column("status").to_pylist()) == ["loaded", "rejected"]
    assert verify_mirror(con, tmp / "raw").ok


def _replace(path: Path, data: bytes) -> None:
    """Swap a file's content the way a sender re-uploading it would (new inode, atomic rename)."""
    partial = path.with_name(f".{path.name}.new")
    partial.write_bytes(data)
    partial.replace(path)


def test_a_file_replaced_after_the_scan_is_hashed_as_read(con, tmp, monkeypatch):
    run(con, tmp)
    old = write_ledger(tmp / "inbox", [ledger_row("OLD")])
    new = csv_of("platform_ledger", [ledger_row("NEW1"), ledger_row("NEW2")])
    real_scan = run_module.scan

    def scan_then_replace(inbox, settle_seconds):
        found = real_scan(inbox, settle_seconds)
        _replace(old, new)
        return found

    monkeypatch.setattr(run_module, "scan", scan_then_replace)
    run(con, tmp)
    row = con.execute("SELECT file_sha256, size_bytes FROM raw.file_manifest WHERE path = ?", [LEDGER]).fetchone()
    assert row == (hashlib.sha256(new).hexdigest(), len(new))
    assert con.execute("SELECT event_id, file_sha256 FROM raw.platform_ledger ORDER BY 1").fetchall() == [
        ("NEW1", row[0]), ("NEW2", row[0])
    ]


def test_a_file_replaced_before_its_parse_is_parsed_as_hashed(con, tmp, monkeypatch):
    """The batch's files are read (and hashed) first, decided later: swapped on disk in between, a CSV file and
    a terminal file are still parsed from the bytes that were hashed."""
    run(con, tmp)
    inbox = tmp / "inbox"
    write_certs(inbox, [cert_row()])
    run(con, tmp)
    ledger = csv_of("platform_ledger", [ledger_row("E1")])
    write(inbox, LEDGER, ledger)
    terminal = write_terminal(inbox, terminal_records(1, 2, GENESIS), 1)
    terminal_data = terminal.read_bytes()
    real_prefetch = run_module._Run.prefetch

    def prefetch_then_swap(self, prepared):
        real_prefetch(self, prepared)
        if not any(p.file.rel_path == LEDGER for p in prepared):
            return  # another batch's files
        _replace(inbox / LEDGER, csv_of("platform_ledger", [ledger_row("SWAPPED")]))
        _replace(terminal, b"{}\n")

    monkeypatch.setattr(run_module._Run, "prefetch", prefetch_then_swap)
    run(con, tmp)
    shas = dict(con.execute("SELECT path, file_sha256 FROM raw.file_manifest").fetchall())
    assert shas[LEDGER] == hashlib.sha256(ledger).hexdigest()
    assert shas[terminal.relative_to(inbox).as_posix()] == hashlib.sha256(terminal_data).hexdigest()
    assert con.execute("SELECT event_id FROM raw.platform_ledger").fetchall() == [("E1",)]
    assert _count(con, "terminal_records") == 2 and accounting_holds(con)


def test_read_once_keeps_the_bytes_it_hashed_and_only_hashes_a_file_over_the_limit(tmp):
    path = tmp / "file.bin"
    content = bytes(range(256)) * 12  # 3,072 bytes
    path.write_bytes(content)
    under = read_once(path, 3072)
    assert (under.sha256, under.size_bytes, under.data) == (hashlib.sha256(content).hexdigest(), 3072, content)
    assert under.mtime_ns == path.stat().st_mtime_ns
    over = read_once(path, 3071)
    assert (over.sha256, over.size_bytes, over.data) == (hashlib.sha256(content).hexdigest(), 3072, None)


def test_read_once_reads_on_past_the_size_seen_at_open_when_the_file_grew(tmp, monkeypatch):
    path = tmp / "file.bin"
    content = bytes(range(256)) * 12  # 3,072 bytes, of which only 100 were there when the file was opened
    path.write_bytes(content)
    real = os.fstat
    monkeypatch.setattr(identity.os, "fstat", lambda fd: os.stat_result((*real(fd)[:6], 100, *real(fd)[7:])))
    grown = read_once(path, 3072)
    assert (grown.sha256, grown.size_bytes, grown.data) == (hashlib.sha256(content).hexdigest(), 3072, content)
    over = read_once(path, 3071)
    assert (over.sha256, over.size_bytes, over.data) == (hashlib.sha256(content).hexdigest(), 3072, None)


def test_a_committed_batch_staged_before_batch_ids_is_still_published(con, tmp):
    """A pending folder left by the former code (its marker names a manifest row; no batch id on the rows)."""
    run(con, tmp)
    sha, path, mtime = con.execute(
        "SELECT file_sha256, path, mtime_ns FROM raw.file_manifest WHERE path LIKE 'master/merchants%'").fetchone()
    con.execute("UPDATE raw.file_manifest SET batch_id = NULL WHERE path = ?", [path])
    folder = tmp / "raw" / store.PENDING_FOLDER / "0123456789abcdef"
    staged = folder / "source=master" / "date=2026-11-01" / "extra-0123456789abcdef.parquet"
    staged.parent.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), staged)
    (folder / "batch.json").write_text(f'{{"file_sha256": "{sha}", "path": "{path}", "mtime_ns": {mtime}}}')
    assert store.recover_pending_parquet(con, tmp / "raw") == ["0123456789abcdef"]
    assert (tmp / "raw" / "source=master" / "date=2026-11-01" / "extra-0123456789abcdef.parquet").exists()
    assert not folder.exists()


def test_the_mirror_check_as_a_command(tmp, capsys):
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as file_con:
        run(file_con, tmp)
    assert mirror_main([str(warehouse), str(tmp / "raw")]) == 0
    assert capsys.readouterr().out == "the Parquet copy equals the warehouse\n"
    next((tmp / "raw").rglob("master_merchants-*.parquet")).unlink()
    assert mirror_main([str(warehouse), str(tmp / "raw")]) == 1
    assert capsys.readouterr().out.startswith("master_merchants source=master/date=2026-11-01: 1 row(s) missing")


def test_a_certificates_der_is_stored_uncompressed(tmp_path):
    """Base64 of DER (random bytes) gains nothing from DuckDB's string compression, whose analysis was most of
    an ingest's checkpoint (ingestion.schema). Rows that would compress well show the setting holds."""
    from ingestion.schema import ensure_raw_schema

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        ensure_raw_schema(con)
        con.execute(
            "INSERT INTO raw.platform_mykey_certs (mykey_id, cert_serial, cert_der, event) "
            "SELECT 'K' || i, printf('%x', i), repeat(md5((i % 7)::VARCHAR), 30), 'registered' FROM range(20000) t(i)"
        )
        con.execute("CHECKPOINT")
        stored = con.execute(
            "SELECT column_name, compression FROM pragma_storage_info('raw.platform_mykey_certs') "
            "WHERE segment_type = 'VARCHAR' AND column_name IN ('cert_der', 'mykey_id')"
        ).fetchall()
        assert {c for name, c in stored if name == "cert_der"} == {"Uncompressed"}
        assert {c for name, c in stored if name == "mykey_id"} != {"Uncompressed"}  # the others as DuckDB likes
    finally:
        con.close()
