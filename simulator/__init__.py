"""simulator: a deterministic simulated world that writes every inbox format of FORMATS.md.

`simulate(out_dir, start, days, municipalities, residents, seed, faults=...)` builds the world
(simulator/world.py), runs the platform day by day (simulator/point_platform.py on simulator/engine.py), writes the
terminal logs (simulator/terminals.py, signatures in a process pool: simulator/signing.py), the CSV files and
bank statements (simulator/outputs.py), injects faults (simulator/faults.py) and writes `faults.json` (ground
truth) and `world.json` (a summary of the cast, no key material). Same arguments give byte-identical files.

`out_dir` is the inbox: master/ platform/ terminal/ partner/ bank/. Files that arrive late or again wait under
`out_dir/later/<YYYYMMDD>/<inbox path>`; `deliver(out_dir, through)` moves them into the inbox when their day
comes. See docs/simulator.md. This package never reads the clock for data (only to time itself) and never
prints a My Number: fake ones exist only inside the files of the "my_number_*" faults.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SimulationSummary", "deliver", "simulate"]

LATER = "later"
DELIVERED_LOG = ".delivered"


@dataclass(frozen=True)
class SimulationSummary:
    """What one simulation wrote: files per inbox source, rows per file kind, faults per kind, time taken."""

    files_per_source: dict[str, int]
    rows_per_kind: dict[str, int]
    faults_per_kind: dict[str, int]
    seconds: float
    rows_per_second: float

    @property
    def rows(self) -> int:
        return sum(self.rows_per_kind.values())

    def __str__(self) -> str:
        files = ", ".join(f"{source} {count}" for source, count in self.files_per_source.items())
        return (f"{sum(self.files_per_source.values())} files ({files}), {self.rows:,} records, "
                f"{sum(self.faults_per_kind.values())} faults in {len(self.faults_per_kind)} kinds, "
                f"{self.seconds:.1f} s ({self.rows_per_second:,.0f} records/s)")


def _workers(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    return max(1, min(4, os.cpu_count() or 1))


def simulate(out_dir: Path, start: dt.date, days: int, municipalities: int, residents: int, seed: int,
             faults: str = "none", progress: Callable[[str], None] | None = None, workers: int | None = None,
             municipalities_csv: Path | None = None, activity: float = 1.0,
             mix: str = "typical") -> SimulationSummary:
    """Write a simulated world's inbox into `out_dir` (created; existing simulation files are replaced).
    activity (0 to 1): how busy the residents are (`world.build_residents`); at 1.0 each makes about 0.57 ledger
    events a day, at 0.4 about 0.2, the nation's (2 million events a day for 10 million residents).
    mix: how merchants and events are spread (`world.MIXES`); "national" with activity 0.4 gives the issue's
    national day: about 0.22 ledger events a resident a day from day 2, about half of them terminal uses."""
    from simulator import bank as sim_bank
    from simulator import faults as fx
    from simulator.outputs import bank_files, master_files, partner_files, planned_deposits, platform_files
    from simulator.point_platform import run_platform
    from simulator.signing import Signer
    from simulator.terminals import build_terminal_files
    from simulator.world import build_world

    if days < 1 or municipalities < 1 or residents < 1:
        raise ValueError("days, municipalities and residents are at least 1")
    started = time.monotonic()
    say = progress or (lambda message: None)
    world = build_world(seed, start, days, municipalities, residents, municipalities_csv, activity, mix)
    say(f"world: {len(world.municipalities)} municipalities, {len(world.merchants)} merchants, "
        f"{len(world.terminals)} terminal keys, {len(world.residents):,} residents")
    book = fx.FaultBook(world, faults)
    out, cancelled = run_platform(world, fx.engine_fault_days(book), say)
    fx.record_engine_faults(book, out)
    fx.terminal_record_faults(book, out, cancelled)
    certificates = sum(len(day) for day in out.certs.values())
    signer = Signer(seed, world.card_key_pool, _workers(workers))
    try:  # open until the certificate files are written: they issue their certificates as they are written
        say(f"signing {len(out.terminal_records):,} terminal records")
        terminal_files = build_terminal_files(world, out.terminal_records, signer)
        fx.locate_terminal_records(book, terminal_files)
        terminal_files = fx.terminal_file_faults(book, terminal_files, signer)
        csv_files = master_files(world) + platform_files(world, out, signer) + partner_files(world, out)
        _locate_recon_rows(book, csv_files)
        fx.row_faults(book, [f for f in csv_files if f.kind.source in ("platform", "partner")])
        cuts = fx.truncated_csv(book, [f for f in csv_files if f.kind.source in ("platform", "partner")])
        extra_masters = fx.master_faults(book)
        account_faults = sim_bank.wrong_accounts(world, _uses_by_merchant(out), faults)
        sim_bank.list_wrong_accounts(account_faults, [f for f in csv_files + [f for f, _ in extra_masters]
                                                      if f.kind.name == "master_merchants"])
        extra_partner = fx.partner_file_faults(book, csv_files)
        bank = bank_files(world, fx.deposit_faults(book, planned_deposits(world, out)))
        fx.zengin_faults(book, bank)
        del out, cancelled  # from here on, each file's rows live only until it is written

        say(f"writing {len(csv_files) + len(extra_masters) + len(extra_partner) + len(terminal_files) + len(bank):,} "
            f"files into {out_dir} (issuing {certificates:,} certificates as their files are written)")
        inbox = _Inbox(Path(out_dir))
        rows: dict[str, int] = {}
        kept = {id(file) for _, file, _ in book.row_refs}  # book.finish() reads their rows again
        for f in csv_files:
            rows[f.kind.name] = rows.get(f.kind.name, 0) + f.row_count
            if f.path in cuts:
                inbox.put(f.path, f.day, fx.cut_last_row(f.data(), cuts[f.path]))
            else:
                f.write(inbox.target(f.path, f.day))
            if id(f) not in kept:
                f.release()
    finally:
        signer.close()
    for f, data in extra_masters:
        inbox.put(f.path, f.day, data if data is not None else f.data())
    for f, data in extra_partner:
        inbox.put(f.path, f.day, data)
    rows["terminal_lines"] = sum(f.line_count for f in terminal_files)
    for f in terminal_files:
        inbox.put(f.path, f.day, f.data())
    del terminal_files
    rows["bank_statement_lines"] = sum(len(f.statement.lines) for f in bank)
    for f in bank:
        inbox.put(f.path, f.day, f.data())
    fx.redeliveries(book, inbox)
    entries = book.finish()
    entries += sim_bank.wrong_account_entries(account_faults, first_id=len(entries) + 1)
    _write_rest(inbox.root, book.later, entries, world, seed, faults, start, days)
    sim_bank.write_bank_master(inbox.root, world, faults, account_faults)
    return _summary(inbox, rows, entries, time.monotonic() - started, say)


class _Inbox(Mapping[str, tuple[dt.date, bytes]]):
    """The inbox being written: each file goes to disk as soon as it is made (a national world's files do not
    fit in memory together). Read as a mapping, inbox path -> (business date, bytes read back), it is what the
    redelivery faults copy from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.days: dict[str, dt.date] = {}
        self._folders: set[Path] = set()
        root.mkdir(parents=True, exist_ok=True)
        for name in ("master", "platform", "terminal", "partner", "bank", LATER):
            if (root / name).exists():
                shutil.rmtree(root / name)

    def target(self, path: str, day: dt.date) -> Path:
        """Where `path` goes (its folder made); the caller writes it. A path written twice keeps the last."""
        target = self.root / path
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        self.days[path] = day
        return target

    def put(self, path: str, day: dt.date, data: bytes) -> None:
        self.target(path, day).write_bytes(data)

    def __getitem__(self, path: str) -> tuple[dt.date, bytes]:
        return self.days[path], (self.root / path).read_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self.days)

    def __len__(self) -> int:
        return len(self.days)


