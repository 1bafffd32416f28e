"""The one rule for the business date of a DAG run (seisan.steps.business_date_of_run), the DAG's holding no
rule of its own, and what seisan logs never carrying a My Number."""

from __future__ import annotations

import ast
import datetime as dt
import logging

import pytest

from seisan.config import REPO_ROOT
from seisan.steps import business_date_of_run, log

UTC = dt.UTC
DAG_FILE = REPO_ROOT / "dags" / "settlement_daily.py"


@pytest.mark.parametrize("params, logical, expected", [
    ({"business_date": "2026-11-02"}, dt.datetime(2026, 12, 1, tzinfo=UTC), dt.date(2026, 11, 2)),
    ({"business_date": " 2026-11-02 "}, None, dt.date(2026, 11, 2)),
    # the scheduled run at 06:00 JST on 11-04 is 21:00 UTC on 11-03: it settles 11-03
    ({"business_date": ""}, dt.datetime(2026, 11, 3, 21, 0, tzinfo=UTC), dt.date(2026, 11, 3)),
    (None, dt.datetime(2026, 11, 3, 14, 59, tzinfo=UTC), dt.date(2026, 11, 2)),  # 23:59 JST on 11-03
    (None, dt.datetime(2026, 11, 3, 15, 0, tzinfo=UTC), dt.date(2026, 11, 3)),   # 00:00 JST on 11-04
    ({}, dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))), dt.date(2026, 12, 31)),
])
def test_business_date_of_a_run(params, logical, expected) -> None:
    assert business_date_of_run(params, logical) == expected


def test_without_a_logical_date_it_is_yesterday_in_tokyo() -> None:
    now = dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 01:30 JST on 04-01
    assert business_date_of_run(None, None, now=now) == dt.date(2026, 3, 31)


@pytest.mark.parametrize("params, logical, message", [
    ({"business_date": "2026-13-01"}, None, "YYYY-MM-DD"),
    ({"business_date": "yesterday"}, None, "YYYY-MM-DD"),
    (None, dt.datetime(2026, 11, 3, 21, 0), "no time zone"),
])
def test_a_bad_date_is_a_clear_error(params, logical, message) -> None:
    with pytest.raises(ValueError, match=message):
        business_date_of_run(params, logical)


def test_the_dag_holds_no_rule_and_passes_nothing_unused() -> None:
    """Each task takes only the run's context (params, logical date) and hands it to business_date_of_run; no
    task takes an upstream result it would not use; the file does no date arithmetic."""
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    def is_task(decorator: ast.expr) -> bool:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(called, ast.Name) and called.id == "task"

    tasks = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
             and any(is_task(d) for d in node.decorator_list)]
    assert {t.name for t in tasks} == {"ingest", "build_marts", "quality", "reconcile", "gate", "payments", "report"}
    for function in tasks:
        context = ["params", "logical_date"] + (["outlet_events"] if function.name == "report" else [])
        assert [a.arg for a in function.args.args] == context, function.name
        calls = {n.func.id for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "business_date_of_run" in calls, function.name
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"subtract", "timedelta", "in_timezone", "get_current_context", "now"}


def test_what_seisan_logs_never_carries_a_my_number(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="seisan"):
        log.info("%s: loaded", "partner/ABC/123456789018_sales_20261102.csv")
        log.info("resident 1234-5678-9018 in a file name")
    assert [r.getMessage() for r in caplog.records] == [
        "partner/ABC/************_sales_20261102.csv: loaded", "resident ************ in a file name"]
