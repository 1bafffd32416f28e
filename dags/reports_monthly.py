"""
### reports_monthly — the municipalities' monthly cost and usage reports

On the 1st of each month at 07:00 JST (after the last daily run of the month before), for the month before — or
for the `month` param (YYYY-MM): per municipality one PDF and one Excel workbook in Japanese, and the national
summary for the programme office (CSV, PDF), under `out/monthly/<YYYY-MM>/`; when that month ends on a 基準日
(31 March, 30 September), the prepaid report at it too, under `out/prepaid/<date>/`.
From the command line: `seisan report monthly --month YYYY-MM`, `seisan report prepaid --date D` (docs/reports.md).

**Re-running**: idempotent; the same tables give byte-identical files.
This file holds no business rule: the task hands the run's params and logical date to one `seisan` function.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="reports_monthly",
    schedule="0 7 1 * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["seisan", "reports"],
    doc_md=__doc__,
    params={"month": Param("", type="string", description="YYYY-MM; empty = the month before the run (JST)")},
)
def reports_monthly():
    @task
    def monthly(params=None, logical_date=None) -> dict:
        from seisan.report_steps import month_of_run, monthly_reports_step

        return monthly_reports_step(month_of_run(params, logical_date))

    monthly()


reports_monthly()
