"""audit/: the trail auditors read — which step ran for which business date, when, and what it reported.

Owns the `audit` schema's tables (today `audit.step_runs`): their DDL, the writes and the reads. Takes a DuckDB
connection; imports `contracts` only (never `seisan` or `dags`). Never used to decide anything.
"""

from audit.step_runs import STEP_RUNS_DDL, StepRun, latest_step_seconds, record_step_run

__all__ = ["STEP_RUNS_DDL", "StepRun", "latest_step_seconds", "record_step_run"]
