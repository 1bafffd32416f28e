"""The monthly report as an Excel workbook (.xlsx) with the same numbers as the PDF, as cells, not pictures.

One sheet per section of reports.monthly_layout (the tables the PDF draws), plus the numbers behind the charts.
Yen are numbers formatted `#,##0"円"` (a spreadsheet can add them up); a figure not known is the text "—"; a total
row is a =SUM() formula over the cells above it, never a typed-in number. Byte-stable: the workbook's created and
modified times are the first day after the month (00:00 UTC), and every zip member gets that same timestamp, so
the same figures give the same bytes. Written atomically (reports.officer_csv.write_atomically). Text cells from
the masters (programme names, categories) are made inert like the officer CSVs (a leading `=` is not run).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from reports.monthly_figures import MonthlyFigures
from reports.monthly_layout import TITLE, Count, Ratio, Section, Yen, heading_lines, sections
from reports.officer_csv import neutralise_text, write_atomically

YEN_FORMAT = '#,##0"円";-#,##0"円"'
COUNT_FORMAT = "#,##0"
SHEET_NAMES = {"summary": "主な数値",
               "points": "残高", "grants": "付与", "uses": "利用", "settlement": "精算・振込", "cost": "運営コスト",
               "cost_compare": "コスト比較", "fee_cycles": "サイクル別手数料", "breaks": "未解決差異",
               "prepaid": "チャージ残高"}
NOT_KNOWN = "—"


def stamp(figures: MonthlyFigures) -> dt.datetime:
    """The fixed time written into the workbook: the first day after the month, 00:00."""
    return dt.datetime.combine(figures.month.shifted(1).first_day, dt.time())


def _put(ws, row: int, column: int, cell) -> None:
    target = ws.cell(row=row, column=column)
    if cell is None:
        target.value = NOT_KNOWN
    elif isinstance(cell, Yen):
        target.value, target.number_format = cell.amount, YEN_FORMAT
    elif isinstance(cell, Count):
        target.value, target.number_format = cell.number, COUNT_FORMAT
    elif isinstance(cell, Ratio):
        target.value, target.number_format = cell.value, f'#,##0.00"{cell.unit}"'
    else:
        target.value = neutralise_text(str(cell))


def _section_sheet(wb, section: Section) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(SHEET_NAMES.get(section.key, section.key))
    ws.cell(row=1, column=1, value=section.title).font = Font(bold=True, size=12)
    for column, name in enumerate(section.columns, start=1):
        header = ws.cell(row=3, column=column, value=name)
        header.font, header.fill = Font(bold=True), PatternFill("solid", fgColor="E8EEF5")
        ws.column_dimensions[get_column_letter(column)].width = 30 if column == 1 else 18
    first = 4
    for offset, row in enumerate(section.rows):
        for column, cell in enumerate(row, start=1):
            _put(ws, first + offset, column, cell)
    last = first + len(section.rows) - 1
    after = last + 1
    if section.total_columns:
        ws.cell(row=after, column=1, value="合計").font = Font(bold=True)
        for column in section.total_columns:
            letter = get_column_letter(column + 1)
            is_yen = any(isinstance(r[column], Yen) for r in section.rows) or not section.rows
            total = ws.cell(row=after, column=column + 1,
                            value=f"=SUM({letter}{first}:{letter}{last})" if section.rows else 0)
            total.number_format, total.font = (YEN_FORMAT if is_yen else COUNT_FORMAT), Font(bold=True)
        after += 1
    for offset, note in enumerate(section.notes, start=1):
        ws.cell(row=after + offset, column=1, value=note)


def _chart_data_sheet(wb, figures: MonthlyFigures) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet("グラフデータ")
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 18
    row = 1
    blocks = (("日別の利用額（取消控除後）", ("日付", "利用額"),
               [(d.isoformat(), y) for d, y in figures.daily_use], True),
              ("月末残高", ("月", "残高"), [(str(m), y) for m, y in figures.balance_by_month], False),
              ("有効期限の到来見込み（月末残高の内訳）", ("期限の月", "金額"),
               [(str(m), y) for m, y in figures.expiry_outlook]
               + [("それ以降", figures.expiry_later_yen), ("期限なし", figures.never_expiring_yen)], True))
    for title, columns, rows, with_total in blocks:
        ws.cell(row=row, column=1, value=title).font = Font(bold=True)
        for column, name in enumerate(columns, start=1):
            ws.cell(row=row + 1, column=column, value=name).font = Font(bold=True)
        first = row + 2
        for offset, (label, amount) in enumerate(rows):
            ws.cell(row=first + offset, column=1, value=label)
            ws.cell(row=first + offset, column=2, value=amount).number_format = YEN_FORMAT
        row = first + len(rows)
        if with_total and rows:
            ws.cell(row=row, column=1, value="合計").font = Font(bold=True)
            total = ws.cell(row=row, column=2, value=f"=SUM(B{first}:B{row - 1})")
            total.number_format = YEN_FORMAT
            row += 1
        row += 1


def workbook_bytes(figures: MonthlyFigures) -> bytes:
    """The workbook, byte-stable for the same figures."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    cover = wb.active
    cover.title = "表紙"
    cover.column_dimensions["A"].width = 90
    cover.cell(row=1, column=1, value=TITLE).font = Font(bold=True, size=14)
    for offset, line in enumerate(heading_lines(figures), start=2):
        cover.cell(row=offset, column=1, value=line)
    for section in sections(figures):
        _section_sheet(wb, section)
    _chart_data_sheet(wb, figures)
    when = stamp(figures)
    wb.properties.created = wb.properties.modified = when
    wb.properties.creator = wb.properties.lastModifiedBy = "seisan"
    wb.properties.title = f"{TITLE} {figures.municipality_name} {figures.month}"
    raw = io.BytesIO()
    # openpyxl's save() stamps `modified` with the clock; its writer, used directly, keeps ours
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return _fixed_zip_times(raw.getvalue(), when)


def _fixed_zip_times(data: bytes, when: dt.datetime) -> bytes:
    """The same zip with every member's timestamp set to `when` (zipfile stamps members with the clock)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type, fixed.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def write_monthly_xlsx(figures: MonthlyFigures, path: Path) -> Path:
    """Write the municipality's monthly workbook at `path` (atomically)."""
    return write_atomically(path, workbook_bytes(figures))
