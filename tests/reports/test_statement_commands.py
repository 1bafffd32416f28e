"""`seisan report statements` and `seisan report prepaid` on a hand-built warehouse: where they write, what
they print, and one clear sentence (exit status 1 or 2) for every mistake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from statement_world import build

from seisan.cli import main
from seisan.cli_reports_statements import write_merchant_statements
from seisan.config import load_settings


@pytest.fixture
def home(seisan_home: Path) -> Path:
    seisan_home.mkdir(parents=True)
    with duckdb.connect(str(seisan_home / "warehouse.duckdb")) as con:
        build(con)
        con.execute("create table marts.fct_balances (business_date date, municipality_code varchar)")
        con.execute("insert into marts.fct_balances values ('2026-11-30', '242012')")
        con.execute("create table marts.fct_prepaid_unused_balances (municipality_code varchar, reference_date date, "
                    "issued_total_yen bigint, used_total_yen bigint, expired_total_yen bigint, "
                    "unused_balance_yen bigint, is_threshold_exceeded boolean, deposit_required_yen bigint, "
                    "deposit_deadline_date date, report_deadline_date date)")
        con.execute("insert into marts.fct_prepaid_unused_balances values ('242012', '2026-09-30', 30000000, "
                    "5000000, 0, 25000000, true, 12500000, '2026-11-30', '2026-11-30')")
    return seisan_home


def test_statements_of_a_day_and_of_one_payout(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "statements", "--date", "2026-11-30"]) == 0
    out = capsys.readouterr().out
    folder = home / "out" / "2026-11-30" / "statements"
    assert f"statement: {folder / 'PO-A.pdf'}" in out and "4 statement(s) written" in out
    assert main(["report", "statements", "--payout", "PO-B"]) == 0
    assert write_merchant_statements(load_settings(), payout_id="PO-C") == [folder / "PO-C.pdf"]


def test_statement_mistakes_are_one_sentence(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "statements", "--date", "2026-11-29"]) == 1
    assert "no payouts were planned on 2026-11-29: run `seisan payments plan" in capsys.readouterr().err
    assert main(["report", "statements", "--payout", "PO-X"]) == 1
    assert "payout PO-X is not in payments.payouts" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "statements", "--date", "2026-11-30", "--payout", "PO-A"])


def test_prepaid_command_writes_pdf_and_csv_and_refuses_other_dates(home: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "prepaid", "--date", "2026-09-30", "--municipality", "242012"]) == 0
    folder = home / "out" / "prepaid" / "2026-09-30"
    assert sorted(p.name for p in folder.iterdir()) == ["prepaid-2026-09-30-242012.csv",
                                                        "prepaid-2026-09-30-242012.pdf"]
    assert "12500000" in (folder / "prepaid-2026-09-30-242012.csv").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["report", "prepaid", "--date", "2026-10-01"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2026-10-01 is not a 基準日" in err
    assert main(["report", "prepaid", "--date", "2027-03-31"]) == 1
    assert "built through 2026-11-30, before the 基準日 2027-03-31" in capsys.readouterr().err


def test_no_warehouse_says_what_to_run(seisan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "prepaid", "--date", dt.date(2026, 3, 31).isoformat()]) == 1
    assert "no warehouse at" in capsys.readouterr().err


def test_a_warehouse_without_payments_tables_says_what_to_run(seisan_home: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    seisan_home.mkdir(parents=True)
    duckdb.connect(str(seisan_home / "warehouse.duckdb")).close()
    assert main(["report", "statements", "--date", "2026-11-30"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the warehouse lacks a table the statement reads" in err
    assert main(["report", "prepaid", "--date", "2026-09-30"]) == 1
    assert "built through no date" in capsys.readouterr().err
