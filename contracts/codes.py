"""Check digits and detectors for the codes that cross seisan's edge.

- 全国地方公共団体コード (municipality code): 6 digits, mod-11 check digit (domain/codes.md §1.2).
- 個人番号 (My Number): 12 digits, check digit per 総務省令第85号第5条 (codes.md §2.1). seisan never wants one:
  the detector exists so that a My Number that leaks into a file is caught, masked and quarantined. The one
  rule for a value (FORMATS.md) is `looks_like_my_number`: after NFKC and trimming, 12 digits or 4-4-4 grouped
  by hyphens (any dash, hyphen or minus character) or spaces. Masking is by field (`mask_value`); over free
  text (details, raw lines) `mask_my_numbers` is a safety net and `mask_long_digit_runs` masks echoes.
- 法人番号 (corporate number): 13 digits, leading check digit (codes.md §3). Valid and never flagged.

Written by hand: the rules are a few lines of integer arithmetic, and the only PyPI package with the My Number
rule (jpmynumber) is unmaintained; an independent implementation was checked against it (codes.md §2.1).
This module must never log, print or return a detected My Number in clear.
"""

from __future__ import annotations

import re
import unicodedata

MUNICIPALITY_CODE_RE = re.compile(r"^[0-9]{6}$")
_MY_NUMBER_CANDIDATE_RE = re.compile(r"(?<![0-9])([0-9]{4})([- ]?)([0-9]{4})\2([0-9]{4})(?![0-9])")
_MY_NUMBER_EXACT_RE = re.compile(r"([0-9]{4})([- ]?)([0-9]{4})\2([0-9]{4})", re.ASCII)
MY_NUMBER_MASK = "************"
# Hyphen-like characters outside Unicode's dash punctuation (Pd): minus signs, the soft hyphen, the hyphen
# bullet, and the katakana prolonged sound mark (ー; its half-width form folds to it under NFKC).
_HYPHEN_LIKE = frozenset("\u00ad\u02d7\u2043\u2052\u207b\u208b\u2212\u2796\u30fc\ufe63\uff0d\uff70")


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


def _is_hyphen(char: str) -> bool:
    """Any dash, hyphen or minus character (FORMATS.md: each counts as a hyphen): Unicode's dash punctuation
    (Pd, which includes the full-width hyphen-minus and the wave dash) and the minus and hyphen signs outside
    it; the katakana prolonged sound mark too, which Japanese keyboards type for a hyphen in numbers."""
    return char in _HYPHEN_LIKE or unicodedata.category(char) == "Pd"


def _is_space(char: str) -> bool:
    """A space separator (Zs: the ASCII space, the ideographic space, no-break spaces, ...)."""
    return char == " " or unicodedata.category(char) == "Zs"


def _shadow(text: str) -> str:
    """`text` with the same length, each character replaced by what the My Number rule sees in it after NFKC:
    its ASCII digit, `-` for a hyphen, ` ` for a space, `x` for anything else. Positions map one to one, so a
    match in the shadow masks exactly those characters of the original."""
    if text.isascii():
        return text
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char) if not char.isascii() else char
        if len(folded) == 1 and "0" <= folded <= "9":
            out.append(folded)
        elif len(folded) == 1 and (_is_hyphen(folded) or _is_space(folded)):
            out.append("-" if _is_hyphen(folded) else " ")
        elif char.isascii():
            out.append(char)
        else:
            out.append("x")
    return "".join(out)


def normalise_for_my_number(value: str) -> str:
    """The value as the My Number rule judges it: NFKC-normalised, every hyphen-like character as `-`, every
    space as ` `, trimmed. Full-width digits become ASCII digits, the ideographic space a space."""
    folded = value if value.isascii() else unicodedata.normalize("NFKC", value)
    if not folded.isascii():
        folded = "".join("-" if _is_hyphen(c) else " " if _is_space(c) else c for c in folded)
    return folded.strip()


MY_NUMBER_ASCII_CHARS = (12, 14)  # an ASCII value shorter than 12, or trimmed outside 12..14, is never one


def looks_like_my_number(value: str | None) -> bool:
    """FORMATS.md's rule for a text value: after NFKC normalisation and trimming, exactly 12 digits, or 4-4-4
    grouped by hyphens (any dash, hyphen or minus character) or by spaces (the ideographic space included),
    passing the My Number check digit. A 13-digit 法人番号 never matches (length is decided first)."""
    if not value:
        return False
    low, high = MY_NUMBER_ASCII_CHARS
    if value.isascii() and (len(value) < low or not low <= len(value.strip()) <= high):
        return False  # the common case, decided without normalising (NFKC can lengthen only non-ASCII text)
    match = _MY_NUMBER_EXACT_RE.fullmatch(normalise_for_my_number(value))
    if not match:
        return False
    return is_my_number_digits(match.group(1) + match.group(3) + match.group(4))


def mask_value(value: str | None) -> str | None:
    """Masking by field: `value` when it is not a My Number, else the mask (same for every number)."""
    return MY_NUMBER_MASK if looks_like_my_number(value) else value


def contains_my_number(text: str | None) -> bool:
    """True when a My Number-shaped run of digits (not part of a longer number) appears anywhere in `text`,
    judged as FORMATS.md judges a value (NFKC, any hyphen, any space). A safety net for free text only: the
    rule for a field is `looks_like_my_number` on its whole value."""
    if not text:
        return False
    for match in _MY_NUMBER_CANDIDATE_RE.finditer(_shadow(text)):
        if is_my_number_digits(match.group(1) + match.group(3) + match.group(4)):
            return True
    return False


def mask_my_numbers(text: str | None) -> str | None:
    """`text` with every embedded My Number (as `contains_my_number` finds them, full-width digits and any
    hyphen or space included) replaced by asterisks; everything else unchanged. A safety net over free text
    (details, raw lines): fields are masked by `mask_value`, which also catches a number that touches other
    digits in a fixed-width record."""
    if not text:
        return text
    shadow = _shadow(text)
    pieces: list[str] = []
    last = 0
    for match in _MY_NUMBER_CANDIDATE_RE.finditer(shadow):
        if is_my_number_digits(match.group(1) + match.group(3) + match.group(4)):
            pieces.append(text[last : match.start()])
            pieces.append(MY_NUMBER_MASK)
            last = match.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


_LONG_DIGIT_RUN_RE = re.compile(r"[0-9](?:[- ]?[0-9]){11,}")


def mask_long_digit_runs(text: str) -> str:
    """`text` with every run of 12 or more digits (full-width too, single hyphens or spaces between them)
    replaced by asterisks, check digit or not: for echoing a value that could hold a My Number inside a
    longer number, where the exact rule does not apply (an echo in a problem's detail)."""
    shadow = _shadow(text)
    pieces: list[str] = []
    last = 0
    for match in _LONG_DIGIT_RUN_RE.finditer(shadow):
        pieces += [text[last : match.start()], MY_NUMBER_MASK]
        last = match.end()
    return "".join(pieces) + text[last:] if pieces else text


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
