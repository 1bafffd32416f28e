"""The payments part of `seisan demo`: two demo officers sign the day's payment files, the simulated bank
executes them.

After each day's DAG run (which plans the payouts of municipalities whose gate opened), the demo preparer writes
and signs the day's files, the demo approver adds the second signature, the files are handed over to the demo
home's bank-outbox (payouts issued), and the simulated bank (simulator/bank.py) executes them into the world's
statements of the following days, which the next runs ingest, confirm and reconcile (fees over the schedule and
振込不能 returns become breaks). The officers' private keys live in a temporary folder outside the repository
(removed at the end); their registry is under the demo home.

A typical world's breaks keep the gates shut at materiality 0: that is the gate doing its job. So that the demo
shows the whole road of a payout, the demo approver also works the morning's breaks of ONE municipality — the one
whose merchant has a wrong account in the merchants master (faults.json `merchant_account_wrong`) — as an officer
would after investigating: `accepted_difference`, with a note saying it is a fault the simulator injected (its
reconciliation finds exactly the injected faults: tests/reconciliation/test_simulated_breaks.py). A returned
payout's break (nothing at risk) is left to resolve itself when the payout that pays it again is confirmed.
The day's gate, payments and report steps then run again for that date (each is idempotent), so the released
money is planned, signed, handed over and executed the same day; a transfer to the wrong account comes back
振込不能 and is paid again to the corrected account. The other municipalities' breaks are left open, so their
gates stay blocked as a real morning's would until someone works them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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
    executed = execute(settings.inbox, settings.payments_export_dir, day, settings.archive_dir)
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


def worked_municipality(settings: Settings) -> str | None:
    """The municipality whose breaks the demo approver works: the one with a wrong merchant account in the
    simulator's ground truth (None in a world without one)."""
    truth = settings.inbox / "faults.json"
    if not truth.exists():
        return None
    entries = json.loads(truth.read_text(encoding="utf-8")).get("entries", [])
    return next((e["municipality_code"] for e in entries if e.get("kind") == "merchant_account_wrong"), None)


def work_breaks(officers: DemoOfficers, day: dt.date, municipality: str | None,
                progress: Callable[[str], None]) -> None:
    """The demo approver resolves `municipality`'s open breaks of D (see the module docstring), then D's gate,
    payments and report steps run again so that what the resolution released is planned today."""
    import duckdb

    from contracts.reasons import BreakCode, BreakResolution
    from reconciliation.breaks import list_breaks, resolve
    from seisan.home_lock import hold_home
    from seisan.steps import gate_step, payments_step, report_step

    if municipality is None:
        return
    settings = officers.settings
    with hold_home(settings.home, f"seisan demo: {APPROVER} works the breaks of {municipality} on {day}",
                   wait_seconds=settings.lock_wait_seconds), duckdb.connect(str(settings.warehouse)) as con:
        # a returned payout's break holds nothing at risk and resolves itself once the payout paying it again
        # is confirmed: it is left to do so
        open_breaks = [b for b in list_breaks(con, status="open", municipality_code=municipality, as_of=day)
                       if b.break_code != BreakCode.BANK_PAYOUT_RETURNED]
        for brk in open_breaks:
            resolve(con, brk.break_id, APPROVER, BreakResolution.ACCEPTED_DIFFERENCE.value,
                    "demo: a fault the simulator injected (faults.json); accepted so that the demo's money moves",
                    dt.datetime.now(dt.UTC))
    if not open_breaks:
        return
    at_risk = sum(b.amount_at_risk_yen or 0 for b in open_breaks)
    gate = gate_step(day, settings)
    payments_step(day, settings)
    report_step(day, settings)
    state = "open" if municipality in gate["open"] else f"still blocked ({', '.join(gate['blocked'][municipality])})"
    progress(f"      breaks {day}: {APPROVER} resolved {len(open_breaks)} open break(s) of {municipality} "
             f"({at_risk:,} yen at risk); its gate is now {state}")


def payout_story(settings: Settings) -> list[str]:
    """What happened to the demo's payouts: counts by state, and each payout returned 振込不能 with the payout
    that paid it again (payments.payouts.requeue_of) and that payout's state."""
    import duckdb

    from reports.merchant_statement import mask_account_number

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        if not con.execute("select count(*) from information_schema.tables "
                           "where table_schema = 'payments' and table_name = 'payouts'").fetchone()[0]:
            return ["  payouts: none planned"]
        states = con.execute("select state, count(*), sum(transfer_yen) from payments.payouts "
                             "group by state order by state").fetchall()
        repaid = con.execute(
            "select r.payout_id, r.merchant_id, r.transfer_date, r.account_number, r.amount_yen, "
            "       n.payout_id, n.transfer_date, n.account_number, n.state "
            "from payments.payouts r left join payments.payouts n on n.requeue_of = r.payout_id "
            "where r.state in ('returned', 'requeued') order by r.transfer_date, r.payout_id").fetchall()
    lines = ["  payouts by state: " + ", ".join(f"{state} {count} ({total:,} yen)" for state, count, total in states)]
    for old_id, merchant, old_day, old_account, amount, new_id, new_day, new_account, new_state in repaid:
        told = (f"paid again as {new_id} on {new_day} to account {mask_account_number(new_account)} ({new_state})"
                if new_id else "not paid again yet (waiting for a corrected account in the merchants master)")
        lines.append(f"  returned 振込不能: {old_id} ({merchant}, {amount:,} yen, {old_day}, account "
                     f"{mask_account_number(old_account)}) → {told}")
    return lines
