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


def _stored_texts(con, tmp) -> tuple[list[str], list[bytes]]:
    """Every text value of every raw table but file hashes, and every Parquet file's bytes."""
    texts = []
    names = [n for (n,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()]
    for table in names:
        for row in con.execute(f"SELECT * FROM raw.{table}").fetchall():
            texts += [v for v in row if isinstance(v, str) and not re.fullmatch("[0-9a-f]{64}", v)]
    return texts, [p.read_bytes() for p in (tmp / "raw").rglob("*.parquet")]


def _never_stored(con, tmp, digits: str) -> bool:
    texts, parquets = _stored_texts(con, tmp)
    return not any(digits in t for t in texts) and not any(digits.encode() in data for data in parquets)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (dict(edi="123456789018"), "edi"),  # a whole field
        (dict(description="1234 5678 9018"), "description"),  # 摘要, grouped by spaces
        (dict(remitter_name="1234-5678-9018"), "remitter_name"),  # grouped by hyphens
        (dict(sending_branch_name="123456789018"), "sending_branch_name"),
        # touching other digits in the record: 振込依頼人コード (10 digits) runs straight into 振込依頼人名
        (dict(remitter_code="1111111111", remitter_name="123456789018"), "remitter_name"),
    ],
)
def test_my_number_field_quarantines_its_record_masked_and_the_rest_loads(con, tmp, changes, field):
    write(tmp / "inbox", PATH, write_statement(_with(changes)))
    run(con, tmp)
    assert manifest(con, PATH) | {} == dict(
        status="loaded", read=5, loaded=4, quarantined=1, reason=None, count=1
    )
    assert quarantine(con, PATH) == [(2, "my_number_detected")]
    detail, raw_text = con.execute("SELECT detail, raw_text FROM raw.quarantine WHERE path = ?", [PATH]).fetchone()
    assert field in detail and "************" in raw_text
    # the quarantined debit still counts in the statement's own totals and balance (FORMATS.md bank/)
    head = con.execute("SELECT debit_count, debit_total, closing_balance FROM raw.bank_statements").fetchall()
    assert head == [(1, 183_455, 1_000_000 + 29_999 - 183_455)]
    lines = con.execute("SELECT inquiry_number FROM raw.bank_statement_lines").fetchall()
    assert lines == [("00000002",)]
    assert _never_stored(con, tmp, "123456789018") and _never_stored(con, tmp, "56789018")
    assert accounting_holds(con)


def test_my_number_in_the_header_rejects_the_statement_masked(con, tmp):
    write(tmp / "inbox", PATH, write_statement(_with(header_changes=dict(account_name="123456789018"))))
    run(con, tmp)
    assert manifest(con, PATH) | {} == dict(
        status="rejected", read=5, loaded=0, quarantined=5, reason="my_number_detected", count=1
    )
    assert con.execute("SELECT count(*) FROM raw.bank_statements").fetchone()[0] == 0
    assert _never_stored(con, tmp, "123456789018")
    assert accounting_holds(con)


def test_full_width_my_number_is_judged_before_the_character_set(con, tmp):
    # A full-width number is not JIS X 0201 text: the field is blanked for the reader, the record quarantined.
    data = write_statement(STATEMENT)
    number = "１２３４５６７８９０１８".encode("cp932")  # 24 bytes in the 48-byte 振込依頼人名 of record 3
    start = data.index(b"\r\n2", data.index(b"\r\n2") + 1) + 2 + 81
    data = data[:start] + number + data[start + len(number):]
    write(tmp / "inbox", PATH, data)
    run(con, tmp)
    assert manifest(con, PATH)["loaded"] == 4 and quarantine(con, PATH) == [(3, "my_number_detected")]
    texts, parquets = _stored_texts(con, tmp)
    assert not any("１２３４" in t or "123456789018" in t for t in texts)
    assert not any(number in p for p in parquets)
    assert accounting_holds(con)


def test_numbers_inside_a_text_field_are_not_my_numbers(con, tmp):
    # FORMATS.md: the rule is on the trimmed value, not on digit runs inside it.
    statement = _with(dict(remitter_name="ﾔﾏﾀﾞ 1234-5678-9018", sending_bank_name="X123456789018"))
    write(tmp / "inbox", PATH, write_statement(statement))
    run(con, tmp)
    assert manifest(con, PATH) | {} == dict(status="loaded", read=5, loaded=5, quarantined=0, reason=None, count=1)


def test_thirteen_digit_and_short_numbers_in_text_fields_are_not_my_numbers(con, tmp):
    statement = _with(dict(edi="1234567890123", remitter_name="ﾔﾏﾀﾞ 12345678901"))
    write(tmp / "inbox", PATH, write_statement(statement))
    run(con, tmp)
    assert manifest(con, PATH)["status"] == "loaded"
    assert con.execute("SELECT edi FROM raw.bank_statement_lines WHERE inquiry_number = '00000001'").fetchall() == [
        ("1234567890123",)
    ]
