"""Run the suites with Great Expectations 1.x and store what they found.

DuckDB is no GE datasource (STACK.md): each target's day slice is read into pandas and validated as a
DataFrame asset of an in-memory (ephemeral) GE context, one ExpectationSuite and Checkpoint per target. Nothing
is written into the repository: the only files are the Data Docs under `docs_dir` (GE's site in `gx/`, our
index in `index.html`). GE is imported inside `validate_targets` only: the import costs 7-10 s.
"""

from __future__ import annotations

import datetime as dt
import gc
import html
import json
import numbers
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from contracts.codes import mask_my_numbers
from reconciliation.quality.spec import Expect, Severity, Target

CHECK_RESULTS_DDL = """
create table if not exists recon.check_results (
    run_date DATE, suite VARCHAR, expectation VARCHAR, target VARCHAR, municipality_code VARCHAR,
    severity VARCHAR, success BOOLEAN, observed VARCHAR, unexpected_count BIGINT, detail VARCHAR)"""
SITE_NAME = "seisan_data_docs"
GE_SITE_FOLDER = "gx"
_SAMPLE_VALUES = 10
COLLECT_AFTER_ROWS = 50_000  # a slice this large is freed at once when validated, not at the collector's next run
PART_ROWS = 400_000  # a slice larger than this is validated in parts of about this many rows (parts_of)
_UNIQUE_TYPES = ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One row of recon.check_results: an expectation's outcome, per municipality when it failed on rows that
    name one (NULL municipality: a pass, or a failure that concerns no single municipality)."""

    suite: str
    expectation: str
    target: str
    municipality_code: str | None
    severity: str
    success: bool
    observed: str
    unexpected_count: int
    detail: str


@dataclass(frozen=True, slots=True)
class Validated:
    """What validating one target gave: its rows, and for the index page its frame size and GE page."""

    target: Target
    rows: tuple[CheckRow, ...]
    frame_rows: int
    read_error: str | None = None
    parts: int = 1


# Columns whose values no result, detail or Data Docs page may show (docs/formats.md: details never echo a MyKey
# ID; reports never show a card certificate or its serial). They are replaced in the frame by a pseudonym, a
# prefix of their SHA-256: equal values stay equal, so keys are still checked, and nothing readable is shown.
PSEUDONYMISED_COLUMNS = frozenset({"mykey_id", "card_cert_serial", "cert_serial", "previous_serial", "cert_der"})


def read_frame(con: duckdb.DuckDBPyConnection, target: Target, run_date: dt.date, part: int = 0,
               parts: int = 1) -> Any:
    """Part `part` of `parts` of the target's slice (_part_sql) as a pandas DataFrame: only the columns it needs
    (frame_columns), HUGEINT sums cast to BIGINT (pandas would make them floats), personal and certificate columns
    pseudonymised."""
    sql = _part_sql(target, part, parts)
    relation = con.sql(sql, params=_params(sql, run_date))
    needed = set(frame_columns(target, relation.columns))
    return pandas_frame(relation.select(", ".join(_column(name, str(kind))
                                                  for name, kind in zip(relation.columns, relation.types, strict=True)
                                                  if name in needed)))


def pandas_frame(relation: duckdb.DuckDBPyRelation) -> Any:
    """The relation as the DataFrame DuckDB's `.df()` gives, dtype for dtype, built from Arrow instead.

    `.df()` hands pandas every text value as a Python string, which pandas then packs into an Arrow-backed column
    again: 8.4 s for the day's slices at 1,000,000 residents, 3.5-3.8 s from Arrow. Made as `.df()` makes them, for
    the column types the suites read: text as pandas' string dtype (objects, all None, when every value is NULL),
    BIGINT, INTEGER and BOOLEAN as numpy's (Int64, Int32, boolean when the column holds a NULL), DATE and
    TIMESTAMP as datetime64[us] (tests/reconciliation/test_quality.py compares the two). A relation with a column
    of any other type is read with `.df()` itself."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype(), pa.bool_(): pd.BooleanDtype()}
    table = relation.to_arrow_table()
    text = [pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
            for f in table.schema]
    if not all(is_text or f.type in nullable or f.type == pa.date32() or f.type == pa.timestamp("us")
               for f, is_text in zip(table.schema, text, strict=True)):
        return relation.df()
    columns = {}
    for name, column, is_text in zip(table.column_names, table.columns, text, strict=True):
        if column.type == pa.date32():
            columns[name] = column.to_pandas(date_as_object=False).astype("datetime64[us]")
        elif is_text and column.null_count == len(column):
            columns[name] = pd.Series([None] * len(column), dtype=object)  # pandas infers no text dtype from None
        elif column.null_count and column.type in nullable:
            columns[name] = column.to_pandas(types_mapper=nullable.get)
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns)


