"""`make bench` / `python -m seisan.bench`: seisan's performance, measured on simulated worlds.

Three measurements, printed as Markdown for docs/benchmarks.md (with the machine and the command):
1. simulator throughput: records written per second for a world of the given size;
2. ingestion throughput: records read per second, ingesting that world day by day (no Airflow);
3. mart build cost over time: `build_marts` on a longer, smaller world, day by day for days 1-4 and the last 3
   (the days between loaded and built at once), reporting day 2, the last day and their ratio (an incremental
   build costs about the same on day 31 as on day 2; `--marts-days 61` for longer);
4. matching at scale (reconciliation.bench): terminal <-> platform with 1M and 5M records a side, the engine
   against a plain DuckDB full outer join on the key in the same run, and their ratio.

A benchmark is a command, not a test: nothing here asserts; it measures and reports. It works in a temporary
folder and never touches SEISAN_HOME.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def bench_simulate_and_ingest(work: Path, start: dt.date, days: int, municipalities: int, residents: int,
                              seed: int, say) -> list[str]:
    import duckdb

    from ingestion import ingest
    from simulator import deliver, simulate

    inbox = work / "inbox"
    began = time.perf_counter()
    summary = simulate(inbox, start, days, municipalities, residents, seed, faults="typical")
    sim_seconds = time.perf_counter() - began
    say(f"simulated {summary.rows:,} records in {sim_seconds:.1f} s")
    records = 0
    ingest_seconds = 0.0
    with duckdb.connect(str(work / "bench.duckdb")) as con:
        for offset in range(days + 2):
            day = start + dt.timedelta(days=offset)
            deliver(inbox, day)
            began = time.perf_counter()
            result = ingest(con, inbox, work / "raw", day)
            ingest_seconds += time.perf_counter() - began
            records += sum(result.rows_read.values())
    say(f"ingested {records:,} records in {ingest_seconds:.1f} s")
    return [
        f"| simulate | {municipalities} municipalities, {residents:,} residents, {days} days, typical faults | "
        f"{summary.rows:,} records | {sim_seconds:.1f} s | {summary.rows / sim_seconds:,.0f} records/s |",
        f"| ingest (day by day, no Airflow) | the same world | {records:,} records | {ingest_seconds:.1f} s | "
        f"{records / ingest_seconds:,.0f} records/s |",
    ]


def bench_marts_over_time(work: Path, start: dt.date, days: int, residents: int, seed: int, say) -> list[str]:
    import duckdb

    from ingestion import ingest
    from seisan.marts import build_marts
    from simulator import deliver, simulate

    inbox = work / "inbox-long"
    warehouse = work / "long.duckdb"
    simulate(inbox, start, days, 2, residents, seed, faults="none")
    seconds: list[float] = []
    # Days 1-4 and the last 3 are built day by day and timed; the days between (when there are more than one) are
    # delivered together, loaded by one ingest and built by one incremental build for the last of them, as a late
    # delivery is (tests/dbt/test_marts_incremental.py holds that equal to building them day by day).
    timed = set(range(4)) | set(range(days - 3, days))
    history = [offset for offset in range(days) if offset not in timed]
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        deliver(inbox, day)
        if offset in history[:-1]:
            continue
        with duckdb.connect(str(warehouse)) as con:
            ingest(con, inbox, work / "raw-long", day)
        began = time.perf_counter()
        build_marts(warehouse, day)
        if offset in history:
            say(f"marts for days {history[0] + 1}-{offset + 1} ({day}) in one build: "
                f"{time.perf_counter() - began:.1f} s")
            continue
        seconds.append(time.perf_counter() - began)
        say(f"marts for day {offset + 1}/{days} ({day}): {seconds[-1]:.1f} s")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lots = con.execute("select count(*) from marts.fct_point_lots").fetchone()[0]
        entries = con.execute("select count(*) from marts.fct_ledger_entries").fetchone()[0]
    early = statistics.median(seconds[1:4]) if len(seconds) > 3 else seconds[1]
    late = statistics.median(seconds[-3:])
    return [
        f"| build_marts, day 2 | 2 municipalities, {residents:,} residents, no faults | first full build "
        f"{seconds[0]:.1f} s | {seconds[1]:.1f} s | |",
        f"| build_marts, day {days} | after {days - 1} days of history: {lots:,} lots, {entries:,} postings | | "
        f"{seconds[-1]:.1f} s | day {days} / day 2 = {seconds[-1] / seconds[1]:.2f} |",
        f"| build_marts, medians | days 2-4 vs the last 3 days | | {early:.1f} s vs {late:.1f} s | "
        f"ratio {late / early:.2f} |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seisan.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=10_000, help="residents in the throughput world")
    parser.add_argument("--days", type=int, default=14, help="days in the throughput world")
    parser.add_argument("--municipalities", type=int, default=3)
    parser.add_argument("--marts-days", type=int, default=31, help="days in the mart-cost world (0 = skip)")
    parser.add_argument("--marts-residents", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--match-sizes", default="1000000,5000000",
                        help="records a side for the matching benchmark, comma separated ('' = skip)")
    parser.add_argument("--match-disagreements", type=int, default=300)
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"  .. {message}", file=sys.stderr, flush=True)

    start = dt.date(2026, 10, 1)
    rows = ["| what | world | size | time | result |", "| --- | --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory(prefix="seisan-bench-") as tmp:
        work = Path(tmp)
        rows += bench_simulate_and_ingest(work, start, args.days, args.municipalities, args.residents,
                                          args.seed, say)
        if args.marts_days > 1:
            rows += bench_marts_over_time(work, start, args.marts_days, args.marts_residents, args.seed, say)
        sizes = tuple(int(size) for size in args.match_sizes.split(",") if size.strip())
        if sizes:
            from reconciliation.bench import bench_matching
            rows += bench_matching(sizes, args.match_disagreements, say)
    print(f"Machine: {_machine()}  ")
    command = ' '.join(['python -m seisan.bench', *(argv if argv is not None else sys.argv[1:])])
    print(f"Command: `make bench` ({command}), "
          f"{dt.datetime.now(dt.UTC):%Y-%m-%d}\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
