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


# Columns whose values no result, detail or Data Docs page may show (docs/formats.md: details never echo a MyKey
# ID; reports never show a card certificate or its serial). They are replaced in the frame by a pseudonym, a
# prefix of their SHA-256: equal values stay equal, so keys are still checked, and nothing readable is shown.
PSEUDONYMISED_COLUMNS = frozenset({"mykey_id", "card_cert_serial", "cert_serial", "previous_serial", "cert_der"})


def read_frame(con: duckdb.DuckDBPyConnection, target: Target, run_date: dt.date) -> Any:
    """The target's slice as a pandas DataFrame: HUGEINT sums cast to BIGINT (pandas would make them floats),
    personal and certificate columns pseudonymised."""
    relation = con.sql(target.sql, params=_params(target.sql, run_date))
    return relation.select(", ".join(_column(name, str(kind))
                                     for name, kind in zip(relation.columns, relation.types, strict=True))).df()


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
            frame = read_frame(con, target, run_date)
        except duckdb.Error as exc:
            found.append(_unreadable(target, exc))
            continue
        if frame.empty:
            # Nothing in D's slice (e.g. no master snapshot today): every expectation holds vacuously. GE costs
            # ~0.1 s per expectation whatever the rows, so empty frames are recorded without it.
            found.append(_vacuous(target))
            continue
        # A data source of its own per target, deleted once validated: a data source's execution engine keeps
        # every DataFrame it validated, so one shared source held every slice of the day at once (17 slices,
        # 5.5 million rows at 1,000,000 residents; the step's peak 4.42 GiB, 3.94 GiB without them).
        datasource = context.data_sources.add_pandas(f"warehouse {target.suite}")
        batch = datasource.add_dataframe_asset(target.suite).add_batch_definition_whole_dataframe("day")
        suite = context.suites.add(gx.ExpectationSuite(
            name=target.suite, meta={"notes": target.description},
            expectations=[_expectation(expect) for expect in target.expectations]))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=target.suite, data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=target.suite, validation_definitions=[definition], actions=[],
            result_format={"result_format": "COMPLETE"}))
        result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)
        rows = [row for validation in result.run_results.values() for outcome in validation.results
                for row in _rows(target, outcome, frame)]
        found.append(Validated(target, tuple(rows), len(frame)))
        context.data_sources.delete(datasource.name)
        del frame, result, checkpoint, definition, batch, datasource
        if found[-1].frame_rows >= COLLECT_AFTER_ROWS:
            gc.collect()  # the source and its assets refer to each other: only the collector frees the slice
            #               (0.2 s a time, so not for small ones)
    context.build_data_docs(site_names=[SITE_NAME])
    return found


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


def _rows(target: Target, outcome: Any, frame: Any) -> list[CheckRow]:
    meta = outcome.expectation_config.meta or {}
    name, severity = meta["name"], meta["severity"]
    result = outcome.result or {}
    message = _raised(outcome.exception_info)
    if message is not None:
        return [CheckRow(target.suite, name, target.table, None, severity, False, "error", 0,
                         mask_my_numbers(message) or "")]
    count = int(result.get("unexpected_count") or 0)
    observed = _observed(result)
    if outcome.success:
        return [CheckRow(target.suite, name, target.table, None, severity, True, observed, 0, "")]
    indexes = result.get("unexpected_index_list") or []
    by_municipality = _by_municipality(target, frame, indexes)
    if not by_municipality:
        return [CheckRow(target.suite, name, target.table, None, severity, False, observed, count,
                         _detail(result.get("partial_unexpected_list")))]
    return [CheckRow(target.suite, name, target.table, municipality, severity, False,
                     f"{len(values)} unexpected rows", len(values), _detail(values))
            for municipality, values in sorted(by_municipality.items(), key=lambda item: item[0] or "")]


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
    keep = [c for c in frame.columns if c not in ("file_sha256",)][:8]
    return {c: frame.at[index, c] for c in keep} | (
        {"line_number": frame.at[index, "line_number"]} if "line_number" in frame.columns else {})


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        return _text(result["observed_value"])
    if "element_count" in result:
        return f"{int(result.get('unexpected_count') or 0)} of {int(result['element_count'])} rows unexpected"
    return ""


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
        link = (f" — <a href=\"{html.escape(str(pages[-1].relative_to(docs_dir)))}\">GE validation page</a>"
                if pages else "")
        parts.append(f"<h2 id=\"{html.escape(item.target.suite)}\">{html.escape(item.target.suite)}: {status}</h2>"
                     f"<p>{html.escape(item.target.description)} ({html.escape(item.target.table)}, "
                     f"{item.frame_rows} rows){link}</p>")
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
