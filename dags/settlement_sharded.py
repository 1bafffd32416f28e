"""
### settlement_sharded — the daily settlement run with the marts built per shard of prefectures

The same day as **settlement_daily**, with its `build_marts` task spread over workers: **ingest** (inbox →
`raw.*`), **split** (each shard's own warehouse under `SEISAN_HOME/shards/of-<N>/<k>/` gets the raw rows of its
municipalities: shard k holds the prefectures whose number modulo N is k), **shard_marts** (one mapped task
per shard, dynamic task mapping: each runs the dbt build of the marts in its shard's warehouse, on whichever
worker is free), **merge** (the shards' tables become the national marts; dbt builds the rest), then
**quality**, **reconcile**, **gate**, **payments** and **report** on the national warehouse, as in
settlement_daily. docs/scaling.md "Past one machine" has the deployment (CeleryExecutor, shared home).

**Params**: `business_date` (YYYY-MM-DD; empty = yesterday in Asia/Tokyo) and `shards` (how many shards; keep
it fixed: a new count builds new shard homes from the whole raw history on its first day).
**Schedule**: none here: it is triggered (`airflow dags trigger settlement_sharded --conf ...`) or given
settlement_daily's schedule in a deployment that pauses settlement_daily; never both on one home.
**Re-running**: every task is idempotent for its business date, as in settlement_daily.
From the command line: `seisan run --date D --shards N --workers W` runs the same tasks with W processes.

This file holds no business rule: each task hands the run's params and logical date to one `seisan` function.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, task

SETTLEMENT_DONE = Asset("seisan://settlement_daily/report")  # the same URI in every DAG file (test)


@dag(
    dag_id="settlement_sharded",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["seisan", "settlement", "sharded"],
    doc_md=__doc__,
    params={"business_date": Param("", type="string", description="YYYY-MM-DD; empty = yesterday (JST)"),
            "shards": Param(4, type="integer", minimum=1, maximum=47, description="shards of prefectures")},
)
def settlement_sharded():
    @task
    def ingest(params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, ingest_step

        return ingest_step(business_date_of_run(params, logical_date))

    @task
    def split(params=None, logical_date=None) -> list[int]:
        from seisan.steps import business_date_of_run, split_step

        return split_step(business_date_of_run(params, logical_date), shards=int(params["shards"]))["shards"]

    @task
    def shard_marts(shard: int, params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, shard_marts_step

        return shard_marts_step(business_date_of_run(params, logical_date), shard, shards=int(params["shards"]))

    @task
    def merge(shard_builds, params=None, logical_date=None) -> dict:
        from seisan.steps import business_date_of_run, merge_step

        return merge_step(business_date_of_run(params, logical_date), shards=int(params["shards"]),
                          shard_builds=list(shard_builds))

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

    shards = split()
    ingest() >> shards
    merge(shard_marts.expand(shard=shards)) >> quality() >> reconcile() >> gate() >> payments() >> report()


settlement_sharded()
