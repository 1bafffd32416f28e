"""The data-quality checkpoint on a tiny simulated world (simulator -> ingestion -> dbt, faults `none`).

One world, three checkpoint runs (Great Expectations costs ~0.5 s per suite whatever the rows):
1. a bank business day on the clean world: every expectation holds, every file due arrived;
2. a Sunday on a copy with planted defects, each in its own place: the failed expectations are exactly the
   ones meant for them (and each names the municipality when the row has one);
3. the same Sunday again: identical recon.check_results and recon.source_freshness rows (idempotent).
(A seventh defect is a warning: it is reported and counted apart, and does not make the run fail.)
Which expectation each defect must fail is written here by hand, from docs/data-quality.md.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ingestion
import simulator
from reconciliation.quality import all_targets, run_checkpoint
from reconciliation.quality.checkpoint import validate_targets
from reconciliation.quality.spec import Target
from seisan.marts import build_marts

START, DAYS = dt.date(2026, 11, 5), 4      # Thu 5 .. Sun 8 November 2026
WEEKDAY, SUNDAY = dt.date(2026, 11, 6), dt.date(2026, 11, 8)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quality")
    simulator.simulate(folder / "inbox", START, DAYS, 1, 30, 7, faults="none", workers=1)
    warehouse = folder / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for offset in range(DAYS):
            ingestion.ingest(con, folder / "inbox", folder / "raw", START + dt.timedelta(days=offset))
    build_marts(warehouse, START + dt.timedelta(days=DAYS - 1))
    return warehouse


def failures(con: duckdb.DuckDBPyConnection, day: dt.date) -> set[tuple[str, str]]:
    return set(con.execute("select suite, expectation from recon.check_results where run_date = ? and not success",
                           [day]).fetchall())


@pytest.fixture(scope="module")
def clean_run(world: Path, tmp_path_factory: pytest.TempPathFactory):
    docs = tmp_path_factory.mktemp("docs-clean")
    with duckdb.connect(str(world)) as con:
        result = run_checkpoint(con, WEEKDAY, docs)
        failed = failures(con, WEEKDAY)
        freshness = con.execute("select source, kind, expected, arrived, latest_business_date, "
                                "freshness_floor_date from recon.source_freshness where run_date = ?",
                                [WEEKDAY]).fetchall()
    return result, failed, freshness, docs


def test_clean_world_passes_every_suite(clean_run):
    result, failed, _, _ = clean_run
    assert failed == set()
    assert result.passed and result.failed_error == 0 and result.failed_warn == 0
    assert result.suites == len(all_targets())
    assert result.evaluated == sum(len(t.expectations) for t in all_targets())


def test_each_slice_is_let_go_once_validated(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The checkpoint holds one day slice at a time. A GE data source keeps every DataFrame it validated, so with
    one source for all targets the step held every slice of the day at once (at 1,000,000 residents 5.5 million
    rows; its peak 4.42 GiB, 3.94 GiB without them): each slice must be gone before the next is read."""
    import weakref

    from reconciliation.quality import checkpoint

    read = checkpoint.read_frame
    earlier: list[weakref.ref] = []
    alive_at_each_read: list[int] = []

    def remembered(con, target, run_date, *part):  # type: ignore[no-untyped-def]
        alive_at_each_read.append(sum(1 for ref in earlier if ref() is not None))
        frame = read(con, target, run_date, *part)
        earlier.append(weakref.ref(frame))
        return frame

    monkeypatch.setattr(checkpoint, "read_frame", remembered)
    monkeypatch.setattr(checkpoint, "COLLECT_AFTER_ROWS", 1)  # this world's slices are small
    wanted = ("raw.platform_ledger", "raw.platform_balances", "raw.terminal_records", "marts.fct_ledger_entries")
    with duckdb.connect(str(world), read_only=True) as con:
        found = validate_targets(con, WEEKDAY, [t for t in all_targets() if t.suite in wanted], tmp_path / "docs")

    assert [v.target.suite for v in found] == list(wanted) and all(v.frame_rows > 0 for v in found)
    assert all(row.success for v in found for row in v.rows)
    assert alive_at_each_read == [0, 0, 0, 0]


