"""The reconciliation commands of `seisan` (registered by one line each in seisan/cli.py):

    seisan reconcile --date D                   quality → reconcile → gate → report for D, without Airflow
    seisan report daily --date D [--language]   rewrite the daily reconciliation report of D

and `print_recon_outcome`, which `seisan run`, `seisan reconcile` and `seisan demo` use to print each
municipality's gate, its reasons and where the report is. A blocked gate or a failed expectation is an outcome
(exit status 0); only a step that could not do its work is a failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from seisan.cli_common import date_arg as _date
from seisan.cli_common import holding_home as _holding_home
from seisan.cli_common import say as _say
from seisan.config import Settings, load_settings


def report_path(settings: Settings, date: dt.date) -> Path:
    from reports.daily_recon import html_path_for

    return html_path_for(settings.out_dir / date.isoformat(), date)


def print_recon_outcome(settings: Settings, date: dt.date, say: Callable[[str], None] = _say) -> None:
    """Each municipality's gate for `date`, the breaks and the report's path, read back from the warehouse."""
    import duckdb

    from reports.daily_recon import break_totals, format_gate_outcomes, gate_outcomes

    if not settings.warehouse.is_file():
        return
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        outcomes, totals = gate_outcomes(con, date), break_totals(con, date)
    path = report_path(settings, date)
    say(format_gate_outcomes(outcomes, date, path if path.is_file() else None, totals))


def gate_counts(settings: Settings, date: dt.date) -> str:
    """`gates: N open, M blocked` for one run date (for the demo's line per day)."""
    import duckdb

    from reports.daily_recon import gate_outcomes

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        outcomes = gate_outcomes(con, date)
    blocked = sum(1 for o in outcomes if o.status != "open")
    return f"gates: {len(outcomes) - blocked} open, {blocked} blocked"


def _warehouse_or_fail(settings: Settings, date: dt.date) -> None:
    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan ingest --date {date}` and "
                                f"`seisan marts --date {date}` (or `seisan run --date {date}`) first")


def cmd_reconcile(args: argparse.Namespace) -> int:
    from reconciliation.gate import GateInputMissing
    from seisan.steps import gate_step, quality_step, reconcile_step, report_step

    settings = load_settings()
    _warehouse_or_fail(settings, args.date)
    with _holding_home(settings, f"seisan reconcile --date {args.date}"):
        _say(f"reconciling {args.date} in {settings.warehouse}: quality → reconcile → gate → report")
        try:
            quality_step(args.date, settings)
            reconcile_step(args.date, settings, full=args.full)
            gate_step(args.date, settings)
        except GateInputMissing as exc:
            print(f"seisan: {exc}", file=sys.stderr)
            return 1
        report_step(args.date, settings)
        print_recon_outcome(settings, args.date)
    return 0


def cmd_report_daily(args: argparse.Namespace) -> int:
    from seisan.steps import report_step

    settings = load_settings()
    _warehouse_or_fail(settings, args.date)
    with _holding_home(settings, f"seisan report daily --date {args.date}"):
        summary = report_step(args.date, settings, language=args.language)
    _say(f"reconciliation report: {summary['html_path']}")
    _say(f"breaks CSV:            {summary['csv_path']}")
    return 0


def add_reconcile_command(commands) -> None:
    """`seisan reconcile --date D`."""
    rec = commands.add_parser(
        "reconcile", help="data quality, matching, breaks, gate and report for one business date (no Airflow)",
        description="For DATE, after `seisan marts`: run the data-quality checkpoint (Data Docs under "
                    "out/<D>/data-docs/), match every source against every other and update the breaks, decide "
                    "each municipality's release gate, and write out/<D>/reconciliation-<D>.html and "
                    "out/<D>/breaks-<D>.csv. A blocked gate is an outcome (exit status 0).")
    rec.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    rec.add_argument("--full", action="store_true",
                     help="match every pair over its whole history, also the pairs that otherwise match only the "
                          "dates changed since their previous run (platform_balances): the full check, on demand")
    rec.set_defaults(handler=cmd_reconcile)


def add_report_command(commands) -> None:
    """`seisan report daily --date D [--language ja|en]`."""
    from seisan.config import REPORT_LANGUAGES

    report = commands.add_parser("report", help="write a report again (today: the daily reconciliation report)",
                                 description="Write a report from what the warehouse holds, without running "
                                             "anything else.")
    kinds = report.add_subparsers(dest="report", required=True, metavar="REPORT")
    daily = kinds.add_parser("daily", help="the daily reconciliation report of one business date",
                             description="Write out/<D>/reconciliation-<D>.html and out/<D>/breaks-<D>.csv from "
                                         "the gate, matches and breaks of DATE (run `seisan reconcile` first).")
    daily.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    daily.add_argument("--language", choices=REPORT_LANGUAGES, default=None,
                       help="ja or en (default: [report] language in seisan.toml, ja)")
    daily.set_defaults(handler=cmd_report_daily)
