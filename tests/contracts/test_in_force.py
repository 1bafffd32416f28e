"""contracts.in_force against a reference model (a linear scan of the definition), on generated inputs."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from contracts.in_force import snapshot_in_force

_DATES = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


def test_hand_computed_cases():
    snapshots = [dt.date(2026, 11, 1), dt.date(2026, 11, 20)]
    assert snapshot_in_force(snapshots, dt.date(2026, 10, 31)) is None
    assert snapshot_in_force(snapshots, dt.date(2026, 11, 1)) == dt.date(2026, 11, 1)
    assert snapshot_in_force(snapshots, dt.date(2026, 11, 19)) == dt.date(2026, 11, 1)
    assert snapshot_in_force(snapshots, dt.date(2026, 11, 20)) == dt.date(2026, 11, 20)
    assert snapshot_in_force(snapshots, dt.date(2027, 1, 1)) == dt.date(2026, 11, 20)
    assert snapshot_in_force([], dt.date(2026, 11, 1)) is None


@given(st.sets(_DATES, max_size=20), _DATES)
def test_newest_on_or_before(snapshots, on):
    expected = max((d for d in snapshots if d <= on), default=None)
    assert snapshot_in_force(sorted(snapshots), on) == expected
