"""The payment file: a `PaymentBatch` as a Zengin 総合振込 file (bytes) and the manifest JSON beside it.

One batch is one file: one municipality paying account, one transfer date (FORMATS.md "What seisan sends out").
The Zengin layout is contracts.zengin_transfer's (`write_transfer_file`); names become Zengin kana through
contracts.kana; each data record's EDI情報 carries the payout id. The manifest says what an auditor needs to tie
the file to the ledger without reading it: its SHA-256, count and total, the batch, municipality, dates, every
payout id with its amount and fee, and the officers' signatures (payments.signing adds those).

Everything here is a pure function of the batch, except `write_atomically`: the same batch gives the same bytes,
file name and manifest on every run (no clock, no randomness), so a rerun writes byte-identical files.
This module must never truncate or repair a name or amount that goes to a bank: it raises `PaymentFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.codes import looks_like_my_number
from contracts.kana import FieldClass, to_zengin_kana, zengin_char_problems
from contracts.zengin_transfer import TransferFile, TransferHeader, TransferRecord, format_mmdd, write_transfer_file
from payments.model import PaymentBatch, Payout

MANIFEST_FORMAT = "seisan.payment-manifest/1"
MANIFEST_SUFFIX = ".manifest.json"
FILE_SUFFIX = ".txt"
FEE_BEARERS = ("payer", "payee")
# A payout id travels in EDI情報 C(20) and comes back in returns: ASCII upper case, digits, '-' (model.py).
PAYOUT_ID_RE = re.compile(r"[A-Z0-9-]{1,20}")
# Batch ids and municipality codes become part of a file name: no separators, no dots, bounded.
BATCH_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
MUNICIPALITY_CODE_RE = re.compile(r"[0-9]{6}")
# 12 digits, plain or grouped 4-4-4, whatever the check digit: the shape FORMATS.md treats as a My Number.
TWELVE_DIGITS_RE = re.compile(r"[0-9]{4}(-?)[0-9]{4}\1[0-9]{4}")
TRANSFER_KIND_TELEGRAPHIC = 7  # 振込指定区分 7 (電信): what banks apply anyway (zengin.md §2.4)


class PaymentFileError(ValueError):
    """A batch that cannot become a payment file; the message says which payout or field and why."""


@dataclass(frozen=True, slots=True)
class PaymentFile:
    """One rendered batch: `name` (the file name, no folder), `data` (the Zengin bytes) and `manifest` (the
    manifest fields without any signature: `approved_by` None, `signature` empty)."""

    name: str
    data: bytes
    manifest: dict[str, Any]

    @property
    def manifest_name(self) -> str:
        return manifest_name_for(self.name)


def manifest_name_for(file_name: str) -> str:
    """`<file>.manifest.json` beside `<file>.txt` (the .txt suffix replaced)."""
    stem = file_name[: -len(FILE_SUFFIX)] if file_name.endswith(FILE_SUFFIX) else file_name
    return stem + MANIFEST_SUFFIX


def file_name_for(batch: PaymentBatch) -> str:
    """`<municipality>_<transfer date YYYY-MM-DD>_<batch id>.txt` (docs/payments.md, "Payment files")."""
    if not MUNICIPALITY_CODE_RE.fullmatch(batch.municipality_code):
        raise PaymentFileError(f"municipality code {batch.municipality_code!r} is not 6 digits")
    if not BATCH_ID_RE.fullmatch(batch.batch_id):
        raise PaymentFileError(f"batch id {batch.batch_id!r} is not 1 to 64 letters, digits or '-'")
    return f"{batch.municipality_code}_{batch.transfer_date.isoformat()}_{batch.batch_id}{FILE_SUFFIX}"


def zengin_name(text: str, what: str) -> str:
    """A registered kana name as Zengin PARTY_NAME text (contracts.kana recipe), or PaymentFileError naming
    `what` and every character a bank would refuse. Never truncated: the writer rejects a name too long."""
    converted = to_zengin_kana(text).strip()
    if not converted:
        raise PaymentFileError(f"{what}: the kana name is empty")
    problems = zengin_char_problems(converted, FieldClass.PARTY_NAME)
    if problems:
        raise PaymentFileError(f"{what}: " + "; ".join(problems))
    return converted


def check_payout_id(payout_id: str) -> None:
    """A payout id fit for EDI情報: 1–20 of A–Z, 0–9, '-', and never a 12-digit number (FORMATS.md: a text
    value of 12 digits is treated as a My Number, so a bank file must never carry one)."""
    if not PAYOUT_ID_RE.fullmatch(payout_id):
        raise PaymentFileError(f"payout id {payout_id!r} is not 1 to 20 of A-Z, 0-9 and '-'")
    if looks_like_my_number(payout_id) or TWELVE_DIGITS_RE.fullmatch(payout_id):
        raise PaymentFileError(f"payout id of {len(payout_id)} characters is 12 digits; a bank file never carries"
                               " 12 digits in EDI (they read as a My Number)")


def _check_payout(batch: PaymentBatch, payout: Payout) -> None:
    where = f"payout {payout.payout_id}"
    check_payout_id(payout.payout_id)
    if payout.municipality_code != batch.municipality_code or payout.transfer_date != batch.transfer_date:
        raise PaymentFileError(f"{where} belongs to {payout.municipality_code} on {payout.transfer_date}, not to "
                               f"batch {batch.batch_id} ({batch.municipality_code} on {batch.transfer_date})")
    if payout.fee_bearer not in FEE_BEARERS:
        raise PaymentFileError(f"{where}: fee bearer {payout.fee_bearer!r} is not payer or payee")
    for name in ("amount_yen", "fee_yen", "transfer_yen"):
        value = getattr(payout, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PaymentFileError(f"{where}: {name} {value!r} is not a whole number of yen, 0 or more")
    expected_yen = payout.amount_yen - payout.fee_yen if payout.fee_bearer == "payee" else payout.amount_yen
    if payout.transfer_yen != expected_yen:
        raise PaymentFileError(f"{where}: transfer_yen {payout.transfer_yen} is not amount {payout.amount_yen} "
                               f"minus the fee {payout.fee_yen} borne by the {payout.fee_bearer}")
    if payout.transfer_yen < 1:
        raise PaymentFileError(f"{where}: nothing to transfer ({payout.transfer_yen} yen); it is carried forward, "
                               "never sent")


def _check_batch(batch: PaymentBatch) -> None:
    if not batch.payouts:
        raise PaymentFileError(f"batch {batch.batch_id} has no payouts; a payment file needs at least one")
    ids = [p.payout_id for p in batch.payouts]
    if len(set(ids)) != len(ids):
        raise PaymentFileError(f"batch {batch.batch_id} holds a payout id twice; each payout is paid once")
    if ids != sorted(ids):
        raise PaymentFileError(f"batch {batch.batch_id}: payouts are not in payout_id order")
    for payout in batch.payouts:
        _check_payout(batch, payout)


def transfer_file_of(batch: PaymentBatch) -> TransferFile:
    """The Zengin view of a checked batch: header from the payer, one record per payout with EDI = payout id."""
    _check_batch(batch)
    payer = batch.payer
    header = TransferHeader(
        client_code=payer.client_code, client_name=zengin_name(payer.client_name_kana, "client name"),
        transfer_mmdd=format_mmdd(batch.transfer_date), bank_code=payer.bank_code,
        branch_code=payer.branch_code, account_type=payer.account_type, account_number=payer.account_number)
    records = tuple(
        TransferRecord(bank_code=p.payee.bank_code, branch_code=p.payee.branch_code,
                       account_type=p.payee.account_type, account_number=p.payee.account_number,
                       payee_name=zengin_name(p.payee.holder_kana, f"payout {p.payout_id}: payee name"),
                       amount=p.transfer_yen, edi=p.payout_id, transfer_kind=TRANSFER_KIND_TELEGRAPHIC)
        for p in batch.payouts)
    return TransferFile(header, records)


def render_transfer_bytes(batch: PaymentBatch) -> bytes:
    """The file's bytes (CP932, 120-byte records, CRLF); PaymentFileError for anything a bank must not get."""
    try:
        return write_transfer_file(transfer_file_of(batch))
    except PaymentFileError:
        raise
    except ValueError as error:  # the writer names the field; say which batch
        raise PaymentFileError(f"batch {batch.batch_id}: {error}") from None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_fields(batch: PaymentBatch, name: str, data: bytes, prepared_by: str) -> dict[str, Any]:
    """The manifest before signatures: FORMATS.md's fields (file_sha256, record_count, total, prepared_by,
    approved_by, signature) and what an auditor needs to tie the file to the ledger (docs/payments.md, "Payment
    files")."""
    payouts = batch.payouts
    return {
        "format": MANIFEST_FORMAT,
        "file_name": name,
        "file_sha256": sha256_hex(data),
        "file_bytes": len(data),
        "record_count": len(payouts),  # data records = the trailer's 合計件数
        "total": batch.total_transfer_yen,  # yen = the trailer's 合計金額
        "batch_id": batch.batch_id,
        "municipality_code": batch.municipality_code,
        "business_date": batch.business_date.isoformat(),
        "transfer_date": batch.transfer_date.isoformat(),
        "payer": {"client_code": batch.payer.client_code, "bank_code": batch.payer.bank_code,
                  "branch_code": batch.payer.branch_code, "account_type": batch.payer.account_type,
                  "account_number": batch.payer.account_number},
        "payout_ids": [p.payout_id for p in payouts],
        "payouts": [{"payout_id": p.payout_id, "merchant_id": p.merchant_id, "amount_yen": p.amount_yen,
                     "fee_yen": p.fee_yen, "fee_bearer": p.fee_bearer, "transfer_yen": p.transfer_yen}
                    for p in payouts],
        "amount_total_yen": sum(p.amount_yen for p in payouts),
        "fee_total_yen": sum(p.fee_yen for p in payouts),
        "fee_payer_yen": sum(p.fee_yen for p in payouts if p.fee_bearer == "payer"),
        "fee_payee_yen": sum(p.fee_yen for p in payouts if p.fee_bearer == "payee"),
        "prepared_by": prepared_by,
        "approved_by": None,
        "signature": {},
    }


