"""Terminal logs checked ahead in the run's worker processes (ingestion.terminal_checks, terminal_loader.
check_ahead) are decided exactly as in process.

The independent expectation is the in-process path, which the rest of the suite pins down against hand-computed
cases: the same simulated hostile world (torn, forged, forked, re-delivered and out-of-window terminal logs
among clean ones) ingested both ways must give the same raw tables, the same manifest rows and the same
quarantine rows, text and details included. The pooled run must have cleared files in the pool and sent others
back to the in-process path, or it proves nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from ingestion_builders import accounting_holds

import ingestion.attempts as attempts
import ingestion.card_signatures as card_signatures
import ingestion.run as ingestion_run
import ingestion.terminal_loader as terminal_loader
from ingestion import ingest
from ingestion.inbox import InboxFile
from ingestion.outcome import FileStatus
from simulator import deliver, simulate

START = dt.date(2026, 3, 28)
DAYS = 5
UNSHARED = {"ingested_at", "batch_id", "mtime_ns"}  # when and in which batch a row was written, and when delivered


def _comparable(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    names = [n for (n,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall() if n not in UNSHARED]
    return con.execute(f"SELECT {', '.join(names)} FROM raw.{table} ORDER BY ALL").fetchall()


def _ingest_world(simulated: Path, home: Path) -> duckdb.DuckDBPyConnection:
    inbox = home / "inbox"
    shutil.copytree(simulated, inbox)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    for offset in range(DAYS + 2):
        day = START + dt.timedelta(days=offset)
        deliver(inbox, day)
        ingest(con, inbox, home / "raw", day)
    return con


@pytest.fixture(scope="module")
def hostile_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("hostile") / "inbox"
    simulate(inbox, START, DAYS, 2, 150, 29, faults="hostile")
    return inbox


def test_terminal_logs_checked_in_the_pool_are_decided_as_in_process(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_process = _ingest_world(hostile_inbox, tmp_path / "in_process")  # a small world: no pool

    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)  # every run with terminal logs has a pool
    monkeypatch.setattr(terminal_loader, "CHECK_CHUNK_BYTES", 4_000)  # a few files a worker task
    cleared: list[FileStatus] = []
    sent_back: list[str] = []
    load_checked = ingestion_run.load_checked_file
    load_whole = ingestion_run.load_terminal_file

    cleared_paths: set[str] = set()
    marked: set[str] = set()  # the files this process held an attempt marker for
    parsing = attempts.Attempts.parsing

    def noted_checked(file, pooled, lookups):  # type: ignore[no-untyped-def]
        outcome = load_checked(file, pooled, lookups)
        if outcome is not None:
            cleared.append(outcome.status)
            cleared_paths.add(file.rel_path)
        return outcome

    def noted_parsing(self, attempt):  # type: ignore[no-untyped-def]
        marked.add(attempt.path)
        return parsing(self, attempt)

    def noted_whole(file, parsed, lookups, sha256):  # type: ignore[no-untyped-def]
        sent_back.append(file.rel_path)
        return load_whole(file, parsed, lookups, sha256)

    monkeypatch.setattr(ingestion_run, "load_checked_file", noted_checked)
    monkeypatch.setattr(attempts.Attempts, "parsing", noted_parsing)
    monkeypatch.setattr(ingestion_run, "load_terminal_file", noted_whole)
    # Small batches: the pool is handed the terminal files of the next batches before their turn (lookahead),
    # and the run checkpoints when it moves to a new load phase.
    monkeypatch.setattr(ingestion_run, "MAX_BATCH_FILES", 9)
    events: list[str] = []
    hand, decide = ingestion_run.check_ahead, ingestion_run._Run.ingest_batch

    def noted_hand(files, *args):  # type: ignore[no-untyped-def]
        events.append("handed")
        return hand(files, *args)

    def noted_decide(self, prepared):  # type: ignore[no-untyped-def]
        events.append("decided")
        return decide(self, prepared)

    monkeypatch.setattr(ingestion_run, "check_ahead", noted_hand)
    monkeypatch.setattr(ingestion_run._Run, "ingest_batch", noted_decide)
    pooled = _ingest_world(hostile_inbox, tmp_path / "pooled")
    # batches handed over ahead of their turn: two handed before the next decided (the hostile world's files,
    # and so its batches, differ from one process to the next; three in a row, asked before, was not always met)
    assert "handed,handed" in ",".join(events)

    assert len(cleared) > 20 and set(cleared) == {FileStatus.LOADED}
    assert len(sent_back) > 5  # refused, quarantining or repeated files were decided in process
    # A file the pool cleared is decided without an attempt marker (this process parses none of its bytes);
    # every file decided in process is parsed under one.
    assert not cleared_paths & marked
    assert set(sent_back) <= marked
    tables = [n for (n,) in in_process.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
    for table in tables:
        if table == "release_checks":
            continue  # holds only when each run looked at the masters
        assert _comparable(pooled, table) == _comparable(in_process, table), table
    terminal = "SELECT count(*) FROM raw.quarantine WHERE kind = 'terminal_log'"
    assert in_process.execute(terminal).fetchone()[0] > 0  # the world's terminal logs are hostile
    assert in_process.execute("SELECT count(*) FROM raw.terminal_records").fetchone()[0] > 0
    assert accounting_holds(pooled)


def test_duckdb_gets_the_cores_the_workers_leave_and_its_own_setting_back(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cores, two workers: while the pool works DuckDB runs on one thread (its threads would wait on each
    other for a core the workers hold), and the ingest ends with the connection's own setting."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    seen: list[str] = []
    decide = ingestion_run._Run.ingest_batch

    def noted_decide(self, prepared):  # type: ignore[no-untyped-def]
        seen.append(self.con.execute("SELECT current_setting('threads')").fetchone()[0])
        return decide(self, prepared)

    monkeypatch.setattr(ingestion_run._Run, "ingest_batch", noted_decide)
    inbox = tmp_path / "inbox"
    shutil.copytree(hostile_inbox, inbox)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute("SET threads = 3")
        deliver(inbox, START)
        summary = ingest(con, inbox, tmp_path / "raw", START)
        assert summary.files_by_status.get("loaded", 0) > 0 and seen
        assert set(seen) == {1}
        assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
    finally:
        con.close()


def test_the_windows_of_every_finished_chunk_are_read_in_one_query(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each windows query scans the terminals' whole history, so the run asks once for all the chunks the pool
    has finished, not once per chunk. Here every chunk is finished before it is answered: the run must ask
    far fewer queries than it hands chunks, and still decide every file as in process."""
    import concurrent.futures

    from ingestion.terminal_state import TerminalChains

    in_process = _ingest_world(hostile_inbox, tmp_path / "in_process")
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    monkeypatch.setattr(terminal_loader, "CHECK_CHUNK_BYTES", 1_500)  # a file or two a worker task
    chunks: list[terminal_loader.AheadChunk] = []
    queries: list[int] = []
    answer, prefetch = terminal_loader.AheadChunk.answer, TerminalChains.prefetch

    def answer_when_all_done(self):  # type: ignore[no-untyped-def]
        if self not in chunks:
            chunks.extend(c for c in self.waiting if c not in chunks)
        concurrent.futures.wait([c.future for c in self.waiting])
        return answer(self)

    def counted_prefetch(self, windows):  # type: ignore[no-untyped-def]
        windows = list(windows)
        if any(not self._is_covered(*w) for w in windows):
            queries.append(len(windows))
        return prefetch(self, windows)

    monkeypatch.setattr(terminal_loader.AheadChunk, "answer", answer_when_all_done)
    monkeypatch.setattr(TerminalChains, "prefetch", counted_prefetch)
    pooled = _ingest_world(hostile_inbox, tmp_path / "pooled")

    assert len(chunks) > 30
    assert 0 < len(queries) <= len(chunks) // 3, (len(queries), len(chunks))  # one a chunk before
    for table in ("terminal_records", "terminal_seals", "terminal_seq_gaps", "quarantine", "file_manifest"):
        assert _comparable(pooled, table) == _comparable(in_process, table), table


