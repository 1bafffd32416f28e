"""The prepaid-instrument rule of the Payment Services Act (資金決済法) that the prepaid report applies: the one
owner of the 基準日, the threshold, the half and the deadline in Python.

Source: shared/domain/prepaid-law.md §4 and §4.1, which read 資金決済法 第3条 (前払式支払手段, 基準日 and
基準日未使用残高) and 第14条 (発行保証金: when the 基準日未使用残高 exceeds 10,000,000 yen, at least half of that
balance, "half of the whole balance, not of the part above 10 million"), the 関東財務局 page
https://lfb.mof.go.jp/kantou/kinyuu/pagekthp00400036.html (threshold, 2-month deadline for the deposit and the
報告書) and 日本資金決済業協会 https://s-kessai.jp/businesses/issue_deposit.html ([R P3, P4, P7] there):

- 基準日 are 31 March and 30 September; the balance is cut at the end of that day (23:59 JST);
- the threshold is exceeded only when the balance is strictly greater than 10,000,000 yen;
- the deposit is then ceil(balance / 2) in integer yen (rounding up keeps it "at least half"), else 0;
- the deposit is secured, and the 前払式支払手段の発行に関する報告書 filed, within 2 months after the 基準日:
  by 31 May and 30 November.

The dbt mart `marts.fct_prepaid_unused_balances` computes the same figures in SQL; the prepaid report checks
every row of it against this module and refuses to print a disagreement. This is a domain summary, not legal
advice (the open questions are in prepaid-law.md §6 and stated on the report).
"""

from __future__ import annotations

import calendar
import datetime as dt

THRESHOLD_YEN = 10_000_000
REFERENCE_MONTH_DAYS = ((3, 31), (9, 30))
DEADLINE_MONTHS_AFTER = 2


class NotAReferenceDate(ValueError):
    """A date that is not a 基準日 (the message is one sentence saying which dates are)."""


def is_reference_date(day: dt.date) -> bool:
    return (day.month, day.day) in REFERENCE_MONTH_DAYS


def check_reference_date(day: dt.date) -> dt.date:
    """`day` if it is a 基準日, else NotAReferenceDate with one sentence."""
    if not is_reference_date(day):
        raise NotAReferenceDate(f"{day.isoformat()} is not a 基準日: the prepaid report is made for 31 March or "
                                f"30 September only (e.g. --date {day.year}-03-31 or --date {day.year}-09-30)")
    return day


def is_threshold_exceeded(unused_balance_yen: int) -> bool:
    """Strictly above 10,000,000 yen (10,000,000 itself is not above)."""
    return unused_balance_yen > THRESHOLD_YEN


def deposit_required_yen(unused_balance_yen: int) -> int:
    """ceil(balance / 2) when the threshold is exceeded, else 0 (integer yen)."""
    if isinstance(unused_balance_yen, bool) or not isinstance(unused_balance_yen, int):
        raise TypeError(f"balances are integer yen, got {unused_balance_yen!r}")
    return (unused_balance_yen + 1) // 2 if is_threshold_exceeded(unused_balance_yen) else 0


def deadline(reference_date: dt.date) -> dt.date:
    """The last day of the second month after the 基準日: 31 May for 31 March, 30 November for 30 September
    (both the deposit and the report)."""
    check_reference_date(reference_date)
    month_index = reference_date.month - 1 + DEADLINE_MONTHS_AFTER
    year, month = reference_date.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])
