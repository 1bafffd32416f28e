"""Files of any size: a CSV file over Limits.stream_bytes is streamed in bounded memory (csv_loader,
"streaming") and decided exactly as the same file read whole (and card signatures verified ahead in a process
pool exactly as record by record).

The independent expectation is the whole-file path, which the rest of the suite pins down against hand-computed
cases: the same simulated hostile world ingested both ways must give the same raw tables, the same manifest
verdicts and, for every file that loads, the same quarantine rows. Hand-computed cases cover what only a stream
can meet: duplicates across chunk boundaries, a bad byte after many chunks, a file that changes between its hash
and its read, the default limits taking a national first day, and memory that does not grow with the file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from ingestion_builders import (
    D,
    accounting_holds,
    csv_of,
    ledger_row,
    manifest,
    quarantine,
    run,
    stream_ahead_that_fails,
    table_rows,
    write,
    write_ledger,
    write_masters,
)

import ingestion.card_signatures as card_signatures
import ingestion.csv_loader as csv_loader
import ingestion.run as ingestion_run
from contracts.csvio import read_csv
from ingestion import Limits, ingest
from ingestion.inbox import InboxFile
from seisan.config import load_settings
from simulator import deliver, simulate

LEDGER = "platform/ledger_20261125.csv"
STREAM = Limits(stream_bytes=1)  # every non-empty CSV file is streamed
START = dt.date(2026, 3, 28)
DAYS = 5
# Columns no two evaluations share: when and in which batch a row was written.
UNSHARED = {"ingested_at", "batch_id"}


def _comparable(con: duckdb.DuckDBPyConnection, table: str, unshared: set[str] = UNSHARED) -> list[tuple[object, ...]]:
    names = [n for (n,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall() if n not in unshared]
    return con.execute(f"SELECT {', '.join(names)} FROM raw.{table} ORDER BY ALL").fetchall()


def _ingest_world(simulated: Path, home: Path, limits: Limits) -> duckdb.DuckDBPyConnection:
    inbox = home / "inbox"
    shutil.copytree(simulated, inbox)  # deliver() moves late files into place: each run delivers its own
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    for offset in range(DAYS + 2):
        day = START + dt.timedelta(days=offset)
        deliver(inbox, day)
        ingest(con, inbox, home / "raw", day, limits)
    return con


@pytest.fixture(scope="module")
def hostile_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("hostile") / "inbox"
    simulate(inbox, START, DAYS, 2, 150, 23, faults="hostile")
    return inbox


def test_a_streamed_world_loads_exactly_what_the_whole_files_load(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "whole").mkdir()
    (tmp_path / "streamed").mkdir()
    # Two engines as well as two readers: the whole files row by row (validate_record), the streamed chunks
    # through contracts.validation_columnar however small.
    monkeypatch.setattr(csv_loader, "COLUMNAR_MIN_ROWS", 10**9)
    whole = _ingest_world(hostile_inbox, tmp_path / "whole", Limits())
    monkeypatch.setattr(csv_loader, "COLUMNAR_MIN_ROWS", 0)
    monkeypatch.setattr(csv_loader, "STREAM_CHUNK_RECORDS", 7)  # many chunk boundaries in every file
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)  # every run's card signatures in the pool
    monkeypatch.setattr(card_signatures, "POOL_MIN_PAIRS", 1)
    pools: list[bool] = []
    close = card_signatures.CardSignatures.close

    def noted_close(self: card_signatures.CardSignatures) -> None:
        pools.append(self._pool is not None)  # terminal logs checked ahead, card signatures included, in the pool
        close(self)

    monkeypatch.setattr(card_signatures.CardSignatures, "close", noted_close)
    # Every file at its turn in this process, where the two settings above hold (a worker reading a file ahead
    # imports its own); the files read ahead are compared with their turn by the test below.
    monkeypatch.setattr(ingestion_run._Run, "stream_ahead", lambda self, planned: None)
    streamed = _ingest_world(hostile_inbox, tmp_path / "streamed", STREAM)
    assert any(pools)  # a pool did work
    tables = [n for (n,) in whole.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
    for table in tables:
        if table in ("quarantine", "file_manifest", "release_checks"):
            continue  # compared below; release_checks holds only when each run looked at the masters
        assert _comparable(streamed, table) == _comparable(whole, table), table
    verdicts = "SELECT path, file_sha256, status, reason_code FROM raw.file_manifest ORDER BY ALL"
    assert streamed.execute(verdicts).fetchall() == whole.execute(verdicts).fetchall()
    # Files kept out whole: one line-0 row when streamed (csv_loader, streaming); every other file's quarantine
    # rows are the same, raw text included.
    same = """SELECT q.path, q.line_number, q.reason_code, q.detail, q.raw_text, q.master_id, q.reason_codes
              FROM raw.quarantine q JOIN raw.file_manifest m USING (file_sha256, path, ingested_at)
              WHERE m.status = 'loaded' ORDER BY ALL"""
    assert streamed.execute(same).fetchall() == whole.execute(same).fetchall()
    assert whole.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] > 0  # the world is hostile
    assert accounting_holds(streamed)
    assert not list((tmp_path / "streamed" / "raw" / ".pending").glob("*/*"))


def _same_world(one: duckdb.DuckDBPyConnection, other: duckdb.DuckDBPyConnection) -> None:
    """Every raw table, every manifest verdict and count and every quarantine row of the two warehouses equal."""
    tables = [n for (n,) in one.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
    assert "platform_ledger" in tables and "quarantine" in tables
    for table in tables:
        if table == "release_checks":
            continue  # holds only when each run looked at the masters
        unshared = UNSHARED | {"mtime_ns"}  # each world's inbox is a copy of its own
        assert _comparable(one, table, unshared) == _comparable(other, table, unshared), table


def test_streamed_files_read_ahead_in_the_pool_load_as_at_their_turn(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run with a pool hands it the files that stream once the masters are committed (`_Run.stream_ahead`);
    their duplicate keys are looked for at their turn. The same hostile world, every CSV file streamed, ingested
    without a pool (each file at its turn, in process) is the expectation: the same tables, verdicts and
    quarantine rows, texts included."""
    (tmp_path / "at_turn").mkdir()
    (tmp_path / "ahead").mkdir()
    at_turn = _ingest_world(hostile_inbox, tmp_path / "at_turn", STREAM)  # a small world: no pool
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    finished: list[tuple[str, int]] = []
    finish = ingestion_run._Run._finish_ahead

    def noted_finish(self, item, ahead, target):  # type: ignore[no-untyped-def]
        outcome = finish(self, item, ahead, target)
        finished.append((item.file.kind, outcome.rows_quarantined))
        return outcome

    monkeypatch.setattr(ingestion_run._Run, "_finish_ahead", noted_finish)
    ahead = _ingest_world(hostile_inbox, tmp_path / "ahead", STREAM)
    _same_world(ahead, at_turn)
    kinds = {kind for kind, _ in finished}
    assert {"platform_ledger", "platform_balances"} <= kinds  # the day's large files went ahead ...
    assert any(quarantined for _, quarantined in finished)  # ... some with rows refused (and read again)
    assert not any(k.startswith("master_") for k in kinds)  # never the masters: the rest is checked against them
    assert at_turn.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] > 0  # the world is hostile
    assert accounting_holds(ahead)
    assert not list((tmp_path / "ahead" / "raw" / ".pending").glob("*"))


