"""The delivery rule and unsafe file names: temporary names are never read, a file still changing is left for
the next run, and a name that is not valid UTF-8 (or holds control characters) ends as a coded rejection."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingestion_builders import D, accounting_holds, ledger_row, manifest, run, write_ledger, ymd

from ingestion import ingest
from ingestion.inbox import printable_path, scan


def _paths(con) -> list[str]:
    return [p for (p,) in con.execute("SELECT path FROM raw.file_manifest ORDER BY path").fetchall()]


@pytest.mark.parametrize(
    "name", [f"ledger_{ymd(D)}.csv.tmp", f"ledger_{ymd(D)}.csv.part", f".ledger_{ymd(D)}.csv"]
)
def test_temporary_names_are_never_read(con, tmp, name):
    written = write_ledger(tmp / "inbox", [ledger_row("E1")])
    written.rename(written.with_name(name))
    run(con, tmp)
    assert not any(p.startswith("platform/") for p in _paths(con))
    written.with_name(name).rename(written)  # the sender's rename completes the delivery
    run(con, tmp)
    assert manifest(con, f"platform/ledger_{ymd(D)}.csv")["status"] == "loaded"


def test_a_file_still_changing_is_left_for_the_next_run(con, tmp):
    path = write_ledger(tmp / "inbox", [ledger_row("E1")])
    messages: list[str] = []
    ingest(con, tmp / "inbox", tmp / "raw", D, progress=messages.append, settle_seconds=3600)
    assert _paths(con) == []  # nothing recorded: not a manifest row, not an error
    assert any(m.startswith(f"platform/ledger_{ymd(D)}.csv: changed within the last 3600 s") for m in messages)
    an_hour_ago = time.time_ns() - 3601 * 1_000_000_000
    os.utime(path, ns=(an_hour_ago, an_hour_ago))
    ingest(con, tmp / "inbox", tmp / "raw", D, settle_seconds=3600)
    assert manifest(con, f"platform/ledger_{ymd(D)}.csv")["status"] == "loaded"


def test_settle_time_by_the_clock(tmp):
    path = write_ledger(tmp / "inbox", [ledger_row("E1")])
    mtime = path.stat().st_mtime_ns
    assert [p for p in scan(tmp / "inbox", 5, now_ns=mtime + 4_999_999_999).unsettled if "ledger" in p]
    assert not scan(tmp / "inbox", 5, now_ns=mtime + 5_000_000_000).unsettled


@pytest.mark.parametrize(
    ("raw_name", "shown"),
    [
        (b"ledger_\xff\xfe.csv", "ledger_\\xff\\xfe.csv"),  # not UTF-8
        (f"ledger_{ymd(D)}\n.csv".encode(), f"ledger_{ymd(D)}\\u000a.csv"),  # a newline
        ("ledger_\u202e.csv".encode(), "ledger_\\u202e.csv"),  # a bidirectional override
    ],
)
def test_an_unsafe_file_name_is_a_coded_rejection(con, tmp, raw_name, shown):
    folder = tmp / "inbox" / "platform"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(os.fsencode(folder) + b"/" + raw_name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"event_id\nE1\n")
    os.close(fd)
    write_ledger(tmp / "inbox", [ledger_row("E1")])
    run(con, tmp)
    row = manifest(con, f"platform/{shown}")
    assert (row["status"], row["reason"]) == ("rejected", "file_name_invalid")
    assert manifest(con, f"platform/ledger_{ymd(D)}.csv")["status"] == "loaded"  # the run went on
    assert accounting_holds(con)
    run(con, tmp)  # a re-run is a re-scan: no second row
    assert manifest(con, f"platform/{shown}")["count"] == 1


def test_printable_path_by_hand():
    assert printable_path("platform/ledger_20261125.csv") == ("platform/ledger_20261125.csv", False)
    assert printable_path(os.fsdecode(b"a/\xe3\x81\x82\xff")) == ("a/\u3042\\xff", True)
    assert printable_path("a/b\x00c\x7fd\x85") == ("a/b\\u0000c\\u007fd\\u0085", True)


def test_an_unsafe_folder_name_is_rejected_too(con, tmp):
    folder = Path(os.fsdecode(os.fsencode(tmp / "inbox" / "partner") + b"/\xff"))
    folder.mkdir(parents=True)
    (folder / "X_sales_20261125.csv").write_bytes(b"x\n")
    run(con, tmp)
    assert manifest(con, "partner/\\xff/X_sales_20261125.csv")["reason"] == "file_name_invalid"


def test_scan_lists_what_pathlib_rglob_lists(tmp):
    """scan walks the inbox with os.scandir; it lists the files pathlib's rglob("*") would, in path order:
    links to files listed, links to folders not followed, hidden and temporary names left out."""
    inbox = tmp / "inbox"
    write_ledger(inbox, [ledger_row("E1")])
    (inbox / "partner" / "ACME").mkdir(parents=True)
    (inbox / "partner" / "ACME" / "ACME_sales_20261125.csv").write_bytes(b"x\n")
    (inbox / "partner" / "ACME" / "deeper" / "more").mkdir(parents=True)
    (inbox / "partner" / "ACME" / "deeper" / "more" / "a.csv").write_bytes(b"x\n")
    (inbox / "partner" / ".hidden").mkdir()
    (inbox / "partner" / ".hidden" / "ACME_sales_20261125.csv").write_bytes(b"x\n")
    (inbox / "partner" / "linked").symlink_to(inbox / "partner" / "ACME", target_is_directory=True)
    (inbox / "bank" / "a_link.txt").parent.mkdir(parents=True, exist_ok=True)
    (inbox / "bank" / "a_link.txt").symlink_to(inbox / "partner" / "ACME" / "ACME_sales_20261125.csv")
    (inbox / "bank" / "dangling.txt").symlink_to(inbox / "nowhere")
    (inbox / "terminal" / "x.jsonl.part").parent.mkdir(parents=True, exist_ok=True)
    (inbox / "terminal" / "x.jsonl.part").write_bytes(b"{}\n")
    expected = []
    for source in ("master", "platform", "terminal", "partner", "bank"):
        if (inbox / source).is_dir():
            for path in sorted((inbox / source).rglob("*")):
                parts = path.relative_to(inbox).parts
                hidden = any(p.startswith(".") for p in parts) or parts[-1].endswith((".tmp", ".part"))
                if not hidden and path.is_file():
                    expected.append(("/".join(parts), path.stat().st_size))
    found = sorted((f.rel_path, f.size_bytes) for f in scan(inbox).files)
    assert found == sorted(expected)
    assert ("bank/a_link.txt", 2) in found and not any("linked/" in p or "dangling" in p for p, _ in found)


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\x00\x1f\x7f\x85\x9f\u202e\u200e\u2066"),
               max_size=30))
def test_printable_path_escapes_exactly_the_unsafe_characters(text):
    """The one-regex fast path gives what escaping character by character gives (reference: Unicode
    categories Cc and Cs and the bidirectional controls)."""
    import unicodedata

    from contracts.validation import BIDI_CONTROLS

    def unsafe(char: str) -> bool:
        return unicodedata.category(char) in ("Cc", "Cs") or char in BIDI_CONTROLS

    reference = "".join(f"\\u{ord(c):04x}" if unsafe(c) else c for c in text)
    from contracts.codes import mask_my_numbers

    reference = mask_my_numbers(reference) or reference
    assert printable_path(text) == (reference, reference != text)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_a_name_date_is_read_as_strptime_reads_it(digits):
    """contracts.inbox_names reads a name's YYYYMMDD by slicing; strptime("%Y%m%d") is the reference."""
    import datetime as dt

    from contracts.inbox_names import _date
    from contracts.limits import BUSINESS_DATE_MAX, BUSINESS_DATE_MIN

    try:
        day = dt.datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        day = None
    if day is not None and not BUSINESS_DATE_MIN <= day <= BUSINESS_DATE_MAX:
        day = None
    assert _date(digits) == day