def _uses_by_merchant(out: Any) -> dict[tuple[str, str, dt.date], int]:
    """Yen used per (municipality, merchant, day): the simulated bank's wrong account goes to a busy merchant."""
    totals: dict[tuple[str, str, dt.date], int] = {}
    for day, events in out.ledger.items():
        for e in events:
            if e.event_type == "use" and e.merchant_id:
                key = (e.municipality_code, e.merchant_id, day)
                totals[key] = totals.get(key, 0) + abs(e.amount)
    return totals


def _locate_recon_rows(book: Any, csv_files: list) -> None:
    """Point reconciliation entries at their ledger or balance row (line numbers are fixed at the end)."""
    by_path = {f.path: f for f in csv_files}
    for entry in book.entries:
        target = entry.pop("_row", None)
        if target is not None:
            book.row_refs.append((entry, by_path[entry["path"]], target[1]))
        elif entry["path"].startswith("platform/ledger") and entry.get("event_id"):
            file = by_path[entry["path"]]
            row = next(r for r in file.rows if r["event_id"] == entry["event_id"])
            book.row_refs.append((entry, file, row))
        if entry.get("arrives") is None and entry["path"] in by_path and entry["kind"] != "terminal_upload_missing":
            entry["arrives"] = by_path[entry["path"]].day.isoformat()


