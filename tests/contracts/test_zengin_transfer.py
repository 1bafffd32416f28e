"""Zengin 総合振込 (21): the zengin.md §10 golden file, round trips, tolerances and rejections."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.reasons import Reason
from contracts.zengin_transfer import (
    TRANSFER_DATA_SPEC,
    TRANSFER_END_SPEC,
    TRANSFER_HEADER_SPEC,
    TRANSFER_TRAILER_SPEC,
    TransferFile,
    TransferHeader,
    TransferRecord,
    format_mmdd,
    read_transfer_file,
    write_transfer_file,
)


def _rec(text: str) -> bytes:
    data = text.encode("cp932")
    assert len(data) == 120, len(data)
    return data


# Built field by field from zengin.md §2, independently of the writer (§10's three payments).
G_HEADER = _rec("1" "21" "0" "1234567890" f"{'ﾁﾊﾞｼ':<40}" "0325" "0134" f"{'ﾁﾊﾞｷﾞﾝｺｳ':<15}" "001"
                f"{'ﾎﾝﾃﾝ':<15}" "1" "0000123" + " " * 17)
G_DATA1 = _rec("2" "0001" f"{'ﾐｽﾞﾎ':<15}" "004" f"{'ﾏﾙﾉｳﾁﾁﾕｳｵｳ':<15}" "0000" "1" "1234567"
               f"{'ﾔﾏﾀﾞ ﾀﾛｳ':<30}" "0000029999" "0" "0000000000" "0000000000" "7" " " + " " * 7)
G_DATA2 = _rec("2" "0005" + " " * 15 + "001" + " " * 15 + "0000" "2" "7654321"
               f"{'ｶ)ｼ-ｻｲﾄﾞ':<30}" "0000030000" "1" "0000000042" "0000000000" "7" " " + " " * 7)
G_DATA3 = _rec("2" "9900" f"{'ﾕｳﾁﾖ':<15}" "018" f"{'ｾﾞﾛｲﾁﾊﾁ':<15}" "0000" "1" "0012345"
               f"{'ﾕｳﾁﾖ ﾊﾅｺ':<30}" "0000123456" "0" f"{'INV2026-0001':<20}" "7" "Y" + " " * 7)
G_TRAILER = _rec("8" "000003" "000000183455" + " " * 101)
G_END = _rec("9" + " " * 119)
G_RECORDS = [G_HEADER, G_DATA1, G_DATA2, G_DATA3, G_TRAILER, G_END]
GOLDEN = b"".join(r + b"\r\n" for r in G_RECORDS)

EXPECTED = TransferFile(
    TransferHeader("1234567890", "ﾁﾊﾞｼ", "0325", "0134", "001", 1, "123", "ﾁﾊﾞｷﾞﾝｺｳ", "ﾎﾝﾃﾝ"),
    (
        TransferRecord("0001", "004", 1, "1234567", "ﾔﾏﾀﾞ ﾀﾛｳ", 29_999, "ﾐｽﾞﾎ", "ﾏﾙﾉｳﾁﾁﾕｳｵｳ"),
        TransferRecord("0005", "001", 2, "7654321", "ｶ)ｼ-ｻｲﾄﾞ", 30_000, new_code=1, customer_code1="42"),
        TransferRecord("9900", "018", 1, "12345", "ﾕｳﾁﾖ ﾊﾅｺ", 123_456, "ﾕｳﾁﾖ", "ｾﾞﾛｲﾁﾊﾁ", edi="INV2026-0001"),
    ),
)


def _codes(data: bytes) -> list[str]:
    result = read_transfer_file(data)
    assert result.file is None
    return [p.code for p in result.problems]


def test_specs_tile_120_bytes() -> None:
    for spec in (TRANSFER_HEADER_SPEC, TRANSFER_DATA_SPEC, TRANSFER_TRAILER_SPEC, TRANSFER_END_SPEC):
        position = 1
        for _name, start, length, _kind in spec:
            assert start == position
            position += length
        assert position == 121


def test_golden_file_written() -> None:
    data = write_transfer_file(EXPECTED)
    assert len(data) == 732  # 6 records of 120 bytes + CRLF
    assert data == GOLDEN


def test_golden_file_read() -> None:
    result = read_transfer_file(GOLDEN)
    assert result.problems == () and result.records_read == 6
    assert result.file == EXPECTED
    assert result.file.total == 183_455 and result.file.count == 3
    assert result.file.records[2].edi == "INV2026-0001"
    assert result.file.records[1].customer_code1 == "0000000042"


@pytest.mark.parametrize("separator", [b"\n", b""])
def test_other_separators(separator: bytes) -> None:
    data = write_transfer_file(EXPECTED, separator=separator)
    assert data == b"".join(r + separator for r in G_RECORDS)
    assert read_transfer_file(data).file == EXPECTED


def test_trimmed_records_spaces_in_clearing_house_and_eof() -> None:
    # Kyash's sample style: LF, right-trimmed records, spaces in 手形交換所番号, and a final 0x1A.
    data1 = G_DATA1[:38] + b"    " + G_DATA1[42:]
    data = b"\n".join(r.rstrip(b" ") for r in [G_HEADER, data1, G_DATA2, G_DATA3, G_TRAILER, G_END]) + b"\x1a"
    result = read_transfer_file(data)
    assert result.problems == () and result.file == EXPECTED


def test_wrong_trailer_total_rejected() -> None:
    # zengin.md §10's negative check: total 999,999 instead of 183,455.
    data = GOLDEN.replace(b"000000183455", b"000000999999")
    result = read_transfer_file(data)
    assert [(p.code, p.record_number) for p in result.problems] == [(Reason.ZENGIN_TRAILER_MISMATCH, 5)]
    assert "183455" in result.problems[0].detail


def test_forged_trailer_count() -> None:
    assert _codes(write_transfer_file(EXPECTED, trailer_overrides={"count": 4})) == [
        Reason.ZENGIN_TRAILER_MISMATCH]


def _with(index: int, record: bytes) -> bytes:
    records = list(G_RECORDS)
    records[index] = record
    return b"\r\n".join(records)


def _put(record: bytes, start: int, new: bytes) -> bytes:
    return record[:start - 1] + new + record[start - 1 + len(new):]


@pytest.mark.parametrize(
    ("index", "start", "new", "code"),
    [
        (0, 4, b"1", Reason.ZENGIN_EBCDIC),
        (0, 2, b"11", Reason.ZENGIN_FIELD_INVALID),  # 給与振込, not 21
        (0, 55, b"0230", Reason.ZENGIN_DATE_INVALID),
        (0, 96, b"4", Reason.ZENGIN_FIELD_INVALID),  # a payer has no 貯蓄 account type
        (1, 43, b"3", Reason.ZENGIN_FIELD_INVALID),
        (1, 81, b"0000000000", Reason.ZENGIN_FIELD_INVALID),  # zero amount
        (1, 81, b"00000 9999", Reason.ZENGIN_FIELD_INVALID),
        (1, 91, b"5", Reason.ZENGIN_FIELD_INVALID),
        (1, 113, b"N", Reason.ZENGIN_FIELD_INVALID),
        (1, 92, b"ABC", Reason.ZENGIN_FIELD_INVALID),  # letters in a customer code without Y
        (1, 51, "ﾔﾏﾀﾞ".encode("cp932") + "太".encode("cp932"), Reason.ZENGIN_FIELD_INVALID),
        (1, 1, b"7", Reason.ZENGIN_STRUCTURE),
    ],
)
def test_content_rejected(index: int, start: int, new: bytes, code: str) -> None:
    assert code in _codes(_with(index, _put(G_RECORDS[index], start, new)))


@pytest.mark.parametrize(
    "records",
    [[G_HEADER, G_TRAILER, G_END], [G_HEADER, G_DATA1, G_END], [G_DATA1, G_TRAILER, G_END],
     [G_HEADER, G_DATA1, G_TRAILER], G_RECORDS + [G_END]],
)
def test_structure_rejected(records: list[bytes]) -> None:
    result = read_transfer_file(b"\r\n".join(records))
    assert [p.code for p in result.problems] == [Reason.ZENGIN_STRUCTURE]
    assert result.records_read == len(records)


def test_overlong_record_and_empty_file() -> None:
    assert _codes(_with(1, G_DATA1 + b"X")) == [Reason.ZENGIN_RECORD_LENGTH]
    assert _codes(b"") == [Reason.FILE_EMPTY]


def _payout(**change: object) -> TransferFile:
    fields = {"bank_code": "0001", "branch_code": "004", "account_type": 1, "account_number": "1234567",
              "payee_name": "ﾔﾏﾀﾞ ﾀﾛｳ", "amount": 1}
    fields.update(change)
    return TransferFile(EXPECTED.header, (TransferRecord(**fields),))


@pytest.mark.parametrize(
    "change",
    [{"amount": 0}, {"amount": 10_000_000_000}, {"payee_name": "ﾔﾏﾀﾞ ﾀﾛｰ"}, {"payee_name": "ｱ" * 31},
     {"payee_name": "ｦﾀｸ"}, {"account_type": 3}, {"account_number": "12345678"}, {"bank_code": "1"},
     {"edi": "P1", "customer_code1": "5"}, {"edi": "p0001"}, {"bank_name": "ｸﾚﾃﾞｲ.ｱｸﾞﾘｺﾙ"}, {"new_code": 3},
     {"transfer_kind": 9}],
)
def test_writer_refuses(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        write_transfer_file(_payout(**change))


def test_writer_refuses_empty_file_and_bad_date() -> None:
    with pytest.raises(ValueError):
        write_transfer_file(TransferFile(EXPECTED.header, ()))
    header = TransferHeader("1234567890", "ﾁﾊﾞｼ", "1332", "0134", "001", 1, "123")
    with pytest.raises(ValueError):
        write_transfer_file(TransferFile(header, EXPECTED.records))


def test_maximum_amount_and_leap_day() -> None:
    header = TransferHeader("1", "ﾁﾊﾞｼ", format_mmdd(dt.date(2028, 2, 29)), "0134", "001", 9, "1")
    tf = TransferFile(header, (_payout(amount=9_999_999_999).records[0],) * 3)
    data = write_transfer_file(tf)
    assert data.split(b"\r\n")[4][1:19] == b"000003" b"029999999997"
    assert data[54:58] == b"0229"
    assert read_transfer_file(data).file == tf


_KANA = "".join(chr(c) for c in range(0xFF71, 0xFF9E))


@st.composite
def _files(draw: st.DrawFn) -> TransferFile:
    records = []
    for _ in range(draw(st.integers(1, 5))):
        edi = draw(st.text(alphabet=_KANA + "0123456789ABZ-/.()ｦ", max_size=20).map(str.strip))
        records.append(TransferRecord(
            draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
            draw(st.from_regex(r"[0-9]{3}", fullmatch=True)),
            draw(st.sampled_from([1, 2, 4, 9])), str(draw(st.integers(0, 9_999_999))),
            draw(st.text(alphabet=_KANA + " ().-", max_size=30).map(str.strip)),
            draw(st.integers(1, 9_999_999_999)), new_code=draw(st.sampled_from([0, 1, 2])), edi=edi,
            transfer_kind=draw(st.sampled_from([7, 8])),
        ))
    header = TransferHeader(str(draw(st.integers(0, 9_999_999_999))), draw(st.text(_KANA, max_size=40)),
                            "1231", "0134", "001", draw(st.sampled_from([1, 2, 9])), "1")
    return TransferFile(header, tuple(records))


@settings(max_examples=60, deadline=None)
@given(_files(), st.sampled_from([b"\r\n", b"\n", b""]))
def test_random_files_round_trip(tf: TransferFile, separator: bytes) -> None:
    data = write_transfer_file(tf, separator=separator)
    assert len(data) == (tf.count + 3) * (120 + len(separator))
    result = read_transfer_file(data)
    assert result.problems == () and result.file == tf
