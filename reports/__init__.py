"""reports/: what seisan writes for people — settlement officers, municipalities, auditors.

Reads raw, marts and recon tables through a DuckDB connection it is given, and imports `contracts` only (never
`seisan` or `dags`). Every officer-facing CSV goes through `reports.officer_csv`, the one writer that makes a
cell safe to open in a spreadsheet.
"""

from reports.ingest import INGEST_FILES_CSV, INGEST_QUARANTINE_CSV, write_ingest_reports
from reports.officer_csv import officer_cell, officer_csv_text, write_officer_csv

__all__ = [
    "INGEST_FILES_CSV",
    "INGEST_QUARANTINE_CSV",
    "officer_cell",
    "officer_csv_text",
    "write_ingest_reports",
    "write_officer_csv",
]
