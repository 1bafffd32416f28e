"""The monthly PDF, workbook and national summary carry the hand-computed figures of monthly_world.py: text
extracted from the PDFs, cells and =SUM formulas read back from the workbook, the CSV read back; fonts embedded
(checked); byte-stable reruns; no MyKey ID or My Number in any output; the command line end to end."""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
import zipfile

import duckdb
import monthly_world as world
import openpyxl
import pytest
from pypdf import PdfReader

from contracts.codes import contains_my_number
from reports.monthly_figures import FeeCycleCost, Month, monthly_figures
from reports.monthly_layout import Yen, cell_text, sections
from reports.monthly_national import write_national_csv, write_national_pdf
from reports.monthly_pdf import write_monthly_pdf
from reports.monthly_xlsx import SHEET_NAMES, write_monthly_xlsx
from seisan.cli import main

NOV = Month(2026, 11)
CYCLES = (FeeCycleCost("日次", 1000, 12_000, 20, False), FeeCycleCost("週次（日曜締め）", 1000, 3_300, 6, True),
          FeeCycleCost("月次（月末締め）", 1000, None, None, False))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monthly-out")
    world.build(folder / "warehouse.duckdb")
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        a = monthly_figures(con, world.A, NOV, CYCLES)
        b = monthly_figures(con, world.B, NOV)
    paths = {"pdf": write_monthly_pdf(a, folder / "a.pdf"), "xlsx": write_monthly_xlsx(a, folder / "a.xlsx"),
             "csv": write_national_csv([a, b], folder / "national.csv"),
             "national_pdf": write_national_pdf([a, b], NOV, folder / "national.pdf")}
    return a, b, paths


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_pdf_text_holds_every_figure_in_yen(outputs) -> None:
    a, _, paths = outputs
    text = pdf_text(paths["pdf"])
    for expected in ("令和8年11月 (2026-11)", "4,000円", "13,500円", "6,200円", "10,600円", "2,200円", "12,800円",
                     "6,650円", "1,600円", "256円", "128.00円/件", "412.90円", "1,500円", "6,000,000円",
                     "令和8年11月30日 (2026-11-30)", "3,300円", "週次（日曜締め）（現在）"):
        assert expected in text, expected
    for section in sections(a):
        for row in section.rows:
            for cell in row:
                assert cell_text(cell).replace(world.MY_NUMBER, "*" * 12) in text
    # the totals rows: grants 3 lots / 13,500; uses 6,200; cost 256; breaks 3 / 1,500
    assert re.search(r"合計\n3\n13,500円", text) and re.search(r"合計\n256円", text)
    assert re.search(r"合計\n3\n1,500円", text)
    assert text.count("—") >= 5  # last year's costs, the uncounted storage line, monthly cycle fees: not 0


def test_every_font_is_embedded_ipaexgothic(outputs) -> None:
    _, _, paths = outputs
    for key in ("pdf", "national_pdf"):
        reader = PdfReader(paths[key])
        seen = 0
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
                for described in descendants:
                    assert str(described["/BaseFont"]).endswith("+IPAexGothic"), described["/BaseFont"]
                    assert "/FontFile2" in described["/FontDescriptor"].get_object()
                    seen += 1
        assert seen >= 1
    images = PdfReader(paths["pdf"]).pages[0]["/Resources"].get("/XObject")
    assert images, "the charts are embedded as images"


def _sum_formula(ws, cell) -> int:
    match = re.fullmatch(r"=SUM\(([A-Z])(\d+):([A-Z])(\d+)\)", cell.value)
    assert match and match[1] == match[3] == cell.column_letter, cell.value
    values = [ws[f"{match[1]}{row}"].value for row in range(int(match[2]), int(match[4]) + 1)]
    return sum(v for v in values if isinstance(v, int))  # as Excel's SUM: text ("—", not known) is skipped


def test_workbook_holds_the_same_numbers_with_sum_formulas(outputs) -> None:
    a, _, paths = outputs
    wb = openpyxl.load_workbook(paths["xlsx"])
    for section in sections(a):
        ws = wb[SHEET_NAMES[section.key]]
        for offset, row in enumerate(section.rows):
            for column, cell in enumerate(row, start=1):
                value = ws.cell(row=4 + offset, column=column).value
                if isinstance(cell, Yen):
                    assert value == cell.amount and isinstance(value, int)
    totals = {}
    for key, column in (("grants", "E"), ("uses", "C"), ("cost", "E"), ("breaks", "C"), ("breaks", "B")):
        ws = wb[SHEET_NAMES[key]]
        total_row = next(r for r in range(1, ws.max_row + 1) if ws[f"A{r}"].value == "合計")
        totals[key, column] = _sum_formula(ws, ws[f"{column}{total_row}"])
    assert totals == {("grants", "E"): 13500, ("uses", "C"): 6200, ("cost", "E"): 256, ("breaks", "C"): 1500,
                      ("breaks", "B"): 3}
    charts = wb["グラフデータ"]
    assert _sum_formula(charts, charts["B6"]) == 6200  # daily use: 2,500 + 4,000 − 300
    assert wb[SHEET_NAMES["cost_compare"]]["B6"].value == "—"  # last year: not known, not 0
    assert {wb.properties.created.isoformat(), wb.properties.modified.isoformat()} == {"2026-12-01T00:00:00"}


