"""The sharded daily run (seisan/shards.py, dags/settlement_sharded.py) against the single-warehouse run.

The reference is the single run itself: the same simulated world is run once through the daily steps on one
warehouse and once sharded (day 1: the DAG settlement_sharded on Airflow's LocalExecutor with two task processes,
as `seisan run --shards 3 --workers 2` runs it; day 2: `run_sharded_day`, the shard builds in two worker processes
at once), and every table and output file must be equal, day by day. The split and merge checks are tested on
hand-made warehouses.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from seisan.config import REPO_ROOT, Settings, load_settings
from seisan.shards import SHARD_SOURCES, ShardError, merge_shards, shard_of_sql, shard_warehouse, split_raw
from seisan.steps import SHARDED_RUN_STEPS

DAG_FILE = REPO_ROOT / "dags" / "settlement_sharded.py"
SHARDS = 3
# Columns that hold when a step ran, where the home is or an ingest run's own id (time-ordered), not what was
# decided: they differ between any two runs of the same data.
WALL_CLOCK_COLUMNS = {"computed_at", "found_at", "planned_at", "exported_at", "frozen_at", "ingested_at",
                      "quarantined_at", "released_at", "checked_at", "masters_through", "synced_at", "decided_at",
                      "matched_at", "at", "path", "file_path", "batch_id"}
# What a build read rather than what it decided: masters_fingerprint names the master rows an incremental model was
# computed from (dbt/macros/masters_fingerprint.sql), and a shard holds only its own municipalities' masters.
BUILD_STATE_COLUMNS = {"masters_fingerprint"}


def _shard(code: str | None, count: int) -> int:
    with duckdb.connect() as con:
        return con.execute(f"select {shard_of_sql('c', count)} from (select ?::varchar as c)", [code]).fetchone()[0]


@pytest.mark.parametrize(("code", "count", "shard"), [
    ("011002", 4, 1), ("131016", 4, 1), ("472018", 4, 3), ("141003", 2, 0), ("131016", 1, 0),
    (None, 4, 0), ("", 4, 0), ("AB1234", 4, 0), ("-10000", 4, 0), ("1", 4, 0), ("4X0001", 4, 0)])
def test_a_code_goes_to_its_prefecture_number_modulo_the_count_and_anything_else_to_shard_0(
        code: str | None, count: int, shard: int) -> None:
    assert _shard(code, count) == shard


def test_every_municipality_of_japan_has_one_shard_shared_by_its_prefecture() -> None:
    with (REPO_ROOT / "contracts" / "data" / "municipalities.csv").open(encoding="utf-8") as f:
        codes = [row["municipality_code"] for row in csv.DictReader(f)]
    assert len(codes) > 1700
    with duckdb.connect() as con:
        con.execute("create table m (c varchar)")
        con.executemany("insert into m values (?)", [[c] for c in codes])
        for count in (1, 2, 3, 4, 8, 47):
            shard = shard_of_sql("c", count)
            rows = con.execute(f"select left(c, 2), list(distinct {shard}) from m group by 1").fetchall()
            assert len(rows) == 47
            for prefecture, shards in rows:
                assert shards == [int(prefecture) % count], (prefecture, count)


def test_shard_sources_are_the_raw_tables_the_marts_read_and_every_dbt_test_runs_in_a_sharded_day(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbt.cli.main import dbtRunner

    from seisan.marts import DBT_PROJECT_DIR
    from seisan.shards import NATIONAL_EXCLUDE, SHARD_SELECT

    monkeypatch.setenv("SEISAN_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SEISAN_DBT_BUSINESS_DATE", "2026-11-02")

    def names(*selection: str) -> set[str]:
        outcome = dbtRunner().invoke([
            "ls", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
            str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--output", "name", "--quiet",
            *selection])
        assert outcome.success, outcome.exception
        return set(outcome.result)

    sources = names("--select", SHARD_SELECT, "--resource-type", "source")
    assert {name.split(".")[-1] for name in sources} == set(SHARD_SOURCES)
    tests = ("--resource-type", "test", "--resource-type", "unit_test", "--indirect-selection", "cautious")
    every = names("--resource-type", "test", "--resource-type", "unit_test")
    in_shards = names("--select", SHARD_SELECT, *tests)
    national = names("--exclude", NATIONAL_EXCLUDE, *tests)
    assert len(every) > 100 and in_shards and national
    assert every - in_shards - national == set(), "tests a sharded day would run nowhere"


def _national(path: Path) -> duckdb.DuckDBPyConnection:
    """A national warehouse holding SHARD_SOURCES with a few rows, odd municipality codes included."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    for table in SHARD_SOURCES:
        with_code = table not in ("master_merchants", "master_partners")
        con.execute(f"create table raw.{table} (file_sha256 varchar, line_number integer, amount integer"
                    f"{', municipality_code varchar' if with_code else ''})")
        codes = ["011002", "131016", "141003", "472018", None, "ZZ9999", "-10000"]
        for line, code in enumerate(codes, start=2):
            values = [f"{table}-sha", line, line * 100] + ([code] if with_code else [])
            con.execute(f"insert into raw.{table} values ({', '.join('?' * len(values))})", values)
    return con


