"""Rejections that rest on something outside the file (limits, a master that arrives late) are evaluated again
by later runs; a new manifest row is written only when the outcome changes (docs/formats.md, "Retries")."""

from __future__ import annotations

import datetime as dt

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
