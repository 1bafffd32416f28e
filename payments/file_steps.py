"""The life of a payment file on disk: prepare (write + preparer's signature), approve (second signature),
verify, export (hand over to the bank folder), each safe to kill at any instant and to run again.

Layout: `<out>/<D>/payments/<municipality>_<transfer date>_<batch id>.txt` and `….manifest.json` beside it;
`exports.json` in the same folder records what was handed over (file, SHA-256, where, when, batch, payout ids).

Why a kill cannot do harm:
- every file is written by `payments.files.write_atomically` (temporary dot-file, fsync, rename): a final name
  holds either nothing or a complete file;
- prepare writes the Zengin file before its manifest, and never overwrites either with other content: a rerun
  finds the same bytes (the batch renders identically) and writes only what is missing;
- export copies the manifest, then the file (the file's name appearing is the hand-over), then records it; a
  rerun that finds the file already in the hand-over folder with the same SHA-256 only records it, and a file
  recorded as exported is never copied again, to any folder.
This module takes paths, keys and the registry from its caller; it never reads configuration.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts.reasons import PaymentRefusal
from payments.files import (
    FILE_SUFFIX,
    PaymentFileError,
    manifest_bytes,
    manifest_name_for,
    read_manifest,
    render_payment_file,
    sha256_hex,
    write_atomically,
)
from payments.model import PaymentBatch
from payments.officers import Registry
from payments.signing import (
    Refusal,
    SigningRefused,
    Verification,
    approve,
    sign_as_preparer,
    signed_fields,
    verify,
    with_approval_signature,
)

EXPORTS_RECORD = "exports.json"
LOCK_FILE = ".payments.lock"


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the payments folder for one prepare, approve or export (two approvers at once must not both read
    the unapproved manifest and both write it); the kernel drops the lock when a holder is killed. Temporary
    dot-files left by a killed writer are removed while the lock is held: nobody else is writing then."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        for stray in folder.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """One prepared batch: the file's path, its manifest's path, the batch's municipality, and what this run
    did (`written`: file and/or manifest written now; `unchanged`: both were there already, identical)."""

    path: Path
    manifest_path: Path
    municipality_code: str
    outcome: str


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What `export_files` did: files handed over now, files already handed over earlier (not copied again),
    and files refused with their reasons."""

    exported: tuple[str, ...]
    already_exported: tuple[str, ...]
    refused: tuple[tuple[str, tuple[Refusal, ...]], ...]


def _write_if_absent(path: Path, data: bytes, what: str) -> bool:
    """Write `data` at `path` unless the same bytes are there; PaymentFileError if other bytes are."""
    if path.exists():
        if path.read_bytes() != data:
            raise PaymentFileError(f"{path} already exists with other content; a prepared {what} is never "
                                   "overwritten (move it away only if it was never handed to the bank)")
        return False
    write_atomically(path, data)
    return True


def _payouts_in_other_files(payments_dir: Path, name: str, payout_ids: Sequence[str]) -> dict[str, str]:
    """payout id -> the other payment file of the folder that already carries it."""
    wanted, found = set(payout_ids), {}
    for other in payment_files(payments_dir):
        if other.name == name:
            continue
        manifest, _ = _manifest_beside(other)
        for payout_id in (manifest or {}).get("payout_ids", []):
            if payout_id in wanted:
                found[payout_id] = other.name
    return found


def prepare_batch(batch: PaymentBatch, payments_dir: Path, officer_id: str,
                  private_key: ed25519.Ed25519PrivateKey, registry: Registry) -> PreparedFile:
    """Write the batch's file and its manifest signed by the preparer `officer_id`, or find them written.

    An existing manifest for the same content is kept as it is (it may carry an approval already); one signed
    over other content, or by another preparer, is refused rather than replaced; a payout already in another
    file of the day is refused (it would be paid twice).
    """
    with folder_lock(payments_dir):
        return _prepare_locked(batch, payments_dir, officer_id, private_key, registry)


