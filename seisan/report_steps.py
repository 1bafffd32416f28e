"""The step functions of the DAG `reports_monthly`: a month's cost and usage reports (and, when the month ends on a
基準日, the prepaid report), the same functions `seisan report monthly|prepaid` call.

The run on the 1st of a month at 07:00 JST reports the month before (after that month's last daily run at 06:00);
the `month` param (YYYY-MM) picks another. Idempotent: the writers give the same bytes for the same tables.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from contracts.jst import JST
from seisan.config import Settings, load_settings
from seisan.home_lock import hold_home

log = logging.getLogger("seisan.reports")
MONTH_PARAM = "month"


def month_of_run(params: Mapping[str, Any] | None, logical_date: dt.datetime | None,
                 now: dt.datetime | None = None):
    """The month a run reports: its `month` param when set, else the month before the run's logical date (or now)
    in Asia/Tokyo."""
    from reports.monthly_figures import Month

    chosen = str((params or {}).get(MONTH_PARAM) or "").strip()
    if chosen:
        return Month.parse(chosen)
    moment = logical_date or now or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError(f"the run's logical date {moment} has no time zone; cannot tell its month in Asia/Tokyo")
    last_of_previous = moment.astimezone(JST).date().replace(day=1) - dt.timedelta(days=1)
    return Month(last_of_previous.year, last_of_previous.month)


def monthly_reports_step(month, settings: Settings | None = None) -> dict[str, Any]:
    """Every municipality's monthly report and the national summary for `month`; the prepaid report too when the
    month's last day is a 基準日 (31 March, 30 September). Returns the paths written."""
    from reports.prepaid_law import is_reference_date
    from seisan.cli_reports_monthly import monthly_reports
    from seisan.cli_reports_statements import write_prepaid_reports

    settings = settings or load_settings()
    with hold_home(settings.home, f"seisan report monthly --month {month}",
                   wait_seconds=settings.lock_wait_seconds, say=log.info):
        written = monthly_reports(settings, month, progress=log.info)
        if is_reference_date(month.last_day):
            written += write_prepaid_reports(settings, month.last_day)
    return {"month": str(month), "written": [str(p) for p in written]}
