"""The payments part of `seisan demo`: two demo officers sign the day's payment files, the simulated bank
executes them.

After each day's DAG run (which plans the payouts of municipalities whose gate opened), the demo preparer writes
and signs the day's files, the demo approver adds the second signature, the files are handed over to the demo
home's bank-outbox (payouts issued), and the simulated bank (simulator/bank.py) executes them into the world's
statements of the following days, which the next runs ingest, confirm and reconcile (fees over the schedule and
振込不能 returns become breaks). The officers' private keys live in a temporary folder outside the repository
(removed at the end); their registry is under the demo home. A typical world's breaks keep most gates shut at
materiality 0, so on some days nothing is paid: that is the gate doing its job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from seisan.config import Settings

PREPARER, APPROVER = "OFF-DEMO-SATO", "OFF-DEMO-KATO"
REGISTRY_NAME = "demo-officers.toml"
OUTBOX_NAME = "bank-outbox"


@dataclasses.dataclass(frozen=True, slots=True)
class DemoOfficers:
    settings: Settings      # the demo's settings with the demo registry, key folder and hand-over folder
    key_dir: Path

    def close(self) -> None:
        shutil.rmtree(self.key_dir, ignore_errors=True)


def demo_officers(settings: Settings) -> DemoOfficers:
    """Two officers (preparer, approver) with fresh keys in a temporary folder outside the repository, registered
    in <home>/demo-officers.toml; payment files are handed over to <home>/bank-outbox."""
    from payments.officers import init_officer_key

    key_dir = Path(tempfile.mkdtemp(prefix="seisan-demo-officers-"))
    blocks = []
    for officer_id, name, role in ((PREPARER, "Demo Sato", "preparer"), (APPROVER, "Demo Kato", "approver")):
        _, block = init_officer_key(key_dir, officer_id, name)
        blocks.append(block.replace('roles = ["preparer"]  # or ["approver"], or both', f'roles = ["{role}"]'))
    registry = settings.home / REGISTRY_NAME
    registry.write_text("\n".join(blocks), encoding="utf-8")
    demo = dataclasses.replace(settings, officers_file=registry, officer_key_dir=key_dir,
                               payments_export_dir=settings.home / OUTBOX_NAME)
    return DemoOfficers(demo, key_dir)


def pay_day(officers: DemoOfficers, day: dt.date, progress: Callable[[str], None]) -> None:
    """Prepare, approve, hand over and execute D's payment files; one line of what happened."""
    from seisan.payments_file_steps import approve_payment_file, export_payment_files, prepare_payment_files
    from simulator.bank import execute

    settings = officers.settings
    started = time.monotonic()
    prepared = prepare_payment_files(settings, day, PREPARER, key_dir=officers.key_dir)
    for item in prepared:
        approve_payment_file(settings, item.path, APPROVER, officers.key_dir)
    exported = export_payment_files(settings, day, actor=APPROVER)
    executed = execute(settings.inbox, settings.payments_export_dir, day)
    new = [e for e in executed.executions if not e.already]
    returns = sum(len(e.returned_payout_ids) for e in new)
    if not prepared and not new:
        progress(f"      payments {day}: no payment file (no open gate with a closed period on a bank day); "
                 f"{time.monotonic() - started:.1f} s")
        return
    progress(f"      payments {day}: {len(prepared)} file(s) prepared by {PREPARER}, approved by {APPROVER}, "
             f"{len(exported.exported)} handed over; the simulated bank executed {len(new)} "
             f"({sum(e.total_yen for e in new):,} yen, fees {sum(e.fee_yen for e in new):,} yen"
             f"{f', {returns} to be returned 振込不能' if returns else ''}); {time.monotonic() - started:.1f} s")