def slice_rows(con: duckdb.DuckDBPyConnection, target: Target, run_date: dt.date) -> int:
    """How many rows the target's slice holds (counted in DuckDB, before any is read into pandas)."""
    sql = f"select count(*) from ({target.sql})"
    [(rows,)] = con.execute(sql, _params(sql, run_date)).fetchall()
    return int(rows)


def part_key(target: Target) -> list[str] | None:
    """The columns a slice is split on (_part_sql) so that every expectation keeps its exact outcome: the one key
    its uniqueness expectations check (rows that share it land in the same part; every other expectation is row
    by row), [] when none checks one (any split), None when two keys are checked (no split keeps both)."""
    keys = {tuple(e.kwargs.get("column_list") or (e.kwargs["column"],))
            for e in target.expectations if e.gx_type in _UNIQUE_TYPES}
    if len(keys) > 1:
        return None
    return list(keys.pop()) if keys else []


def parts_of(target: Target, rows: int) -> int:
    """How many parts a slice of `rows` rows is validated in: one per PART_ROWS rows, or one when it cannot split."""
    if rows <= PART_ROWS or part_key(target) is None:
        return 1
    return -(-rows // PART_ROWS)


def _part_sql(target: Target, part: int, parts: int) -> str:
    """The target's select narrowed to part `part` of `parts`, by the hash of its part key (of the whole row
    without one)."""
    if parts == 1:
        return target.sql
    key = part_key(target)
    hashed = ", ".join(f'part_rows."{name}"' for name in key) if key else "part_rows"
    return f"select * from ({target.sql}) as part_rows where hash({hashed}) % {parts} = {part}"


def frame_columns(target: Target, columns: Sequence[str]) -> list[str]:
    """The columns of `columns` (a relation's, in its order) that validating `target` reads: each expectation's
    and its row condition's, the municipality column, and those a failing row's sample shows (_sample_columns).
    Every expectation is column-wise, so the rest can stay in DuckDB: the day's ledger entries were read with all
    19 of their columns into pandas (1.3 million rows at 1,000,000 residents)."""
    wanted = {target.municipality_column, *_sample_columns(columns)}
    for expect in target.expectations:
        wanted.update(expect.kwargs[key] for key in ("column", "column_A", "column_B") if key in expect.kwargs)
        wanted.update(expect.kwargs.get("column_list", ()))
        if expect.where is not None:
            wanted.add(expect.where.column)
    return [name for name in columns if name in wanted]


def _sample_columns(columns: Sequence[str]) -> list[str]:
    """What a failing row's sample shows (_row_sample): its first 8 columns but the file hash, and its line."""
    return [c for c in columns if c != "file_sha256"][:8] + (["line_number"] if "line_number" in columns else [])


def _column(name: str, kind: str) -> str:
    if name in PSEUDONYMISED_COLUMNS:
        return f"'~' || left(sha256(cast(\"{name}\" as varchar)), 12) as \"{name}\""
    if kind == "HUGEINT":
        return f'cast("{name}" as bigint) as "{name}"'
    return f'"{name}"'


def _params(sql: str, run_date: dt.date) -> dict[str, Any]:
    return {"run_date": run_date} if "$run_date" in sql else {}


def validate_targets(con: duckdb.DuckDBPyConnection, run_date: dt.date, targets: Sequence[Target],
                     docs_dir: Path) -> list[Validated]:
    """Validate every target with GE and build the Data Docs site under docs_dir/gx (replaced)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics leave the machine
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    no_frame_fingerprints()
    site_dir = docs_dir / GE_SITE_FOLDER
    shutil.rmtree(site_dir, ignore_errors=True)  # a rerun replaces the day's pages
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(site_name=SITE_NAME, site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    run_id = RunIdentifier(run_name=f"seisan-{run_date.isoformat()}",
                           run_time=dt.datetime.combine(run_date, dt.time(), tzinfo=dt.UTC))
    found = []
    for target in targets:
        try:
            rows = slice_rows(con, target, run_date)
        except duckdb.Error as exc:
            found.append(_unreadable(target, exc))
            continue
        if rows == 0:
            # Nothing in D's slice (e.g. no master snapshot today): every expectation holds vacuously. GE costs
            # ~0.1 s per expectation whatever the rows, so empty frames are recorded without it.
            found.append(_vacuous(target))
            continue
        suite = context.suites.add(gx.ExpectationSuite(
            name=target.suite, meta={"notes": target.description},
            expectations=[_expectation(expect) for expect in target.expectations]))
        parts = parts_of(target, rows)
        outcomes: list[list[Outcome]] = []
        for part in range(parts):
            outcomes.append(_validate_part(context, suite, con, target, run_date, part, parts, run_id))
        found.append(Validated(target, tuple(row for outcome in merge_outcomes(outcomes)
                                             for row in outcome.rows(target)), rows, parts=parts))
    context.build_data_docs(site_names=[SITE_NAME])
    return found


def no_frame_fingerprints() -> None:
    """Turn off GE's fingerprint of every DataFrame it validates. GE hashes each frame under HASH_THRESHOLD bytes
    (1 GB) row by row for one batch marker of its page (`pandas_data_fingerprint`, an MD5 of pandas' row hashes that
    nothing else reads or can reproduce): a sixth of the step at 1,000,000 residents. 0 turns it off; the module
    reads the constant on every batch (tests/reconciliation/test_quality.py holds the installed GE to that)."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def _validate_part(context: Any, suite: Any, con: duckdb.DuckDBPyConnection, target: Target, run_date: dt.date,
                   part: int, parts: int, run_id: Any) -> list[Outcome]:
    """Validate part `part` of `parts` of the target's slice: one Outcome per expectation (none for an empty
    part)."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    frame = read_frame(con, target, run_date, part, parts)
    if frame.empty:
        return []
    name = target.suite if parts == 1 else f"{target.suite} part {part + 1} of {parts}"
    if parts > 1:  # each part its own Data Docs page
        run_id = RunIdentifier(run_name=f"{run_id.run_name} part {part + 1} of {parts}", run_time=run_id.run_time)
    # A data source of its own per part, deleted once validated: a data source's execution engine keeps every
    # DataFrame it validated, so one shared source held every slice of the day at once (17 slices, 5.5 million
    # rows at 1,000,000 residents; the step's peak 4.42 GiB, 3.94 GiB without them).
    datasource = context.data_sources.add_pandas(f"warehouse {name}")
    batch = datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe("day")
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=name, validation_definitions=[definition], actions=[], result_format={"result_format": "COMPLETE"}))
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)
    outcomes = [_outcome(target, outcome, frame) for validation in result.run_results.values()
                for outcome in validation.results]
    context.data_sources.delete(datasource.name)
    rows = len(frame)
    del frame, result, checkpoint, definition, batch, datasource
    if rows >= COLLECT_AFTER_ROWS:
        gc.collect()  # the source and its assets refer to each other: only the collector frees the slice
        #               (0.2 s a time, so not for small ones)
    return outcomes


def _expectation(expect: Expect) -> Any:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    kwargs = {key: _ge_value(value) for key, value in expect.kwargs.items()}
    if expect.where is not None:
        column = Column(expect.where.column)
        kwargs["row_condition"] = (column == expect.where.value if expect.where.op == "=="
                                   else column != expect.where.value)
    meta = {"name": expect.name, "severity": expect.severity.value, "why": expect.why}
    return getattr(gxe, expect.gx_type)(**kwargs, meta=meta,
                                        description=f"[{expect.severity.value}] {expect.name}: {expect.why}")


def _ge_value(value: Any) -> Any:
    """DuckDB dates arrive in pandas as datetime64: compare with timestamps, not date objects."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        import pandas as pd

        return pd.Timestamp(value)
    return value


