"""`make bench-sharded`: one simulated world run day by day on one warehouse and sharded, step by step (issue 12).

Both runs start from the same cached inbox (bench-national's cache and key rules) in homes of their own: the
single run calls the daily DAG's steps in order, each timed; the sharded run is `seisan run --shards N --workers
W`'s `run_sharded_day`, which times its own steps (the shard builds as one step: from the first start to the last
end) and returns each shard build's dbt seconds. Peak memory is the RSS of this process and its children,
sampled.
After the last day the marts of both homes are compared row by row (computed_at aside): the benchmark says
whether they are equal, so a fast wrong sharded run cannot pass unseen. tests/seisan/test_sharded_run.py is the
test that proves equality over every table; this only measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from seisan.bench import _machine
from seisan.bench_national import (
    DEFAULT_START,
    PeakTreeRss,
    WorldParams,
    _settings,
    cached_world,
    default_cache_root,
    progress_printer,
    step_functions,
)

DAY_STEPS = ("ingest", "build_marts", "quality", "reconcile", "gate", "payments", "report")


def marts_differ(single: Path, sharded: Path) -> dict[str, int]:
    """Rows that differ, per marts table, between two warehouses (computed_at aside: it is when a build ran)."""
    import duckdb

    differ = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{single}' as a (read_only)")
        con.execute(f"attach '{sharded}' as b (read_only)")
        for (table,) in con.execute("select table_name from information_schema.tables where table_catalog = 'a' "
                                    "and table_schema = 'marts' order by 1").fetchall():
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'a' and "
                "table_schema = 'marts' and table_name = ? and column_name <> 'computed_at'", [table]).fetchall()]
            cols = ", ".join(f'"{c}"' for c in columns)
            differ[table] = con.execute(
                f"select count(*) from ((select {cols} from a.marts.{table} except all select {cols} from "
                f"b.marts.{table}) union all (select {cols} from b.marts.{table} except all select {cols} from "
                f"a.marts.{table}))").fetchone()[0]
    return differ


def run(params: WorldParams, shards: int, workers: int, cache_root: Path, work: Path) -> str:
    from seisan.steps import payments_step, run_sharded_day
    from simulator import deliver

    say = progress_printer()
    inbox, _ = cached_world(cache_root, params, say)
    homes = {mode: work / mode for mode in ("single", "sharded")}
    settings = {}
    for mode, home in homes.items():
        shutil.copytree(inbox, home / "inbox")
        settings[mode] = _settings(home, home / "inbox")
    steps = {**step_functions(), "payments": payments_step}
    lines = [f"# bench-sharded: {params.describe()}; {shards} shards, {workers} workers",
             f"machine: {_machine()}", "",
             "| day | single: marts | single: day | split | shard builds: wall (each) | merge: copy + dbt | "
             "sharded: marts | sharded: day | peak RSS single / sharded |",
             "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |"]
    for offset in range(params.days):
        day = params.start + dt.timedelta(days=offset)
        single: dict[str, float] = {}
        with PeakTreeRss() as rss:
            deliver(settings["single"].inbox, day)
            for name in DAY_STEPS:
                began = time.perf_counter()
                steps[name](day, settings["single"])
                single[name] = time.perf_counter() - began
        single_peak = rss.peak
        say(f"{day} single: {sum(single.values()):.1f} s")
        with PeakTreeRss() as rss:
            deliver(settings["sharded"].inbox, day)
            run = run_sharded_day(day, settings["sharded"], shards=shards, workers=workers)
        sharded, merged = run["seconds"], run["merge"]
        say(f"{day} sharded: {sum(sharded.values()):.1f} s")
        builds = " / ".join(f"{b['seconds']:.1f}" for b in run["shard_marts"])
        marts = sharded["split"] + sharded["shard_marts"] + sharded["merge"]
        lines.append(
            f"| {day} | {single['build_marts']:.1f} | {sum(single.values()):.1f} | {sharded['split']:.1f} | "
            f"{sharded['shard_marts']:.1f} ({builds}) | {merged['merge']['seconds']:.1f} + "
            f"{merged['national_build']['seconds']:.1f} | {marts:.1f} | {sum(sharded.values()):.1f} | "
            f"{single_peak / 2**30:.2f} / {rss.peak / 2**30:.2f} GiB |")
    differ = marts_differ(settings["single"].warehouse, settings["sharded"].warehouse)
    lines += ["", "marts equal after the last day: " + (
        "yes, every table" if not any(differ.values()) else f"NO: {differ}"),
        "seconds of wall time; sharded: marts = split + shard builds + merge; a day = every step of the daily "
        "DAG (ingest … report), timed around each call"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seisan.bench_sharded", description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--municipalities", type=int, default=20)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None, help="world cache (default: bench-national's)")
    parser.add_argument("--keep", type=Path, default=None, help="keep both homes in this folder")
    args = parser.parse_args(argv)
    params = WorldParams(start=DEFAULT_START, days=args.days, municipalities=args.municipalities,
                         residents=args.residents, seed=args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="seisan-bench-sharded-"))
    if args.keep and work.exists() and any(work.iterdir()):
        print(f"{work} is not empty; give --keep an empty or new folder", file=sys.stderr)
        return 2
    try:
        print(run(params, args.shards, args.workers, args.cache or default_cache_root(), work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
