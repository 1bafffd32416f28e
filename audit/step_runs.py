"""`audit.step_runs`: one row per step run — business date, step, start, end, seconds, and the step's JSON
summary. Appended by every step (DAG task or command line), read by `seisan demo` and auditors.

Hash-chained (audit.chain): each row carries seq, prev_hash and row_hash; a table written before the chain is
chained in place, in insertion order, by the first append after the upgrade."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from audit.chain import ChainedTable, append, migrate

STEP_RUNS_DDL = """
create schema if not exists audit;
create table if not exists audit.step_runs (
    business_date date not null,
    step varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    seconds double not null,
    summary json,
    seq bigint,
    prev_hash varchar,
    row_hash varchar
)
"""
STEP_RUNS = ChainedTable("audit.step_runs", ("business_date", "step", "started_at", "finished_at", "seconds",
                                             "summary"),
                         frozenset({"started_at", "finished_at"}), ("step", "business_date", "started_at"))


@dataclass(frozen=True, slots=True)
class StepRun:
    """One finished step run. started_at / finished_at: aware UTC times; summary: the step's JSON-able result."""

    business_date: dt.date
    step: str
    started_at: dt.datetime
    finished_at: dt.datetime
    summary: dict[str, Any]

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def record_step_run(con, run: StepRun) -> None:
    """Append `run` to audit.step_runs, chained to the row before it (creating or chaining the table first)."""
    ensure_step_runs(con)
    append(con, STEP_RUNS, [{"business_date": run.business_date, "step": run.step, "started_at": run.started_at,
                             "finished_at": run.finished_at, "seconds": run.seconds,
                             "summary": json.dumps(run.summary, ensure_ascii=False, sort_keys=True)}])


def ensure_step_runs(con) -> int:
    """Create audit.step_runs, or chain one written before the chain; returns the rows chained now."""
    con.execute(STEP_RUNS_DDL)
    return migrate(con, STEP_RUNS)


def latest_step_seconds(con, business_date: dt.date) -> dict[str, float]:
    """Seconds each step took for `business_date` in its latest run (empty when no step ran yet)."""
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'audit' and table_name = 'step_runs'").fetchone()[0]
    if not exists:
        return {}
    rows = con.execute("select step, arg_max(seconds, finished_at) from audit.step_runs "
                       "where business_date = ? group by step", [business_date]).fetchall()
    return {step: float(seconds) for step, seconds in rows}
