"""`seisan demo`: simulate a small world into SEISAN_HOME/inbox and run the daily DAG for each of its days.

The demo owns its home: it writes a marker file there and, when asked for a fresh start, removes only what an
earlier demo wrote. It refuses to touch a SEISAN_HOME that holds anything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from collections.abc import Callable

from seisan.config import ConfigError, Settings
from seisan.demo_payments import (
    APPROVER,
    DemoOfficers,
    demo_officers,
    pay_day,
    payout_story,
    work_breaks,
    worked_municipality,
)
from seisan.home_lock import LOCK_FILE_NAME

DEMO_MARKER = ".seisan-demo"
_DEMO_OWNED = ("inbox", "raw", "out", "warehouse.duckdb", "warehouse.duckdb.wal", "dbt", "bank-outbox",
               "demo-officers.toml", "console.sqlite3", "console-secret")


def prepare_demo_home(settings: Settings, fresh: bool) -> None:
    """Make SEISAN_HOME ready for a demo; with `fresh`, clear what an earlier demo left."""
    home = settings.home
    marker = home / DEMO_MARKER
    if home.exists() and any(p.name != LOCK_FILE_NAME for p in home.iterdir()) and not marker.exists():
        raise ConfigError(f"SEISAN_HOME={home} already holds data that no demo wrote; point SEISAN_HOME at an "
                          "empty folder (e.g. SEISAN_HOME=./var/demo seisan demo) so nothing real is touched")
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by seisan demo; `seisan demo` may clear this folder\n")
    if fresh:
        for name in _DEMO_OWNED:
            path = home / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        if settings.inbox.exists() and settings.inbox.parent != home:
            raise ConfigError(f"the inbox {settings.inbox} is outside SEISAN_HOME; unset SEISAN_INBOX for the demo")


def run_demo(settings: Settings, progress: Callable[[str], None], fresh: bool = True) -> None:
    """Simulate, run every day through the DAG, and print what happened and where it is."""
    from seisan.cli_recon import print_recon_outcome, report_path
    from seisan.summary import format_ingest_report, ingest_report
    from simulator import simulate

    demo = settings.demo
    # The demo delivers its own files, complete, just before each run: no settle time to wait for.
    settings = dataclasses.replace(settings, settle_seconds=0)
    prepare_demo_home(settings, fresh)
    started = time.monotonic()
    progress(f"seisan demo: {demo.municipalities} municipalities, {demo.residents:,} residents, {demo.days} days "
             f"from {demo.start}, faults={demo.faults}, seed={demo.seed}")
    progress(f"[1/3] simulating the world into {settings.inbox}")
    simulate(settings.inbox, demo.start, demo.days, demo.municipalities, demo.residents, demo.seed,
             faults=demo.faults, progress=lambda m: progress("      " + m))
    progress(f"[2/3] running settlement_daily for each business date (Airflow in-process, home "
             f"{settings.airflow_home}); then two demo officers sign the day's payment files and the simulated "
             f"bank executes them")
    officers = demo_officers(settings)
    try:
        _run_days(settings, officers, progress)
    finally:
        officers.close()   # the demo officers' private keys live only as long as the demo
    progress("[3/3] summary of all runs")
    progress(format_ingest_report(ingest_report(settings.warehouse)))
    last_day = demo.start + dt.timedelta(days=demo.days - 1)
    print_recon_outcome(settings, last_day, progress)
    for line in payout_story(settings):
        progress(line)
    reports = _write_reports(settings, progress)
    progress(f"done in {time.monotonic() - started:.0f} s. Where everything is:")
    for label, path in (("inbox (simulated deliveries)", settings.inbox),
                        ("injected faults (ground truth)", settings.inbox / "faults.json"),
                        ("warehouse (DuckDB: raw.*, marts.*)", settings.warehouse),
                        ("raw Parquet", settings.raw_dir), ("Airflow home and task logs", settings.airflow_home),
                        ("outputs", settings.out_dir),
                        ("reconciliation report (last day)", report_path(settings, last_day)),
                        ("payment files and manifests", settings.out_dir / "<D>" / "payments"),
                        ("handed over to the bank", officers.settings.payments_export_dir),
                        ("what the simulated bank executed", settings.inbox / "bank-sim" / "executed.json"),
                        *reports):
        progress(f"  {label:<36} {path}")
    progress("  look inside: uv run seisan sql \"select reason_code, count(*) from raw.quarantine group by 1\"")
    from seisan.cli_console import console_command_line, demo_accounts

    progress("the officers' console on this demo's data (nothing is left running; start it, then open the address "
             "it prints; Ctrl-C stops it):")
    progress(f"      {console_command_line(settings)}")
    shown = worked_municipality(settings) or _first_municipality(settings)
    for name, role, password in demo_accounts(settings, shown):
        progress(f"      {role:<12} {name:<16} password {password}")


def _first_municipality(settings: Settings) -> str:
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select min(municipality_code) from marts.dim_municipalities").fetchone()[0]


def _write_reports(settings: Settings, progress: Callable[[str], None]) -> list[tuple[str, object]]:
    """The month's cost and usage reports (PDF, Excel, national summary) and the merchants' settlement statements
    of every payout planned; (label, path) lines for the summary."""
    import duckdb

    from audit.verify import verify_audit
    from reports.monthly_figures import Month
    from seisan.cli_audit import audit_pack
    from seisan.cli_reports_monthly import monthly_dir, monthly_reports
    from seisan.cli_reports_statements import write_merchant_statements

    demo = settings.demo
    month = Month(demo.start.year, demo.start.month)
    progress(f"monthly cost and usage reports for {month} (the demo's days; the report says the month is not over):")
    monthly_reports(settings, month, progress=progress)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        days = [row[0] for row in con.execute("select distinct business_date from payments.batches order by 1")
                .fetchall()]
    statements = sum(len(write_merchant_statements(settings, business_date=day)) for day in days)
    progress(f"merchant settlement statements (精算明細書): {statements} PDF(s), one per payout")
    pack, _ = audit_pack(settings, str(month))
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        check = verify_audit(con, settings.home)
    progress(f"audit pack for {month}: {len(pack.files)} files; audit verify: "
             f"{'OK' if check.ok else f'FAILED ({len(check.problems)} problems)'} — {check.step_runs_head.rows} "
             f"step runs and {check.outputs_head.rows} output versions chained, {check.outputs_checked} "
             f"recorded files hashed again (try: uv run seisan trace file <an inbox file>)")
    return [("monthly reports (PDF, Excel, national)", monthly_dir(settings, month)),
            ("merchant statements", settings.out_dir / "<D>" / "statements"),
            ("audit pack (folder and zip)", pack.zip_path)]


def _run_days(settings: Settings, officers: DemoOfficers, progress: Callable[[str], None]) -> None:
    """Each day: deliver its late files, run settlement_daily, then its payment files (seisan/demo_payments.py)."""
    from seisan.airflow_runner import run_daily_dag
    from seisan.cli_recon import gate_counts
    from seisan.summary import ingest_report, step_seconds
    from simulator import deliver

    demo = settings.demo
    worked = worked_municipality(settings)
    if worked:
        progress(f"      each morning {APPROVER} works the breaks of "
                 f"{worked} only (the municipality with a wrong merchant account); the others stay as found")
    for offset in range(demo.days):
        day = demo.start + dt.timedelta(days=offset)
        arrived = deliver(settings.inbox, day)
        day_started = time.monotonic()
        result = run_daily_dag(settings, day)
        report = ingest_report(settings.warehouse, day)
        steps = step_seconds(settings.warehouse, day)
        progress(f"      {day} ({offset + 1}/{demo.days}): {result.state} in {time.monotonic() - day_started:.1f} s "
                 f"(ingest {steps.get('ingest', 0):.1f} s, marts {steps.get('build_marts', 0):.1f} s); "
                 f"{len(arrived)} late or repeated deliveries; {report.rows_loaded:,} records loaded, "
                 f"{report.rows_quarantined:,} quarantined; {gate_counts(settings, day)}")
        work_breaks(officers, day, worked, progress)
        pay_day(officers, day, progress)
