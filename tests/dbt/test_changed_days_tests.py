"""The balances family's data tests check the days the run changed; `full_check` makes them check every day
(dbt/macros/changed_days.sql). Defects are planted by hand in the built warehouse and must be found exactly where
the rule says: on a day the run changed, always; on a day it left alone, only by the full check. And a key test of
the project's own (dbt/macros/test_primary_key.sql) finds both a duplicated and a missing key."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from conftest import new_warehouse
from marts_generated import generate
from marts_worlds import Ledger, write_masters

from seisan.marts import MartsBuildError, dbt_work_dir

START = date(2024, 3, 25)


def _failed(error: pytest.ExceptionInfo[MartsBuildError]) -> set[str]:
    return {failure.name for failure in error.value.failures}


def _built(tmp_path, dbt_build, prefix: str, seed: int, residents: int):
    """A generated two-day world of one municipality, built for its second day: (warehouse path, that day)."""
    path, con = new_warehouse(tmp_path)
    write_masters(con)
    ledger = Ledger(prefix=prefix)
    generate(ledger, seed=seed, start=START, days=2, municipalities=("131016",), residents=residents)
    ledger.write(con)
    con.close()
    day = START + date.resolution
    dbt_build(path, day)
    return path, day


@pytest.mark.slow
def test_an_old_day_is_tested_again_only_by_the_full_check_and_a_changed_day_always(tmp_path, dbt_build):
    path, first = _built(tmp_path, dbt_build, "C", seed=3, residents=8)
    with duckdb.connect(str(path)) as con:
        # a second row for a key of the first day, worth 0 yen (so only the key's uniqueness is broken)
        con.execute("insert into marts.fct_balances select * replace (0 as balance_yen) from marts.fct_balances "
                    "where business_date = ? order by mykey_id limit 1", [START])

    # the next day has no event: the build rewrites that day alone, and tests what it wrote
    second = first + date.resolution
    dbt_build(path, second)
    with pytest.raises(MartsBuildError) as error:
        dbt_build(path, second, full_check=True)
    assert [name.rsplit(".", 1)[0] for name in _failed(error) if "fct_balances" in name] == [
        "test.seisan.unique_combination_fct_balances_business_date__municipality_code__program_code__mykey_id"]
    # dbt.log (info level, LOG_LEVEL_FILE) names the failed test with dbt's verdict, and holds no debug stream
    log = (dbt_work_dir(path) / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert any("FAIL" in line and "unique_combination_fct_balances_business_date" in line
               for line in log.splitlines())
    assert "[debug]" not in log and "[info ]" in log

    # a platform balances file loaded by this run, with one key twice: a changed day, so the daily tests see it
    with duckdb.connect(str(path)) as con:
        con.execute("delete from marts.fct_balances where business_date = ? and balance_yen = 0 and rowid = "
                    "(select max(rowid) from marts.fct_balances where business_date = ?)", [START, START])
        assert con.execute("select count(*) from (select distinct business_date, municipality_code, program_code, "
                           "mykey_id from marts.fct_balances)").fetchone() == con.execute(
            "select count(*) from marts.fct_balances").fetchone()
        for line in (2, 3):
            con.execute("insert into raw.platform_balances (business_date, municipality_code, program_code, mykey_id, "
                        "balance, file_sha256, line_number) values (?, '131016', 'CHY_D30', 'DUPLICATE0', 100, "
                        "'d' || repeat('0', 63), ?)", [START, line])
        con.execute("insert into raw.file_manifest (file_sha256, path, source, kind, business_date, status, "
                    "ingest_run_date) values ('d' || repeat('0', 63), 'platform/balances.csv', 'platform', "
                    "'platform_balances', ?, 'loaded', ?)", [START, second + date.resolution])
    with pytest.raises(MartsBuildError) as error:
        dbt_build(path, second + date.resolution)
    assert any(name.startswith("test.seisan.unique_combination_stg_platform__balances") for name in _failed(error))


@pytest.mark.slow
def test_a_key_held_twice_or_null_fails_its_primary_key_test(tmp_path, dbt_build):
    """dbt/macros/test_primary_key.sql: one failing row per duplicated key value and one for the rows without a
    key, planted by hand in a day the next build leaves alone (fct_ledger_entries rewrites only changed days). The
    ledger entries are tested by the rows a build wrote (`scope: recomputed_rows`): planted as written by the next
    build (its computed_for_date), the daily build finds them, each copied key counted over the whole table; the
    full check finds them as well (every key)."""
    path, last = _built(tmp_path, dbt_build, "K", seed=5, residents=6)
    following = last + date.resolution
    with duckdb.connect(str(path)) as con:
        entries = con.execute("select count(*), count(distinct entry_id) from marts.fct_ledger_entries").fetchone()
        assert entries[0] == entries[1] > 2
        # two entries copied (their ids twice), one copied with no id, as if the next build wrote them
        con.execute("insert into marts.fct_ledger_entries select * replace (? as computed_for_date) "
                    "from marts.fct_ledger_entries order by entry_id limit 2", [following])
        con.execute("insert into marts.fct_ledger_entries select * replace (null as entry_id, ? as computed_for_date) "
                    "from marts.fct_ledger_entries order by entry_id limit 1", [following])
    for full_check in (False, True):
        with pytest.raises(MartsBuildError) as error:
            dbt_build(path, following, full_check=full_check)
        found = [f for f in error.value.failures if f.name.startswith("test.seisan.primary_key_fct_ledger_entries_")]
        assert [(f.status, f.message) for f in found] == [("fail", "Got 3 results, configured to fail if != 0")]


@pytest.mark.slow
def test_the_fifo_family_is_tested_by_the_rows_a_build_wrote(tmp_path, dbt_build):
    """dbt/macros/changed_days.sql `recomputed_rows`, `loaded_rows`, `changed_balance_days`: defects planted in rows
    an earlier build wrote (an old computed_for_date, a ledger row of a file ingested before, an old day's
    balance) are found by the full check only; the same
    defects in the build's own rows (its computed_for_date, a file ingested for its date) by the daily build. The
    tests that must fail are named by hand (a failed source test skips everything after it: one defect at a time)."""
    path, last = _built(tmp_path, dbt_build, "F", seed=7, residents=6)
    following = last + date.resolution

    def failing(full_check: bool) -> set[str]:
        with pytest.raises(MartsBuildError) as error:
            dbt_build(path, following, full_check=full_check)
        return {name.removeprefix("test.seisan.").split(".")[0] for name in _failed(error)}

    with duckdb.connect(str(path)) as con:  # an old day's liability that does not roll forward
        con.execute("update marts.fct_balances set balance_yen = balance_yen + 1 where rowid = (select min(rowid) "
                    "from marts.fct_balances where business_date = ?)", [START])
    dbt_build(path, following)
    assert failing(full_check=True) == {"assert_liability_rolls_forward"}
    with duckdb.connect(str(path)) as con:
        con.execute("update marts.fct_balances set balance_yen = balance_yen - 1 where rowid = (select min(rowid) "
                    "from marts.fct_balances where business_date = ?)", [START])
    with duckdb.connect(str(path)) as con:  # an old posting made unbalanced
        con.execute("update marts.fct_ledger_entries set debit_yen = debit_yen + 1 where entry_id = "
                    "(select min(entry_id) from marts.fct_ledger_entries where debit_yen > 0)")
    dbt_build(path, following)  # nothing this build wrote is wrong
    assert failing(full_check=True) == {"assert_postings_balance_per_event"}
    with duckdb.connect(str(path)) as con:
        con.execute("update marts.fct_ledger_entries set debit_yen = debit_yen - 1 where entry_id = "
                    "(select min(entry_id) from marts.fct_ledger_entries where debit_yen > 0)")
        # an old movement copied: its id twice
        con.execute("insert into staging.int_lot_movements select * from staging.int_lot_movements "
                    "where computed_for_date < ? order by movement_id limit 1", [following])
    dbt_build(path, following)
    assert failing(full_check=True) == {"primary_key_int_lot_movements_movement_id__recomputed_rows"}
    with duckdb.connect(str(path)) as con:
        con.execute("delete from staging.int_lot_movements where rowid = (select max(rowid) from "
                    "staging.int_lot_movements)")
        # the same movement written again by this build: found daily
        con.execute("insert into staging.int_lot_movements select * replace (? as computed_for_date) "
                    "from staging.int_lot_movements where computed_for_date < ? order by movement_id limit 1",
                    [following, following])
    assert failing(full_check=False) == {"primary_key_int_lot_movements_movement_id__recomputed_rows"}
    with duckdb.connect(str(path)) as con:
        con.execute("delete from staging.int_lot_movements where rowid = (select max(rowid) from "
                    "staging.int_lot_movements)")
        # an old grant's ledger row repeated in the file it came from: a file ingested before, full check only
        con.execute("insert into raw.platform_ledger select * from raw.platform_ledger where event_type = 'grant' "
                    "order by event_id limit 1")
    dbt_build(path, following)
    assert failing(full_check=True) == {"source_primary_key_raw_platform_ledger_event_id__loaded_rows"}
    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw.platform_ledger where rowid = (select max(rowid) from raw.platform_ledger)")
        # a ledger row repeated in a file ingested for this build's date: found daily
        con.execute("insert into raw.platform_ledger select * replace ('e' || repeat('0', 63) as file_sha256) "
                    "from raw.platform_ledger where event_type = 'grant' order by event_id limit 1")
        con.execute("insert into raw.file_manifest (file_sha256, path, source, kind, business_date, status, "
                    "ingest_run_date) values ('e' || repeat('0', 63), 'platform/ledger.csv', 'platform', "
                    "'platform_ledger', ?, 'loaded', ?)", [following, following])
    assert failing(full_check=False) == {"source_primary_key_raw_platform_ledger_event_id__loaded_rows"}
