import re
import subprocess
import sys

import pytest

from seisan.cli import build_parser, main

COMMANDS = ("simulate", "ingest", "marts", "run", "demo", "sql", "reconcile", "report", "breaks", "payments", "officer")


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: seisan " + command in capsys.readouterr().out


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["ingest", "--date", "2026-13-01"])
    assert exit_info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_entry_point_runs_as_a_module() -> None:
    completed = subprocess.run([sys.executable, "-m", "seisan", "--help"], capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0
    assert "seisan" in completed.stdout


def test_sql_prints_a_table(seisan_home, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    seisan_home.mkdir(parents=True)
    with duckdb.connect(str(seisan_home / "warehouse.duckdb")) as con:
        con.execute("create table t as select 1 as n, 'ｶ)ﾔﾏﾀﾞ' as name union all select 22, null")
    assert main(["sql", "select * from t order by n"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["n", "name"]
    assert out[2].split() == ["1", "ｶ)ﾔﾏﾀﾞ"]
    assert out[3].strip() == "22"
    assert out[-1] == "(2 rows)"


def test_sql_without_a_warehouse_says_what_to_do(seisan_home, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select 1"]) == 1
    assert "seisan demo" in capsys.readouterr().err


@pytest.mark.slow
def test_simulate_ingest_and_build_marts_from_the_command_line(seisan_home, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    inbox = seisan_home / "inbox"
    assert main(["simulate", "--out", str(inbox), "--start", "2026-11-02", "--days", "1", "--municipalities", "1",
                 "--residents", "40", "--seed", "9", "--faults", "none"]) == 0
    assert (inbox / "faults.json").is_file()
    assert main(["ingest", "--date", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    with duckdb.connect(str(seisan_home / "warehouse.duckdb"), read_only=True) as con:
        files = con.execute("select count(*) from raw.file_manifest where status = 'loaded'").fetchone()[0]
        read, loaded = con.execute("select sum(rows_read), sum(rows_loaded) from raw.file_manifest").fetchone()
    assert files > 0
    assert read == loaded  # a world without faults quarantines nothing
    assert f"{read:,} read = {loaded:,} loaded + 0 quarantined" in out
    assert (seisan_home / "out" / "2026-11-02" / "ingest_files.csv").is_file()
    assert main(["marts", "--date", "2026-11-02", "--full-refresh"]) == 0
    first = re.search(r"models built, (\d+) tests passed", capsys.readouterr().out)
    # The first build ran the unit tests (seisan.marts.UNIT_TESTS_STAMP); --unit-tests runs them again.
    assert main(["marts", "--date", "2026-11-02", "--unit-tests"]) == 0
    again = re.search(r"models built, (\d+) tests passed", capsys.readouterr().out)
    assert first and again and int(again.group(1)) == int(first.group(1)) > 0
    with duckdb.connect(str(seisan_home / "warehouse.duckdb"), read_only=True) as con:
        platform, seisan = con.execute(
            "select (select sum(balance_yen) from staging.stg_platform__balances), "
            "(select sum(balance_yen) from marts.fct_balances where business_date = date '2026-11-02')").fetchone()
    assert platform == seisan and platform > 0


def test_sql_error_is_one_sentence(seisan_home, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    seisan_home.mkdir(parents=True)
    duckdb.connect(str(seisan_home / "warehouse.duckdb")).close()
    assert main(["sql", "select * from no_such_table"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seisan: the query failed:")
    assert "Traceback" not in err


def test_run_offers_the_payment_approval_on_the_command_line() -> None:
    args = build_parser().parse_args(["run", "--date", "2026-12-01", "--approve-as", "OFF-KATO"])
    assert args.approve_as == "OFF-KATO"
    assert build_parser().parse_args(["run", "--date", "2026-12-01"]).approve_as is None


def test_run_takes_shards_and_workers_and_refuses_workers_alone(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["run", "--date", "2026-12-01", "--shards", "4", "--workers", "2"])
    assert (args.shards, args.workers) == (4, 2)
    assert (build_parser().parse_args(["run", "--date", "2026-12-01"]).shards, args.handler.__name__) == (0, "cmd_run")
    assert main(["run", "--date", "2026-12-01", "--workers", "2"]) == 1
    assert "--workers needs --shards" in capsys.readouterr().err
