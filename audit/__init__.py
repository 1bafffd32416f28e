"""audit/: the trail auditors read — which step ran for which business date, when, and what it reported; which
files were written, with their SHA-256; how a yen paid traces back to the lines delivered; the monthly pack.

Owns the `audit` schema's tables (`audit.step_runs`, `audit.outputs`, both append-only and hash-chained): their
DDL, the writes and the reads, and `verify`. Takes a DuckDB connection; imports `contracts` only (never `seisan`
or `dags`). Never used to decide anything.
"""

from audit.chain import GENESIS_HASH, ChainHead, ChainProblem, canonical_bytes
from audit.outputs import OutputVersion, record_outputs, verify_outputs
from audit.step_runs import STEP_RUNS_DDL, StepRun, ensure_step_runs, latest_step_seconds, record_step_run

__all__ = ["GENESIS_HASH", "STEP_RUNS_DDL", "ChainHead", "ChainProblem", "OutputVersion", "StepRun",
           "canonical_bytes", "ensure_step_runs", "latest_step_seconds", "record_outputs", "record_step_run",
           "verify_outputs"]
