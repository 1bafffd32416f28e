"""The sharded daily run: the marts built per shard of prefectures on separate workers, then merged.

Every rule that decides money in the marts is per municipality (lots and FIFO per municipality and resident,
balances, settlement items per municipality and merchant), so the marts partition cleanly by municipality. The
sharded run keeps ingestion, data quality, matching, the gate, payments and reports on the national warehouse
(one writer, as DuckDB requires) and spreads only the dbt build of the marts:

1. `split_raw` (national process): appends to each shard's own warehouse the raw rows its build reads and it
   does not hold yet, unchanged (lineage columns included). A table with a `municipality_code` column is split
   by `shard_of_sql`; the others (the merchants' and partners' masters, national lists) go to every shard
   whole. It then proves the split: for each table the shards' rows add up to the national rows.
2. `build_shard` (one process per shard, an Airflow mapped task): `dbt build` of the marts and everything they
   read (`SHARD_SELECT`), in `shards/of-<N>/<k>/warehouse.duckdb`, with that shard's own dbt folder and lock.
   Its incremental models keep their state there from day to day, as the single warehouse's do.
3. `merge_shards` (national process): every table the shards built replaces the national one, as the union of
   the shards' rows (a table without `municipality_code`, such as `marts.dim_merchants`, must be identical in
   every shard and is taken once); then `dbt build` of the rest of the project (`NATIONAL_EXCLUDE` left out:
   the views, the reconciliation models and their tests) on the national warehouse.

A shard is a residue class of the prefecture number (the first two digits of the municipality code, JIS X 0401)
modulo the shard count, so a municipality stays in one shard from day to day; a code that does not start with
two digits (or is empty) belongs to shard 0, so no row is left out. Changing the shard count starts new shard
homes (`of-<N>`), built from the whole raw history on their first day.

Cost: the split appends only rows not yet copied, but finding them reads the national raw history, and the merge
copies each shard table whole. Both are sequential scans (no Python per row); docs/scaling.md has the measured
numbers and what a larger deployment changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seisan.home_lock import hold_home

log = logging.getLogger("seisan")

# The raw tables the marts and their upstream read (dbt: `ls --select +path:models/marts --resource-type source`;
# tests/seisan/test_shards.py checks this list against the project).
SHARD_SOURCES = ("platform_ledger", "partner_conversion", "master_municipalities", "master_programs",
                 "master_designations", "master_merchants", "master_partners")
# What a shard builds: the marts and everything upstream of them (views included, so the shard's marts compile).
SHARD_SELECT = "+path:models/marts"
# What the national build leaves out after the merge: the tables the shards built (the marts and the incremental
# or table models upstream of them). The views upstream are rebuilt nationally (no data: they only read).
NATIONAL_EXCLUDE = ("path:models/marts +path:models/marts,config.materialized:incremental "
                    "+path:models/marts,config.materialized:table")
SHARD_COLUMN = "municipality_code"
_MERGED_SCHEMAS = ("marts", "staging")


class ShardError(RuntimeError):
    """The split or the merge found the shards inconsistent with the national warehouse; nothing was merged."""


def shard_of_sql(column: str, count: int) -> str:
    """SQL for the shard (0 … count-1) of a row by its municipality code: the prefecture number modulo count;
    0 for a code that does not start with two digits, or NULL. The one place this rule is written."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, not {count}")
    prefecture = f"left({column}, 2)"
    return (f"(case when regexp_full_match(coalesce({prefecture}, ''), '[0-9]{{2}}') "
            f"then cast({prefecture} as integer) % {count} else 0 end)")


def shards_root(home: Path, count: int) -> Path:
    """Where the shard homes of a run with `count` shards live: <home>/shards/of-<count>/."""
    return Path(home) / "shards" / f"of-{count}"


def shard_dir(home: Path, count: int, shard: int) -> Path:
    """Shard `shard`'s own folder (its warehouse.duckdb, dbt/ and lock)."""
    if not 0 <= shard < count:
        raise ValueError(f"shard {shard} is not one of 0…{count - 1}")
    return shards_root(home, count) / str(shard)


def shard_warehouse(home: Path, count: int, shard: int) -> Path:
    return shard_dir(home, count, shard) / "warehouse.duckdb"


@dataclass(frozen=True, slots=True)
class SplitResult:
    """What split_raw appended: rows_added[shard][table], and the national row count of each table."""

    business_date: dt.date
    count: int
    rows_added: tuple[dict[str, int], ...]
    national_rows: dict[str, int]
    seconds: float


def _sql_path(path: Path) -> str:
    return "'" + str(path.resolve()).replace("'", "''") + "'"


def _columns(con: Any, catalog: str, schema: str, table: str) -> list[str]:
    return [row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_catalog = ? and table_schema = ? "
        "and table_name = ? order by ordinal_position", [catalog, schema, table]).fetchall()]


def _national_catalog(con: Any) -> str:
    return con.execute("select current_database()").fetchone()[0]


