"""Zengin character set: the §6.2 conversion table, per-field classes, byte lengths, 法人略語."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.kana import (
    FieldClass,
    byte_length,
    corporate_abbreviation,
    fit_field,
    is_valid_zengin_text,
    to_zengin_kana,
    with_corporate_form,
    zengin_char_problems,
)


@pytest.mark.parametrize(
    ("text", "expected", "size"),
    [
        ("キャッシュレス・ポイント", "ｷﾔﾂｼﾕﾚｽ.ﾎﾟｲﾝﾄ", 13),
        ("シーサイド", "ｼ-ｻｲﾄﾞ", 6),
        ("ヴィクトリー", "ｳﾞｲｸﾄﾘ-", 7),
        ("ヲタク", "ｦﾀｸ", 3),
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ", 8),
        ("やまだ　はなこ", "ﾔﾏﾀﾞ ﾊﾅｺ", 8),
        ("ｷｬｯｼｭ", "ｷﾔﾂｼﾕ", 5),
        ("ａｂｃ－１２３", "ABC-123", 7),
        ("ヵヶヮヰヱ", "ｶｹﾜｲｴ", 5),
    ],
)
def test_conversion_table(text: str, expected: str, size: int) -> None:
    assert to_zengin_kana(text) == expected
    assert byte_length(expected) == size


def test_middle_dot_can_be_a_space() -> None:
    assert to_zengin_kana("キャッシュレス・ポイント", middle_dot=" ") == "ｷﾔﾂｼﾕﾚｽ ﾎﾟｲﾝﾄ"


def test_yen_sign_becomes_backslash_and_encodes() -> None:
    assert to_zengin_kana("￥") == "\\"
    assert "\\".encode("cp932") == b"\x5c"
    assert is_valid_zengin_text("ﾃｽﾄ\\100", FieldClass.EDI)


def test_wo_only_in_edi() -> None:
    assert not is_valid_zengin_text("ｦﾀｸ", FieldClass.PARTY_NAME)
    assert not is_valid_zengin_text("ｦﾀｸ", FieldClass.BANK_NAME)
    assert is_valid_zengin_text("ｦﾀｸ", FieldClass.EDI)


@pytest.mark.parametrize(
    "char", list("ｧｨｩｪｫｬｭｮｯｰ") + ["a", ",", "・", "'", "+", ":", "?", "*", "&", "漢", "ア"])
def test_never_allowed(char: str) -> None:
    for field_class in FieldClass:
        problems = zengin_char_problems(f"ﾃｽﾄ{char}", field_class)
        assert len(problems) == 1 and "position 4" in problems[0]


@pytest.mark.parametrize(
    ("text", "bank", "party", "edi"),
    [
        ("ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ", True, True, True),
        ("ｶ)ﾔﾏﾀﾞ", False, True, True),
        ("ﾔﾏﾀﾞ.ﾀﾛｳ", False, True, True),
        ("INV2026/0001", False, False, True),
        ("｢ｹｲﾔｸ｣", False, False, True),
        ("A B 0 9", True, True, True),
    ],
)
def test_field_classes(text: str, bank: bool, party: bool, edi: bool) -> None:
    assert is_valid_zengin_text(text, FieldClass.BANK_NAME) is bank
    assert is_valid_zengin_text(text, FieldClass.PARTY_NAME) is party
    assert is_valid_zengin_text(text, FieldClass.EDI) is edi


def test_dangling_voicing_mark() -> None:
    assert zengin_char_problems("ﾞｱ", FieldClass.PARTY_NAME)
    assert zengin_char_problems("ｱ ﾟ", FieldClass.PARTY_NAME)
    assert not zengin_char_problems("ﾊﾟﾝ", FieldClass.PARTY_NAME)


def test_byte_length_counts_marks_separately() -> None:
    assert byte_length("ﾔﾏﾀﾞ ﾀﾛｳ") == 8
    assert byte_length("ｶﾞ") == 2
    with pytest.raises(ValueError):
        byte_length("\u00a5")  # ¥ is not in cp932: map it to a backslash first


def test_fit_field_pads_and_never_truncates() -> None:
    assert fit_field("ﾔﾏﾀﾞ", 6) == "ﾔﾏﾀﾞ  "
    assert fit_field("ABCDEF", 6) == "ABCDEF"
    with pytest.raises(ValueError):
        fit_field("ﾔﾏﾀﾞ", 3)  # would cut ﾀ from its ﾞ
    with pytest.raises(ValueError):
        fit_field("ｱ" * 31, 30)


@pytest.mark.parametrize(
    ("form", "abbreviation"),
    [("株式会社", "ｶ"), ("有限会社", "ﾕ"), ("合同会社", "ﾄﾞ"), ("社団法人", "ｼﾔ"), ("宗教法人", "ｼﾕｳ"),
     ("特定非営利活動法人", "ﾄｸﾋ"), ("出張所", "ｼﾕﾂ"), ("学校法人", "ｶﾞｸ")],
)
def test_corporate_abbreviations(form: str, abbreviation: str) -> None:
    assert corporate_abbreviation(form) == abbreviation


def test_corporate_positions() -> None:
    assert with_corporate_form("ヤマダ", "株式会社", "start") == "ｶ)ﾔﾏﾀﾞ"
    assert with_corporate_form("ﾔﾏﾀﾞ", "株式会社", "end") == "ﾔﾏﾀﾞ(ｶ"
    assert with_corporate_form("ﾔﾏﾀﾞ", "株式会社", "middle", rest_kana="ﾁﾊﾞｼﾃﾝ") == "ﾔﾏﾀﾞ(ｶ)ﾁﾊﾞｼﾃﾝ"
    assert with_corporate_form("シーサイド", "合同会社", "start") == "ﾄﾞ)ｼ-ｻｲﾄﾞ"


def test_corporate_errors() -> None:
    with pytest.raises(ValueError):
        corporate_abbreviation("株式会杜")
    with pytest.raises(ValueError):
        with_corporate_form("ﾔﾏﾀﾞ", "株式会社", "middle")
    with pytest.raises(ValueError):
        with_corporate_form("山田", "株式会社", "start")  # kanji are never converted


_ALLOWED_PARTY = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ()-." + "".join(chr(c) for c in range(0xFF71, 0xFF9E))
_FULL_KATAKANA = [chr(c) for c in range(ord("ァ"), ord("ン") + 1) if chr(c) not in "ヲヮヰヱ"]


@given(st.text(alphabet=_ALLOWED_PARTY, max_size=40))
def test_allowed_text_is_valid_and_single_byte(text: str) -> None:
    assert is_valid_zengin_text(text, FieldClass.PARTY_NAME)
    assert byte_length(text) == len(text)
    assert text.encode("cp932") == text.encode("shift_jis")
    assert text.encode("cp932").decode("cp932") == text


@given(st.text(alphabet=_FULL_KATAKANA + list("ー　・"), max_size=30))
def test_converted_katakana_is_valid_party_name(text: str) -> None:
    converted = to_zengin_kana(text)
    assert is_valid_zengin_text(converted, FieldClass.PARTY_NAME), converted
    assert byte_length(converted) == len(converted)
    assert to_zengin_kana(converted) == converted  # idempotent
