"""What a run did, read back from the warehouse, for `seisan ingest`, `seisan run` and `seisan demo` to print.
The reading and formatting are `reports.run_summary`'s and `audit`'s; this module only opens the warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reports.run_summary import IngestReport, format_ingest_report

__all__ = ["IngestReport", "format_ingest_report", "ingest_report", "step_seconds"]


def ingest_report(warehouse: Path, run_date: dt.date | None = None) -> IngestReport:
    """The ingest report of one `--date` run (or of all runs) from the warehouse file."""
    import duckdb

    from reports.run_summary import ingest_report as read_report

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return read_report(con, run_date)


def step_seconds(warehouse: Path, business_date: dt.date) -> dict[str, float]:
    """Seconds each step took for `business_date` in its latest run, from audit.step_runs (empty if none)."""
    import duckdb

    from audit import latest_step_seconds

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return latest_step_seconds(con, business_date)