def split_raw(con: Any, home: Path, count: int, business_date: dt.date,
              progress: Callable[[str], None] | None = None, lock_wait_seconds: float = 600.0) -> SplitResult:
    """Append to each shard's warehouse the rows of SHARD_SOURCES it does not hold yet (by file SHA-256 and line
    number), then check that the shards add up to the national tables. `con` is the national warehouse, open for
    writing; the shard warehouses are created on first use. Each shard's lock is held while it is written."""
    started = time.monotonic()
    say = progress or (lambda _m: None)
    national = _national_catalog(con)
    present = {row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'raw'",
        [national]).fetchall()}
    missing = [t for t in SHARD_SOURCES if t not in present]
    if missing:
        raise ShardError(f"the national warehouse has no raw.{', raw.'.join(missing)}; run the ingest first")
    split_tables = {t: SHARD_COLUMN in _columns(con, national, "raw", t) for t in SHARD_SOURCES}
    added: list[dict[str, int]] = []
    for shard in range(count):
        target = shard_warehouse(home, count, shard)
        target.parent.mkdir(parents=True, exist_ok=True)
        alias = f"shard_{shard}"
        with hold_home(target.parent, f"seisan split --date {business_date} (shard {shard}/{count})",
                       wait_seconds=lock_wait_seconds, say=say):
            con.execute(f"attach {_sql_path(target)} as {alias}")
            try:
                added.append(_append_new_rows(con, national, alias, split_tables, shard, count))
            finally:
                con.execute(f"detach {alias}")
        say(f"split for {business_date}: shard {shard + 1}/{count}: {sum(added[-1].values()):,} new raw rows")
    with _holding_shards(home, count, f"seisan split --date {business_date} (check)", lock_wait_seconds, say):
        national_rows = _check_split(con, home, count, national, split_tables)
    return SplitResult(business_date, count, tuple(added), national_rows, time.monotonic() - started)


def _append_new_rows(con: Any, national: str, alias: str, split_tables: dict[str, bool], shard: int,
                     count: int) -> dict[str, int]:
    """Append to the attached shard `alias` the rows of its municipalities (or all, for a whole table) it lacks."""
    con.execute(f"create schema if not exists {alias}.raw")
    rows: dict[str, int] = {}
    for table, split in split_tables.items():
        con.execute(f"create table if not exists {alias}.raw.{table} as "
                    f"select * from {national}.raw.{table} limit 0")
        where = f"{shard_of_sql('n.' + SHARD_COLUMN, count)} = {shard}" if split else "true"
        inserted = con.execute(
            f"insert into {alias}.raw.{table} select n.* from {national}.raw.{table} n "
            f"where {where} and not exists (select 1 from {alias}.raw.{table} s "
            f"where s.file_sha256 = n.file_sha256 and s.line_number = n.line_number)").fetchone()[0]
        rows[table] = int(inserted)
    return rows


def _holding_shards(home: Path, count: int, command: str, wait_seconds: float,
                    say: Callable[[str], None], shared: bool = False) -> contextlib.ExitStack:
    """Every shard's lock, held together (shared by readers), so no shard build writes a file being read."""
    stack = contextlib.ExitStack()
    try:
        for shard in range(count):
            stack.enter_context(hold_home(shard_dir(home, count, shard), command, shared=shared,
                                          wait_seconds=wait_seconds, say=say))
    except BaseException:
        stack.close()
        raise
    return stack


def _check_split(con: Any, home: Path, count: int, national: str, split_tables: dict[str, bool]) -> dict[str, int]:
    """Each split table's shard rows add up to its national rows; each whole table is in every shard whole."""
    attached = []
    try:
        for shard in range(count):
            con.execute(f"attach {_sql_path(shard_warehouse(home, count, shard))} as shard_{shard} (read_only)")
            attached.append(shard)
        totals: dict[str, int] = {}
        for table, split in split_tables.items():
            expected = con.execute(f"select count(*) from {national}.raw.{table}").fetchone()[0]
            counts = [con.execute(f"select count(*) from shard_{s}.raw.{table}").fetchone()[0] for s in attached]
            if (sum(counts) if split else min(counts)) != expected or (not split and max(counts) != expected):
                raise ShardError(f"raw.{table}: the shards hold {counts} rows, the national warehouse {expected}; "
                                 f"the shard homes under {shards_root(home, count)} no longer match it. Move that "
                                 f"folder away and run again to build the shards afresh")
            totals[table] = int(expected)
        return totals
    finally:
        for shard in attached:
            con.execute(f"detach shard_{shard}")


