"""Checking that the Parquet copy under raw/ equals the warehouse's `raw` schema (docs/reliability.md).

`verify_mirror(con, raw_dir)` compares, table by table and partition by partition (source=<s>/date=<D>), the
multiset of whole rows (lineage included) in the warehouse with the rows of the table's Parquet files; checks
that every Parquet file belongs to a committed batch and holds only rows of that batch's files; replays the
terminal gap changes and compares them with raw.terminal_seq_gaps; and lists what is left in raw/.pending or is
not a mirror file at all. It reads only, and reports lineage keys (file SHA-256, line), never row contents. Used
by the kill tests and meant for auditors; run it when no ingest is running.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from contracts.schemas import CSV_KINDS
from ingestion.attempts import ATTEMPTS_FOLDER
from ingestion.schema import RELEASE_CHECKS, TABLES, TERMINAL_SEQ_GAPS, Table, sql_literal
from ingestion.store import GAP_CHANGES, PENDING_FOLDER

_SOURCE_OF_TABLE = {
    **{kind.table: kind.source for kind in CSV_KINDS},
    "terminal_records": "terminal",
    "terminal_seals": "terminal",
    "bank_statements": "bank",
    "bank_statement_lines": "bank",
    "quarantine_releases": "partner",  # only partner rows are held for a reference and released (ingestion.release)
}
# terminal_seq_gaps is mirrored as its change log; release_checks is run bookkeeping, not in Parquet
_MIRRORED = tuple(t for t in TABLES.values() if t.name not in (TERMINAL_SEQ_GAPS.name, RELEASE_CHECKS.name))
_FILE_NAME = re.compile(r"source=[^/]+/date=[^/]+/(?P<table>[a-z_]+)-(?P<batch>[0-9a-f]{16})\.parquet")


@dataclass(frozen=True, slots=True)
class MirrorDifference:
    """Rows of one table and partition on one side only. missing: in the warehouse, not in Parquet; extra: in
    Parquet, not in the warehouse (counted with multiplicity); example: lineage of one such row."""

    table: str
    partition: str
    missing: int
    extra: int
    example: str


@dataclass(frozen=True, slots=True)
class MirrorReport:
    """What verify_mirror found. differences: row multisets that differ; foreign_rows: Parquet files holding
    rows of a file their batch did not write (file, count); unknown_batch_files: Parquet files whose batch id
    is on no manifest row; pending: folders left in raw/.pending; stray_files: anything else under raw/."""

    differences: tuple[MirrorDifference, ...] = ()
    foreign_rows: tuple[tuple[str, int], ...] = ()
    unknown_batch_files: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    stray_files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (
            self.differences or self.foreign_rows or self.unknown_batch_files or self.pending or self.stray_files
        )


def _mirror_files(raw_dir: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Parquet files by table, and the relative paths of everything that is not a mirror file."""
    by_table: dict[str, list[Path]] = {}
    stray: list[str] = []
    for path in sorted(raw_dir.rglob("*")):
        relative = path.relative_to(raw_dir).as_posix()
        if relative.split("/")[0] in (PENDING_FOLDER, ATTEMPTS_FOLDER) or path.is_dir():
            continue
        match = _FILE_NAME.fullmatch(relative)
        if match is None or (match["table"] not in TABLES and match["table"] != GAP_CHANGES):
            stray.append(relative)
        else:
            by_table.setdefault(match["table"], []).append(path)
    return by_table, stray


def _parquet_select(con: duckdb.DuckDBPyConnection, table: Table, files: list[Path]) -> str:
    """SELECT _source, _date, _batch, <table columns> over the table's Parquet files; a column absent from
    every file (added after they were written) is NULL."""
    if not files:
        columns = ", ".join(table.column_names)
        return f"SELECT NULL::VARCHAR AS _source, NULL::VARCHAR AS _date, NULL::VARCHAR AS _batch, {columns} " \
               f"FROM raw.{table.name} WHERE false"
    source = f"read_parquet([{', '.join(sql_literal(str(f)) for f in files)}], union_by_name = true, filename = true)"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = ", ".join(name if name in present else f"NULL::{sql} AS {name}" for name, sql in table.columns)
    return (
        "SELECT regexp_extract(filename, 'source=([^/]*)/date=([^/]*)/', 1) AS _source, "
        "regexp_extract(filename, 'source=([^/]*)/date=([^/]*)/', 2) AS _date, "
        "regexp_extract(filename, '-([0-9a-f]{16})\\.parquet$', 1) AS _batch, "
        f"{columns} FROM {source}"
    )


def _warehouse_select(table: Table) -> str:
    source = "source" if "source" in table.column_names else sql_literal(_SOURCE_OF_TABLE[table.name])
    return (
        f"SELECT {source} AS _source, coalesce(CAST(business_date AS VARCHAR), 'undated') AS _date, "
        f"{', '.join(table.column_names)} FROM raw.{table.name}"
    )


def _example(table: Table) -> str:
    if "line_number" in table.column_names:
        return "min(file_sha256 || ':' || line_number)"
    return "min(file_sha256)"  # not the path: a sender chooses it, and it could hold anything