@dataclass(slots=True)
class Outcome:
    """One expectation's outcome on a frame (one part of a slice, or all its parts merged: merge_outcomes)."""

    name: str
    severity: str
    error: str | None
    success: bool
    unexpected: int
    elements: int | None                   # rows evaluated (GE's element_count), when GE gives it
    observed_value: str | None             # GE's observed_value, as text, when it gives one
    partial: list[Any]                     # GE's partial_unexpected_list
    by_municipality: dict[str | None, list[Any]] | None  # failing rows' samples per municipality (_by_municipality)

    def rows(self, target: Target) -> list[CheckRow]:
        """Its rows of recon.check_results."""
        if self.error is not None:
            return [CheckRow(target.suite, self.name, target.table, None, self.severity, False, "error", 0,
                             mask_my_numbers(self.error) or "")]
        if self.observed_value is not None:
            observed = self.observed_value
        elif self.elements is not None:
            observed = f"{self.unexpected} of {self.elements} rows unexpected"
        else:
            observed = ""
        if self.success:
            return [CheckRow(target.suite, self.name, target.table, None, self.severity, True, observed, 0, "")]
        if not self.by_municipality:
            return [CheckRow(target.suite, self.name, target.table, None, self.severity, False, observed,
                             self.unexpected, _detail(self.partial))]
        return [CheckRow(target.suite, self.name, target.table, municipality, self.severity, False,
                         f"{len(values)} unexpected rows", len(values), _detail(values))
                for municipality, values in sorted(self.by_municipality.items(), key=lambda item: item[0] or "")]


