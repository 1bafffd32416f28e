"""What every printed report shares: the Japanese font, and how dates and yen are written.

The font is IPAexGothic (IPA font licence), taken from the `japanize-matplotlib` wheel so that no system package
is needed (shared/STACK.md: a PDF without a Japanese font still extracts the right text while drawing empty
boxes, so tests check the embedded fonts, not only the text). ReportLab embeds a subset of it in every PDF;
matplotlib charts use the same file, so charts and text look alike.

Dates: a municipality files reports in the Japanese era with the Western year beside it (令和8年11月30日
(2026-11-30)); amounts are integer yen with thousands separators and 円.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from contracts.era import REIWA_FIRST_DAY, reiwa_year_of

FONT_NAME = "IPAexGothic"


def font_path() -> Path:
    """The IPAexGothic TrueType file shipped in the japanize-matplotlib wheel."""
    import japanize_matplotlib

    path = Path(japanize_matplotlib.__file__).parent / "fonts" / "ipaexg.ttf"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall the environment (uv sync --all-extras)")
    return path


@functools.cache
def register_pdf_font() -> str:
    """Register IPAexGothic with ReportLab once (embedded as a subset in every PDF); returns its font name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(font_path())))
    return FONT_NAME


@functools.cache
def chart_font() -> str:
    """Register IPAexGothic with matplotlib once; returns the family name to pass as font.family."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font_path()))
    return font_manager.FontProperties(fname=str(font_path())).get_name()


def yen(amount: int) -> str:
    """12,345円 (integer yen only; a float is a bug upstream)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amounts are integer yen, got {amount!r}")
    return f"{amount:,}円"


def era_date(day: dt.date) -> str:
    """令和8年11月30日 (2026-11-30); 令和元年 for 2019; the Western date alone before Reiwa."""
    if day < REIWA_FIRST_DAY:
        return day.isoformat()
    year = reiwa_year_of(day)
    return f"令和{'元' if year == 1 else year}年{day.month}月{day.day}日 ({day.isoformat()})"


def era_month(year: int, month: int) -> str:
    """令和8年11月 (2026-11)."""
    first = dt.date(year, month, 1)
    if first < REIWA_FIRST_DAY:
        return f"{year}-{month:02d}"
    reiwa = reiwa_year_of(first)
    return f"令和{'元' if reiwa == 1 else reiwa}年{month}月 ({year}-{month:02d})"
