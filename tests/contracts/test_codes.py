"""Check digits of codes.md: municipality codes, My Number (detector), 法人番号 (never flagged)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.codes import (
    MY_NUMBER_MASK,
    contains_my_number,
    corporate_number_check_digit,
    is_my_number_digits,
    is_valid_corporate_number,
    is_valid_municipality_code,
    looks_like_my_number,
    mask_my_numbers,
    mask_value,
    municipality_check_digit,
    my_number_check_digit,
)
from contracts.municipalities import MUNICIPALITIES_CSV, load_municipalities  # noqa: E402


@pytest.mark.parametrize(
    ("code", "remainder"),
    # codes.md §1.2 worked examples, with the remainder S mod 11 computed by hand there.
    [("131016", 5), ("141500", 1), ("242012", 9), ("011002", 9), ("012131", 0)],
)
def test_municipality_worked_examples(code: str, remainder: int) -> None:
    assert is_valid_municipality_code(code)
    assert municipality_check_digit(code[:5]) == code[5]
    assert sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True)) % 11 == remainder


@pytest.mark.parametrize("code", ["131017", "141501", "24201", "2420120", "ABCDEF", "", "１３１０１６"])
def test_municipality_rejects(code: str) -> None:
    assert not is_valid_municipality_code(code)


def test_prefecture_and_hamamatsu_codes() -> None:
    assert is_valid_municipality_code("010006")  # 北海道
    for code in ("221384", "221392", "221406", "016951", "016969"):  # codes.md §1.3, hand-checked digits
        assert is_valid_municipality_code(code)


def test_only_one_check_digit_fits() -> None:
    for body in ("13101", "01213", "47000"):
        assert sum(is_valid_municipality_code(body + str(d)) for d in range(10)) == 1


def test_every_vendored_municipality_code_passes() -> None:
    codes = [m.municipality_code for m in load_municipalities(MUNICIPALITIES_CSV)]
    assert len(codes) == 1963  # contracts/data/README.md: 47 prefectures + 1,916 municipality rows
    assert len(set(codes)) == len(codes)
    assert [c for c in codes if not is_valid_municipality_code(c)] == []


def test_my_number_worked_example() -> None:
    assert my_number_check_digit("12345678901") == 8  # codes.md §2.1: sum 212, 212 mod 11 = 3, 11 - 3
    assert is_my_number_digits("123456789018")
    assert not is_my_number_digits("123456789019")
    assert looks_like_my_number("123456789018")
    assert not looks_like_my_number("123456789019")


@pytest.mark.parametrize("text", ["1234-5678-9018", "1234 5678 9018", " 123456789018 "])
def test_my_number_grouped(text: str) -> None:
    assert looks_like_my_number(text)
    assert contains_my_number(f"id {text} end")


@pytest.mark.parametrize("text", ["1234-5678 9018", "12345678-9018", "1234--5678-9018", "1234567890180",
                                  "x123456789018", None, ""])
def test_my_number_shapes_not_matched(text: str | None) -> None:
    assert not looks_like_my_number(text)


def test_corporate_number_valid_and_never_a_my_number() -> None:
    assert corporate_number_check_digit("000012050002") == 7  # codes.md §3: sum 11, 11 mod 9 = 2, 9 - 2
    assert is_valid_corporate_number("7000012050002")
    assert not is_valid_corporate_number("6000012050002")
    assert not looks_like_my_number("7000012050002")
    assert not contains_my_number("法人番号 7000012050002")
    assert mask_my_numbers("法人番号 7000012050002") == "法人番号 7000012050002"


def test_masking() -> None:
    text = "note 123456789018 and 1234-5678-9018 but not 123456789019"
    masked = mask_my_numbers(text)
    assert masked == f"note {MY_NUMBER_MASK} and {MY_NUMBER_MASK} but not 123456789019"
    assert "9018" not in masked


def _reference_my_number_digit(body: str) -> int:
    # Independent reading of 総務省令第85号第5条: P_n from the right, Q_n = n+1 (n <= 6) else n-5.
    total = sum(int(p) * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(reversed(body), start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


@given(st.from_regex(r"[0-9]{11}", fullmatch=True))
def test_my_number_against_reference(body: str) -> None:
    assert my_number_check_digit(body) == _reference_my_number_digit(body)
    good = _reference_my_number_digit(body)
    assert [is_my_number_digits(body + str(d)) for d in range(10)] == [d == good for d in range(10)]


@given(st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_corporate_number_never_flagged(base: str) -> None:
    number = str(corporate_number_check_digit(base)) + base
    assert is_valid_corporate_number(number)
    assert not looks_like_my_number(number) and not contains_my_number(number)


# --- issue 7 §2: the value judged after NFKC, any dash, any space -------------------------------------------
# Every dash, hyphen or minus character (Unicode Pd, the minus signs, the katakana prolonged sound mark);
# listed by hand, not derived from the module's own table.
DASH_CHARACTERS = "-\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2e17\u2e1a\u2e3a\u2e3b\u2e40" \
    "\u301c\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\u2212\u207b\u208b\u2796\u02d7\u00ad\u30fc\uff70"
SPACE_CHARACTERS = " \u3000\u00a0\u2002\u2003\u2009\u202f\u205f"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _grouped(digits: str, separator: str) -> str:
    return separator.join((digits[:4], digits[4:8], digits[8:]))


@pytest.mark.parametrize("separator", list(DASH_CHARACTERS + SPACE_CHARACTERS))
def test_every_dash_and_space_groups_a_my_number(separator: str) -> None:
    value = _grouped("123456789018", separator)
    assert looks_like_my_number(value) and mask_value(value) == MY_NUMBER_MASK
    assert looks_like_my_number(value.translate(FULL_WIDTH))
    assert contains_my_number(f"x {value} y") and "9018" not in (mask_my_numbers(f"x {value} y") or "")


@pytest.mark.parametrize(
    "value",
    ["１２３４５６７８９０１８", "\u3000123456789018\u3000", "１２３４－５６７８－９０１８", "1234ー5678ー9018",
     "①②③④⑤⑥⑦⑧⑨⓪①⑧"],  # circled digits fold to digits under NFKC
)
def test_nfkc_forms_are_my_numbers(value: str) -> None:
    assert looks_like_my_number(value)
    assert mask_my_numbers(f"[{value}]") == f"[{MY_NUMBER_MASK}]" or value.startswith("\u3000")


@pytest.mark.parametrize(
    "value",
    ["1234-5678 9018", "1234\u30005678-9018", "1234--5678-9018", "1234 - 5678 - 9018", "１２３４５６７８９０１８０",
     "1234.5678.9018", "1234_5678_9018", "ID１２３４５６７８９０１８"],
)
def test_other_shapes_are_not(value: str) -> None:
    assert not looks_like_my_number(value) and mask_value(value) == value


@given(
    body=st.from_regex(r"[0-9]{11}", fullmatch=True),
    full_width=st.booleans(),
    separator=st.one_of(st.none(), st.sampled_from(list(DASH_CHARACTERS + SPACE_CHARACTERS))),
    pad=st.sampled_from(["", " ", "\u3000", "\t"]),
)
def test_property_every_disguise_of_a_valid_number_is_found(body, full_width, separator, pad) -> None:
    good = _reference_my_number_digit(body)
    for digit in range(10):
        digits = body + str(digit)
        value = _grouped(digits, separator) if separator is not None else digits
        value = pad + (value.translate(FULL_WIDTH) if full_width else value) + pad
        assert looks_like_my_number(value) == (digit == good)
        assert (mask_value(value) == MY_NUMBER_MASK) == (digit == good)
        # embedded in free text the safety net finds it too, and masks exactly those characters
        masked = mask_my_numbers(f"名前 {value} 様") or ""
        assert (MY_NUMBER_MASK in masked) == (digit == good)
        assert masked.startswith("名前") and masked.endswith("様")


def test_long_digit_runs_are_masked_for_echoes() -> None:
    from contracts.codes import mask_long_digit_runs

    assert mask_long_digit_runs("12000000") == "12000000"  # an amount over the limit may be shown
    assert mask_long_digit_runs("x１２３４５６７８９０１８99y") == f"x{MY_NUMBER_MASK}y"  # inside a longer number
    assert mask_long_digit_runs("1234-5678-9019") == MY_NUMBER_MASK  # check digit or not
