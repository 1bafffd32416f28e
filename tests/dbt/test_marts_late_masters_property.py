"""Property: random cycle changes, cancels (beyond their use, naming another merchant or none, of another
resident's use or of no use), unknown references and master snapshots delivered days late never fail a build
(every dbt data test, accounting identities included, passes on every day) and day-by-day builds equal a full
refresh on every incremental table, the settlement items and the control flags.

One Hypothesis example (each build costs seconds): many residents and snapshots at once, drawn from a
Random that Hypothesis seeds (a failure prints the seed). Not structured strategies: with one example Hypothesis
would try only their simplest (all-zero) value. Shrinking is off.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, time, timedelta

import duckdb
import pytest
from conftest import new_warehouse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from marts_worlds import DESIGNATED, MERCHANTS, MUNICIPALITIES, PROGRAMS, Ledger, write_masters
from test_marts_incremental import snapshot
from test_marts_late_masters import COMPARED

START = date(2024, 5, 1)
DAYS = 12
BUILDS = (date(2024, 5, 4), date(2024, 5, 8), date(2024, 5, 12))
MASTER_KINDS = ("master_municipalities", "master_merchants", "master_designations", "master_programs")
CYCLES = (("daily", None), ("weekly", "1"), ("weekly", "3"), ("weekly", "7"), ("monthly", "end"),
          ("monthly", "10"), ("monthly", "28"))
EXPIRIES = ("days:1", "days:3", "days:10", "none", "fiscal_year_end:0")
FUNDINGS = ("municipal_budget", "partner", "prepaid")
ALL_MERCHANTS = ("M00000001", "M00000002", "M00000003", "M00000004", "M00000009", "M00000099")
TIMES = (time(0, 0), time(9, 30), time(12, 0), time(23, 59, 59))


def _actions(rnd: random.Random) -> list[tuple]:
    """One resident's actions: (kind, day offset, time, amount, pick, which merchant a cancel names)."""
    kinds = ["grant", "charge", "use", "use", "use", "cancel", "cancel", "stray_cancel"]
    return [(rnd.choice(kinds), rnd.randrange(DAYS), rnd.choice(TIMES), rnd.randint(1, 300), rnd.randrange(51),
             rnd.choice(["same", "other", "none"])) for _ in range(rnd.randint(1, 8))]


def _snapshots(rnd: random.Random) -> list[tuple]:
    """Master snapshots: (kind, day offset of its date, days late, variation picks)."""
    return [(rnd.choice(MASTER_KINDS), rnd.randrange(DAYS), rnd.randint(0, 4), [rnd.randrange(51) for _ in range(12)])
            for _ in range(rnd.randint(4, 8))]


def _story(ledger: Ledger, index: int, municipality: str, actions: list, all_uses: list) -> None:
    mykey = f"LMPR{index:04d}"
    programs = sorted(code for code, spec in PROGRAMS.items() if spec[0] == municipality) or ["TSU_PRE"]
    uses = []
    for kind, offset, at_time, amount, pick, names in sorted(actions, key=lambda a: (a[1], a[2])):
        ts = datetime.combine(START + timedelta(days=offset), at_time)
        if kind in ("grant", "charge"):
            getattr(ledger, kind)(ts, municipality, mykey, programs[pick % len(programs)], amount)
        elif kind == "use":
            merchant = ALL_MERCHANTS[pick % len(ALL_MERCHANTS)]
            uses.append((ledger.use(ts, municipality, mykey, amount, merchant), merchant))
            all_uses.append(uses[-1][0])
        elif kind == "cancel" and uses:
            use_id, merchant = uses[pick % len(uses)]
            named = {"same": merchant, "other": ALL_MERCHANTS[(pick + 1) % len(ALL_MERCHANTS)], "none": None}[names]
            ledger.cancel(ts, municipality, mykey, use_id, amount, named)
        elif kind == "stray_cancel":   # of another resident's use, or of no use at all
            use_id = all_uses[pick % len(all_uses)] if all_uses and pick % 2 else f"NOUSE{pick}"
            ledger.cancel(ts, municipality, mykey, use_id, amount, "M00000001")


