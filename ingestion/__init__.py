"""ingestion: inbox files into the DuckDB `raw` schema (and Parquet), with validation, quarantine and lineage.

Entry points for the CLI and the Airflow DAG: `ingest(con, inbox, raw_dir, business_date, limits, progress)`
and `ensure_raw_schema(con)`; for checks, `ingestion.mirror.verify_mirror(con, raw_dir)` (the Parquet copy equals
the warehouse). The tables are documented in docs/raw-tables.md, the rules in docs/formats.md, the failure
modes in docs/reliability.md.
"""

from ingestion.run import IngestSummary, Limits, ingest
from ingestion.schema import ensure_raw_schema

__all__ = ["IngestSummary", "Limits", "ensure_raw_schema", "ingest"]
