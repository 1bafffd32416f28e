"""Simulated worlds for the reconciliation ground-truth tests (test_simulated_breaks.py).

A world is simulated once (simulator.simulate), then run day by day as the DAG would: deliver what has arrived,
ingest, build the marts, run the matching (and the break store's sync when it exists), and a few empty days past
the end so pending windows elapse and late files arrive. Each day's findings stay in recon.findings under their
run_date, so a test can look at any day afterwards.

dbt builds dominate the time (5-30 s each). The reconciliation side models are views over raw, live whatever day
they were built on, so by default the marts are built on the first day only (`marts="first"`); a pair that reads
mart tables asks for "first_last" or "daily" (the spec is part of the cache key). Worlds are cached per spec under
the session's temporary folder, so every test module of a session shares them.

faults.json (the simulator's ground truth, written before any of seisan sees the files) is the expectation.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingestion import ingest
from reconciliation.engine import run_matching
from seisan.marts import build_marts
from simulator import deliver, simulate

START = dt.date(2026, 3, 28)   # crosses a month end and a fiscal year end
DAYS = 6
EXTRA_DAYS = 3                 # past the end: windows elapse, late files arrive


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """What to simulate and how to run it. marts: first | first_last | daily (which days build the marts)."""

    seed: int
    faults: str
    municipalities: int = 3
    residents: int = 300
    days: int = DAYS
    extra_days: int = EXTRA_DAYS
    marts: str = "first"
    start: dt.date = START

    @property
    def name(self) -> str:
        return (f"{self.faults}-s{self.seed}-m{self.municipalities}-r{self.residents}-d{self.days}+{self.extra_days}"
                f"-{self.marts}" + ("" if self.start == START else f"-{self.start:%Y%m%d}"))


@dataclass(frozen=True, slots=True)
class World:
    """A world that has been run: its folder, warehouse, ground truth and the run dates in order."""

    spec: WorldSpec
    root: Path
    truth: dict[str, Any]
    run_dates: tuple[dt.date, ...]

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)

    def entries(self, layer: str = "reconciliation") -> list[dict[str, Any]]:
        return [e for e in self.truth["entries"] if e["layer"] == layer]

    def findings(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every finding of every run date (as dicts), optionally of one status."""
        with self.connect() as con:
            cursor = con.execute("SELECT * FROM recon.findings WHERE ? IS NULL OR status = ? ORDER BY ALL",
                                 [status, status])
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def ledger_row(self, path: str, event_id: str) -> dict[str, str]:
        """The platform ledger row of event_id in the delivered file (read as the producer wrote it)."""
        with (self.inbox / path).open(encoding="utf-8-sig", newline="") as handle:
            return next(row for row in csv.DictReader(handle) if row["event_id"] == event_id)

    def terminal_line(self, path: str, line_number: int) -> dict[str, Any]:
        """One record of a delivered terminal upload (1-based line)."""
        lines = (self.inbox / path).read_text(encoding="utf-8").splitlines()
        return json.loads(lines[line_number - 1])

    def terminal_uploads(self, terminal_id: str) -> list[tuple[dt.date, int, str]]:
        """(business date, upload number, inbox path) of every upload of a terminal that reached the inbox or
        waits under later/, in seq order (date, then upload number)."""
        found = set()
        for folder in (self.inbox, *sorted((self.inbox / "later").glob("*"))):
            for file in (folder / "terminal" / terminal_id).glob("*.jsonl"):
                _, day, number = file.stem.split("_")
                found.add((dt.datetime.strptime(day, "%Y%m%d").date(), int(number),
                           f"terminal/{terminal_id}/{file.name}"))
        return sorted(found)


def _sync_breaks(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """The break store's sync, once helper "breaks" has merged it; matching alone is what these tests check."""
    try:
        from reconciliation.breaks import sync_breaks  # type: ignore[import-not-found]
    except ImportError:
        return
    sync_breaks(con, day, now=dt.datetime.combine(day, dt.time(23, 0), tzinfo=dt.UTC))


def _build_today(spec: WorldSpec, offset: int, last: int) -> bool:
    return spec.marts == "daily" or offset == 0 or (spec.marts == "first_last" and offset == last)


def run_world(spec: WorldSpec, cache_dir: Path) -> World:
    """Simulate and run the world of spec under cache_dir/<spec.name> (once: a finished world is reused)."""
    root = cache_dir / spec.name
    done = root / "done.json"
    start = spec.start
    dates = tuple(start + dt.timedelta(days=i) for i in range(spec.days + spec.extra_days))
    if not done.exists():
        root.mkdir(parents=True, exist_ok=True)
        inbox = root / "inbox"
        simulate(inbox, start, spec.days, spec.municipalities, spec.residents, spec.seed, faults=spec.faults)
        warehouse = root / "warehouse.duckdb"
        for offset, day in enumerate(dates):
            deliver(inbox, day)
            with duckdb.connect(str(warehouse)) as con:
                ingest(con, inbox, root / "raw", day)
            if _build_today(spec, offset, len(dates) - 1):
                # dbt's data tests on the first and last day (the last tests everything loaded); models only
                # in between, as fast as a daily world can go (the daily run itself always tests)
                build_marts(warehouse, day, with_tests=offset in (0, len(dates) - 1),
                            full_check=offset == len(dates) - 1)
            with duckdb.connect(str(warehouse)) as con:
                run_matching(con, day)
                _sync_breaks(con, day)
        done.write_text(json.dumps({"dates": [d.isoformat() for d in dates]}), encoding="utf-8")
    truth = json.loads((root / "inbox" / "faults.json").read_text(encoding="utf-8"))
    return World(spec=spec, root=root, truth=truth, run_dates=dates)
