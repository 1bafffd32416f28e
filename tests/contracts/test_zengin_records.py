"""contracts/zengin_records.py: the fixed-width field layer shared by the two Zengin codecs.

Expectations are hand-written bytes and values, plus one reference model (the digit normalisation the
statement codec used before the layer existed) and a guard that the writer and reader halves stay apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import CodeType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import zengin_records as zr
from contracts.kana import FieldClass
from contracts.reasons import Reason

REF = dt.date(2026, 11, 26)


# --------------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------------

def test_zero_filled() -> None:
    assert zr.zero_filled("42", 7) == "0000042"
    assert zr.zero_filled("1234567", 7) == "1234567"
    assert zr.zero_filled("12345678", 7) == "12345678"  # too long: left for the writer to reject
    assert zr.zero_filled("１２", 7) == "１２"  # full-width digits are not ASCII
    assert zr.zero_filled("", 7) == ""


def test_zero_to_empty() -> None:
    assert zr.zero_to_empty("42", 10) == "0000000042"
    assert zr.zero_to_empty("0", 10) == ""
    assert zr.zero_to_empty("0000000000", 10) == ""
    assert zr.zero_to_empty("00000000000", 10) == "00000000000"


@given(st.text(alphabet="0123456789１a ", max_size=12), st.integers(1, 10))
def test_zero_to_empty_matches_the_former_statement_rule(value: str, width: int) -> None:
    # The statement codec's rule before the shared layer: zero-fill, then "" when it is all zeros.
    code = zr.zero_filled(value, width)
    assert zr.zero_to_empty(value, width) == ("" if code == "0" * width else code)


def test_trim_text_fields() -> None:
    @dataclasses.dataclass(frozen=True)
    class Names:
        a: str
        b: str

        def __post_init__(self) -> None:
            zr.trim_text_fields(self, ("a",))

    assert Names("ﾐｽﾞﾎ  ", " x ") == Names("ﾐｽﾞﾎ", " x ")


# --------------------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------------------

def test_n_field() -> None:
    assert zr.n_field(42, 6, "count") == b"000042"
    assert zr.n_field("0134", 4, "bank", exact=True) == b"0134"
    assert zr.n_field(0, 1, "flag") == b"0"
    for bad in (-1, True, "12a", "１", 1_000_000):
        with pytest.raises(ValueError, match="count"):
            zr.n_field(bad, 6, "count")
    with pytest.raises(ValueError, match="exactly 4"):
        zr.n_field("134", 4, "bank", exact=True)


def test_c_field() -> None:
    assert zr.c_field("ﾐｽﾞﾎ", 8, FieldClass.BANK_NAME, "bank_name") == b"\xd0\xbd\xde\xce    "
    assert zr.c_field("", 3, FieldClass.EDI, "edi") == b"   "
    with pytest.raises(ValueError, match="bank_name"):
        zr.c_field("ｶ)ｲ", 8, FieldClass.BANK_NAME, "bank_name")  # `)` is for party names only
    with pytest.raises(ValueError, match="name"):
        zr.c_field("ABCDEF", 5, FieldClass.PARTY_NAME, "name")  # never truncated


def test_fixed_record() -> None:
    assert zr.fixed_record(5, [b"1", b"23", b"  "]) == b"123  "
    with pytest.raises(AssertionError):
        zr.fixed_record(5, [b"1", b"23"])


# --------------------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------------------

RECORDS = [b"1ABCD", b"2EF", b"9    "]  # the middle one right-trimmed


@pytest.mark.parametrize("separator", [b"\r\n", b"\n", b"\r"])
def test_split_with_separators(separator: bytes) -> None:
    data = separator.join(RECORDS) + separator + separator + b"\x1a"
    assert zr.split_records(data, 5) == [zr.RawRecord(1, 1, b"1ABCD", 5), zr.RawRecord(2, 2, b"2EF  ", 3),
                                      zr.RawRecord(3, 3, b"9    ", 5)]


def test_split_without_separators() -> None:
    data = b"1ABCD2EF  9" + b"\x1a"  # the last record right-trimmed
    assert zr.split_records(data, 5) == [zr.RawRecord(1, 1, b"1ABCD", 5), zr.RawRecord(2, 2, b"2EF  ", 5),
                                      zr.RawRecord(3, 3, b"9    ", 1)]


def test_split_keeps_over_long_records_whole() -> None:
    assert zr.split_records(b"1ABCDEF\n9\n", 5) == [zr.RawRecord(1, 1, b"1ABCDEF", 7), zr.RawRecord(2, 2, b"9    ", 1)]
    assert zr.split_records(b"", 5) == []
    assert zr.split_records(b"\r\n \r\n\x1a", 5) == []


def test_looks_ebcdic() -> None:
    jis = zr.RawRecord(1, 1, b"1210", 4)
    assert not zr.looks_ebcdic(b"1210", jis)
    assert zr.looks_ebcdic(b"\xf1\xf2", zr.RawRecord(1, 1, b"\xf1\xf2  ", 2))
    assert zr.looks_ebcdic(b"1211", zr.RawRecord(1, 1, b"1211", 4))  # コード区分 1


def test_read_field_by_kind() -> None:
    assert zr.read_field(b"0042", "N", None) == ("0042", None, "")
    assert zr.read_field(b"    ", "Z", None) == (None, None, "")
    assert zr.read_field(b"0000", "Z", None) == ("0000", None, "")
    assert zr.read_field(b"081125", "D", REF) == (dt.date(2026, 11, 25), None, "")
    assert zr.read_field(b"000000", "E", REF) == (None, None, "")
    assert zr.read_field("ﾐｽﾞﾎ  ".encode("cp932"), "C", None) == ("ﾐｽﾞﾎ", None, "")
    assert zr.read_field(b"\x81\x40", "F", None) == (None, None, "")
    assert zr.read_field(b"12 4", "N", None) == (None, "'12 4' is not digits", Reason.ZENGIN_FIELD_INVALID)
    assert zr.read_field(b"\x82\xa0", "C", None)[1:] == ("not single-byte JIS X 0201 text",
                                                      Reason.ZENGIN_FIELD_INVALID)
    assert zr.read_field(b"081332", "D", REF)[2] == Reason.ZENGIN_DATE_INVALID


@dataclasses.dataclass(frozen=True, slots=True)
class _Problem(zr.RecordProblem):
    """A codec's own problem type."""