def test_a_streamed_file_whose_worker_fails_is_read_at_its_turn(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot read a file handed ahead (a disk error, a file that changed, a worker that died)
    costs only the head start: the file is read and validated at its turn, as without a pool."""
    (tmp_path / "at_turn").mkdir()
    (tmp_path / "failed").mkdir()
    at_turn = _ingest_world(hostile_inbox, tmp_path / "at_turn", STREAM)
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    monkeypatch.setattr(ingestion_run, "stream_ahead", stream_ahead_that_fails)  # run by the workers
    handed: list[int] = []
    hand = ingestion_run._Run.stream_ahead

    def noted_hand(self, planned):  # type: ignore[no-untyped-def]
        hand(self, planned)
        handed.append(len(self.streams))

    monkeypatch.setattr(ingestion_run._Run, "stream_ahead", noted_hand)
    failed = _ingest_world(hostile_inbox, tmp_path / "failed", STREAM)
    assert sum(handed) > 0
    _same_world(failed, at_turn)
    assert not list((tmp_path / "failed" / "raw" / ".pending").glob("*"))


def test_a_file_that_streams_is_planned_in_a_batch_of_its_own() -> None:
    """`batches` cuts before and after each file its `alone` names (a file that streams, under the run's
    limits): one handed to the pool ahead is never waited for while the terminal logs planned after it are
    read for the pool, before its turn."""
    def file(kind: str, size: int, **groups: str) -> InboxFile:
        name = f"{kind}-{size}-{len(groups)}"
        return InboxFile(f"/inbox/{name}", name, "x", name, kind, START, dict(groups), size, 1)

    limits = Limits(stream_bytes=100)
    certs, ledger = file("platform_mykey_certs", 500), file("platform_ledger", 900)
    sales, balances = file("partner_sales", 50, partner="P1"), file("platform_balances", 700)
    first, second = file("terminal_log", 90, terminal="T1"), file("terminal_log", 900, terminal="T2")
    due = [certs, ledger, sales, balances, first, second]
    planned = ingestion_run.batches(due, lambda f: ingestion_run._streams(f, limits))
    assert planned == [[certs], [ledger], [sales], [balances], [first, second]]  # a terminal log never streams
    assert ingestion_run.batches(due) == [[certs], [ledger, sales, balances, first, second]]


def test_duplicates_across_chunks_and_against_loaded_rows(con, tmp, monkeypatch):
    inbox = tmp / "inbox"
    day_before = dt.date(2026, 11, 24)
    write_ledger(inbox, [ledger_row("E1", day_before)], day_before)
    run(con, tmp, dt.date(2026, 11, 24))
    monkeypatch.setattr(csv_loader, "STREAM_CHUNK_RECORDS", 2)
    rows = [ledger_row(f"E{n}") for n in range(1, 8)] + [ledger_row("E3"), ledger_row("E7"), ledger_row("E3")]
    write_ledger(inbox, rows)
    run(con, tmp, limits=STREAM)
    # line 2 is E1 (loaded the day before), lines 9..11 repeat E3, E7, E3 of this file
    assert quarantine(con, LEDGER) == [(2, "duplicate_key"), (9, "duplicate_key"), (10, "duplicate_key"),
                                       (11, "duplicate_key")]
    assert manifest(con, LEDGER) | {"count": 1} == dict(
        status="loaded", read=10, loaded=6, quarantined=4, reason=None, count=1)
    texts = con.execute("SELECT line_number, raw_text, detail FROM raw.quarantine WHERE path = ? ORDER BY 1",
                        [LEDGER]).fetchall()
    assert texts[0][1].startswith("E1,") and "already loaded" in texts[0][2]
    assert texts[1][1].startswith("E3,") and "repeats an earlier row" in texts[1][2]
    loaded = con.execute("SELECT event_id, line_number FROM raw.platform_ledger WHERE business_date = ? ORDER BY 2",
                         [D]).fetchall()
    assert loaded == [(f"E{n}", n + 1) for n in range(2, 8)]
    assert accounting_holds(con)


def test_a_bad_byte_after_many_chunks_rejects_the_file_and_loads_none_of_it(con, tmp, monkeypatch):
    monkeypatch.setattr(csv_loader, "STREAM_CHUNK_RECORDS", 3)
    data = bytearray(b"".join([
        b"\n".join(write_ledger(tmp / "inbox", [ledger_row(f"E{n}") for n in range(1, 21)]).read_bytes()
                   .split(b"\n")[:16]),
        b"\nE99,\xff\xfe broken\n",
    ]))
    write(tmp / "inbox", LEDGER, bytes(data))
    run(con, tmp, limits=STREAM)
    assert manifest(con, LEDGER)["status"] == "rejected"
    assert manifest(con, LEDGER)["reason"] == "file_encoding_invalid"
    detail = con.execute("SELECT detail FROM raw.quarantine WHERE path = ?", [LEDGER]).fetchall()
    assert detail == [("not valid utf-8 (first bad byte on line 17)",)]
    assert table_rows(con, "platform_ledger") == []
    assert not list((tmp / "raw" / ".pending").glob("*/*"))
    assert accounting_holds(con)


def test_a_chunk_that_fails_to_be_written_refuses_the_file_and_loads_none_of_it(con, tmp, monkeypatch):
    """Each chunk's rows are written by a thread of their own while the next chunk is validated: a write that
    fails must still stop the file, not leave it loaded without that chunk's rows."""
    monkeypatch.setattr(csv_loader, "STREAM_CHUNK_RECORDS", 3)
    write_ledger(tmp / "inbox", [ledger_row(f"E{n}") for n in range(1, 11)])
    real, calls = csv_loader.pq.ParquetWriter.write_table, []

    def fails_second(self, table, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "ledger" in str(self.where):  # the ledger's streamed chunks, not the other files' Parquet
            calls.append(table.num_rows)
            if len(calls) == 2:
                raise RuntimeError("disk gone")
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(csv_loader.pq.ParquetWriter, "write_table", fails_second)
    run(con, tmp, limits=STREAM)
    assert calls[:2] == [3, 3]
    assert manifest(con, LEDGER)["status"] == "rejected"
    assert manifest(con, LEDGER)["reason"] == "file_internal_error"
    assert table_rows(con, "platform_ledger") == []
    assert accounting_holds(con)


def test_a_file_changed_between_hash_and_stream_is_retried(con, tmp, monkeypatch):
    write_ledger(tmp / "inbox", [ledger_row("E1"), ledger_row("E2")])
    real = ingestion_run.load_csv_stream

    def changed_meanwhile(file, path, ctx, target):
        path.write_bytes(path.read_bytes().replace(b"E2,", b"E3,"))
        return real(file, path, ctx, target)

    monkeypatch.setattr(ingestion_run, "load_csv_stream", changed_meanwhile)
    run(con, tmp, limits=STREAM)
    assert manifest(con, LEDGER)["status"] == "rejected"
    assert manifest(con, LEDGER)["reason"] == "file_unreadable"
    assert table_rows(con, "platform_ledger") == []
    monkeypatch.setattr(ingestion_run, "load_csv_stream", real)
    run(con, tmp, limits=STREAM)  # a retryable rejection: the next run loads what is there now
    assert manifest(con, LEDGER)["status"] == "loaded"
    assert [r[0] for r in con.execute("SELECT event_id FROM raw.platform_ledger ORDER BY 1").fetchall()] == [
        "E1", "E3"]
    assert accounting_holds(con)


def test_the_default_limits_take_a_national_first_day(tmp_path):
    national_certificates = 13 * 10**9  # one certificate per resident, 10 million residents: ~13 GB
    settings = load_settings(env={"SEISAN_HOME": str(tmp_path)})
    for limits in (Limits(), Limits(max_file_bytes=settings.max_file_bytes, max_records=settings.max_records)):
        assert limits.max_file_bytes > national_certificates
        assert limits.max_records > 10_000_000
        assert limits.stream_bytes < 1 << 30  # and such a file is streamed, never read whole


_MEMORY_PROBE = textwrap.dedent("""
    import datetime as dt, json, resource, sys
    from pathlib import Path
    import duckdb
    from ingestion import Limits, ingest
    tmp = Path(sys.argv[1])
    con = duckdb.connect(str(tmp / "warehouse.duckdb"))
    con.execute("SET memory_limit = '64MB'")  # DuckDB's share is bounded by its own limit: it spills beyond
    ingest(con, tmp / "inbox", tmp / "raw", dt.date(2026, 11, 1), Limits())  # masters: the imports' baseline
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = ingest(con, tmp / "inbox", tmp / "raw", dt.date(2026, 11, 25), Limits(stream_bytes=1 << 20))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_kib": after - before, "loaded": summary.rows_loaded}))
""")


def _peak_growth(folder: Path, rows: int) -> tuple[int, int]:
    """(peak RSS growth in KiB while a ledger file of `rows` rows is ingested, the file's size in KiB), measured
    in a process of its own."""
    write_masters(folder / "inbox")
    template = write_ledger(folder / "inbox", [ledger_row("E0")]).read_bytes().split(b"\n")
    body = b"\n".join(template[1].replace(b"E0,", f"E{n},".encode(), 1) for n in range(rows))
    path = write(folder / "inbox", LEDGER, template[0] + b"\n" + body + b"\n")
    probe = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(folder)], capture_output=True, text=True,
                           check=True, timeout=600)
    measured = json.loads(probe.stdout.strip().splitlines()[-1])
    assert measured["loaded"] == {"platform_ledger": rows}
    return measured["growth_kib"], path.stat().st_size // 1024


