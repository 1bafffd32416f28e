"""How busy the simulated residents are (`activity`): 1.0 is the world as it always was, a smaller value makes
proportionally fewer events from the same residents, so that 10 million residents can make the nation's
2 million events a day; anything outside (0, 1] is refused with a sentence."""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.point_platform import run_platform
from simulator.world import build_world

START = dt.date(2026, 10, 1)


def test_activity_one_is_the_world_as_before() -> None:
    assert build_world(7, START, 3, 2, 400, activity=1.0) == build_world(7, START, 3, 2, 400)


def test_the_same_residents_make_fewer_events_in_proportion() -> None:
    """Every daily chance of a resident (grants, conversions, charges, uses) is its activity times a rate. Grants
    do not depend on anything else, so they scale with it; uses also need points, which fewer grants leave
    fewer of, so all events together fall a little more (only the rare manual adjusts do not scale)."""
    busy, calm = (build_world(7, START, 3, 2, 3000, activity=a) for a in (1.0, 0.35))
    assert [r.mykey_id for r in calm.residents] == [r.mykey_id for r in busy.residents]
    assert [r.municipalities for r in calm.residents] == [r.municipalities for r in busy.residents]
    assert all(c.activity == b.activity * 0.35 for c, b in zip(calm.residents, busy.residents, strict=True))
    grants, events = {}, {}
    for name, world in (("busy", busy), ("calm", calm)):
        out, _ = run_platform(world, {})
        ledger = [e for day in out.ledger.values() for e in day]
        grants[name] = sum(1 for e in ledger if e.event_type == "grant")
        events[name] = len(ledger)
    assert grants["busy"] > 1000  # about 1,900: the ratio's noise is about 0.015
    assert 0.30 < grants["calm"] / grants["busy"] < 0.40, grants
    assert 0.2 < events["calm"] / events["busy"] < 0.35, events


@pytest.mark.parametrize("activity", [0.0, -0.5, 1.01])
def test_an_activity_outside_zero_to_one_is_refused(activity: float) -> None:
    with pytest.raises(ValueError, match="more than 0 and at most 1"):
        build_world(7, START, 3, 2, 10, activity=activity)
