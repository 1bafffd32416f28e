"""The `seisan` command line: one entry point, a sub-command per job, `--help` on every one.

    seisan simulate --out DIR --start D --days N ...   write a simulated inbox (and faults.json)
    seisan ingest --date D                              inbox → raw for D, without Airflow
    seisan marts --date D [--full-refresh] [--full-check] [--unit-tests]   dbt marts for D, without Airflow
    seisan run --date D                                 the daily DAG for D, in-process
    seisan run --date D --shards N [--workers W]        the same day, marts built per shard, W task processes
    seisan reconcile --date D [--full]                  quality, matching, breaks, gate and report for D
    seisan report daily --date D [--language en]        the daily reconciliation report of D again
    seisan report monthly --month YYYY-MM [--municipality CODE]  monthly cost and usage reports (PDF, Excel)
    seisan report statements --date D | --payout ID     merchant settlement statements (精算明細書)
    seisan report prepaid --date YYYY-03-31|09-30       prepaid unused balance and deposit at a 基準日
    seisan demo                                         simulate a small world and run every day of it
    seisan sql QUERY                                    read-only query against the warehouse
    seisan audit verify | pack --month M                the hash-chained audit trail; the month's audit pack
    seisan trace KIND ID                                a payout, item, event, record or break to its inbox lines
    seisan console [--port 8710]                        the officers' console in a browser (docs/console.md)

Errors are printed as one clear sentence saying what to do next, with exit status 2 (usage) or 1 (failure).
ingest, marts, run and demo hold SEISAN_HOME for themselves while they run (sql shares it with other readers):
a second command on the same home waits for the first, then gives up with a sentence (seisan.home_lock).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from seisan.cli_audit import add_audit_commands
from seisan.cli_bank import add_bank_commands
from seisan.cli_breaks import add_breaks_commands
from seisan.cli_common import date_arg as _date
from seisan.cli_common import holding_home as _holding_home
from seisan.cli_common import say
from seisan.cli_console import add_console_commands
from seisan.cli_payments_file import add_officer_commands, add_payments_file_commands
from seisan.cli_payments_plan import payments_subcommands
from seisan.cli_recon import add_reconcile_command, add_report_command, print_recon_outcome
from seisan.cli_reports_monthly import add_report_monthly_command
from seisan.cli_reports_statements import add_statement_report_commands
from seisan.config import ConfigError, load_settings
from seisan.home_lock import HomeBusy


def _activity(text: str) -> float:
    from simulator.world import checked_activity

    try:
        return checked_activity(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _mix(text: str) -> str:
    from simulator.world import checked_mix

    try:
        return checked_mix(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be positive")
    return value


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulator import simulate

    started = time.monotonic()
    simulate(args.out, args.start, args.days, args.municipalities, args.residents, args.seed,
             faults=args.faults, progress=say, workers=args.workers, activity=args.activity,
             mix=args.mix)
    say(f"wrote a simulated inbox to {args.out} in {time.monotonic() - started:.1f} s")
    say(f"ground truth of injected faults: {args.out / 'faults.json'}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from seisan.steps import ingest_step
    from seisan.summary import format_ingest_report, ingest_report

    settings = load_settings()
    with _holding_home(settings, f"seisan ingest --date {args.date}"):
        say(f"ingesting {settings.inbox} for business date {args.date} into {settings.warehouse}")
        ingest_step(args.date, settings)
        say(format_ingest_report(ingest_report(settings.warehouse, args.date)))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from seisan.airflow_runner import run_daily_dag
    from seisan.summary import format_ingest_report, ingest_report

    if args.workers and not args.shards:
        raise ValueError("--workers needs --shards: only the sharded DAG has tasks to run side by side")
    settings = load_settings()
    dag_id, conf = ("settlement_sharded", {"shards": args.shards}) if args.shards else ("settlement_daily", {})
    # With workers, the tasks run in processes of Airflow's executor and each takes the home's lock itself (as
    # under a scheduler); in-process, this command holds it for the whole run and the tasks re-enter it.
    holding = contextlib.nullcontext() if args.workers else _holding_home(settings, f"seisan run --date {args.date}")
    with holding:
        say(f"running {dag_id} for {args.date}"
            + (f": {args.shards} shards" if args.shards else "")
            + (f", {args.workers} worker processes (Airflow's LocalExecutor)" if args.workers else "")
            + f" (SEISAN_HOME={settings.home})")
        started = time.monotonic()
        result = run_daily_dag(settings, args.date, dag_id=dag_id, conf=conf, workers=args.workers)
        say(f"{result.run_id}: {result.state} in {time.monotonic() - started:.1f} s "
            f"({', '.join(f'{t} {s}' for t, s in sorted(result.task_states.items()))})")
        say(format_ingest_report(ingest_report(settings.warehouse, args.date)))
        print_recon_outcome(settings, args.date, say)
        if args.approve_as:
            from seisan.payments_file_steps import payments_on_command_line

            say(f"payment files for {args.date}: prepared as {settings.officer_id or '(no [officer] id)'}, "
                f"each shown to {args.approve_as} to approve")
            payments_on_command_line(settings, args.date, args.approve_as, say=say)
    return 0


def cmd_marts(args: argparse.Namespace) -> int:
    from seisan.steps import build_marts_step

    settings = load_settings()
    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan ingest --date {args.date}` first")
    with _holding_home(settings, f"seisan marts --date {args.date}"):
        say(f"building the marts for {args.date}{' from scratch' if args.full_refresh else ''} in "
            f"{settings.warehouse}")
        result = build_marts_step(args.date, settings, full_refresh=args.full_refresh, full_check=args.full_check,
                                  unit_tests=args.unit_tests)
    say(f"{len(result['models_built'])} models built, {result['tests_passed']} tests passed"
        f"{', warnings: ' + ', '.join(w['name'] for w in result['warnings']) if result.get('warnings') else ''} "
        f"in {result['seconds']:.1f} s")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from seisan.demo import run_demo

    settings = load_settings()
    with _holding_home(settings, "seisan demo"):
        run_demo(settings, progress=say, fresh=not args.keep)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from seisan.readonly_sql import run_read_only

    settings = load_settings()
    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan ingest` or `seisan demo` first")
    with _holding_home(settings, "seisan sql", shared=True):
        columns, rows = run_read_only(settings.warehouse, args.query, args.limit)
    say(format_table(columns, rows))
    return 0


def format_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as an aligned text table (numbers right-aligned). Control characters in a value (a delivered
    record may hold terminal escape sequences) are shown as `<U+XXXX>` marks, never sent to the terminal."""
    from reports.officer_csv import show_controls

    cells = [[("" if v is None else show_controls(str(v))) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    out = [line(list(columns)), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seisan", description=(
        "seisan (精算): settlement and reconciliation back office for municipal points. "
        "Configuration: seisan.toml and SEISAN_* environment variables (SEISAN_HOME, default ./var)."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = commands.add_parser("simulate", help="write a deterministic simulated inbox",
                              description="Write a simulated world's inbox exactly to docs/formats.md, with "
                                          "faults.json (ground truth of injected faults). Same arguments give "
                                          "byte-identical files.")
    sim.add_argument("--out", type=Path, required=True, help="inbox folder to write (created)")
    sim.add_argument("--start", type=_date, required=True, help="first business date, YYYY-MM-DD")
    sim.add_argument("--days", type=_positive_int, default=7, help="number of business dates (default 7)")
    sim.add_argument("--municipalities", type=_positive_int, default=3, help="municipalities (default 3)")
    sim.add_argument("--residents", type=_positive_int, default=2000, help="residents in all (default 2000)")
    sim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sim.add_argument("--faults", choices=("none", "typical", "hostile"), default="none",
                     help="fault injection level (default none)")
    sim.add_argument("--activity", type=_activity, default=1.0,
                     help="how busy the residents are, more than 0 and at most 1 (default 1: about 0.57 ledger "
                          "events a resident a day; about 0.4 gives the nation's 0.2)")
    sim.add_argument("--mix", type=_mix, default="typical",
                     help="how merchants and events are spread: typical (default; up to 40 stores a municipality, "
                          "residents start with no points) or national (a store per 33 residents, sign-up points, "
                          "about half the events terminal uses from day 2)")
    sim.add_argument("--workers", type=_positive_int, default=None,
                     help="signing processes (default: cores, at most 4)")
    sim.set_defaults(handler=cmd_simulate)

    ing = commands.add_parser("ingest", help="load the inbox into the raw layer for one business date",
                              description="Load every file named for DATE or earlier not loaded yet into DuckDB "
                                          "schema raw and raw Parquet; bad rows and files go to raw.quarantine.")
    ing.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    ing.set_defaults(handler=cmd_ingest)

    run = commands.add_parser("run", help="run the daily DAG for one business date, in-process",
                              description="Run the Airflow DAG settlement_daily for DATE on an embedded Airflow "
                                          "home under SEISAN_HOME (no scheduler or web server needed).")
    run.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    run.add_argument("--approve-as", metavar="OFFICER", default=None,
                     help="after the run, prepare the day's payment files as [officer] id, show each payout "
                          "summary to OFFICER (a second registered officer, signing with their own key) to approve "
                          "y/N, and hand the approved files to the bank folder: the DAG payments_approval's "
                          "decision on the command line")
    run.add_argument("--shards", type=_positive_int, default=0, metavar="N",
                     help="run the DAG settlement_sharded instead: the marts built per shard of prefectures "
                          "(prefecture number modulo N), then merged (docs/scaling.md)")
    run.add_argument("--workers", type=_positive_int, default=0, metavar="W",
                     help="with --shards: run the DAG with Airflow's LocalExecutor, W task processes at once "
                          "(the shard builds side by side; Airflow's API server is started for the run); "
                          "without it the tasks run one after another in this process")
    run.set_defaults(handler=cmd_run)

    marts = commands.add_parser("marts", help="build the dbt marts for one business date (without Airflow)",
                                description="Run the dbt build (models and tests) for DATE. --full-refresh rebuilds "
                                            "every mart from the raw layer, e.g. after a master was corrected.")
    marts.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    marts.add_argument("--full-refresh", action="store_true", help="rebuild every mart from raw")
    marts.add_argument("--full-check", action="store_true",
                       help="the data tests of the balances family check every day, not only the days this run "
                            "changed (dbt/macros/changed_days.sql), and the dbt unit tests run")
    marts.add_argument("--unit-tests", action="store_true",
                       help="run the dbt unit tests too (a build runs them by itself only when the dbt project "
                            "changed since they last passed on this warehouse)")
    marts.set_defaults(handler=cmd_marts)

    demo = commands.add_parser("demo", help="simulate a small world and run the DAG for each of its days",
                               description="Simulate the world in seisan.toml [demo] into SEISAN_HOME/inbox, run "
                                           "settlement_daily for each day, then print what happened and where "
                                           "the outputs are. Starts from an empty SEISAN_HOME unless --keep.")
    demo.add_argument("--keep", action="store_true", help="keep an existing demo home instead of starting afresh")
    demo.set_defaults(handler=cmd_demo)

    add_reconcile_command(commands)
    add_report_command(commands)
    add_report_monthly_command(commands)
    add_statement_report_commands(commands)

    sql = commands.add_parser("sql", help="run a read-only SQL query against the warehouse",
                              description="Run QUERY read-only against SEISAN_HOME/warehouse.duckdb and print the "
                                          "result as a table, e.g. seisan sql \"select * from raw.file_manifest\". "
                                          "One query only (SELECT, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN); writing, "
                                          "COPY/EXPORT, ATTACH, reading other files, extensions and SET/PRAGMA are "
                                          "refused.")
    sql.add_argument("query", help="one read-only SQL query")
    sql.add_argument("--limit", type=_positive_int, default=200, help="rows to print at most (default 200)")
    sql.set_defaults(handler=cmd_sql)
    add_breaks_commands(commands)
    add_payments_file_commands(payments_subcommands(commands))
    add_officer_commands(commands)
    add_bank_commands(commands)
    add_audit_commands(commands)
    add_console_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"seisan: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seisan: interrupted; every step is idempotent, so run the same command again to finish.",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the top level turns any failure into a message and status 1
        from seisan.airflow_runner import DagRunFailed

        if isinstance(exc, DagRunFailed | HomeBusy | FileNotFoundError | ValueError | PermissionError):
            print(f"seisan: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
