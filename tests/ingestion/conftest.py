from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from ingestion_builders import write_masters


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """A folder with inbox/ holding the masters of the tiny test world."""
    write_masters(tmp_path / "inbox")
    return tmp_path
