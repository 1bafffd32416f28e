"""The daily DAG, run in-process on an embedded Airflow home, on a small simulated world."""

from __future__ import annotations

import ast
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from contracts.codes import contains_my_number
from seisan.config import REPO_ROOT, load_settings

DAG_FILE = REPO_ROOT / "dags" / "settlement_daily.py"


def test_dag_file_is_thin_and_imports_only_the_sdk() -> None:
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    top_level_imports = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            top_level_imports.add(node.module)
        elif isinstance(node, ast.Import):
            top_level_imports.update(alias.name for alias in node.names)
    assert top_level_imports <= {"__future__", "pendulum", "airflow.sdk"}, top_level_imports
    assert ast.get_docstring(tree), "the DAG's docstring is its documentation in the UI"


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Every message seisan's logger hands to its handlers (after its own filters) during the test."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger, keep = logging.getLogger("seisan"), Keep()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(keep)
    yield lines
    logger.removeHandler(keep)
    logger.setLevel(level)


@pytest.mark.slow
def test_run_two_days_through_the_dag(seisan_home: Path, tmp_path: Path, logged: list[str]) -> None:
    from seisan.airflow_runner import run_daily_dag
    from simulator import deliver, simulate

    settings = load_settings(config_file=Path("/nonexistent.toml"), env={"SEISAN_HOME": str(seisan_home)})
    start = dt.date(2026, 11, 2)
    simulate(settings.inbox, start, 2, 1, 60, 5, faults="typical")
    for offset in range(2):
        day = start + dt.timedelta(days=offset)
        deliver(settings.inbox, day)
        result = run_daily_dag(settings, day)
        assert result.succeeded
        assert set(result.task_states) == {"ingest", "build_marts"}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        dates = {r[0] for r in con.execute("select distinct ingest_run_date from raw.file_manifest").fetchall()}
        assert dates == {start, start + dt.timedelta(days=1)}
        assert con.execute("select count(*) from raw.platform_ledger").fetchone()[0] > 0
        balances = con.execute("select count(*) from marts.fct_balances").fetchone()[0]
        assert balances > 0
        manifest_rows = con.execute("select count(*) from raw.file_manifest where ingest_run_date = ?",
                                    [start]).fetchone()[0]
        steps = con.execute("select business_date, step from audit.step_runs order by 1, 2").fetchall()
        assert steps == [(day, step) for day in (start, start + dt.timedelta(days=1))
                         for step in ("build_marts", "ingest")]
    files_csv = settings.out_dir / start.isoformat() / "ingest_files.csv"
    lines = files_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("path,file_sha256,source,kind,business_date,status")
    assert len(lines) == 1 + manifest_rows
    assert (settings.out_dir / start.isoformat() / "ingest_quarantine.csv").is_file()
    # the typical world delivers My Numbers in id fields; none reaches what seisan logs in the tasks (a handler on
    # seisan's logger, which Airflow's logging set-up leaves alone; task log files, when there are any, too)
    assert any(": loaded" in line for line in logged)
    files = [p for p in (settings.airflow_home / "logs").rglob("*") if p.is_file()]
    texts = logged + [p.read_text(encoding="utf-8", errors="replace") for p in files]
    assert not any(contains_my_number(text) for text in texts)
    # the same date again changes nothing in raw
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        before = con.execute("select count(*) from raw.platform_ledger").fetchone()[0]
    assert run_daily_dag(settings, start + dt.timedelta(days=1)).succeeded
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.platform_ledger").fetchone()[0] == before
