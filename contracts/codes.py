"""Check digits and detectors for the codes that cross seisan's edge.

- 全国地方公共団体コード (municipality code): 6 digits, mod-11 check digit (domain/codes.md §1.2).
- 個人番号 (My Number): 12 digits, check digit per 総務省令第85号第5条 (codes.md §2.1). seisan never wants one:
  the detector exists so that a My Number that leaks into a file is caught, masked and quarantined.
- 法人番号 (corporate number): 13 digits, leading check digit (codes.md §3). Valid and never flagged.

Written by hand: the rules are a few lines of integer arithmetic, and the only PyPI package with the My Number
rule (jpmynumber) is unmaintained; an independent implementation was checked against it (codes.md §2.1).
This module must never log, print or return a detected My Number in clear: use `mask_my_numbers`.
"""

from __future__ import annotations

import re

MUNICIPALITY_CODE_RE = re.compile(r"^[0-9]{6}$")
_MY_NUMBER_CANDIDATE_RE = re.compile(r"(?<![0-9])([0-9]{4})([- ]?)([0-9]{4})\2([0-9]{4})(?![0-9])")
_MY_NUMBER_EXACT_RE = re.compile(r"^\s*([0-9]{4})([- ]?)([0-9]{4})\2([0-9]{4})\s*$")
MY_NUMBER_MASK = "************"


def municipality_check_digit(first_five: str) -> str:
    """The check digit of a 5-digit JIS X 0402 code: last digit of 11 - (6d1+5d2+4d3+3d4+2d5 mod 11)."""
    if len(first_five) != 5 or not first_five.isascii() or not first_five.isdigit():
        raise ValueError("a municipality code body is exactly 5 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def is_valid_municipality_code(code: str) -> bool:
    """True when `code` is 6 ASCII digits whose last digit is the check digit of the first five."""
    if not isinstance(code, str) or not MUNICIPALITY_CODE_RE.match(code):
        return False
    return municipality_check_digit(code[:5]) == code[5]


def my_number_check_digit(first_eleven: str) -> int:
    """The check digit of an 11-digit My Number body (weights 6,5,4,3,2,7,6,5,4,3,2 left to right)."""
    if len(first_eleven) != 11 or not first_eleven.isascii() or not first_eleven.isdigit():
        raise ValueError("a My Number body is exactly 11 ASCII digits")
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(first_eleven, weights, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_my_number_digits(twelve: str) -> bool:
    """True when `twelve` is 12 ASCII digits with a valid My Number check digit."""
    if len(twelve) != 12 or not twelve.isascii() or not twelve.isdigit():
        return False
    return my_number_check_digit(twelve[:11]) == int(twelve[11])


def looks_like_my_number(value: str | None) -> bool:
    """FORMATS.md's rule for a text value: exactly 12 digits, or 4-4-4 grouped by hyphens or spaces,
    passing the My Number check digit. A 13-digit 法人番号 never matches (length is decided first)."""
    if not value:
        return False
    match = _MY_NUMBER_EXACT_RE.match(value)
    if not match:
        return False
    return is_my_number_digits(match.group(1) + match.group(3) + match.group(4))


def contains_my_number(text: str | None) -> bool:
    """True when a My Number-shaped run of digits (not part of a longer number) appears anywhere in `text`."""
    if not text:
        return False
    for match in _MY_NUMBER_CANDIDATE_RE.finditer(text):
        if is_my_number_digits(match.group(1) + match.group(3) + match.group(4)):
            return True
    return False


def mask_my_numbers(text: str | None) -> str | None:
    """`text` with every embedded My Number replaced by asterisks; everything else unchanged."""
    if not text:
        return text

    def _mask(match: re.Match[str]) -> str:
        if is_my_number_digits(match.group(1) + match.group(3) + match.group(4)):
            return MY_NUMBER_MASK
        return match.group(0)

    return _MY_NUMBER_CANDIDATE_RE.sub(_mask, text)


def corporate_number_check_digit(base_twelve: str) -> int:
    """The leading check digit of a 法人番号: 9 - (Σ P_n·Q_n mod 9), Q_n = 1 for odd n, 2 for even n,
    P_n counted from the right over the 12 base digits."""
    if len(base_twelve) != 12 or not base_twelve.isascii() or not base_twelve.isdigit():
        raise ValueError("a corporate number base is exactly 12 ASCII digits")
    total = 0
    for n, digit in enumerate(reversed(base_twelve), start=1):
        total += int(digit) * (1 if n % 2 else 2)
    return 9 - total % 9


def is_valid_corporate_number(value: str) -> bool:
    """True when `value` is a 13-digit 法人番号 with a valid leading check digit."""
    if len(value) != 13 or not value.isascii() or not value.isdigit():
        return False
    return corporate_number_check_digit(value[1:]) == int(value[0])
