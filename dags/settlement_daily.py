"""
### settlement_daily — seisan's daily settlement run for one business date

For business date D (Asia/Tokyo): **ingest** every delivered file named for D or earlier that is not loaded yet
(inbox → `raw.*`, bad rows to `raw.quarantine`, every file in `raw.file_manifest`, the ingest reports under
`out/D/`), then **build the marts** with dbt (ledgers, lots, balances, settlement items).

**Needs**: `SEISAN_HOME` (warehouse, raw Parquet, outputs) and an inbox in the layout of docs/formats.md.
**Business date**: the `business_date` param (YYYY-MM-DD); when empty, the day before the run's logical date
in Asia/Tokyo (the scheduled run at 06:00 JST settles yesterday) — decided by `seisan.steps.business_date_of_run`.
**Re-running**: every task is idempotent for its business date — clear and re-run a task, or trigger the DAG
again with the same `business_date`; nothing is loaded or paid twice.
From the command line: `seisan run --date D` runs this DAG in-process.

This file holds no business rule: each task hands the run's params and logical date to one `seisan` function.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="settlement_daily",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["seisan", "settlement"],
    doc_md=__doc__,
    params={"business_date": Param("", type="string", description="YYYY-MM-DD; empty = yesterday (JST)")},
)
def settlement_daily():
    @task
    def ingest(params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, ingest_step

        return ingest_step(business_date_of_run(params, logical_date))

    @task
    def build_marts(params=None, logical_date=None) -> dict:
        from seisan.steps import build_marts_step, business_date_of_run

        return build_marts_step(business_date_of_run(params, logical_date))

    ingest() >> build_marts()


settlement_daily()
