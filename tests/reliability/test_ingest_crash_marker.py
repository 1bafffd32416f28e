"""A file whose parsing kills the ingest process (kill -9, the OOM killer) is rejected `file_crashed_ingest` by
the next run instead of killing it too (ingestion.attempts). A real child process, really killed with SIGKILL
while it parses a file large enough to take seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from ingestion_builders import (
    MUNI,
    D,
    accounting_holds,
    all_tables,
    csv_of,
    ledger_row,
    run,
    sale_row,
    statuses,
    write,
    write_masters,
    ymd,
)

REPO = Path(__file__).resolve().parents[2]
BIG = f"platform/ledger_{ymd(D)}.csv"
SALES = f"partner/ACME/ACME_sales_{ymd(D)}.csv"
CHILD = textwrap.dedent(
    """
    import datetime as dt, sys
    import duckdb
    from ingestion import ingest
    con = duckdb.connect(sys.argv[1])
    ingest(con, __import__("pathlib").Path(sys.argv[2]), __import__("pathlib").Path(sys.argv[3]),
           dt.date.fromisoformat(sys.argv[4]))
    """
)


def _big_ledger_csv(rows: int) -> bytes:
    """A valid ledger of `rows` grants: seconds of parsing and checking."""
    header = "event_id,event_ts,municipality_code,program_code,mykey_id,event_type,amount,channel"
    template = ledger_row("X")
    assert list(template) == header.split(",")
    body = "".join(
        f"E{i},{template['event_ts']},{MUNI},P1,{template['mykey_id']},grant,500,batch\n" for i in range(rows)
    )
    return (header + "\n" + body).encode()


def _kill_while_parsing(home: Path, db: Path, victim: str, timeout_s: float = 60.0) -> None:
    """Start an ingest child, wait until its attempt marker names `victim`, SIGKILL it there."""
    marker = home / "raw" / ".attempts" / "current.json"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(home / "inbox"), str(home / "raw"), D.isoformat()], cwd=REPO
    )
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                named = json.loads(marker.read_text(encoding="utf-8"))["path"]
            except (OSError, ValueError, KeyError):
                named = None
            if named == victim:
                os.kill(child.pid, signal.SIGKILL)
                break
            if child.poll() is not None:
                pytest.fail(f"the child ended ({child.returncode}) before parsing {victim}")
            time.sleep(0.002)
        else:
            pytest.fail("the child never started parsing the file")
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_a_file_that_killed_the_process_is_rejected_by_the_next_run(tmp_path):
    home = tmp_path
    inbox = home / "inbox"
    write_masters(inbox)
    write(inbox, BIG, _big_ledger_csv(150_000))
    write(inbox, SALES, csv_of("partner_sales", [sale_row()]))
    db = home / "warehouse.duckdb"
    _kill_while_parsing(home, db, BIG)
    con = duckdb.connect(str(db))
    try:
        assert con.execute("SELECT count(*) FROM raw.file_manifest WHERE path = ?", [BIG]).fetchone() == (0,)
        summary = run(con, home)
        assert statuses(con, BIG) == [("rejected", "file_crashed_ingest")]
        assert statuses(con, SALES) == [("loaded", None)]  # the rest of the day goes on
        assert summary.quarantined_by_reason == {"file_crashed_ingest": 1}
        assert con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone() == (0,)
        assert accounting_holds(con)
        attempts = home / "raw" / ".attempts"
        assert list(attempts.iterdir()) == []  # the crashed marker is settled with the committed rejection
        before = all_tables(con)
        run(con, home)  # final: not parsed again, nothing written
        assert all_tables(con) == before
        corrected = csv_of("platform_ledger", [ledger_row("E1"), ledger_row("E2")])
        write(inbox, BIG, corrected)  # a corrected redelivery (other bytes) under the same name is parsed
        run(con, home)
        assert statuses(con, BIG) == [("rejected", "file_crashed_ingest"), ("loaded", None)]
        assert con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone() == (2,)
    finally:
        con.close()


def test_a_torn_marker_is_ignored_and_a_foreign_one_is_too(tmp_path):
    from ingestion.attempts import ATTEMPTS_FOLDER, Attempts

    folder = tmp_path / ATTEMPTS_FOLDER
    folder.mkdir()
    (folder / "current.json").write_bytes(b'{"source": "platform", "na')
    (folder / "crashed-0.json").write_bytes(b"[1, 2]")
    attempts = Attempts.open(tmp_path)
    assert attempts.crashed == {} and list(folder.iterdir()) == []


def test_a_terminal_file_left_in_the_marker_is_not_parsed_again(tmp_path):
    """The terminal path (parsed ahead of its turn for prefetching) honours a leftover marker too: the marker
    a killed run leaves is written here as that run writes it (Attempts.parsing), then the process "dies"
    by leaving the context without its cleanup (the generator is never resumed)."""
    from ingestion_builders import terminal_bytes, terminal_records

    from contracts import terminal_log
    from ingestion.attempts import Attempt, Attempts

    home = tmp_path
    inbox = home / "inbox"
    write_masters(inbox)
    path = f"terminal/T00000001/T00000001_{ymd(D)}_0001.jsonl"
    data = terminal_bytes(terminal_records(1, 2, terminal_log.GENESIS_HASH))
    write(inbox, path, data)
    write(inbox, SALES, csv_of("partner_sales", [sale_row()]))
    import hashlib

    attempt = Attempt("terminal", path.rsplit("/", 1)[-1], path, hashlib.sha256(data).hexdigest())
    holder = Attempts.open(home / "raw").parsing(attempt)
    holder.__enter__()  # the marker is on disk; the exit that would remove it never runs
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        run(con, home)
        assert statuses(con, path) == [("rejected", "file_crashed_ingest")]
        assert statuses(con, SALES) == [("loaded", None)]
        assert con.execute("SELECT count(*) FROM raw.terminal_records").fetchone() == (0,)
        assert accounting_holds(con)
    finally:
        con.close()


def test_a_marker_blanked_after_its_file_names_no_file(tmp_path):
    """The marker is rewritten in place: while a file is parsed it names exactly that file (a shorter record
    after a longer one leaves nothing of it), and a process that dies between two files leaves it blank, which
    blames no file."""
    from ingestion.attempts import ATTEMPTS_FOLDER, Attempt, Attempts

    marker = tmp_path / ATTEMPTS_FOLDER / "current.json"
    attempts = Attempts.open(tmp_path)
    long = Attempt("platform", "x.csv", "platform/" + "y" * 3000 + ".csv", "0" * 64)
    short = Attempt("platform", "z.csv", "platform/z.csv", "1" * 64)
    for attempt in (short, long, short):
        with attempts.parsing(attempt):
            assert json.loads(marker.read_bytes()) == {
                "source": attempt.source, "name": attempt.name, "path": attempt.path, "sha256": attempt.sha256}
        assert marker.read_bytes().strip() == b""
    again = Attempts.open(tmp_path)  # the process "died" here, its marker open and blank
    assert again.crashed == {} and list(marker.parent.iterdir()) == []
