"""`seisan breaks` end to end on a temporary home: a warehouse with the raw manifest and the matching engine's
findings for two run dates, the break store synced from them, then every command as an officer would type it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb
import pytest

from contracts.codes import my_number_check_digit
from ingestion.schema import ensure_raw_schema
from reconciliation.breaks import sync_breaks
from seisan.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reconciliation"))
from findings_table import Finding, write_findings  # noqa: E402 - tests/reconciliation's engine-shaped findings

D1, D2 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
NOW = dt.datetime(2026, 11, 4, 0, 0, tzinfo=dt.UTC)
SHA = "c0ffee" + "0" * 58
MY_NUMBER = "12345678901" + str(my_number_check_digit("12345678901"))
A = Finding("AUTH-0001", amount_at_risk_yen=1200, expected="1200", file_sha256=SHA, line_number=7)
B = Finding("AUTH-0002", status="pending", amount_at_risk_yen=300)
C = Finding("AUTH-0003", municipality_code="012025", break_code="amount_mismatch", amount_at_risk_yen=77,
            expected="\x1b[2J1077", actual=MY_NUMBER)


@pytest.fixture
def home(seisan_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose break store saw A and B on D1 and A, B and C on D2; A's terminal file is in the manifest."""
    monkeypatch.delenv("SEISAN_OFFICER_ID", raising=False)
    seisan_home.mkdir(parents=True)
    with duckdb.connect(str(seisan_home / "warehouse.duckdb")) as con:
        ensure_raw_schema(con)
        con.execute("INSERT INTO raw.file_manifest (file_sha256, path, source, kind, business_date, status, "
                    "ingested_at) VALUES (?, 'terminal/T0001/T0001_20261102_1.jsonl', 'terminal', 'terminal_log', "
                    "?, 'loaded', TIMESTAMP '2026-11-03 01:00:00')", [SHA, D1])
        write_findings(con, D1, [A, B])
        sync_breaks(con, D1, now=NOW)
        write_findings(con, D2, [A, B, C])
        sync_breaks(con, D2, now=NOW)
    return seisan_home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["breaks", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_list_shows_aging_amount_at_risk_and_totals(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["break_id", "status", "break_code"]
    body = [line.split() for line in lines[2:-2]]
    # oldest first: A (first seen D1, 1 day old on D2), then C (first seen D2); B is pending, not open
    assert [(cells[0], cells[6], cells[7]) for cells in body] == [(A.break_id, "1", "1200"), (C.break_id, "0", "77")]
    assert lines[-2] == "(2 rows)"
    assert lines[-1] == "total: 2 open breaks, 1,277 yen at risk, oldest 1 day"

    _, out, _ = run(capsys, "list", "--status", "all", "--municipality", "011002", "--date", "2026-11-10")
    # both first seen on D1 for the same business date: in break_id order
    assert [line.split()[0] for line in out.splitlines()[2:-2]] == sorted([A.break_id, B.break_id])
    assert out.splitlines()[-1] == "total: 2 breaks, 1,500 yen at risk, oldest 8 days"
    _, out, _ = run(capsys, "list", "--status", "pending", "--code", "use_missing_in_platform")
    assert out.splitlines()[-1] == "total: 1 pending break, 300 yen at risk, oldest 1 day"


def test_output_never_shows_a_my_number_or_a_control_character(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("list",), ("show", C.break_id)):
        status, out, _ = run(capsys, *argv)
        assert status == 0
        assert MY_NUMBER not in out and "\x1b" not in out
        assert "************" in out and "<U+001B>" in out


def test_show_gives_lineage_with_the_inbox_path_and_the_history(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse_bytes = (home / "warehouse.duckdb").read_bytes()
    status, out, _ = run(capsys, "show", A.break_id)
    assert status == 0
    assert run(capsys, "list", "--status", "all")[0] == 0
    assert (home / "warehouse.duckdb").read_bytes() == warehouse_bytes  # list and show only read
    assert f"break_id: {A.break_id}" in out and "status: open" in out and "amount_at_risk_yen: 1200" in out
    inbox_file = home / "inbox" / "terminal" / "T0001" / "T0001_20261102_1.jsonl"
    assert f"left (terminal): {inbox_file} line 7 (sha256 {SHA})" in out
    assert "right (platform): no delivered row" in out
    history = out.split("history:")[1].splitlines()
    assert [line.split()[4] for line in history[3:-1]] == ["opened"]
    status, _, err = run(capsys, "show", "BRK-0000000000000000")
    assert status == 1 and "no break 'BRK-0000000000000000'" in err


def test_an_officer_works_a_break(home: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    status, _, err = run(capsys, "resolve", A.break_id, "--reason", "explained_timing", "--note", "next-day credit")
    assert status == 2 and "no officer id" in err  # neither --officer nor [officer] id

    status, out, _ = run(capsys, "assign", A.break_id, "--to", "suzuki", "--officer", "tanaka")
    assert status == 0 and f"{A.break_id}: assigned by tanaka" in out
    monkeypatch.setenv("SEISAN_OFFICER_ID", "suzuki")
    assert run(capsys, "comment", A.break_id, "--note", "asked the bank")[0] == 0
    status, out, _ = run(capsys, "resolve", A.break_id, "--reason", "explained_timing", "--note", "next-day credit")
    assert status == 0 and f"{A.break_id}: resolved (explained_timing) by suzuki" in out
    status, _, err = run(capsys, "resolve", A.break_id, "--reason", "false_positive", "--note", "again")
    assert status == 1 and "already resolved" in err

    _, out, _ = run(capsys, "show", A.break_id)
    assert "status: resolved" in out and "resolution: explained_timing" in out and "assignee: suzuki" in out
    history = [line.split() for line in out.split("history:")[1].splitlines()[3:-1]]
    assert [(cells[4], cells[5]) for cells in history] == [
        ("opened", "seisan"), ("assigned", "tanaka"), ("commented", "suzuki"), ("resolved", "suzuki")]
    _, out, _ = run(capsys, "list", "--status", "resolved")
    assert [line.split()[0] for line in out.splitlines()[2:-2]] == [A.break_id]

    assert run(capsys, "reopen", A.break_id, "--note", "the bank denies it")[0] == 0
    _, out, _ = run(capsys, "list")
    assert A.break_id in out and out.splitlines()[-1].startswith("total: 2 open breaks")


def test_bad_input_is_one_sentence(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["breaks", "resolve", A.break_id, "--reason", "because", "--note", "x", "--officer", "tanaka"])
    assert exit_info.value.code == 2
    status, _, err = run(capsys, "comment", A.break_id, "--note", f"resident {MY_NUMBER}", "--officer", "tanaka")
    assert status == 1 and "My Number" in err and MY_NUMBER not in err


@pytest.mark.parametrize("action", ("list", "show", "assign", "comment", "resolve", "reopen"))
def test_every_action_has_help(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["breaks", action, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: seisan breaks {action}" in capsys.readouterr().out


def test_without_a_warehouse_it_says_what_to_do(seisan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "list")
    assert status == 1 and "seisan run" in err
