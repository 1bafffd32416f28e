"""Matching at scale (`make bench`, via seisan.bench): terminal records <-> platform uses with N records a side and
a few hundred disagreements, generated in DuckDB, matched by the engine with the shipped rule file and, in the
same run, by a plain DuckDB FULL OUTER JOIN on auth_id that keeps the rows that disagree (the least any
reconciliation must do). Reports both times and their ratio (target: engine <= 1.5 x the join), in wall seconds
and in CPU seconds of the process.

A benchmark is a command, not a test: it measures and reports. It works on an in-memory DuckDB database.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from reconciliation.engine import run_matching
from reconciliation.rules import RULES_DIR

PAIR = "terminal_platform_transactions"
RUN_DATE = date(2026, 4, 30)

# One step of disagreements cycles through: missing on the platform, missing at the terminal, amount differs,
# merchant differs.
_SIDES_SQL = """
CREATE SCHEMA IF NOT EXISTS staging;
CREATE OR REPLACE TABLE staging.rec_terminal__transactions AS
SELECT 'A' || lpad(CAST(i AS VARCHAR), 12, '0') AS auth_id, 'use' AS transaction_type,
    DATE '2026-04-01' + CAST(i % 30 AS INTEGER) AS record_date,
    TIMESTAMP '2026-04-01 08:00:00' + to_days(CAST(i % 30 AS INTEGER)) + to_seconds(i % 40000) AS ts,
    'T' || lpad(CAST(i % 5000 AS VARCHAR), 8, '0') AS terminal_id, i AS seq,
    'M' || lpad(CAST(i % 5000 AS VARCHAR), 8, '0') AS merchant_id,
    ['131016', '011002', '271004'][1 + i % 3] AS municipality_code, 'RESIDENT' || (i % 100000) AS mykey_id,
    100 + (i % 50) * 100 AS amount_yen, md5(CAST(i // 1000 AS VARCHAR)) AS file_sha256, 1 + i % 1000 AS line_number
FROM range({n}) AS t(i) WHERE i % {step} != 1;
CREATE OR REPLACE TABLE staging.rec_platform__terminal_transactions AS
SELECT 'A' || lpad(CAST(i AS VARCHAR), 12, '0') AS auth_id, 'use' AS transaction_type,
    DATE '2026-04-01' + CAST(i % 30 AS INTEGER) AS event_date,
    TIMESTAMP '2026-04-01 08:00:00' + to_days(CAST(i % 30 AS INTEGER)) + to_seconds(i % 40000) AS event_ts,
    'E' || i AS event_id, 'T' || lpad(CAST(i % 5000 AS VARCHAR), 8, '0') AS terminal_id,
    'M' || lpad(CAST((i + CASE WHEN i % {step} = 4 THEN 1 ELSE 0 END) % 5000 AS VARCHAR), 8, '0') AS merchant_id,
    ['131016', '011002', '271004'][1 + i % 3] AS municipality_code, 'RESIDENT' || (i % 100000) AS mykey_id,
    100 + (i % 50) * 100 + CASE WHEN i % {step} = 3 THEN 10 ELSE 0 END AS amount_yen,
    false AS awaiting_terminal_upload,
    md5('p' || CAST(i // 1000 AS VARCHAR)) AS file_sha256, 2 + i % 1000 AS line_number
FROM range({n}) AS t(i) WHERE i % {step} != 2;
"""

_BASELINE_SQL = """
CREATE OR REPLACE TEMP TABLE baseline AS
SELECT l.auth_id AS left_key, r.auth_id AS right_key, l.amount_yen AS left_amount, r.amount_yen AS right_amount,
    l.merchant_id AS left_merchant, r.merchant_id AS right_merchant
FROM staging.rec_terminal__transactions AS l
FULL OUTER JOIN staging.rec_platform__terminal_transactions AS r ON l.auth_id = r.auth_id
WHERE l.auth_id IS NULL OR r.auth_id IS NULL OR l.amount_yen != r.amount_yen OR l.merchant_id != r.merchant_id
    OR l.transaction_type != r.transaction_type OR abs(epoch(l.ts) - epoch(r.event_ts)) > 120
"""


@dataclass(frozen=True, slots=True)
class MatchingBench:
    """One size: records per side, disagreements made, engine findings (breaks and pending), baseline rows,
    median wall seconds of each, and median CPU seconds of each (all threads of the process: steadier than wall
    time on a machine shared with other work)."""

    records: int
    disagreements: int
    engine_breaks: int
    baseline_rows: int
    engine_seconds: float
    baseline_seconds: float
    engine_cpu_seconds: float
    baseline_cpu_seconds: float

    @property
    def ratio(self) -> float:
        return self.engine_seconds / self.baseline_seconds

    @property
    def cpu_ratio(self) -> float:
        return self.engine_cpu_seconds / self.baseline_cpu_seconds


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one action."""
    started, started_cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - started, time.process_time() - started_cpu


def bench_size(records: int, disagreements: int, repeats: int = 5) -> MatchingBench:
    """Generate both sides with about `disagreements` disagreements and time engine and baseline alternately,
    after one untimed run of each (the first run creates the engine's tables)."""
    step = max(10, records // max(1, disagreements // 4))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(_SIDES_SQL.format(n=records, step=step))
    made = sum(1 for i in range(records) if i % step in (1, 2, 3, 4))
    with tempfile.TemporaryDirectory(prefix="seisan-bench-rules-") as tmp:
        rules = Path(tmp)
        shutil.copy(RULES_DIR / f"{PAIR}.yml", rules / f"{PAIR}.yml")
        con.execute(_BASELINE_SQL)
        run_matching(con, RUN_DATE, rules)
        engine, baseline = [], []
        for _ in range(repeats):
            baseline.append(_timed(lambda: con.execute(_BASELINE_SQL)))
            engine.append(_timed(lambda: run_matching(con, RUN_DATE, rules)))
    breaks = con.execute("SELECT count(*) FROM recon.findings").fetchone()
    rows = con.execute("SELECT count(*) FROM baseline").fetchone()
    con.close()
    return MatchingBench(records=records, disagreements=made, engine_breaks=breaks[0] if breaks else 0,
                         baseline_rows=rows[0] if rows else 0,
                         engine_seconds=statistics.median(wall for wall, _ in engine),
                         baseline_seconds=statistics.median(wall for wall, _ in baseline),
                         engine_cpu_seconds=statistics.median(cpu for _, cpu in engine),
                         baseline_cpu_seconds=statistics.median(cpu for _, cpu in baseline))


def bench_matching(sizes: tuple[int, ...], disagreements: int, say: Callable[[str], None]) -> list[str]:
    """Markdown table rows (| what | world | size | time | result |) for each size."""
    rows = []
    for records in sizes:
        say(f"matching {records:,} records a side")
        result = bench_size(records, disagreements)
        rows.append(
            f"| match terminal <-> platform | {result.disagreements} disagreements generated, "
            f"{result.engine_breaks} findings (join: {result.baseline_rows} rows) | {records:,} records a side | "
            f"engine {result.engine_seconds:.2f} s, full outer join {result.baseline_seconds:.2f} s "
            f"(CPU {result.engine_cpu_seconds:.2f} s vs {result.baseline_cpu_seconds:.2f} s) | "
            f"ratio {result.ratio:.2f} (CPU {result.cpu_ratio:.2f}) |")
    return rows


def main(argv: list[str] | None = None) -> int:
    """`python -m reconciliation.bench [records a side ...]`: the matching rows alone (default 1M and 5M)."""
    sizes = tuple(int(a) for a in (argv if argv is not None else sys.argv[1:])) or (1_000_000, 5_000_000)
    for row in bench_matching(sizes, 300, lambda message: print(f"  .. {message}", file=sys.stderr, flush=True)):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