def test_memory_does_not_grow_with_the_file(tmp_path):
    small_growth, small_size = _peak_growth(tmp_path / "small", 60_000)
    large_growth, large_size = _peak_growth(tmp_path / "large", 300_000)
    assert large_size - small_size > 18_000
    # Read whole, every extra byte of file would cost its bytes and text (twice its size) and its rows as Python
    # objects (many times more); streamed, the peak grows by a chunk's working set, not with the file.
    assert large_growth - small_growth < (large_size - small_size) / 2, (small_growth, large_growth, large_size)


def test_a_long_streamed_file_says_how_far_it_got(con, tmp, monkeypatch):
    monkeypatch.setattr(csv_loader, "STREAM_CHUNK_RECORDS", 2)
    monkeypatch.setattr(csv_loader, "STREAM_PROGRESS_RECORDS", 4)
    write_ledger(tmp / "inbox", [ledger_row(f"E{n}") for n in range(1, 10)])
    said: list[str] = []
    ingest(con, tmp / "inbox", tmp / "raw", D, STREAM, progress=said.append)
    assert [m for m in said if "so far" in m] == [
        f"{LEDGER}: 4 records read, 0 quarantined so far",
        f"{LEDGER}: 8 records read, 0 quarantined so far",
    ]
    assert f"{LEDGER}: loaded, 9 loaded, 0 quarantined" in said


def test_a_bad_byte_is_placed_on_its_line_after_a_bom_as_when_read_whole(con, tmp):
    # the BOM is 3 bytes; a newline within 3 bytes before the bad byte tells a shifted count from a right one
    data = b"\xef\xbb\xbf" + csv_of("platform_ledger", [ledger_row("E1"), ledger_row("E2")]) + b"\xff\n"
    write(tmp / "inbox", LEDGER, data)
    run(con, tmp, limits=STREAM)
    streamed = con.execute("SELECT detail FROM raw.quarantine WHERE path = ?", [LEDGER]).fetchall()
    assert streamed == [("not valid utf-8 (first bad byte on line 4)",)]
    assert read_csv(data).error.detail == streamed[0][0]  # the whole-file reader's line
