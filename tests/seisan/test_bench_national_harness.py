"""The national benchmark's pure parts (seisan.bench_national), without simulating or running a day: the world
cache key, the cache's write-once behaviour, the sizes argument and the process-tree memory sampler."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest

from seisan.bench_national import (
    PeakTreeRss,
    WorldParams,
    cached_world,
    default_cache_root,
    parse_sizes,
    simulator_version,
    tree_pss_bytes,
    tree_rss_bytes,
    world_key,
)

PARAMS = WorldParams(start=dt.date(2026, 10, 1), days=4, municipalities=3, residents=10_000, seed=7)


def test_the_cache_key_is_stable_and_changes_with_every_parameter_and_the_simulator() -> None:
    version = simulator_version()
    assert version == simulator_version()
    assert world_key(PARAMS, version) == world_key(dataclasses.replace(PARAMS), version)
    changed = [dataclasses.replace(PARAMS, start=dt.date(2026, 10, 2)), dataclasses.replace(PARAMS, days=5),
               dataclasses.replace(PARAMS, municipalities=4), dataclasses.replace(PARAMS, residents=10_001),
               dataclasses.replace(PARAMS, seed=8), dataclasses.replace(PARAMS, faults="typical"),
               dataclasses.replace(PARAMS, activity=0.4), dataclasses.replace(PARAMS, mix="national")]
    keys = {world_key(p, version) for p in changed} | {world_key(PARAMS, version), world_key(PARAMS, "0" * 64)}
    assert len(keys) == len(changed) + 2


def test_the_simulator_version_follows_its_sources(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    before = simulator_version(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert simulator_version(tmp_path) != before


def test_a_world_is_simulated_once_and_a_failed_one_leaves_nothing(tmp_path: Path) -> None:
    calls = []

    def fake_simulate(out_dir: Path, *args: object, **kwargs: object) -> None:
        calls.append(args)
        out_dir.mkdir(parents=True)
        (out_dir / "ledger.csv").write_text("event_id\n")

    inbox, seconds = cached_world(tmp_path, PARAMS, lambda m: None, simulate=fake_simulate)
    assert (inbox / "ledger.csv").is_file() and seconds >= 0 and len(calls) == 1
    again, seconds = cached_world(tmp_path, PARAMS, lambda m: None, simulate=fake_simulate)
    assert again == inbox and seconds == 0.0 and len(calls) == 1

    def failing_simulate(out_dir: Path, *args: object, **kwargs: object) -> None:
        out_dir.mkdir(parents=True)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cached_world(tmp_path, dataclasses.replace(PARAMS, seed=8), lambda m: None, simulate=failing_simulate)
    assert sorted(p.name for p in tmp_path.iterdir()) == [inbox.parent.name]


def test_the_cache_folder_comes_from_the_environment_first(tmp_path: Path) -> None:
    assert default_cache_root({"SEISAN_BENCH_CACHE": str(tmp_path)}) == tmp_path
    assert default_cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "seisan" / "bench-worlds"


def test_sizes_are_residents_colon_municipalities() -> None:
    assert parse_sizes("10000:3, 100000:20,") == [(10_000, 3), (100_000, 20)]
    for bad in ("10000", "a:b", "0:3", ""):
        with pytest.raises(ValueError):
            parse_sizes(bad)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc (Linux)")
def test_the_memory_sampler_sees_this_process() -> None:
    assert tree_rss_bytes() > 0
    assert tree_rss_bytes(os.getpid()) > 1024 * 1024
    if Path("/proc/self/smaps_rollup").exists():
        assert 0 < tree_pss_bytes() <= tree_rss_bytes() * 2
    with PeakTreeRss(interval=0.01) as peak:
        assert peak.take_window() > 0
    assert peak.peak > 0


def test_the_floor_reads_every_row_and_verifies_every_signature_of_a_day(tmp_path: Path) -> None:
    """A one-day world: every file in the inbox is the day's. The floor (run in its own spawned process, with a
    spawned pool) must count what a plain reading of the files counts, and find every signature valid."""
    import csv
    import json

    from seisan.bench_national import measure_floor
    from simulator import simulate

    day = dt.date(2026, 10, 1)
    simulate(tmp_path / "inbox", day, 1, 1, 300, 7, "none")
    inbox = tmp_path / "inbox"
    terminal_lines = [json.loads(line) for path in sorted((inbox / "terminal").rglob("*")) if path.is_file()
                      for line in path.read_text(encoding="utf-8").splitlines()]
    signed = [record for record in terminal_lines if "card_sig" in record]
    assert signed, "the world should have card-signed terminal records"
    ledger_rows = sum(sum(1 for _ in csv.DictReader(path.open(encoding="utf-8", newline="")))
                      for path in (inbox / "platform").glob("ledger_*.csv"))

    floor = measure_floor(inbox, day)

    assert floor.signatures == floor.signatures_valid == len(signed)
    assert floor.rows_by_kind["terminal_log"] == len(terminal_lines)
    assert floor.rows_by_kind["platform_ledger"] == ledger_rows > 0
    assert floor.read_seconds > 0 and floor.verify_seconds >= floor.certificate_seconds > 0


def test_the_floor_looks_up_only_the_certificates_the_days_records_name(tmp_path: Path) -> None:
    """Hand-made mykey_certs files: the look-up returns the wanted keys' certificates (serials matched in lower
    case, from the inbox and the archive, up to the day), and nothing else: not another resident's, not a file
    of a later day, not a revoked row without a certificate."""
    from ingestion.archive import default_archive
    from seisan.bench_national import _certificates

    inbox = tmp_path / "inbox"
    header = "mykey_id,cert_serial,cert_der,event,previous_serial,event_ts\n"
    files = {
        default_archive(inbox) / "platform" / "mykey_certs_20261001.csv":
            "K1,0A1B,DER-K1,registered,,2026-10-01T09:00:00+09:00\n"
            "K2,0c,DER-K2,registered,,2026-10-01T09:00:00+09:00\n",
        inbox / "platform" / "mykey_certs_20261002.csv":
            "K3,ff,DER-K3,registered,,2026-10-02T09:00:00+09:00\n"
            "K2,0d,,revoked,,2026-10-02T10:00:00+09:00\n",
        inbox / "platform" / "mykey_certs_20261003.csv":
            "K4,01,DER-K4,registered,,2026-10-03T09:00:00+09:00\n",
    }
    for path, rows in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + rows, encoding="utf-8")

    wanted = [("K1", "0a1b"), ("K3", "ff"), ("K3", "ff"), ("K2", "0d"), ("K4", "01"), ("K9", "99")]
    assert _certificates(inbox, dt.date(2026, 10, 2), wanted) == {("K1", "0a1b"): "DER-K1", ("K3", "ff"): "DER-K3"}
    assert _certificates(inbox, dt.date(2026, 10, 3), [("K4", "01")]) == {("K4", "01"): "DER-K4"}
    assert _certificates(inbox, dt.date(2026, 10, 3), []) == {}


def test_a_step_runs_in_a_process_of_its_own_counted_in_the_tree_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """The harness runs each step as the DAG runs a task: in a spawned process of its own. The step's work lands
    in the warehouse, the tree's memory sampler sees the step's process, and the harness's own memory after it is
    what it was before (a step run in the harness's process kept what it allocated)."""
    import csv

    import duckdb

    from seisan.bench_national import run_step
    from simulator import simulate

    day = dt.date(2026, 10, 1)
    home = tmp_path / "home"
    simulate(home / "inbox", day, 1, 1, 300, 7, "none")
    ledger_rows = sum(sum(1 for _ in csv.DictReader(path.open(encoding="utf-8", newline="")))
                      for path in (home / "inbox" / "platform").glob("ledger_*.csv"))
    before = tree_rss_bytes(os.getpid())
    with PeakTreeRss(interval=0.01) as memory:
        seconds = run_step("ingest", day, home, home / "inbox")
    after = tree_rss_bytes(os.getpid())

    assert seconds > 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.platform_ledger").fetchone() == (ledger_rows,)
    assert memory.peak > before + 30 * 1024 ** 2, "the step's own process is part of the tree"
    assert after < before + 30 * 1024 ** 2, "the harness keeps nothing of the step"


def test_national_memory_is_scaled_from_the_two_largest_sizes_by_residents_or_events_whichever_is_larger() -> None:
    from seisan.bench_national import STEPS, DayRun, Floor, SizeResult, extrapolate_memory

    gib = 1024 ** 3

    def size(residents: int, events: int, peaks: dict[str, int]) -> SizeResult:
        floor = Floor(1, {"platform_ledger": events}, 1, 1, 1.0, 1.0, 0.5)
        run = DayRun(PARAMS.start, floor, dict.fromkeys(STEPS, 1.0))
        return SizeResult(dataclasses.replace(PARAMS, residents=residents), 0.0, [run], max(peaks.values()), 0,
                          peaks)

    results = [size(10_000, 5_000, {"ingest": gib // 2, "quality": gib}),   # the smallest is not used
               size(100_000, 50_000, {"ingest": 1 * gib, "quality": 2 * gib}),
               size(1_000_000, 800_000, {"ingest": 2 * gib, "quality": 3 * gib})]

    estimate = extrapolate_memory(results)

    # ingest: +1 GiB per 900,000 residents -> +10 GiB at 10 million; per event +1 GiB per 750,000 -> +1.6 GiB
    assert estimate["ingest"] == (12 * gib, "residents")
    assert estimate["quality"] == (13 * gib, "residents")
    # residents: +1 GiB per 1,000,000 -> +8 GiB; events: +1 GiB per 50,000 -> +37 GiB
    steep = [size(1_000_000, 100_000, {"report": gib}), size(2_000_000, 150_000, {"report": 2 * gib})]
    assert extrapolate_memory(steep)["report"] == (2 * gib + gib / 50_000 * 1_850_000, "events")
    assert extrapolate_memory(results[:1]) == {}


def test_a_world_simulated_apart_is_the_world_simulated_here(tmp_path: Path) -> None:
    """The harness simulates in a spawned process of its own (what simulating leaves in a process would count in
    every later measurement): the files must be byte for byte those of simulating in this process."""
    import hashlib

    from seisan.bench_national import simulate_apart
    from simulator import simulate

    def digests(inbox: Path) -> dict[str, str]:
        return {path.relative_to(inbox).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(inbox.rglob("*")) if path.is_file()}

    simulate_apart(tmp_path / "apart", PARAMS.start, 2, 1, 200, 7)
    simulate(tmp_path / "here", PARAMS.start, 2, 1, 200, 7, faults="none")

    apart = digests(tmp_path / "apart")
    assert len(apart) > 10 and apart == digests(tmp_path / "here")


def test_a_size_that_fails_still_prints_the_sizes_measured_before_it(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    """A step failing at a large size (say, DuckDB out of memory) must not throw away the smaller sizes' table."""
    import seisan.bench_national as bench
    from seisan.bench_national import STEPS, DayRun, Floor, SizeResult

    def run_size(params: object, cache_root: Path, say: object) -> SizeResult:
        assert isinstance(params, bench.WorldParams)
        if params.residents == 2_000:
            raise RuntimeError("dbt build for 2026-10-04 failed (1 node(s)):\n  model int_lot_movements: error")
        floor = Floor(1, {"platform_ledger": 700}, 1, 1, 1.0, 1.0, 0.5)
        days = [DayRun(params.start, floor, dict.fromkeys(STEPS, 1.0))]
        return SizeResult(params, 0.0, days, 1024 ** 3, 0, dict.fromkeys(["floor", *STEPS], 1024 ** 3))

    monkeypatch.setattr(bench, "run_size", run_size)
    code = bench.main(["--sizes", "1000:1,2000:1,3000:1", "--days", "1", "--cache", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "| 1,000 | 1 | 700 |" in out
    assert "2,000 residents" in out and "dbt build for 2026-10-04 failed" in out and "NOT MEASURED" in out
    assert "3,000" not in out


def test_the_floor_reads_without_duckdbs_progress_bar() -> None:
    """The floor's DuckDB would draw its progress bar on stdout, through the report, for any read over two
    seconds (a national day's files). Asked in a process of its own: under pytest DuckDB starts with the bar off,
    in the floor's process (the first line) with it on."""
    import subprocess
    import sys

    code = ("import duckdb; from seisan.bench_national import _quiet_duckdb; "
            "shown = \"select current_setting('enable_progress_bar')\"; "
            "print(duckdb.connect().execute(shown).fetchone()[0], _quiet_duckdb().execute(shown).fetchone()[0])")
    shown = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert shown == ["True", "False"]


def test_a_calmer_world_is_another_world_simulated_with_its_activity(tmp_path: Path) -> None:
    calm = dataclasses.replace(PARAMS, activity=0.4)
    assert PARAMS.describe().endswith("faults none") and calm.describe().endswith("faults none, activity 0.4")
    seen: list[object] = []

    def fake_simulate(out_dir: Path, *args: object, **kwargs: object) -> None:
        seen.append(kwargs.get("activity"))
        out_dir.mkdir(parents=True)

    cached_world(tmp_path, calm, lambda m: None, simulate=fake_simulate)
    cached_world(tmp_path, PARAMS, lambda m: None, simulate=fake_simulate)
    assert seen == [0.4, 1.0]


def test_a_national_mix_is_another_world_simulated_with_its_mix(tmp_path: Path) -> None:
    national = dataclasses.replace(PARAMS, activity=0.4, mix="national")
    assert national.describe().endswith("faults none, activity 0.4, mix national")
    seen: list[object] = []

    def fake_simulate(out_dir: Path, *args: object, **kwargs: object) -> None:
        seen.append((kwargs.get("activity"), kwargs.get("mix")))
        out_dir.mkdir(parents=True)

    cached_world(tmp_path, national, lambda m: None, simulate=fake_simulate)
    cached_world(tmp_path, PARAMS, lambda m: None, simulate=fake_simulate)
    assert seen == [(0.4, "national"), (1.0, "typical")]


def test_an_unknown_mix_is_refused_before_anything_is_simulated(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from seisan.bench_national import main

    with pytest.raises(SystemExit) as stop:
        main(["--sizes", "100:1", "--mix", "busy", "--cache", str(tmp_path / "cache")])
    assert stop.value.code == 2 and "mix is one of typical, national, got 'busy'" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()
