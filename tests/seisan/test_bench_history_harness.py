"""`make bench-history`'s harness: its report says day N against day 2, step by step, with hand-computed ratios;
it refuses a world too short to have a history and a day before day N between the two days. (The measurement
itself is a command, not a test: docs/benchmarks.md records it.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from seisan.bench_history import HistoryResult, main, render, run_history
from seisan.bench_national import STEPS, DayRun, Floor, WorldParams


def _day(day: dt.date, records: int, seconds: dict[str, float]) -> DayRun:
    floor = Floor(files=10, rows_by_kind={"platform_ledger": records // 2, "platform_balances": records // 2},
                  signatures=100, signatures_valid=100, read_seconds=0.5, verify_seconds=1.5, certificate_seconds=0.2)
    return DayRun(day, floor, seconds)


def test_the_report_gives_each_step_on_both_days_and_the_ratio_of_the_chains() -> None:
    params = WorldParams(dt.date(2025, 11, 12), 365, 3, 3000, 7)
    day2 = _day(dt.date(2025, 11, 13), 1_000, dict.fromkeys(STEPS, 2.0))            # chain 12 s
    last = _day(dt.date(2026, 11, 11), 2_000, {**dict.fromkeys(STEPS, 2.0), "build_marts": 5.0})  # chain 15 s
    history = {"ingest": 60.0, "build_marts": 30.0, "day_before": 40.0}
    result = HistoryResult(params, 0.0, day2, history, last, 2 * 1024**3, 3 * 1024**3)
    text = render(result, "make bench-history", 600.0)
    assert "| build_marts | 2.0 s (1.0x floor) | 5.0 s (2.5x floor) | 2.50 |" in text
    assert "| chain | 12.0 s | 15.0 s | **1.25** (target <= 1.2: OVER); per input record 0.62 |" in text
    assert "| input records (ledger events) | 1,000 (500) | 2,000 (1,000) | 2.00 |" in text
    assert ("history days 3 .. 363 built by one ingest (60 s) and one full-refresh marts build (30 s), "
            "day 364 run as a daily run (40 s)") in text


def test_the_report_says_how_many_runs_each_median_is_of_and_each_runs_chain() -> None:
    params = WorldParams(dt.date(2025, 11, 12), 365, 3, 3000, 7)
    day2 = _day(dt.date(2025, 11, 13), 1_000, dict.fromkeys(STEPS, 2.0))
    last = _day(dt.date(2026, 11, 11), 2_000, dict.fromkeys(STEPS, 3.0))
    history = {"ingest": 60.0, "build_marts": 30.0, "day_before": 40.0}
    one = render(HistoryResult(params, 0.0, day2, history, last, 1, 1), "make bench-history", 60.0)
    assert "ran 3 times" not in one and "**1.50**" in one
    three = render(HistoryResult(params, 0.0, day2, history, last, 1, 1, ([12.5, 12.0, 11.25], [18.0, 19.5, 17.0])),
                   "make bench-history", 60.0)
    assert ("Each day ran 3 times from the same state; the table gives each step's median (the chain is the sum of "
            "the medians), the two days in turn. Chains of each run: day 2 12.5, 12.0, 11.2 s; day 365 18.0, 19.5, "
            "17.0 s.") in three


def test_a_world_without_days_between_day_2_and_day_n_minus_1_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 5 days"):
        run_history(WorldParams(dt.date(2025, 11, 12), 4, 1, 10, 7), tmp_path, print)
    with pytest.raises(SystemExit):
        main(["--days", "4", "--cache", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["--repeats", "0", "--cache", str(tmp_path)])


def test_the_two_days_run_in_turn_each_from_its_own_saved_state(tmp_path: Path, monkeypatch) -> None:
    """Day 2, day N, day 2, day N, ...: each run starts from its day's saved state, whatever the run before left in
    the home (each run here leaves a file behind), and the home ends as day N's last run left it."""
    from seisan import bench_history

    home = tmp_path / "home"
    states = {}
    for name in ("day2", "dayN"):
        state = tmp_path / f"saved-{name}"
        (state / "inbox").mkdir(parents=True)
        (state / "inbox" / "delivered.csv").write_text(name)
        (state / "state.txt").write_text(name)
        states[name] = state
    (home / "inbox").mkdir(parents=True)
    seen = []
    seconds = iter([10.0, 20.0, 12.0, 21.0, 11.0, 26.0])

    def chain(day, run_home, inbox, delivered, label, say):
        assert run_home == home
        assert not (home / "left-behind").exists()
        seen.append(((home / "state.txt").read_text(), (inbox / "delivered.csv").read_text(), label))
        (home / "left-behind").write_text(label)
        return _day(day, 1_000, {**dict.fromkeys(STEPS, 0.0), "ingest": next(seconds)})

    monkeypatch.setattr(bench_history, "_chain", chain)
    d2, dn = dt.date(2025, 11, 13), dt.date(2026, 11, 11)
    (day2, day2_chains), (last, last_chains) = bench_history._alternated(home, [
        (d2, states["day2"], [], "day 2"), (dn, states["dayN"], [], "day 365")], print, 3)
    assert [(state, delivered) for state, delivered, _ in seen] == [("day2", "day2"), ("dayN", "dayN")] * 3
    assert [label for _, _, label in seen][:2] == ["day 2, run 1 of 3", "day 365, run 1 of 3"]
    assert day2_chains == [10.0, 12.0, 11.0] and last_chains == [20.0, 21.0, 26.0]
    assert (day2.day, day2.step_seconds["ingest"], last.step_seconds["ingest"]) == (d2, 11.0, 21.0)
    assert (home / "state.txt").read_text() == "dayN" and (home / "left-behind").read_text() == "day 365, run 3 of 3"
    assert not states["day2"].exists() and not states["dayN"].exists()


def test_each_measured_step_runs_in_a_process_of_its_own(tmp_path: Path, monkeypatch) -> None:
    """A measured chain hands every step, in the DAG's order, to run_step (a spawned process each, as the daily
    DAG's tasks run) for the run's own home and inbox, and reports the seconds each one measured there."""
    from seisan import bench_history

    d2 = dt.date(2025, 11, 13)
    floor = _day(d2, 1_000, {}).floor
    asked = []

    def run_step(name, day, home, inbox):
        asked.append((name, day, home, inbox))
        return float(len(asked))

    monkeypatch.setattr(bench_history, "run_step", run_step)
    monkeypatch.setattr(bench_history, "measure_floor", lambda inbox, day, delivered: floor)
    home = tmp_path / "home"
    run = bench_history._chain(d2, home, home / "inbox", [], "day 2", print)
    assert asked == [(name, d2, home, home / "inbox") for name in STEPS]
    assert run.step_seconds == {name: float(number) for number, name in enumerate(STEPS, start=1)}
    assert run.floor is floor
