"""A view whose SQL has not changed is kept, not created again (dbt/macros/view_unchanged.sql), and still shows
the day's rows; a view that is not what the project compiles (replaced by hand, commented by hand, or built
before the digest) is created again, and a full refresh creates every view again.

What is created again is seen by a mark the test plants: a comment on each view's first column, which DuckDB
drops when a view is created (its oid is no help: DuckDB numbers the catalog again each time the file is opened).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
from conftest import new_warehouse
from marts_generated import generate
from marts_worlds import Ledger, write_masters

START = date(2024, 3, 25)
LEDGER_VIEW = "stg_platform__ledger"


def views(path) -> dict[str, str | None]:
    """Every view of the project's schemas: name -> its comment."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select view_name, comment from duckdb_views() "
                           "where not internal and schema_name = 'staging'").fetchall()
    return dict(rows)


def plant(path) -> None:
    """Mark every view of the project: a comment on its first column."""
    names = views(path)
    with duckdb.connect(str(path)) as con:
        for view in names:
            column = con.execute("select column_name from duckdb_columns() where schema_name = 'staging' "
                                 "and table_name = ? order by column_index limit 1", [view]).fetchone()[0]
            con.execute(f'comment on column staging.{view}."{column}" is \'planted\'')


def planted(path) -> set[str]:
    """The views that still carry the mark (were not created again since plant)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {view for (view,) in con.execute("select distinct table_name from duckdb_columns() "
                                                "where schema_name = 'staging' and comment = 'planted'").fetchall()}


def ledger_rows(path) -> tuple[int, int]:
    """Rows of the ledger's staging view, and of the raw table under it."""
    with duckdb.connect(str(path), read_only=True) as con:
        seen = con.execute(f"select count(*) from staging.{LEDGER_VIEW}").fetchone()[0]
        raw = con.execute("select count(*) from raw.platform_ledger").fetchone()[0]
    return seen, raw


@pytest.mark.slow
def test_unchanged_views_are_kept_and_changed_ones_created_again(tmp_path, dbt_build):
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix="V")
    generate(ledger, seed=5, start=START, days=4, municipalities=("131016",), residents=20)
    ledger.write(con, up_to=START + timedelta(days=1))
    con.close()
    dbt_build(path, START + timedelta(days=1), with_tests=False)
    first = views(path)
    assert len(first) > 40  # staging, intermediate and reconciliation views
    assert all(comment and comment.startswith("seisan-view-sql-md5:") for comment in first.values())
    plant(path)

    # a new day: nothing is created again, and the kept view reads the day's new rows
    with duckdb.connect(str(path)) as con:
        added = ledger.write(con, from_date=START + timedelta(days=2), up_to=START + timedelta(days=2))
    assert added > 0
    dbt_build(path, START + timedelta(days=2), with_tests=False)
    assert planted(path) == first.keys()
    assert views(path) == first
    seen, raw = ledger_rows(path)
    assert seen == raw > added

    # one view replaced by hand (it no longer says what the project compiles), one commented by hand with a wrong
    # digest: both, and only they, are created again; the replaced one reads every row again
    with duckdb.connect(str(path)) as con:
        con.execute(f"create or replace view staging.{LEDGER_VIEW} as "
                    "select * from raw.platform_ledger where false")
        con.execute("comment on view staging.stg_platform__balances is 'seisan-view-sql-md5:0'")
    dbt_build(path, START + timedelta(days=2), with_tests=False)
    assert first.keys() - planted(path) == {LEDGER_VIEW, "stg_platform__balances"}
    assert views(path) == first  # the same SQL as before, so the same digests
    assert ledger_rows(path)[0] == ledger_rows(path)[1]

    # a full refresh creates every view again
    dbt_build(path, START + timedelta(days=2), with_tests=False, full_refresh=True)
    assert planted(path) == set()
    assert views(path) == first
