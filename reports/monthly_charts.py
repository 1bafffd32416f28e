"""The charts of the monthly report, drawn from a `MonthlyFigures` (never from the warehouse) as PNG bytes.

Daily use, month-end balance with the expiry outlook by month, and the yearly transfer fees per settlement cycle.
matplotlib with the Agg backend and IPAexGothic (reports.typeset.chart_font), so Japanese labels are drawn, not
boxes. The PNGs carry no creation time or software tag (metadata cleared) and a fixed size and dpi, so the same
figures give the same bytes, and the PDF that embeds them stays byte-stable. Amounts are plotted as integers of
yen; the axis labels use thousands separators.
"""

from __future__ import annotations

import io

from reports.monthly_figures import MonthlyFigures
from reports.typeset import chart_font

DPI = 110
SIZE_INCHES = (6.4, 2.4)
BAR_COLOUR = "#3b6ea5"
CURRENT_COLOUR = "#d9822b"
UNKNOWN_COLOUR = "#bbbbbb"


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = chart_font()
    plt.rcParams.update({"font.family": family, "font.size": 8, "axes.unicode_minus": False,
                         "svg.hashsalt": "seisan"})
    return plt, plt.figure(figsize=SIZE_INCHES, dpi=DPI)


def _yen_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{int(value):,}"))


def _png(plt, figure) -> bytes:
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return out.getvalue()


def daily_use_png(figures: MonthlyFigures) -> bytes:
    """Points used per day of the month (net of cancels)."""
    plt, figure = _figure()
    axes = figure.add_subplot(1, 1, 1)
    days = [d.day for d, _ in figures.daily_use]
    axes.bar(days, [y for _, y in figures.daily_use], color=BAR_COLOUR)
    axes.set_xlim(0.5, figures.month.last_day.day + 0.5)
    axes.set_xlabel("日")
    axes.set_ylabel("利用額（円）")
    axes.set_title("日別の利用額（取消控除後）")
    _yen_axis(axes.yaxis)
    return _png(plt, figure)


def balance_and_expiry_png(figures: MonthlyFigures) -> bytes:
    """Left: the outstanding balance at each month end; right: what of the month-end balance expires in which
    month (and what never expires)."""
    plt, figure = _figure()
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    left.bar([f"{m.month}月" for m, _ in figures.balance_by_month], [y for _, y in figures.balance_by_month],
             color=BAR_COLOUR)
    left.set_title("月末残高")
    _yen_axis(left.yaxis)
    labels = [f"{m.year % 100:02d}/{m.month}" for m, _ in figures.expiry_outlook] + ["以降", "期限なし"]
    values = [y for _, y in figures.expiry_outlook] + [figures.expiry_later_yen, figures.never_expiring_yen]
    right.bar(labels, values, color=[BAR_COLOUR] * (len(labels) - 2) + [UNKNOWN_COLOUR] * 2)
    right.set_title("有効期限の到来見込み（月別）")
    right.tick_params(axis="x", labelrotation=45)
    _yen_axis(right.yaxis)
    return _png(plt, figure)


def fee_cycles_png(figures: MonthlyFigures) -> bytes | None:
    """Yearly transfer fees per settlement cycle at the municipality's minimum payout (None: nothing to draw).
    A cycle whose cost is not known yet is drawn as an empty grey bar labelled n/a, never as 0."""
    if not figures.fee_cycles:
        return None
    plt, figure = _figure()
    axes = figure.add_subplot(1, 1, 1)
    labels = [c.label + ("＊" if c.is_current else "") for c in figures.fee_cycles]
    values = [c.fees_per_year_yen or 0 for c in figures.fee_cycles]
    colours = [UNKNOWN_COLOUR if c.fees_per_year_yen is None else CURRENT_COLOUR if c.is_current else BAR_COLOUR
               for c in figures.fee_cycles]
    bars = axes.barh(labels, values, color=colours)
    for bar, cycle in zip(bars, figures.fee_cycles, strict=True):
        text = "n/a（未確定）" if cycle.fees_per_year_yen is None else f"{cycle.fees_per_year_yen:,}円"
        axes.annotate(text, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                      textcoords="offset points", va="center")
    axes.set_title("精算サイクル別の振込手数料（年換算、＊＝現在の設定）")
    axes.invert_yaxis()
    axes.margins(x=0.25)
    _yen_axis(axes.xaxis)
    return _png(plt, figure)
