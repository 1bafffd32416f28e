"""The prepaid report at a 基準日: the law's numbers hand-computed (below, at and above the threshold), the
refusal of other dates, a hand-built mart read into PDF and CSV, a mart that disagrees with the law refused,
reruns byte-identical.

World at 2026-09-30 (hand-computed):
  242012 津市:    issued 25,000,000, used 12,000,000, expired 2,999,999 → unused 10,000,001 (> 10,000,000)
                 → deposit 5,000,001; expired counted as unused: 13,000,000 → 6,500,000
  011002 札幌市:  issued 10,500,000, used 400,000, expired 100,000 → unused 10,000,000 (not above) → 0;
                 expired counted: 10,100,000 → 5,050,000
  131016 千代田区: no charged points → 0 everywhere
  all as one issuer: issued 35,500,000, used 12,400,000, expired 3,099,999 → unused 20,000,001 → 10,000,001
Deadline: 2026-11-30 (31 March → 31 May).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import duckdb
import pytest
from pdf_checks import assert_only_embedded_ipaexgothic

from reports import prepaid_law
from reports.prepaid_report import PrepaidReportError, prepaid_figures, render_prepaid_pdf, write_prepaid_report

REF = dt.date(2026, 9, 30)


@pytest.mark.parametrize(("unused", "exceeded", "deposit"), [
    (9_800_000, False, 0), (10_000_000, False, 0), (10_000_001, True, 5_000_001), (37_450_000, True, 18_725_000),
    (20_000_002, True, 10_000_001), (0, False, 0)])
def test_deposit_below_at_and_above_the_threshold(unused: int, exceeded: bool, deposit: int) -> None:
    assert prepaid_law.is_threshold_exceeded(unused) is exceeded
    assert prepaid_law.deposit_required_yen(unused) == deposit


def test_deadlines_and_reference_dates() -> None:
    assert prepaid_law.deadline(dt.date(2027, 3, 31)) == dt.date(2027, 5, 31)
    assert prepaid_law.deadline(dt.date(2026, 9, 30)) == dt.date(2026, 11, 30)
    for wrong in (dt.date(2026, 12, 31), dt.date(2026, 3, 30), dt.date(2026, 9, 29)):
        with pytest.raises(prepaid_law.NotAReferenceDate, match=r"is not a 基準日: .* 31 March or 30 September"):
            prepaid_law.check_reference_date(wrong)
    with pytest.raises(TypeError):
        prepaid_law.deposit_required_yen(1.5)


def _world(*, built_through: dt.date = dt.date(2026, 10, 5), wrong_deposit: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("create schema marts")
    con.execute("create table marts.dim_municipalities (municipality_code varchar, name varchar, valid_from date, "
                "valid_to date)")
    con.executemany("insert into marts.dim_municipalities values (?, ?, '2020-01-01', null)",
                    [("242012", "津市"), ("011002", "札幌市"), ("131016", "千代田区")])
    con.execute("create table marts.fct_balances (business_date date, municipality_code varchar)")
    con.execute("insert into marts.fct_balances values (?, '242012')", [built_through])
    con.execute("create table marts.fct_prepaid_unused_balances (municipality_code varchar, reference_date date, "
                "issued_total_yen bigint, used_total_yen bigint, expired_total_yen bigint, "
                "unused_balance_yen bigint, is_threshold_exceeded boolean, deposit_required_yen bigint, "
                "deposit_deadline_date date, report_deadline_date date)")
    deadline = dt.date(2026, 11, 30)
    con.executemany("insert into marts.fct_prepaid_unused_balances values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("242012", REF, 25_000_000, 12_000_000, 2_999_999, 10_000_001, True, 5_000_000 if wrong_deposit else 5_000_001,
         deadline, deadline),
        ("011002", REF, 10_500_000, 400_000, 100_000, 10_000_000, False, 0, deadline, deadline),
        ("242012", dt.date(2026, 3, 31), 1_000, 0, 0, 1_000, False, 0, dt.date(2026, 5, 31), dt.date(2026, 5, 31)),
    ])
    return con


def test_figures_equal_the_hand_computed_ones() -> None:
    figures = {f.municipality_code: f for f in prepaid_figures(_world(), REF)}
    tsu, sapporo, chiyoda = figures["242012"], figures["011002"], figures["131016"]
    assert (tsu.unused_balance_yen, tsu.threshold_exceeded, tsu.deposit_required_yen) == (10_000_001, True, 5_000_001)
    assert (tsu.unused_if_expired_counted_yen, tsu.deposit_if_expired_counted_yen) == (13_000_000, 6_500_000)
    assert (sapporo.unused_balance_yen, sapporo.deposit_required_yen) == (10_000_000, 0)
    assert (sapporo.unused_if_expired_counted_yen, sapporo.deposit_if_expired_counted_yen) == (10_100_000, 5_050_000)
    assert (chiyoda.issued_total_yen, chiyoda.unused_balance_yen, chiyoda.deposit_required_yen) == (0, 0, 0)
    assert {f.deadline for f in figures.values()} == {dt.date(2026, 11, 30)}
    assert [f.municipality_code for f in prepaid_figures(_world(), REF, "011002")] == ["011002"]


def test_refusals_are_one_sentence_each() -> None:
    with pytest.raises(PrepaidReportError, match="disagree for 242012 .* deposit 5000000"):
        prepaid_figures(_world(wrong_deposit=True), REF)
    with pytest.raises(PrepaidReportError, match=r"built through 2026-09-29, before the 基準日 2026-09-30: run"):
        prepaid_figures(_world(built_through=dt.date(2026, 9, 29)), REF)
    with pytest.raises(PrepaidReportError, match="municipality 999999 is not in force"):
        prepaid_figures(_world(), REF, "999999")
    with pytest.raises(prepaid_law.NotAReferenceDate):
        prepaid_figures(_world(), dt.date(2026, 10, 31))


def test_pdf_and_csv_carry_the_figures_the_reading_and_embedded_fonts(tmp_path) -> None:
    from pypdf import PdfReader

    pdf_path, csv_path = write_prepaid_report(_world(), tmp_path, REF)
    assert pdf_path == tmp_path / "prepaid" / "2026-09-30" / "prepaid-2026-09-30.pdf"
    reader = PdfReader(pdf_path)
    assert len(reader.pages) == 4  # three municipalities and the total
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in ("10,000,001円", "5,000,001円", "10,000,000円", "13,000,000円", "20,000,001円",
                     "令和8年11月30日 (2026-11-30)", "令和8年9月30日 (2026-09-30)", "本報告の前提",
                     "津市", "札幌市", "千代田区"):
        assert expected in text.replace("\n", ""), expected
    assert_only_embedded_ipaexgothic(pdf_path.read_bytes())
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert [(r["municipality_code"], r["unused_balance_yen"], r["threshold_exceeded"], r["deposit_required_yen"])
            for r in rows] == [("011002", "10000000", "no", "0"), ("131016", "0", "no", "0"),
                               ("242012", "10000001", "yes", "5000001"), ("ALL", "20000001", "yes", "10000001")]
    first = (pdf_path.read_bytes(), csv_path.read_bytes())
    write_prepaid_report(_world(), tmp_path, REF)
    assert (pdf_path.read_bytes(), csv_path.read_bytes()) == first


def test_one_municipality_has_its_own_files_and_no_total(tmp_path) -> None:
    pdf_path, csv_path = write_prepaid_report(_world(), tmp_path, REF, "242012")
    assert (pdf_path.name, csv_path.name) == ("prepaid-2026-09-30-242012.pdf", "prepaid-2026-09-30-242012.csv")
    assert csv_path.read_text(encoding="utf-8").count("\n") == 2
    assert render_prepaid_pdf(prepaid_figures(_world(), REF, "242012")) == pdf_path.read_bytes()