def test_split_puts_every_row_in_exactly_one_shard_appends_only_new_rows_and_refuses_extra_ones(
        tmp_path: Path) -> None:
    con = _national(tmp_path / "warehouse.duckdb")
    day = dt.date(2026, 11, 2)
    first = split_raw(con, tmp_path, 2, day)
    assert first.national_rows == {t: 7 for t in SHARD_SOURCES}
    # codes 011002 and 131016 and 472018 are odd prefectures (shard 1); 141003, NULL and the malformed ones: shard 0
    assert [r["platform_ledger"] for r in first.rows_added] == [4, 3]
    assert [r["master_merchants"] for r in first.rows_added] == [7, 7]  # no municipality: every shard, whole
    with duckdb.connect(str(shard_warehouse(tmp_path, 2, 0)), read_only=True) as s:
        codes0 = {r[0] for r in s.execute("select municipality_code from raw.platform_ledger").fetchall()}
    with duckdb.connect(str(shard_warehouse(tmp_path, 2, 1)), read_only=True) as s:
        codes1 = {r[0] for r in s.execute("select municipality_code from raw.platform_ledger").fetchall()}
    assert codes0 == {"141003", None, "ZZ9999", "-10000"} and codes1 == {"011002", "131016", "472018"}
    # the next day's rows only are appended; what was copied is not copied again
    con.execute("insert into raw.platform_ledger values ('day2-sha', 2, 5, '131016')")
    second = split_raw(con, tmp_path, 2, day + dt.timedelta(days=1))
    assert [sum(r.values()) for r in second.rows_added] == [0, 1]
    # a row a shard holds that the national warehouse does not: the split refuses to go on
    with duckdb.connect(str(shard_warehouse(tmp_path, 2, 0))) as s:
        s.execute("insert into raw.platform_ledger values ('stray', 1, 1, '141003')")
    with pytest.raises(ShardError, match=r"raw.platform_ledger: the shards hold \[5, 4\] rows"):
        split_raw(con, tmp_path, 2, day + dt.timedelta(days=1))
    con.close()


