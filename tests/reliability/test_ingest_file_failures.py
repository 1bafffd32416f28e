"""One bad file never stops the day: whatever reading, parsing or checking one file does, that file ends as a
`rejected` manifest row with a reason code and the other files load (issue 7 §1, docs/reliability.md)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from ingestion_builders import (
    accounting_holds,
    all_tables,
    csv_of,
    ledger_row,
    run,
    sale_row,
    statuses,
    terminal_bytes,
    terminal_records,
    write,
    write_ledger,
)

import ingestion.run as ingest_run
from contracts import terminal_log
from ingestion import Limits

SALES = "partner/ACME/ACME_sales_20261125.csv"
LEDGER = "platform/ledger_20261125.csv"
TERMINAL_FILE = "terminal/T00000001/T00000001_20261125_0001.jsonl"


def _good_files(inbox: Path) -> None:
    write_ledger(inbox, [ledger_row("E1"), ledger_row("E2")])
    write(inbox, SALES, csv_of("partner_sales", [sale_row()]))


def _good_files_loaded(con: duckdb.DuckDBPyConnection) -> None:
    assert statuses(con, LEDGER) == [("loaded", None)]
    assert statuses(con, SALES) == [("loaded", None)]
    assert con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM raw.partner_sales").fetchone() == (1,)


# Real inputs of the classes issue 7 names: a wrong JSON type, deeply nested JSON, integers past 64 bits.
_NESTED = b'{"v":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
_HOSTILE_TERMINAL_FILES = {
    "json_array_not_object": b"[1, 2, 3]\n",
    "string_where_object": b'"just a string"\n',
    "deeply_nested": _NESTED,
    "integer_past_64_bits": b'{"v": 1, "seq": 123456789012345678901234567890}\n',
    "huge_exponent": b'{"v": 1e999999, "seq": 1}\n',
    "not_utf8": b'{"v": 1, "type": "\xff\xfe"}\n',
    "nul_bytes": b"\x00" * 64,
}


@pytest.mark.parametrize("name", sorted(_HOSTILE_TERMINAL_FILES))
def test_a_hostile_terminal_file_is_rejected_and_the_rest_loads(con, tmp, name):
    inbox = tmp / "inbox"
    _good_files(inbox)
    write(inbox, TERMINAL_FILE, _HOSTILE_TERMINAL_FILES[name])
    run(con, tmp)
    [(status, reason)] = statuses(con, TERMINAL_FILE)
    assert status == "rejected" and reason  # a coded rejection, whichever check catches it
    _good_files_loaded(con)
    assert accounting_holds(con)


def test_a_terminal_record_with_a_seq_past_64_bits_is_rejected(con, tmp):
    records = terminal_records(1, 2, terminal_log.GENESIS_HASH)
    lines = terminal_bytes(records).replace(b'"seq":1,', b'"seq":18446744073709551617,', 1)
    inbox = tmp / "inbox"
    _good_files(inbox)
    write(inbox, TERMINAL_FILE, lines)
    run(con, tmp)
    assert statuses(con, TERMINAL_FILE)[0][0] == "rejected"
    _good_files_loaded(con)


def test_a_name_that_is_not_utf8_is_rejected_file_name_invalid(con, tmp):
    inbox = tmp / "inbox"
    _good_files(inbox)
    bad = os.fsencode(str(inbox / "platform")) + b"/ledger_\xff\xfe_20261125.csv"
    with open(bad, "wb") as handle:
        handle.write(csv_of("platform_ledger", [ledger_row("E9")]))
    run(con, tmp)
    assert statuses(con, "platform/ledger_\\xff\\xfe_20261125.csv") == [("rejected", "file_name_invalid")]
    _good_files_loaded(con)
    before = all_tables(con)
    run(con, tmp)  # a re-run changes nothing: the stored name is stable
    assert all_tables(con) == before


# Fault injection at the loader boundary: the loaders are real; for one file the call raises the exception
# class under test, as a defect or an exhausted resource inside any loader would.
_LOADERS = {"csv": ("load_csv", SALES), "terminal": ("parse_terminal_file", TERMINAL_FILE)}
_EXCEPTIONS = (MemoryError, RecursionError, ValueError, KeyError, AssertionError, OverflowError, duckdb.Error)


@pytest.mark.parametrize("exception", _EXCEPTIONS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("loader", sorted(_LOADERS))
def test_any_exception_of_a_loader_rejects_that_file_only(con, tmp, monkeypatch, loader, exception):
    function_name, victim = _LOADERS[loader]
    inbox = tmp / "inbox"
    write_ledger(inbox, [ledger_row("E1"), ledger_row("E2")])
    write(inbox, SALES, csv_of("partner_sales", [sale_row()]))
    write(inbox, TERMINAL_FILE, terminal_bytes(terminal_records(1, 2, terminal_log.GENESIS_HASH)))
    real = getattr(ingest_run, function_name)

    def failing(*args, **kwargs):
        names = [a.rel_path for a in args if hasattr(a, "rel_path")]
        if function_name == "parse_terminal_file" or victim in names:
            raise exception("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_run, function_name, failing)
    summary = run(con, tmp)
    assert statuses(con, victim) == [("rejected", "file_internal_error")]
    detail = con.execute("SELECT detail FROM raw.file_manifest WHERE path = ?", [victim]).fetchone()[0]
    assert exception.__name__ in detail and "injected" not in detail  # the class, never the message
    assert statuses(con, LEDGER) == [("loaded", None)]
    assert not (tmp / "raw" / ".attempts" / "current.json").exists()
    assert summary.files_by_status["rejected"] == 1
    assert accounting_holds(con)
    monkeypatch.setattr(ingest_run, function_name, real)  # the defect is fixed: the next run loads the file
    run(con, tmp)
    assert statuses(con, victim) == [("rejected", "file_internal_error"), ("loaded", None)]


def test_limits_from_configuration_are_bounded():
    for bad in (0, -1, 1 << 41, True, 2.5):
        with pytest.raises(ValueError):
            Limits(max_records=bad)
        with pytest.raises(ValueError):
            Limits(max_file_bytes=bad)
    assert Limits(max_records=1, max_file_bytes=1 << 40).max_records == 1


def test_the_sha256_is_of_the_bytes_parsed_and_a_file_over_the_limit_is_hashed_whole(con, tmp):
    import hashlib

    inbox = tmp / "inbox"
    path = write_ledger(inbox, [ledger_row("E1")])
    run(con, tmp, limits=Limits(max_file_bytes=50))
    sha = con.execute("SELECT file_sha256, reason_code FROM raw.file_manifest WHERE path = ?", [LEDGER]).fetchone()
    assert sha == (hashlib.sha256(path.read_bytes()).hexdigest(), "file_too_large")


def test_a_header_of_100000_columns_is_rejected_in_linear_time(con, tmp):
    import time

    from contracts.schemas import CSV_KINDS_BY_NAME
    from contracts.validation import header_problem

    names = [f"c{i % 50_000}" for i in range(100_000)]  # every name twice: the repeated-name check too
    started = time.perf_counter()
    problem = header_problem(CSV_KINDS_BY_NAME["platform_ledger"], names)
    assert time.perf_counter() - started < 1.0  # quadratic took minutes
    assert problem is not None and problem.code == "csv_header_invalid"
    inbox = tmp / "inbox"
    write(inbox, LEDGER, (",".join(names) + "\n1,2\n").encode())
    write(inbox, SALES, csv_of("partner_sales", [sale_row()]))
    run(con, tmp)
    assert statuses(con, LEDGER) == [("rejected", "csv_header_invalid")]
    assert statuses(con, SALES) == [("loaded", None)]


def test_a_file_that_cannot_be_read_is_rejected_file_unreadable_and_retried(con, tmp):
    # /proc/self/mem is a regular file that fails every read at offset 0 (EIO), even for root: a real
    # unreadable file, where a mode-000 file would not be one for the root user of the test machine.
    inbox = tmp / "inbox"
    _good_files(inbox)
    unreadable = inbox / "platform" / "balances_20261125.csv"
    unreadable.symlink_to("/proc/self/mem")
    run(con, tmp)
    assert statuses(con, "platform/balances_20261125.csv") == [("rejected", "file_unreadable")]
    sha = con.execute("SELECT file_sha256 FROM raw.file_manifest WHERE path = 'platform/balances_20261125.csv'")
    assert sha.fetchone() == ("",)
    _good_files_loaded(con)
    before = all_tables(con)
    run(con, tmp)  # retried, same outcome: nothing written
    assert all_tables(con) == before
    unreadable.unlink()
    write(inbox, "platform/balances_20261125.csv", csv_of("platform_balances", []))
    run(con, tmp)  # readable now: evaluated as a new content
    assert statuses(con, "platform/balances_20261125.csv")[-1][0] == "loaded"


@pytest.mark.parametrize(
    "path",
    [
        "platform/ledger_00010102.csv",
        "master/merchants_00010102.csv",
        "partner/ACME/ACME_sales_19890107.csv",
        "terminal/T00000001/T00000001_00010102_0001.jsonl",
        "bank/0001/0001_004_1234567_00010102.txt",
    ],
)
def test_a_date_in_a_name_outside_the_bounds_rejects_the_file(con, tmp, path):
    inbox = tmp / "inbox"
    _good_files(inbox)
    write(inbox, path, b"anything")
    run(con, tmp)
    # contracts.inbox_names matches names only for dates 1989-01-08 .. 2099-12-31: such a name is of no kind
    assert statuses(con, path) == [("rejected", "file_unknown_kind")]
    _good_files_loaded(con)