def _write_snapshot(con: duckdb.DuckDBPyConnection, kind: str, snapshot_date: date, picks: list[int]) -> None:
    """A full snapshot of one master kind, varied by picks (cycle, expiry, funding, status, who is listed)."""
    con.execute(f"delete from raw.{kind} where business_date = ?", [snapshot_date])
    if kind == "master_municipalities":
        listed = sorted(MUNICIPALITIES) + (["999999"] if picks[-1] % 2 else [])   # sometimes named late
        write_masters(con, snapshot_date, only=(kind,), municipalities={
            code: CYCLES[pick % len(CYCLES)] for code, pick in zip(listed, picks, strict=False)})
    elif kind == "master_programs":
        write_masters(con, snapshot_date, only=(kind,), programs={
            code: (mun, k, FUNDINGS[pick % 3], EXPIRIES[pick % len(EXPIRIES)], cap)
            for (code, (mun, k, _, _, cap)), pick in zip(sorted(PROGRAMS.items()), picks, strict=False)})
    elif kind == "master_merchants":
        merchants = {**MERCHANTS, "M00000009": "active"}
        write_masters(con, snapshot_date, only=(kind,), merchants={
            mid: ("active", "suspended", "closed")[pick % 3] if pick % 5 else status
            for (mid, status), pick in zip(sorted(merchants.items()), picks, strict=False) if pick % 7})
    else:
        listed = {**DESIGNATED, "M00000004": ("242012", "131016"), "M00000009": ("242012", "999999")}
        write_masters(con, snapshot_date, only=(kind,), designated={
            mid: muns for (mid, muns), pick in zip(sorted(listed.items()), picks, strict=False) if pick % 3},
            designated_from=START + timedelta(days=picks[-1] % DAYS))


@pytest.mark.slow
@settings(max_examples=1, phases=[Phase.generate], deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.randoms(use_true_random=True))
def test_random_late_masters_and_cancels_day_by_day_equal_full_refresh(tmp_path_factory, dbt_build, rnd):
    stories = [(rnd.choice(sorted(MUNICIPALITIES) + ["999999"]), _actions(rnd)) for _ in range(40)]
    snapshots = _snapshots(rnd)
    folder = tmp_path_factory.mktemp("late_prop")
    path, con = new_warehouse(folder)
    write_masters(con, date(2024, 1, 1))
    con.close()
    ledger, all_uses = Ledger(prefix="R"), []
    for index, (municipality, actions) in enumerate(stories):
        _story(ledger, index, municipality, actions, all_uses)
    deliveries = sorted((START + timedelta(days=offset + late), kind, START + timedelta(days=offset), picks)
                        for kind, offset, late, picks in snapshots)
    previous = None
    for build_date in BUILDS:
        with duckdb.connect(str(path)) as con:
            ledger.write(con, from_date=previous + timedelta(days=1) if previous else None, up_to=build_date)
            for delivered, kind, snapshot_date, picks in deliveries:
                if (previous is None or delivered > previous) and delivered <= build_date:
                    _write_snapshot(con, kind, snapshot_date, picks)
        dbt_build(path, build_date, with_tests=False)   # models only; raises MartsBuildError naming a failed model
        previous = build_date
    with duckdb.connect(str(path)) as con:   # what is delivered after the last build day comes in now
        for delivered, kind, snapshot_date, picks in deliveries:
            if delivered > previous:
                _write_snapshot(con, kind, snapshot_date, picks)
    final_date = previous + timedelta(days=1)
    dbt_build(path, final_date)   # models and every data test, over all dates built so far
    incremental = snapshot(path, COMPARED)
    rebuilt = folder / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    dbt_build(rebuilt, final_date, full_refresh=True)
    full = snapshot(rebuilt, COMPARED)
    for table in COMPARED:
        assert incremental[table] == full[table], table
    assert incremental["marts.fct_control_flags"], "the generated stories make control breaks"
