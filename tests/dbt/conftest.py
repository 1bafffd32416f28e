"""Fixtures for the dbt tests: a fresh warehouse with the raw schema, and a helper that runs one dbt build."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import marts_rawdb  # noqa: E402

from seisan.marts import MartsResult, build_marts  # noqa: E402


@pytest.fixture(scope="module")
def marts_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("marts")


def new_warehouse(folder: Path, name: str = "warehouse.duckdb") -> tuple[Path, duckdb.DuckDBPyConnection]:
    path = folder / name
    con = duckdb.connect(str(path))
    marts_rawdb.create_raw_schema(con)
    return path, con


@pytest.fixture(scope="module")
def dbt_build() -> Callable[..., MartsResult]:
    def run(warehouse: Path, day: date, full_refresh: bool = False, with_tests: bool = True,
            full_check: bool = False, unit_tests: bool | None = None) -> MartsResult:
        return build_marts(warehouse, day, full_refresh=full_refresh, with_tests=with_tests, full_check=full_check,
                           unit_tests=unit_tests)
    return run
