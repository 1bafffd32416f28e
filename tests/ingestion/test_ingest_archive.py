"""Archiving settled files (ingestion.archive, `[ingest] archive`): an ingest run ends by moving the files it has
nothing more to do with out of the inbox, and what it loads is exactly what it loads without an archive.

Independent expectations: the same run without an archive (the rest of the suite pins it down), and hand-stated
outcomes per file: a loaded file, a duplicate delivery, a conflict and a final rejection are archived; a retryable
rejection, a partner file with a held row, a file named for a later date and an unreadable file stay; a redelivery
of archived bytes is removed; a file whose bytes are not the ones read is moved back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from ingestion_builders import (
    MERCHANT,
    D,
    accounting_holds,
    csv_of,
    ledger_row,
    merchant_row,
    sale_row,
    write,
    write_ledger,
    ymd,
)

from ingestion import Limits, ingest
from ingestion.archive import Known, archive_settled, located
from ingestion.identity import ManifestIndex, Seen
from ingestion.inbox import scan
from ingestion.outcome import FileStatus
from ingestion.release import held_paths
from simulator import deliver, simulate

START = dt.date(2026, 3, 28)
DAYS = 5
UNSHARED = {"ingested_at", "batch_id", "mtime_ns", "released_at", "checked_at", "quarantined_at",
            "masters_through"}  # when a row was written or a file delivered: not the same in two runs
SALES = "partner/ACME/ACME_sales_20261125.csv"
LEDGER = f"platform/ledger_{ymd(D)}.csv"


def _comparable(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
    out = {}
    for table in tables:
        names = [n for (n,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall() if n not in UNSHARED]
        out[table] = con.execute(f"SELECT {', '.join(names)} FROM raw.{table} ORDER BY ALL").fetchall()
    return out


def _files(root: Path) -> dict[str, bytes]:
    """Relative path → bytes of every file under the five source folders of `root`."""
    out = {}
    for source in ("master", "platform", "terminal", "partner", "bank"):
        for path in sorted((root / source).rglob("*")):
            if path.is_file():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def _run(tmp: Path, day: dt.date, archive: bool, con: duckdb.DuckDBPyConnection, limits: Limits | None = None):
    return ingest(con, tmp / "inbox", tmp / "raw", day, limits or Limits(),
                  archive=tmp / "archive" if archive else None)


def _status(con, path: str) -> tuple[str, str | None]:
    return con.execute("SELECT status, reason_code FROM raw.file_manifest WHERE path = ? ORDER BY ingested_at DESC "
                       "LIMIT 1", [path]).fetchone()


def test_settled_files_move_and_the_rest_stay(tmp: Path) -> None:
    inbox, archive = tmp / "inbox", tmp / "archive"
    write_ledger(inbox, [ledger_row("E1")])
    write(inbox, "platform/notes.txt", b"not a file of any kind")  # rejected file_unknown_kind: final
    write(inbox, f"platform/ledger_{ymd(D - dt.timedelta(days=1))}.csv", b"garbage\n")  # csv_header_invalid: final
    write(inbox, "partner/NOSUCH/NOSUCH_sales_20261125.csv", b"x\n")  # partner_unknown: retryable
    write(inbox, SALES, csv_of("partner_sales", [sale_row(order_id="O1"),
                                                 sale_row(order_id="O2", merchant_id="M00000002")]))  # one held
    later = write_ledger(inbox, [ledger_row("E9", D + dt.timedelta(days=1))], D + dt.timedelta(days=1))
    big = write(inbox, f"platform/ledger_{ymd(D - dt.timedelta(days=2))}.csv",
                csv_of("platform_ledger", [ledger_row(f"E2{n:03d}", D - dt.timedelta(days=2)) for n in range(200)]))
    before = _files(tmp / "inbox")
    big_path = big.relative_to(inbox).as_posix()
    assert len(before[big_path]) > 2 * max(len(data) for path, data in before.items() if path != big_path)
    with duckdb.connect(":memory:") as con:
        summary = _run(tmp, D, True, con, Limits(max_file_bytes=len(big.read_bytes()) - 1))  # big: file_too_large
        assert accounting_holds(con)
        left = set(_files(inbox))
        assert left == {"partner/NOSUCH/NOSUCH_sales_20261125.csv", SALES, later.relative_to(inbox).as_posix(),
                        big.relative_to(inbox).as_posix()}
        assert _status(con, big.relative_to(inbox).as_posix()) == ("rejected", "file_too_large")
        archived = _files(archive)
        assert set(archived) == set(before) - left
        assert all(archived[p] == before[p] for p in archived)  # the same bytes, the same relative path
        masters = [path for path in before if path.startswith("master/")]
        assert summary.files_archived == len(archived) == len(masters) + 3  # the ledger, notes.txt, the bad ledger
        assert held_paths(con) == {SALES}

        # The merchant arrives: the held row is released, then the file is settled and archived; the next day
        # the retry is still retried and E9's ledger is loaded and archived.
        write(inbox, "master/merchants_20261120.csv",
              csv_of("master_merchants", [merchant_row(MERCHANT), merchant_row("M00000002")]))
        summary = _run(tmp, D + dt.timedelta(days=1), True, con)
        assert summary.rows_released == {"partner_sales": 1}
        assert set(_files(inbox)) == {"partner/NOSUCH/NOSUCH_sales_20261125.csv"}
        assert _files(archive)[SALES] == before[SALES]
        assert held_paths(con) == set()
        assert _status(con, "partner/NOSUCH/NOSUCH_sales_20261125.csv") == ("rejected", "partner_unknown")
        assert accounting_holds(con)
        assert located(inbox, archive, SALES) == archive / SALES
        assert located(inbox, archive, "partner/NOSUCH/NOSUCH_sales_20261125.csv") == \
            inbox / "partner/NOSUCH/NOSUCH_sales_20261125.csv"


def test_a_run_with_an_archive_loads_what_a_run_without_one_loads(tmp_path: Path) -> None:
    """A hostile simulated world (torn, forged, forked, re-delivered terminal logs; late and duplicate files),
    ingested day by day with and without an archive: the same raw tables, manifest and quarantine included; and
    every byte ever delivered is still somewhere: in the inbox, or in the archive under its path (or its
    `~sha16` name), or a redelivery of bytes the archive holds under that path."""
    simulated = tmp_path / "world"
    simulate(simulated, START, DAYS, 2, 150, 29, faults="hostile")
    homes = {flag: tmp_path / ("archived" if flag else "kept") for flag in (True, False)}
    cons = {}
    for flag, home in homes.items():
        shutil.copytree(simulated, home / "inbox")
        cons[flag] = duckdb.connect(str(home / "warehouse.duckdb"))
    archived_total = 0
    try:
        for offset in range(DAYS + 2):
            day = START + dt.timedelta(days=offset)
            for flag, home in homes.items():
                deliver(home / "inbox", day)
                summary = _run(home, day, flag, cons[flag])
                archived_total += summary.files_archived if flag else 0
                assert summary.files_archived == 0 or flag
            assert _comparable(cons[True]) == _comparable(cons[False]), day
        assert accounting_holds(cons[True])
        kept_files = _files(homes[False] / "inbox")
        in_inbox, in_archive = _files(homes[True] / "inbox"), _files(homes[True] / "archive")
        assert archived_total >= len(in_archive) > 100
        for path, data in kept_files.items():
            suffixed = f"{path}~{hashlib.sha256(data).hexdigest()[:16]}"
            assert data in (in_inbox.get(path), in_archive.get(path), in_archive.get(suffixed)), path
        # what stays is what a later run still needs: named for a later day, retried, or holding held rows
        last = START + dt.timedelta(days=DAYS + 1)
        files = {f.rel_path: f for f in scan(homes[True] / "inbox").files}
        held = held_paths(cons[True])
        for path in in_inbox:
            file = files[path]
            latest = _status(cons[True], path) if file.business_date and file.business_date <= last else None
            assert (file.business_date is not None and file.business_date > last) or path in held or (
                latest is not None and latest[0] == "rejected"), (path, latest)
    finally:
        for con in cons.values():
            con.close()


def test_a_rerun_and_a_redelivery_after_archiving(tmp: Path) -> None:
    inbox, archive = tmp / "inbox", tmp / "archive"
    ledger = write_ledger(inbox, [ledger_row("E1")])
    data = ledger.read_bytes()
    with duckdb.connect(":memory:") as con:
        _run(tmp, D, True, con)
        assert not ledger.exists() and (archive / LEDGER).read_bytes() == data
        state = _comparable(con)
        assert _run(tmp, D, True, con).files_archived == 0  # a re-run: nothing to read, nothing written
        assert _comparable(con) == state

        # the sender delivers the same bytes again: a duplicate delivery, recorded, then removed (archived already)
        write(inbox, LEDGER, data)
        summary = _run(tmp, D, True, con)
        assert summary.files_by_status == {"duplicate": 1} and summary.files_archived == 1
        assert not ledger.exists() and (archive / LEDGER).read_bytes() == data
        assert sorted(p.name for p in (archive / "platform").iterdir()) == [ledger.name]

        # other bytes under the loaded name: a conflict, quarantined whole, archived under the suffixed name
        other = csv_of("platform_ledger", [ledger_row("E7")])
        write(inbox, LEDGER, other)
        _run(tmp, D, True, con)
        assert _status(con, LEDGER) == ("conflict", "file_conflicting_duplicate")
        suffixed = archive / f"{LEDGER}~{hashlib.sha256(other).hexdigest()[:16]}"
        assert suffixed.read_bytes() == other and (archive / LEDGER).read_bytes() == data
        assert located(inbox, archive, LEDGER, hashlib.sha256(other).hexdigest()) == suffixed  # where trace looks
        assert located(inbox, archive, LEDGER, hashlib.sha256(data).hexdigest()) == archive / LEDGER
        assert not ledger.exists()
        assert con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone() == (1,)
        assert accounting_holds(con)


def test_a_file_whose_bytes_are_not_those_read_is_moved_back(tmp_path: Path) -> None:
    """The manifest says path P held content X (read too soon after its mtime to vouch for it); P holds other
    bytes of the same size and mtime now: the file goes back into the inbox for the next run to read."""
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    path = write(inbox, LEDGER, b"A" * 10)
    stat = path.stat()
    read_sha = hashlib.sha256(b"B" * 10).hexdigest()  # what the run read (other bytes, same size)
    manifest = ManifestIndex()
    manifest.add("platform", LEDGER, Seen(read_sha, LEDGER, stat.st_mtime_ns, FileStatus.LOADED, None, 10,
                                          stat.st_mtime_ns + 1))
    (file,) = scan(inbox).files
    said = []
    done = archive_settled(inbox, archive, [Known(file, read_sha)], manifest, set(), said.append)
    assert (done.moved, done.moved_back) == (0, 1)
    assert path.read_bytes() == b"A" * 10 and not (archive / LEDGER).exists()
    assert said == [f"{LEDGER}: changed since it was read; left in the inbox for the next run"]

    # the same file with its own content's SHA-256, vouched for by a row recorded 2 s after its mtime: moved
    real_sha = hashlib.sha256(b"A" * 10).hexdigest()
    manifest.add("platform", LEDGER, Seen(real_sha, LEDGER, stat.st_mtime_ns, FileStatus.LOADED, None, 10,
                                          stat.st_mtime_ns + 2_000_000_000))
    done = archive_settled(inbox, archive, [Known(file, real_sha)], manifest, set())
    assert (done.moved, done.moved_back) == (1, 0)
    assert (archive / LEDGER).read_bytes() == b"A" * 10 and not path.exists()


def test_a_file_still_settling_stays(tmp: Path) -> None:
    """A file modified within the settle time is not read, so not archived; the run after it settled moves it."""
    inbox, archive = tmp / "inbox", tmp / "archive"
    ledger = write_ledger(inbox, [ledger_row("E1")])
    with duckdb.connect(":memory:") as con:
        ingest(con, inbox, tmp / "raw", D, settle_seconds=3600, archive=archive)
        assert ledger.exists() and con.execute(
            "SELECT count(*) FROM raw.file_manifest WHERE path = ?", [LEDGER]).fetchone() == (0,)
        summary = ingest(con, inbox, tmp / "raw", D, archive=archive)
        assert summary.files_by_status["loaded"] >= 1 and not ledger.exists() and (archive / LEDGER).exists()


def test_the_archive_is_configured(tmp_path: Path) -> None:
    from seisan.config import ConfigError, load_settings

    base = {"SEISAN_HOME": str(tmp_path / "home")}
    assert load_settings(env=base).archive_dir is None  # off unless configured: the inbox keeps every file
    assert load_settings(env={**base, "SEISAN_INGEST_ARCHIVE": "true"}).archive_dir == \
        tmp_path / "home" / "inbox" / "archive"
    assert load_settings(env={**base, "SEISAN_INGEST_ARCHIVE": "yes",
                              "SEISAN_INGEST_ARCHIVE_DIR": str(tmp_path / "kept")}).archive_dir == tmp_path / "kept"
    with pytest.raises(ConfigError, match="inside the inbox folder terminal/"):
        load_settings(env={**base, "SEISAN_INGEST_ARCHIVE": "1",
                           "SEISAN_INGEST_ARCHIVE_DIR": str(tmp_path / "home" / "inbox" / "terminal" / "old")})
    with pytest.raises(ConfigError, match="is the inbox itself"):
        load_settings(env={**base, "SEISAN_INGEST_ARCHIVE": "1",
                           "SEISAN_INGEST_ARCHIVE_DIR": str(tmp_path / "home" / "inbox")})
    with pytest.raises(ValueError, match="is the inbox itself"):  # the mechanism refuses it too, before any move
        archive_settled(tmp_path / "home" / "inbox", tmp_path / "home" / "inbox", [], ManifestIndex(), set())
    with pytest.raises(ConfigError, match="not true or false"):
        load_settings(env={**base, "SEISAN_INGEST_ARCHIVE": "maybe"})
