"""Build the marts for one business date: one in-process `dbt build` of the project in dbt/.

The lead's DAG task and the `seisan` command line call `build_marts`. It runs dbt (models + data tests + unit
tests) once, with the warehouse path passed through the SEISAN_WAREHOUSE environment variable (dbt/profiles.yml
reads it; no machine path is kept in the repository) and what changes from run to run (the business date, the
full check, the merged run's first changed day) passed as environment variables too (dbt_env), never as dbt
`--vars`: dbt throws away its partial parse whenever the command line's vars differ from the last run's, so a new
date every day would re-parse the whole project every day (about 7 s a build), while an env_var read by a few files
re-parses only those. dbt's target and log folders go under $SEISAN_HOME/dbt when SEISAN_HOME is set, else under
<name>.dbt/ beside the warehouse file <name>.duckdb (one folder per warehouse), created private (0700) and kept
between runs so partial parsing is reused. Never a shared temporary folder: a predictable name there
could be created or symlinked first by another user.

The DuckDB file must not be open elsewhere while dbt runs (DuckDB allows one writing process).

This module must never read raw files, never change the raw schema, and never swallow a failed model or test:
a failed build raises `MartsBuildError` naming every failed node.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt"
WAREHOUSE_ENV = "SEISAN_WAREHOUSE"
# Read by the project through env_var (dbt/macros/run_context.sql); set by build_marts for the build's duration.
DATE_ENV = "SEISAN_DBT_BUSINESS_DATE"
FULL_CHECK_ENV = "SEISAN_DBT_FULL_CHECK"
CHANGED_FROM_ENV = "SEISAN_DBT_BALANCES_CHANGED_FROM"
RECOMPUTED_SINCE_ENV = "SEISAN_DBT_RECOMPUTED_SINCE"
MEMORY_LIMIT_ENV = "SEISAN_DBT_MEMORY_LIMIT"
DUCKDB_DEFAULT_MEMORY_LIMIT = "80%"  # DuckDB's own default: 80 % of RAM
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
    warnings: the tests that warned (kind, unique name, status 'warn', dbt's message, e.g. "Got 2 results");
    unit_tests_passed: how many of tests_passed were dbt unit tests (0 when the build did not run them)."""

    business_date: date
    models_built: tuple[str, ...]
    tests_passed: int
    tests_warned: int
    seconds: float
    warnings: tuple[NodeFailure, ...] = ()
    unit_tests_passed: int = 0

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


# dbt.log keeps what an operator reads: each node's start and result, warnings, errors with their message. dbt's
# default for the file is debug: every statement it sends, every connection and cache event, about 50 times the
# lines; writing them took about a sixth of a small day's build (docs/scaling.md). The statements of a build are in
# target/run and target/compiled.
LOG_LEVEL_FILE = "info"


def dbt_args(warehouse: Path, *, command: str = "build", full_refresh: bool = False, select: str | None = None,
             exclude: str | None = None, work_dir: Path | None = None, unit_tests: bool = True) -> list[str]:
    """The dbt command line build_marts runs (also handy for running dbt by hand, with dbt_env's variables set).
    unit_tests=False: a build leaves out the project's dbt unit tests (UNIT_TESTS_STAMP).
    select / exclude: dbt node selectors (a test runs only when every node it reads is selected: cautious indirect
    selection, so a partial build never tests a table it did not build). work_dir: dbt's target/ and logs/ when
    not dbt_work_dir(warehouse) (a shard's own folder, seisan/shards.py)."""
    work = work_dir or dbt_work_dir(warehouse)
    args = [command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--quiet", "--no-use-colors",
            "--log-level-file", LOG_LEVEL_FILE]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    if select or exclude:
        args += ["--indirect-selection", "cautious"]
    if command == "build" and not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


# dbt unit tests check a model's SQL on the fixed rows written in its YAML, never the warehouse's data: their
# verdict can change only when the project's files do. A build runs them when the project differs from the one
# this warehouse's dbt folder last passed them with (the SHA-256 of the project's files and the build's selection,
# kept in this file), and leaves them out otherwise: about 5 s of every daily build (docs/marts.md).
UNIT_TESTS_STAMP = "unit-tests-passed.sha256"
# The latest business date whose whole build (every model, no selection) succeeded in this dbt folder: every
# movement the FIFO engine computed for that date or before has reached the marts after it (BUILT_STAMP).
BUILT_STAMP = "marts-built-through.date"
_PROJECT_FOLDERS = ("models", "macros", "tests", "seeds", "snapshots", "analyses")


