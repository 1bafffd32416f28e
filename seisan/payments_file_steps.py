"""Payment files from the configuration's point of view: which folders, registry, keys and officer to use, and
the ledger around them: prepare takes the batches payout planning made (payments.planning.plan_batches) and marks
their payouts batched once their file is on disk; export marks them issued once their file is handed over
(payments.ledger, both idempotent, so a rerun after a kill heals the ledger instead of moving anything twice).

Used by the `seisan payments …` commands (seisan/cli_payments_file.py) and by the DAG `payments_approval`
(dags/payments_approval.py). The work itself is payments.file_steps'; this module only resolves and wires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from payments.file_steps import (
    EXPORTS_RECORD,
    ExportResult,
    PreparedFile,
    approve_file,
    export_files,
    payment_files,
    prepare_batches,
    read_exports,
    verify_file,
)
from payments.files import manifest_name_for, read_manifest
from payments.ledger import batch_payout_ids, mark_batched, mark_issued
from payments.model import PaymentBatch
from payments.officers import Registry, load_private_key, load_registry
from payments.planning import plan_batches
from payments.schema import ensure_schema
from payments.signing import Verification
from seisan.config import ConfigError, Settings
from seisan.steps import record_written

SUMMARY_PAYOUTS_SHOWN = 20  # the approval summary lists at most this many payouts (then "… and N more")


def payments_dir(settings: Settings, business_date: dt.date) -> Path:
    """out/<D>/payments: where the day's payment files and manifests are written."""
    return settings.out_dir / business_date.isoformat() / "payments"


def officer_of(settings: Settings, officer: str | None) -> str:
    """`--officer`, else `[officer] id`; ConfigError when neither names one."""
    chosen = (officer or settings.officer_id or "").strip()
    if not chosen:
        raise ConfigError("no officer given: pass --officer ID or set [officer] id in seisan.toml")
    return chosen


def registry_of(settings: Settings) -> Registry:
    return load_registry(settings.officers_file)


def key_of(settings: Settings, officer_id: str, key_dir: Path | None = None):
    return load_private_key(key_dir or settings.officer_key_dir, officer_id)


def _warehouse(settings: Settings):
    """The warehouse, or FileNotFoundError saying what to run first (planning needs the day's marts and gate)."""
    import duckdb

    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}, so payout planning has nothing to plan: "
                                f"run the day first (seisan run --date D), then prepare")
    return duckdb.connect(str(settings.warehouse))


def prepare_payment_files(settings: Settings, business_date: dt.date, officer_id: str, *,
                          municipality_code: str | None = None, key_dir: Path | None = None,
                          batches: Sequence[PaymentBatch] | None = None,
                          now: dt.datetime | None = None) -> list[PreparedFile]:
    """Prepare the day's payment files, signed by `officer_id`: the batches payout planning made for D (planned
    now if not yet), their payouts marked batched in the ledger once each file is on disk. `batches` given
    instead: files for those batches only, outside the ledger (a file tool, used by tests)."""
    registry = registry_of(settings)
    private_key = key_of(settings, officer_id, key_dir)
    if batches is not None:
        chosen = [b for b in batches if municipality_code in (None, b.municipality_code)]
        prepared = prepare_batches(chosen, payments_dir(settings, business_date), officer_id, private_key, registry)
        _record_prepared(settings, business_date, prepared)
        return prepared
    at = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    with _warehouse(settings) as con:
        planned = plan_batches(con, business_date, municipality=municipality_code, now=at)
        prepared = prepare_batches(planned, payments_dir(settings, business_date), officer_id, private_key,
                                   registry)
        files = {m["batch_id"]: (p, m) for p in prepared for m in [read_manifest(p.manifest_path)]}
        for batch in planned:  # after every file is written and verified: batched means "in a file on disk"
            path, manifest = files[batch.batch_id]
            mark_batched(con, batch, officer_id, at, file_path=_home_relative(settings, path.path),
                         file_sha256=manifest["file_sha256"])
    _record_prepared(settings, business_date, prepared)
    return prepared


def _home_relative(settings: Settings, path: Path) -> str:
    """A written file's path as payments.batches keeps it: relative to SEISAN_HOME when inside it."""
    try:
        return path.resolve().relative_to(settings.home.resolve()).as_posix()
    except ValueError:
        return str(path)


def _record_prepared(settings: Settings, business_date: dt.date, prepared: Sequence[PreparedFile]) -> None:
    record_written(settings, business_date, "payments_prepare",
                    [([p.path for p in prepared], "payment_file"),
                     ([p.manifest_path for p in prepared], "payment_manifest")])


def approve_payment_file(settings: Settings, path: Path, officer_id: str, key_dir: Path | None = None) -> bool:
    """Sign `path`'s manifest as approver; the signed manifest (a new version of it) goes to audit.outputs."""
    written = approve_file(path, officer_id, key_of(settings, officer_id, key_dir), registry_of(settings))
    manifest_path = path.with_name(manifest_name_for(path.name))
    business_date = read_manifest(manifest_path).get("business_date")
    record_written(settings, dt.date.fromisoformat(business_date) if business_date else None, "payments_approve",
                    [([manifest_path], "payment_manifest")])
    return written