def _shard_marts(path: Path, rows: list[tuple[str, int]], dims: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging")
        con.execute("create table marts.fct_x (municipality_code varchar, amount integer)")
        con.executemany("insert into marts.fct_x values (?, ?)", rows)
        con.execute("create table marts.dim_y (name varchar)")
        con.executemany("insert into marts.dim_y values (?)", [[d] for d in dims])
        con.execute("create view staging.v as select 1 as one")


def test_merge_unions_the_shards_takes_a_national_table_once_and_refuses_one_that_differs(tmp_path: Path) -> None:
    day = dt.date(2026, 11, 2)
    _shard_marts(shard_warehouse(tmp_path, 2, 0), [("141003", 10), ("141003", 20)], ["a", "b"])
    _shard_marts(shard_warehouse(tmp_path, 2, 1), [("131016", 5)], ["a", "b"])
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        merged = merge_shards(con, tmp_path, 2, day)
        assert merged.tables == {"marts.dim_y": 2, "marts.fct_x": 3}
        assert merged.taken_once == ("marts.dim_y",)
        assert sorted(con.execute("select * from marts.fct_x").fetchall()) == [
            ("131016", 5), ("141003", 10), ("141003", 20)]
    _shard_marts(shard_warehouse(tmp_path, 2, 1).with_name("other.duckdb"), [("131016", 7)], ["a", "c"])
    shard_warehouse(tmp_path, 2, 1).with_name("other.duckdb").replace(shard_warehouse(tmp_path, 2, 1))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        with pytest.raises(ShardError, match="marts.dim_y has no municipality_code yet differs"):
            merge_shards(con, tmp_path, 2, day)
        # nothing was merged: the national tables are those of the last good merge
        assert con.execute("select sum(amount) from marts.fct_x").fetchone()[0] == 35


def test_dag_file_is_thin_maps_the_shard_builds_and_hands_each_task_to_its_step() -> None:
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    imports = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    imports |= {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert imports <= {"__future__", "pendulum", "airflow.sdk"}, imports
    source = DAG_FILE.read_text(encoding="utf-8")
    assert "shard_marts.expand(shard=shards)" in source
    assert "@task(outlets=[SETTLEMENT_DONE])\n    def report(" in source
    dag_function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "settlement_sharded")
    import seisan.steps

    for function in (n for n in dag_function.body if isinstance(n, ast.FunctionDef)):
        step = f"{function.name}_step"
        assert step in ast.unparse(function) and callable(getattr(seisan.steps, step)), function.name
    assert [n.name for n in dag_function.body if isinstance(n, ast.FunctionDef)] == list(seisan.steps.SHARDED_RUN_STEPS)


def _settings(home: Path) -> Settings:
    return load_settings(config_file=Path("/nonexistent.toml"),
                         env={"SEISAN_HOME": str(home), "SEISAN_INGEST_SETTLE_SECONDS": "0"})


def _single_day(settings: Settings, day: dt.date) -> None:
    from seisan import steps

    for step in (steps.ingest_step, steps.build_marts_step, steps.quality_step, steps.reconcile_step,
                 steps.gate_step, steps.payments_step, steps.report_step):
        step(day, settings)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "select t.table_schema || '.' || t.table_name, list(c.column_name order by c.ordinal_position) "
        "from information_schema.tables t join information_schema.columns c on c.table_catalog = t.table_catalog "
        "and c.table_schema = t.table_schema and c.table_name = t.table_name "
        "where t.table_catalog = ? and t.table_type = 'BASE TABLE' and t.table_schema <> 'audit' "
        "group by 1", [catalog]).fetchall()
    return {name: [c for c in columns if c not in WALL_CLOCK_COLUMNS | BUILD_STATE_COLUMNS] for name, columns in rows}


def _assert_same_warehouse(single: Path, sharded: Path) -> dict[str, int]:
    with duckdb.connect() as con:
        con.execute(f"attach '{single}' as a (read_only)")
        con.execute(f"attach '{sharded}' as b (read_only)")
        tables_a, tables_b = _tables(con, "a"), _tables(con, "b")
        assert tables_a == tables_b
        sizes = {}
        for name, columns in tables_a.items():
            cols = ", ".join(f'"{c}"' for c in columns)
            differ = con.execute(
                f"select count(*) from ((select {cols} from a.{name} except all select {cols} from b.{name}) union "
                f"all (select {cols} from b.{name} except all select {cols} from a.{name}))").fetchone()[0]
            assert differ == 0, f"{name}: {differ} rows differ between the single and the sharded run"
            sizes[name] = con.execute(f"select count(*) from a.{name}").fetchone()[0]
        return sizes


def _assert_same_outputs(single: Path, sharded: Path, day: dt.date) -> None:
    made = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")  # when the report was made
    names = sorted(p.name for p in (single / day.isoformat()).iterdir() if p.is_file())
    assert names and names == sorted(p.name for p in (sharded / day.isoformat()).iterdir() if p.is_file())
    for name in names:
        a, b = ((root / day.isoformat() / name).read_text(encoding="utf-8") for root in (single, sharded))
        assert made.sub("", a) == made.sub("", b), name