def _outcome(target: Target, outcome: Any, frame: Any) -> Outcome:
    meta = outcome.expectation_config.meta or {}
    result = outcome.result or {}
    failing = not outcome.success
    return Outcome(
        name=meta["name"], severity=meta["severity"], error=_raised(outcome.exception_info),
        success=bool(outcome.success), unexpected=int(result.get("unexpected_count") or 0),
        elements=int(result["element_count"]) if "element_count" in result else None,
        observed_value=_text(result["observed_value"]) if "observed_value" in result else None,
        partial=list(result.get("partial_unexpected_list") or []) if failing else [],
        by_municipality=_by_municipality(target, frame, result.get("unexpected_index_list") or []) if failing
        else None)


def merge_outcomes(parts: Sequence[Sequence[Outcome]]) -> list[Outcome]:
    """Each expectation's outcome over every part of a slice: it holds when it held on every part; counts add up;
    the failing rows' samples are put together. One part: its outcomes as they are."""
    parts = [outcomes for outcomes in parts if outcomes]
    if len(parts) == 1:
        return list(parts[0])
    merged = []
    for same in zip(*parts, strict=True):
        errors = [o.error for o in same if o.error is not None]
        failing = [o for o in same if not o.success]
        grouped: dict[str | None, list[Any]] | None = None
        if failing and all(o.by_municipality for o in failing):
            grouped = {}
            for o in failing:
                for municipality, values in (o.by_municipality or {}).items():
                    grouped.setdefault(municipality, []).extend(values)
        observed = [o.observed_value for o in same if o.observed_value is not None]
        merged.append(Outcome(
            name=same[0].name, severity=same[0].severity, error=errors[0] if errors else None,
            success=not failing, unexpected=sum(o.unexpected for o in same),
            elements=(sum(o.elements or 0 for o in same) if all(o.elements is not None for o in same) else None),
            observed_value="; ".join(observed) if observed else None,
            partial=[value for o in failing for value in o.partial], by_municipality=grouped))
    return merged


