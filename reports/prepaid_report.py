"""The prepaid report at a 基準日 (31 March, 30 September): the unused balance of charged points, the deposit
required and the deadline, per municipality, as a PDF (one page per municipality) and an officer CSV.

Figures come from `marts.fct_prepaid_unused_balances` (issued = charged points, used = consumed − restored by
cancels, expired, unused = issued − used − expired) for every municipality in force on the 基準日
(`marts.dim_municipalities`; one without charged points has zeros). The legal rule (threshold, half, deadline) is
reports.prepaid_law's; every mart row is checked against it and a disagreement is refused, never printed. The
report states on every page which reading of the open questions (shared/domain/prepaid-law.md §6) it uses, and
also shows the figures of the other reading of expired points. It shows no resident-level data.
This module must never import seisan or payments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from reports import prepaid_law
from reports.officer_csv import write_atomically, write_officer_csv
from reports.typeset import era_date, yen

PREPAID_FOLDER = "prepaid"
ALL_MUNICIPALITIES = "ALL"

READING = (
    "本報告の前提 (shared/domain/prepaid-law.md §6 の未解決事項の読み方)",
    "(1) 発行者は自治体ごとに1者とみなし、基準額 (1,000万円) の超過は自治体ごとに判定します。自治体自身が法律上の"
    "発行者であれば資金決済法第4条の適用除外 (地方公共団体が発行するもの) に当たり、本報告は参考資料です。"
    "1つの運営事業者が複数の自治体の分を発行している場合は、その事業者の全自治体の合計で判定してください "
    "(複数の自治体を出力したときの最後のページ、CSV の municipality_code ALL の行)。",
    "(2) 対象は対価を得て発行したチャージポイント (財源 prepaid のポイント) だけで、無償で付与したポイントや"
    "提携ポイントからの交換分は含みません。チャージ時の上乗せ (プレミアム) 分は、その付与プログラムの財源が "
    "prepaid の場合に限り含みます。",
    "(3) 失効したポイントはもう使えないため未使用残高に含めません。失効分も未使用残高に含める読み方の額を併記します。",
    "(4) 基準日の23時59分 (日本時間) の残高です。",
    "(5) 発行保証金の供託と報告書の提出の期限は、基準日から2か月後の月末 (5月31日、11月30日) とし、休日による"
    "期限の延長は考えていません。",
)


class PrepaidReportError(ValueError):
    """The report cannot be made (marts not built through the 基準日) or the mart disagrees with the law module."""


@dataclass(frozen=True, slots=True)
class PrepaidFigures:
    """One issuer's (here: municipality's) figures at a 基準日, integer yen.

    issued_total_yen: charged points issued up to the cut-off; used_total_yen: used up to it, net of cancels;
    expired_total_yen: expired up to it; unused_balance_yen = issued − used − expired (the reading used);
    threshold_exceeded: unused > 10,000,000; deposit_required_yen: ceil(unused / 2) when exceeded, else 0;
    deadline: the deposit and the report are due by it; unused_if_expired_counted_yen and
    deposit_if_expired_counted_yen: the same under the other reading (expired points still count as unused).
    """

    municipality_code: str
    municipality_name: str
    reference_date: dt.date
    issued_total_yen: int
    used_total_yen: int
    expired_total_yen: int
    unused_balance_yen: int
    threshold_exceeded: bool
    deposit_required_yen: int
    deadline: dt.date
    unused_if_expired_counted_yen: int
    deposit_if_expired_counted_yen: int


_FIGURES_SQL = """
with munis as (
    select municipality_code, any_value(name) as name from marts.dim_municipalities
    where valid_from <= $d and (valid_to is null or valid_to >= $d) group by municipality_code
),
balances as (select * from marts.fct_prepaid_unused_balances where reference_date = $d),
keys as (select municipality_code from munis union select municipality_code from balances)
select keys.municipality_code, coalesce(munis.name, ''),
       coalesce(issued_total_yen, 0), coalesce(used_total_yen, 0), coalesce(expired_total_yen, 0),
       coalesce(unused_balance_yen, 0), coalesce(deposit_required_yen, 0), deposit_deadline_date, report_deadline_date
