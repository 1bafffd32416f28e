"""`seisan payments prepare | approve | verify | export` and `seisan officer init` (docs/payments.md, "Payment files").

seisan/cli.py adds them to the `payments` group (seisan/cli_payments_plan.py) and the top level.
Each handler returns the exit status: 0 done, 1 refused or failed (every refusal printed as one sentence).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seisan.cli_common import date_arg as _date
from seisan.cli_common import say as _say
from seisan.config import load_settings


def _refused(name: str, refusals) -> None:
    for refusal in refusals:
        print(f"seisan: {name}: {refusal.sentence} [{refusal.code}]", file=sys.stderr)


def cmd_prepare(args: argparse.Namespace) -> int:
    from seisan.payments_file_steps import officer_of, prepare_payment_files

    settings = load_settings()
    officer = officer_of(settings, args.officer)
    prepared = prepare_payment_files(settings, args.date, officer, municipality_code=args.municipality,
                                     key_dir=args.key_dir)
    for item in prepared:
        _say(f"{item.outcome}: {item.path} (+ {item.manifest_path.name}), signed by {officer} as preparer")
    _say(f"{len(prepared)} payment file(s) for {args.date}; a different officer approves each with "
         "`seisan payments approve FILE`")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from payments.signing import SigningRefused
    from seisan.payments_file_steps import approve_payment_file, officer_of

    settings = load_settings()
    officer = officer_of(settings, args.officer)
    try:
        written = approve_payment_file(settings, args.file, officer, args.key_dir)
    except SigningRefused as refused:
        _refused(args.file.name, refused.refusals)
        return 1
    _say(f"{'approved' if written else 'already approved'}: {args.file.name} by {officer}")
    return 0


def cmd_sign_approval(args: argparse.Namespace) -> int:
    from payments.signing import SigningRefused
    from seisan.payments_file_steps import approval_signature_of, officer_of

    settings = load_settings()
    officer = officer_of(settings, args.officer)
    try:
        signature = approval_signature_of(settings, args.file, officer, args.key_dir)
    except SigningRefused as refused:
        _refused(args.file.name, refused.refusals)
        return 1
    print(signature, flush=True)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from seisan.payments_file_steps import verify_payment_file

    check = verify_payment_file(load_settings(), args.file)
    if not check.ok:
        _refused(args.file.name, check.refusals)
        return 1
    _say(f"verified: {args.file.name} — bytes, totals, preparer's and approver's signatures")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from seisan.payments_file_steps import export_payment_files

    settings = load_settings()
    result = export_payment_files(settings, args.date, args.to, municipality_code=args.municipality,
                                  actor=args.officer or settings.officer_id or "seisan")
    for name in result.exported:
        _say(f"handed over: {name} -> {args.to or settings.payments_export_dir}")
    for name in result.already_exported:
        _say(f"already handed over earlier (not again): {name}")
    for name, refusals in result.refused:
        _refused(name, refusals)
    return 1 if result.refused else 0


def cmd_officer_init(args: argparse.Namespace) -> int:
    from payments.officers import init_officer_key
    from seisan.config import REPO_ROOT

    settings = load_settings()
    path, block = init_officer_key(args.key_dir or settings.officer_key_dir, args.id, args.name,
                                   repository_root=REPO_ROOT)
    _say(f"wrote the private key of {args.id} to {path} (mode 0600; never share or commit it)")
    _say(f"paste this into the officer registry {settings.officers_file}, choosing the roles:\n")
    _say(block)
    return 0


def _officer_options(parser: argparse.ArgumentParser, key_dir: bool = True) -> None:
    parser.add_argument("--officer", default=None, help="officer id (default: [officer] id in seisan.toml)")
    if key_dir:
        parser.add_argument("--key-dir", type=Path, default=None,
                            help="folder of the officer's private key (default: [officer] key_dir)")


def add_payments_file_commands(payments_subparsers) -> None:
    """prepare, approve, verify, export under `seisan payments`."""
    prepare = payments_subparsers.add_parser(
        "prepare", help="write and sign (as preparer) the day's Zengin payment files",
        description="Plan the day's payment batches (gate open, periods closed) and write one Zengin 総合振込 "
                    "file per municipality account and transfer date to out/<D>/payments/, with its manifest "
                    "signed by you as preparer. Running it again writes byte-identical files.")
    prepare.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    prepare.add_argument("--municipality", default=None, help="only this municipality code")
    _officer_options(prepare)
    prepare.set_defaults(handler=cmd_prepare)

    approve = payments_subparsers.add_parser(
        "approve", help="add the second signature (approver) to a prepared file",
        description="Verify FILE and its manifest, then sign it as approver. You must be a registered approver "
                    "and not the officer who prepared it.")
    approve.add_argument("file", type=Path, help="the payment file (.txt) under out/<D>/payments/")
    _officer_options(approve)
    approve.set_defaults(handler=cmd_approve)

    sign = payments_subparsers.add_parser(
        "sign-approval", help="print your approval signature of a file, for the console (key stays here)",
        description="Verify FILE and the manifest beside it (downloaded from the console's Payments page), sign "
                    "it as approver with your own key on this machine, and print the signature (base64) to paste "
                    "into the console. Nothing is written; the console verifies the signature before it keeps it.")
    sign.add_argument("file", type=Path, help="the payment file (.txt), with its .manifest.json beside it")
    _officer_options(sign)
    sign.set_defaults(handler=cmd_sign_approval)

    verify = payments_subparsers.add_parser(
        "verify", help="check a payment file's bytes, totals and both signatures",
        description="Check FILE against its manifest: SHA-256, count, total and payout ids read back by the "
                    "independent reader, both signatures, registered officers and roles.")
    verify.add_argument("file", type=Path, help="the payment file (.txt)")
    verify.set_defaults(handler=cmd_verify)

    export = payments_subparsers.add_parser(
        "export", help="hand verified, doubly signed files to the bank folder, once each",
        description="Copy every verified, doubly signed payment file of the day (and its manifest) to DIR, "
                    "record it in out/<D>/payments/exports.json and mark its payouts issued. A file handed over "
                    "once is never handed over again.")
    export.add_argument("--date", type=_date, required=True, help="business date, YYYY-MM-DD")
    export.add_argument("--to", type=Path, default=None, help="hand-over folder (default: [payments] export_dir)")
    export.add_argument("--municipality", default=None, help="only this municipality code")
    export.add_argument("--officer", default=None, help="who exports (recorded as the ledger's actor)")
    export.set_defaults(handler=cmd_export)


def add_officer_commands(commands) -> None:
    """`seisan officer init`."""
    officer = commands.add_parser("officer", help="officer keys for signing payment files")
    sub = officer.add_subparsers(dest="officer_command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", help="make an officer's Ed25519 key and print the registry block",
                          description="Write a new private key for officer ID (mode 0600, outside any git "
                                      "repository) and print the public key block to paste into the officer "
                                      "registry.")
    init.add_argument("--id", required=True, help="officer id, e.g. OFF-SATO")
    init.add_argument("--name", required=True, help="the officer's name")
    init.add_argument("--key-dir", type=Path, default=None,
                      help="folder for the private key (default: [officer] key_dir)")
    init.set_defaults(handler=cmd_officer_init)
