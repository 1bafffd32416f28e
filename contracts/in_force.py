"""The one Python rule for "the master version in force on a date" (FORMATS.md, Inbox layout): the newest
snapshot on or before that date. Pure: callers hand in the snapshot dates they know of.

Every Python caller (contracts.validation.InMemoryMasters, ingestion.masters, terminal keys) asks this module;
the dbt side has its own single macro.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence


def snapshot_in_force(snapshot_dates: Sequence[dt.date], on: dt.date) -> dt.date | None:
    """The newest of `snapshot_dates` (ascending, no repeats) on or before `on`; None when every snapshot is
    later (no master in force yet)."""
    index = bisect.bisect_right(snapshot_dates, on)
    return snapshot_dates[index - 1] if index else None
