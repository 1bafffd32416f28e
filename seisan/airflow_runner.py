"""Runs the daily DAG on an embedded Airflow home under SEISAN_HOME (no scheduler, no web server of its own).

`run_daily_dag` prepares the environment Airflow reads at import time (AIRFLOW_HOME, the dags folder, SQLite
metadata, quiet logs), migrates the metadata database once, and runs `settlement_daily` (or another DAG of
dags/, e.g. `settlement_sharded`) for one business date with `DAG.test`, the supported way to execute a DAG run
from a program. Airflow is imported only here, and only when a run is asked for: its import alone costs seconds.

Two ways to run: by default every task runs in the calling process, one after another (mapped tasks too). With
`workers=W`, a child process runs the DAG with Airflow's LocalExecutor and W parallel task processes, as a
deployment's executor would: in Airflow 3 a task process reports to the Execution API, so the child also starts
Airflow's API server on a free local port for the run (with a JWT secret made for the run) and stops it after.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seisan.config import REPO_ROOT, Settings

DAG_ID = "settlement_daily"
# How long Airflow's LocalExecutor may take to stop its idle workers after a DAG run is over (bounded_end)
EXECUTOR_STOP_GRACE_SECONDS = 60.0
DAGS_FOLDER = REPO_ROOT / "dags"


@dataclass(frozen=True, slots=True)
class DagRunResult:
    """Outcome of one DAG run: its id, final state, the state of each task (task_id → state; a mapped task: the
    first of its instances that did not succeed), and, for a run with workers, each task instance's run: task_id →
    [(map_index, pid, started ISO, ended ISO)], from Airflow's metadata."""

    run_id: str
    state: str
    task_states: dict[str, str]
    instances: dict[str, list[tuple[int, int, str, str]]] = field(default_factory=dict)

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
                  conf: dict[str, object] | None = None, workers: int = 0) -> DagRunResult:
    """Run settlement_daily (or `dag_id`, e.g. settlement_sharded with conf {"shards": N}) for `business_date` and
    return its outcome: in this process (workers=0), or with Airflow's LocalExecutor and `workers` parallel task
    processes in a child process (each task then takes the home's lock itself, as under a scheduler)."""
    run_conf = {**(conf or {}), "business_date": business_date.isoformat()}
    if workers:
        result = _run_in_child(settings, dag_id, run_conf, workers)
    else:
        result = _run_dag(settings, dag_id, run_conf, use_executor=False)
    if not result.succeeded:
        failed = sorted(t for t, s in result.task_states.items() if s != "success")
        raise DagRunFailed(f"{dag_id} for {business_date} ended {result.state}; tasks not successful: {failed}. "
                           f"Task logs are under {settings.airflow_home / 'logs'}. Fix the cause and run "
                           f"`seisan run --date {business_date}` again: every step is idempotent.")
    return result


