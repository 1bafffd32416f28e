"""The yearly fee comparison (hand-computed replays) and the `seisan payments plan/status` commands."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest
from payments_world import MUNI, Item, add_merchant, connect, open_gate, set_items, standard_world

from payments.compare import Policy, compare_costs, format_costs, replay
from seisan.cli import main
from seisan.cli_payments_plan import payments_subcommands

START = dt.date(2026, 11, 30)   # a Monday
DAYS = [START + dt.timedelta(days=i) for i in range(14)]
DAILY = {"M00000001": [(d, 1_000) for d in DAYS]}


def _fee(merchant: str, balance: int) -> int:
    return 550 if balance < 30_000 else 770


@pytest.mark.parametrize(("policy", "transfers", "fees", "wait", "carried"), [
    (Policy("daily", None, 0), 14, 14 * 550, 0.0, 0),
    (Policy("weekly", "7", 0), 2, 2 * 550, 3.0, 0),                 # Sundays 6 and 13 Dec, 7,000 each
    (Policy("daily", None, 5_000), 2, 2 * 550, 2.0, 4_000),         # paid on 4 and 9 Dec; 10-13 Dec carried
    (Policy("monthly", "end", 0), 1, 550, 0.0, 13_000),             # 30 Nov only; December not ended
])
def test_replay_hand_computed(policy: Policy, transfers: int, fees: int, wait: float, carried: int) -> None:
    cost = replay(DAILY, DAYS[0], DAYS[-1], policy, _fee)
    assert cost.days_seen == 14
    assert cost.transfers_per_year == round(transfers * 365 / 14)
    assert cost.fees_per_year_yen == round(fees * 365 / 14)
    assert cost.avg_wait_days == wait
    assert cost.carried_end_yen == carried


def test_a_cycle_with_no_period_end_in_the_history_is_unknown_not_free() -> None:
    december = DAYS[1:]     # 1-13 December: no month end, two Sundays
    monthly = replay(DAILY, december[0], december[-1], Policy("monthly", "end", 0), _fee)
    weekly = replay(DAILY, december[0], december[-1], Policy("weekly", "7", 0, is_current=True), _fee)
    assert (monthly.periods_ended, monthly.known, monthly.transfers_per_year) == (0, False, 0)
    assert (weekly.periods_ended, weekly.known) == (2, True)
    text = format_costs(MUNI, [monthly, weekly])
    rows = text.splitlines()
    assert rows[2].startswith("*") and "weekly(7)" in rows[2]          # known costs first
    assert "monthly(end)" in rows[3] and rows[3].count("n/a") == 3     # never shown as 0 yen a year
    assert "no monthly(end) period ended" in rows[-1]


def test_replay_minimum_carries_a_week_into_the_next() -> None:
    daily = {"M00000001": [(d, 2_500) for d in DAYS]}
    cost = replay(daily, DAYS[0], DAYS[-1], Policy("weekly", "7", 30_000), _fee)
    # 6 Dec: 17,500 < 30,000 carried; 13 Dec: 35,000 paid once at 770; waits 13..0 days, mean 6.5
    assert (cost.transfers_per_year, cost.fees_per_year_yen, cost.avg_wait_days, cost.carried_end_yen) == (
        round(365 / 14), round(770 * 365 / 14), 6.5, 0)


def _history_world(path: Path | str = ":memory:"):
    """The staging tables compare reads, with one merchant's uses on three days (one held)."""
    con = connect(path)
    standard_world(con, min_payout_yen=1_000)
    add_merchant(con, "M00000001")
    con.execute("create schema if not exists staging")
    con.execute("create table staging.int_settlement__events (event_id varchar, event_type varchar, "
                "event_date date, municipality_code varchar, merchant_id varchar)")
    con.execute("create table staging.int_lot_movements (event_id varchar, settlement_yen bigint)")
    con.execute("create table staging.int_settlement__merchant_status (event_id varchar, settlement_status varchar)")
    for i, (day, amount, status) in enumerate([(DAYS[0], 40_000, "payable"), (DAYS[1], 500, "payable"),
                                               (DAYS[2], 9_999, "held_undesignated")]):
        con.execute("insert into staging.int_settlement__events values (?, 'use', ?, ?, 'M00000001')",
                    [f"E{i}", day, MUNI])
        con.execute("insert into staging.int_lot_movements values (?, ?)", [f"E{i}", amount])
        con.execute("insert into staging.int_settlement__merchant_status values (?, ?)", [f"E{i}", status])
    return con


def test_compare_from_history_marks_the_current_policy() -> None:
    con = _history_world()
    costs = {(c.policy.cycle, c.policy.min_payout_yen): c for c in compare_costs(con, DAYS[1], MUNI)}
    daily_current = costs[("daily", 1_000)]
    assert daily_current.policy.is_current
    # two days seen: 40,000 paid on day 1 (770), 500 below 1,000 carried; × 365 / 2
    assert (daily_current.transfers_per_year, daily_current.fees_per_year_yen, daily_current.carried_end_yen) == (
        round(365 / 2), round(770 * 365 / 2), 500)
    assert costs[("daily", 0)].fees_per_year_yen == round((770 + 550) * 365 / 2)
    text = format_costs(MUNI, list(costs.values()))
    assert "× 365 / 2" in text and "*" in text


def test_payments_group_can_be_created_by_either_side_first() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    other = commands.add_parser("payments").add_subparsers(dest="payments_command")
    other.add_parser("prepare")
    group = payments_subcommands(commands)
    assert group is other and {"prepare", "plan", "status"} <= set(group.choices)
    assert payments_subcommands(commands) is group           # twice: nothing added twice


def test_plan_and_status_commands(seisan_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seisan_home.mkdir(parents=True)
    con = _history_world(seisan_home / "warehouse.duckdb")
    set_items(con, [Item("M00000001", DAYS[0], DAYS[0], 40_000), Item("M00000001", DAYS[1], DAYS[1], 500)])
    open_gate(con, DAYS[4])          # Friday 4 Dec
    con.close()
    assert main(["payments", "plan", "--date", str(DAYS[4])]) == 0
    out = capsys.readouterr().out
    assert "froze 2 statements (40,500 yen)" in out
    assert "1 payouts, transfer 40,500 yen on 2026-12-07, fees 770 yen" in out
    assert main(["payments", "plan", "--date", str(DAYS[4])]) == 0
    assert "(planned before)" in capsys.readouterr().out
    assert main(["payments", "status"]) == 0
    out = capsys.readouterr().out
    assert "pending" in out and "40500" in out
    assert main(["payments", "plan", "--date", str(DAYS[4]), "--compare"]) == 0
    assert "fees_yen/year" in capsys.readouterr().out