def approval_signature_of(settings: Settings, path: Path, officer_id: str, key_dir: Path | None = None) -> str:
    """The detached approval signature of `officer_id` for the file at `path` (and the manifest beside it), made
    with the officer's own key: what the console's approval form takes (console/payments_view.py)."""
    from payments.signing import approval_signature

    manifest = read_manifest(path.with_name(manifest_name_for(path.name)))
    return approval_signature(manifest, path.read_bytes(), officer_id, key_of(settings, officer_id, key_dir),
                              registry_of(settings))


def verify_payment_file(settings: Settings, path: Path) -> Verification:
    return verify_file(path, registry_of(settings))


def _mark_issued_callback(settings: Settings, now: dt.datetime, actor: str):
    """After a file is handed over (now or by an earlier, killed export): its batch's payouts become issued.
    Files of batches the ledger never planned (made from given batches) have nothing to mark."""
    if not settings.warehouse.is_file():
        return None

    def on_exported(manifest: dict[str, Any]) -> None:
        import duckdb

        with duckdb.connect(str(settings.warehouse)) as con:
            ensure_schema(con)
            if batch_payout_ids(con, manifest["batch_id"]):
                mark_issued(con, manifest["batch_id"], actor, now.replace(tzinfo=None),
                            approved_by=manifest.get("approved_by"))

    return on_exported


def export_payment_files(settings: Settings, business_date: dt.date, to_dir: Path | None = None, *,
                         municipality_code: str | None = None, now: dt.datetime | None = None,
                         actor: str = "seisan", decided_by: str | None = None) -> ExportResult:
    """Hand the day's verified, doubly signed files to the bank folder, once each; tell the ledger."""
    now = now or dt.datetime.now(dt.UTC)
    to_dir = to_dir or settings.payments_export_dir
    folder = payments_dir(settings, business_date)
    result = export_files(folder, to_dir, registry_of(settings), now=now, municipality_code=municipality_code,
                          on_exported=_mark_issued_callback(settings, now, actor), decided_by=decided_by)
    handed = [to_dir / name for file_name in (*result.exported, *result.already_exported)
              for name in (file_name, manifest_name_for(file_name)) if (to_dir / name).is_file()]
    record = [folder / EXPORTS_RECORD] if (folder / EXPORTS_RECORD).is_file() else []
    record_written(settings, business_date, "payments_export",
                    [(handed, "payment_export"), (record, "payment_exports_record")])
    return result


def payout_summary(manifest: dict[str, Any]) -> str:
    """What an approver needs to decide, as Markdown lines: who is paid what, fees, totals, who prepared."""
    payouts = manifest["payouts"]
    lines = [
        f"**{manifest['file_name']}** — municipality {manifest['municipality_code']}, transfer date "
        f"{manifest['transfer_date']} (business date {manifest['business_date']})",
        f"- {manifest['record_count']} payouts, total transferred **{manifest['total']:,} yen**; owed "
        f"{manifest['amount_total_yen']:,} yen; fees {manifest['fee_total_yen']:,} yen "
        f"(municipality bears {manifest['fee_payer_yen']:,}, merchants {manifest['fee_payee_yen']:,})",
        f"- prepared by {manifest['prepared_by']}; approved by {manifest['approved_by'] or '(nobody yet)'}",
        f"- file SHA-256 {manifest['file_sha256']}",
        "",
        "| payout | merchant | owed yen | fee yen | fee borne by | transferred yen |",
        "| --- | --- | ---: | ---: | --- | ---: |",
    ]
    lines += [f"| {p['payout_id']} | {p['merchant_id']} | {p['amount_yen']:,} | {p['fee_yen']:,} | "
              f"{p['fee_bearer']} | {p['transfer_yen']:,} |" for p in payouts[:SUMMARY_PAYOUTS_SHOWN]]
    if len(payouts) > SUMMARY_PAYOUTS_SHOWN:
        lines.append(f"| … and {len(payouts) - SUMMARY_PAYOUTS_SHOWN} more | | | | | |")
    return "\n".join(lines)


def approval_requests(settings: Settings, business_date: dt.date) -> list[dict[str, str]]:
    """One approval request per municipality with files not yet handed over: subject, body (the payout summary
    and the command the approver runs to sign) and the municipality code."""
    folder = payments_dir(settings, business_date)
    exported = read_exports(folder)
    by_municipality: dict[str, list[Path]] = {}
    for path in payment_files(folder):
        if path.name not in exported:
            municipality = read_manifest(path.with_name(manifest_name_for(path.name)))["municipality_code"]
            by_municipality.setdefault(municipality, []).append(path)
    requests = []
    for municipality, paths in sorted(by_municipality.items()):
        summaries = [payout_summary(read_manifest(p.with_name(manifest_name_for(p.name)))) for p in paths]
        commands = "\n".join(f"    seisan payments approve {p}" for p in paths)
        requests.append({
            "municipality_code": municipality,
            "subject": f"Payments of municipality {municipality} for business date {business_date}",
            "body": "\n\n".join(summaries) + "\n\nSign first (your own key, on your own machine), then choose "
                    "Approve; only files with both signatures are handed to the bank:\n\n" + commands,
        })
    return requests


