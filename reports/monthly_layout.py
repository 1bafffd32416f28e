"""The monthly report as a list of titled tables, the one layout both renderers draw (PDF and Excel).

`sections(figures)` turns a `MonthlyFigures` into `Section`s whose cells are typed values: `Yen` (integer yen,
written 12,345円), `Count` (a number of things), `Ratio` (a Decimal such as yen per use), text, or None for a
figure that is not known (written "—" with the section's note saying why, never 0). A section may name the
columns to total: the PDF writes the sum of those cells, the workbook a =SUM() formula over them, and the layout
asserts that the sum equals the figure the figures object holds, so the total row cannot drift from the figures.
The renderers add nothing but typography. Text from the masters (programme names, categories) has any My Number
masked (contracts.codes.mask_my_numbers): a report goes to a municipality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from contracts.codes import mask_my_numbers
from reports.monthly_figures import (
    FEE_BEARER_LABELS,
    SOURCE_LABELS,
    CostOfMonth,
    MonthlyFigures,
    per_unit,
)
from reports.officer_csv import show_controls
from reports.typeset import era_date, era_month, yen

NOT_KNOWN = "—"
TITLE = "月次利用・費用報告"


@dataclass(frozen=True, slots=True)
class Yen:
    amount: int


@dataclass(frozen=True, slots=True)
class Count:
    number: int


@dataclass(frozen=True, slots=True)
class Ratio:
    """A rate such as yen per use (2 decimals); unit is written after it."""

    value: Decimal
    unit: str


Cell = Yen | Count | Ratio | str | None


@dataclass(frozen=True, slots=True)
class Section:
    """One titled table. total_columns: indexes of the columns whose cells a 合計 row sums; totals: the
    figures' own totals for those columns (checked against the cells)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total_columns: tuple[int, ...] = ()
    totals: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for column, expected in zip(self.total_columns, self.totals, strict=True):
            assert column_sum(self, column) == expected, f"{self.key}: column {column} does not add up"


def column_sum(section: Section, column: int) -> int:
    total = 0
    for row in section.rows:
        cell = row[column]
        total += cell.amount if isinstance(cell, Yen) else cell.number if isinstance(cell, Count) else 0
    return total


def cell_text(cell: Cell) -> str:
    """How a cell reads in the PDF (and in tests)."""
    if cell is None:
        return NOT_KNOWN
    if isinstance(cell, Yen):
        return yen(cell.amount)
    if isinstance(cell, Count):
        return f"{cell.number:,}"
    if isinstance(cell, Ratio):
        return f"{cell.value:,.2f}{cell.unit}"
    return show_controls(cell)


def heading_lines(figures: MonthlyFigures) -> tuple[str, ...]:
    """The lines under the title: who, which month, the data's date."""
    month = figures.month
    lines = [f"{figures.prefecture} {figures.municipality_name}（自治体コード {figures.municipality_code}）",
             f"対象月: {era_month(month.year, month.month)}　期間: {era_date(month.first_day)} 〜 "
             f"{era_date(month.last_day)}"]
    if figures.data_through < month.last_day:
        lines.append(f"データは {era_date(figures.data_through)} まで（月の途中）: 月末の数値はこの日現在です。")
    else:
        lines.append(f"データ基準日: {era_date(figures.data_through)}")
    return tuple(lines)


def _summary(f: MonthlyFigures) -> Section:
    """The few numbers an officer looks for first; each is repeated from its own section below."""
    rows = (("当月の利用額（取消控除後）", Yen(f.used_yen)), ("月末残高（未使用ポイント）", Yen(f.closing_balance_yen)),
            ("加盟店への振込額", Yen(f.transferred_yen)),
            ("当月の運営コスト", None if f.operating_cost_yen is None else Yen(f.operating_cost_yen)),
            ("運営コスト 利用1件あたり", _ratio(f.cost_per_use, "円/件")),
            ("運営コスト 利用1万円あたり", _ratio(f.cost_per_10000_yen_used, "円")),
            ("月末時点で未解決の照合差異", Count(f.open_break_count)), ("その金額", Yen(f.open_break_yen)))
    return Section("summary", "主な数値", ("項目", "金額・件数"), rows)


