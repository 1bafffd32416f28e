"""What an ingest run did, for people at a terminal: files by status, the row accounting (read = loaded +
quarantined, where records a later master released count as loaded) and quarantined records by reason code,
read back from raw.file_manifest and raw.quarantine (never from a step's own return values). `seisan ingest`,
`seisan run` and `seisan demo` print it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IngestReport:
    """Counts from raw.file_manifest and raw.quarantine, optionally for one ingest run date.

    files_by_status: status → files; rows_read/loaded: sums over the manifest; rows_quarantined: records still
    held (quarantined less those a later master snapshot released, raw.quarantine_releases); rows_released:
    those released, which are in rows_loaded;
    quarantined_by_reason: reason code → quarantined records (whole files count their records);
    files_by_reason: reason code → rejected or conflicting files.
    """

    files_by_status: dict[str, int]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_released: int
    quarantined_by_reason: dict[str, int]
    files_by_reason: dict[str, int]


def ingest_report(con, run_date: dt.date | None = None) -> IngestReport:
    """Read the manifest and quarantine (for one `--date` run, or all runs) through `con`."""
    where, params = ("where ingest_run_date = ?", [run_date]) if run_date else ("", [])
    by_status = dict(con.execute(
        f"select status, count(*) from raw.file_manifest {where} group by 1 order by 1", params).fetchall())
    read, loaded, quarantined, released = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), "
        f"coalesce(sum(rows_released), 0) from raw.file_manifest {where}", params).fetchone()
    by_reason = dict(con.execute(
        f"select reason_code, count(*) from raw.quarantine {where} group by 1 order by 2 desc, 1",
        params).fetchall())
    file_where = f"{where} {'and' if where else 'where'} reason_code is not null"
    files_by_reason = dict(con.execute(
        f"select reason_code, count(*) from raw.file_manifest {file_where} group by 1 order by 2 desc, 1",
        params).fetchall())
    return IngestReport(by_status, int(read), int(loaded), int(quarantined) - int(released), int(released),
                        by_reason, files_by_reason)


def format_ingest_report(report: IngestReport) -> str:
    """A few aligned lines for a terminal."""
    lines = ["files: " + (", ".join(f"{n:,} {s}" for s, n in report.files_by_status.items()) or "none"),
             f"records: {report.rows_read:,} read = {report.rows_loaded:,} loaded + "
             f"{report.rows_quarantined:,} quarantined"
             + (f" ({report.rows_released:,} released by a later master)" if report.rows_released else "")]
    if report.files_by_reason:
        lines.append("files rejected or in conflict, by reason:")
        lines += [f"  {code:<36} {n:>6,}" for code, n in report.files_by_reason.items()]
    if report.quarantined_by_reason:
        lines.append("quarantine rows by reason:")
        lines += [f"  {code:<36} {n:>6,}" for code, n in report.quarantined_by_reason.items()]
    return "\n".join(lines)
