"""Every figure of the monthly report against the hand-computed expectations of tests/reports/monthly_world.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import monthly_world as world
import pytest

from reports.monthly_figures import (
    CostOfMonth,
    GrantLine,
    Month,
    MonthlyReportError,
    PrepaidBaseDate,
    UseLine,
    cycle_label,
    line_cost_yen,
    monthly_figures,
)

NOV, OCT = Month(2026, 11), Month(2026, 10)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("monthly") / "warehouse.duckdb"
    world.build(path)
    return path


@pytest.fixture(scope="module")
def figures(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return monthly_figures(con, world.A, NOV)


def test_points_granted_used_expired_and_balances(figures) -> None:
    f = figures
    assert (f.municipality_name, f.prefecture, f.data_through) == ("テスト市", "北海道", dt.date(2026, 11, 20))
    assert f.opening_balance_yen == 4000
    assert f.grants == (
        GrantLine("A-BEN", "テスト市おでかけポイント", "adjustment", 1, 500),
        GrantLine("A-CNV", f"テスト市交換ポイント{world.MY_NUMBER}", "partner", 1, 3000),
        GrantLine("A-PRE", "テスト市チャージポイント", "charged", 1, 10000))
    assert f.granted_yen == 13500
    assert (f.used_terminal_yen, f.used_online_yen, f.used_yen, f.use_count) == (2200, 4000, 6200, 2)
    assert f.uses_by_category == (UseLine("食料品", "terminal", 2200), UseLine("通信販売", "online", 4000))
    assert (f.expired_yen, f.adjusted_out_yen, f.other_movement_yen) == (500, 200, 0)
    assert f.closing_balance_yen == 10600 == 4000 + 13500 - 6200 - 500 - 200


def test_settlement_transfers_fees_held_and_carried(figures) -> None:
    f = figures
    assert (f.items_payable_yen, f.items_held_in_month_yen) == (12800, 800)
    assert (f.merchants_paid, f.transfer_count, f.paid_gross_yen, f.transferred_yen) == (2, 2, 7200, 6650)
    assert (f.fee_payer_yen, f.fee_payee_yen) == (220, 550)
    assert (f.returned_count, f.returned_yen) == (1, 1000)
    assert f.held_month_end_yen == 800
    # frozen by 11-30: 2,200 + 4,000 + 1,000 + 5,000 + 700 − 100 = 12,800; live payouts planned by then: 11,200
    assert f.carried_month_end_yen == 1600
    # payable items ended by 11-30 (1,000 + 12,800) − frozen 12,800
    assert f.unfrozen_month_end_yen == 1000


def test_operating_cost_from_the_rates_in_force_at_month_end(figures) -> None:
    f = figures
    assert f.rates_date == dt.date(2026, 11, 15)
    lines = {c.item: (c.quantity, c.cost_yen) for c in f.cost_lines}
    assert lines == {"bank_statement": (2, 10), "ledger_event": (7, 2), "payout_transfer": (2, 24),
                     "storage": (None, None), "terminal_record": (2, 0), "transfer_fee_payer": (None, 220)}
    assert f.operating_cost_yen == 256
    assert f.cost_per_use == Decimal("128.00")
    assert f.cost_per_10000_yen_used == Decimal("412.90")  # 256 × 10,000 / 6,200 = 412.903…
    assert f.previous_month == CostOfMonth(OCT, 1, 1, 1000)
    assert f.same_month_last_year == CostOfMonth(Month(2025, 11), None, None, None)


def test_breaks_prepaid_and_chart_series(figures) -> None:
    f = figures
    assert [(b.break_code, b.count, b.amount_yen) for b in f.open_breaks] == [
        ("amount_mismatch", 2, 1500), ("terminal_seq_gap", 1, 0)]
    assert (f.open_break_count, f.open_break_yen) == (3, 1500)
    assert (f.charged_yen, f.prepaid_unused_month_end_yen) == (10000, 6000)
    assert f.prepaid_base_date == PrepaidBaseDate(dt.date(2026, 9, 30), 12_000_000, True, 6_000_000,
                                                  dt.date(2026, 11, 30))
    assert f.daily_use == ((dt.date(2026, 11, 5), 2500), (dt.date(2026, 11, 6), 4000), (dt.date(2026, 11, 7), -300))
    assert f.balance_by_month == ((OCT, 4000), (NOV, 10600))
    assert f.expiry_outlook == ((Month(2027, 3), 1800), (Month(2027, 5), 2800))
    assert (f.expiry_later_yen, f.never_expiring_yen) == (0, 6000)


def test_second_municipality_and_errors(warehouse) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        b = monthly_figures(con, world.B, NOV)
        assert (b.granted_yen, b.closing_balance_yen, b.used_yen, b.transfer_count) == (1000, 1000, 0, 0)
        assert (b.open_break_count, b.open_break_yen, b.prepaid_base_date) == (1, 50, None)
        assert b.operating_cost_yen == 0  # 1 ledger event × 0.25 → 0, 1 terminal record × 0.1 → 0: known, and 0
        with pytest.raises(MonthlyReportError, match="municipality 999999 is not in the municipalities master"):
            monthly_figures(con, "999999", NOV)
        with pytest.raises(MonthlyReportError, match="no data for 2026-08"):
            monthly_figures(con, world.A, Month(2026, 8))


def test_rounding_and_labels() -> None:
    assert [line_cost_yen(q, "0.25") for q in (1, 2, 6, 10)] == [0, 1, 2, 3]  # 0.25, 0.5 → 1 (half up), 1.5 → 2
    assert cycle_label("weekly", "7") == "週次（日曜締め）"
    assert cycle_label("monthly", "10") == "月次（10日締め）"
    assert cycle_label("monthly", "end") == "月次（月末締め）"
    assert cycle_label("daily", None) == "日次"
    with pytest.raises(ValueError, match="not a month"):
        Month.parse("2026-13")
