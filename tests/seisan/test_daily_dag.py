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


DAILY_TASKS = ["ingest", "build_marts", "quality", "reconcile", "gate", "payments", "report"]


def _chain(node: ast.expr) -> list[str]:
    """The task names of an `a() >> b() >> c()` expression, in order."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
        return _chain(node.left) + _chain(node.right)
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), ast.dump(node)
    return [node.func.id]


def test_dag_runs_the_daily_tasks_in_order_each_handing_over_to_its_step() -> None:
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    dag_function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "settlement_daily")
    chains = [_chain(n.value) for n in dag_function.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.BinOp)]
    assert chains == [DAILY_TASKS]
    tasks = {n.name: n for n in dag_function.body if isinstance(n, ast.FunctionDef)}
    assert list(tasks) == DAILY_TASKS
    import seisan.steps

    for name, function in tasks.items():
        step = "build_marts_step" if name == "build_marts" else f"{name}_step"
        assert step in ast.unparse(function), f"task {name} hands over to seisan.steps.{step}"
        assert callable(getattr(seisan.steps, step))


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
def test_run_two_days_through_the_dag(seisan_home: Path, tmp_path: Path, logged: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for room in ("reconciliation.engine", "reconciliation.breaks", "reconciliation.quality"):
        pytest.importorskip(room, reason="the daily run needs the matching engine, break store and quality suites")
    from seisan.airflow_runner import run_daily_dag
    from seisan.cli import main
    from simulator import deliver, simulate

    # the files are written just before the run: settled at once (run_daily_dag passes this on to the tasks;
    # with the default 5 s a fast machine's ingest left the last-written file for the next run)
    settings = load_settings(config_file=Path("/nonexistent.toml"),
                             env={"SEISAN_HOME": str(seisan_home), "SEISAN_INGEST_SETTLE_SECONDS": "0"})
    start = dt.date(2026, 11, 2)
    second = start + dt.timedelta(days=1)
    simulate(settings.inbox, start, 2, 1, 60, 5, faults="typical")
    deliver(settings.inbox, start)
    result = run_daily_dag(settings, start)
    assert result.succeeded
    assert set(result.task_states) == set(DAILY_TASKS)
    # the second day through the command line, in-process: the gate is an outcome printed per municipality
    deliver(settings.inbox, second)
    capsys.readouterr()
    assert main(["run", "--date", second.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert f"gate for {second} (materiality ¥0): " in printed
    report_html = settings.out_dir / second.isoformat() / f"reconciliation-{second}.html"
    assert f"reconciliation report: {report_html}" in printed
    assert "\nbreaks: " in printed and " open (¥" in printed
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        dates = {r[0] for r in con.execute("select distinct ingest_run_date from raw.file_manifest").fetchall()}
        assert dates == {start, second}
        assert con.execute("select count(*) from raw.platform_ledger").fetchone()[0] > 0
        balances = con.execute("select count(*) from marts.fct_balances").fetchone()[0]
        assert balances > 0
        manifest_rows = con.execute("select count(*) from raw.file_manifest where ingest_run_date = ?",
                                    [start]).fetchone()[0]
        steps = con.execute("select business_date, step from audit.step_runs order by 1, 2").fetchall()
        assert steps == [(day, step) for day in (start, second) for step in sorted(DAILY_TASKS)]
        in_force = {r[0] for r in con.execute(
            "select municipality_code from marts.dim_municipalities where valid_from <= ? and "
            "(valid_to is null or valid_to >= ?)", [second, second]).fetchall()}
        gates = dict(con.execute("select municipality_code, status from recon.gate where run_date = ?",
                                 [second]).fetchall())
        assert in_force and in_force <= set(gates) and set(gates.values()) <= {"open", "blocked"}
        for code, status in gates.items():
            assert f"{code} " in printed and status in printed
        gate_before = con.execute("select * exclude (decided_at) from recon.gate order by all").fetchall()
        breaks_before = con.execute("select * from recon.breaks order by break_id").fetchall()
    for day in (start, second):
        out = settings.out_dir / day.isoformat()
        assert (out / f"reconciliation-{day}.html").is_file() and (out / f"breaks-{day}.csv").is_file()
        assert (out / "data-docs" / "index.html").is_file()
    files_csv = settings.out_dir / start.isoformat() / "ingest_files.csv"
    lines = files_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("path,file_sha256,source,kind,business_date,status")
    assert len(lines) == 1 + manifest_rows
    assert (settings.out_dir / start.isoformat() / "ingest_quarantine.csv").is_file()
    # the typical world delivers My Numbers in id fields; none reaches what seisan logs in the tasks (a handler on
    # seisan's logger, which Airflow's logging set-up leaves alone; task log files, when there are any, too), nor
    # the reconciliation report
    assert any(": loaded" in line for line in logged)
    files = [p for p in (settings.airflow_home / "logs").rglob("*") if p.is_file()]
    texts = logged + [p.read_text(encoding="utf-8", errors="replace") for p in files] + [printed]
    texts += [p.read_text(encoding="utf-8") for p in settings.out_dir.glob("*/reconciliation-*.html")]
    texts += [p.read_text(encoding="utf-8") for p in settings.out_dir.glob("*/breaks-*.csv")]
    assert not any(contains_my_number(text) for text in texts)
    # the same date again changes nothing in raw, in the breaks or in the gate's decisions
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        before = con.execute("select count(*) from raw.platform_ledger").fetchone()[0]
    assert run_daily_dag(settings, second).succeeded
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.platform_ledger").fetchone()[0] == before
        assert con.execute("select * exclude (decided_at) from recon.gate order by all").fetchall() == gate_before
        assert con.execute("select * from recon.breaks order by break_id").fetchall() == breaks_before
