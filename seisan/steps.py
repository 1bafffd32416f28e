"""The step functions the daily DAG calls, one per task, and the one rule that says which business date a DAG
run is for. Each step takes the business date, reads the settings, holds the home's lock, calls the room that
does the work (ingestion, seisan.marts, reconciliation, reports, audit), and returns a small JSON-able summary.
This module only wires: the matching, breaks and gate are `reconciliation`'s, the reports `reports`', the trail
`audit`'s.

Every step is idempotent for its business date: running it again gives the same tables and files.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from contracts.codes import mask_my_numbers
from contracts.jst import JST
from seisan.config import Settings, load_settings
from seisan.home_lock import hold_home

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("seisan")
BUSINESS_DATE_PARAM = "business_date"


class _NoMyNumbers(logging.Filter):
    """What seisan logs (and so what lands in Airflow's task logs) never carries a My Number, whatever a file
    name or a message from a room holds: each record is masked before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = mask_my_numbers(message), None
        return True


log.addFilter(_NoMyNumbers())


def _warehouse(settings: Settings, read_only: bool = False,
               memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A step's connection to the warehouse, under `memory_limit` or else `[warehouse] memory_limit` (the dbt
    builds of the marts run under `[warehouse] build_memory_limit`, through build_marts, and the reconcile step
    under `[warehouse] match_memory_limit`). Each step reads most of what it reads once, yet
    DuckDB keeps the blocks it read up to its default limit, 80 % of RAM: at 1,000,000 residents 1.3 GiB of an
    ingest's 2.3 GiB, and 1.0 GiB more at the data-quality step's peak."""
    import duckdb

    return without_progress_bar(duckdb.connect(str(settings.warehouse), read_only=read_only,
                                               config={"memory_limit": memory_limit or settings.memory_limit}))


def without_progress_bar(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """`con` with DuckDB's own progress bar off: it draws on stdout for any statement over two seconds, between a
    step's progress lines in a task's log and through a benchmark's report. (A connection's setting: DuckDB refuses
    it in `connect`'s config.)"""
    con.execute("SET enable_progress_bar = false")
    return con


def parse_business_date(value: str | dt.date) -> dt.date:
    """A business date from `YYYY-MM-DD` text (or a date); a clear error otherwise."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"business date must be YYYY-MM-DD, got {value!r}") from exc


def business_date_of_run(params: Mapping[str, Any] | None, logical_date: dt.datetime | None,
                         now: dt.datetime | None = None) -> dt.date:
    """The business date a DAG run settles: its `business_date` param when set, else the day before the run's
    logical date (or, for a run without one, now) in Asia/Tokyo — the 06:00 JST run settles yesterday."""
    chosen = str((params or {}).get(BUSINESS_DATE_PARAM) or "").strip()
    if chosen:
        return parse_business_date(chosen)
    moment = logical_date or now or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError(f"the run's logical date {moment} has no time zone; cannot tell its date in Asia/Tokyo")
    return moment.astimezone(JST).date() - dt.timedelta(days=1)


def ingest_step(business_date: str | dt.date, settings: Settings | None = None) -> dict[str, Any]:
    """Inbox → raw for one business date (every file named for it or earlier not loaded yet), then the ingest
    reports under out/<D>/ and a row in audit.step_runs."""

    from ingestion import Limits, ingest
    from reports import write_ingest_reports

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan ingest --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        settings.inbox.mkdir(parents=True, exist_ok=True)
        limits = Limits(max_file_bytes=settings.max_file_bytes, max_records=settings.max_records)
        started = dt.datetime.now(dt.UTC)
        with _warehouse(settings) as con:
            summary = _jsonable(ingest(con, settings.inbox, settings.raw_dir, date, limits=limits,
                                       progress=log.info,
                                       settle_seconds=settings.settle_seconds,
                                       archive=settings.archive_dir))
        _record(settings, date, "ingest", started, summary)
        with _warehouse(settings, read_only=True) as con:
            written = write_ingest_reports(con, settings.out_dir / date.isoformat(), date)
        record_written(settings, date, "ingest", [(written, "ingest_report")])
    return summary


def build_marts_step(business_date: str | dt.date, settings: Settings | None = None,
                     full_refresh: bool = False, full_check: bool = False, unit_tests: bool = False) -> dict[str, Any]:
    """raw → staging → marts with dbt for one business date (`full_refresh`: rebuild every mart from raw;
    `full_check`: the data tests check every day, not only the days this run changed, and the dbt unit tests run;
    `unit_tests`: the dbt unit tests run, else only when the project changed since they last passed here)."""
    from seisan.marts import build_marts

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan marts --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        started = dt.datetime.now(dt.UTC)
        result = _jsonable(build_marts(settings.warehouse, date, full_refresh=full_refresh, full_check=full_check,
                                        unit_tests=True if unit_tests else None, progress=log.info,
                                        memory_limit=settings.build_memory_limit))
        _record(settings, date, "build_marts", started, result)
    return result


def split_step(business_date: str | dt.date, settings: Settings | None = None, *, shards: int) -> dict[str, Any]:
    """The sharded run's first marts step: each shard's warehouse gets the raw rows of its municipalities it does
    not hold yet (seisan.shards.split_raw). Returns the shard numbers for the mapped shard builds."""

    from seisan.shards import split_raw

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan split --date {date} --shards {shards}",
                   wait_seconds=settings.lock_wait_seconds, say=log.info):
        started = dt.datetime.now(dt.UTC)
        with _warehouse(settings) as con:
            result = split_raw(con, settings.home, shards, date, progress=log.info,
                               lock_wait_seconds=settings.lock_wait_seconds)
        summary = {**_jsonable(result), "shards": list(range(shards))}
        _record(settings, date, "split", started, summary)
    return summary


def shard_marts_step(business_date: str | dt.date, shard: int, settings: Settings | None = None, *,
                     shards: int, full_check: bool = False) -> dict[str, Any]:
    """One shard's marts (seisan.shards.build_shard): a process of its own, on any worker that reaches the home.
    It writes only the shard's folder, so it takes the shard's lock, not the home's; the merge records it."""
    from seisan.shards import build_shard

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    return build_shard(settings.home, shards, int(shard), date, full_check=full_check, progress=log.info,
                       lock_wait_seconds=settings.lock_wait_seconds, memory_limit=settings.build_memory_limit)


def merge_step(business_date: str | dt.date, settings: Settings | None = None, *, shards: int,
               shard_builds: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The sharded run's last marts step: the shards' tables replace the national ones (seisan.shards.merge_shards),
    then dbt builds the rest of the project on the national warehouse. Recorded as the day's build_marts, with
    the shard builds it merged."""

    from seisan.marts import build_marts
    from seisan.shards import NATIONAL_EXCLUDE, merge_shards

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan merge --date {date} --shards {shards}",
                   wait_seconds=settings.lock_wait_seconds, say=log.info):
        started = dt.datetime.now(dt.UTC)
        with _warehouse(settings) as con:
            merged = merge_shards(con, settings.home, shards, date, progress=log.info,
                                  lock_wait_seconds=settings.lock_wait_seconds)
        national = build_marts(settings.warehouse, date, exclude=NATIONAL_EXCLUDE,
                               balances_changed_from=merged.balances_changed_from or dt.date.max,
                               progress=log.info, memory_limit=settings.build_memory_limit)
        summary = {"merge": _jsonable(merged), "shard_builds": _jsonable(list(shard_builds)),
                   "national_build": _jsonable(national)}
        _record(settings, date, "build_marts", started, summary)
    return summary


def quality_step(business_date: str | dt.date, settings: Settings | None = None) -> dict[str, Any]:
    """The data-quality checkpoint for one business date: recon.check_results, recon.source_freshness and the
    Data Docs under out/<D>/data-docs/. A failed expectation is a result (the gate reads it), not an error."""

    from reconciliation import quality

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan quality --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        started = dt.datetime.now(dt.UTC)
        docs_dir = settings.out_dir / date.isoformat() / "data-docs"
        with _warehouse(settings) as con:
            summary = _jsonable(quality.run_checkpoint(con, date, docs_dir))
        _record(settings, date, "quality", started, summary, outputs=[([docs_dir], "data_docs")])
    return summary


def reconcile_step(business_date: str | dt.date, settings: Settings | None = None, *,
                   full: bool = False) -> dict[str, Any]:
    """Match every source against every other for one business date (recon.findings, recon.match_summary),
    then bring the break store up to date (recon.breaks, recon.break_events). full: every pair over its whole
    history (the pairs with `changes` otherwise match only the dates changed since their previous run)."""

    from reconciliation import breaks, engine

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan reconcile --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        started = dt.datetime.now(dt.UTC)
        # the matching joins a whole day's balances snapshot (and the whole-history pairs); under 512MB that join
        # ran out of memory on day 3 of a 3,500,000-resident world (docs/scaling.md)
        with _warehouse(settings, memory_limit=settings.match_memory_limit) as con:
            matching = engine.run_matching(con, date, full=full)
            synced = breaks.sync_breaks(con, date, now=dt.datetime.now(dt.UTC))
        summary = {"matching": _jsonable(matching), "breaks": _jsonable(synced)}
        _record(settings, date, "reconcile", started, summary)
    return summary


def gate_step(business_date: str | dt.date, settings: Settings | None = None) -> dict[str, Any]:
    """Decide each municipality's release gate for one business date (recon.gate). A blocked gate is an
    outcome, logged with its reasons; payments pay only what an open gate released."""

    from reconciliation.gate import decide_gates

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan gate --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        started = dt.datetime.now(dt.UTC)
        with _warehouse(settings) as con:
            decisions = decide_gates(con, date, materiality_yen=settings.materiality_yen, now=started)
        for decision in decisions:
            log.info("gate %s %s: %s%s", date, decision.municipality_code, decision.status,
                     "".join(f"; {reason.detail}" for reason in decision.reasons))
        summary = {"materiality_yen": settings.materiality_yen,
                   "open": [d.municipality_code for d in decisions if d.is_open],
                   "blocked": {d.municipality_code: [str(r.code) for r in d.reasons]
                               for d in decisions if not d.is_open}}
        _record(settings, date, "gate", started, summary)
    return summary


def payments_step(business_date: str | dt.date, settings: Settings | None = None) -> dict[str, Any]:
    """The payments part of the day, after the gate: what the bank did with earlier files (confirmations, fee
    checks, 振込不能 returns), then each municipality whose gate is open: its closed periods frozen into
    statements and one payout batch planned (payments.ledger, payments.planning). Files are prepared and
    approved by officers afterwards (seisan payments prepare|approve|export, or the DAG payments_approval)."""

    from payments.daily import run_payments_day

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan payments --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        started = dt.datetime.now(dt.UTC)
        with _warehouse(settings) as con:
            summary = run_payments_day(con, date, now=started.replace(tzinfo=None))
        for muni in summary["municipalities"]:
            log.info("payments %s %s: %s", date, muni["municipality_code"],
                     f"batch {muni['batch_id']}, {muni['payouts']} payouts, {muni['total_transfer_yen']:,} yen"
                     if muni["batch_id"] else (muni["note"] or "nothing to pay"))
        _record(settings, date, "payments", started, summary)
    return summary


def report_step(business_date: str | dt.date, settings: Settings | None = None,
                language: str | None = None) -> dict[str, Any]:
    """The daily reconciliation report for one business date: out/<D>/reconciliation-<D>.html (in
    `language`, default the `[report] language` setting) and out/<D>/breaks-<D>.csv."""

    from reports.daily_recon import write_daily_recon_report

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    with hold_home(settings.home, f"seisan report daily --date {date}", wait_seconds=settings.lock_wait_seconds,
                   say=log.info):
        started = dt.datetime.now(dt.UTC)
        with _warehouse(settings, read_only=True) as con:
            report = write_daily_recon_report(con, settings.out_dir / date.isoformat(), date,
                                              language=language or settings.report_language)
        summary = _jsonable(report)
        log.info("reconciliation report for %s: %s", date, report.html_path)
        _record(settings, date, "report", started, summary,
                outputs=[([report.html_path], "daily_report"), ([report.csv_path], "breaks_csv")])
    return summary


def _record(settings: Settings, date: dt.date, step: str, started_at: dt.datetime, summary: dict[str, Any],
            outputs: Sequence[tuple[Sequence[Path], str]] = ()) -> None:
    """The step's row in audit.step_runs, then the files it wrote in audit.outputs (one connection)."""

    from audit import StepRun, record_outputs, record_step_run

    run = StepRun(date, step, started_at, dt.datetime.now(dt.UTC), summary)
    with _warehouse(settings) as con:
        record_step_run(con, run)
        for paths, kind in outputs:
            record_outputs(con, paths, kind=kind, business_date=date, base_dir=settings.home, step=step)


def record_written(settings: Settings, date: dt.date | None, step: str,
                   outputs: Sequence[tuple[Sequence[Path], str]]) -> None:
    """The files a step or command wrote, in audit.outputs (recording only; a new version only where the bytes
    changed). Without a warehouse (files made outside the ledger) there is no trail to write to."""
    if not settings.warehouse.is_file():
        return

    from audit import record_outputs

    with _warehouse(settings) as con:
        for paths, kind in outputs:
            if paths:
                record_outputs(con, paths, kind=kind, business_date=date, base_dir=settings.home, step=step)


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
    if isinstance(value, PurePath):
        return str(value)
    return value


SHARDED_RUN_STEPS = ("ingest", "split", "shard_marts", "merge", "quality", "reconcile", "gate", "payments", "report")


def run_sharded_day(business_date: str | dt.date, settings: Settings | None = None, *, shards: int,
                    workers: int) -> dict[str, Any]:
    """The daily run of the DAG settlement_sharded without Airflow: ingest, split, the shards' marts built by
    `workers` processes at once, merge, then quality → reconcile → gate → payments → report on the national
    warehouse. Holds the home's lock throughout (the worker processes hold only their shards'). Returns each
    step's summary by name, and `seconds`: each step's wall time (shard_marts: all the shard builds)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    settings = settings or load_settings()
    date = parse_business_date(business_date)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    summary: dict[str, Any] = {}
    seconds: dict[str, float] = {}

    def timed(name: str, call: Callable[[], Any]) -> None:
        began = time.perf_counter()
        summary[name] = call()
        seconds[name] = round(time.perf_counter() - began, 3)

    def shard_builds() -> list[dict[str, Any]]:
        log.info("building the marts of %d shards for %s on %d worker processes", shards, date, workers)
        with ProcessPoolExecutor(max_workers=min(workers, shards),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(shard_marts_step, date.isoformat(), shard, settings, shards=shards)
                       for shard in summary["split"]["shards"]]
            return [future.result() for future in futures]

    with hold_home(settings.home, f"seisan run --date {date} --shards {shards}",
                   wait_seconds=settings.lock_wait_seconds, say=log.info):
        timed("ingest", lambda: ingest_step(date, settings))
        timed("split", lambda: split_step(date, settings, shards=shards))
        timed("shard_marts", shard_builds)
        timed("merge", lambda: merge_step(date, settings, shards=shards, shard_builds=summary["shard_marts"]))
        for name, step in (("quality", quality_step), ("reconcile", reconcile_step), ("gate", gate_step),
                           ("payments", payments_step), ("report", report_step)):
            timed(name, lambda step=step: step(date, settings))
    summary["seconds"] = seconds
    return summary
