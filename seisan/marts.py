"""Build the marts for one business date: one in-process `dbt build` of the project in dbt/.

The lead's DAG task and the `seisan` command line call `build_marts`. It runs dbt (models + data tests + unit
tests) once, with the warehouse path passed through the SEISAN_WAREHOUSE environment variable (dbt/profiles.yml
reads it; no machine path is kept in the repository) and the business date passed as the dbt var
`business_date`. dbt's target and log folders go under $SEISAN_HOME/dbt when SEISAN_HOME is set, else under
<name>.dbt/ beside the warehouse file <name>.duckdb (one folder per warehouse), created private (0700) and kept
between runs so partial parsing is reused. Never a shared temporary folder: a predictable name there
could be created or symlinked first by another user.

The DuckDB file must not be open elsewhere while dbt runs (DuckDB allows one writing process).

This module must never read raw files, never change the raw schema, and never swallow a failed model or test:
a failed build raises `MartsBuildError` naming every failed node.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt"
WAREHOUSE_ENV = "SEISAN_WAREHOUSE"
HOME_ENV = "SEISAN_HOME"

_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
_PASSED_TEST_STATUSES = frozenset({"pass", "success"})
_dbt_lock = threading.Lock()  # dbt's in-process runner keeps global state: one invocation at a time


@dataclass(frozen=True, slots=True)
class NodeFailure:
    """One model or test that failed (or, in MartsResult.warnings, a test that only warned).

    kind: dbt resource type (model, test, unit_test...); name: the node's unique name; status: dbt's status;
    message: dbt's message (first 500 characters)."""

    kind: str
    name: str
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class MartsResult:
    """What one build did. business_date: D; models_built: names of models run, in run order;
    tests_passed / tests_warned: data and unit tests that passed or only warned; seconds: wall time of the build;
    warnings: the tests that warned (kind, unique name, status 'warn', dbt's message, e.g. "Got 2 results")."""

    business_date: date
    models_built: tuple[str, ...]
    tests_passed: int
    tests_warned: int
    seconds: float
    warnings: tuple[NodeFailure, ...] = ()

    @property
    def tests_failed(self) -> int:
        """Always 0: a build with a failed test raises MartsBuildError instead of returning."""
        return 0


class MartsBuildError(RuntimeError):
    """The dbt build failed. failures: every failed node (empty when dbt itself could not start)."""

    def __init__(self, message: str, failures: tuple[NodeFailure, ...] = ()) -> None:
        super().__init__(message)
        self.failures = failures