def test_parse_fields_from_a_table() -> None:
    spec = (("kind", 1, 1, "N"), ("code", 2, 4, "N"), ("name", 6, 5, "C"), ("spare", 11, 2, "Z"),
            ("filler", 13, 2, "F"))
    good = zr.RawRecord(3, 7, b"20134" + "ﾐｽﾞﾎ ".encode("cp932") + b"07" + b"\x00\x00", 14)
    assert zr.parse_fields(good, spec, _Problem) == (
        {"kind": "2", "code": "0134", "name": "ﾐｽﾞﾎ", "spare": "07", "filler": None}, [])
    bad = zr.RawRecord(3, 7, b"2X134" + "ｧ".encode("cp932") + b"\x82\xa0  " + b"  " + b"\x00\x00", 14)
    values, problems = zr.parse_fields(bad, spec, _Problem)
    assert values == {"kind": "2", "code": None, "name": None, "spare": None, "filler": None}
    assert problems == [
        _Problem(Reason.ZENGIN_FIELD_INVALID, 3, 7, "code (byte 2): 'X134' is not digits"),
        _Problem(Reason.ZENGIN_FIELD_INVALID, 3, 7, "name (byte 6): not single-byte JIS X 0201 text"),
    ]
    assert all(type(problem) is _Problem for problem in problems)


# --------------------------------------------------------------------------------------------------------
# zengin.md §10: the reader half never calls the writer half, and the other way round.
# --------------------------------------------------------------------------------------------------------

WRITER = {"n_field", "c_field", "fixed_record", "fit_field", "zengin_char_problems"}
READER = {"split_records", "looks_ebcdic", "read_field", "parse_fields", "parse_era_date", "RawRecord",
          "_is_jis_x0201_byte", "_SEPARATOR_RE", "_EBCDIC_ONE", "_EOF"}


def _code_names(code: CodeType) -> set[str]:
    """Global and attribute names a code object uses, including its nested generators and lambdas."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def _names(function: object) -> set[str]:
    return _code_names(function.__code__)  # type: ignore[attr-defined]


def test_reader_and_writer_halves_share_nothing() -> None:
    for name in ("split_records", "looks_ebcdic", "read_field", "parse_fields"):
        assert not _names(getattr(zr, name)) & WRITER, name
    assert not _names(zr.RecordProblem.at.__func__) & WRITER
    assert "_is_jis_x0201_byte" in _names(zr.read_field)  # the walk sees inside generator expressions
    for name in ("n_field", "c_field", "fixed_record"):
        assert not _names(getattr(zr, name)) & READER, name
