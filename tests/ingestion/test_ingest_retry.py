"""Rejections that rest on something outside the file (limits, a master that arrives late) are evaluated again
by later runs; a new manifest row is written only when the outcome changes (docs/formats.md, "Retries")."""

from __future__ import annotations

import datetime as dt
import os
import time

from ingestion_builders import (
    PARTNER,
    TERMINAL,
    TERMINAL_KEY,
    D,
    accounting_holds,
    all_tables,
    cert_row,
    csv_of,
    ledger_row,
    run,
    sale_row,
    statuses,
    terminal_records,
    write,
    write_certs,
    write_ledger,
    write_masters,
    write_terminal,
)

from contracts import terminal_log
from ingestion import Limits

LEDGER = "platform/ledger_20261125.csv"
ZZZ_SALES = "partner/ZZZ/ZZZ_sales_20261125.csv"
SALE = sale_row()


def partners_with_zzz() -> bytes:
    return csv_of(
        "master_partners",
        [
            dict(partner_code=PARTNER, name="Acme", kind="airline", encoding="utf-8", payer_name_kana="ｱｸﾒ"),
            dict(partner_code="ZZZ", name="Zed", kind="retail", encoding="utf-8", payer_name_kana="ｾﾞﾂﾄ"),
        ],
    )


def test_partner_file_loads_once_the_partner_master_arrives_late(con, tmp):
    inbox = tmp / "inbox"
    write(inbox, ZZZ_SALES, csv_of("partner_sales", [SALE]))
    run(con, tmp)
    assert statuses(con, ZZZ_SALES) == [("rejected", "partner_unknown")]
    before = all_tables(con)
    run(con, tmp)  # nothing new: the retry gives the same outcome, no table changes
    assert all_tables(con) == before
    write(inbox, "master/partners_20261120.csv", partners_with_zzz())
    summary = run(con, tmp, D + dt.timedelta(days=1))  # a later run; the file keeps its own date
    assert statuses(con, ZZZ_SALES) == [("rejected", "partner_unknown"), ("loaded", None)]
    assert summary.files_retried == 1
    assert con.execute("SELECT partner_code, order_id, business_date FROM raw.partner_sales").fetchall() == [
        ("ZZZ", "O1", D)
    ]
    assert accounting_holds(con)
    after = all_tables(con)
    run(con, tmp, D + dt.timedelta(days=1))  # loaded now: a re-scan, skipped
    assert all_tables(con) == after


def test_limits_are_configuration_a_raised_limit_loads_the_file(con, tmp):
    run(con, tmp)  # the masters, under the default limits
    write_ledger(tmp / "inbox", [ledger_row(f"E{i}") for i in range(5)])  # 5 records, under 2,000 bytes
    write(tmp / "inbox", "platform/ledger_20261124.csv", b"x" * 3000)  # too large, then malformed
    small = Limits(max_records=4, max_file_bytes=2000)
    run(con, tmp, limits=small)
    run(con, tmp, limits=small)  # unchanged outcome: no second manifest row
    assert statuses(con, LEDGER) == [("rejected", "file_too_many_rows")]
    assert statuses(con, "platform/ledger_20261124.csv") == [("rejected", "file_too_large")]
    run(con, tmp)  # default limits
    assert statuses(con, LEDGER) == [("rejected", "file_too_many_rows"), ("loaded", None)]
    # the outcome changed (now parsed: no header matches), so a new row records the new reason
    assert statuses(con, "platform/ledger_20261124.csv") == [
        ("rejected", "file_too_large"),
        ("rejected", "csv_header_invalid"),
    ]
    assert con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone()[0] == 5
    assert accounting_holds(con)
    before = all_tables(con)
    run(con, tmp)  # csv_header_invalid is about the bytes: never evaluated again
    assert all_tables(con) == before


def test_terminal_file_loads_once_the_terminals_master_gives_its_key(con, tmp):
    inbox = tmp / "inbox"
    write_certs(inbox, [cert_row()])
    day = dt.date(2025, 12, 1)  # before the terminal's active_from in the 2026-11-01 snapshot
    write_terminal(inbox, terminal_records(1, 1, terminal_log.GENESIS_HASH, day=day), 1, day=day)
    path = f"terminal/{TERMINAL}/{TERMINAL}_20251201_0001.jsonl"
    run(con, tmp)
    assert statuses(con, path) == [("rejected", "terminal_key_unknown")]
    older = csv_of(
        "master_terminals",
        [
            dict(
                terminal_id=TERMINAL,
                merchant_id="M00000001",
                public_key=terminal_log.terminal_public_key_b64(TERMINAL_KEY),
                active_from="2025-01-01",
                active_to="",
            )
        ],
    )
    write_masters(inbox, dt.date(2025, 11, 1))  # snapshots in force on the file's date arrive late ...
    write(inbox, "master/terminals_20251101.csv", older)  # ... the terminal active since 2025-01-01
    run(con, tmp)
    assert statuses(con, path) == [("rejected", "terminal_key_unknown"), ("loaded", None)]
    # the seal is loaded; the card certificate was registered only in 2026-11: the use is quarantined alone
    assert con.execute("SELECT seq FROM raw.terminal_seals").fetchall() == [(2,)]
    assert con.execute(
        "SELECT line_number, reason_code FROM raw.quarantine WHERE path = ? ORDER BY ingested_at, 1", [path]
    ).fetchall() == [(1, "terminal_key_unknown"), (2, "terminal_key_unknown"), (1, "terminal_cert_not_valid")]
    assert accounting_holds(con)


