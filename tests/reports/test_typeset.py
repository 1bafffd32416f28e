"""Dates and yen as a municipality files them, and the font really is there (hand-written expectations)."""

import datetime as dt

import pytest

from reports.typeset import era_date, era_month, font_path, register_pdf_font, yen


def test_yen_thousands_and_integers_only() -> None:
    assert yen(0) == "0円"
    assert yen(1234567) == "1,234,567円"
    assert yen(-5000) == "-5,000円"
    with pytest.raises(TypeError):
        yen(1.0)


def test_era_dates() -> None:
    assert era_date(dt.date(2026, 11, 30)) == "令和8年11月30日 (2026-11-30)"
    assert era_date(dt.date(2019, 5, 1)) == "令和元年5月1日 (2019-05-01)"
    assert era_date(dt.date(2019, 4, 30)) == "2019-04-30"
    assert era_month(2027, 3) == "令和9年3月 (2027-03)"


def test_font_is_a_truetype_file_reportlab_accepts() -> None:
    assert font_path().read_bytes()[:4] == b"\x00\x01\x00\x00"
    assert register_pdf_font() == "IPAexGothic"
