"""`seisan audit verify | pack` and `seisan trace` (docs/audit.md): what auditors run.

    seisan audit verify [--expect TABLE=SEQ:HASH ...] [--json]   both hash chains and every recorded output
    seisan audit pack --month YYYY-MM                              out/audit-pack/<YYYY-MM>/ and its zip
    seisan trace payout|item|event|break ID [--json]               back to the inbox lines and step runs
    seisan trace terminal TERMINAL_ID SEQ | auth AUTH_ID [--json]  from a terminal record
    seisan trace file PATH|SHA256 [--json]                         forward: every yen an inbox file moved

The work is the `audit` package's; this is wiring and display only. verify and trace read the warehouse
read-only under the home's shared lock; pack holds the home (it writes out/audit-pack/ and records the pack in
audit.outputs). Every text value shown has its control characters made visible and any My Number masked.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from seisan.cli_common import holding_home, say
from seisan.config import Settings, load_settings


@contextmanager
def _warehouse(settings: Settings, command: str, *, read_only: bool) -> Iterator[Any]:
    import duckdb

    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan run --date D` first")
    with holding_home(settings, command, shared=read_only), \
            duckdb.connect(str(settings.warehouse), read_only=read_only) as con:
        yield con


def _expectations(values: list[str]) -> dict[str, str]:
    found = {}
    for value in values or []:
        table, sep, head = value.partition("=")
        if not sep:
            raise ValueError(f"--expect {value!r}: write TABLE=SEQ:HASH, e.g. audit.step_runs=42:<64 hex digits>")
        found[table.strip()] = head.strip()
    return found


def cmd_verify(args: argparse.Namespace) -> int:
    from audit.verify import verify_audit
    from contracts.codes import mask_my_numbers

    settings = load_settings()
    with _warehouse(settings, "seisan audit verify", read_only=True) as con:
        check = verify_audit(con, settings.home, expect_heads=_expectations(args.expect))
    heads = {"audit.step_runs": check.step_runs_head, "audit.outputs": check.outputs_head}
    if args.json:
        say(json.dumps({"ok": check.ok, "problems": [{"code": p.code, "sentence": mask_my_numbers(p.sentence)}
                                                      for p in check.problems],
                        "heads": {t: {"seq": h.seq, "row_hash": h.row_hash, "rows": h.rows} for t, h in heads.items()},
                        "outputs_checked": check.outputs_checked}, ensure_ascii=False, indent=2))
        return 0 if check.ok else 1
    for problem in check.problems:
        say(_shown(f"PROBLEM [{problem.code}] {problem.sentence}"))
    for table, head in heads.items():
        say(f"{table}: {head.rows} rows, head seq {head.seq} row_hash {head.row_hash}")
    say(f"outputs: {check.outputs_checked} recorded file(s) hashed again")
    if check.ok:
        say("audit verify: OK — both chains recompute and every recorded output has its recorded SHA-256 "
            "(note the heads above somewhere outside the warehouse; `--expect` checks them later)")
        return 0
    say(f"audit verify: FAILED — {len(check.problems)} problem(s) (監査証跡の不整合)")
    return 1


def audit_pack(settings: Settings, month: str) -> tuple[Any, bool]:
    """Write the month's audit pack and record it in audit.outputs; (the pack, whether a new version was recorded).
    The caller holds the home."""
    import duckdb

    from audit import record_outputs
    from audit.pack import build_pack, month_bounds

    _, last = month_bounds(month)
    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `seisan run --date D` first")
    with duckdb.connect(str(settings.warehouse)) as con:
        pack = build_pack(con, month, home=settings.home, out_dir=settings.out_dir)
        recorded = record_outputs(con, [pack.zip_path, pack.folder / "SHA256SUMS"], kind="audit_pack",
                                  business_date=last, base_dir=settings.home, step="audit_pack")
    return pack, bool(recorded)


def cmd_pack(args: argparse.Namespace) -> int:
    from audit.pack import month_bounds

    settings = load_settings()
    first, last = month_bounds(args.month)
    with holding_home(settings, f"seisan audit pack --month {args.month}"):
        pack, recorded = audit_pack(settings, args.month)
    say(f"audit pack for {args.month} ({first} – {last}, 監査パック): {pack.folder} ({len(pack.files)} files)")
    say(f"zip: {pack.zip_path}")
    say("recorded in audit.outputs" if recorded else "identical to the pack recorded before: nothing new recorded")
    say(f"check it: read {pack.folder / 'README.md'}; `sha256sum -c SHA256SUMS` in the folder")
    return 0


# --- trace ---------------------------------------------------------------------------------------------------
LABELS = {
    "payment_files": "payment files (振込ファイル)",
    "payouts": "payouts (振込)",
    "statements": "statements (精算確定)",
    "settlement_items": "settlement items (精算明細)",
    "ledger_events": "ledger events (ポイント取引)",
    "terminal_records": "terminal records (端末記録)",
    "breaks": "breaks (不一致)",
    "bank_checks": "bank checks (入金照合)",
    "files": "inbox files and lines (受領ファイル・行)",
    "step_runs": "step runs (実行記録)",
    "outputs": "recorded outputs (出力記録)",
}


def _shown(text: str) -> str:
    from contracts.codes import mask_my_numbers
    from reports.officer_csv import show_controls

    return show_controls(mask_my_numbers(text) or "")


def _yen(value: Any) -> str:
    return "-" if value is None else f"{value:,} yen"


def _row_line(section: str, r: dict[str, Any]) -> str:
    if section == "payment_files":
        return (f"{r['file_path'] or '(no file yet)'} batch {r['batch_id']} municipality {r['municipality_code']} "
                f"transfer {r['transfer_date']}, {r['payout_count']} payouts {_yen(r['total_transfer_yen'])}, "
                f"sha256 {r['file_sha256']}, prepared by {r['prepared_by']}, approved by {r['approved_by']}, "
                f"exported {r['exported_at']}")
    if section == "payouts":
        return (f"{r['payout_id']} merchant {r['merchant_id']} ({r['municipality_code']}) planned {r['business_date']} "
                f"transfer {r['transfer_date']}: owed {_yen(r['amount_yen'])}, fee {_yen(r['fee_yen'])} "
                f"({r['fee_bearer']}), transferred {_yen(r['transfer_yen'])}, {r['state']}, batch {r['batch_id']}")
    if section == "statements":
        return (f"{r['statement_id']} merchant {r['merchant_id']} {r['period_start_date']}..{r['period_end_date']} "
                f"{_yen(r['amount_yen'])}, frozen {r['frozen_on']}")
    if section == "settlement_items":
        return (f"{r['settlement_item_id']} merchant {r['merchant_id']} ({r['municipality_code']}) "
                f"{r['period_start_date']}..{r['period_end_date']} {r['settlement_status']}: {r['use_count']} uses, "
                f"{r['cancel_count']} cancels, {_yen(r['amount_yen'])}")
    if section == "ledger_events":
        return (f"{r['event_id']} {r['event_type']} {r['event_ts']} {_yen(r['amount_yen'])} mykey {r['mykey_id']} "
                f"merchant {r['merchant_id'] or '-'} auth {r['auth_id'] or '-'} — line {r['line_number']} of "
                f"{r['file_sha256']}")
    if section == "terminal_records":
        return (f"{r['terminal_id']} seq {r['seq']} {r['record_type']} {r['ts']} {_yen(r['amount_yen'])} auth "
                f"{r['auth_id']} — line {r['line_number']} of {r['file_sha256']}")
    if section == "breaks":
        return (f"{r['break_id']} {r['break_code']} {r['status']} {r['business_date']} ({r['municipality_code']}), "
                f"{_yen(r['amount_at_risk_yen'])} at risk")
    if section == "bank_checks":
        return (f"{r['check_id']} {r['check_code']} {r['run_date']} payout {r['payout_id']} expected "
                f"{_yen(r['expected_yen'])} actual {_yen(r['actual_yen'])}, line {r['line_number']}")
    if section == "step_runs":
        return (f"seq {r['seq']} {r['step']} for {r['business_date']}, {r['started_at']} .. {r['finished_at']}, "
                f"row_hash {r['row_hash']}")
    if section == "outputs":
        return f"seq {r['seq']} {r['path']} ({r['kind']}, {r['business_date']}) sha256 {r['sha256']} by {r['step']}"
    return json.dumps(r, ensure_ascii=False)


def _file_lines(trace, inbox, archive=None) -> list[str]:
    from ingestion.archive import located

    lines_by_file: dict[str, list[str]] = {}
    for line in trace.sections.get("lines", []):
        where = "whole file" if line["line_number"] is None else f"line {line['line_number']}"
        lines_by_file.setdefault(line["file_sha256"], []).append(f"{where} ({line['row']})")
    out = []
    for f in trace.sections.get("files", []):
        where = located(inbox, archive, f["inbox_path"], f["file_sha256"])
        out.append(f"{where} — sha256 {f['file_sha256']}, {f['source']}/{f['kind']} for "
                   f"{f['business_date']}, {f['status']}, first ingested by the run of {f['ingest_run_date']}")
        out += [f"    {entry}" for entry in lines_by_file.get(f["file_sha256"], [])]
    return out


def format_trace(trace, inbox, archive=None) -> str:
    arrow = "back to the inbox" if trace.direction == "back" else "forward to every yen it moved"
    out = [f"trace {trace.start['kind']} {trace.start['id']}, {arrow} (追跡)"]
    for section in ("payment_files", "payouts", "statements", "settlement_items", "ledger_events",
                    "terminal_records", "breaks", "bank_checks", "files", "step_runs", "outputs"):
        rows = trace.sections.get(section, [])
        if not rows and section not in ("payouts", "settlement_items", "ledger_events", "files"):
            continue
        out.append(f"{LABELS[section]}: {len(rows)}")
        body = _file_lines(trace, inbox, archive) if section == "files" else [_row_line(section, r) for r in rows]
        out += [f"  {line}" for line in body]
    totals = trace.totals()
    out.append(f"totals: ledger events {_yen(totals['ledger_events_yen'])}; settlement items "
               f"{_yen(totals['settlement_items_yen'])}; payouts transferred {_yen(totals['payouts_transfer_yen'])}")
    out += [f"note: {note}" for note in trace.notes]
    return "\n".join(_shown(line) for line in out)


def cmd_trace(args: argparse.Namespace) -> int:
    from audit.trace import trace_back, trace_forward

    settings = load_settings()
    if args.kind == "terminal" and args.seq is None:
        raise ValueError("trace terminal needs the record's terminal id and seq: seisan trace terminal T12345678 42")
    with _warehouse(settings, "seisan trace", read_only=True) as con:
        trace = trace_forward(con, args.id) if args.kind == "file" else \
            trace_back(con, args.kind, args.id, args.seq if args.kind == "terminal" else None)
    if args.json:
        say(json.dumps(trace.as_json(), ensure_ascii=False, indent=2))
    else:
        say(format_trace(trace, settings.inbox, settings.archive_dir))
    found = any(trace.sections.get(s) for s in ("payouts", "settlement_items", "ledger_events", "terminal_records",
                                                  "breaks", "files"))
    return 0 if found else 1


def add_audit_commands(commands) -> None:
    """Add `seisan audit verify|pack` and `seisan trace` to the command line's sub-commands."""
    audit = commands.add_parser("audit", help="verify the tamper-evident audit trail; pack a month for auditors",
                                description="The audit trail (docs/audit.md): audit.step_runs and audit.outputs "
                                            "are hash-chained; every output seisan writes is recorded with its "
                                            "SHA-256.")
    actions = audit.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="recompute both hash chains and every recorded output's SHA-256",
                                description="Recompute audit.step_runs' and audit.outputs' hash chains and hash "
                                            "every recorded output again; name each edited, deleted or inserted "
                                            "row and each changed or missing file. Exit 1 when anything is wrong.")
    verify.add_argument("--expect", action="append", metavar="TABLE=SEQ:HASH",
                        help="a head noted earlier (by verify, or in an audit pack's README): that row must still "
                             "be in the chain unchanged; repeatable")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(handler=cmd_verify)
    pack = actions.add_parser("pack", help="one folder and a zip with everything an auditor asks for about a month",
                              description="Write out/audit-pack/<YYYY-MM>/ and <YYYY-MM>.zip beside it: data-quality "
                                          "results and Data Docs, breaks and their histories, gate decisions, "
                                          "payment files with manifests and signatures, reports, the month's "
                                          "audit rows and a README saying how to check each. Deterministic.")
    pack.add_argument("--month", required=True, help="the month, YYYY-MM")
    pack.set_defaults(handler=cmd_pack)

    trace = commands.add_parser("trace", help="trace a payout, item, event, terminal record or break to its inbox "
                                              "lines, or an inbox file to every yen it moved",
                                description="Back: payout PAYOUT_ID, item SETTLEMENT_ITEM_ID, event EVENT_ID, "
                                            "terminal TERMINAL_ID SEQ, auth AUTH_ID, break BREAK_ID — to the rows, "
                                            "inbox files (sha256, path, line) and step runs behind it. Forward: "
                                            "file PATH|SHA256 (path relative to the inbox) — to the ledger events, "
                                            "settlement items, statements, payouts and payment files it moved.")
    trace.add_argument("kind", choices=("payout", "item", "event", "terminal", "auth", "break", "file"))
    trace.add_argument("id", help="the id (a terminal id for `terminal`; a path or SHA-256 for `file`)")
    trace.add_argument("seq", nargs="?", type=int, default=None, help="the record's seq (for `terminal` only)")
    trace.add_argument("--json", action="store_true", help="print the trace as JSON")
    trace.set_defaults(handler=cmd_trace)