def build_shard(home: Path, count: int, shard: int, business_date: dt.date, *, full_check: bool = False,
                progress: Callable[[str], None] | None = None, lock_wait_seconds: float = 600.0,
                memory_limit: str | None = None) -> dict[str, Any]:
    """dbt build of SHARD_SELECT on shard `shard`'s warehouse for D, holding that shard's lock (memory_limit:
    DuckDB's, as build_marts takes it). Returns the build's summary with the shard number."""
    from seisan.marts import build_marts

    folder = shard_dir(home, count, shard)
    warehouse = folder / "warehouse.duckdb"
    if not warehouse.is_file():
        raise ShardError(f"shard {shard} has no warehouse at {warehouse}; run the split for {business_date} first")
    with hold_home(folder, f"seisan shard {shard}/{count} marts --date {business_date}",
                   wait_seconds=lock_wait_seconds, say=progress):
        result = build_marts(warehouse, business_date, select=SHARD_SELECT, work_dir=folder / "dbt",
                             full_check=full_check, progress=progress, memory_limit=memory_limit)
    return {"shard": shard, "models_built": len(result.models_built), "tests_passed": result.tests_passed,
            "tests_warned": result.tests_warned, "seconds": round(result.seconds, 3)}


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What merge_shards replaced: rows per table (schema.table → rows), the tables taken once (the same in every
    shard), the seconds the copy took, and balances_changed_from: the earliest day any shard's latest
    fct_balances build rewrote (None when none holds balances), for the national tests' day filter."""

    business_date: dt.date
    count: int
    tables: dict[str, int]
    taken_once: tuple[str, ...]
    seconds: float
    balances_changed_from: dt.date | None = None


def merge_shards(con: Any, home: Path, count: int, business_date: dt.date,
                 progress: Callable[[str], None] | None = None, lock_wait_seconds: float = 600.0) -> MergeResult:
    """Replace, in one transaction, every table the shards built with the union of the shards' rows. `con` is the
    national warehouse, open for writing. Raises ShardError, merging nothing, when a shard lacks a table the
    others have or a table without municipality_code differs between shards. Holds every shard's lock, shared."""
    started = time.monotonic()
    say = progress or (lambda _m: None)
    national = _national_catalog(con)
    aliases = []
    with _holding_shards(home, count, f"seisan merge --date {business_date}", lock_wait_seconds, say,
                         shared=True), contextlib.ExitStack() as detach:
        detach.callback(_detach_all, con, aliases)
        for shard in range(count):
            warehouse = shard_warehouse(home, count, shard)
            if not warehouse.is_file():
                raise ShardError(f"shard {shard} has no warehouse at {warehouse}; build it before the merge")
            con.execute(f"attach {_sql_path(warehouse)} as shard_{shard} (read_only)")
            aliases.append(f"shard_{shard}")
        built = _built_tables(con, aliases)
        changed_from = _balances_changed_from(con, aliases) if ("marts", "fct_balances") in built else None
        tables: dict[str, int] = {}
        taken_once: list[str] = []
        con.execute("begin transaction")
        try:
            for schema in _MERGED_SCHEMAS:
                con.execute(f"create schema if not exists {national}.{schema}")
            for schema, table in built:
                name = f"{schema}.{table}"
                if SHARD_COLUMN in _columns(con, aliases[0], schema, table):
                    source = " union all by name ".join(f"select * from {a}.{name}" for a in aliases)
                else:
                    _same_in_every_shard(con, aliases, name)
                    source = f"select * from {aliases[0]}.{name}"
                    taken_once.append(name)
                con.execute(f"create or replace table {national}.{name} as {source}")
                tables[name] = int(con.execute(f"select count(*) from {national}.{name}").fetchone()[0])
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        say(f"merge for {business_date}: {len(tables)} tables from {count} shards "
            f"({sum(tables.values()):,} rows)")
        return MergeResult(business_date, count, tables, tuple(taken_once), time.monotonic() - started,
                           changed_from)


def _detach_all(con: Any, aliases: Sequence[str]) -> None:
    for alias in aliases:
        con.execute(f"detach {alias}")


def _built_tables(con: Any, aliases: Sequence[str]) -> list[tuple[str, str]]:
    """The base tables (not views) each shard built in marts and staging; every shard must have the same ones."""
    found = []
    for alias in aliases:
        found.append(sorted(con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = ? "
            "and table_type = 'BASE TABLE' and table_schema in ('marts', 'staging')", [alias]).fetchall()))
    for alias, tables in zip(aliases[1:], found[1:], strict=True):
        if tables != found[0]:
            raise ShardError(f"{alias} built {len(tables)} tables and {aliases[0]} {len(found[0])}: "
                             f"{sorted(set(tables) ^ set(found[0]))} differ; build every shard for the same date")
    return found[0]


def _balances_changed_from(con: Any, aliases: Sequence[str]) -> dt.date | None:
    """The earliest day the latest fct_balances build of any shard rewrote (each shard's build stamps its rows
    with its own computed_at: in the merged table, the latest stamp is only the last shard's)."""
    days = [con.execute(f"select min(business_date) from {a}.marts.fct_balances where computed_at = "
                        f"(select max(computed_at) from {a}.marts.fct_balances)").fetchone()[0] for a in aliases]
    return min((d for d in days if d is not None), default=None)


def _same_in_every_shard(con: Any, aliases: Sequence[str], name: str) -> None:
    for alias in aliases[1:]:
        differ = con.execute(
            f"select count(*) from ((select * from {aliases[0]}.{name} except all select * from {alias}.{name}) "
            f"union all (select * from {alias}.{name} except all select * from {aliases[0]}.{name}))").fetchone()[0]
        if differ:
            raise ShardError(f"{name} has no {SHARD_COLUMN} yet differs between {aliases[0]} and {alias} "
                             f"({differ} rows): it cannot be merged by taking it once")
