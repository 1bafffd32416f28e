"""`seisan report statements` and `seisan report prepaid`: the merchant and legal reports from the command line
(registered by one line in seisan/cli.py, after `add_report_command` created the `report` group):

    seisan report statements --date D          精算明細書 of every payout in the payment files of D
    seisan report statements --payout ID       the 精算明細書 of one payout (ID = the EDI情報 of the bank file)
    seisan report prepaid --date YYYY-03-31|YYYY-09-30 [--municipality CODE]

`write_merchant_statements` and `write_prepaid_reports` are the seisan-level functions (the commands, the DAG or
the audit trail call them); each returns the paths it wrote. Outputs: out/<D>/statements/<payout_id>.pdf and
out/prepaid/<date>/prepaid-<date>[-<code>].pdf/.csv (reports.merchant_statement, reports.prepaid_report).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from seisan.cli_common import date_arg as _date
from seisan.cli_common import holding_home as _holding_home
from seisan.cli_common import say as _say
from seisan.config import Settings, load_settings
from seisan.steps import record_written


def _warehouse(settings: Settings):
    import duckdb

    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan run --date D` (or ingest, marts "
                                f"and payments plan) first")
    return duckdb.connect(str(settings.warehouse), read_only=True)


def write_merchant_statements(settings: Settings, *, business_date: dt.date | None = None,
                              payout_id: str | None = None) -> list[Path]:
    """The statements of every payout in the payment files of `business_date`, or of one payout; their paths.
    Every statement is computed and checked before the first is written."""
    from reports.merchant_statement import payout_ids_of_day, write_statements

    if (business_date is None) == (payout_id is None):
        raise ValueError("give either a business date or a payout id, not both and not neither")
    with _warehouse(settings) as con:
        if payout_id is not None:
            ids = [payout_id]
        else:
            ids = payout_ids_of_day(con, business_date)
            if not ids:
                raise ValueError(f"no payouts were planned on {business_date}: run `seisan payments plan --date "
                                 f"{business_date}` (or `seisan run`) first, or pick a date with payment files")
        written = write_statements(con, settings.out_dir, ids)
    record_written(settings, business_date, "report_statements", [(written, "merchant_statement")])
    return written


def write_prepaid_reports(settings: Settings, reference_date: dt.date,
                          municipality: str | None = None) -> list[Path]:
    """The prepaid report (PDF and CSV) at the 基準日 `reference_date`; their paths."""
    from reports.prepaid_law import check_reference_date
    from reports.prepaid_report import write_prepaid_report

    check_reference_date(reference_date)  # before opening anything: the wrong date is the likelier mistake
    with _warehouse(settings) as con:
        written = write_prepaid_report(con, settings.out_dir, reference_date, municipality)
    record_written(settings, reference_date, "report_prepaid", [(written, "prepaid_report")])
    return written


def cmd_report_statements(args: argparse.Namespace) -> int:
    settings = load_settings()
    what = f"--payout {args.payout}" if args.payout else f"--date {args.date}"
    with _holding_home(settings, f"seisan report statements {what}"):
        paths = write_merchant_statements(settings, business_date=args.date, payout_id=args.payout)
    for path in paths:
        _say(f"statement: {path}")
    _say(f"{len(paths)} statement(s) written")
    return 0


def cmd_report_prepaid(args: argparse.Namespace) -> int:
    settings = load_settings()
    with _holding_home(settings, f"seisan report prepaid --date {args.date}"):
        paths = write_prepaid_reports(settings, args.date, args.municipality)
    for path in paths:
        _say(f"prepaid report: {path}")
    return 0


def _report_group(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The `report` parser's sub-commands (seisan.cli_recon.add_report_command creates the parser first)."""
    report = commands.choices.get("report")
    if report is None:
        raise RuntimeError("register `seisan report` (add_report_command) before its statements and prepaid kinds")
    for action in report._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the `report` command has no sub-commands to add to")


def add_statement_report_commands(commands: argparse._SubParsersAction) -> None:
    """`seisan report statements` and `seisan report prepaid`."""
    kinds = _report_group(commands)
    statements = kinds.add_parser(
        "statements", help="the merchant settlement statements (精算明細書) of a day's payouts, or of one",
        description="Write out/<D>/statements/<payout_id>.pdf for every payout in the payment files of DATE (D), "
                    "or for one payout (--payout, the id in the bank file's EDI情報). Run after `seisan payments "
                    "plan` (or `seisan run`).")
    which = statements.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=_date, help="business date of the payment files, YYYY-MM-DD")
    which.add_argument("--payout", metavar="ID", help="one payout id, e.g. PO-0123456789ABCDEF")
    statements.set_defaults(handler=cmd_report_statements)
    prepaid = kinds.add_parser(
        "prepaid", help="the prepaid unused balance and deposit at a 基準日 (31 March or 30 September)",
        description="Write out/prepaid/<DATE>/prepaid-<DATE>[-<CODE>].pdf and .csv: per municipality the unused "
                    "balance of charged points at the 基準日, the deposit required and the deadline "
                    "(shared/domain/prepaid-law.md). The marts must be built through DATE.")
    prepaid.add_argument("--date", type=_date, required=True, help="the 基準日: YYYY-03-31 or YYYY-09-30")
    prepaid.add_argument("--municipality", metavar="CODE", help="one municipality code (default: all)")
    prepaid.set_defaults(handler=cmd_report_prepaid)