def test_the_certificates_of_a_phases_terminal_logs_are_read_in_one_query(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certificate query reads the DER of every registered certificate, whatever it matches (0.2-0.6 s at
    1,000,000 residents), so a run with a pool asks once, before the load phase of the terminal logs, for every
    MyKey ID written in them, not once per batch. In batches of 9 files (many batches a day), each run of the
    hostile world must ask at most once, and decide every file as in process."""
    from ingestion.terminal_state import CertLookup

    in_process = _ingest_world(hostile_inbox, tmp_path / "in_process")
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    monkeypatch.setattr(ingestion_run, "MAX_BATCH_FILES", 9)
    queries: list[int] = []
    runs: list[int] = []
    prefetch, run_batches = CertLookup.prefetch, ingestion_run._Run.ingest_batches

    def counted_prefetch(self, mykey_ids):  # type: ignore[no-untyped-def]
        mykey_ids = list(mykey_ids)
        if any(m not in self._by_id for m in mykey_ids):
            queries.append(len(runs))
        return prefetch(self, mykey_ids)

    def counted_run(self, planned):  # type: ignore[no-untyped-def]
        runs.append(len(planned))
        return run_batches(self, planned)

    monkeypatch.setattr(CertLookup, "prefetch", counted_prefetch)
    monkeypatch.setattr(ingestion_run._Run, "ingest_batches", counted_run)
    pooled = _ingest_world(hostile_inbox, tmp_path / "pooled")

    per_run = [queries.count(run) for run in range(1, len(runs) + 1)]
    assert sum(batches > 3 for batches in runs) >= DAYS and max(per_run) == 1, (runs, per_run)
    for table in ("terminal_records", "terminal_seals", "terminal_seq_gaps", "quarantine", "file_manifest"):
        assert _comparable(pooled, table) == _comparable(in_process, table), table


def test_the_terminal_phases_certificates_are_read_while_the_earlier_phases_load(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run with a pool reads the certificates the terminal logs name on a cursor of its own while the masters
    and the day's certificate files load (`_EarlyLookups`), then only the rows of the certificate files it
    committed meanwhile. The MyKey IDs and seq windows written in the logs are read by the pool's workers, and
    must be those this process reads in the same files. Every run of the hostile world that has terminal logs
    and earlier phases must take that head start, and decide every file as in process (a certificate
    registered that day and missed would quarantine its records as terminal_cert_not_valid)."""
    from ingestion.terminal_checks import written_in

    in_process = _ingest_world(hostile_inbox, tmp_path / "in_process")
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    results: list[tuple[bool, int]] = []  # (read, certificate rows read) per run
    committed: list[int] = []
    pooled_reads: list[str] = []  # the functions the run's pool was handed
    result, start = ingestion_run._EarlyLookups.result, ingestion_run._EarlyLookups.__init__
    submit = card_signatures.CardSignatures.submit

    def noted_submit(self, fn, *args):  # type: ignore[no-untyped-def]
        pooled_reads.append(fn.__name__)
        return submit(self, fn, *args)

    def noted_start(self, con, phase, files, signatures):  # type: ignore[no-untyped-def]
        self.files = files
        start(self, con, phase, files, signatures)

    def watched(self):  # type: ignore[no-untyped-def]
        found = result(self)
        results.append((found is not None, len(found[2]) if found is not None else 0))
        if found is not None:  # what the workers read is what this process reads of the same files
            logs = [(str(f.path), f.groups["terminal"]) for f in self.files if f.kind == "terminal_log"]
            wanted, windows = written_in(logs)
            assert (found[0], sorted(found[1])) == (wanted, sorted(windows))
            assert wanted and windows
        return found

    prefetch_phase = ingestion_run._Run.prefetch_phase

    def counted(self, planned):  # type: ignore[no-untyped-def]
        committed.append(len(self.cert_files))
        return prefetch_phase(self, planned)

    monkeypatch.setattr(ingestion_run._EarlyLookups, "result", watched)
    monkeypatch.setattr(ingestion_run._EarlyLookups, "__init__", noted_start)
    monkeypatch.setattr(card_signatures.CardSignatures, "submit", noted_submit)
    monkeypatch.setattr(ingestion_run._Run, "prefetch_phase", counted)
    pooled = _ingest_world(hostile_inbox, tmp_path / "pooled")

    # every run reads ahead; after the first day's, committed certificates are there to be read
    assert len(results) >= DAYS and all(read for read, _ in results) and all(n > 0 for _, n in results[1:]), results
    assert pooled_reads.count("written_in") >= DAYS  # the terminal logs' IDs and windows were read by the pool
    assert sum(n > 0 for n in committed) >= DAYS, committed  # certificate files committed before the phase
    for table in ("terminal_records", "terminal_seals", "terminal_seq_gaps", "quarantine", "file_manifest"):
        assert _comparable(pooled, table) == _comparable(in_process, table), table


def test_the_seq_windows_of_a_phases_terminal_logs_are_read_before_its_first_batch(
    hostile_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seq-window query scans the terminals' whole history. Before a load phase's first batch, a run with a
    pool reads the loaded seqs around every terminal log of the phase (from each file's first and last line) in
    one query, so answering the pool's chunks never asks again: every file the pool clears has the window its
    first and last lines give. Every file must still be decided as in process."""
    from ingestion.terminal_state import TerminalChains

    in_process = _ingest_world(hostile_inbox, tmp_path / "in_process")
    monkeypatch.setattr(card_signatures, "POOL_MIN_RUN_BYTES", 0)
    monkeypatch.setattr(ingestion_run, "MAX_BATCH_FILES", 9)
    answering: list[bool] = []
    answered: list[int] = []
    asked_while_answering: list[int] = []
    answer, prefetch = terminal_loader.AheadChunk.answer, TerminalChains.prefetch

    def watched_answer(self):  # type: ignore[no-untyped-def]
        answering.append(True)
        try:
            found = answer(self)
        finally:
            answering.pop()
        answered.append(sum(p is not None for p in found))
        return found

    def counted_prefetch(self, windows):  # type: ignore[no-untyped-def]
        windows = list(windows)
        if answering and any(not self._is_covered(*w) for w in windows):
            asked_while_answering.append(len(windows))
        return prefetch(self, windows)

    monkeypatch.setattr(terminal_loader.AheadChunk, "answer", watched_answer)
    monkeypatch.setattr(TerminalChains, "prefetch", counted_prefetch)
    pooled = _ingest_world(hostile_inbox, tmp_path / "pooled")

    assert sum(answered) > 50 and asked_while_answering == [], (sum(answered), asked_while_answering)
    for table in ("terminal_records", "terminal_seals", "terminal_seq_gaps", "quarantine", "file_manifest"):
        assert _comparable(pooled, table) == _comparable(in_process, table), table


@pytest.mark.parametrize(("data", "window"), [
    (b'{"seq":5,"x":1}\n{"seq":6}\n{"seq":7}\n', ("T1", 4, 8)),
    (b'\n{"seq":1}\n\n', ("T1", 0, 2)),
    (b"", None),
    (b'{"seq":true}\n', None),  # a bool is not a seq
    (b'{"seq":"5"}\n', None),
    (b"[1]\n", None),
    (b'{"seq":0}\n', None),
    (b'{"seq":7}\n{"seq":3}\n', None),
    (b'{"seq":9223372036854775807}\n', None),  # seq + 1 would not fit a BIGINT
    (b"[" * 5000 + b"]" * 5000 + b"\n", None),  # nested past what json parses: no window, no error
    (b'{"seq":1,"x":"' + b"a" * 17_000 + b'"}\n', None),  # over the line limit: not parsed here
])
def test_a_files_seq_window_is_read_from_its_first_and_last_lines(data: bytes, window: object) -> None:
    from ingestion.terminal_checks import seq_window_written

    assert seq_window_written(data, "T1") == window


def _batch(*kinds: str) -> list[InboxFile]:
    return [InboxFile(f"/inbox/{kind}-{n}", f"{kind}-{n}", "x", f"{kind}-{n}", kind, START, {}, 1, 1)
            for n, kind in enumerate(kinds)]


def test_the_pool_is_handed_the_next_terminal_batches_past_the_long_ones_without_any() -> None:
    """The batches handed ahead are the next ones holding terminal files, counted among those alone: the day's
    ledger and balances snapshot, which come first in their phase and load for many seconds, are passed over
    (on day 4 of the 3,500,000-resident world the pool otherwise had one batch to check while they loaded), and
    a later load phase is never reached."""
    planned = [
        _batch("master_merchants"),                          # 0: phase 0
        _batch("platform_mykey_certs"),                      # 1: phase 1
        _batch("platform_ledger"),                           # 2: phase 2, no terminal file
        _batch("platform_balances"),                         # 3
        _batch("partner_sales", "terminal_log"),             # 4
        _batch("terminal_log", "terminal_log"),              # 5
        _batch("partner_settlement"),                        # 6
        _batch("terminal_log"),                              # 7
        _batch("terminal_log"),                              # 8
    ]
    assert ingestion_run.lookahead(planned, 2, limit=3) == [4, 5, 7]
    assert ingestion_run.lookahead(planned, 3, limit=3) == [4, 5, 7]
    assert ingestion_run.lookahead(planned, 5, limit=3) == [7, 8]
    assert ingestion_run.lookahead(planned, 2, limit=0) == []
    assert ingestion_run.lookahead(planned, 8) == []
    # a later phase is never handed over: phase 1's batch sees none of phase 2's terminal files
    assert ingestion_run.lookahead(planned, 1) == []
    assert ingestion_run.lookahead(planned, 0, limit=5) == []
    # the default is the module's setting
    assert ingestion_run.lookahead(planned, 2) == [4, 5, 7, 8][:ingestion_run.LOOKAHEAD_BATCHES]


def test_the_early_read_reads_in_place_what_a_broken_pool_did_not(tmp_path: Path) -> None:
    """The MyKey IDs and seq windows of the terminal logs are read by the pool's workers, a part of the files
    each; a part whose worker failed is read by the early thread itself, and a file that cannot be read is
    left to its batch. Hand-written logs: IDs written plainly are found, an escaped one is not (a hint only)."""
    import concurrent.futures

    from ingestion.schema import ensure_raw_schema
    from ingestion.terminal_checks import written_in

    one, two = tmp_path / "T1_20260328_0001.jsonl", tmp_path / "T2_20260328_0001.jsonl"
    one.write_bytes(b'{"seq":3,"mykey_id":"MK-1"}\n{"seq":4,"mykey_id":"MK-2"}\n{"seq":5,"type":"seal"}\n')
    two.write_bytes(b'{"seq":10,"mykey_id":"MK-\\u0033"}\n{"seq":11,"mykey_id":"MK-4"}\n')
    gone = tmp_path / "T3_20260328_0001.jsonl"
    assert written_in([(str(one), "T1"), (str(gone), "T3"), (str(two), "T2")]) == (
        {"MK-1", "MK-2", "MK-4"}, [("T1", 2, 6), ("T2", 9, 12)])

    broken: concurrent.futures.Future[object] = concurrent.futures.Future()
    broken.set_exception(RuntimeError("a worker died"))
    done: concurrent.futures.Future[object] = concurrent.futures.Future()
    done.set_result(({"MK-9"}, [("T9", 0, 2)]))  # what a worker found in its part
    con = duckdb.connect()
    ensure_raw_schema(con)
    wanted, windows, rows = ingestion_run._read_early(
        con.cursor(), [([(str(one), "T1")], broken), ([], done), ([(str(two), "T2")], None)])
    assert wanted == {"MK-1", "MK-2", "MK-4", "MK-9"}
    assert sorted(windows) == [("T1", 2, 6), ("T2", 9, 12), ("T9", 0, 2)]
    assert rows == []  # no certificate registered in this warehouse


def test_a_worker_names_every_master_its_files_records_refer_to() -> None:
    """The master checks of a file the pool cleared are made at its turn, from the distinct (municipality code,
    merchant, JST date) a worker found in its records: every record's, not only the first's (a merchant unknown
    on one record of twenty must send its file back to be decided in process). Hand-made file: three records
    with three different pairs, one of them on the day before."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from ingestion_builders import (
        CERT,
        CERT_SERIAL,
        MERCHANT,
        MUNI,
        MYKEY,
        OTHER_MUNI,
        TERMINAL,
        TERMINAL_KEY,
        D,
        resign_terminal_records,
        terminal_bytes,
        terminal_records,
    )

    from contracts import terminal_log
    from ingestion.card_signatures import Cert
    from ingestion.schema import TERMINAL_RECORDS, TERMINAL_SEALS
    from ingestion.terminal_checks import FileToCheck, Lineage, check_files

    records = terminal_records(1, 3, terminal_log.GENESIS_HASH)
    records[1]["merchant_id"] = "M00000002"
    records[2]["municipality_code"] = OTHER_MUNI
    records[2]["ts"] = f"{D - dt.timedelta(days=1)}T23:59:59+09:00"
    data = terminal_bytes(resign_terminal_records(records))
    key = base64.b64encode(TERMINAL_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    work = FileToCheck(data, TERMINAL, Lineage(hashlib.sha256(data).hexdigest(), D, 1), 1_000, key)
    cert = Cert(CERT_SERIAL, MYKEY, dt.datetime(2026, 11, 2, 9), None,
                base64.b64encode(CERT.public_bytes(Encoding.DER)).decode())
    chunk = check_files([work], {MYKEY: [cert]}, TERMINAL_RECORDS.arrow_schema(), TERMINAL_SEALS.arrow_schema())

    (checked,) = chunk.files
    assert checked is not None and checked.seal_key_verified == key
    assert sorted(checked.masters) == sorted([
        (MUNI, MERCHANT, D), (MUNI, "M00000002", D), (OTHER_MUNI, MERCHANT, D - dt.timedelta(days=1))])
    assert chunk.records.num_rows == 3 and chunk.seals.num_rows == 1
    assert chunk.records.column("merchant_id").to_pylist() == [MERCHANT, "M00000002", MERCHANT]