def _points(f: MonthlyFigures) -> Section:
    rows = [("月初残高", Yen(f.opening_balance_yen)), ("＋ 付与", Yen(f.granted_yen)), ("− 利用", Yen(f.used_yen)),
            ("− 失効", Yen(f.expired_yen)), ("− 調整（減算）", Yen(f.adjusted_out_yen))]
    if f.other_movement_yen:
        rows.append(("＋ その他の増減", Yen(f.other_movement_yen)))
    rows.append(("月末残高（未使用ポイント）", Yen(f.closing_balance_yen)))
    return Section("points", "ポイントの増減と月末残高", ("項目", "金額"), tuple(rows), notes=(
        "1ポイント＝1円。月末残高＝月初残高＋付与−利用−失効−調整（減算）。",))


def _grants(f: MonthlyFigures) -> Section:
    rows = tuple((g.program_code, mask_my_numbers(g.program_name), SOURCE_LABELS.get(g.source, g.source),
                  Count(g.lot_count), Yen(g.amount_yen)) for g in f.grants)
    return Section("grants", "ポイント付与（事業・財源別）", ("事業コード", "事業名", "財源", "件数", "付与額"), rows,
                   (3, 4), (sum(g.lot_count for g in f.grants), f.granted_yen))


def _uses(f: MonthlyFigures) -> Section:
    rows = tuple((mask_my_numbers(u.category), "オンライン" if u.channel == "online" else "端末", Yen(u.amount_yen))
                 for u in f.uses_by_category)
    return Section("uses", "ポイント利用（加盟店業種別、取消控除後）", ("業種", "利用方法", "利用額"), rows, (2,),
                   (f.used_yen,), notes=(f"端末利用 {yen(f.used_terminal_yen)}、オンライン利用 "
                                         f"{yen(f.used_online_yen)}、利用件数 {f.use_count:,}件。",))


def _settlement(f: MonthlyFigures) -> Section:
    rows = (("当月に締めた精算額（支払対象）", Yen(f.items_payable_yen)),
            ("当月に締めた精算額（保留）", Yen(f.items_held_in_month_yen)),
            ("振込先加盟店数", Count(f.merchants_paid)), ("振込件数", Count(f.transfer_count)),
            ("振込対象額（手数料込み）", Yen(f.paid_gross_yen)), ("加盟店への振込額", Yen(f.transferred_yen)),
            (f"振込手数料（{FEE_BEARER_LABELS['payer']}）", Yen(f.fee_payer_yen)),
            (f"振込手数料（{FEE_BEARER_LABELS['payee']}・振込額から控除）", Yen(f.fee_payee_yen)),
            ("組戻し・返却件数", Count(f.returned_count)), ("組戻し・返却額", Yen(f.returned_yen)),
            ("月末の保留額（加盟店未指定等）", Yen(f.held_month_end_yen)),
            ("月末の繰越額（最低振込額未満等）", Yen(f.carried_month_end_yen)),
            ("月末の未確定額（照合ゲート停止中）", Yen(f.unfrozen_month_end_yen)))
    return Section("settlement", "加盟店への精算と振込", ("項目", "金額・件数"), rows, notes=(
        "振込は振込指定日が当月のもの（計画済み・実行済み、組戻しを除く）。",))


def _comparison_row(label: str, c: CostOfMonth) -> tuple[Cell, ...]:
    return (f"{label}（{c.month}）", None if c.operating_cost_yen is None else Yen(c.operating_cost_yen),
            None if c.use_count is None else Count(c.use_count),
            _ratio(per_unit(c.operating_cost_yen, c.use_count), "円/件"),
            _ratio(per_unit(c.operating_cost_yen, c.used_yen, 10_000), "円"))


def _ratio(value: Decimal | None, unit: str) -> Cell:
    return None if value is None else Ratio(value, unit)


