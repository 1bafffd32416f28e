"""The printed-document plumbing shared by the PDF reports of reports/: page, styles, tables, byte-stable bytes.

Every PDF is built with ReportLab's `invariant=1` (no creation date, no random document id), so the same figures
always give the same bytes and a rerun can be compared byte for byte. The font comes from reports.typeset
(IPAexGothic, embedded as a TrueType subset); this module never registers a font of its own.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reports.typeset import register_pdf_font

PAGE_MARGIN_MM = 16


def styles() -> dict[str, object]:
    """Paragraph styles in IPAexGothic: title, heading, body, small (CJK line breaking: Japanese has no spaces)."""
    from reportlab.lib.styles import ParagraphStyle

    font = register_pdf_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=4, wordWrap="CJK"),
        "heading": ParagraphStyle("heading", fontName=font, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3,
                                  wordWrap="CJK"),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK"),
        "small": ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10.5, wordWrap="CJK",
                                spaceAfter=2),
        "note": ParagraphStyle("note", fontName=font, fontSize=7.5, leading=10, textColor="#444444",
                               wordWrap="CJK"),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK"),
    }


def table(rows: Sequence[Sequence[str]], col_widths_mm: Sequence[float], *, header: bool = True,
          right_columns: Sequence[int] = (), bold_last: bool = False) -> object:
    """A ruled table of text cells (amounts already formatted), numbers right-aligned in `right_columns`."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    font = register_pdf_font()
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.92, 0.95)))
    for column in right_columns:
        commands.append(("ALIGN", (column, 1 if header else 0), (column, -1), "RIGHT"))
    if bold_last:
        commands += [("BACKGROUND", (0, -1), (-1, -1), colors.Color(0.95, 0.95, 0.88)),
                     ("FONTSIZE", (0, -1), (-1, -1), 10)]
    result = Table([list(r) for r in rows], colWidths=[w * mm for w in col_widths_mm], repeatRows=1 if header else 0)
    result.setStyle(TableStyle(commands))
    return result


def build_pdf(flowables: Sequence[object], *, title: str, footer: str, landscape: bool = False,
              margin_mm: float = PAGE_MARGIN_MM) -> bytes:
    """The PDF bytes of `flowables` on A4 (portrait, or `landscape`), `footer` and the page number at the bottom of
    each page."""
    from reportlab.lib import pagesizes
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    font = register_pdf_font()
    page = pagesizes.landscape(pagesizes.A4) if landscape else pagesizes.A4

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.drawString(margin_mm * mm, 9 * mm, footer)
        canvas.drawRightString(page[0] - margin_mm * mm, 9 * mm, f"{doc.page} ページ")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=page, title=title, author="seisan", creator="seisan", producer="seisan",
                            subject=title, leftMargin=margin_mm * mm, rightMargin=margin_mm * mm,
                            topMargin=margin_mm * mm, bottomMargin=18 * mm, invariant=1,
                            initialFontName=font, initialFontSize=9)  # else Helvetica is listed, unembedded
    doc.build(list(flowables), onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