def _prepare_locked(batch: PaymentBatch, payments_dir: Path, officer_id: str,
                    private_key: ed25519.Ed25519PrivateKey, registry: Registry) -> PreparedFile:
    rendered = render_payment_file(batch, officer_id)
    elsewhere = _payouts_in_other_files(payments_dir, rendered.name, rendered.manifest["payout_ids"])
    if elsewhere:
        payout_id, other = sorted(elsewhere.items())[0]
        raise PaymentFileError(f"payout {payout_id} of batch {batch.batch_id} is already in {other}; a payout is "
                               f"paid once ({len(elsewhere)} payout(s) overlap)")
    signed = sign_as_preparer(rendered.manifest, rendered.data, officer_id, private_key, registry)
    path, manifest_path = payments_dir / rendered.name, payments_dir / rendered.manifest_name
    wrote = _write_if_absent(path, rendered.data, "payment file")
    if manifest_path.exists():
        existing = read_manifest(manifest_path)
        if signed_fields(existing) != signed_fields(signed):
            by = existing.get("prepared_by")
            raise PaymentFileError(f"{manifest_path.name} already exists for other content or another preparer "
                                   f"({by}); it is never overwritten")
    else:
        write_atomically(manifest_path, manifest_bytes(signed))
        wrote = True
    check = verify(path.read_bytes(), read_manifest(manifest_path), registry, file_name=path.name,
                   require_approval=False)
    if not check.ok:  # what is on disk must be what was signed; never leave a file that cannot verify unsaid
        raise SigningRefused(check.refusals)
    return PreparedFile(path, manifest_path, batch.municipality_code, "written" if wrote else "unchanged")


def prepare_batches(batches: Sequence[PaymentBatch], payments_dir: Path, officer_id: str,
                    private_key: ed25519.Ed25519PrivateKey, registry: Registry) -> list[PreparedFile]:
    """`prepare_batch` for each batch, in batch_id order (so a kill and rerun do the same work in the same order)."""
    with folder_lock(payments_dir):
        return [_prepare_locked(batch, payments_dir, officer_id, private_key, registry)
                for batch in sorted(batches, key=lambda b: b.batch_id)]


def _manifest_beside(path: Path) -> tuple[dict[str, Any] | None, Refusal | None]:
    try:
        return read_manifest(path.with_name(manifest_name_for(path.name))), None
    except ValueError as error:
        return None, Refusal(PaymentRefusal.MANIFEST_MISSING, f"Refused: {error}.")


def verify_file(path: Path, registry: Registry, *, require_approval: bool = True) -> Verification:
    """`payments.signing.verify` of the file at `path` against the manifest beside it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return Verification((Refusal(PaymentRefusal.FILE_UNREADABLE, f"Refused: cannot read {path} ({error})."),))
    manifest, refusal = _manifest_beside(path)
    if manifest is None:
        return Verification((refusal,))
    return verify(data, manifest, registry, file_name=path.name, require_approval=require_approval)


def approve_file(path: Path, officer_id: str, private_key: ed25519.Ed25519PrivateKey,
                 registry: Registry) -> bool:
    """Add `officer_id`'s approval to the manifest beside `path`; True when written now, False when that
    officer had approved it already. SigningRefused (one sentence per reason) otherwise."""
    with folder_lock(path.parent):
        return _approve_locked(path, officer_id, private_key, registry)


def _approve_locked(path: Path, officer_id: str, private_key: ed25519.Ed25519PrivateKey,
                    registry: Registry) -> bool:
    manifest, refusal = _manifest_beside(path)
    if manifest is None:
        raise SigningRefused((refusal,))
    return _write_manifest(path, approve(manifest, path.read_bytes(), officer_id, private_key, registry))


def _write_manifest(path: Path, manifest: dict[str, Any]) -> bool:
    """The manifest beside `path` rewritten as `manifest` (atomically); False when it already holds those bytes."""
    new_bytes = manifest_bytes(manifest)
    manifest_path = path.with_name(manifest_name_for(path.name))
    if manifest_path.read_bytes() == new_bytes:
        return False
    write_atomically(manifest_path, new_bytes)
    return True


def payment_files(payments_dir: Path, municipality_code: str | None = None) -> list[Path]:
    """The payment files of a folder (never temporary dot-files), by name; only one municipality's if given."""
    if not payments_dir.is_dir():
        return []
    return sorted(p for p in payments_dir.iterdir()
                  if p.is_file() and p.name.endswith(FILE_SUFFIX) and not p.name.startswith(".")
                  and (municipality_code is None or p.name.startswith(f"{municipality_code}_")))