def test_a_frame_holds_only_the_columns_its_checks_and_samples_read(world: Path):
    """The day's ledger entries reach pandas with 12 of the slice's 19 columns (the table's 18 and both_sides_set):
    the 8 a failing row's sample shows, the ones the expectations read (entry_id, account, debit_yen, credit_yen,
    both_sides_set) and the municipality. The MyKey ID, the programme, the lot and the rest stay in DuckDB."""
    from reconciliation.quality.checkpoint import read_frame

    [target] = [t for t in all_targets() if t.suite == "marts.fct_ledger_entries"]
    with duckdb.connect(str(world), read_only=True) as con:
        table_columns = [row[0] for row in con.execute("describe marts.fct_ledger_entries").fetchall()]
        frame = read_frame(con, target, WEEKDAY)
        rows = con.execute("select count(*) from marts.fct_ledger_entries where business_date = ?",
                           [WEEKDAY]).fetchone()[0]

    assert len(table_columns) == 18
    assert list(frame.columns) == ["entry_id", "posting_group_id", "movement_id", "event_type", "movement_kind",
                                   "business_date", "posted_ts", "municipality_code", "account", "debit_yen",
                                   "credit_yen", "both_sides_set"]
    assert len(frame) == rows > 0


_OPTIONAL = {"s": st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
             "i": st.integers(-(2**63), 2**63 - 1), "j": st.integers(-(2**31), 2**31 - 1), "b": st.booleans(),
             "d": st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)),
             "ts": st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 12, 31))}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({name: st.none() | values for name, values in _OPTIONAL.items()}),
                min_size=1, max_size=12))
def test_a_frame_is_what_duckdbs_own_conversion_gives(rows: list[dict[str, object]]):
    """The slices reach pandas through Arrow (checkpoint.pandas_frame), not DuckDB's `.df()`: every column type a
    suite reads (text, BIGINT, INTEGER, BOOLEAN, DATE, TIMESTAMP), with and without NULLs, must come out with the
    dtype and the values `.df()` gives, or an expectation could read a value otherwise."""
    from reconciliation.quality.checkpoint import pandas_frame

    with duckdb.connect() as con:
        con.execute("create table t (s varchar, i bigint, j integer, b boolean, d date, ts timestamp)")
        con.executemany("insert into t values (?, ?, ?, ?, ?, ?)", [[row[name] for name in _OPTIONAL] for row in rows])
        relation = con.sql("select * from t")
        pd.testing.assert_frame_equal(pandas_frame(relation), relation.df(), check_exact=True)


def test_a_frame_with_another_column_type_is_duckdbs_own():
    """A column type no suite reads yet (DOUBLE, DECIMAL, a timestamp with a zone) is not converted by hand."""
    from reconciliation.quality.checkpoint import pandas_frame

    with duckdb.connect() as con:
        relation = con.sql("select * from (values ('a', 1.5::double, 2.25::decimal(9, 2), "
                           "timestamptz '2026-01-01 10:00:00+09'), (null, null, null, null)) t(s, x, y, z)")
        pd.testing.assert_frame_equal(pandas_frame(relation), relation.df(), check_exact=True)


def test_ge_fingerprints_no_frame_once_told_not_to():
    """GE's engine, as installed, computes no fingerprint of a frame after checkpoint.no_frame_fingerprints (it did
    before): a GE that stopped reading HASH_THRESHOLD would silently cost the step a sixth of its time again."""
    from great_expectations.core.batch_spec import RuntimeDataBatchSpec
    from great_expectations.execution_engine import PandasExecutionEngine, pandas_execution_engine

    from reconciliation.quality.checkpoint import no_frame_fingerprints

    frame = pd.DataFrame({"a": [1, 2, 3]})
    default = pandas_execution_engine.HASH_THRESHOLD
    try:
        pandas_execution_engine.HASH_THRESHOLD = 1e9  # GE's own default, whatever an earlier test set
        _, before = PandasExecutionEngine().get_batch_data_and_markers(RuntimeDataBatchSpec(batch_data=frame))
        no_frame_fingerprints()
        _, after = PandasExecutionEngine().get_batch_data_and_markers(RuntimeDataBatchSpec(batch_data=frame))
    finally:
        pandas_execution_engine.HASH_THRESHOLD = default
    assert "pandas_data_fingerprint" in before and "pandas_data_fingerprint" not in after


def test_clean_world_every_due_file_arrived(clean_run):
    result, _, freshness, _ = clean_run
    due = {(source, kind) for source, kind, expected, *_ in freshness if expected}
    # Friday, a bank business day: the platform's three exports, the eight masters, the statement of the paying
    # account, and the terminal uploads of the day's terminal uses.
    assert {("platform", "platform_ledger"), ("platform", "platform_balances"), ("platform", "platform_mykey_certs"),
            ("bank", "bank_statement"), ("terminal", "terminal_log"), ("master", "master_municipalities")} <= due
    assert all(arrived for _, _, expected, arrived, *_ in freshness if expected)
    assert result.expected_files > 12 and result.missing_files == 0
    bank = [row for row in freshness if row[0] == "bank"]
    assert bank == [("bank", "bank_statement", True, True, WEEKDAY, dt.date(2026, 11, 5))]