def project_digest() -> str:
    """SHA-256 over the dbt project's own files, path and content: dbt_project.yml, profiles.yml and every file
    under the project's source folders (not target/ or logs/)."""
    files = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    files += sorted(path for folder in _PROJECT_FOLDERS for path in (DBT_PROJECT_DIR / folder).rglob("*")
                    if path.is_file() and "__pycache__" not in path.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _unit_tests_due(work_dir: Path, digest: str) -> bool:
    stamp = work_dir / UNIT_TESTS_STAMP
    return not stamp.is_file() or stamp.read_text(encoding="ascii").strip() != digest


def dbt_env(warehouse: Path, business_date: date, *, full_check: bool = False,
            balances_changed_from: date | None = None, recomputed_since: date | None = None,
            memory_limit: str | None = None) -> dict[str, str]:
    """The environment a build of D reads (dbt/profiles.yml, dbt/macros/run_context.sql): the warehouse file, the
    business date, full_check (the data tests that otherwise check only the days this run changed check every day,
    dbt/macros/changed_days.sql), balances_changed_from (the merged run's earliest day any shard rewrote),
    recomputed_since (the marts take the FIFO engine's movements computed on or after it; default D) and DuckDB's
    memory_limit for the build (default DuckDB's own, 80 % of RAM)."""
    return {WAREHOUSE_ENV: str(Path(warehouse).resolve()), DATE_ENV: business_date.isoformat(),
            FULL_CHECK_ENV: "true" if full_check else "false",
            CHANGED_FROM_ENV: balances_changed_from.isoformat() if balances_changed_from else "",
            RECOMPUTED_SINCE_ENV: (recomputed_since or business_date).isoformat(),
            MEMORY_LIMIT_ENV: memory_limit or DUCKDB_DEFAULT_MEMORY_LIMIT}


def _built_through(work_dir: Path) -> date | None:
    """The date BUILT_STAMP holds; None without one (a new warehouse, or one built before the stamp)."""
    try:
        return date.fromisoformat((work_dir / BUILT_STAMP).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def recomputed_since(work_dir: Path, business_date: date) -> date:
    """The first computed_for_date whose movements a build of D must carry into the marts: D, or the day after the
    last whole build that succeeded here when that is earlier. A build of D that failed after the FIFO engine
    committed (a failed test skips the models after it) leaves movements computed for D; the next build, of D or
    a later date, takes them too, so a day that is never run again loses nothing in the marts."""
    built = _built_through(work_dir)
    return business_date if built is None else min(business_date, built + timedelta(days=1))


def _record_built(work_dir: Path, business_date: date) -> None:
    built = _built_through(work_dir)
    latest = business_date if built is None else max(built, business_date)
    (work_dir / BUILT_STAMP).write_text(latest.isoformat() + "\n", encoding="ascii")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _progress_callback(progress: Callable[[str], None]) -> Callable[[object], None]:
    def on_event(event: object) -> None:
        info = getattr(event, "info", None)
        if info is None or info.name != "NodeFinished":
            return
        node = event.data.node_info  # type: ignore[attr-defined]
        progress(f"{node.resource_type} {node.node_name}: {node.node_status}")
    return on_event


def _summarise(results: list, business_date: date, seconds: float) -> MartsResult:
    models, passed, unit_passed, warnings, failures = [], 0, 0, [], []
    for result in results:
        kind = str(result.node.resource_type).split(".")[-1].lower()
        status = str(getattr(result.status, "value", result.status)).lower()
        if status in _FAILED_STATUSES:
            failures.append(NodeFailure(kind, result.node.unique_id, status, str(result.message or "")[:500]))
        elif kind == "model" and status == "success":
            models.append(result.node.name)
        elif kind in {"test", "unit_test"} and status in _PASSED_TEST_STATUSES:
            passed += 1
            unit_passed += kind == "unit_test"
        elif kind in {"test", "unit_test"} and status == "warn":
            warnings.append(NodeFailure(kind, result.node.unique_id, status, str(result.message or "")[:500]))
    if failures:
        lines = "\n".join(f"  {f.kind} {f.name}: {f.status}: {f.message}" for f in failures)
        raise MartsBuildError(f"dbt build for {business_date} failed ({len(failures)} node(s)):\n{lines}",
                              tuple(failures))
    return MartsResult(business_date, tuple(models), passed, len(warnings), seconds, tuple(warnings), unit_passed)


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
                work_dir: Path | None = None, balances_changed_from: date | None = None,
                unit_tests: bool | None = None, memory_limit: str | None = None) -> MartsResult:
    """Run `dbt build` (models, data tests, unit tests) for business date D on the warehouse file.
    unit_tests: None runs the dbt unit tests with full_check, or when the project changed since this dbt folder last
    passed them (UNIT_TESTS_STAMP: the first build of a warehouse, and the first after a code change); True
    always; False never.
    `with_tests=False` runs `dbt run` (the models only): for test harnesses that build many days in a row and
    test the data on the last one (with full_check); the daily run always tests. The balances family's data tests
    check the days the run changed; `full_check=True` makes them check every day. select / exclude / work_dir /
    balances_changed_from: a partial build in its own dbt folder (dbt_args, dbt_env; the sharded run,
    seisan/shards.py). memory_limit: DuckDB's limit during the build (`[warehouse] build_memory_limit`; None: DuckDB's
    default, 80 % of RAM).

    Raises MartsBuildError naming each failed model or test, or dbt's own error when it cannot start.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when a build runs

    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise MartsBuildError(f"warehouse {warehouse} does not exist; run ingestion first")
    work_dir = prepare_work_dir(warehouse, work_dir)
    digest = hashlib.sha256(f"{project_digest()}|{select}|{exclude}".encode()).hexdigest()  # per selection
    if unit_tests is None:
        unit_tests = with_tests and (full_check or _unit_tests_due(work_dir, digest))
    args = dbt_args(warehouse, command="build" if with_tests else "run", full_refresh=full_refresh,
                    select=select, exclude=exclude, work_dir=work_dir, unit_tests=unit_tests)
    whole = select is None and exclude is None
    environment = dbt_env(warehouse, business_date, full_check=full_check,
                          balances_changed_from=balances_changed_from,
                          recomputed_since=recomputed_since(work_dir, business_date) if whole else business_date,
                          memory_limit=memory_limit)
    callbacks = [_progress_callback(progress)] if progress else []
    started = time.monotonic()
    with _dbt_lock, _environment(environment):
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
    if with_tests and unit_tests and summary.unit_tests_passed:
        (work_dir / UNIT_TESTS_STAMP).write_text(digest + "\n", encoding="ascii")
    if whole:
        _record_built(work_dir, business_date)
    return summary
