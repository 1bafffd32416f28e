"""The monthly report as a PDF an officer files as is: A4, Japanese, IPAexGothic embedded (a subset), charts as PNG.

It draws reports.monthly_layout's sections (the same tables the workbook holds) and the charts of
reports.monthly_charts; it computes no figure. ReportLab runs with `invariant=1` (no creation time, fixed document
id) and the charts carry no timestamp, so the same figures give the same bytes. Written atomically
(reports.officer_csv.write_atomically). Never prints a resident identifier: the figures hold none. Text set as a
ReportLab Paragraph is XML-escaped (a name from a master holding `<` or `&` is text, not markup).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from reports.monthly_charts import balance_and_expiry_png, daily_use_png, fee_cycles_png
from reports.monthly_figures import MonthlyFigures
from reports.monthly_layout import TITLE, Count, Ratio, Section, Yen, cell_text, column_sum, heading_lines, sections
from reports.officer_csv import write_atomically
from reports.pdf import build_pdf, styles
from reports.typeset import register_pdf_font, yen

CHART_WIDTH_MM = 180


def table(section: Section, style: dict, widths_mm: Sequence[float] | None = None, font_size: float = 8.5):
    """One section as a ReportLab table: numbers right-aligned, a 合計 row when the section totals columns."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    header = [Paragraph(escape(c), style["cell"]) for c in section.columns]
    body = [[cell_text(c) for c in row] for row in section.rows]
    if not body:
        body = [["（該当なし）"] + [""] * (len(section.columns) - 1)]
    if section.total_columns:
        total = ["合計"] + [""] * (len(section.columns) - 1)
        for column in section.total_columns:
            is_yen = any(isinstance(r[column], Yen) for r in section.rows) or not section.rows
            value = column_sum(section, column)
            total[column] = yen(value) if is_yen else f"{value:,}"
        body.append(total)
    numeric = [i for i in range(len(section.columns))
               if any(isinstance(r[i], Yen | Count | Ratio) for r in section.rows)]
    t = Table([header] + body, colWidths=[w * mm for w in widths_mm] if widths_mm else None, repeatRows=1,
              hAlign="LEFT")
    commands = [("FONT", (0, 0), (-1, -1), register_pdf_font(), font_size),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    commands += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in numeric]
    if section.total_columns:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3")))
    t.setStyle(TableStyle(commands))
    return t


def _image(png: bytes):
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    width, height = ImageReader(io.BytesIO(png)).getSize()
    return Image(io.BytesIO(png), width=CHART_WIDTH_MM * mm, height=CHART_WIDTH_MM * mm * height / width)


def story(figures: MonthlyFigures) -> list:
    from reportlab.platypus import KeepTogether, Paragraph, Spacer

    style = styles()
    flow: list = [Paragraph(TITLE, style["title"])]
    flow += [Paragraph(escape(line), style["body"]) for line in heading_lines(figures)]
    by_key = {s.key: s for s in sections(figures)}
    charts = {"uses": [daily_use_png(figures)], "points": [balance_and_expiry_png(figures)],
              "fee_cycles": [png for png in [fee_cycles_png(figures)] if png]}
    for section in by_key.values():
        flow.append(KeepTogether([Paragraph(escape(section.title), style["heading"]), table(section, style),
                                  *[Paragraph(escape(note), style["note"]) for note in section.notes]]))
        for png in charts.get(section.key, []):
            flow += [Spacer(1, 4), _image(png)]
    return flow


def write_monthly_pdf(figures: MonthlyFigures, path: Path) -> Path:
    """Write the municipality's monthly report PDF at `path` (atomically)."""
    title = f"{TITLE} {figures.municipality_name} {figures.month}"
    return write_atomically(path, build_pdf(story(figures), title=title, footer=f"{title}　seisan"))
