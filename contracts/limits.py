"""Bounds FORMATS.md sets on values from outside, owned once.

Every integer that comes from outside is bounded before use: by FORMATS.md where it gives a bound (the amount
of one point transaction), by the storage type otherwise (BIGINT).
"""

from __future__ import annotations

AMOUNT_MAX_YEN = 10_000_000  # one point transaction: a ledger event, a terminal record, a partner/acquirer row
BIGINT_MAX = 2**63 - 1  # counts and sequence numbers are stored as BIGINT
