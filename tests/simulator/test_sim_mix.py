"""How a simulated world's merchants and events are spread (`mix`): "typical" is the world as it always was;
"national" is the issue's national day (a store per 33 residents, residents holding points from the day they
join, about half the events of a day terminal uses); an unknown mix is refused with a sentence."""

from __future__ import annotations

import collections
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from seisan.config import REPO_ROOT
from simulator.point_platform import run_platform
from simulator.world import build_world

START = dt.date(2026, 10, 1)


def test_the_typical_mix_is_the_world_as_before() -> None:
    assert build_world(7, START, 3, 2, 400, mix="typical") == build_world(7, START, 3, 2, 400)


def test_a_national_world_has_a_store_for_every_33_residents_without_a_cap() -> None:
    # 20,000 residents over 2 municipalities: 20000 // (33 * 2) = 303 stores each; the typical mix caps it at
    # 40 (20000 // (60 * 2) = 166 before the cap).
    for mix, each in (("national", 303), ("typical", 40)):
        world = build_world(7, START, 3, 2, 20_000, mix=mix)
        stores = collections.Counter(m.home_municipality for m in world.merchants
                                     if m.channel == "store" and m.listed_from < START)
        assert sorted(stores.values()) == [each, each], mix


def test_national_residents_hold_points_from_the_day_they_join_and_half_the_events_are_terminal_uses() -> None:
    world = build_world(7, START, 4, 3, 6_000, activity=0.4, mix="national")
    out, _ = run_platform(world, {})
    days = [world.date(i) for i in range(world.days)]
    sign_ups = {day: [e for e in out.ledger[day] if e.event_type == "grant" and e.program_code.endswith("-HLT")
                      and e.amount >= 1000] for day in days}
    for index, day in enumerate(days):
        joining = {r.mykey_id: r.municipalities[0] for r in world.residents if r.join_day == index}
        assert {e.mykey_id: e.municipality_code for e in sign_ups[day]} == joining, day
        assert len(sign_ups[day]) == len(joining)  # one each
        assert {e.amount for e in sign_ups[day]} <= {1000, 2000, 3000}
        assert all(dt.time(3) <= e.event_ts.time() < dt.time(4) for e in sign_ups[day])
    holders = {row["mykey_id"] for row in out.balances[days[0]]}
    assert len(holders) >= 0.99 * sum(1 for r in world.residents if r.join_day == 0)
    terminal = collections.Counter(r.ts.date() for r in out.terminal_records)
    for day in days[1:]:  # the nation's day: about 0.2 events a resident, about half of them at a terminal
        events = len(out.ledger[day])
        assert 0.17 < events / len(world.residents) < 0.27, (day, events)
        assert 0.40 < terminal[day] / events < 0.60, (day, terminal[day], events)


def test_the_typical_mix_starts_with_nobody_holding_points() -> None:
    world = build_world(7, START, 2, 3, 2_000, activity=0.4)
    out, _ = run_platform(world, {})
    first = out.ledger[START]
    assert not [e for e in first if e.program_code.endswith("-HLT") and e.amount >= 1000]
    assert len(out.terminal_records) < 0.15 * sum(len(day) for day in out.ledger.values())


def test_an_unknown_mix_is_refused() -> None:
    with pytest.raises(ValueError, match="mix is one of typical, national, got 'busy'"):
        build_world(7, START, 3, 2, 10, mix="busy")


@pytest.mark.parametrize(("setting", "sentence"), [
    (["--activity", "2"], "activity is more than 0 and at most 1, got 2.0"),
    (["--mix", "busy"], "mix is one of typical, national, got 'busy'"),
])
def test_the_command_line_refuses_a_setting_with_a_sentence(tmp_path: Path, setting: list[str], sentence: str) -> None:
    result = subprocess.run([sys.executable, "-m", "seisan.cli", "simulate", "--out", str(tmp_path / "w"),
                             "--start", "2026-10-01", *setting], capture_output=True, text=True,
                            cwd=REPO_ROOT, check=False)
    assert result.returncode == 2 and sentence in result.stderr
    assert not (tmp_path / "w").exists()
