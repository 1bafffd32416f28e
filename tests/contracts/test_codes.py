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