def _write_rest(out_dir: Path, later: list, entries: list[dict], world: Any, seed: int, faults: str,
                start: dt.date, days: int) -> None:
    """What follows the inbox: the files that arrive later, the ground truth and the world's summary."""
    for item in later:
        target = out_dir / LATER / f"{item.arrives:%Y%m%d}" / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
    ground_truth = {"seed": seed, "faults": faults, "start": start.isoformat(), "days": days, "entries": entries}
    (out_dir / "faults.json").write_text(json.dumps(ground_truth, ensure_ascii=False, indent=1, default=str) + "\n",
                                         encoding="utf-8")
    (out_dir / "world.json").write_text(json.dumps(world_summary(world), ensure_ascii=False, indent=1) + "\n",
                                        encoding="utf-8")


def world_summary(world: Any) -> dict[str, Any]:
    """The cast of the world for people and tests: no key material, no MyKey IDs."""
    return {
        "seed": world.seed, "start": world.start.isoformat(), "days": world.days,
        "municipalities": [{"code": m.code, "name": m.name, "settlement_cycle": m.settlement_cycle,
                            "settlement_day": m.settlement_day, "fee_bearer": m.fee_bearer,
                            "min_payout_yen": m.min_payout_yen, "bank_code": m.account.bank_code,
                            "branch_code": m.account.branch_code, "account_number": m.account.account_number}
                           for m in world.municipalities],
        "programs": [{"code": p.code, "kind": p.kind, "funding": p.funding, "expiry": p.expiry,
                      "annual_cap_per_person": p.annual_cap, "min_age": p.min_age} for p in world.programs],
        "partners": [{"code": p.code, "kind": p.kind, "encoding": p.encoding} for p in world.partners],
        "merchants": [{"merchant_id": m.merchant_id, "channel": m.channel, "category": m.category,
                       "statuses": [[d.isoformat(), v] for d, v in m.statuses],
                       "listed_from": m.listed_from.isoformat()}
                      for m in world.merchants],
        "terminals": [{"terminal_id": t.terminal_id, "merchant_id": t.merchant_id,
                       "active_from": t.active_from.isoformat(),
                       "active_to": t.active_to.isoformat() if t.active_to else None} for t in world.terminals],
        "master_changes": {k: [d.isoformat() for d in v] for k, v in sorted(world.master_changes.items())},
        "counts": {"residents": len(world.residents), "card_key_pool": world.card_key_pool,
                   "residents_65_and_over": sum(1 for r in world.residents if r.age >= 65)},
    }


def _summary(inbox: _Inbox, rows: dict[str, int], entries: list[dict], seconds: float,
             say: Callable[[str], None]) -> SimulationSummary:
    per_source: dict[str, int] = {}
    for path in sorted(inbox):
        source = path.split("/")[0]
        per_source[source] = per_source.get(source, 0) + 1
    faults: dict[str, int] = {}
    for entry in entries:
        faults[entry["kind"]] = faults.get(entry["kind"], 0) + 1
    total = sum(rows.values())
    summary = SimulationSummary(per_source, dict(rows), dict(sorted(faults.items())), seconds,
                                total / seconds if seconds > 0 else 0.0)
    say(f"wrote {summary}")
    return summary


def deliver(out_dir: Path, through: dt.date) -> list[Path]:
    """Copy every file waiting under `out_dir/later/<YYYYMMDD>/` with arrival <= `through` into its inbox path
    (overwriting: that is how a redelivery reaches the inbox); returns the inbox paths copied, in arrival and
    path order. Each waiting file is delivered once (remembered in later/.delivered)."""
    root = Path(out_dir) / LATER
    if not root.is_dir():
        return []
    log = root / DELIVERED_LOG
    done = set(log.read_text(encoding="utf-8").splitlines()) if log.exists() else set()
    copied: list[Path] = []
    for day_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        if dt.datetime.strptime(day_dir.name, "%Y%m%d").date() > through:
            continue
        for source in sorted(p for p in day_dir.rglob("*") if p.is_file()):
            relative = source.relative_to(day_dir)
            marker = f"{day_dir.name}/{relative.as_posix()}"
            if marker in done:
                continue
            target = Path(out_dir) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
            done.add(marker)
    if copied:
        log.write_text("".join(f"{line}\n" for line in sorted(done)), encoding="utf-8")
    return copied
