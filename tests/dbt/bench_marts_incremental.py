"""Benchmark (not a test): does an incremental day cost the same on day 61 as on day 2?

    .venv/bin/python tests/dbt/bench_marts_incremental.py [residents] [days]

Builds history up to day 1 and up to day 60 (a full build gives the same tables as day-by-day runs; see
test_marts_incremental.py), then times the incremental build of day 2 and of day 61 and prints the ratio.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from marts_generated import generate  # noqa: E402
from marts_rawdb import create_raw_schema  # noqa: E402
from marts_worlds import Ledger, write_masters  # noqa: E402

from seisan.marts import build_marts  # noqa: E402

START = date(2024, 3, 1)


def timed_day(folder: Path, ledger: Ledger, history_days: int) -> tuple[float, int]:
    path = folder / f"bench_{history_days}.duckdb"
    with duckdb.connect(str(path)) as con:
        create_raw_schema(con)
        write_masters(con)
        ledger.write(con, up_to=START + timedelta(days=history_days - 1))
    build_marts(path, START + timedelta(days=history_days - 1))
    day = START + timedelta(days=history_days)
    with duckdb.connect(str(path)) as con:
        ledger.write(con, from_date=day, up_to=day)
    started = time.monotonic()
    build_marts(path, day)
    seconds = time.monotonic() - started
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select count(*) from staging.int_lot_movements").fetchone()[0]
    return seconds, rows


def main() -> None:
    residents = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    ledger = Ledger(prefix="B")
    generate(ledger, seed=1, start=START, days=days + 1, municipalities=("131016", "141500"),
             residents=residents)
    with tempfile.TemporaryDirectory() as folder:
        day2, rows2 = timed_day(Path(folder), ledger, 1)
        late, rows_late = timed_day(Path(folder), ledger, days)
    print(f"{len(ledger.rows)} events, {residents} residents")
    print(f"day 2:  {day2:.2f} s  ({rows2} movement rows after)")
    print(f"day {days + 1}: {late:.2f} s  ({rows_late} movement rows after)")
    print(f"ratio day {days + 1} / day 2: {late / day2:.2f}")


if __name__ == "__main__":
    main()
