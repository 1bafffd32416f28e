"""`make bench-history`: day N against day 2 of one simulated world after a year of history (issue 12).

The target "day 365 / day 2 <= 1.2" asks whether a day's run grows with the history in the warehouse: the
manifest every ingest reads, duplicate keys checked against every loaded row, marts with a year of lots and
balances, checks that scan whole tables. `make bench-national` measures 4 days; this measures day 365.

How the year is built, with the same engine and faster settings:
- day 1 and day 2 run the whole chain (ingest -> build_marts -> quality -> reconcile -> gate -> report),
  day 2 measured step by step with its floor, each step in a process of its own (as each task of the daily DAG
  runs), as in `make bench-national`;
- days 3 .. N-2 are delivered together and loaded by ONE `seisan ingest` for day N-2 (it loads every file named
  for that date or before, in date order), and the marts are built by ONE `seisan marts --full-refresh` for
  day N-2 (tests/dbt/test_marts_incremental.py holds day-by-day builds equal to a full refresh);
- day N-1 runs the whole chain as a daily run, not measured, so that day N follows a daily run as in a real
  year, not a bulk build: the bulk load leaves DuckDB's raw tables and the full refresh the marts as no daily
  run does, and day N-1's matching is the first since day 2 (over the whole year: the pair platform_balances
  has no earlier run), so that day N matches what a daily run would: the dates changed since the day before
  (docs/reconciliation.md, "Matching only what changed");
- quality, gate and report are not run for days 3 .. N-2. The one difference from a real year: no break of days
  3 .. N-2 that resolved itself by N-1 is in the break store's history;
- day N then runs the whole chain, measured step by step with its floor.

Day 2 and day N each run `--repeats` times (default 3), alternately (day 2, day N, day 2, day N, ...), after the
year is built: each run in the home itself, put back from a copy of its day's state made before its first run (the
inbox's files hard-linked: no step writes them). Alternating keeps the two days' runs minutes apart at most, so a
shared machine that slows down or speeds up over the run moves both alike (when day 2 ran only before the year
and day N only after it, two nearly equal versions of the code measured 1.21 and 1.36 eighteen minutes apart).
Day 2 also runs once before the history, which goes on from it; that run is not measured. The home is left as
day N's last run left it. The report gives each step's median and each chain's spread.

The world is small (default 3,000 residents in 3 municipalities: the year simulates in minutes), so each day is
mostly fixed costs; the report gives seconds per step on both days, so growth with history shows as seconds,
not only as a ratio. The world is cached like bench-national's (same cache, same key rules).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from seisan.bench import _machine
from seisan.bench_national import (
    CACHE_ENV,
    DAY_RATIO_TARGET,
    STEPS,
    DayRun,
    PeakTreeRss,
    WorldParams,
    _gib,
    _ratio,
    _settings,
    cached_world,
    default_cache_root,
    measure_floor,
    progress_printer,
    run_step,
    step_functions,
)

DEFAULT_START = dt.date(2025, 11, 12)  # day 2 a Thursday, day 365 (2026-11-11) a Wednesday, both mid-month
DEFAULT_DAYS = 365


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryResult:
    params: WorldParams
    simulated_seconds: float
    day2: DayRun
    history_seconds: dict[str, float]   # "ingest" and "build_marts" of days 3 .. N-1, each one invocation
    last: DayRun
    warehouse_bytes: int
    peak_rss: int
    chains: tuple[list[float], list[float]] = ([], [])   # each run's chain seconds, day 2 and day N


def _chain(day: dt.date, home: Path, inbox: Path, delivered: list[Path], label: str,
           say: Callable[[str], None]) -> DayRun:
    """One measured run of the whole chain: each step in a process of its own (run_step), as each task of the
    daily DAG runs and as `make bench-national` measures. Run in the harness's process, the steps found dbt,
    Great Expectations and their caches warm from the runs before, which no daily run does."""
    floor = measure_floor(inbox, day, delivered)
    say(f"{label}: floor {floor.seconds:.1f} s ({floor.files:,} files, {floor.signatures:,} signatures)")
    seconds: dict[str, float] = {}
    for name in STEPS:
        seconds[name] = run_step(name, day, home, inbox)
        say(f"{label}: {name} {seconds[name]:.1f} s")
    return DayRun(day, floor, seconds)


def _copy_home(home: Path, copy: Path) -> None:
    """A SEISAN_HOME as it is: the warehouse, raw Parquet and outputs copied, the inbox's files hard-linked."""
    shutil.copytree(home, copy, symlinks=True, ignore=lambda folder, names: ["inbox"] if Path(folder) == home else [])
    shutil.copytree(home / "inbox", copy / "inbox", symlinks=True, copy_function=os.link)


