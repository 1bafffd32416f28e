"""The officer's and auditor's record of one ingest run, as CSV under out/<D>/:

- `ingest_files.csv`: every file the run saw (path, SHA-256, source, kind, business date, status, records
  read/loaded/quarantined, reason code, detail);
- `ingest_quarantine.csv`: every record the run quarantined (where, why, and its delivered text with My Numbers
  and card certificate serials masked).

Both are rewritten whole on every run of the date, so re-running gives the same files. Read from
raw.file_manifest and raw.quarantine through the connection given (read-only is enough).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reports.officer_csv import write_officer_csv
from reports.redaction import redact_detail, redact_record_text

INGEST_FILES_CSV = "ingest_files.csv"
INGEST_QUARANTINE_CSV = "ingest_quarantine.csv"

FILES_COLUMNS = ("path", "file_sha256", "source", "kind", "business_date", "status", "rows_read", "rows_loaded",
                 "rows_quarantined", "reason_code", "detail")
QUARANTINE_COLUMNS = ("path", "file_sha256", "line_number", "reason_code", "detail", "raw_text")

_FILES_QUERY = (f"select {', '.join(FILES_COLUMNS)} from raw.file_manifest "
                "where ingest_run_date = $d order by path, file_sha256")
_QUARANTINE_QUERY = ("select path, file_sha256, line_number, reason_code, detail, raw_text, source, kind "
                     "from raw.quarantine where ingest_run_date = $d "
                     "order by path, file_sha256, line_number, reason_code")


def _file_rows(con, run_date: dt.date) -> list[tuple[object, ...]]:
    rows = []
    for row in con.execute(_FILES_QUERY, {"d": run_date}).fetchall():
        values = dict(zip(FILES_COLUMNS, row, strict=True))
        values["path"] = redact_detail(values["path"])
        values["detail"] = redact_detail(values["detail"])
        rows.append(tuple(values[c] for c in FILES_COLUMNS))
    return rows


def _quarantine_rows(con, run_date: dt.date) -> list[tuple[object, ...]]:
    rows = []
    for path, sha, line, reason, detail, raw_text, source, kind in con.execute(
            _QUARANTINE_QUERY, {"d": run_date}).fetchall():
        record = redact_record_text(raw_text, source, kind)
        rows.append((redact_detail(path), sha, line, reason, redact_detail(detail, record.masked_values),
                     record.text))
    return rows


def write_ingest_reports(con, out_dir: Path, run_date: dt.date) -> list[Path]:
    """Write out_dir/ingest_files.csv and out_dir/ingest_quarantine.csv for the ingest run of `run_date`."""
    return [write_officer_csv(out_dir / INGEST_FILES_CSV, FILES_COLUMNS, _file_rows(con, run_date)),
            write_officer_csv(out_dir / INGEST_QUARANTINE_CSV, QUARANTINE_COLUMNS, _quarantine_rows(con, run_date))]
