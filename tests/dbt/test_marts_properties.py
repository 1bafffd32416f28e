"""Property test: for generated event histories, the dbt marts equal the independent reference model.

Hypothesis seeds the generation of many resident stories (grants, charges, uses that may overdraw, partial
cancels, negative adjusts, times on the last second of a day, across 31 March). All of them go into ONE raw
warehouse, each case its own resident, and ONE dbt build runs (dbt start-up costs seconds); then lots,
balances and settlement amounts must equal marts_reference. Shrinking is off (it would rebuild); a failure
prints the Random's seed, which regenerates the stories.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import duckdb
import marts_reference as ref
import pytest
from conftest import new_warehouse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from marts_worlds import MUNICIPALITIES, PROGRAMS, Ledger, write_masters

START = date(2024, 3, 20)
BUILD_DATE = date(2024, 5, 20)
CASES = 80
TIMES = (time(0, 0, 0), time(9, 30), time(12, 0), time(18, 45), time(23, 59, 59))
MERCHANTS = ("M00000001", "M00000002", "M00000003", "M00000004")
REF_PROGRAMS = {code: (funding, expiry) for code, (_, _, funding, expiry, _) in PROGRAMS.items()}

KINDS = ("grant", "grant", "charge", "use", "use", "use", "cancel", "cancel", "adjust")


def _random_stories(rnd: random.Random) -> list[tuple[str, list[tuple]]]:
    """CASES resident stories: (municipality, [(kind, days after the previous action, time, amount, pick)]).

    Drawn from a Random that Hypothesis seeds rather than from structured strategies: with one example,
    Hypothesis would try only their simplest value (every story one grant of 1 yen on day 0)."""
    return [(rnd.choice(sorted(MUNICIPALITIES)),
             [(rnd.choice(KINDS), rnd.randint(0, 6), rnd.choice(TIMES), rnd.randint(1, 400), rnd.randint(0, 10))
              for _ in range(rnd.randint(1, 20))])
            for _ in range(CASES)]


def _write_story(ledger: Ledger, index: int, municipality: str, actions: list) -> tuple[str, list[ref.Event]]:
    mykey = f"PROP{index:05d}"
    programs = sorted(code for code, spec in PROGRAMS.items() if spec[0] == municipality)
    day, events, uses = START, [], []
    for kind, gap, at_time, amount, pick in actions:
        day += timedelta(days=gap)
        ts = datetime.combine(day, at_time)
        program = programs[pick % len(programs)]
        if kind in ("grant", "charge"):
            event_id = getattr(ledger, kind)(ts, municipality, mykey, program, amount)
            events.append(ref.Event(event_id, ts, kind, amount, program=program))
        elif kind == "adjust":
            event_id = ledger.adjust(ts, municipality, mykey, program, -amount)
            events.append(ref.Event(event_id, ts, "adjust", -amount, program=program))
        elif kind == "use":
            merchant = MERCHANTS[pick % len(MERCHANTS)]
            event_id = ledger.use(ts, municipality, mykey, amount, merchant)
            events.append(ref.Event(event_id, ts, "use", amount, merchant=merchant))
            uses.append([event_id, amount, merchant])
        elif uses:
            use = uses[pick % len(uses)]
            if use[1] == 0:
                continue
            give_back = min(amount, use[1])
            use[1] -= give_back
            event_id = ledger.cancel(ts, municipality, mykey, use[0], give_back, use[2])
            events.append(ref.Event(event_id, ts, "cancel", give_back, cancel_of=use[0], merchant=use[2]))
    return mykey, events


def _expected(stories: list[tuple[str, str, list[ref.Event]]]):
    lots, balances, settlement = {}, {}, defaultdict(lambda: defaultdict(int))
    for municipality, mykey, events in stories:
        result = ref.replay(events, REF_PROGRAMS, BUILD_DATE)
        for lot in result.lots.values():
            lots[lot.lot_id] = (lot.consumed, lot.restored, lot.expired, lot.remaining)
        for program, points in ref.balances(result).items():
            balances[(municipality, program, mykey)] = points
        cycle, day_setting = MUNICIPALITIES[municipality]
        for event in events:
            if event.kind in ("use", "cancel") and event.ts.date() <= BUILD_DATE:
                start, end = ref.settlement_period(cycle, day_setting, event.ts.date())
                key = (municipality, event.merchant, start, end)
                for funding, points in result.settled[event.event_id].items():
                    settlement[key][funding] += points
    settlement = {key: {f: v for f, v in split.items() if v} for key, split in settlement.items()}
    return lots, balances, settlement


def _actual(con: duckdb.DuckDBPyConnection):
    lots = {row[0]: tuple(row[1:]) for row in con.execute(
        "select lot_event_id, consumed_yen, restored_yen, expired_yen, remaining_yen from marts.fct_point_lots"
    ).fetchall()}
    balances = {tuple(row[:3]): row[3] for row in con.execute(
        "select municipality_code, program_code, mykey_id, balance_yen from marts.fct_balances "
        "where business_date = ?", [BUILD_DATE]).fetchall()}
    settlement = {}
    for row in con.execute("""
            select municipality_code, merchant_id, period_start_date, period_end_date,
                   sum(municipal_budget_yen), sum(partner_yen), sum(prepaid_yen), sum(unallocated_yen)
            from marts.fct_settlement_items group by all""").fetchall():
        split = dict(zip(("municipal_budget", "partner", "prepaid", "unallocated"), row[4:], strict=True))
        settlement[tuple(row[:4])] = {f: v for f, v in split.items() if v}
    return lots, balances, settlement


@pytest.mark.slow
@settings(max_examples=1, phases=[Phase.generate], deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.randoms(use_true_random=True))
def test_marts_equal_reference_model(tmp_path_factory, dbt_build, rnd):
    stories = _random_stories(rnd)
    path, con = new_warehouse(tmp_path_factory.mktemp("prop"))
    write_masters(con)
    ledger, written = Ledger(prefix="P"), []
    for index, (municipality, actions) in enumerate(stories):
        mykey, events = _write_story(ledger, index, municipality, actions)
        written.append((municipality, mykey, events))
    ledger.write(con)
    con.close()
    dbt_build(path, BUILD_DATE)
    with duckdb.connect(str(path), read_only=True) as con:
        actual_lots, actual_balances, actual_settlement = _actual(con)
    expected_lots, expected_balances, expected_settlement = _expected(written)
    assert actual_lots == expected_lots
    assert {k: v for k, v in actual_balances.items() if k in expected_balances} == expected_balances
    assert all(v == 0 for k, v in actual_balances.items() if k not in expected_balances)
    assert actual_settlement == expected_settlement