from keys left join munis using (municipality_code) left join balances using (municipality_code)
where $m is null or keys.municipality_code = $m
order by keys.municipality_code
"""


def figures_from(code: str, name: str, reference_date: dt.date, issued: int, used: int, expired: int) -> PrepaidFigures:
    """The figures of one issuer from its three totals, by reports.prepaid_law."""
    unused, unused_other = issued - used - expired, issued - used
    return PrepaidFigures(code, name, reference_date, issued, used, expired, unused,
                          prepaid_law.is_threshold_exceeded(unused), prepaid_law.deposit_required_yen(unused),
                          prepaid_law.deadline(reference_date), unused_other,
                          prepaid_law.deposit_required_yen(unused_other))


def _marts_built_through(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    try:
        return con.execute("select max(business_date) from marts.fct_balances").fetchone()[0]
    except duckdb.CatalogException:
        return None


def prepaid_figures(con: duckdb.DuckDBPyConnection, reference_date: dt.date,
                    municipality: str | None = None) -> list[PrepaidFigures]:
    """Every municipality's figures at the 基準日 (or one municipality's), checked against the law module."""
    prepaid_law.check_reference_date(reference_date)
    built = _marts_built_through(con)
    if built is None or built < reference_date:
        raise PrepaidReportError(f"the marts are built through {built or 'no date'}, before the 基準日 "
                                 f"{reference_date}: run `seisan marts --date D` for a business date D on or after "
                                 f"{reference_date} first")
    try:
        rows = con.execute(_FIGURES_SQL, {"d": reference_date, "m": municipality}).fetchall()
    except duckdb.CatalogException as exc:
        raise PrepaidReportError(f"the warehouse lacks a mart the prepaid report reads ({str(exc).splitlines()[0]}): "
                                 f"run `seisan marts --date D` for a date on or after {reference_date} first") from None
    if not rows:
        raise PrepaidReportError(f"municipality {municipality} is not in force on {reference_date} in "
                                 f"marts.dim_municipalities; check the code")
    out = []
    for code, name, issued, used, expired, mart_unused, mart_deposit, deposit_by, report_by in rows:
        fig = figures_from(code, name, reference_date, int(issued), int(used), int(expired))
        _check_mart_row(fig, int(mart_unused), int(mart_deposit), deposit_by, report_by)
        out.append(fig)
    return out


def _check_mart_row(fig: PrepaidFigures, mart_unused: int, mart_deposit: int, deposit_by: dt.date | None,
                    report_by: dt.date | None) -> None:
    deadlines = {d for d in (deposit_by, report_by) if d is not None}
    if (mart_unused, mart_deposit) != (fig.unused_balance_yen, fig.deposit_required_yen) or deadlines - {fig.deadline}:
        raise PrepaidReportError(
            f"marts.fct_prepaid_unused_balances and reports.prepaid_law disagree for {fig.municipality_code} at "
            f"{fig.reference_date} (mart: unused {mart_unused}, deposit {mart_deposit}, deadlines "
            f"{sorted(deadlines)}; law: unused {fig.unused_balance_yen}, deposit {fig.deposit_required_yen}, "
            f"deadline {fig.deadline}): fix the one that is wrong before filing anything")


def total_of(figures: list[PrepaidFigures]) -> PrepaidFigures:
    """All municipalities as one issuer (the reading where one operator issues for all of them)."""
    first = figures[0]
    return figures_from(ALL_MUNICIPALITIES, "全自治体の合計 (1事業者が全自治体分を発行する場合)", first.reference_date,
                        sum(f.issued_total_yen for f in figures), sum(f.used_total_yen for f in figures),
                        sum(f.expired_total_yen for f in figures))


# ---- output ----------------------------------------------------------------------------------------------

CSV_COLUMNS = ("municipality_code", "municipality_name", "reference_date", "issued_total_yen", "used_total_yen",
               "expired_total_yen", "unused_balance_yen", "threshold_yen", "threshold_exceeded",
               "deposit_required_yen", "deadline", "unused_if_expired_counted_yen", "deposit_if_expired_counted_yen")


def _csv_row(f: PrepaidFigures) -> tuple[object, ...]:
    return (f.municipality_code, f.municipality_name, f.reference_date.isoformat(), f.issued_total_yen,
            f.used_total_yen, f.expired_total_yen, f.unused_balance_yen, prepaid_law.THRESHOLD_YEN,
            "yes" if f.threshold_exceeded else "no", f.deposit_required_yen, f.deadline.isoformat(),
            f.unused_if_expired_counted_yen, f.deposit_if_expired_counted_yen)


def _figure_rows(f: PrepaidFigures) -> list[tuple[str, str]]:
    return [
        ("発行額 (チャージポイントの発行累計)", yen(f.issued_total_yen)),
        ("回収額 (利用累計、取消による戻しを除く)", yen(f.used_total_yen)),
        ("失効額 (失効累計)", yen(f.expired_total_yen)),
        ("基準日未使用残高 (発行額 − 回収額 − 失効額)", yen(f.unused_balance_yen)),
        ("基準額", yen(prepaid_law.THRESHOLD_YEN)),
        ("基準額を超えるか", "超える" if f.threshold_exceeded else "超えない"),
        ("発行保証金の要供託額 (未使用残高の2分の1、円未満切上げ)", yen(f.deposit_required_yen)),
        ("供託・報告書提出の期限", era_date(f.deadline)),
        ("参考: 失効分も未使用残高に含める場合の残高", yen(f.unused_if_expired_counted_yen)),
        ("参考: 同じく要供託額", yen(f.deposit_if_expired_counted_yen)),
    ]


def _page(f: PrepaidFigures, st: dict[str, object]) -> list[object]:
    from reportlab.platypus import Paragraph, Spacer

    from reports.pdf import table

    issuer = f"{f.municipality_name} (団体コード {f.municipality_code})" if f.municipality_code != ALL_MUNICIPALITIES \
        else f.municipality_name
    return [
        Paragraph("前払式支払手段 基準日未使用残高と発行保証金", st["title"]),
        Paragraph(f"発行者 (本報告の読み方による): {issuer}", st["body"]),
        Paragraph(f"基準日: {era_date(f.reference_date)} 23時59分 (日本時間)", st["body"]),
        Spacer(1, 8),
        table([("項目", "金額・内容"), *_figure_rows(f)], (118, 60), right_columns=(1,)),
        Spacer(1, 10),
        *(Paragraph(line, st["small"]) for line in READING),
        Spacer(1, 6),
        Paragraph("出典: 資金決済法 第3条・第14条、関東財務局「前払式支払手段の発行者」、日本資金決済業協会 "
                  "(shared/domain/prepaid-law.md §4)。法律相談ではありません。", st["small"]),
    ]


def render_prepaid_pdf(figures: list[PrepaidFigures]) -> bytes:
    """One page per municipality, then the total of all when there are several (same figures, same bytes)."""
    from reportlab.platypus import PageBreak

    from reports.pdf import build_pdf, styles

    st = styles()
    pages = [*figures, total_of(figures)] if len(figures) > 1 else list(figures)
    flow: list[object] = []
    for index, f in enumerate(pages):
        if index:
            flow.append(PageBreak())
        flow += _page(f, st)
    reference_date = figures[0].reference_date
    return build_pdf(flow, title=f"前払式支払手段 基準日未使用残高 {reference_date}",
                     footer=f"前払式支払手段 基準日 {reference_date.isoformat()}  seisan")


def prepaid_paths(out_dir: Path, reference_date: dt.date, municipality: str | None) -> tuple[Path, Path]:
    """(pdf, csv) under `<out>/prepaid/<date>/`: prepaid-<date>[-<municipality>].pdf/.csv."""
    stem = f"prepaid-{reference_date.isoformat()}" + (f"-{municipality}" if municipality else "")
    folder = out_dir / PREPAID_FOLDER / reference_date.isoformat()
    return folder / f"{stem}.pdf", folder / f"{stem}.csv"


def write_prepaid_report(con: duckdb.DuckDBPyConnection, out_dir: Path, reference_date: dt.date,
                         municipality: str | None = None) -> list[Path]:
    """Write the PDF and the CSV of the 基準日 (all municipalities, or one); returns their paths."""
    figures = prepaid_figures(con, reference_date, municipality)
    pdf_path, csv_path = prepaid_paths(out_dir, reference_date, municipality)
    rows = [_csv_row(f) for f in figures]
    if len(figures) > 1:
        rows.append(_csv_row(total_of(figures)))
    return [write_atomically(pdf_path, render_prepaid_pdf(figures)),
            write_officer_csv(csv_path, CSV_COLUMNS, rows)]
