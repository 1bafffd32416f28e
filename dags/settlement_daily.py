"""
### settlement_daily — seisan's daily settlement run for one business date

For business date D (Asia/Tokyo): **ingest** every delivered file named for D or earlier that is not loaded yet
(inbox → `raw.*`, bad rows to `raw.quarantine`, every file in `raw.file_manifest`, the ingest reports under
`out/D/`), then **build the marts** with dbt (ledgers, lots, balances, settlement items), then
**quality** (the data-quality checkpoint: `recon.check_results`, `recon.source_freshness`, Data Docs under
`out/D/data-docs/`), **reconcile** (every source matched against every other: `recon.findings`,
`recon.match_summary`; the break store `recon.breaks`, `recon.break_events`), **gate** (each municipality's
release gate, open or blocked with its reasons: `recon.gate`), **payments** (what the bank did with earlier
payment files — confirmations, fees, returns — then, for each municipality whose gate is open, its closed
settlement periods frozen into statements and one payout batch planned: `payments.*`) and **report** (the
officers' daily reconciliation report `out/D/reconciliation-D.html` and `out/D/breaks-D.csv`; it updates the
asset `seisan://settlement_daily/report`, on which the DAG payments_approval prepares the files for officers).

**Outcomes, not crashes**: a failed expectation or a blocked gate is a result the run records and reports; the
tasks succeed. A task fails only when it could not do its work (and then re-running it is safe).

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
from airflow.sdk import Asset, Param, dag, task

SETTLEMENT_DONE = Asset("seisan://settlement_daily/report")  # the same URI in both DAG files (test)


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

    @task
    def quality(params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, quality_step

        return quality_step(business_date_of_run(params, logical_date))

    @task
    def reconcile(params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, reconcile_step

        return reconcile_step(business_date_of_run(params, logical_date))

    @task
    def gate(params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, gate_step

        return gate_step(business_date_of_run(params, logical_date))

    @task
    def payments(params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, payments_step

        return payments_step(business_date_of_run(params, logical_date))

    @task(outlets=[SETTLEMENT_DONE])
    def report(params=None, logical_date=None, outlet_events=None) -> dict:
        from seisan.steps import business_date_of_run, report_step

        date = business_date_of_run(params, logical_date)
        summary = report_step(date)
        if outlet_events is not None:  # payments_approval runs on this event, for this business date
            outlet_events[SETTLEMENT_DONE].extra = {"business_date": date.isoformat()}
        return summary

    ingest() >> build_marts() >> quality() >> reconcile() >> gate() >> payments() >> report()


settlement_daily()
