"""The step functions the daily DAG calls, one per task. Each takes the business date as text (what Airflow
passes), reads the settings, does one step for that date, and returns a small JSON-able summary.

Every step is idempotent for its business date: running it again gives the same tables.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from seisan.config import Settings, load_settings

log = logging.getLogger("seisan")


def parse_business_date(value: str | dt.date) -> dt.date:
    """A business date from `YYYY-MM-DD` text (or a date); a clear error otherwise."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"business date must be YYYY-MM-DD, got {value!r}") from exc


def ingest_step(business_date: str | dt.date, settings: Settings | None = None) -> dict[str, Any]:
    """Inbox → raw for one business date (every file named for it or earlier not loaded yet)."""
    import duckdb

    from ingestion import Limits, ingest

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.inbox.mkdir(parents=True, exist_ok=True)
    limits = Limits(max_file_bytes=settings.max_file_bytes, max_records=settings.max_records)
    started = dt.datetime.now(dt.UTC)
    with duckdb.connect(str(settings.warehouse)) as con:
        summary = _jsonable(ingest(con, settings.inbox, settings.raw_dir, date, limits=limits, progress=log.info,
                                       settle_seconds=settings.settle_seconds))
    record_step_run(settings.warehouse, date, "ingest", started, summary)
    write_ingest_outputs(settings.warehouse, settings.out_dir / date.isoformat(), date)
    return summary


def write_ingest_outputs(warehouse: Path, out_dir: Path, run_date: dt.date) -> list[Path]:
    """The officer's and auditor's record of one ingest run, as CSV under out/<D>/:
    `ingest_files.csv` (every file the run saw: path, SHA-256, status, records read/loaded/quarantined, reason)
    and `ingest_quarantine.csv` (every quarantined record: where, why, and its text with My Numbers masked).
    Rewritten whole on every run of the date, so re-running gives the same files."""
    import duckdb

    out_dir.mkdir(parents=True, exist_ok=True)
    queries = {
        "ingest_files.csv": "select path, file_sha256, source, kind, business_date, status, rows_read, rows_loaded, "
                            "rows_quarantined, reason_code, detail from raw.file_manifest "
                            "where ingest_run_date = $d order by path, file_sha256",
        "ingest_quarantine.csv": "select path, file_sha256, line_number, reason_code, detail, raw_text "
                                 "from raw.quarantine where ingest_run_date = $d "
                                 "order by path, file_sha256, line_number, reason_code",
    }
    written = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name, query in queries.items():
            target = out_dir / name
            quoted = str(target).replace("'", "''")  # COPY takes a literal path, not a parameter
            con.execute(f"copy ({query}) to '{quoted}' (header, delimiter ',')", {"d": run_date})
            written.append(target)
    return written


def build_marts_step(business_date: str | dt.date, settings: Settings | None = None,
                     full_refresh: bool = False) -> dict[str, Any]:
    """raw → staging → marts with dbt for one business date (`full_refresh`: rebuild every mart from raw)."""
    from seisan.marts import build_marts

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    started = dt.datetime.now(dt.UTC)
    result = _jsonable(build_marts(settings.warehouse, date, full_refresh=full_refresh, progress=log.info))
    record_step_run(settings.warehouse, date, "build_marts", started, result)
    return result


STEP_RUNS_DDL = """
create schema if not exists audit;
create table if not exists audit.step_runs (
    business_date date not null,
    step varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    seconds double not null,
    summary json
)
"""


def record_step_run(warehouse: Path, business_date: dt.date, step: str, started_at: dt.datetime,
                    summary: dict[str, Any]) -> None:
    """Append one row to audit.step_runs: which step ran for which business date, when, how long, and what it
    reported. The trail auditors and `seisan demo` read; never used to decide anything."""
    import duckdb

    finished_at = dt.datetime.now(dt.UTC)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(STEP_RUNS_DDL)
        con.execute("insert into audit.step_runs values (?, ?, ?, ?, ?, ?)",
                    [business_date, step, started_at, finished_at, (finished_at - started_at).total_seconds(),
                     json.dumps(summary, ensure_ascii=False, sort_keys=True)])


def _jsonable(value: Any) -> Any:
    """Dataclasses, dates and mappings as plain JSON values (XCom carries JSON)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
