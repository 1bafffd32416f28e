"""`seisan payments plan` and `seisan payments status`: payout planning and the ledger from the command line.

The `payments` sub-command group is created here (`payments_subcommands`); the payment-file commands (prepare,
approve, verify, export) are added to the same group by seisan/cli_payments_file.py. Either may be registered
first: `payments_subcommands` reuses a `payments` parser that already exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence

import duckdb

from seisan.cli_common import date_arg as _date
from seisan.cli_common import holding_home as _holding_home
from seisan.cli_common import say as _say


def _group(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The `payments` parser's own sub-commands, creating the parser when no one has yet."""
    existing = commands.choices.get("payments")
    if existing is None:
        existing = commands.add_parser("payments", help="settlement statements, payouts and payment files",
                                       description="Plan payouts from settlement items (docs/payments.md), follow "
                                                   "them through the ledger, and handle the Zengin payment files.")
    for action in existing._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return existing.add_subparsers(dest="payments_command", required=True, metavar="PAYMENTS_COMMAND")


def payments_subcommands(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Register `payments plan` and `payments status`; return the group for the other payments commands."""
    group = _group(commands)
    if "plan" not in group.choices:
        plan = group.add_parser("plan", help="freeze closed periods and plan the payouts of one business date",
                                description="For each municipality whose gate for DATE is open: freeze its closed "
                                            "settlement periods into statements and plan one payout per merchant "
                                            "(minimum payout, fee bearer, fee schedule; transfer on the next bank "
                                            "business day). A rerun prints the plan already made. --compare "
                                            "instead prints what a year of transfer fees costs under the current "
                                            "cycle and minimum against other cycles and minimums.")
        plan.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
        plan.add_argument("--municipality", help="one municipality code (default: all)")
        plan.add_argument("--compare", action="store_true", help="print the yearly fee comparison; plan nothing")
        plan.set_defaults(handler=cmd_payments_plan)
    if "status" not in group.choices:
        status = group.add_parser("status", help="payouts by state, carried balances and bank findings",
                                  description="List payouts by state (all dates, or those planned on DATE), "
                                              "what is carried forward per merchant, and the problems the bank "
                                              "statement showed (fees over the schedule, returns).")
        status.add_argument("--date", type=_date, help="only payouts planned on this business date")
        status.set_defaults(handler=cmd_payments_status)
    return group


def _settings():
    from seisan.config import load_settings

    settings = load_settings()
    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan run` or `seisan demo` first")
    return settings


def cmd_payments_plan(args: argparse.Namespace) -> int:
    settings = _settings()
    with _holding_home(settings, f"seisan payments plan --date {args.date}", shared=args.compare):
        con = duckdb.connect(str(settings.warehouse), read_only=args.compare)
        try:
            if args.compare:
                _say(compare_text(con, args.date, args.municipality))
            else:
                _say(plan_text(con, args.date, args.municipality, now=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
        finally:
            con.close()
    return 0


def cmd_payments_status(args: argparse.Namespace) -> int:
    settings = _settings()
    with _holding_home(settings, "seisan payments status", shared=True):
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            _say(status_text(con, args.date))
        finally:
            con.close()
    return 0


def compare_text(con: duckdb.DuckDBPyConnection, day: dt.date, municipality: str | None) -> str:
    from payments.compare import compare_costs, format_costs
    from payments.planning import municipalities_in_force

    codes = [m.municipality_code for m in municipalities_in_force(con, day)
             if municipality is None or m.municipality_code == municipality]
    if not codes:
        return f"no municipality {municipality or ''} in the municipalities master on {day}".replace("  ", " ")
    return "\n\n".join(format_costs(code, compare_costs(con, day, code)) for code in codes)


def plan_text(con: duckdb.DuckDBPyConnection, day: dt.date, municipality: str | None, *, now: dt.datetime) -> str:
    from payments.planning import plan_day

    lines = []
    for r in plan_day(con, day, municipality=municipality, now=now):
        head = f"{r.municipality_code} {day}: gate {'open' if r.gate_open else 'not open'}"
        if r.freeze:
            head += (f"; froze {r.freeze.statements_frozen} statements ({r.freeze.statement_amount_yen:,} yen) and "
                     f"{r.freeze.adjustments} adjustments ({r.freeze.adjustment_amount_yen:,} yen)")
        lines.append(head)
        if r.skipped_reason:
            lines.append(f"  no payouts: {r.skipped_reason}")
        if r.batch:
            b = r.batch
            lines.append(f"  batch {b.batch_id}{' (planned before)' if r.already_planned else ''}: "
                         f"{len(b.payouts)} payouts, transfer {b.total_transfer_yen:,} yen on {b.transfer_date}, "
                         f"fees {sum(p.fee_yen for p in b.payouts):,} yen")
        elif r.gate_open and not r.skipped_reason:
            lines.append("  no payouts")
        by_reason: dict[str, tuple[int, int]] = {}
        for c in r.carried:
            count, total = by_reason.get(c.reason, (0, 0))
            by_reason[c.reason] = (count + 1, total + c.balance_yen)
        for reason, (count, total) in sorted(by_reason.items()):
            lines.append(f"  carried forward, {reason}: {count} merchants, {total:,} yen")
    return "\n".join(lines) or f"no municipality in force on {day}"


def status_text(con: duckdb.DuckDBPyConnection, day: dt.date | None) -> str:
    from seisan.cli import format_table

    if not _has_payments(con):
        return "no payouts yet: run `seisan payments plan --date D` after the gate opened"
    rows = con.execute("select municipality_code, state, count(*), sum(amount_yen)::bigint, "
                       "sum(transfer_yen)::bigint, sum(fee_yen)::bigint from payments.payouts "
                       "where ? is null or business_date = ? group by all order by all", [day, day]).fetchall()
    out = ["payouts by state" + (f" (planned on {day})" if day else ""),
           format_table(("municipality", "state", "payouts", "amount_yen", "transfer_yen", "fee_yen"), rows)]
    checks = con.execute("select run_date, check_code, batch_id, payout_id, expected_yen, actual_yen "
                         "from payments.bank_checks where check_code not in ('batch_confirmed', 'fees_match', "
                         "'payout_returned') order by all").fetchall()
    if checks:
        out += ["", "bank statement problems",
                format_table(("run_date", "code", "batch", "payout", "expected_yen", "actual_yen"), checks)]
    return "\n".join(out) + "\n\n" + _carried_text(con, day)


def _carried_text(con: duckdb.DuckDBPyConnection, day: dt.date | None) -> str:
    from payments.positions import positions
    from seisan.cli import format_table

    as_of = day or con.execute("select max(business_date) from payments.payouts").fetchone()[0] or dt.date.today()
    if not _has_table(con, "marts", "fct_settlement_items"):
        return ""
    rows: Sequence = [(p.municipality_code, p.merchant_id, p.carried_yen, p.held_yen, p.unfrozen_yen,
                       "yes" if p.balanced else "NO")
                      for p in positions(con, as_of) if p.carried_yen or p.held_yen or p.unfrozen_yen]
    return (f"carried forward and held as of {as_of}\n" +
            format_table(("municipality", "merchant", "carried_yen", "held_yen", "unfrozen_yen", "balanced"), rows))


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _has_payments(con: duckdb.DuckDBPyConnection) -> bool:
    return _has_table(con, "payments", "payouts")
