"""Ingestion throughput benchmark: `python -m ingestion.benchmark [rows]` writes a ledger file of `rows`
valid events (default 100,000) into a temporary inbox, ingests it into an in-memory DuckDB and prints rows/s.

A separate command, not a test (STYLE.md). Never touches a real warehouse or inbox.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from contracts.codes import municipality_check_digit
from contracts.csvio import csv_bytes
from contracts.schemas import MASTER_MUNICIPALITIES, PLATFORM_LEDGER
from ingestion.run import ingest

DAY = dt.date(2026, 11, 25)


def _write_inbox(inbox: Path, rows: int) -> None:
    municipality = "13101" + municipality_check_digit("13101")
    (inbox / "master").mkdir(parents=True)
    (inbox / "platform").mkdir()
    (inbox / "master" / "municipalities_20261101.csv").write_bytes(
        csv_bytes(
            MASTER_MUNICIPALITIES.column_names,
            [
                [
                    municipality,
                    "千代田区",
                    "ﾁﾖﾀﾞｸ",
                    "東京都",
                    "daily",
                    "",
                    "0",
                    "payer",
                    "0001",
                    "001",
                    "1",
                    "1234567",
                    "1234567890",
                    "ﾁﾖﾀﾞｸ",
                ]
            ],
        )
    )
    events = (
        {
            "event_id": f"E{i:09d}",
            "event_ts": f"2026-11-25T{i % 24:02d}:{i % 60:02d}:00+09:00",
            "municipality_code": municipality,
            "program_code": "P1",
            "mykey_id": f"resident{i % 5000:05d}",
            "event_type": "grant",
            "amount": str(1 + i % 5000),
            "channel": "batch",
        }
        for i in range(rows)
    )
    (inbox / "platform" / "ledger_20261125.csv").write_bytes(csv_bytes(PLATFORM_LEDGER.column_names, events))


def main(argv: list[str]) -> None:
    rows = int(argv[1]) if len(argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write_inbox(root / "inbox", rows)
        con = duckdb.connect(":memory:")
        started = time.perf_counter()
        summary = ingest(con, root / "inbox", root / "raw", DAY)
        seconds = time.perf_counter() - started
        loaded = summary.rows_loaded.get("platform_ledger", 0)
        print(f"{loaded:,} ledger rows loaded in {seconds:.2f} s: {loaded / seconds:,.0f} rows/s")


if __name__ == "__main__":
    main(sys.argv)