def test_reruns_are_byte_identical(outputs, tmp_path) -> None:
    a, b, paths = outputs
    again = {"pdf": write_monthly_pdf(a, tmp_path / "a.pdf"), "xlsx": write_monthly_xlsx(a, tmp_path / "a.xlsx"),
             "national_pdf": write_national_pdf([a, b], NOV, tmp_path / "n.pdf")}
    for key, path in again.items():
        assert path.read_bytes() == paths[key].read_bytes(), key
    with zipfile.ZipFile(paths["xlsx"]) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 12, 1, 0, 0, 0)}


def test_no_mykey_id_or_my_number_in_any_output(outputs) -> None:
    _, _, paths = outputs
    texts = [pdf_text(paths["pdf"]), pdf_text(paths["national_pdf"]), paths["csv"].read_text("utf-8")]
    with zipfile.ZipFile(paths["xlsx"]) as archive:
        texts += [archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".xml")]
    for text in texts:
        assert not any(key in text for key in world.MYKEY_IDS)
        assert world.MY_NUMBER not in text and not contains_my_number(text)
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert "テスト市交換ポイント************" in [c.value for c in wb[SHEET_NAMES["grants"]]["B"]]


def test_national_summary_csv_and_pdf(outputs) -> None:
    a, b, paths = outputs
    rows = list(csv.DictReader(paths["csv"].open(encoding="utf-8")))
    assert [r["municipality_code"] for r in rows] == [world.A, world.B]
    assert {k: rows[0][k] for k in ("granted_yen", "used_yen", "closing_balance_yen", "fee_payer_yen",
                                    "carried_yen", "operating_cost_yen", "open_break_yen")} == {
        "granted_yen": "13500", "used_yen": "6200", "closing_balance_yen": "10600", "fee_payer_yen": "220",
        "carried_yen": "1600", "operating_cost_yen": "256", "open_break_yen": "1500"}
    assert (rows[1]["granted_yen"], rows[1]["closing_balance_yen"], rows[1]["open_break_count"]) == ("1000", "1000",
                                                                                                     "1")
    text = pdf_text(paths["national_pdf"])
    for expected in ("テスト市（011002）", "見本町<&>（022004）", "14,500円", "11,600円", "1,550円", "令和8年11月"):
        assert expected in text, expected


def test_command_line_writes_every_report_and_says_clear_errors(outputs, seisan_home, capsys) -> None:
    _, _, paths = outputs
    seisan_home.mkdir()
    shutil.copy(paths["pdf"].parent / "warehouse.duckdb", seisan_home / "warehouse.duckdb")
    assert main(["report", "monthly", "--month", "2026-11"]) == 0
    folder = seisan_home / "out" / "monthly" / "2026-11"
    assert sorted(p.name for p in folder.iterdir()) == [
        "monthly-011002-2026-11.pdf", "monthly-011002-2026-11.xlsx", "monthly-022004-2026-11.pdf",
        "monthly-022004-2026-11.xlsx", "national-2026-11.csv", "national-2026-11.pdf"]
    out = capsys.readouterr().out
    assert "011002 テスト市" in out and "wrote 6 files" in out
    assert main(["report", "monthly", "--month", "2026-11", "--municipality", "999999"]) == 1
    assert "unknown municipality 999999" in capsys.readouterr().err
    assert main(["report", "monthly", "--month", "2025-11"]) == 1
    assert "no data for 2025-11" in capsys.readouterr().err


def test_a_municipality_with_no_fee_history_has_no_cycle_table(outputs, tmp_path) -> None:
    _, b, _ = outputs
    text = pdf_text(write_monthly_pdf(dataclasses.replace(b, fee_cycles=()), tmp_path / "b.pdf"))
    assert "精算サイクル別" not in text and "見本町<&>（自治体コード 022004）" in text  # escaped, not markup


def test_a_programme_name_like_a_formula_stays_text_in_the_workbook(outputs, tmp_path) -> None:
    _, b, _ = outputs
    wb = openpyxl.load_workbook(write_monthly_xlsx(b, tmp_path / "b.xlsx"))
    names = [c.value for c in wb[SHEET_NAMES["grants"]]["B"]]
    assert "'" + world.FORMULA_NAME in names and world.FORMULA_NAME not in names
