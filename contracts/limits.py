"""Bounds FORMATS.md sets on values from outside, owned once.

Every integer that comes from outside is bounded before use: by FORMATS.md where it gives a bound (the amount
of one point transaction), by the storage type otherwise (BIGINT).
"""

from __future__ import annotations

import datetime as dt

AMOUNT_MAX_YEN = 10_000_000  # one point transaction: a ledger event, a terminal record, a partner/acquirer row
BIGINT_MAX = 2**63 - 1  # counts and sequence numbers are stored as BIGINT
# The business date in a file name: Heisei onwards (the Zengin era dates seisan reads) to the end of the
# century. Outside it a name is not an inbox file name, so date arithmetic (D-400 days) can never overflow.
BUSINESS_DATE_MIN = dt.date(1989, 1, 8)
BUSINESS_DATE_MAX = dt.date(2099, 12, 31)
