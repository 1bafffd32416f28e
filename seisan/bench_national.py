"""`make bench-national` / `python -m seisan.bench_national`: the daily run at growing sizes, against a floor.

The national-scale question is not "how many seconds" (that depends on the machine) but "how far above the work
no correct run can skip". So each business date is measured twice in the same run, on the same files:

- the floor: DuckDB reads every file delivered that day once (CSV kinds with `read_csv`, all columns VARCHAR;
  terminal logs with `read_text`, lines counted; bank statements, fixed-width and not UTF-8, with `read_blob`),
  and every card signature of the day is verified once, in a `ProcessPoolExecutor` of os.cpu_count() workers,
  with the project's own check (contracts.terminal_log.verify_card_signature, the function ingestion calls);
- the chain the daily DAG runs, step by step, through the step functions the DAG calls (seisan.steps):
  ingest -> build_marts -> quality -> reconcile -> gate -> report. Payments are not part of the measured chain.
  Each step runs in a spawned process of its own, as each DAG task does (`run_step`), so no step inherits the
  memory another left behind.

Each step is reported in seconds and as a ratio to that day's floor. The whole process tree's memory (this
process and every child: the floor's and each step's process, the signature workers) is sampled from /proc every 0.2 s
as a sum of RSS (what the issue asks; a forked worker's shared pages count again) and a sum of PSS (shared
pages divided), and the peaks reported, also per step. The last day's chain time is divided by day 2's, as is
and per input record (does a day cost more as history grows, or only because its input grew?).

Simulated worlds are expensive (the simulator issues one certificate per resident and signs every terminal
record), so each world is cached by everything that decides its bytes: start, days, municipalities, residents,
seed, fault level and a hash of the simulator's and contracts' files. A cached world is written into a
temporary sibling and renamed into place, so an interrupted run never leaves a half world that a later run would
trust. Each run works on a copy of the cached inbox in a temporary SEISAN_HOME: ingestion and delivery never
touch the cache.

National size (about 2 million platform events a day) is not reachable on a development machine in an hour;
the harness measures what it is given and extrapolates linearly from the largest size, saying so.
A benchmark is a command, not a test: nothing here asserts; it measures and reports.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ingestion.schema import sql_literal
from seisan.bench import _machine

BLOB_KINDS = ("terminal_log", "bank_statement")
STEPS = ("ingest", "build_marts", "quality", "reconcile", "gate", "report")
NATIONAL_EVENTS_PER_DAY = 2_000_000
NATIONAL_RESIDENTS = 10_000_000
NATIONAL = "1,764 municipalities, 300,000 merchants, 10 million residents, 2 million platform events a day"
MEMORY_TARGET_BYTES = 8 * 1024 ** 3
INGEST_TARGET_FLOORS = 2
DAY_RATIO_TARGET = 1.2
DEFAULT_SIZES = "10000:3,100000:20,300000:50,1000000:170"
DEFAULT_START = dt.date(2026, 10, 1)
CACHE_ENV = "SEISAN_BENCH_CACHE"
SIMULATOR_SOURCES = tuple(Path(__file__).resolve().parent.parent / name for name in ("simulator", "contracts"))
_COMPLETE = "world-params.json"
_SIGNATURE_CHUNK = 2_000
_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True)
class WorldParams:
    """Everything that decides a simulated world's bytes (the simulator is deterministic in these)."""

    start: dt.date
    days: int
    municipalities: int
    residents: int
    seed: int
    faults: str = "none"
    activity: float = 1.0  # how busy the residents are (simulator.simulate)
    mix: str = "typical"  # how merchants and events are spread (simulator.world.MIXES)

    def describe(self) -> str:
        busy = "" if self.activity == 1 else f", activity {self.activity:g}"
        spread = "" if self.mix == "typical" else f", mix {self.mix}"
        return (f"{self.residents:,} residents, {self.municipalities} municipalities, {self.days} days from "
                f"{self.start}, seed {self.seed}, faults {self.faults}{busy}{spread}")


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """`10000:3,100000:20` -> [(10000, 3), (100000, 20)]: residents:municipalities, comma separated."""
    sizes = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            residents, municipalities = (int(v) for v in part.split(":"))
        except ValueError as exc:
            raise ValueError(f"a size is residents:municipalities (e.g. 100000:20), got {part!r}") from exc
        if residents < 1 or municipalities < 1:
            raise ValueError(f"residents and municipalities are at least 1, got {part!r}")
        sizes.append((residents, municipalities))
    if not sizes:
        raise ValueError("no size given")
    return sizes


