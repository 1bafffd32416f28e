"""ingestion: inbox files into the DuckDB `raw` schema (and Parquet), with validation, quarantine and lineage.

Entry points for the CLI and the Airflow DAG: `ingest(con, inbox, raw_dir, business_date, limits, progress)`
and `ensure_raw_schema(con)`; for checks, `ingestion.mirror.verify_mirror(con, raw_dir)` (the Parquet copy equals
the warehouse). The tables are documented in docs/raw-tables.md, the rules in docs/formats.md, the failure
modes in docs/reliability.md.

The entry points are imported on first use, not with the package: a spawned worker of the card-signature pool
imports `ingestion.card_signatures` (and with it this package), and should not pay for DuckDB, polars and
every loader it never runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingestion.run import IngestSummary, Limits, ingest
    from ingestion.schema import ensure_raw_schema

__all__ = ["IngestSummary", "Limits", "ensure_raw_schema", "ingest"]
_HOMES = {"IngestSummary": "ingestion.run", "Limits": "ingestion.run", "ingest": "ingestion.run",
          "ensure_raw_schema": "ingestion.schema"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ingestion' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