def _age(path, seconds: int) -> int:
    """Set the file's mtime `seconds` into the past, as a file delivered earlier; returns it."""
    mtime = time.time_ns() - seconds * 1_000_000_000
    os.utime(path, ns=(mtime, mtime))
    return mtime


def test_a_retryable_rejection_is_evaluated_again_however_old_the_file(con, tmp):
    """A file rejected for a reason outside its bytes is re-read by every run even when its path, size and
    mtime say it is unchanged (the re-scan that skips reading applies only to a verdict of skip)."""
    inbox = tmp / "inbox"
    path = write(inbox, ZZZ_SALES, csv_of("partner_sales", [SALE]))
    _age(path, 3600)
    run(con, tmp)
    run(con, tmp)
    assert statuses(con, ZZZ_SALES) == [("rejected", "partner_unknown")]
    write(inbox, "master/partners_20261120.csv", partners_with_zzz())
    run(con, tmp, D + dt.timedelta(days=1))
    assert statuses(con, ZZZ_SALES) == [("rejected", "partner_unknown"), ("loaded", None)]


def test_an_unchanged_file_is_a_rescan_a_file_rewritten_too_soon_after_its_read_is_read_again(con, tmp):
    """Path, size and mtime equal to a manifest row recorded at least 2 s after that mtime: a re-scan, not read
    (identity.RACY_MARGIN_NS). Recorded sooner after the mtime (the same tick of the file system's clock as a
    rewrite could fall in): read and hashed again, so a rewrite with the same size and mtime is caught."""
    inbox = tmp / "inbox"
    old = write_ledger(inbox, [ledger_row("E1")])
    old_mtime = _age(old, 60)
    fresh = write_ledger(inbox, [ledger_row("E2", D - dt.timedelta(days=1))], D - dt.timedelta(days=1))
    fresh_mtime = fresh.stat().st_mtime_ns  # just written: recorded within the margin
    run(con, tmp)
    fresh_name = "platform/ledger_20261124.csv"
    assert statuses(con, LEDGER) == [("loaded", None)] and statuses(con, fresh_name) == [("loaded", None)]
    for path, mtime, event in ((old, old_mtime, "E1"), (fresh, fresh_mtime, "E2")):
        content = path.read_bytes()
        rewritten = content.replace(event.encode(), b"X" + event[1:].encode())
        assert len(rewritten) == len(content) and rewritten != content
        path.write_bytes(rewritten)
        os.utime(path, ns=(mtime, mtime))
    summary = run(con, tmp)
    assert statuses(con, LEDGER) == [("loaded", None)]  # taken as unchanged from its metadata
    assert statuses(con, fresh_name) == [("loaded", None), ("conflict", "file_conflicting_duplicate")]
    assert summary.files_skipped >= 1
    assert accounting_holds(con)


def test_a_file_that_could_not_be_read_is_read_again_though_its_metadata_is_unchanged(con, tmp, monkeypatch):
    """A file_unreadable row names no content (its SHA-256 is empty), so it never makes a file a re-scan by
    path, size and mtime: here the unreadable file is another content under a loaded name, and once readable it
    is the conflict it always was, not skipped."""
    import ingestion.run as ingestion_run

    inbox = tmp / "inbox"
    path = write_ledger(inbox, [ledger_row("E1")])
    _age(path, 120)
    run(con, tmp)
    write_ledger(inbox, [ledger_row("E1"), ledger_row("E2")])
    _age(path, 60)
    real = ingestion_run.read_once

    def refused(target, limit):
        if target == path:
            raise PermissionError(13, "Permission denied")
        return real(target, limit)

    monkeypatch.setattr(ingestion_run, "read_once", refused)
    run(con, tmp)
    assert statuses(con, LEDGER) == [("loaded", None), ("rejected", "file_unreadable")]
    monkeypatch.setattr(ingestion_run, "read_once", real)
    run(con, tmp)
    assert statuses(con, LEDGER) == [
        ("loaded", None), ("rejected", "file_unreadable"), ("conflict", "file_conflicting_duplicate")]
    assert accounting_holds(con)
