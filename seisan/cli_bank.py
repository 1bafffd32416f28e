"""`seisan bank execute --date D`: the simulated bank executes the handed-over payment files (simulated worlds only).

On a simulated world (an inbox written by `seisan simulate` or `seisan demo`, with its bank-sim/bank.json), the
simulated bank (simulator/bank.py) reads the bank hand-over folder (`[payments] export_dir`, or --from) and writes
what a real bank would: the withdrawals of each file's total and fees into the paying account's statement of the
transfer date, and 振込不能 returns days later for accounts the bank does not hold; the following days' runs
ingest those statements and reconcile them. A real deployment has a real bank: there this command refuses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seisan.cli_common import date_arg as _date
from seisan.config import load_settings


def cmd_bank_execute(args: argparse.Namespace) -> int:
    from simulator.bank import BankError, execute

    settings = load_settings()
    inbox = args.inbox or settings.inbox
    handover = args.from_dir or settings.payments_export_dir
    try:
        # the configured archive belongs to the configured inbox: another simulated inbox keeps its statements
        result = execute(inbox, handover, args.date, settings.archive_dir if args.inbox is None else None)
    except BankError as exc:
        print(f"seisan: {exc}", file=sys.stderr)
        return 1
    for item in result.executions:
        returned = f", {len(item.returned_payout_ids)} returned 振込不能 later" if item.returned_payout_ids else ""
        print(f"{'executed before' if item.already else 'executed'}: {item.file_name} on {item.executed_on}: "
              f"{item.total_yen:,} yen transferred, {item.fee_yen:,} yen fees{returned}", flush=True)
    for name, why in result.refused:
        print(f"seisan: the bank refused {name}: {why}", file=sys.stderr)
    for path in result.statements_written:
        print(f"statement written: {Path(inbox) / path}")
    if not result.executions and not result.refused:
        print(f"nothing to execute in {handover}")
    return 1 if result.refused else 0


def add_bank_commands(commands) -> None:
    """`seisan bank execute`."""
    bank = commands.add_parser("bank", help="the simulated bank (simulated worlds only)",
                               description="The simulated bank of a simulated world: it executes handed-over "
                                           "payment files into the world's bank statements. Simulated worlds "
                                           "only: a real bank does this in production.")
    sub = bank.add_subparsers(dest="bank_command", required=True, metavar="COMMAND")
    execute = sub.add_parser(
        "execute", help="execute the handed-over payment files into the simulated statements",
        description="Execute every payment file in the bank hand-over folder not executed before, as handed over "
                    "on DATE: the total and fee withdrawals go into the paying account's statement of the transfer "
                    "date (or the next bank business day after DATE), 振込不能 returns into a statement days later, "
                    "and every later statement is re-chained. Only statements named for dates after DATE change "
                    "(earlier ones are ingested). Simulated worlds only (the inbox's bank-sim/bank.json). "
                    "Running it again changes nothing.")
    execute.add_argument("--date", type=_date, required=True, help="hand-over (business) date, YYYY-MM-DD")
    execute.add_argument("--from", dest="from_dir", type=Path, default=None,
                         help="hand-over folder (default: [payments] export_dir)")
    execute.add_argument("--inbox", type=Path, default=None, help="the simulated inbox (default: the configured one)")
    execute.set_defaults(handler=cmd_bank_execute)