def _run_dag(settings: Settings, dag_id: str, run_conf: dict[str, object], *, use_executor: bool) -> DagRunResult:
    prepare_airflow_environment(settings)
    ensure_metadata_db(settings)
    # Airflow's own API server warns about a test client it uses internally; nothing for a user to act on.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    if bag.import_errors:
        raise DagRunFailed(f"the DAG file does not import: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    dag_run = dag.test(run_conf=run_conf, use_executor=use_executor)
    states: dict[str, str] = {}
    instances: dict[str, list[tuple[int, int, str, str]]] = {}
    for ti in dag_run.get_task_instances():
        state = str(ti.state)
        if states.get(ti.task_id, "success") == "success":
            states[ti.task_id] = state
        instances.setdefault(ti.task_id, []).append(
            (ti.map_index, ti.pid or 0, ti.start_date.isoformat() if ti.start_date else "",
             ti.end_date.isoformat() if ti.end_date else ""))
    return DagRunResult(run_id=dag_run.run_id, state=str(dag_run.state), task_states=states, instances=instances)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_in_child(settings: Settings, dag_id: str, run_conf: dict[str, object], workers: int) -> DagRunResult:
    """The DAG run with LocalExecutor, in a child process (Airflow's executor settings are read once per process,
    and its workers are forked from the process that runs the DAG: a fresh one, not the caller)."""
    environment = {**os.environ, **prepare_airflow_environment(settings)}
    answer_path = settings.airflow_home / f".run-{os.getpid()}-{secrets.token_hex(4)}.json"
    request = json.dumps({"dag_id": dag_id, "conf": run_conf, "workers": workers, "answer": str(answer_path)})
    try:
        completed = subprocess.run([sys.executable, "-m", "seisan.airflow_runner", request], env=environment,
                                   capture_output=True, text=True, check=False)
        if completed.returncode != 0 or not answer_path.is_file():
            raise DagRunFailed(f"{dag_id} with {workers} workers could not run (exit status "
                               f"{completed.returncode}):\n{completed.stderr[-3000:]}\nTask logs are under "
                               f"{settings.airflow_home / 'logs'}.")
        answer = json.loads(answer_path.read_text(encoding="utf-8"))
    finally:
        answer_path.unlink(missing_ok=True)
    return DagRunResult(answer["run_id"], answer["state"], answer["task_states"],
                        {k: [tuple(i) for i in v] for k, v in answer["instances"].items()})


def bounded_end(end: Callable[[Any], None], grace_seconds: float) -> Callable[[Any], None]:
    """`end` (LocalExecutor.end) with every worker still alive `grace_seconds` after it began killed, so that it
    returns. Airflow's end() sends one stop message per live worker and then joins each without a timeout; in
    one CI run a worker was left waiting (every task and the DAG run had succeeded, recorded in Airflow's database,
    and `dag.test` never returned). end() runs after the run's last state, so what is left is idle workers."""

    def wrapped(executor: Any) -> None:
        def stop_stragglers() -> None:
            for process in list(executor.workers.values()):
                if process.is_alive():
                    process.kill()  # SIGKILL: a forked worker inherits its parent's SIGTERM handler

        timer = threading.Timer(grace_seconds, stop_stragglers)
        timer.daemon = True
        timer.start()
        try:
            end(executor)
        finally:
            timer.cancel()

    return wrapped


def _serve_and_run(request: dict[str, object]) -> DagRunResult:
    """In the child: the executor's settings, the API server on a free port, the DAG run, the server stopped."""
    from seisan.config import load_settings

    settings = load_settings()
    port = _free_port()
    os.environ.update({
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(request["workers"]),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),  # made for this run, never stored
    })
    prepare_airflow_environment(settings)
    ensure_metadata_db(settings)
    from airflow.executors.local_executor import LocalExecutor

    LocalExecutor.end = bounded_end(LocalExecutor.end, EXECUTOR_STOP_GRACE_SECONDS)  # this child process only
    log_path = settings.airflow_home / "logs" / "api-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        server = subprocess.Popen([sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port",
                                   str(port)], stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            _wait_for_server(port, server, log_path)
            return _run_dag(settings, str(request["dag_id"]), dict(request["conf"]), use_executor=True)
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_for_server(port: int, server: subprocess.Popen, log_path: Path, timeout: float = 180.0) -> None:
    began = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2):
                return
        except OSError:
            if server.poll() is not None or time.monotonic() - began > timeout:
                raise DagRunFailed(f"Airflow's API server did not start on port {port}; its log is {log_path}") \
                    from None
            time.sleep(0.5)


if __name__ == "__main__":  # the child of _run_in_child: a JSON request in, the outcome as JSON in its answer file
    order = json.loads(sys.argv[1])
    outcome = _serve_and_run(order)
    Path(order["answer"]).write_text(json.dumps({
        "run_id": outcome.run_id, "state": outcome.state, "task_states": outcome.task_states,
        "instances": outcome.instances}), encoding="utf-8")