def test_data_docs_name_every_suite(clean_run):
    _, _, _, docs = clean_run
    index = (docs / "index.html").read_text(encoding="utf-8")
    for target in all_targets():
        assert f"id=\"{target.suite}\"" in index
    assert (docs / "gx" / "index.html").is_file()
    assert list((docs / "gx" / "validations").rglob("*.html"))


# (suite, expectation) each planted defect must fail, and nothing else.
PLANTED = {
    "duplicate key": ("raw.platform_ledger", "event_id unique"),
    "negative balance": ("marts.fct_balances", "balance_yen in [0, ]"),
    "unbalanced posting": ("marts.ledger_posting_groups", "postings balance per event"),
    "manifest identity": ("raw.file_manifest", "rows_read = rows_loaded + rows_quarantined - rows_released"),
    "stale bank statement": ("freshness.latest_delivery", "latest_business_date >= freshness_floor_date"),
    "missing balances file": ("freshness.expected_files", "platform files due for D arrived"),
    "seal with a negative count (warn)": ("raw.terminal_seals", "records in [0, ]"),
}
WARNINGS = {PLANTED["seal with a negative count (warn)"]}


def plant_defects(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """Plant each defect of PLANTED on Sunday; returns the municipality of the world and the MyKey ID of the
    duplicated ledger row (which no result may show)."""
    municipality = con.execute("select any_value(municipality_code) from raw.platform_ledger").fetchone()[0]
    mykey_id = con.execute("select mykey_id from raw.platform_ledger where business_date = ? order by event_id "
                           "limit 1", [SUNDAY]).fetchone()[0]
    # a ledger row of the day loaded twice
    con.execute("insert into raw.platform_ledger select * from raw.platform_ledger where business_date = ? "
                "order by event_id limit 1", [SUNDAY])
    # a negative end-of-day balance
    con.execute("update marts.fct_balances set balance_yen = -1 where business_date = ? and mykey_id = "
                "(select min(mykey_id) from marts.fct_balances where business_date = ?)", [SUNDAY, SUNDAY])
    # one debit of one event off by one yen
    con.execute("update marts.fct_ledger_entries set debit_yen = debit_yen + 1 where entry_id = (select min(entry_id) "
                "from marts.fct_ledger_entries where business_date = ? and debit_yen > 0)", [SUNDAY])
    # a manifest row whose counts do not add up
    con.execute("update raw.file_manifest set rows_loaded = rows_loaded + 1 where path = ?",
                [f"platform/ledger_{SUNDAY:%Y%m%d}.csv"])
    # Friday's bank statement never loaded: on Sunday nothing is due from the bank, but the source is stale
    con.execute("delete from raw.file_manifest where source = 'bank' and business_date = ?", [WEEKDAY])
    # Sunday's balances file never arrived (its rows stay: only the delivery is judged here)
    con.execute("delete from raw.file_manifest where kind = 'platform_balances' and business_date = ?", [SUNDAY])
    # a seal of the day claiming -1 records (a warning: reported, never blocking)
    con.execute("update raw.terminal_seals set records = -1 where hash = (select min(hash) from raw.terminal_seals "
                "where business_date = ?)", [SUNDAY])
    return municipality, mykey_id


@pytest.fixture(scope="module")
def defect_runs(world: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("defects")
    warehouse = folder / "defects.duckdb"
    shutil.copy(world, warehouse)
    docs = folder / "docs"
    with duckdb.connect(str(warehouse)) as con:
        municipality, mykey_id = plant_defects(con)
        first = run_checkpoint(con, SUNDAY, docs)
        tables = ("check_results", "source_freshness")
        before = {t: con.execute(f"select * from recon.{t} order by all").fetchall() for t in tables}
        index_before = (docs / "index.html").read_text(encoding="utf-8")
        second = run_checkpoint(con, SUNDAY, docs)
        after = {t: con.execute(f"select * from recon.{t} order by all").fetchall() for t in tables}
        details = [row[0] for row in con.execute("select detail from recon.check_results").fetchall()]
        unreadable = validate_targets(con, SUNDAY, [Target("marts", "missing", "marts.no_such_table",
                                                           "select * from marts.no_such_table", ())],
                                      folder / "docs-unreadable")
        failed_rows = con.execute("select suite, expectation, municipality_code, severity, unexpected_count "
                                  "from recon.check_results where run_date = ? and not success", [SUNDAY]).fetchall()
    return dict(warehouse=warehouse, first=first, second=second, before=before, after=after, municipality=municipality,
                failed_rows=failed_rows, index_before=index_before, docs=docs, mykey_id=mykey_id, details=details,
                unreadable=unreadable)


def test_each_defect_fails_exactly_its_expectation(defect_runs):
    failed = {(suite, expectation) for suite, expectation, *_ in defect_runs["failed_rows"]}
    assert failed == set(PLANTED.values())
    assert defect_runs["first"].failed_error == len(PLANTED) - len(WARNINGS)
    assert defect_runs["first"].failed_warn == len(WARNINGS)
    assert not defect_runs["first"].passed


def test_failures_name_the_municipality_where_the_row_has_one(defect_runs):
    by_check = {(suite, expectation): (municipality, severity, count)
                for suite, expectation, municipality, severity, count in defect_runs["failed_rows"]}
    municipality = defect_runs["municipality"]
    assert by_check[PLANTED["negative balance"]] == (municipality, "error", 1)
    assert by_check[PLANTED["unbalanced posting"]] == (municipality, "error", 1)
    assert by_check[PLANTED["stale bank statement"]] == (municipality, "error", 1)
    assert by_check[PLANTED["duplicate key"]][:2] == (municipality, "error")
    # global files and the manifest concern no single municipality
    assert by_check[PLANTED["missing balances file"]] == (None, "error", 1)
    assert by_check[PLANTED["manifest identity"]] == (None, "error", 1)
    assert by_check[PLANTED["seal with a negative count (warn)"]] == (None, "warn", 1)


def test_a_failing_rows_sample_shows_its_first_eight_columns(defect_runs, world: Path):
    """A failing row's detail is a sample of the row: the relation's first 8 columns (read here from DuckDB, the
    file hash left out) and its line, however few of them the expectations read. The duplicated ledger row (the
    expectations read 5 of its columns) and the negative balance (fct_balances has 6)."""
    import json

    with duckdb.connect(str(world), read_only=True) as con:
        ledger, balances = ([row[0] for row in con.execute(f"describe {table}").fetchall()]
                            for table in ("raw.platform_ledger", "marts.fct_balances"))
    [duplicate] = [d for d in defect_runs["details"] if '"line_number"' in d and '"event_id"' in d]
    [negative] = [d for d in defect_runs["details"] if '"balance_yen": "-1"' in d]
    assert len(ledger) > 10 and list(json.loads(duplicate)[0]) == [
        c for c in ledger if c != "file_sha256"][:8] + ["line_number"]
    assert list(json.loads(negative)[0]) == [c for c in balances if c != "file_sha256"][:8]


def test_a_slice_validated_in_parts_gives_what_it_gives_whole(defect_runs, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    """With parts of 7 rows, the planted Sunday's larger slices are validated in parts split by the hash of their
    key: every row of recon.check_results comes out as the whole slices give it (the duplicated ledger row is
    found in its part, the counts add up, the failing rows keep their municipality), and each part has its page."""
    import json

    from reconciliation.quality import checkpoint

    def check_rows(found: list) -> list[tuple]:
        """Each row; a detail's samples in any order (the parts come one after the other)."""
        return sorted((r.suite, r.expectation, r.municipality_code or "", r.success, r.observed, r.unexpected_count,
                       sorted(json.dumps(sample) for sample in json.loads(r.detail)) if r.detail else [])
                      for v in found for r in v.rows)

    warehouse = tmp_path / "parts.duckdb"
    shutil.copy(defect_runs["warehouse"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # one more duplicate: an event_id again, on another line with another amount (not a copy of its row)
        con.execute("insert into raw.platform_ledger select * replace (line_number + 1000 as line_number, "
                    "amount + 1 as amount) from raw.platform_ledger where business_date = ? order by event_id desc "
                    "limit 1", [SUNDAY])
        whole = validate_targets(con, SUNDAY, all_targets(), tmp_path / "whole")
        monkeypatch.setattr(checkpoint, "PART_ROWS", 7)
        parted = validate_targets(con, SUNDAY, all_targets(), tmp_path / "parts")

    assert {v.parts for v in whole} == {1}
    split = {v.target.suite: v.parts for v in parted if v.parts > 1}
    assert {"raw.platform_ledger", "marts.fct_ledger_entries", "marts.fct_balances"} <= set(split)
    assert [v.frame_rows for v in parted] == [v.frame_rows for v in whole]
    assert check_rows(parted) == check_rows(whole)
    [duplicates] = [r for v in whole if v.target.suite == "raw.platform_ledger" for r in v.rows if not r.success]
    assert (duplicates.expectation, duplicates.unexpected_count) == ("event_id unique", 4)
    pages = list((tmp_path / "parts" / "gx" / "validations" / "raw" / "platform_ledger").rglob("*.html"))
    assert len(pages) == split["raw.platform_ledger"]


def test_a_slice_is_split_on_the_one_key_its_uniqueness_checks_read():
    from reconciliation.quality.checkpoint import part_key, parts_of
    from reconciliation.quality.spec import Severity, not_null, unique

    targets = {t.suite: t for t in all_targets()}
    assert part_key(targets["raw.platform_balances"]) == ["municipality_code", "program_code", "mykey_id"]
    assert part_key(targets["raw.platform_ledger"]) == ["event_id"]
    assert part_key(targets["raw.file_manifest"]) == []
    two_keys = Target("marts", "two", "t", "select 1", (unique(["a"], "why"), unique(["b", "c"], "why"),
                                                     not_null("a", "why", Severity.WARN)))
    assert part_key(two_keys) is None and parts_of(two_keys, 10**9) == 1
    assert [parts_of(targets["raw.platform_ledger"], rows) for rows in (1, 400_000, 400_001, 1_200_000)] == [
        1, 1, 2, 3]


def test_docs_list_every_suite_and_expectation():
    text = (Path(__file__).resolve().parents[2] / "docs" / "data-quality.md").read_text(encoding="utf-8")
    for target in all_targets():
        assert f"`{target.suite}`" in text
        for expect in target.expectations:
            assert f"| {expect.name}" in text, (target.suite, expect.name)


def test_rerun_is_idempotent(defect_runs):
    assert defect_runs["before"] == defect_runs["after"]
    assert (defect_runs["docs"] / "index.html").read_text(encoding="utf-8") == defect_runs["index_before"]
    first, second = defect_runs["first"], defect_runs["second"]
    assert (first.evaluated, first.failed_error, first.failed_rows) == (second.evaluated, second.failed_error,
                                                                        second.failed_rows)
    # one validation page per suite, not one per run
    pages = list((defect_runs["docs"] / "gx" / "validations").rglob("*.html"))
    assert len(pages) == len({p.parent.parent for p in pages})


def test_no_result_or_page_shows_a_mykey_id(defect_runs):
    mykey_id = defect_runs["mykey_id"]
    duplicate = [d for d in defect_runs["details"] if "~" in d]
    assert duplicate, "the duplicate key's detail shows pseudonyms"
    assert not any(mykey_id in detail for detail in defect_runs["details"])
    for page in defect_runs["docs"].rglob("*.html"):
        assert mykey_id not in page.read_text(encoding="utf-8"), page


def test_an_unreadable_relation_is_a_failed_check_not_a_crash(defect_runs):
    [validated] = defect_runs["unreadable"]
    [row] = validated.rows
    assert (row.expectation, row.success, row.severity) == ("relation readable", False, "error")
    assert "no_such_table" in row.detail


@pytest.mark.slow
def test_a_clean_world_passes_every_day_over_the_year_end(tmp_path):
    """No false alarm on any day of a clean world from Mon 28 Dec 2026 to Mon 4 Jan 2027: weekends, the banks'
    31 Dec-3 Jan holidays (no statement due, Wednesday's still fresh enough) and the first bank day after."""
    start, days = dt.date(2026, 12, 28), 8
    simulator.simulate(tmp_path / "inbox", start, days, 2, 40, 11, faults="none", workers=1)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for offset in range(days):
            ingestion.ingest(con, tmp_path / "inbox", tmp_path / "raw", start + dt.timedelta(days=offset))
    build_marts(warehouse, start + dt.timedelta(days=days - 1))
    with duckdb.connect(str(warehouse)) as con:
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            result = run_checkpoint(con, day, tmp_path / "docs" / day.isoformat())
            assert failures(con, day) == set(), day
            assert result.passed and result.missing_files == 0
        bank_due = con.execute("select run_date from recon.source_freshness where source = 'bank' and expected "
                               "group by run_date order by run_date").fetchall()
    assert [d for (d,) in bank_due] == [dt.date(2026, 12, 28), dt.date(2026, 12, 29), dt.date(2026, 12, 30),
                                        dt.date(2027, 1, 4)]
