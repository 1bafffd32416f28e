"""
### payments_approval — the day's payment files, approved per municipality by an officer, then handed over

For business date D: **prepare** the day's Zengin 総合振込 files (one per municipality paying account and transfer
date, only for municipalities whose gate is open) signed by the service preparer `[officer] id`; then **approve**
waits, per municipality, for a human decision (Airflow's human-in-the-loop operator, *Browse → Required
Actions*), showing the payout summary: payouts, fees, totals, who prepared; then **export** hands over the files
of every municipality answered *Approve* to the bank folder, once each, and marks their payouts issued.

**Four eyes**: choosing *Approve* is not a signature. The approver first signs with their own key on their own
machine (`seisan payments approve FILE`, the command is in the request); export hands over only files whose
manifest carries both signatures (a different, registered approver), and says why for any other. An unanswered
request defaults to *Reject* after two days (nothing is paid; run the DAG again for D to ask again).

**Chaining**: runs when the asset `seisan://settlement_daily/report` is updated (settlement_daily's last task
declares it as its outlet, with `business_date` in the event's extra) or when triggered with `business_date`.
**Re-running**: every task is idempotent for its business date: files are byte-identical, nothing is paid twice.
From the command line: `seisan payments prepare|approve|export` (docs/payments.md, "Payment files").
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Asset, Param, dag, task

SETTLEMENT_DONE = Asset("seisan://settlement_daily/report")  # the same URI in both DAG files (test)


def _hitl_kwargs(request: dict) -> dict:
    return {"subject": request["subject"], "body": request["body"]}


@dag(
    dag_id="payments_approval",
    schedule=[SETTLEMENT_DONE],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["seisan", "payments"],
    doc_md=__doc__,
    params={"business_date": Param("", type="string", description="YYYY-MM-DD; empty = from settlement_daily")},
)
def payments_approval():
    @task
    def prepare(params=None, logical_date=None, triggering_asset_events=None) -> list[dict]:
        from seisan.payments_file_steps import business_date_for_payments, prepare_step

        return prepare_step(business_date_for_payments(params, logical_date, triggering_asset_events))

    @task(trigger_rule="none_failed")
    def export(requests: list[dict], decisions, params=None, logical_date=None,
               triggering_asset_events=None) -> dict:
        from seisan.payments_file_steps import business_date_for_payments, export_step

        date = business_date_for_payments(params, logical_date, triggering_asset_events)
        return export_step(date, requests, decisions)

    requests = prepare()
    decisions = HITLOperator.partial(
        task_id="approve", options=["Approve", "Reject"], defaults=["Reject"],
        response_timeout=dt.timedelta(days=2),
    ).expand_kwargs(requests.map(_hitl_kwargs))
    export(requests, decisions.output)


payments_approval()
