"""Bank statements (Zengin 03): loaded whole, or rejected whole with the reader's reason."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from ingestion_builders import D, accounting_holds, manifest, quarantine, run, write

from contracts.zengin_statement import Statement, StatementHeader, StatementLine, write_statement

PATH = "bank/0001/0001_004_1234567_20261125.txt"
STATEMENT = Statement(
    StatementHeader(
        created_date=D,
        period_from=D,
        period_to=D,
        bank_code="0001",
        bank_name="ﾐｽﾞﾎ",
        branch_code="004",
        branch_name="ﾏﾙﾉｳﾁ",
        account_type=1,
        account_number="1234567",
        account_name="ﾁﾖﾀﾞｸ",
        overdraft_flag=1,
        passbook_flag=1,
        opening_balance=1_000_000,
    ),
    (
        StatementLine("00000001", D, D, "debit", "11", 183_455, description="ｿｳｺﾞｳﾌﾘｺﾐ"),
        StatementLine(
            "00000002",
            D,
            dt.date(2026, 11, 24),
            "credit",
            "11",
            29_999,
            remitter_name="ｱｸﾒ",
            description="ﾌﾘｺﾐﾌﾉｳ",
            edi="P00000042",
        ),
    ),
)


def test_statement_loads_header_and_lines(con, tmp):
    write(tmp / "inbox", PATH, write_statement(STATEMENT))
    run(con, tmp)
    assert manifest(con, PATH) | {} == dict(
        status="loaded", read=5, loaded=5, quarantined=0, reason=None, count=1
    )
    head = con.execute(
        "SELECT opening_balance, credit_total, debit_total, closing_balance, line_number "
        "FROM raw.bank_statements"
    ).fetchall()
    assert head == [(1_000_000, 29_999, 183_455, 1_000_000 + 29_999 - 183_455, 1)]
    lines = con.execute(
        "SELECT direction, amount, edi, line_number FROM raw.bank_statement_lines ORDER BY 4"
    ).fetchall()
    assert lines == [("debit", 183_455, "", 2), ("credit", 29_999, "P00000042", 3)]


def test_account_mismatch_and_bad_trailer_reject_the_file(con, tmp):
    write(tmp / "inbox", "bank/0001/0001_004_7654321_20261125.txt", write_statement(STATEMENT))
    write(tmp / "inbox", PATH, write_statement(STATEMENT, trailer_overrides={"credit_total": 1}))
    run(con, tmp)
    assert manifest(con, "bank/0001/0001_004_7654321_20261125.txt")["reason"] == "zengin_account_mismatch"
    assert manifest(con, PATH)["reason"] == "zengin_trailer_mismatch"
    assert quarantine(con, PATH) == [(n, "zengin_trailer_mismatch") for n in range(1, 6)]
    assert con.execute("SELECT count(*) FROM raw.bank_statement_lines").fetchone()[0] == 0
    assert accounting_holds(con)


def test_statement_under_another_date_is_rejected(con, tmp):
    write(tmp / "inbox", PATH, write_statement(STATEMENT))
    run(con, tmp)
    copy = "bank/0001/0001_004_1234567_20261126.txt"  # the same statement (勘定日(至) 11-25) named for 11-26
    write(tmp / "inbox", copy, write_statement(STATEMENT))
    run(con, tmp, dt.date(2026, 11, 26))
    assert manifest(con, copy) | {} == dict(
        status="rejected", read=5, loaded=0, quarantined=5, reason="file_date_mismatch", count=1
    )
    assert {reason for _, reason in quarantine(con, copy)} == {"file_date_mismatch"}
    assert con.execute("SELECT count(*) FROM raw.bank_statements").fetchone()[0] == 1
    assert accounting_holds(con)


def _with(line_changes: dict | None = None, header_changes: dict | None = None) -> Statement:
    header = dataclasses.replace(STATEMENT.header, **(header_changes or {}))
    lines = (dataclasses.replace(STATEMENT.lines[0], **(line_changes or {})), STATEMENT.lines[1])
    return Statement(header, lines)


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        (_with(dict(edi="123456789018")), b"123456789018"),  # a whole field
        (_with(dict(remitter_name="ﾔﾏﾀﾞ 1234-5678-9018")), b"1234-5678-9018"),  # inside a name
        (_with(dict(description="1234 5678 9018")), b"1234 5678 9018"),  # 摘要
        (_with(dict(sending_bank_name="X123456789018")), b"123456789018"),
        (_with(header_changes=dict(account_name="ﾁﾖﾀﾞｸ 123456789018")), b"123456789018"),  # header
    ],
)
def test_my_number_in_a_text_field_rejects_the_statement_and_is_never_stored(con, tmp, statement, shown):
    write(tmp / "inbox", PATH, write_statement(statement))
    run(con, tmp)
    assert manifest(con, PATH) | {} == dict(
        status="rejected", read=5, loaded=0, quarantined=5, reason="my_number_detected", count=1
    )
    assert [r for _, r in quarantine(con, PATH)] == ["my_number_detected"] * 5
    assert con.execute("SELECT count(*) FROM raw.bank_statement_lines").fetchone()[0] == 0
    digits = shown.decode()
    for table in ("quarantine", "file_manifest"):
        for row in con.execute(f"SELECT * FROM raw.{table}").fetchall():
            texts = [v for v in row if isinstance(v, str) and not re.fullmatch("[0-9a-f]{64}", v)]  # not sha256
            assert not any(digits in t or "56789018" in t for t in texts)
    for parquet in (tmp / "raw").rglob("*.parquet"):
        data = parquet.read_bytes()
        assert shown not in data and b"56789018" not in data
    assert accounting_holds(con)


def test_thirteen_digit_and_short_numbers_in_text_fields_are_not_my_numbers(con, tmp):
    statement = _with(dict(edi="1234567890123", remitter_name="ﾔﾏﾀﾞ 12345678901"))
    write(tmp / "inbox", PATH, write_statement(statement))
    run(con, tmp)
    assert manifest(con, PATH)["status"] == "loaded"
    assert con.execute("SELECT edi FROM raw.bank_statement_lines WHERE inquiry_number = '00000001'").fetchall() == [
        ("1234567890123",)
    ]
