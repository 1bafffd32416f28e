"""Zengin 入出金取引明細 (03): a hand-built golden file, round trips, layout tolerances, rejections."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.reasons import Reason
from contracts.zengin_statement import (
    DATA_SPEC,
    END_SPEC,
    HEADER_SPEC,
    TRAILER_SPEC,
    Statement,
    StatementHeader,
    StatementLine,
    read_statement,
    write_statement,
)

REF = dt.date(2026, 11, 26)
D25 = dt.date(2026, 11, 25)


def _rec(text: str) -> bytes:
    data = text.encode("cp932")
    assert len(data) == 200, len(data)
    return data


# Built field by field from zengin.md §3, independently of the writer.
GOLDEN_HEADER = _rec(
    "1" "03" "0" "081126" "081125" "081125" "0001" f"{'ﾐｽﾞﾎ':<15}" "004" f"{'ﾏﾙﾉｳﾁﾁﾕｳｵｳ':<15}" "000" "1"
    "0001234567" f"{'ﾁﾊﾞｼ ｶｲｹｲｶﾝﾘｼﾔ':<40}" "1" "1" "00000001000000" + " " * 71
)
GOLDEN_DEBIT = _rec(
    "2" "00000001" "081125" "081125" "2" "11" "000000183455" "000000000000" "000000" "000000" "0" "0000000"
    "000" "0000000000" + " " * 48 + " " * 15 + " " * 15 + f"{'ｿｳｺﾞｳﾌﾘｺﾐ':<20}" + " " * 20 + " "
)
GOLDEN_FEE = _rec(
    "2" "00000002" "081125" "081125" "2" "18" "000000000990" "000000000000" "000000" "000000" "0" "0000000"
    "000" "0000000000" + " " * 48 + " " * 15 + " " * 15 + f"{'ﾌﾘｺﾐﾃｽｳﾘﾖｳ':<20}" + " " * 20 + " "
)
GOLDEN_CREDIT = _rec(
    "2" "00000003" "081125" "081124" "1" "11" "000000029999" "000000000000" "000000" "000000" "0" "0000000"
    "000" "0000000000" f"{'ｶ)ｷﾔﾂｼﾕﾚｽ.ﾎﾟｲﾝﾄ':<48}" f"{'ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ':<15}" f"{'ﾎﾝﾃﾝ':<15}"
    f"{'ﾌﾘｺﾐﾌﾉｳ':<20}" f"{'P00000042':<20}" " "
)
GOLDEN_TRAILER = _rec(
    "8" "000001" "0000000029999" "000002" "0000000184445" "1" "00000000845554" "0000003" + " " * 139
)
GOLDEN_END = _rec("9" "0000000005" "00001" + " " * 184)
GOLDEN_RECORDS = [GOLDEN_HEADER, GOLDEN_DEBIT, GOLDEN_FEE, GOLDEN_CREDIT, GOLDEN_TRAILER, GOLDEN_END]
GOLDEN = b"".join(r + b"\r\n" for r in GOLDEN_RECORDS)

EXPECTED = Statement(
    StatementHeader(
        created_date=dt.date(2026, 11, 26), period_from=D25, period_to=D25, bank_code="0001", bank_name="ﾐｽﾞﾎ",
        branch_code="004", branch_name="ﾏﾙﾉｳﾁﾁﾕｳｵｳ", account_type=1, account_number="1234567",
        account_name="ﾁﾊﾞｼ ｶｲｹｲｶﾝﾘｼﾔ", overdraft_flag=1, passbook_flag=1, opening_balance=1_000_000,
    ),
    (
        StatementLine("00000001", D25, D25, "debit", "11", 183_455, description="ｿｳｺﾞｳﾌﾘｺﾐ"),
        StatementLine("00000002", D25, D25, "debit", "18", 990, description="ﾌﾘｺﾐﾃｽｳﾘﾖｳ"),
        StatementLine("00000003", D25, dt.date(2026, 11, 24), "credit", "11", 29_999,
                      remitter_name="ｶ)ｷﾔﾂｼﾕﾚｽ.ﾎﾟｲﾝﾄ", sending_bank_name="ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ",
                      sending_branch_name="ﾎﾝﾃﾝ", description="ﾌﾘｺﾐﾌﾉｳ", edi="P00000042"),
    ),
)


def _codes(data: bytes, reference: dt.date = REF) -> list[str]:
    result = read_statement(data, reference)
    assert result.statement is None
    return [p.code for p in result.problems]


def test_specs_tile_200_bytes() -> None:
    for spec in (HEADER_SPEC, DATA_SPEC, TRAILER_SPEC, END_SPEC):
        position = 1
        for _name, start, length, _kind in spec:
            assert start == position
            position += length
        assert position == 201


def test_golden_file_reads() -> None:
    result = read_statement(GOLDEN, REF)
    assert result.problems == ()
    assert result.records_read == 6
    assert result.statement == EXPECTED
    # Hand-computed: 1,000,000 + 29,999 - 183,455 - 990 = 845,554.
    assert result.statement.closing_balance == 845_554
    assert (result.statement.credit_count, result.statement.debit_total) == (1, 184_445)


def test_writer_reproduces_golden_file() -> None:
    assert write_statement(EXPECTED) == GOLDEN
    assert len(GOLDEN) == 6 * 202


@pytest.mark.parametrize("separator", [b"\n", b"\r", b""])
def test_separators(separator: bytes) -> None:
    data = b"".join(r + separator for r in GOLDEN_RECORDS)
    assert write_statement(EXPECTED, separator=separator) == data
    result = read_statement(data, REF)
    assert result.statement == EXPECTED and result.records_read == 6


def test_right_trimmed_records_and_final_eof_byte() -> None:
    data = b"\n".join(r.rstrip(b" ") for r in GOLDEN_RECORDS) + b"\n\x1a"
    result = read_statement(data, REF)
    assert result.problems == () and result.statement == EXPECTED


def test_no_separator_with_trimmed_last_record_and_eof() -> None:
    data = b"".join(GOLDEN_RECORDS[:-1]) + GOLDEN_END.rstrip(b" ") + b"\x1a"
    assert read_statement(data, REF).statement == EXPECTED


def test_spaces_in_unused_numeric_fields() -> None:
    spaced = bytearray(GOLDEN_DEBIT)
    spaced[36:81] = b" " * 45  # うち他店券金額 .. 振込依頼人コード (positions 37-81)
    header = bytearray(GOLDEN_HEADER)
    header[59:62] = b"   "  # ダミー N(3)
    header[114] = ord(" ")  # 通帳・証書区分 not given
    data = b"\r\n".join([bytes(header), bytes(spaced), *GOLDEN_RECORDS[2:]])
    result = read_statement(data, REF)
    assert result.problems == ()
    assert result.statement.lines[0] == EXPECTED.lines[0]
    assert result.statement.header.passbook_flag == 0


def _statement(lines: list[StatementLine], opening: int = 0, start: dt.date = D25, end: dt.date = D25,
               created: dt.date = REF) -> Statement:
    header = StatementHeader(created, start, end, "0005", "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ", "001", "ﾎﾝﾃﾝ", 2, "7654321",
                             "ﾔﾏﾀﾞ ﾀﾛｳ", opening_balance=opening)
    return Statement(header, tuple(lines))


def test_zero_and_maximum_amounts() -> None:
    biggest = 999_999_999_999
    statement = _statement([
        StatementLine("1", D25, D25, "credit", "10", 0),
        StatementLine("2", D25, D25, "credit", "11", biggest, other_bank_amount=biggest),
        StatementLine("3", D25, D25, "debit", "14", biggest),
        StatementLine("4", D25, D25, "credit", "11", biggest, remitter_code="123"),
    ], opening=99_999_999_999_999 - biggest)  # closing = opening + 2b - b = the N(14) maximum
    data = write_statement(statement)
    trailer = data.split(b"\r\n")[5]
    assert trailer[1:20] == b"000003" + b"1999999999998"  # 13-digit credit total
    assert trailer[40:54] == b"99999999999999"  # 14-digit closing balance
    result = read_statement(data, REF)
    assert result.statement == statement
    assert result.statement.lines[3].remitter_code == "0000000123"


def test_overdrawn_balances_use_the_minus_flag() -> None:
    statement = _statement([StatementLine("1", D25, D25, "debit", "11", 5_000)], opening=-1_000)
    data = write_statement(statement)
    records = data.split(b"\r\n")
    assert records[0][113:129] == b"2" b"1" b"00000000001000"
    assert records[2][39:54] == b"2" b"00000000006000"
    result = read_statement(data, REF)
    assert result.statement == statement and result.statement.closing_balance == -6_000


def test_heisei_reiwa_boundary() -> None:
    last_heisei, first_reiwa = dt.date(2019, 4, 30), dt.date(2019, 5, 1)
    statement = _statement([
        StatementLine("1", last_heisei, last_heisei, "credit", "11", 100),
        StatementLine("2", first_reiwa, first_reiwa, "debit", "11", 40),
    ], opening=10, start=last_heisei, end=first_reiwa, created=dt.date(2019, 5, 2))
    data = write_statement(statement)
    assert data[10:22] == b"310430010501"
    assert data.split(b"\r\n")[1][9:21] == b"310430310430"
    result = read_statement(data, dt.date(2019, 5, 2))
    assert result.statement == statement


# --- rejections ------------------------------------------------------------------------------------------

def _replace(record: bytes, start: int, new: bytes) -> bytes:
    """`new` at 1-based position `start` of a record."""
    return record[:start - 1] + new + record[start - 1 + len(new):]


def _with(index: int, record: bytes) -> bytes:
    records = list(GOLDEN_RECORDS)
    records[index] = record
    return b"\r\n".join(records)


def test_ebcdic_rejected() -> None:
    assert _codes(_with(0, _replace(GOLDEN_HEADER, 4, b"1"))) == [Reason.ZENGIN_EBCDIC]
    ebcdic = GOLDEN.decode("cp932").encode("ascii", "replace").decode("ascii").encode("cp500")
    assert _codes(ebcdic) == [Reason.ZENGIN_EBCDIC]


@pytest.mark.parametrize(
    "records",
    [
        [GOLDEN_DEBIT, GOLDEN_TRAILER, GOLDEN_END],  # no header
        [GOLDEN_HEADER, GOLDEN_DEBIT, GOLDEN_END],  # no trailer
        [GOLDEN_HEADER, GOLDEN_DEBIT, GOLDEN_TRAILER],  # no end
        [GOLDEN_HEADER, GOLDEN_TRAILER, GOLDEN_DEBIT, GOLDEN_END],  # data after trailer
        GOLDEN_RECORDS + [GOLDEN_HEADER],  # something after the end
        [GOLDEN_HEADER, GOLDEN_HEADER, *GOLDEN_RECORDS[1:]],  # two headers
        [GOLDEN_HEADER, _replace(GOLDEN_DEBIT, 1, b"3"), *GOLDEN_RECORDS[2:]],  # unknown データ区分
    ],
)
def test_structure_rejected(records: list[bytes]) -> None:
    data = b"\r\n".join(records)
    result = read_statement(data, REF)
    assert result.statement is None
    assert Reason.ZENGIN_STRUCTURE in [p.code for p in result.problems]
    assert result.records_read == len(records)


def test_overlong_record_rejected() -> None:
    result = read_statement(_with(1, GOLDEN_DEBIT + b" "), REF)
    assert [p.code for p in result.problems] == [Reason.ZENGIN_RECORD_LENGTH]
    assert (result.problems[0].record_number, result.problems[0].line_number) == (2, 2)


@pytest.mark.parametrize(
    ("index", "start", "new", "code"),
    [
        (1, 25, b"00000018345X", Reason.ZENGIN_FIELD_INVALID),  # letter in 取引金額
        (1, 22, b"3", Reason.ZENGIN_FIELD_INVALID),  # 入払区分 3
        (1, 23, b"99", Reason.ZENGIN_FIELD_INVALID),  # unknown 取引区分
        (0, 2, b"01", Reason.ZENGIN_FIELD_INVALID),  # 振込入金通知, not 03
        (0, 23, b"00 1", Reason.ZENGIN_FIELD_INVALID),  # space inside 銀行コード
        (1, 10, b"010430", Reason.ZENGIN_DATE_INVALID),  # before Reiwa began
        (1, 10, b"081124", Reason.ZENGIN_DATE_INVALID),  # before 勘定日(自)
        (1, 16, b"081131", Reason.ZENGIN_DATE_INVALID),  # 31 November
        (0, 5, b"100105", Reason.ZENGIN_DATE_INVALID),  # Heisei 10: implausible 作成日 (and before 至)
        (0, 5, b"081124", Reason.ZENGIN_DATE_INVALID),  # 作成日 before 勘定日(至)
        (3, 82, "ｶ)ｷﾔﾂｼﾕ".encode("cp932") + "山".encode("cp932"), Reason.ZENGIN_FIELD_INVALID),  # kanji
        (4, 2, b"000002", Reason.ZENGIN_TRAILER_MISMATCH),  # 入金件数
        (4, 27, b"0000000184446", Reason.ZENGIN_TRAILER_MISMATCH),  # 出金額合計
        (4, 55, b"0000004", Reason.ZENGIN_TRAILER_MISMATCH),  # データ・レコード件数
        (4, 41, b"00000000845555", Reason.ZENGIN_BALANCE_MISMATCH),
        (4, 40, b"2", Reason.ZENGIN_BALANCE_MISMATCH),  # closing balance with the wrong sign
        (0, 116, b"00000001000001", Reason.ZENGIN_BALANCE_MISMATCH),
        (5, 2, b"0000000007", Reason.ZENGIN_TRAILER_MISMATCH),  # レコード総件数
        (5, 12, b"00002", Reason.ZENGIN_TRAILER_MISMATCH),  # 口座数
    ],
)
def test_content_rejected(index: int, start: int, new: bytes, code: str) -> None:
    codes = _codes(_with(index, _replace(GOLDEN_RECORDS[index], start, new)))
    assert code in codes


def test_end_count_may_include_the_end_record() -> None:
    data = _with(5, _replace(GOLDEN_END, 2, b"0000000006"))
    assert read_statement(data, REF).statement == EXPECTED


def test_every_problem_is_reported_with_its_line() -> None:
    data = b"\r\n".join([GOLDEN_HEADER, _replace(GOLDEN_DEBIT, 25, b"X"), GOLDEN_FEE,
                         _replace(GOLDEN_CREDIT, 10, b"000101"), GOLDEN_TRAILER, GOLDEN_END])
    result = read_statement(data, REF)
    assert [(p.code, p.record_number, p.line_number) for p in result.problems] == [
        (Reason.ZENGIN_FIELD_INVALID, 2, 2), (Reason.ZENGIN_DATE_INVALID, 4, 4)]
    assert result.records_read == 6


def test_empty_file() -> None:
    for data in (b"", b"\x1a", b"\r\n"):
        result = read_statement(data, REF)
        assert result.statement is None and result.records_read == 0
        assert [p.code for p in result.problems] == [Reason.FILE_EMPTY]


# --- writer strictness and forged files --------------------------------------------------------------------

@pytest.mark.parametrize(
    "line",
    [
        StatementLine("1", D25, D25, "credit", "11", 1, remitter_name="ﾔﾏﾀﾞ ﾀﾛｰ"),  # long vowel
        StatementLine("1", D25, D25, "credit", "11", 1, remitter_name="yamada"),  # lower case
        StatementLine("1", D25, D25, "credit", "11", 1, remitter_name="ｱ" * 49),  # too long: never cut
        StatementLine("1", D25, D25, "credit", "11", 10 ** 12),  # 13 digits
        StatementLine("1", D25, D25, "credit", "11", -1),
        StatementLine("1", REF, REF, "credit", "11", 1),  # outside the period
        StatementLine("1", D25, D25, "credit", "16", 1),  # unknown 取引区分
        StatementLine("123456789", D25, D25, "credit", "11", 1),  # 9-digit 照会番号
    ],
)
def test_writer_refuses(line: StatementLine) -> None:
    with pytest.raises(ValueError):
        write_statement(_statement([line]))


def test_writer_refuses_bad_header() -> None:
    header = EXPECTED.header
    for change in ({"account_name": "ｦﾀｸ"}, {"bank_code": "001"}, {"overdraft_flag": 2},
                   {"period_from": REF, "period_to": D25}):
        fields = {name: getattr(header, name) for name in header.__slots__}
        fields.update(change)
        with pytest.raises(ValueError):
            write_statement(Statement(StatementHeader(**fields), ()))


def test_forged_trailer_is_caught() -> None:
    forged = write_statement(EXPECTED, trailer_overrides={"credit_total": 30_000})
    assert _codes(forged) == [Reason.ZENGIN_TRAILER_MISMATCH]
    forged = write_statement(EXPECTED, trailer_overrides={"closing_balance": 845_553})
    assert _codes(forged) == [Reason.ZENGIN_BALANCE_MISMATCH]
    forged = write_statement(EXPECTED, end_overrides={"total_records": 9})
    assert _codes(forged) == [Reason.ZENGIN_TRAILER_MISMATCH]
    with pytest.raises(ValueError):
        write_statement(EXPECTED, trailer_overrides={"no_such_field": 1})


# --- property: random statements round-trip ----------------------------------------------------------------

_KANA = "".join(chr(c) for c in range(0xFF71, 0xFF9E))
_names = st.text(alphabet=_KANA + "ABCXYZ0189 ", max_size=15).map(str.strip)
_days = st.dates(min_value=dt.date(2026, 11, 1), max_value=dt.date(2026, 11, 20))


@st.composite
def _statements(draw: st.DrawFn) -> Statement:
    lines = []
    for number in range(draw(st.integers(0, 6))):
        amount = draw(st.integers(0, 999_999_999_999))
        lines.append(StatementLine(
            str(number + 1), draw(_days), draw(_days), draw(st.sampled_from(["credit", "debit"])),
            draw(st.sampled_from(["10", "11", "12", "13", "14", "15", "18", "19"])), amount,
            other_bank_amount=draw(st.integers(0, amount)),
            remitter_code=draw(st.sampled_from(["", "0000012345"])),
            remitter_name=draw(st.text(alphabet=_KANA + "()-. ", max_size=48).map(str.strip)),
            sending_bank_name=draw(_names), description=draw(_names), edi=draw(_names),
        ))
    header = StatementHeader(
        dt.date(2026, 11, 21), dt.date(2026, 11, 1), dt.date(2026, 11, 20), "0005", draw(_names), "001",
        draw(_names), draw(st.sampled_from([1, 2, 4])), str(draw(st.integers(1, 9_999_999))), draw(_names),
        opening_balance=draw(st.integers(-10 ** 13, 10 ** 13)),
    )
    return Statement(header, tuple(lines))


@settings(max_examples=60, deadline=None)
@given(_statements(), st.sampled_from([b"\r\n", b"\n", b""]))
def test_random_statements_round_trip(statement: Statement, separator: bytes) -> None:
    data = write_statement(statement, separator=separator)
    assert len(data) == (len(statement.lines) + 3) * (200 + len(separator))
    result = read_statement(data, dt.date(2026, 11, 21))
    assert result.problems == ()
    assert result.statement == statement
    assert result.records_read == len(statement.lines) + 3
