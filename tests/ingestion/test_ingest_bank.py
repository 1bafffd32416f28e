"""Bank statements (Zengin 03): loaded whole, or rejected whole with the reader's reason."""

from __future__ import annotations

import datetime as dt

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


def test_renamed_copy_of_a_statement_is_duplicate(con, tmp):
    write(tmp / "inbox", PATH, write_statement(STATEMENT))
    run(con, tmp)
    copy = "bank/0001/0001_004_1234567_20261126.txt"
    write(tmp / "inbox", copy, write_statement(STATEMENT))
    run(con, tmp, dt.date(2026, 11, 26))
    assert manifest(con, copy)["quarantined"] == 5
    assert {reason for _, reason in quarantine(con, copy)} == {"duplicate_key"}
    assert con.execute("SELECT count(*) FROM raw.bank_statements").fetchone()[0] == 1