def _raised(info: Any) -> str | None:
    """GE's exception message when evaluating the expectation raised (its info is one dict, or one per metric)."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _by_municipality(target: Target, frame: Any, indexes: list[Any]) -> dict[str | None, list[Any]]:
    """Failing rows grouped by the municipality they name, when the frame has such a column."""
    import pandas as pd

    column = target.municipality_column
    if column is None or column not in frame.columns or not indexes:
        return {}
    if not all(isinstance(i, numbers.Integral) for i in indexes):
        return {}
    groups: dict[str | None, list[Any]] = {}
    for index in indexes:
        value = frame.at[int(index), column]
        key = None if pd.isna(value) else str(value)
        groups.setdefault(key, []).append(_row_sample(frame, int(index)))
    return groups


def _row_sample(frame: Any, index: int) -> dict[str, Any]:
    """A failing row's sample (_sample_columns); a missing value is None (JSON null), however pandas holds it (NaN
    or None, as the frame's other rows decide)."""
    import pandas as pd

    return {c: None if pd.isna(value := frame.at[index, c]) is True else value
            for c in _sample_columns(list(frame.columns))}


def _detail(values: Any) -> str:
    if not values:
        return ""
    return mask_my_numbers(_text(list(values)[:_SAMPLE_VALUES])) or ""


def _text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _vacuous(target: Target) -> Validated:
    rows = tuple(CheckRow(target.suite, e.name, target.table, None, e.severity.value, True, "no rows in the slice",
                          0, "") for e in target.expectations)
    return Validated(target, rows, 0)


def _unreadable(target: Target, exc: Exception) -> Validated:
    row = CheckRow(target.suite, "relation readable", target.table, None, Severity.ERROR.value, False,
                   "unreadable", 0, mask_my_numbers(str(exc).splitlines()[0]) or "")
    return Validated(target, (row,), 0, read_error=row.detail)


def store_results(con: duckdb.DuckDBPyConnection, run_date: dt.date, validated: Sequence[Validated]) -> int:
    """Replace run_date's rows of recon.check_results (the caller holds the transaction)."""
    con.execute("delete from recon.check_results where run_date = ?", [run_date])
    rows = [(run_date, r.suite, r.expectation, r.target, r.municipality_code, r.severity, r.success, r.observed,
             r.unexpected_count, r.detail) for v in validated for r in v.rows]
    if rows:
        con.executemany("insert into recon.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def write_index(docs_dir: Path, run_date: dt.date, validated: Sequence[Validated]) -> Path:
    """docs_dir/index.html: every suite and expectation with its outcome, readable offline with no CSS, linking
    GE's own pages (which load their styles from CDNs and look plain offline)."""
    site = docs_dir / GE_SITE_FOLDER
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Data quality {run_date}"
             "</title></head><body>", f"<h1>Data quality, business date {run_date}</h1>",
             f"<p>Great Expectations Data Docs: <a href=\"{GE_SITE_FOLDER}/index.html\">site index</a> (its pages "
             "load CSS from CDNs; offline they are unstyled but complete). Severity <b>error</b> blocks the "
             "municipality's gate; <b>warn</b> does not. See docs/data-quality.md.</p>"]
    for item in validated:
        failed = [r for r in item.rows if not r.success]
        status = "FAILED" if failed else "passed"
        pages = sorted(site.glob(f"validations/{item.target.suite.replace('.', '/')}/**/*.html"))
        links = [f"<a href=\"{html.escape(str(page.relative_to(docs_dir)))}\">GE validation page"
                 f"{f' {number}' if item.parts > 1 else ''}</a>" for number, page in enumerate(pages, start=1)]
        in_parts = f" in {item.parts} parts" if item.parts > 1 else ""
        parts.append(f"<h2 id=\"{html.escape(item.target.suite)}\">{html.escape(item.target.suite)}: {status}</h2>"
                     f"<p>{html.escape(item.target.description)} ({html.escape(item.target.table)}, "
                     f"{item.frame_rows} rows{in_parts}){' — ' + ', '.join(links) if links else ''}</p>")
        parts.append("<table border=\"1\"><tr><th>expectation</th><th>severity</th><th>municipality</th>"
                     "<th>success</th><th>observed</th><th>unexpected</th><th>detail</th></tr>")
        for r in item.rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                r.expectation, r.severity, r.municipality_code or "", "yes" if r.success else "NO", r.observed,
                r.unexpected_count, r.detail)) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    index = docs_dir / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