@pytest.mark.slow
def test_the_sharded_run_equals_the_single_run_table_by_table(tmp_path: Path) -> None:
    from seisan.airflow_runner import run_daily_dag
    from seisan.steps import run_sharded_day
    from simulator import deliver, simulate

    start = dt.date(2026, 11, 2)
    world = tmp_path / "world"
    simulate(world, start, 2, 4, 120, 11, faults="typical")
    single, sharded = _settings(tmp_path / "single"), _settings(tmp_path / "sharded")
    for settings in (single, sharded):
        shutil.copytree(world, settings.inbox)
    saved = dict(os.environ)
    try:
        for offset in range(2):
            day = start + dt.timedelta(days=offset)
            for settings in (single, sharded):
                deliver(settings.inbox, day)
            _single_day(single, day)
            if offset == 0:  # the DAG on Airflow's LocalExecutor: two task processes at once
                result = run_daily_dag(sharded, day, dag_id="settlement_sharded", conf={"shards": SHARDS},
                                       workers=2)
                assert result.succeeded and set(result.task_states) == set(SHARDED_RUN_STEPS)
                builds = result.instances["shard_marts"]
                assert sorted(b[0] for b in builds) == list(range(SHARDS))
                assert os.getpid() not in {b[1] for b in builds} and len({b[1] for b in builds}) >= 2
                spans = sorted((dt.datetime.fromisoformat(b[2]), dt.datetime.fromisoformat(b[3])) for b in builds)
                assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), \
                    f"no two shard builds ran at the same time: {spans}"
            else:  # run_sharded_day (make bench-sharded's run): the shard builds in two worker processes at once
                run_sharded_day(day, sharded, shards=SHARDS, workers=2)
            sizes = _assert_same_warehouse(single.warehouse, sharded.warehouse)
            _assert_same_outputs(single.out_dir, sharded.out_dir, day)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    # the comparison meant something: the marts and the matching hold rows, and the shards split them
    assert sizes["marts.fct_ledger_entries"] > 100 and sizes["recon.findings"] > 0 and sizes["raw.quarantine"] > 0
    held = []
    for shard in range(SHARDS):
        with duckdb.connect(str(shard_warehouse(sharded.home, SHARDS, shard)), read_only=True) as con:
            wrong = con.execute(f"select count(*) from marts.fct_ledger_entries "
                                f"where {shard_of_sql('municipality_code', SHARDS)} <> {shard}").fetchone()[0]
            assert wrong == 0
            held.append(con.execute("select count(*) from marts.fct_ledger_entries").fetchone()[0])
    assert sum(held) == sizes["marts.fct_ledger_entries"] and sum(1 for n in held if n) >= 2, held
    with duckdb.connect(str(sharded.warehouse), read_only=True) as con:
        steps = con.execute("select business_date, step from audit.step_runs order by all").fetchall()
        merges = [r[0] for r in con.execute(
            "select summary->'$.shard_builds' from audit.step_runs where step = 'build_marts'").fetchall()]
    assert steps == [(d, s) for d in (start, start + dt.timedelta(days=1)) for s in sorted(
        ["ingest", "split", "build_marts", "quality", "reconcile", "gate", "payments", "report"])]
    assert all(len(json.loads(m)) == SHARDS for m in merges)


def test_merge_says_the_earliest_day_any_shard_rewrote_for_the_national_day_filter(tmp_path: Path) -> None:
    """Each shard stamps its build's rows with its own computed_at: the merged table's latest stamp is only the
    last shard's, so the merge names the earliest day any shard's latest build rewrote (dbt's changed_balance_days
    then tests from it)."""
    d = dt.date(2026, 11, 1)
    builds = {0: [(d, "10:00"), (d + dt.timedelta(days=1), "10:00"), (d + dt.timedelta(days=2), "10:00")],
              1: [(d, "09:00"), (d + dt.timedelta(days=1), "09:00"), (d + dt.timedelta(days=2), "10:30")]}
    for shard, rows in builds.items():
        path = shard_warehouse(tmp_path, 2, shard)
        path.parent.mkdir(parents=True)
        with duckdb.connect(str(path)) as con:
            con.execute("create schema marts")
            con.execute("create table marts.fct_balances (business_date date, municipality_code varchar, "
                        "computed_at timestamp)")
            code = "141003" if shard == 0 else "131016"
            con.executemany("insert into marts.fct_balances values (?, ?, ?)",
                            [(day, code, f"2026-12-05 {at}") for day, at in rows])
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        merged = merge_shards(con, tmp_path, 2, d + dt.timedelta(days=2))
        # shard 0's latest build (10:00) rewrote all three days, shard 1's (10:30, finished last) only the third:
        # from the first day on. The merged table's own latest stamp would say the third day only.
        assert merged.balances_changed_from == d
        assert con.execute("select count(*) from marts.fct_balances").fetchone()[0] == 6
