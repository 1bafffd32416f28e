"""`seisan report monthly --month YYYY-MM [--municipality CODE]`: the monthly cost and usage reports.

Per municipality, out/monthly/<YYYY-MM>/monthly-<code>-<YYYY-MM>.pdf and .xlsx (reports.monthly_pdf and
reports.monthly_xlsx, drawn from one reports.monthly_figures object); for all municipalities also the national
summary national-<YYYY-MM>.csv and .pdf (reports.monthly_national). The yearly fee per settlement cycle comes from
payments.compare (reports may not import payments, so it is computed here and handed in). `monthly_reports`
returns every path written, for the audit trail. Registered under `seisan report` by
`add_report_monthly_command(commands)` in seisan/cli.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from seisan.cli_common import holding_home, say
from seisan.config import Settings, load_settings
from seisan.steps import record_written


def month_arg(text: str):
    """An argparse type: a month in YYYY-MM form, or one sentence saying what is wrong."""
    from reports.monthly_figures import Month

    try:
        return Month.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def monthly_dir(settings: Settings, month) -> Path:
    return settings.out_dir / "monthly" / str(month)


def fee_cycles(con, code: str, run_date: dt.date, progress: Callable[[str], None] = say) -> tuple:
    """Yearly transfer fees per settlement cycle at the municipality's current minimum payout (payments.compare);
    empty when there is nothing to compare (no payable history, no payer settings, or no payments tables yet:
    the progress line says why, and the report leaves the table and chart out)."""
    import duckdb

    from payments.compare import compare_costs
    from payments.planning import PlanningError
    from reports.monthly_figures import FeeCycleCost, cycle_label

    try:
        costs = compare_costs(con, run_date, code)
    except (PlanningError, LookupError, duckdb.CatalogException, duckdb.BinderException) as exc:
        progress(f"  {code}: no fee comparison per settlement cycle ({str(exc).splitlines()[0]})")
        return ()
    current = next((c for c in costs if c.policy.is_current), None)
    if current is None:
        return ()
    return tuple(FeeCycleCost(cycle_label(c.policy.cycle, c.policy.settlement_day), c.policy.min_payout_yen,
                              c.fees_per_year_yen if c.known else None, c.transfers_per_year if c.known else None,
                              c.policy.is_current)
                 for c in costs if c.policy.min_payout_yen == current.policy.min_payout_yen)


def monthly_reports(settings: Settings, month, municipality: str | None = None,
                    progress: Callable[[str], None] = say) -> list[Path]:
    """Write the month's reports (one municipality, or every one and the national summary); returns the paths."""
    import duckdb

    from reports.monthly_figures import MonthlyReportError, check_month, monthly_figures, municipalities
    from reports.monthly_national import write_national_csv, write_national_pdf
    from reports.monthly_pdf import write_monthly_pdf
    from reports.monthly_xlsx import write_monthly_xlsx

    if not settings.warehouse.is_file():
        raise MonthlyReportError(f"no warehouse at {settings.warehouse}; run `seisan run --date D` for the month's "
                                 "days first")
    folder, written, all_figures = monthly_dir(settings, month), [], []
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        data_through = check_month(con, month)
        codes = [code for code, _, _ in municipalities(con, month)]
        if municipality is not None:
            if municipality not in codes:
                raise MonthlyReportError(f"unknown municipality {municipality}: the masters name "
                                         f"{', '.join(codes) or 'none'} by {month.last_day}")
            codes = [municipality]
        for code in codes:
            figures = monthly_figures(con, code, month, fee_cycles(con, code, data_through, progress))
            stem = f"monthly-{code}-{month}"
            written += [write_monthly_pdf(figures, folder / f"{stem}.pdf"),
                        write_monthly_xlsx(figures, folder / f"{stem}.xlsx")]
            all_figures.append(figures)
            progress(f"  {code} {figures.municipality_name}: used {figures.used_yen:,} yen, balance "
                     f"{figures.closing_balance_yen:,} yen, cost "
                     f"{'n/a' if figures.operating_cost_yen is None else f'{figures.operating_cost_yen:,} yen'} "
                     f"→ {folder / stem}.pdf/.xlsx")
    if municipality is None and all_figures:
        written += [write_national_csv(all_figures, folder / f"national-{month}.csv"),
                    write_national_pdf(all_figures, month, folder / f"national-{month}.pdf")]
        progress(f"  national summary of {len(all_figures)} municipalities → {folder}/national-{month}.csv/.pdf")
    record_written(settings, month.last_day, "report_monthly", [(written, "monthly_report")])
    return written


def cmd_report_monthly(args: argparse.Namespace) -> int:
    settings = load_settings()
    with holding_home(settings, f"seisan report monthly --month {args.month}"):
        say(f"monthly cost and usage reports for {args.month} from {settings.warehouse}")
        written = monthly_reports(settings, args.month, args.municipality)
    say(f"wrote {len(written)} files under {monthly_dir(settings, args.month)}")
    return 0


def add_report_monthly_command(commands) -> None:
    """Add `monthly` to the `seisan report` group (seisan.cli_recon.add_report_command made it)."""
    report = commands.choices["report"]
    kinds = next(a for a in report._actions if isinstance(a, argparse._SubParsersAction))
    monthly = kinds.add_parser(
        "monthly", help="the monthly cost and usage report per municipality and the national summary",
        description="Write out/monthly/<YYYY-MM>/monthly-<code>-<YYYY-MM>.pdf and .xlsx for each municipality (or "
                    "only CODE), and, for all of them, national-<YYYY-MM>.csv and .pdf, from the marts, payments "
                    "and reconciliation tables. A month not over yet is reported up to its last business date.")
    monthly.add_argument("--month", type=month_arg, required=True, help="calendar month, YYYY-MM")
    monthly.add_argument("--municipality", metavar="CODE", default=None,
                         help="one municipality's report only (no national summary)")
    monthly.set_defaults(handler=cmd_report_monthly)
