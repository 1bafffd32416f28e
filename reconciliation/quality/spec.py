"""Suites as data: what each Great Expectations suite validates, written without importing GE.

A `Target` is one frame read from the warehouse (a SQL select, usually one day's slice of one table) and the
expectations it must meet; `reconciliation.quality.checkpoint` turns each into a GE ExpectationSuite (one per
target, named `<layer>.<name>`) and validates the frame. Keeping the specs GE-free lets the suites be listed,
documented and tested without GE's 7-10 s import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How much a failed expectation matters (GE `meta.severity`; recon.check_results `severity`)."""

    ERROR = "error"  # blocks the municipality's release gate (GateReason.FAILED_EXPECTATION)
    WARN = "warn"    # reported in the Data Docs and the daily report; never blocks


@dataclass(frozen=True, slots=True)
class Where:
    """A row condition: only rows with `column <op> value` are checked (GE 1.x Condition objects)."""

    column: str
    op: str  # '==' or '!='
    value: Any


@dataclass(frozen=True, slots=True)
class Expect:
    """One expectation.

    name: stable, human-readable id (recon.check_results `expectation`); gx_type: the GE 1.x class name in
    `great_expectations.expectations`; kwargs: its arguments; why: one line for the Data Docs and
    docs/data-quality.md; where: optional row condition.
    """

    name: str
    gx_type: str
    kwargs: Mapping[str, Any]
    severity: Severity
    why: str
    where: Where | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One frame to validate.

    layer: `raw`, `marts` or `freshness`; name: unique within the layer (the GE suite is `<layer>.<name>`);
    table: the relation the frame comes from (recon.check_results `target`); sql: a DuckDB select with the
    named parameter `$run_date`; municipality_column: the frame's column naming the municipality a failing row
    concerns (a failure is then reported per municipality), or None when the frame is not per municipality.
    """

    layer: str
    name: str
    table: str
    sql: str
    expectations: tuple[Expect, ...]
    municipality_column: str | None = "municipality_code"
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def suite(self) -> str:
        return f"{self.layer}.{self.name}"


def unique(columns: tuple[str, ...] | list[str], why: str, severity: Severity = Severity.ERROR) -> Expect:
    """Keys: one column via ExpectColumnValuesToBeUnique, several via ExpectCompoundColumnsToBeUnique."""
    cols = list(columns)
    label = "+".join(cols)
    if len(cols) == 1:
        return Expect(f"{label} unique", "ExpectColumnValuesToBeUnique", {"column": cols[0]}, severity, why)
    return Expect(f"{label} unique", "ExpectCompoundColumnsToBeUnique", {"column_list": cols}, severity, why)


def not_null(column: str, why: str, severity: Severity = Severity.ERROR) -> Expect:
    return Expect(f"{column} not null", "ExpectColumnValuesToNotBeNull", {"column": column}, severity, why)


def between(column: str, low: Any, high: Any, why: str, severity: Severity = Severity.ERROR,
            where: Where | None = None, name: str | None = None) -> Expect:
    label = name or f"{column} in [{'' if low is None else low}, {'' if high is None else high}]"
    return Expect(label, "ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high},
                  severity, why, where)


def zero(column: str, why: str, severity: Severity = Severity.ERROR, name: str | None = None) -> Expect:
    """An accounting identity: `column` is a derived difference that must be 0 on every row."""
    return between(column, 0, 0, why, severity, name=name or f"{column} = 0")


def in_set(column: str, values: tuple[Any, ...] | list[Any], why: str, severity: Severity = Severity.ERROR,
           where: Where | None = None, name: str | None = None) -> Expect:
    return Expect(name or f"{column} in allowed values", "ExpectColumnValuesToBeInSet",
                  {"column": column, "value_set": list(values)}, severity, why, where)


def a_at_least_b(a: str, b: str, why: str, severity: Severity = Severity.ERROR) -> Expect:
    return Expect(f"{a} >= {b}", "ExpectColumnPairValuesAToBeGreaterThanB",
                  {"column_A": a, "column_B": b, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                  severity, why)
