"""The national summary for the programme office: one line per municipality of the month, as CSV and one PDF.

It reads nothing: it lays out the `MonthlyFigures` of every municipality (the same objects the municipal reports
are drawn from), so a municipality's line always equals its own report. The CSV goes through the one officer-CSV
writer (reports.officer_csv: formula injection made inert, atomic); integers are written as plain numbers of yen
(columns end in `_yen`), a figure not known is an empty cell. The PDF is a landscape A4 table with a total row,
drawn like the municipal report (IPAexGothic embedded, `invariant=1`). No resident identifier appears: the
figures hold none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reports.monthly_figures import Month, MonthlyFigures
from reports.monthly_layout import Count, Section, Yen
from reports.officer_csv import write_atomically, write_officer_csv
from reports.typeset import era_month

TITLE = "自治体ポイント 月次利用・費用 全国集計"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the summary: CSV name, Japanese heading, how to read it from the figures, whether yen."""

    name: str
    heading: str
    read: object
    is_yen: bool = True


COLUMNS = (
    Column("granted_yen", "付与", lambda f: f.granted_yen),
    Column("charged_yen", "うちチャージ", lambda f: f.charged_yen),
    Column("used_yen", "利用", lambda f: f.used_yen),
    Column("expired_yen", "失効", lambda f: f.expired_yen),
    Column("closing_balance_yen", "月末残高", lambda f: f.closing_balance_yen),
    Column("prepaid_unused_yen", "チャージ未使用残高", lambda f: f.prepaid_unused_month_end_yen),
    Column("transfer_count", "振込件数", lambda f: f.transfer_count, is_yen=False),
    Column("paid_gross_yen", "振込対象額", lambda f: f.paid_gross_yen),
    Column("fee_payer_yen", "手数料(自治体)", lambda f: f.fee_payer_yen),
    Column("fee_payee_yen", "手数料(加盟店)", lambda f: f.fee_payee_yen),
    Column("carried_yen", "月末繰越", lambda f: f.carried_month_end_yen),
    Column("held_yen", "月末保留", lambda f: f.held_month_end_yen),
    Column("operating_cost_yen", "運営コスト", lambda f: f.operating_cost_yen),
    Column("open_break_count", "未解決差異", lambda f: f.open_break_count, is_yen=False),
    Column("open_break_yen", "差異金額", lambda f: f.open_break_yen),
)
CSV_COLUMNS = ("month", "municipality_code", "municipality_name", "prefecture", "data_through") + tuple(
    c.name for c in COLUMNS)


def csv_rows(all_figures: Sequence[MonthlyFigures]) -> list[tuple]:
    return [(str(f.month), f.municipality_code, f.municipality_name, f.prefecture, f.data_through.isoformat())
            + tuple(c.read(f) for c in COLUMNS) for f in all_figures]


def write_national_csv(all_figures: Sequence[MonthlyFigures], path: Path) -> Path:
    return write_officer_csv(path, CSV_COLUMNS, csv_rows(all_figures))


def summary_section(all_figures: Sequence[MonthlyFigures]) -> Section:
    """The table of the PDF: a municipality per row, a total row over every column (None counts as unknown: a
    column with an unknown value has no total)."""
    rows = tuple((f"{f.municipality_name}（{f.municipality_code}）",)
                 + tuple(_cell(c, c.read(f)) for c in COLUMNS) for f in all_figures)
    summable = tuple(i + 1 for i, c in enumerate(COLUMNS) if all(c.read(f) is not None for f in all_figures))
    return Section("national", TITLE, ("自治体",) + tuple(c.heading for c in COLUMNS), rows, summable,
                   tuple(sum(COLUMNS[i - 1].read(f) for f in all_figures) for i in summable),
                   notes=("金額は円。—: 不明（費用単価マスタがない等）。各自治体の月次報告と同じ数値です。",))


def _cell(column: Column, value: int | None):
    if value is None:
        return None
    return Yen(value) if column.is_yen else Count(value)


def write_national_pdf(all_figures: Sequence[MonthlyFigures], month: Month, path: Path) -> Path:
    from reportlab.platypus import Paragraph

    from reports.monthly_pdf import table
    from reports.pdf import build_pdf, styles

    style = styles()
    section = summary_section(all_figures)
    through = min(f.data_through for f in all_figures)
    flow = [Paragraph(TITLE, style["title"]),
            Paragraph(f"対象月: {era_month(month.year, month.month)}　自治体数: {len(all_figures)}　"
                      f"データ基準日: {through.isoformat()}", style["body"]),
            table(section, style, widths_mm=[30] + [16.4] * len(COLUMNS), font_size=6.4)]
    flow += [Paragraph(escape(note), style["note"]) for note in section.notes]
    title = f"{TITLE} {month}"
    return write_atomically(path, build_pdf(flow, title=title, footer=f"{title}　seisan", landscape=True,
                                            margin_mm=10))
