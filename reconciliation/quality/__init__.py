"""Data quality for auditors: Great Expectations suites on raw and on the marts, and source freshness, run
every day as one checkpoint (docs/data-quality.md).

`run_checkpoint(con, run_date, docs_dir)` replaces run_date's rows of `recon.check_results` and
`recon.source_freshness` and writes the Data Docs under docs_dir (`index.html`). Importing this package is
cheap; Great Expectations is imported only when the checkpoint runs.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from reconciliation.quality import freshness, marts, raw
from reconciliation.quality.spec import Severity, Target


@dataclass(frozen=True, slots=True)
class QualityResult:
    """What one checkpoint run found. `evaluated`: expectations evaluated; `failed_error` / `failed_warn`:
    expectations that failed, by severity (an expectation failing in three municipalities counts once);
    `failed_rows`: the failed rows of recon.check_results (one per expectation and municipality)."""

    run_date: dt.date
    suites: int
    evaluated: int
    failed_error: int
    failed_warn: int
    failed_rows: int
    expected_files: int
    missing_files: int
    docs_index: Path
    seconds: float

    @property
    def passed(self) -> bool:
        """No error-severity expectation failed (warnings do not block)."""
        return self.failed_error == 0

    @property
    def failed_by_severity(self) -> dict[str, int]:
        return {Severity.ERROR.value: self.failed_error, Severity.WARN.value: self.failed_warn}


def all_targets() -> list[Target]:
    """Every suite's target: raw, marts, freshness (Data Docs order)."""
    return raw.targets() + marts.targets() + freshness.targets()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    from reconciliation.quality.checkpoint import CHECK_RESULTS_DDL

    con.execute("create schema if not exists recon")
    con.execute(CHECK_RESULTS_DDL)
    con.execute(freshness.FRESHNESS_DDL)


def run_checkpoint(con: duckdb.DuckDBPyConnection, run_date: dt.date, docs_dir: Path) -> QualityResult:
    """Run every suite for business date run_date; replace its rows of recon.check_results and
    recon.source_freshness (one transaction each); Data Docs at docs_dir/index.html. A failed expectation is
    an outcome (in the result and the tables), never an exception."""
    from reconciliation.quality.checkpoint import store_results, validate_targets, write_index

    started = time.monotonic()
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    ensure_tables(con)
    con.execute("begin transaction")
    try:
        freshness.write_source_freshness(con, run_date)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    targets = all_targets()
    validated = validate_targets(con, run_date, targets, docs_dir)
    con.execute("begin transaction")
    try:
        store_results(con, run_date, validated)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    index = write_index(docs_dir, run_date, validated)
    failed = {(r.suite, r.expectation): r.severity for v in validated for r in v.rows if not r.success}
    expected, missing = con.execute(
        "select count(*), count(*) filter (where not arrived) from recon.source_freshness "
        "where run_date = ? and expected", [run_date]).fetchone()
    return QualityResult(
        run_date=run_date, suites=len(targets),
        evaluated=len({(r.suite, r.expectation) for v in validated for r in v.rows}),
        failed_error=sum(1 for s in failed.values() if s == Severity.ERROR.value),
        failed_warn=sum(1 for s in failed.values() if s == Severity.WARN.value),
        failed_rows=sum(1 for v in validated for r in v.rows if not r.success),
        expected_files=expected, missing_files=missing, docs_index=index,
        seconds=round(time.monotonic() - started, 3))


__all__ = ["QualityResult", "Severity", "all_targets", "ensure_tables", "run_checkpoint"]