def decide_on_command_line(settings: Settings, business_date: dt.date, officer_id: str, *,
                           ask: Callable[[str], str] = input, say: Callable[[str], None] = print) -> list[Path]:
    """`seisan run`'s counterpart of the DAG's approval: show each unapproved file's summary and ask officer
    `officer_id` to approve it (y) or leave it (anything else); returns the files approved now."""
    approved = []
    for path in payment_files(payments_dir(settings, business_date)):
        manifest = read_manifest(path.with_name(manifest_name_for(path.name)))
        if manifest.get("approved_by") is not None:
            continue
        say(payout_summary(manifest))
        if ask(f"Approve {path.name} as {officer_id}? [y/N] ").strip().lower() in ("y", "yes"):
            approve_payment_file(settings, path, officer_id)
            approved.append(path)
            say(f"approved {path.name}")
        else:
            say(f"left {path.name} unapproved")
    return approved


# --- the DAG payments_approval (dags/payments_approval.py) ---------------------------------------------------
APPROVE, REJECT = "Approve", "Reject"


def business_date_for_payments(params: dict[str, Any] | None, logical_date: dt.datetime | None,
                               triggering_asset_events: Any = None) -> dt.date:
    """The business date of a payments_approval run: its `business_date` param; else the `business_date` extra
    of the settlement_daily asset event that triggered it; else the day before the logical date (JST)."""
    from seisan.steps import business_date_of_run

    if not str((params or {}).get("business_date") or "").strip() and triggering_asset_events:
        for events in triggering_asset_events.values():
            for event in events:
                chosen = (getattr(event, "extra", None) or {}).get("business_date")
                if chosen:
                    return dt.date.fromisoformat(str(chosen))
    return business_date_of_run(params, logical_date)


def prepare_step(business_date: dt.date, settings: Settings | None = None) -> list[dict[str, str]]:
    """The DAG's prepare: plan and prepare the day's files as `[officer] id` (the service preparer), then one
    approval request per municipality (subject, body with the payout summary, municipality_code)."""
    from seisan.config import load_settings
    from seisan.home_lock import hold_home

    settings = settings or load_settings()
    with hold_home(settings.home, f"seisan payments prepare --date {business_date}",
                   wait_seconds=settings.lock_wait_seconds):
        prepare_payment_files(settings, business_date, officer_of(settings, None))
        return approval_requests(settings, business_date)


def export_step(business_date: dt.date, requests: Sequence[dict[str, str]], decisions: Sequence[Any] | None,
                settings: Settings | None = None) -> dict[str, Any]:
    """The DAG's export: hand over the files of each municipality whose approval request was answered Approve
    (decisions are the HITL outputs, in the order of `requests`); the files must carry both signatures."""
    from seisan.config import load_settings
    from seisan.home_lock import hold_home

    settings = settings or load_settings()
    summary: dict[str, Any] = {"exported": [], "already_exported": [], "refused": {}, "rejected": []}
    with hold_home(settings.home, f"seisan payments export --date {business_date}",
                   wait_seconds=settings.lock_wait_seconds):
        for request, decision in zip(requests, list(decisions or []), strict=False):
            municipality = request["municipality_code"]
            if APPROVE not in (decision or {}).get("chosen_options", []):
                summary["rejected"].append(municipality)
                continue
            user = (decision.get("responded_by_user") or {})
            result = export_payment_files(settings, business_date, municipality_code=municipality,
                                          decided_by=str(user.get("id") or user.get("name") or "") or None)
            summary["exported"] += result.exported
            summary["already_exported"] += result.already_exported
            summary["refused"].update({name: [r.sentence for r in rs] for name, rs in result.refused})
    return summary


def payments_on_command_line(settings: Settings, business_date: dt.date, approver_id: str, *,
                             ask: Callable[[str], str] = input, say: Callable[[str], None] = print,
                             batches: Sequence[PaymentBatch] | None = None) -> ExportResult:
    """What `seisan run --date D` does after settlement_daily, in place of the DAG's human-in-the-loop wait:
    prepare D's files as the service preparer `[officer] id`, ask approver `approver_id` about each one (the
    payout summary, then y/N), and hand over the approved ones. `batches` replaces planning (tests)."""
    prepare_payment_files(settings, business_date, officer_of(settings, None), batches=batches)
    decide_on_command_line(settings, business_date, approver_id, ask=ask, say=say)
    result = export_payment_files(settings, business_date, actor=approver_id, decided_by=approver_id)
    for name in result.exported:
        say(f"handed over {name} to {settings.payments_export_dir}")
    return result