def _costs(f: MonthlyFigures) -> tuple[Section, Section]:
    rows = tuple((c.label, c.unit, c.rate_text, None if c.quantity is None else Count(c.quantity),
                  None if c.cost_yen is None else Yen(c.cost_yen)) for c in f.cost_lines)
    notes = [f"単価は費用単価マスタ（{era_date(f.rates_date)} 版）。各行を円未満四捨五入し、合計は各行の和。"
             if f.rates_date else "費用単価マスタがないため、運営コストは算出できません（—）。"]
    unknown = [c.label for c in f.cost_lines if c.cost_yen is None]
    if unknown:
        notes.append(f"数量を把握できない項目（{'、'.join(unknown)}）は合計に含めていません。")
    lines = Section("cost", "当月の運営コスト", ("項目", "単位", "単価（円）", "数量", "費用"), rows,
                    (4,) if f.operating_cost_yen is not None else (),
                    (f.operating_cost_yen,) if f.operating_cost_yen is not None else (), tuple(notes))
    current = CostOfMonth(f.month, f.operating_cost_yen, f.use_count, f.used_yen)
    compare = Section("cost_compare", "運営コストの比較", ("月", "運営コスト", "利用件数", "1件あたり",
                                                           "利用1万円あたり"),
                      (_comparison_row("当月", current), _comparison_row("前月", f.previous_month),
                       _comparison_row("前年同月", f.same_month_last_year)),
                      notes=("—: その月のデータまたは費用単価がなく不明（0円ではありません）。",))
    return lines, compare


def _breaks(f: MonthlyFigures) -> Section:
    rows = tuple((b.break_code, Count(b.count), Yen(b.amount_yen)) for b in f.open_breaks)
    return Section("breaks", "月末時点で未解決の照合差異", ("差異コード", "件数", "リスク金額"), rows, (1, 2),
                   (f.open_break_count, f.open_break_yen),
                   notes=("月末までに検出され、月末時点で解決していない差異（到着待ちを含む）。",))


def _prepaid(f: MonthlyFigures) -> Section:
    base = f.prepaid_base_date
    rows: list[tuple[Cell, ...]] = [("当月のチャージ額", Yen(f.charged_yen)),
                                    ("月末の未使用残高（チャージポイント）", Yen(f.prepaid_unused_month_end_yen))]
    notes = ["前払式支払手段（資金決済法）。失効したポイントは未使用残高に含めない読み方（prepaid-law.md）。"]
    if base is None:
        rows += [("直近の基準日", None), ("基準日の未使用残高", None), ("要供託額", None), ("供託期限", None)]
        notes.append("—: 月末までに基準日（3月31日・9月30日）がまだありません。")
    else:
        rows += [("直近の基準日", era_date(base.reference_date)), ("基準日の未使用残高", Yen(base.unused_balance_yen)),
                 ("要供託額（1,000万円超の場合、その2分の1）", Yen(base.deposit_required_yen)),
                 ("供託期限", era_date(base.deposit_deadline_date) if base.is_threshold_exceeded else "不要")]
    return Section("prepaid", "チャージポイントの未使用残高と供託", ("項目", "金額・日付"), tuple(rows),
                   notes=tuple(notes))


def _fee_cycles(f: MonthlyFigures) -> Section | None:
    if not f.fee_cycles:
        return None
    rows = tuple((c.label + ("（現在）" if c.is_current else ""), Yen(c.min_payout_yen),
                  None if c.transfers_per_year is None else Count(c.transfers_per_year),
                  None if c.fees_per_year_yen is None else Yen(c.fees_per_year_yen)) for c in f.fee_cycles)
    return Section("fee_cycles", "精算サイクル別の振込手数料（年換算の試算）", ("サイクル", "最低振込額",
                                                                    "振込件数/年", "手数料/年"), rows,
                   notes=("これまでの精算履歴を各サイクルで再計算し年換算。—: そのサイクルの締めがまだなく不明。",))


def sections(figures: MonthlyFigures) -> tuple[Section, ...]:
    """The report's tables in reading order."""
    cost, compare = _costs(figures)
    found = [_summary(figures), _points(figures), _grants(figures), _uses(figures), _settlement(figures), cost, compare,
             _fee_cycles(figures), _breaks(figures), _prepaid(figures)]
    return tuple(s for s in found if s is not None)