def render_payment_file(batch: PaymentBatch, prepared_by: str) -> PaymentFile:
    """Bytes, name and unsigned manifest of one batch: a pure function of its arguments."""
    name = file_name_for(batch)
    data = render_transfer_bytes(batch)
    return PaymentFile(name, data, manifest_fields(batch, name, data, prepared_by))


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as written: UTF-8 JSON, keys sorted, two-space indent, final newline (stable bytes)."""
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest from disk; ValueError with a sentence when it is missing, not a manifest, or not byte for byte
    the form `manifest_bytes` writes."""
    try:
        raw = path.read_bytes()
        value = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ValueError(f"there is no manifest {path.name} beside the file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the manifest {path.name} is not valid JSON ({error})") from None
    if not isinstance(value, dict) or value.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"the manifest {path.name} is not a {MANIFEST_FORMAT} manifest")
    if manifest_bytes(value) != raw:
        # seisan writes one spelling only; any other (even whitespace) means someone edited it by hand
        raise ValueError(f"the manifest {path.name} is not in the form seisan writes; it was edited by hand")
    return value


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `path` so that no reader ever sees part of it: a temporary file in the same folder (a dot name no
    one picks up), fsync, rename over `path`, fsync the folder. A kill at any point leaves either the old file
    or the new one, and at worst a stray temporary dot-file (payments.file_steps removes those under its lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # one temporary name per process: two writers never share (and truncate) one temporary file
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
