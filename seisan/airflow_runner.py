"""Runs the daily DAG in-process on an embedded Airflow home under SEISAN_HOME (no scheduler, no web server).

`run_daily_dag` prepares the environment Airflow reads at import time (AIRFLOW_HOME, the dags folder, SQLite
metadata, quiet logs), migrates the metadata database once, and runs `settlement_daily` for one business date
with `DAG.test`, the supported way to execute a DAG run inside the calling process. Airflow is imported only
here, and only when a run is asked for: its import alone costs seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass

from seisan.config import REPO_ROOT, Settings

DAG_ID = "settlement_daily"
DAGS_FOLDER = REPO_ROOT / "dags"


@dataclass(frozen=True, slots=True)
class DagRunResult:
    """Outcome of one DAG run: its id, final state, and the state of each task (task_id → state)."""

    run_id: str
    state: str
    task_states: dict[str, str]

    @property
    def succeeded(self) -> bool:
        return self.state == "success"


class DagRunFailed(RuntimeError):
    """The DAG run did not succeed; the message names the failed tasks and where their logs are."""


def prepare_airflow_environment(settings: Settings) -> dict[str, str]:
    """Set (in os.environ) what Airflow must see before it is imported; returns the values set."""
    airflow_home = settings.airflow_home
    airflow_home.mkdir(parents=True, exist_ok=True)
    values = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "SEISAN_HOME": str(settings.home),
        "SEISAN_INBOX": str(settings.inbox),
        "SEISAN_INGEST_SETTLE_SECONDS": str(settings.settle_seconds),
    }
    os.environ.update(values)
    return values


def ensure_metadata_db(settings: Settings) -> None:
    """Create or upgrade the embedded Airflow metadata DB once (a marker file remembers the version)."""
    import importlib.metadata

    version = importlib.metadata.version("apache-airflow-core")
    marker = settings.airflow_home / ".seisan-db-migrated"
    if marker.is_file() and marker.read_text().strip() == version:
        return
    completed = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=os.environ.copy(),
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise DagRunFailed("could not prepare Airflow's metadata database under "
                           f"{settings.airflow_home}:\n{completed.stderr[-2000:]}\n"
                           "Remove that folder and run again, or check the Airflow installation (make setup).")
    marker.write_text(version)


def run_daily_dag(settings: Settings, business_date: dt.date, *, dag_id: str = DAG_ID,
                  conf: dict[str, object] | None = None) -> DagRunResult:
    """Run settlement_daily (or `dag_id`, e.g. settlement_sharded with conf {"shards": N}) for `business_date` in
    this process and return its outcome. DAG.test runs mapped tasks one after another in this process."""
    prepare_airflow_environment(settings)
    ensure_metadata_db(settings)
    # Airflow's own API server warns about a test client it uses internally; nothing for a user to act on.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    if bag.import_errors:
        raise DagRunFailed(f"the DAG file does not import: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    dag_run = dag.test(run_conf={**(conf or {}), "business_date": business_date.isoformat()})
    states: dict[str, str] = {}
    for ti in dag_run.get_task_instances():  # a mapped task: its worst state over its instances
        state = str(ti.state)
        states[ti.task_id] = state if states.get(ti.task_id, "success") == "success" else states[ti.task_id]
    result = DagRunResult(run_id=dag_run.run_id, state=str(dag_run.state), task_states=states)
    if not result.succeeded:
        failed = sorted(t for t, s in states.items() if s != "success")
        raise DagRunFailed(f"{dag_id} for {business_date} ended {result.state}; tasks not successful: {failed}. "
                           f"Task logs are under {settings.airflow_home / 'logs'}. Fix the cause and run "
                           f"`seisan run --date {business_date}` again: every step is idempotent.")
    return result