def _median_run(day: dt.date, runs: list[DayRun]) -> tuple[DayRun, list[float]]:
    """Per step the median seconds, the floor of the median run, and each run's chain seconds."""
    median = sorted(runs, key=lambda run: run.floor.seconds)[len(runs) // 2].floor
    steps = {name: statistics.median(run.step_seconds[name] for run in runs) for name in STEPS}
    return DayRun(day, median, steps), [run.total for run in runs]


def _alternated(home: Path, days: list[tuple[dt.date, Path, list[Path], str]], say: Callable[[str], None],
                repeats: int) -> list[tuple[DayRun, list[float]]]:
    """Each (day, saved state, delivered files, label) run `repeats` times, the days in turn (module docstring).
    Every run is in `home` itself, put back from the day's saved state: the same paths, so dbt's partial parse
    holds for each (a warehouse at another path changes the profile, and dbt parses the whole project again: a
    second more). The last run of each day uses its saved state itself."""
    inbox = home / "inbox"
    runs: list[list[DayRun]] = [[] for _ in days]
    for attempt in range(1, repeats + 1):
        for index, (day, state, delivered, label) in enumerate(days):
            shutil.rmtree(home)
            if attempt == repeats:
                state.rename(home)
            else:
                _copy_home(state, home)
            runs[index].append(_chain(day, home, inbox, delivered,
                                      f"{label}, run {attempt} of {repeats}", say))
    return [_median_run(day, day_runs) for (day, *_), day_runs in zip(days, runs, strict=True)]


def run_history(params: WorldParams, cache_root: Path, say: Callable[[str], None],
                keep: Path | None = None, repeats: int = 1) -> HistoryResult:
    """Simulate (or reuse) the world, run day 1 and day 2, build days 3 .. N-1 at once, run day N. `keep`: an
    empty or new folder to run in and leave behind (its SEISAN_HOME, to look into afterwards)."""
    from seisan import steps
    from simulator import deliver

    if params.days < 5:
        raise ValueError("a history run needs at least 5 days (day 2, a history, day N-1, day N)")
    cached, simulated_seconds = cached_world(cache_root, params, say)
    functions = step_functions()
    day = [params.start + dt.timedelta(days=offset) for offset in range(params.days)]
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise ValueError(f"{keep} is not empty: give a new or empty folder to keep the run in")
    with tempfile.TemporaryDirectory(prefix="seisan-bench-history-") as tmp, PeakTreeRss() as memory:
        home = (keep or Path(tmp)) / "home"
        inbox = home / "inbox"
        say(f"copying the cached inbox to {inbox}")
        shutil.copytree(cached, inbox)
        settings = _settings(home, inbox)
        deliver(inbox, day[0])
        for name in STEPS:
            functions[name](day[0], settings)
        say(f"day 1 ({day[0]}) done")
        day2_delivered = deliver(inbox, day[1])
        day2_state = home.with_name(f"{home.name}-before-{day[1]}")
        _copy_home(home, day2_state)
        _chain(day[1], home, inbox, day2_delivered, f"day 2 ({day[1]}), the history's start (not measured)", say)
        for offset in range(2, params.days - 2):
            deliver(inbox, day[offset])
        history: dict[str, float] = {}
        say(f"days 3 .. {params.days - 2} ({day[2]} .. {day[-3]}): one ingest for {day[-3]} ...")
        began = time.perf_counter()
        steps.ingest_step(day[-3], settings)
        history["ingest"] = time.perf_counter() - began
        say(f"history ingest {history['ingest']:.0f} s; one full-refresh build of the marts ...")
        began = time.perf_counter()
        steps.build_marts_step(day[-3], settings, full_refresh=True)
        history["build_marts"] = time.perf_counter() - began
        say(f"history marts {history['build_marts']:.0f} s; day {params.days - 1} ({day[-2]}) as a daily run ...")
        deliver(inbox, day[-2])
        began = time.perf_counter()
        for name in STEPS:
            functions[name](day[-2], settings)
        history["day_before"] = time.perf_counter() - began
        say(f"day {params.days - 1} {history['day_before']:.0f} s")
        last_delivered = deliver(inbox, day[-1])
        last_state = home.with_name(f"{home.name}-before-{day[-1]}")
        _copy_home(home, last_state)
        (day2, day2_chains), (last, last_chains) = _alternated(home, [
            (day[1], day2_state, day2_delivered, f"day 2 ({day[1]})"),
            (day[-1], last_state, last_delivered, f"day {params.days} ({day[-1]})"),
        ], say, repeats)
        warehouse_bytes = settings.warehouse.stat().st_size
    return HistoryResult(params, simulated_seconds, day2, history, last, warehouse_bytes, memory.peak,
                         (day2_chains, last_chains))


def render(result: HistoryResult, command: str, wall_seconds: float) -> str:
    p, first, last = result.params, result.day2, result.last
    ratio = last.total / first.total if first.total else float("nan")
    verdict = "within" if ratio <= DAY_RATIO_TARGET else "OVER"
    lines = [f"Machine: {_machine()}  ",
             f"Command: `{command}`, {dt.datetime.now(dt.UTC):%Y-%m-%d}, wall time {wall_seconds / 60:.1f} min  ",
             f"World: {p.describe()}; history days 3 .. {p.days - 2} built by one ingest "
             f"({result.history_seconds['ingest']:.0f} s) and one full-refresh marts build "
             f"({result.history_seconds['build_marts']:.0f} s), day {p.days - 1} run as a daily run "
             f"({result.history_seconds['day_before']:.0f} s); "
             f"warehouse {_gib(result.warehouse_bytes)} on day "
             f"{p.days}; peak tree RSS {_gib(result.peak_rss)}.",
             "",
             f"| part | day 2 ({first.day}) | day {p.days} ({last.day}) | day {p.days} / day 2 |",
             "| --- | --- | --- | --- |",
             f"| input records (ledger events) | {first.records:,} ({first.events:,}) | {last.records:,} "
             f"({last.events:,}) | {last.records / max(first.records, 1):.2f} |",
             f"| floor | {first.floor.seconds:.1f} s | {last.floor.seconds:.1f} s | "
             f"{last.floor.seconds / max(first.floor.seconds, 1e-9):.2f} |"]
    for name in STEPS:
        a, b = first.step_seconds[name], last.step_seconds[name]
        lines.append(f"| {name} | {a:.1f} s ({_ratio(a, first.floor.seconds)} floor) | {b:.1f} s "
                     f"({_ratio(b, last.floor.seconds)} floor) | {b / a if a else float('nan'):.2f} |")
    per_record = (last.total / max(last.records, 1)) / (first.total / max(first.records, 1))
    lines += [f"| chain | {first.total:.1f} s | {last.total:.1f} s | **{ratio:.2f}** (target <= "
              f"{DAY_RATIO_TARGET}: {verdict}); per input record {per_record:.2f} |"]
    day2_chains, last_chains = result.chains
    if len(day2_chains) > 1:
        lines += ["", f"Each day ran {len(day2_chains)} times from the same state; the table gives each step's median "
                  f"(the chain is the sum of the medians), the two days in turn. Chains of each run: day 2 "
                  f"{', '.join(f'{s:.1f}' for s in day2_chains)} s; day {p.days} "
                  f"{', '.join(f'{s:.1f}' for s in last_chains)} s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seisan.bench_history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=3000)
    parser.add_argument("--municipalities", type=int, default=3)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"day N (default {DEFAULT_DAYS})")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=None,
                        help=f"world cache folder (default ${CACHE_ENV}, else ~/.cache/seisan/bench-worlds)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of day 2 and of day N, in turn, each from its saved state; medians (default 3)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this new or empty folder and keep it (its home/ is a SEISAN_HOME to inspect)")
    args = parser.parse_args(argv)
    if args.days < 5 or args.residents < 1 or args.municipalities < 1 or args.repeats < 1:
        parser.error("--days is at least 5; residents, municipalities and repeats at least 1")
    cache_root = args.cache.expanduser() if args.cache else default_cache_root()
    began = time.perf_counter()
    say = progress_printer()
    params = WorldParams(args.start, args.days, args.municipalities, args.residents, args.seed)
    say(f"world: {params.describe()}; cache {cache_root}")
    result = run_history(params, cache_root, say, args.keep.expanduser() if args.keep else None, args.repeats)
    command = " ".join(["python -m seisan.bench_history", *(argv if argv is not None else sys.argv[1:])])
    print(render(result, command if argv or sys.argv[1:] else f"make bench-history ({command})",
                 time.perf_counter() - began))
    return 0


if __name__ == "__main__":
    sys.exit(main())