def _differences(con: duckdb.DuckDBPyConnection, table: Table, files: list[Path]) -> list[MirrorDifference]:
    columns = ", ".join(["_source", "_date", *table.column_names])
    rows = con.execute(f"""
        WITH w AS ({_warehouse_select(table)}),
             p AS (SELECT {columns} FROM ({_parquet_select(con, table, files)})),
             missing AS (SELECT * FROM w EXCEPT ALL SELECT * FROM p),
             extra AS (SELECT * FROM p EXCEPT ALL SELECT * FROM w),
             sided AS (SELECT 1 AS m, 0 AS e, * FROM missing UNION ALL SELECT 0, 1, * FROM extra)
        SELECT _source, _date, sum(m), sum(e), {_example(table)} FROM sided GROUP BY ALL ORDER BY ALL
    """).fetchall()
    return [
        MirrorDifference(table.name, f"source={s}/date={d}", int(m), int(e), str(example))
        for s, d, m, e, example in rows
    ]


def _foreign_rows(con: duckdb.DuckDBPyConnection, table: Table, files: list[Path]) -> list[tuple[str, int]]:
    """Parquet rows whose file (file_sha256) has no manifest row in the batch the Parquet file is named for."""
    if not files:
        return []
    rows = con.execute(f"""
        SELECT p._batch, count(*) FROM ({_parquet_select(con, table, files)}) p
        WHERE NOT EXISTS (SELECT 1 FROM raw.file_manifest m
                          WHERE m.batch_id = p._batch AND m.file_sha256 = p.file_sha256)
        GROUP BY ALL ORDER BY ALL
    """).fetchall()
    return [(f"{table.name}-{batch}.parquet", int(n)) for batch, n in rows]


def _replayed_gaps(con: duckdb.DuckDBPyConnection, files: list[Path]) -> Counter[tuple[object, ...]]:
    """raw.terminal_seq_gaps as the Parquet change log builds it: every `open`, then every `resolve` (a gap's
    range is never opened again once resolved, its records being loaded), so the clock need not order batches."""
    gaps: list[list[object]] = []
    if files:
        listing = ", ".join(sql_literal(str(f)) for f in files)
        changes = con.execute(f"""
            SELECT action, terminal_id, missing_from_seq, missing_to_seq, business_date, file_sha256
            FROM read_parquet([{listing}], filename = true, file_row_number = true)
            ORDER BY action = 'resolve', batch_id, filename, file_row_number
        """).fetchall()
        for action, terminal, first, last, day, sha in changes:
            if action == "open":
                gaps.append([terminal, first, last, day, sha, "open", None, None])
                continue
            for gap in gaps:
                if gap[:3] == [terminal, first, last] and gap[5] == "open":
                    gap[5:] = ["resolved", day, sha]
    return Counter(tuple(gap) for gap in gaps)


def _gap_differences(con: duckdb.DuckDBPyConnection, files: list[Path]) -> list[MirrorDifference]:
    warehouse = Counter(con.execute(f"SELECT * FROM raw.{TERMINAL_SEQ_GAPS.name}").fetchall())
    replayed = _replayed_gaps(con, files)
    missing, extra = warehouse - replayed, replayed - warehouse
    if not missing and not extra:
        return []
    example = next(iter(missing or extra))
    return [MirrorDifference(TERMINAL_SEQ_GAPS.name, "source=terminal", missing.total(), extra.total(),
                             f"{example[4]} {example[0]} {example[1]}-{example[2]}")]


def verify_mirror(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> MirrorReport:
    """Compare the warehouse's raw tables with the Parquet under raw_dir (module docstring)."""
    raw_dir = Path(raw_dir)
    by_table, stray = _mirror_files(raw_dir)
    differences: list[MirrorDifference] = []
    foreign: list[tuple[str, int]] = []
    for table in _MIRRORED:
        files = by_table.get(table.name, [])
        differences += _differences(con, table, files)
        foreign += _foreign_rows(con, table, files)
    differences += _gap_differences(con, by_table.get(GAP_CHANGES, []))
    known = {b for (b,) in con.execute("SELECT DISTINCT batch_id FROM raw.file_manifest").fetchall()}
    unknown = [
        path.relative_to(raw_dir).as_posix()
        for files in by_table.values()
        for path in files
        if path.name.rsplit("-", 1)[1].removesuffix(".parquet") not in known
    ]
    pending_root = raw_dir / PENDING_FOLDER
    pending = sorted(p.name for p in pending_root.iterdir()) if pending_root.is_dir() else []
    return MirrorReport(tuple(differences), tuple(foreign), tuple(sorted(unknown)), tuple(pending), tuple(stray))


def format_report(report: MirrorReport) -> str:
    """A few lines for a terminal: one per difference found, or one saying the copy is equal."""
    if report.ok:
        return "the Parquet copy equals the warehouse"
    lines = [f"{d.table} {d.partition}: {d.missing} row(s) missing from Parquet, {d.extra} extra (e.g. {d.example})"
             for d in report.differences]
    lines += [f"{name}: {count} row(s) of files its batch did not write" for name, count in report.foreign_rows]
    lines += [f"{path}: no manifest row has its batch id" for path in report.unknown_batch_files]
    lines += [f".pending/{name}: left by an unfinished ingest (the next ingest finishes it)" for name in report.pending]
    lines += [f"{path}: not a file of the copy" for path in report.stray_files]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m ingestion.mirror WAREHOUSE RAW_DIR`: check read-only; exit 0 when equal, 1 otherwise."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ingestion.mirror", description=main.__doc__)
    parser.add_argument("warehouse", type=Path, help="the DuckDB file, e.g. var/warehouse.duckdb")
    parser.add_argument("raw_dir", type=Path, help="the Parquet copy, e.g. var/raw")
    args = parser.parse_args(argv)
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        report = verify_mirror(con, args.raw_dir)
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
