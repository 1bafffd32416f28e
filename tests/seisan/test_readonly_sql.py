"""`seisan sql` only reads the warehouse: every way out is tried against the installed DuckDB and refused with
one sentence; queries still work."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from seisan.cli import main


@pytest.fixture
def warehouse(seisan_home: Path, tmp_path: Path) -> Path:
    seisan_home.mkdir(parents=True)
    path = seisan_home / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create table raw.t as select 1 as n, 'a' as s")
    (tmp_path / "secret.txt").write_text("n,s\n7,secret\n")
    return path


def _refusals(tmp_path: Path) -> list[tuple[str, str]]:
    secret = tmp_path / "secret.txt"
    out = tmp_path / "written"
    return [
        ("select 1; select 2", "exactly one statement"),
        ("select 1; drop table raw.t", "exactly one statement"),
        (f"copy raw.t to '{out}.csv'", "COPY statement is refused"),
        (f"copy (select 1) to '{out}.parquet' (format parquet)", "COPY statement is refused"),
        (f"export database '{out}'", "EXPORT statement is refused"),
        (f"attach '{out}.duckdb' as other", "ATTACH statement is refused"),
        ("detach raw", "DETACH statement is refused"),
        ("install httpfs", "LOAD statement is refused"),
        ("load httpfs", "LOAD statement is refused"),
        ("set threads = 1", "SET statement is refused"),
        ("reset threads", "SET statement is refused"),
        ("pragma enable_profiling", "PRAGMA statement is refused"),
        ("call pragma_version()", "CALL statement is refused"),
        ("checkpoint", "CALL statement is refused"),
        ("create table raw.u (n int)", "CREATE statement is refused"),
        ("insert into raw.t values (2, 'b')", "INSERT statement is refused"),
        ("update raw.t set n = 3", "UPDATE statement is refused"),
        ("delete from raw.t", "DELETE statement is refused"),
        ("drop table raw.t", "DROP statement is refused"),
        ("begin transaction", "TRANSACTION statement is refused"),
        ("vacuum", "VACUUM statement is refused"),
        (f"select * from read_csv('{secret}')", "reads only the warehouse's tables"),
        (f"select * from read_text('{secret}')", "reads only the warehouse's tables"),
        (f"select * from read_blob('{secret}')", "reads only the warehouse's tables"),
        (f"select * from read_parquet('{tmp_path}/*.parquet')", "reads only the warehouse's tables"),
        (f"select * from glob('{tmp_path}/*')", "reads only the warehouse's tables"),
        (f"select * from sniff_csv('{secret}')", "reads only the warehouse's tables"),
        (f"select * from '{secret}'", "the query failed"),
        ("select getenv('HOME')", "the query failed"),
        ("select * from query('copy raw.t to ''/tmp/x.csv''')", "the query failed"),
    ]


def test_every_way_out_is_refused_with_one_sentence(warehouse: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for query, expected in _refusals(tmp_path):
        assert main(["sql", query]) == 1, query
        err = capsys.readouterr().err
        assert err.startswith("seisan: ") and expected in err, (query, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (query, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["home", "secret.txt"])  # nothing written
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select * from raw.t").fetchall() == [(1, "a")]  # nothing changed


@pytest.mark.parametrize("query, first_column", [
    ("select n, s from raw.t", "n"),
    ("from raw.t", "n"),
    ("with x as (select n from raw.t) select n from x", "n"),
    ("values (1)", "col0"),
    ("show all tables", "database"),
    ("describe raw.t", "column_name"),
    ("summarize raw.t", "column_name"),
    ("explain select * from raw.t", "explain_key"),
    ("select n from raw.t;", "n"),
])
def test_queries_still_work(warehouse: Path, query: str, first_column: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", query]) == 0
    assert capsys.readouterr().out.split()[0] == first_column


def test_a_value_never_drives_the_terminal(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "select 'a' || chr(27) || '[2J' || chr(7) || 'b' as text"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "a<U+001B>[2J<U+0007>b" in out