def read_exports(payments_dir: Path) -> dict[str, dict[str, Any]]:
    """The export record: file name → what was handed over (empty when nothing was)."""
    path = payments_dir / EXPORTS_RECORD
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _export_one(path: Path, manifest: dict[str, Any], to_dir: Path) -> bool:
    """Copy manifest then file into `to_dir` (the file's appearance is the hand-over); False when the same
    file is there already. PaymentFileError when another file of that name is."""
    data = path.read_bytes()
    target = to_dir / path.name
    for stray in (*to_dir.glob(f".{path.name}.*.tmp"), *to_dir.glob(f".{manifest_name_for(path.name)}.*.tmp")):
        stray.unlink(missing_ok=True)  # left by a killed export of this very file (we hold its folder's lock)
    if target.exists():
        if sha256_hex(target.read_bytes()) != manifest["file_sha256"]:
            raise PaymentFileError(f"{target} holds another file of the same name; nothing was handed over")
        return False
    manifest_target, new_manifest = to_dir / manifest_name_for(path.name), manifest_bytes(manifest)
    if not manifest_target.exists() or manifest_target.read_bytes() != new_manifest:
        write_atomically(manifest_target, new_manifest)
    write_atomically(target, data)
    return True


def export_files(payments_dir: Path, to_dir: Path, registry: Registry, *, now: dt.datetime,
                 municipality_code: str | None = None,
                 on_exported: Callable[[dict[str, Any]], None] | None = None,
                 decided_by: str | None = None) -> ExportResult:
    """Hand over every verified, doubly signed payment file of `payments_dir` (one municipality's if given) to
    `to_dir`, each exactly once, and record it in exports.json. `on_exported(manifest)` (the ledger's
    mark_issued) is called for every file handed over now or before: it must be idempotent, and calling it again
    heals a kill between the hand-over and the ledger. `decided_by` (the Airflow approver) is recorded."""
    with folder_lock(payments_dir):
        return _export_locked(payments_dir, to_dir, registry, now, municipality_code, on_exported, decided_by)


def _double_payment_refusal(name: str, manifest: dict[str, Any],
                            exports: dict[str, dict[str, Any]]) -> Refusal | None:
    """A payout id this file shares with a file already handed over (only a planning defect can cause it)."""
    for other, entry in sorted(exports.items()):
        shared = sorted(set(entry.get("payout_ids", [])) & set(manifest["payout_ids"]))
        if other != name and shared:
            return Refusal(PaymentRefusal.PAYOUT_IN_OTHER_FILE,
                           f"Refused: payout {shared[0]} was already handed over in {other}; a payout is paid once.")
    return None


def _export_locked(payments_dir: Path, to_dir: Path, registry: Registry, now: dt.datetime,
                   municipality_code: str | None, on_exported: Callable[[dict[str, Any]], None] | None,
                   decided_by: str | None) -> ExportResult:
    exports = read_exports(payments_dir)
    exported, already, refused = [], [], []
    for path in payment_files(payments_dir, municipality_code):
        check = verify_file(path, registry)
        manifest, _ = _manifest_beside(path)
        double = _double_payment_refusal(path.name, manifest, exports) if check.ok and manifest else None
        if not check.ok or double is not None:
            refused.append((path.name, check.refusals or (double,)))
            continue
        if path.name in exports:
            already.append(path.name)
        else:
            copied = _export_one(path, manifest, to_dir)
            exports[path.name] = {
                "file_sha256": manifest["file_sha256"], "to": str(to_dir), "exported_at": now.isoformat(),
                "batch_id": manifest["batch_id"], "municipality_code": manifest["municipality_code"],
                "transfer_date": manifest["transfer_date"], "record_count": manifest["record_count"],
                "total": manifest["total"], "payout_ids": manifest["payout_ids"],
                "prepared_by": manifest["prepared_by"], "approved_by": manifest["approved_by"],
                "decided_by": decided_by, "found_already_in_place": not copied}
            write_atomically(payments_dir / EXPORTS_RECORD,
                             (json.dumps(exports, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode())
            exported.append(path.name)
        if on_exported is not None:
            on_exported(manifest)
    return ExportResult(tuple(exported), tuple(already), tuple(refused))


def attach_approval(path: Path, officer_id: str, signature_b64: str, registry: Registry) -> bool:
    """Add a detached approval (payments.signing.approval_signature, made on the approver's own machine) to the
    manifest beside `path`, once it verifies (payments.signing.with_approval_signature); True when written now,
    False when that approval was there already. SigningRefused (one sentence per reason) otherwise."""
    with folder_lock(path.parent):
        manifest, refusal = _manifest_beside(path)
        if manifest is None:
            raise SigningRefused((refusal,))
        return _write_manifest(path, with_approval_signature(manifest, path.read_bytes(), officer_id, signature_b64,
                                                             registry))