def simulator_version(*folders: Path) -> str:
    """SHA-256 over the simulator's sources: every file (path and bytes, in path order) of the simulator package
    and of contracts/, whose formats, names and data files (the municipality list) the simulator writes with.
    A changed simulator or contract gives a new cache key, so a stale world is never measured."""
    digest = hashlib.sha256()
    for folder in folders or SIMULATOR_SOURCES:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            digest.update(f"{folder.name}/{path.relative_to(folder).as_posix()}".encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def world_key(params: WorldParams, version: str) -> str:
    """The cache folder name of a world: readable size first, then a digest of every parameter and the
    simulator's version."""
    fields = {**dataclasses.asdict(params), "start": params.start.isoformat(), "simulator": version}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    return f"r{params.residents}-m{params.municipalities}-d{params.days}-{digest}"


def default_cache_root(env: dict[str, str] | None = None) -> Path:
    """`SEISAN_BENCH_CACHE`, else ~/.cache/seisan/bench-worlds (under XDG_CACHE_HOME when that is set)."""
    env = dict(os.environ) if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return base / "seisan" / "bench-worlds"


def cached_world(cache_root: Path, params: WorldParams, say: Callable[[str], None],
                 simulate: Callable[..., Any] | None = None) -> tuple[Path, float]:
    """The inbox of `params`' world under `cache_root/<key>/inbox` and the seconds spent simulating it (0 when
    it was cached). A new world is simulated into a temporary sibling and renamed into place once complete."""
    version = simulator_version()
    folder = cache_root / world_key(params, version)
    if (folder / _COMPLETE).is_file():
        say(f"world cached at {folder}")
        return folder / "inbox", 0.0
    simulate = simulate or simulate_apart
    cache_root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=cache_root))
    try:
        say(f"simulating {params.describe()} into {partial} (cached afterwards)")
        began = time.perf_counter()
        simulate(partial / "inbox", params.start, params.days, params.municipalities, params.residents,
                 params.seed, faults=params.faults, progress=lambda m: say(f"  simulator: {m}"),
                 activity=params.activity, mix=params.mix)
        seconds = time.perf_counter() - began
        record = {**dataclasses.asdict(params), "start": params.start.isoformat(), "simulator": version,
                  "simulated_seconds": round(seconds, 1)}
        (partial / _COMPLETE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        try:
            partial.rename(folder)
        except OSError:
            if not (folder / _COMPLETE).is_file():   # another run finished the same world first: keep theirs
                raise
            shutil.rmtree(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    say(f"simulated in {seconds:.1f} s, cached at {folder}")
    return folder / "inbox", seconds


def simulate_apart(inbox: Path, start: dt.date, days: int, municipalities: int, residents: int, seed: int,
                   faults: str = "none", progress: Callable[[str], None] | None = None,
                   activity: float = 1.0, mix: str = "typical") -> None:
    """`simulator.simulate` in a spawned process of its own, which prints its own progress (`progress` cannot
    cross into it). Simulated in the harness's process, a 1,000,000-resident world left about a gigabyte there
    (the allocator keeps what Python frees), counted in every later measurement of the run."""
    del progress
    _apart(_simulate_here, inbox, start, days, municipalities, residents, seed, faults, activity, mix)


def _simulate_here(inbox: Path, start: dt.date, days: int, municipalities: int, residents: int, seed: int,
                   faults: str, activity: float, mix: str) -> None:
    from simulator import simulate

    say = progress_printer()
    simulate(inbox, start, days, municipalities, residents, seed, faults=faults, activity=activity, mix=mix,
             progress=lambda message: say(f"  simulator: {message}"))
    # ru_maxrss is in KiB on Linux. The signing workers are not added: forked from this process, their RSS
    # counts the pages they share with it (a 3,500,000-resident world: 16.6 GiB here, 10.6 in a worker, while
    # the machine's used memory peaked at 17.6 GB).
    say(f"  simulator: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


# --- memory: the whole process tree ------------------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # the command name (field 2) is in parentheses and may hold spaces: the parent pid follows the last ")"
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree_pids(root: int) -> list[int]:
    children = _children_by_parent()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += children.get(pid, [])
    return found


def tree_rss_bytes(root: int | None = None) -> int:
    """Resident memory (RSS) of `root` (default this process) and all its descendants, from /proc, in bytes. A
    sum of RSS counts a page shared by several processes (a forked worker's copy-on-write pages) once per
    process: an upper bound of the memory the tree holds."""
    total = 0
    for pid in _tree_pids(os.getpid() if root is None else root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue   # the process ended between the listing and the read
    return total


def tree_pss_bytes(root: int | None = None) -> int:
    """Proportional set size of the same tree (/proc/<pid>/smaps_rollup): each shared page divided among the
    processes that share it, so the sum is the memory the tree really holds. 0 where the kernel has no
    smaps_rollup."""
    total = 0
    for pid in _tree_pids(os.getpid() if root is None else root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakTreeRss:
    """Samples tree_rss_bytes and tree_pss_bytes every `interval` seconds in a daemon thread: `peak` and
    `peak_pss` are the largest sums seen; `take_window()` returns the RSS peak since its last call (per step)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self.peak_pss = 0
        self._window = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-rss-sampler", daemon=True)

    def _sample(self) -> None:
        rss, pss = tree_rss_bytes(), tree_pss_bytes()
        with self._lock:
            self.peak = max(self.peak, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self._window = max(self._window, rss)

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.interval):
                return

    def take_window(self) -> int:
        self._sample()
        with self._lock:
            window, self._window = self._window, 0
        return window

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# --- the floor ------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Floor:
    """One day's floor: files and rows read, signatures verified (and how many verified), the two times."""

    files: int
    rows_by_kind: dict[str, int]
    signatures: int
    signatures_valid: int
    read_seconds: float
    verify_seconds: float
    certificate_seconds: float   # of verify_seconds: finding each record's certificate in the mykey_certs files

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.verify_seconds


def files_of_day(inbox: Path, day: dt.date, delivered: Iterable[Path] = ()) -> dict[str, list[Path]]:
    """Kind -> the inbox files that arrive on `day`: named for it (contracts.inbox_names), plus files that
    `simulator.deliver` brought in late that morning."""
    from contracts.inbox_names import match_path

    by_kind: dict[str, set[Path]] = {}
    extra = {Path(p).resolve() for p in delivered}
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        rel = path.relative_to(inbox).parts
        if rel[0] not in ("master", "platform", "terminal", "partner", "bank"):
            continue
        match = match_path(rel)
        if match is not None and (match.business_date == day or path.resolve() in extra):
            by_kind.setdefault(match.kind, set()).add(path)
    return {kind: sorted(paths) for kind, paths in sorted(by_kind.items())}


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"


def _quiet_duckdb() -> Any:
    """An in-memory DuckDB for the floor, without its progress bar (it would draw through the report)."""
    import duckdb

    from seisan.steps import without_progress_bar

    return without_progress_bar(duckdb.connect())


def read_floor(by_kind: dict[str, list[Path]]) -> dict[str, int]:
    """Read every file once with DuckDB; kind -> rows (CSV kinds), lines (terminal logs) or bytes (bank
    statements, fixed-width and not UTF-8). A CSV DuckDB cannot read as UTF-8 (a cp932 partner file with
    non-ASCII text) is read again on its own as latin-1."""
    import duckdb

    rows: dict[str, int] = {}
    with _quiet_duckdb() as con:
        for kind, paths in by_kind.items():
            if kind == "terminal_log":   # JSON lines, UTF-8: read as text, one row per line
                rows[kind] = int(con.execute(
                    "select coalesce(sum(length(content) - length(replace(content, chr(10), ''))), 0) "
                    f"from read_text({_sql_list(paths)})").fetchone()[0])
                continue
            if kind in BLOB_KINDS:
                rows[kind] = _blob_bytes(con, paths)
                continue
            try:
                rows[kind] = con.execute(f"select count(*) from read_csv({_sql_list(paths)}, all_varchar = true, "
                                         "header = true, union_by_name = true)").fetchone()[0]
            except duckdb.Error:
                rows[kind] = sum(
                    _csv_or_blob(con, path) for path in paths)
    return rows


def _csv_or_blob(con: Any, path: Path) -> int:
    """Rows of one CSV that is not UTF-8: read as latin-1, which decodes any byte. For cp932 that is still the
    right row count: its second bytes (0x40-0xFC) are never a comma, a quote or a line end."""
    return con.execute(f"select count(*) from read_csv({_sql_list([path])}, all_varchar = true, header = true, "
                       "encoding = 'latin-1')").fetchone()[0]


def _blob_bytes(con: Any, paths: Sequence[Path]) -> int:
    """Bytes of files that are not CSV (terminal JSON lines, Zengin statements), each read once by DuckDB."""
    return int(con.execute(f"select coalesce(sum(octet_length(content)), 0) from read_blob({_sql_list(paths)})")
               .fetchone()[0])


def _certificates(inbox: Path, through: dt.date, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(mykey_id, serial) -> certificate DER (base64) for the `wanted` keys (serial in lower case), from every
    platform/mykey_certs file up to `through`, in the inbox or archived by an earlier ingest (ingestion.archive's
    default folder, which the harness uses). DuckDB filters the files: only the day's certificates are held, not
    every one registered (a million at 1,000,000 residents; the floor's peak was 2.3 GiB)."""
    import pyarrow as pa

    from ingestion.archive import default_archive

    folders = (inbox / "platform", default_archive(inbox) / "platform")
    paths = [p for folder in folders for p in sorted(folder.glob("mykey_certs_*.csv"))
             if p.stem.rsplit("_", 1)[1] <= f"{through:%Y%m%d}"]
    keys = sorted(set(wanted))
    if not paths or not keys:
        return {}
    table = pa.table({"mykey_id": [k[0] for k in keys], "serial": [k[1] for k in keys]})
    with _quiet_duckdb() as con:
        con.register("wanted", table)
        found = con.execute(f"""
            select certs.mykey_id, lower(certs.cert_serial), certs.cert_der
            from read_csv({_sql_list(paths)}, all_varchar = true, header = true) as certs
            semi join wanted on wanted.mykey_id = certs.mykey_id and wanted.serial = lower(certs.cert_serial)
            where certs.cert_der is not null""").fetchall()
    return {(mykey, serial): der for mykey, serial, der in found}


def _verify_chunk(chunk: list[tuple[str, bytes]]) -> int:
    """In a worker: how many of (certificate DER, record's JSON line) carry a valid card signature."""
    import base64
    from functools import lru_cache

    from cryptography import x509

    from contracts.terminal_log import verify_card_signature

    @lru_cache(maxsize=4096)
    def key(der_b64: str) -> Any:
        return x509.load_der_x509_certificate(base64.b64decode(der_b64)).public_key()

    return sum(1 for der, line in chunk if verify_card_signature(key(der), json.loads(line)))


def verify_floor(inbox: Path, day: dt.date, terminal_files: Sequence[Path],
                 pool: concurrent.futures.Executor) -> tuple[int, int, float]:
    """Verify every card signature in the day's terminal logs once, in `pool`; returns (signatures, valid,
    seconds spent finding the certificates). A record whose certificate is not registered counts as checked and
    not valid (ingestion quarantines it unverified). A record is held as its line, which the worker parses
    again: a parsed dict takes about three times a line's memory (day 4 at 1,000,000 residents: the verify phase
    peaked at 1.46 GiB with dicts, 1.10-1.22 GiB with lines), and a line is cheaper to hand to a worker."""
    records: list[tuple[tuple[str, str], bytes]] = []
    for path in terminal_files:
        for line in path.read_bytes().splitlines():
            record = json.loads(line)
            if "card_sig" in record:
                records.append(((record.get("mykey_id"), str(record.get("card_cert_serial", "")).lower()), line))
    began = time.perf_counter()
    certs = _certificates(inbox, day, (key for key, _ in records))
    certificate_seconds = time.perf_counter() - began
    work: list[tuple[str, bytes]] = []
    missing = 0
    for key, line in records:
        der = certs.get(key)
        if der is None:
            missing += 1
        else:
            work.append((der, line))
    del records, certs
    chunks = [work[i:i + _SIGNATURE_CHUNK] for i in range(0, len(work), _SIGNATURE_CHUNK)]
    valid = sum(pool.map(_verify_chunk, chunks))
    return len(work) + missing, valid, certificate_seconds


def measure_floor(inbox: Path, day: dt.date, delivered: Iterable[Path] = ()) -> Floor:
    """The day's floor, measured in a process of its own.

    It holds the day's signed records and their certificates. In the harness's own process that memory stayed
    with it after the floor (the allocator keeps what Python frees), and pool workers forked from it counted it
    again, each of them: at 1,000,000 residents, when the floor still held every certificate registered, the
    tree's RSS reached 13.5 GiB in the floor. A spawned process gives all of it back when it ends."""
    return _apart(_measure_floor_here, inbox, day, tuple(delivered))


def _apart(function: Callable[..., _T], *args: Any) -> _T:
    """`function(*args)` in a spawned process of its own, which gives all its memory back when it ends."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as runner:
        return runner.submit(function, *args).result()


def _ready() -> int:
    """In a floor worker: its pid, once it has imported what `_verify_chunk` needs."""
    import cryptography.x509  # noqa: F401

    import contracts.terminal_log  # noqa: F401

    time.sleep(0.05)   # so that one quick worker does not take every start-up call
    return os.getpid()


def _measure_floor_here(inbox: Path, day: dt.date, delivered: Sequence[Path]) -> Floor:
    by_kind = files_of_day(inbox, day, delivered)
    workers = os.cpu_count() or 1
    # Spawned like ingestion's pool (ingestion.card_signatures), and started before the clock: the floor
    # leaves out a pool's start-up, which ingestion pays, so it stays the smaller yardstick.
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        started: set[int] = set()
        for _ in range(20):
            started.update(f.result() for f in [pool.submit(_ready) for _ in range(workers)])
            if len(started) >= workers:
                break
        began = time.perf_counter()
        rows = read_floor(by_kind)
        read_seconds = time.perf_counter() - began
        began = time.perf_counter()
        signatures, valid, certificate_seconds = verify_floor(inbox, day, by_kind.get("terminal_log", []), pool)
        verify_seconds = time.perf_counter() - began
    return Floor(sum(len(p) for p in by_kind.values()), rows, signatures, valid, read_seconds, verify_seconds,
                 certificate_seconds)


# --- the chain ------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class DayRun:
    day: dt.date
    floor: Floor
    step_seconds: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.step_seconds.values())

    @property
    def events(self) -> int:
        return self.floor.rows_by_kind.get("platform_ledger", 0)

    @property
    def records(self) -> int:
        """Input records of the day: CSV rows of every kind and terminal-log lines (bank statements left out:
        they are counted in bytes, and are a few hundred lines)."""
        return sum(n for kind, n in self.floor.rows_by_kind.items() if kind != "bank_statement")


@dataclasses.dataclass(frozen=True, slots=True)
class SizeResult:
    params: WorldParams
    simulated_seconds: float
    days: list[DayRun]
    peak_rss: int
    peak_pss: int
    step_peak_rss: dict[str, int]   # "floor" and each step: the largest tree RSS while it ran, over all days

    @property
    def last(self) -> DayRun:
        return self.days[-1]

    @property
    def day_ratio(self) -> float | None:
        if len(self.days) < 3 or self.days[1].total <= 0:
            return None
        return self.last.total / self.days[1].total

    @property
    def day_ratio_per_record(self) -> float | None:
        """The same ratio per input record: a simulated world fills up over its first days (more residents hold
        points, so the daily balances snapshot grows), which this separates from cost growing with history."""
        day2 = self.days[1] if len(self.days) >= 3 else None
        if day2 is None or day2.total <= 0 or not day2.records or not self.last.records:
            return None
        return (self.last.total / self.last.records) / (day2.total / day2.records)


def _settings(home: Path, inbox: Path) -> Any:
    from seisan.config import load_settings

    settings = load_settings(env={"SEISAN_HOME": str(home), "SEISAN_INBOX": str(inbox),
                                  "HOME": os.environ.get("HOME", str(home)), "SEISAN_INGEST_ARCHIVE": "true"})
    # The harness delivers complete files just before each run: no settle time to wait for (as `seisan demo`).
    # Settled files are archived (`[ingest] archive`, as in production): a year's inbox is not scanned daily.
    return dataclasses.replace(settings, settle_seconds=0)


def step_functions() -> dict[str, Callable[..., object]]:
    """The step functions the daily DAG calls (`seisan.steps`), by STEPS name."""
    from seisan import steps

    return {"ingest": steps.ingest_step, "build_marts": steps.build_marts_step, "quality": steps.quality_step,
            "reconcile": steps.reconcile_step, "gate": steps.gate_step, "report": steps.report_step}


def run_step(name: str, day: dt.date, home: Path, inbox: Path) -> float:
    """Run one step for `day` in a spawned process of its own, as each task of the daily DAG runs in a process
    of its own, and return the seconds its step function took there (its imports included, as a task pays them).

    Run in the harness's process, every step left memory behind for the next (the allocator keeps what Python
    and DuckDB free): at 1,000,000 residents the harness held 3.5 GiB while gate and report ran, so the tree's
    peak measured the harness, not a step."""
    return _apart(_run_step_here, name, day, home, inbox)


def _run_step_here(name: str, day: dt.date, home: Path, inbox: Path) -> float:
    settings = _settings(home, inbox)
    function = step_functions()[name]
    began = time.perf_counter()
    function(day, settings)
    return time.perf_counter() - began


def progress_printer() -> Callable[[str], None]:
    """A `say` that prints a message to stderr with the UTC time and the seconds since it was made."""
    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"  .. {dt.datetime.now(dt.UTC):%H:%M:%S} [{time.perf_counter() - began:6.0f} s] {message}",
              file=sys.stderr, flush=True)

    return say


def run_size(params: WorldParams, cache_root: Path, say: Callable[[str], None]) -> SizeResult:
    """Simulate (or reuse) one world and run its days: the floor, then each step, for each business date."""
    from simulator import deliver

    cached, simulated_seconds = cached_world(cache_root, params, say)
    runs: list[DayRun] = []
    step_peaks: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="seisan-bench-national-") as tmp, PeakTreeRss() as memory:
        home = Path(tmp) / "home"
        inbox = home / "inbox"
        say(f"copying the cached inbox to {inbox}")
        shutil.copytree(cached, inbox)
        for offset in range(params.days):
            day = params.start + dt.timedelta(days=offset)
            label = f"day {offset + 1}/{params.days} ({day})"
            delivered = deliver(inbox, day)
            say(f"{label}: floor (DuckDB reads the day's files; card signatures verified on "
                f"{os.cpu_count()} processes)")
            memory.take_window()
            floor = measure_floor(inbox, day, delivered)
            step_peaks["floor"] = max(step_peaks.get("floor", 0), memory.take_window())
            say(f"{label}: floor {floor.seconds:.1f} s (read {floor.read_seconds:.1f} s, {floor.files:,} files; "
                f"{floor.signatures:,} signatures in {floor.verify_seconds:.1f} s, {floor.signatures_valid:,} valid, "
                f"certificate look-up {floor.certificate_seconds:.1f} s of it); "
                f"{floor.rows_by_kind.get('platform_ledger', 0):,} ledger events")
            seconds: dict[str, float] = {}
            for name in STEPS:
                say(f"{label}: {name} ...")
                seconds[name] = run_step(name, day, home, inbox)
                step_peaks[name] = max(step_peaks.get(name, 0), memory.take_window())
                say(f"{label}: {name} {seconds[name]:.1f} s ({_ratio(seconds[name], floor.seconds)} floor)")
            runs.append(DayRun(day, floor, seconds))
            say(f"{label}: chain {runs[-1].total:.1f} s = {_ratio(runs[-1].total, floor.seconds)} floor; "
                f"peak so far: RSS {_gib(memory.peak)}, PSS {_gib(memory.peak_pss)}")
    return SizeResult(params, simulated_seconds, runs, memory.peak, memory.peak_pss, step_peaks)


# --- the report -----------------------------------------------------------------------------------------------

def _ratio(seconds: float, floor: float) -> str:
    return f"{seconds / floor:.1f}x" if floor > 0 else "n/a"


def _gib(value: int) -> str:
    return f"{value / 1024 ** 3:.2f} GiB"


def _parts(run: DayRun) -> dict[str, float]:
    return {**run.step_seconds, "floor": run.floor.seconds, "total": run.total}


def extrapolate(results: Sequence[SizeResult], events: int = NATIONAL_EVENTS_PER_DAY) -> dict[str, dict[str, float]]:
    """Seconds of each part at `events` platform events a day, from the last day of each size, two ways:

    - "proportional": the largest size's seconds x (events / its events): every second scales with the input,
      fixed costs included (pessimistic where a step has a large fixed cost, like dbt's start-up);
    - "marginal" (two sizes or more): the largest size's seconds plus the slope between the two largest sizes
      times the events still to add: fixed costs paid once, the rest per event (at least 0 per event).

    Both assume no step grows faster than linearly in its input; they are estimates, not measurements."""
    ordered = sorted(results, key=lambda r: r.last.events)
    big = ordered[-1].last
    scale = events / big.events if big.events else 0.0
    estimate = {"proportional": {name: seconds * scale for name, seconds in _parts(big).items()}}
    if len(ordered) > 1 and big.events > ordered[-2].last.events:
        small = ordered[-2].last
        added = big.events - small.events
        estimate["marginal"] = {
            name: seconds + max(0.0, (seconds - _parts(small)[name]) / added) * (events - big.events)
            for name, seconds in _parts(big).items()}
    return estimate


def extrapolate_memory(results: Sequence[SizeResult]) -> dict[str, tuple[float, str]]:
    """Each part's peak tree RSS at national size (bytes) and what it was scaled by, from the two largest sizes:
    the largest size's peak plus the slope between the two (at least 0) times what is still to add, once per
    resident and once per ledger event of the last day, the larger of the two kept. Memory that holds every
    certificate grows with residents, a day's batches with events, and the simulated worlds have more events
    per resident (about 0.6) than the national day (0.2), so neither scale alone is safe. Empty with one size."""
    ordered = sorted(results, key=lambda r: r.params.residents)
    if len(ordered) < 2:
        return {}
    small, big = ordered[-2], ordered[-1]
    scales = {"residents": (small.params.residents, big.params.residents, NATIONAL_RESIDENTS),
              "events": (small.last.events, big.last.events, NATIONAL_EVENTS_PER_DAY)}
    estimate: dict[str, tuple[float, str]] = {}
    for part, peak in big.step_peak_rss.items():
        guesses = []
        for basis, (low, high, national) in scales.items():
            if high > low and part in small.step_peak_rss:
                slope = max(0.0, (peak - small.step_peak_rss[part]) / (high - low))
                guesses.append((peak + slope * max(0, national - high), basis))
        if guesses:
            estimate[part] = max(guesses)
    return estimate


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def render(results: Sequence[SizeResult], command: str, wall_seconds: float) -> str:
    largest = max(results, key=lambda r: r.last.events)
    last = largest.last
    p = largest.params
    estimate = extrapolate(results)
    marginal = estimate.get("marginal")

    def national(name: str) -> str:
        text = _duration(estimate["proportional"][name])
        return f"{_duration(marginal[name])} marginal, {text} proportional" if marginal else f"{text} proportional"

    memory = extrapolate_memory(results)
    if memory:
        part, (peak, basis) = max(memory.items(), key=lambda item: item[1][0])
        national_memory = (f"{_gib(int(peak))} in {part} (linear in {basis} from the two largest sizes; "
                           + ", ".join(f"{name} {_gib(int(value))}" for name, (value, _) in memory.items()) + ")")
    else:
        national_memory = "needs two sizes"
    header = ["residents", "municipalities", "events/day", "input records", "files", "signatures", "floor", *STEPS,
              "chain", "day N / day 2", "peak RSS (PSS)", "simulated in"]
    lines = [f"Machine: {_machine()}  ",
             f"Command: `{command}`, {dt.datetime.now(dt.UTC):%Y-%m-%d}, wall time {wall_seconds / 60:.1f} min  ",
             f"Largest measured size: {p.describe()}; {last.events:,} platform ledger events on its last day "
             f"({last.day}), {last.events / NATIONAL_EVENTS_PER_DAY:.2%} of national ({NATIONAL}).",
             "",
             "| measure | target | measured (largest size, last day) | national estimate |",
             "| --- | --- | --- | --- |",
             f"| floor: read every file once + verify every card signature once | (the yardstick) | "
             f"{last.floor.seconds:.1f} s (read {last.floor.read_seconds:.1f} s, {last.floor.files:,} files; verify "
             f"{last.floor.verify_seconds:.1f} s, {last.floor.signatures:,} signatures, of which certificate look-up "
             f"{last.floor.certificate_seconds:.1f} s) | {national('floor')} |"]
    for name in STEPS:
        seconds = last.step_seconds[name]
        target = "as near the floor as it can get"
        if name == "ingest":
            verdict = "within" if seconds <= INGEST_TARGET_FLOORS * last.floor.seconds else "OVER"
            target = f"<= {INGEST_TARGET_FLOORS} x floor ({verdict} target)"
        lines.append(f"| {name} | {target} | {seconds:.1f} s = "
                     f"{_ratio(seconds, last.floor.seconds)} floor | {national(name)} |")
    ratio = largest.day_ratio
    lines += [f"| chain ingest -> report | <= 10 min for a national day (see the estimate) | {last.total:.1f} s = "
              f"{_ratio(last.total, last.floor.seconds)} floor | {national('total')} |",
              f"| peak RSS, process tree (sum of RSS; shared pages counted per process) | <= 8 GiB | "
              f"{_gib(largest.peak_rss)} ({'within' if largest.peak_rss <= MEMORY_TARGET_BYTES else 'OVER'} target); "
              f"largest in {max(largest.step_peak_rss, key=largest.step_peak_rss.get)} | {national_memory} |",
              f"| peak PSS, process tree (shared pages divided) | <= 8 GiB | {_gib(largest.peak_pss)} | |",
              f"| day {p.days} / day 2 (chain time) | <= {DAY_RATIO_TARGET} | "
              + (f"{ratio:.2f} ({'within' if ratio <= DAY_RATIO_TARGET else 'OVER'} target); input records "
                 f"{largest.days[1].records:,} -> {last.records:,}; per input record "
                 f"{largest.day_ratio_per_record:.2f}" if ratio is not None and largest.day_ratio_per_record
                 else "n/a (fewer than 3 days)") + " | |",
              "",
              "National estimate (2,000,000 ledger events a day, one machine, the same history depth): "
              "*proportional* = the largest size's seconds x (2,000,000 / its events); *marginal* = the largest "
              "size's seconds + (its seconds - the next size's) / (its events - the next size's) x the events still "
              "to add, i.e. fixed costs once and the measured per-event rate beyond them. Both are linear "
              "extrapolations, not measurements: a step that grows faster than its input makes them optimistic.",
              "",
              "The curve (the last simulated day of each size; ratios are to that day's floor):",
              "",
              "| " + " | ".join(header) + " |",
              "| " + " | ".join(["---"] * len(header)) + " |"]
    for result in results:
        d = result.last
        r = result.day_ratio
        cells = [f"{result.params.residents:,}", str(result.params.municipalities), f"{d.events:,}", f"{d.records:,}",
                 f"{d.floor.files:,}", f"{d.floor.signatures:,}",
                 f"{d.floor.seconds:.1f} s (read {d.floor.read_seconds:.1f}, verify {d.floor.verify_seconds:.1f})"]
        cells += [f"{d.step_seconds[name]:.1f} s ({_ratio(d.step_seconds[name], d.floor.seconds)})" for name in STEPS]
        per_record = result.day_ratio_per_record
        cells += [f"{d.total:.1f} s ({_ratio(d.total, d.floor.seconds)})",
                  f"{r:.2f} (per record {per_record:.2f})" if r is not None and per_record else "n/a",
                  f"{_gib(result.peak_rss)} ({_gib(result.peak_pss)})",
                  f"{result.simulated_seconds:.0f} s" if result.simulated_seconds else "cached"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Peak tree RSS while each part ran (over all days of the size):", ""]
    for result in results:
        peaks = ", ".join(f"{name} {_gib(value)}" for name, value in result.step_peak_rss.items())
        lines.append(f"- {result.params.residents:,} residents: {peaks}")
    lines += ["", "Every day of every size (chain seconds / floor seconds, ledger events, input records):", ""]
    for result in results:
        days = ", ".join(f"{d.day:%m-%d} {d.total:.1f} s / {d.floor.seconds:.1f} s ({d.events:,} events, "
                         f"{d.records:,} records)"
                         for d in result.days)
        lines.append(f"- {result.params.residents:,} residents, {result.params.municipalities} municipalities: {days}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seisan.bench_national",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"residents:municipalities, comma separated (default {DEFAULT_SIZES})")
    parser.add_argument("--days", type=int, default=4, help="business dates per world (default 4; at least 3 "
                                                              "for the day N / day 2 ratio)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--activity", type=float, default=1.0,
                        help="how busy the residents are, more than 0 and at most 1 (default 1: about 0.57 ledger "
                             "events a resident a day; 0.4 gives the nation's 0.2, e.g. --sizes 10000000:1764)")
    parser.add_argument("--mix", default="typical",
                        help="how merchants and events are spread (simulator.world.MIXES): typical (default) or "
                             "national (a store per 33 residents, residents holding points from their first day, "
                             "about half the events terminal uses)")
    parser.add_argument("--cache", type=Path, default=None,
                        help=f"world cache folder (default ${CACHE_ENV}, else ~/.cache/seisan/bench-worlds)")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days is at least 1")
    from simulator.world import checked_activity, checked_mix

    try:
        sizes = parse_sizes(args.sizes)
        checked_activity(args.activity)
        checked_mix(args.mix)
    except ValueError as exc:
        parser.error(str(exc))
    cache_root = args.cache.expanduser() if args.cache else default_cache_root()
    began = time.perf_counter()
    say = progress_printer()
    say(f"sizes {', '.join(f'{r:,} residents / {m} municipalities' for r, m in sizes)}; {args.days} days; "
        f"world cache {cache_root}")
    results = []
    stopped: str | None = None
    for residents, municipalities in sizes:
        params = WorldParams(args.start, args.days, municipalities, residents, args.seed, activity=args.activity,
                              mix=args.mix)
        say(f"size: {params.describe()}")
        try:
            results.append(run_size(params, cache_root, say))
        except Exception as exc:  # the sizes measured before it are still worth their table
            stopped = f"{params.describe()}: {type(exc).__name__}: {exc}"
            say(f"stopped at {stopped}")
            break
    command = " ".join(["python -m seisan.bench_national", *(argv if argv is not None else sys.argv[1:])])
    if results:
        print(render(results, command if argv or sys.argv[1:] else f"make bench-national ({command})",
                     time.perf_counter() - began))
    if stopped is not None:
        print(f"\nNOT MEASURED: {stopped.splitlines()[0]}\nThe sizes after it were not run; "
              f"{'the table above holds only the sizes before it' if results else 'no size finished'}. "
              "The full error is above (stderr).")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