def dbt_work_dir(warehouse: Path) -> Path:
    """Where dbt's target/ and logs/ go for this warehouse: $SEISAN_HOME/dbt, else <name>.dbt beside the
    warehouse file <name>.duckdb."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home) / "dbt"
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(f"{warehouse.stem}.dbt")


def prepare_work_dir(warehouse: Path, work_dir: Path | None = None) -> Path:
    """work_dir (default dbt_work_dir(warehouse)), created if missing with mode 0700 (readable by this user only:
    dbt's logs and compiled SQL hold business data)."""
    work = work_dir or dbt_work_dir(warehouse)
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    work.chmod(0o700)
    return work


def dbt_args(warehouse: Path, business_date: date, *, command: str = "build",
             full_refresh: bool = False, select: str | None = None, full_check: bool = False,
             exclude: str | None = None, work_dir: Path | None = None,
             extra_vars: dict[str, object] | None = None) -> list[str]:
    """The dbt command line build_marts runs (also handy for running dbt by hand). full_check: the data tests that
    otherwise check only the days this run changed check every day (vars.full_check, dbt/macros/changed_days.sql).
    select / exclude: dbt node selectors (a test runs only when every node it reads is selected: cautious indirect
    selection, so a partial build never tests a table it did not build). work_dir: dbt's target/ and logs/ when
    not dbt_work_dir(warehouse) (a shard's own folder, seisan/shards.py). extra_vars: more dbt vars (the merged
    run's `balances_changed_from`, dbt/macros/changed_days.sql)."""
    work = work_dir or dbt_work_dir(warehouse)
    variables: dict[str, object] = {"business_date": business_date.isoformat()}
    if full_check:
        variables["full_check"] = True
    variables.update(extra_vars or {})
    args = [command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps(variables), "--quiet", "--no-use-colors"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    if select or exclude:
        args += ["--indirect-selection", "cautious"]
    return args


@contextmanager
def _warehouse_env(warehouse: Path) -> Iterator[None]:
    previous = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(warehouse.resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = previous


def _progress_callback(progress: Callable[[str], None]) -> Callable[[object], None]:
    def on_event(event: object) -> None:
        info = getattr(event, "info", None)
        if info is None or info.name != "NodeFinished":
            return
        node = event.data.node_info  # type: ignore[attr-defined]
        progress(f"{node.resource_type} {node.node_name}: {node.node_status}")
    return on_event


def _summarise(results: list, business_date: date, seconds: float) -> MartsResult:
    models, passed, warnings, failures = [], 0, [], []
    for result in results:
        kind = str(result.node.resource_type).split(".")[-1].lower()
        status = str(getattr(result.status, "value", result.status)).lower()
        if status in _FAILED_STATUSES:
            failures.append(NodeFailure(kind, result.node.unique_id, status, str(result.message or "")[:500]))
        elif kind == "model" and status == "success":
            models.append(result.node.name)
        elif kind in {"test", "unit_test"} and status in _PASSED_TEST_STATUSES:
            passed += 1
        elif kind in {"test", "unit_test"} and status == "warn":
            warnings.append(NodeFailure(kind, result.node.unique_id, status, str(result.message or "")[:500]))
    if failures:
        lines = "\n".join(f"  {f.kind} {f.name}: {f.status}: {f.message}" for f in failures)
        raise MartsBuildError(f"dbt build for {business_date} failed ({len(failures)} node(s)):\n{lines}",
                              tuple(failures))
    return MartsResult(business_date, tuple(models), passed, len(warnings), seconds, tuple(warnings))


def _release_warehouse() -> None:
    """Close the DuckDB handle dbt-duckdb keeps open in-process after a run.

    dbt-duckdb caches one DuckDB connection per process (DuckDBConnectionManager._ENV) and never closes it,
    which would keep the warehouse locked for the next step in this process. There is no public API for this,
    so the adapter's own close() is called on its cached environment.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
        DuckDBConnectionManager.close_all_connections()


def build_marts(warehouse: Path, business_date: date, *, full_refresh: bool = False,
                progress: Callable[[str], None] | None = None, with_tests: bool = True,
                full_check: bool = False, select: str | None = None, exclude: str | None = None,
                work_dir: Path | None = None, extra_vars: dict[str, object] | None = None) -> MartsResult:
    """Run `dbt build` (models, data tests, unit tests) for business date D on the warehouse file.
    `with_tests=False` runs `dbt run` (the models only): for test harnesses that build many days in a row and
    test the data on the last one (with full_check); the daily run always tests. The balances family's data tests
    check the days the run changed; `full_check=True` makes them check every day. select / exclude / work_dir /
    extra_vars: a partial build in its own dbt folder (dbt_args; the sharded run, seisan/shards.py).

    Raises MartsBuildError naming each failed model or test, or dbt's own error when it cannot start.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when a build runs

    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise MartsBuildError(f"warehouse {warehouse} does not exist; run ingestion first")
    work_dir = prepare_work_dir(warehouse, work_dir)
    args = dbt_args(warehouse, business_date, command="build" if with_tests else "run", full_refresh=full_refresh,
                    full_check=full_check, select=select, exclude=exclude, work_dir=work_dir,
                    extra_vars=extra_vars)
    callbacks = [_progress_callback(progress)] if progress else []
    started = time.monotonic()
    with _dbt_lock, _warehouse_env(warehouse):
        try:
            outcome = dbtRunner(callbacks=callbacks).invoke(args)
        finally:
            _release_warehouse()
    seconds = time.monotonic() - started
    if outcome.exception is not None:
        raise MartsBuildError(f"dbt could not run for {business_date}: {outcome.exception}")
    results = list(getattr(outcome.result, "results", []) or [])
    summary = _summarise(results, business_date, seconds)
    if not outcome.success:
        raise MartsBuildError(f"dbt build for {business_date} failed without a failed node; see "
                              f"{work_dir / 'logs'}")
    return summary
