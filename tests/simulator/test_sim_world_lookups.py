"""The world's look-ups by key answer what a scan of its lists answers (they exist for national-size speed)."""

from __future__ import annotations

import datetime as dt

from simulator.world import build_world


def _world():
    # 40 days from the end of March: designations end, terminals are re-keyed, merchants close
    return build_world(5, dt.date(2026, 3, 20), 40, 6, 400)


def test_designations_terminal_keys_and_programs_match_a_scan_of_the_lists():
    world = _world()
    assert any(d.valid_to is not None for d in world.designations), "the world should end a designation"
    assert len({k.terminal_id for k in world.terminals}) < len(world.terminals), "a terminal should be re-keyed"
    codes = [m.code for m in world.municipalities] + ["999999"]
    merchant_ids = [m.merchant_id for m in world.merchants] + ["M-NONE"]
    terminal_ids = sorted({k.terminal_id for k in world.terminals}) + ["T-NONE"]
    for index in range(-1, world.days + 1):
        day = world.date(index)
        for code in codes:
            for merchant_id in merchant_ids:
                expected = any(d.municipality_code == code and d.merchant_id == merchant_id and d.valid_on(day)
                               for d in world.designations)
                assert world.designated(code, merchant_id, day) is expected, (code, merchant_id, day)
        for terminal_id in terminal_ids:
            expected_key = next((k for k in world.terminals if k.terminal_id == terminal_id and k.active_on(day)),
                                None)
            assert world.terminal_key_on(terminal_id, day) == expected_key, (terminal_id, day)
    for code in codes:
        assert world.programs_of(code) == {p.kind: p for p in world.programs if p.municipality_code == code}
    for index in range(-1, world.days + 1):
        day = world.date(index)
        for merchant_id in merchant_ids:
            ever = dict.fromkeys(d.municipality_code for d in world.designations if d.merchant_id == merchant_id)
            assert world.designating(merchant_id, day) == [
                code for code in ever if any(d.municipality_code == code and d.merchant_id == merchant_id
                                             and d.valid_on(day) for d in world.designations)]
