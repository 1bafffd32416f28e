"""Property: whatever mix of good, redelivered, conflicting, renamed and corrupted files arrives over
several runs, every key is loaded at most once, every record is accounted for, and no valid row of a
loaded file is lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion_builders import accounting_holds, csv_of, ledger_row, run, write_masters

from contracts.csvio import read_csv

DAYS = [dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 26)]
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["good", "redeliver", "conflict", "rename", "corrupt"]),
        st.sampled_from(DAYS),
        st.sampled_from(DAYS),
        st.lists(st.integers(0, 12), min_size=1, max_size=5),
    ),
    min_size=1,
    max_size=8,
)


def _name(day: dt.date) -> str:
    return f"platform/ledger_{day.strftime('%Y%m%d')}.csv"


def _ledger(day: dt.date, ids: list[int], salt: int) -> bytes:
    return csv_of("platform_ledger", [ledger_row(f"E{i}", day, amount=str(100 + salt)) for i in ids])


def _apply(inbox: Path, action: tuple, step: int) -> None:
    what, day, other_day, ids = action
    path = inbox / _name(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    if what == "good" or (what in ("redeliver", "conflict", "rename") and not path.exists()):
        path.write_bytes(_ledger(day, ids, 0))
    elif what == "redeliver":
        os.utime(path, ns=(step * 1_000_000_007, step * 1_000_000_007))
    elif what == "conflict":
        path.write_bytes(_ledger(day, ids, step + 1))
    elif what == "rename":
        target = inbox / _name(other_day)
        data = path.read_bytes().replace(day.isoformat().encode(), other_day.isoformat().encode())
        target.write_bytes(data)
    else:
        path.write_bytes(_ledger(day, ids, 0)[:40] + b"\xff\xfe" + bytes(range(3)))


def _check(con: duckdb.DuckDBPyConnection, inbox: Path) -> None:
    ids = [i for (i,) in con.execute("SELECT event_id FROM raw.platform_ledger").fetchall()]
    assert len(ids) == len(set(ids)), "a key was loaded twice"
    assert accounting_holds(con)
    read, loaded = con.execute(
        "SELECT sum(rows_read), sum(rows_loaded) FROM raw.file_manifest WHERE kind = 'platform_ledger'"
    ).fetchone()
    rows = con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone()[0]
    quarantined = con.execute(
        "SELECT count(*) FROM raw.quarantine WHERE kind = 'platform_ledger' AND line_number > 0"
    ).fetchone()[0]
    assert (read or 0) == rows + quarantined and (loaded or 0) == rows
    # every row of a loaded file is in the ledger (valid rows only meet duplicate_key: loaded before)
    for (path,) in con.execute(
        "SELECT DISTINCT path FROM raw.file_manifest WHERE status = 'loaded' AND kind = 'platform_ledger'"
    ).fetchall():
        file = inbox / path
        shas = {
            s
            for (s,) in con.execute(
                "SELECT file_sha256 FROM raw.file_manifest WHERE path = ? AND status = 'loaded'", [path]
            ).fetchall()
        }

        if file.exists() and hashlib.sha256(file.read_bytes()).hexdigest() in shas:
            for record in read_csv(file.read_bytes()).records:
                assert record.fields[0] in set(ids)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ACTIONS, st.integers(1, 3))
def test_random_deliveries_lose_nothing_and_load_nothing_twice(actions, runs_between):
    root = Path(tempfile.mkdtemp(prefix="ingest-prop-"))
    try:
        write_masters(root / "inbox")
        con = duckdb.connect(":memory:")
        for step, action in enumerate(actions, start=1):
            _apply(root / "inbox", action, step)
            if step % runs_between == 0 or step == len(actions):
                run(con, root, max(DAYS))
                _check(con, root / "inbox")
        before = con.execute("SELECT count(*) FROM raw.file_manifest").fetchone()[0]
        run(con, root, max(DAYS))  # a re-run changes nothing
        assert con.execute("SELECT count(*) FROM raw.file_manifest").fetchone()[0] == before
        con.close()
    finally:
        shutil.rmtree(root)
