"""Four eyes on a payment file: the preparer's and a different approver's Ed25519 signatures, and verification.

What is signed: the canonical JSON (UTF-8, keys sorted, no spaces) of
`{"purpose": SIGNING_PURPOSE, "role": <preparer|approver>, "officer_id": <id>, "manifest": <fields>}` where
<fields> is the manifest without `approved_by` and `signature` — so the file's SHA-256, count, total, batch,
municipality, dates, payout ids, amounts and fees and `prepared_by` are all under both signatures, and a
preparer's signature can never be replayed as an approval (the role is signed too).
Ed25519 signatures are deterministic: signing the same manifest with the same key gives the same bytes, so a
rerun rewrites a byte-identical manifest.

`verify` checks, and reports every failure as a `Refusal` (a reason code of contracts.reasons.PaymentRefusal and
one sentence): the bytes against the manifest's SHA-256; the file read back with the independent reader
(contracts.zengin_transfer.read_transfer_file: layout, trailer count and total) against the manifest's count,
total, payout ids and amounts, transfer date and paying account; both signatures; that the signers are
registered with those keys and roles; and that the approver is not the preparer.
This module must never sign anything it has not verified first.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts.reasons import PaymentRefusal
from contracts.zengin_transfer import read_transfer_file
from payments.files import MANIFEST_FORMAT, sha256_hex
from payments.officers import OfficerError, Registry, load_public_key, public_key_text

SIGNING_PURPOSE = "seisan payment file signature v1"
UNSIGNED_KEYS = ("approved_by", "signature")
SIGNATURE_ENTRY_KEYS = frozenset({"officer_id", "public_key", "signature"})
PREPARER, APPROVER = "preparer", "approver"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a payment file is refused: `code` (PaymentRefusal) and one sentence for the officer."""

    code: str
    sentence: str


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of `verify`: every refusal found (empty: the file may go to the bank)."""

    refusals: tuple[Refusal, ...]

    @property
    def ok(self) -> bool:
        return not self.refusals


class SigningRefused(ValueError):
    """Signing was refused; `refusals` say why, one sentence each (the message joins them)."""

    def __init__(self, refusals: tuple[Refusal, ...]) -> None:
        super().__init__(" ".join(r.sentence for r in refusals))
        self.refusals = refusals


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signed_fields(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest fields both officers sign: all but approved_by and signature."""
    return {key: value for key, value in manifest.items() if key not in UNSIGNED_KEYS}


def signing_payload(manifest: dict[str, Any], role: str, officer_id: str) -> bytes:
    return canonical_json({"purpose": SIGNING_PURPOSE, "role": role, "officer_id": officer_id,
                           "manifest": signed_fields(manifest)})


def _b64_canonical(text: object, size: int) -> bytes | None:
    """Decoded bytes when `text` is the canonical base64 of `size` bytes (so no two texts pass for one
    signature: a changed unused bit is a changed manifest), else None."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size and base64.b64encode(raw).decode("ascii") == text else None


def _signature_entry(manifest: dict[str, Any], role: str, officer_id: str,
                     private_key: ed25519.Ed25519PrivateKey) -> dict[str, str]:
    signature = private_key.sign(signing_payload(manifest, role, officer_id))
    return {"officer_id": officer_id, "public_key": public_key_text(private_key.public_key()),
            "signature": base64.b64encode(signature).decode("ascii")}


def _signer_refusals(registry: Registry, officer_id: str, public_key: str, role: str) -> list[Refusal]:
    """The officer must be registered, with this key, and hold `role`."""
    officer = registry.get(officer_id)
    if officer is None or officer.public_key != public_key:
        holder = registry.by_public_key(public_key)
        detail = (f"officer {officer_id} is not in the officer registry" if officer is None and holder is None
                  else f"the key used for officer {officer_id} is not the key registered for {officer_id}")
        return [Refusal(PaymentRefusal.KEY_UNREGISTERED, f"Refused: the {role}'s key is not registered ({detail}).")]
    if not officer.has_role(role):
        return [Refusal(PaymentRefusal.WRONG_ROLE,
                        f"Refused: officer {officer_id} is registered as {', '.join(sorted(officer.roles))}, "
                        f"not as {role}.")]
    return []


def _entry_refusals(manifest: dict[str, Any], role: str, registry: Registry) -> list[Refusal]:
    entries = manifest.get("signature")
    entry = entries.get(role) if isinstance(entries, dict) else None
    named_by = manifest.get("prepared_by" if role == PREPARER else "approved_by")
    if entry is None:
        sentence = ("Refused: the file has no preparer's signature." if role == PREPARER else
                    "Refused: the second signature (an approver's) is missing; "
                    "a different officer must run `seisan payments approve` first.")
        return [Refusal(PaymentRefusal.SIGNATURE_MISSING, sentence)]
    if not isinstance(entry, dict) or set(entry) != SIGNATURE_ENTRY_KEYS or entry["officer_id"] != named_by:
        return [Refusal(PaymentRefusal.SIGNATURE_INVALID,
                        f"Refused: the {role}'s signature entry is malformed or names another officer than the "
                        "manifest does.")]
    refusals = _signer_refusals(registry, str(entry["officer_id"]), str(entry["public_key"]), role)
    if refusals:
        return refusals
    raw_signature = _b64_canonical(entry["signature"], 64)
    try:
        if raw_signature is None:
            raise InvalidSignature
        load_public_key(entry["public_key"]).verify(raw_signature, signing_payload(manifest, role, named_by))
    except (InvalidSignature, OfficerError):
        return [Refusal(PaymentRefusal.SIGNATURE_INVALID,
                        f"Refused: the {role}'s signature does not match the manifest (it was changed after "
                        "signing).")]
    return []


def _content_refusals(data: bytes, manifest: dict[str, Any], file_name: str | None) -> list[Refusal]:
    """Bytes vs SHA-256; the independent reader's count, total and EDI payout ids vs the manifest."""
    if manifest.get("format") != MANIFEST_FORMAT:
        return [Refusal(PaymentRefusal.MANIFEST_MISMATCH, f"Refused: the manifest is not a {MANIFEST_FORMAT}.")]
    if sha256_hex(data) != manifest.get("file_sha256"):
        return [Refusal(PaymentRefusal.FILE_TAMPERED,
                        "Refused: the file's bytes do not match the SHA-256 in its manifest; it was changed "
                        "after it was prepared.")]
    if file_name is not None and manifest.get("file_name") != file_name:
        return [Refusal(PaymentRefusal.MANIFEST_MISMATCH,
                        f"Refused: the manifest is for {manifest.get('file_name')!r}, not for {file_name!r}.")]
    read = read_transfer_file(data)
    if read.file is None:
        first = read.problems[0]
        return [Refusal(PaymentRefusal.FILE_UNREADABLE,
                        f"Refused: the file is not a valid 総合振込 file (record {first.record_number}: "
                        f"{first.detail}).")]
    header, payouts = read.file.header, manifest.get("payouts") or []
    payer = manifest.get("payer") or {}
    found = {"record_count": read.file.count, "total": read.file.total,
             "payout_ids": [record.edi for record in read.file.records],
             "payouts": [record.amount for record in read.file.records],
             "transfer_date": header.transfer_mmdd,
             "payer": (header.client_code, header.bank_code, header.branch_code, header.account_number)}
    claimed = {**manifest, "payouts": [p.get("transfer_yen") for p in payouts if isinstance(p, dict)],
               "transfer_date": str(manifest.get("transfer_date", ""))[5:].replace("-", ""),
               "payer": (payer.get("client_code"), payer.get("bank_code"), payer.get("branch_code"),
                         payer.get("account_number"))}
    differing = [key for key, value in found.items() if claimed.get(key) != value]
    if differing:
        return [Refusal(PaymentRefusal.MANIFEST_MISMATCH,
                        f"Refused: the file's {', '.join(differing)} differ from its manifest.")]
    return []


def verify(data: bytes, manifest: dict[str, Any], registry: Registry, *, file_name: str | None = None,
           require_approval: bool = True) -> Verification:
    """Every reason to refuse this file (empty: verified). Without `require_approval`, only the preparer's
    part is checked (what `approve` checks before it signs)."""
    refusals = _content_refusals(data, manifest, file_name)
    if refusals:
        return Verification(tuple(refusals))
    refusals += _entry_refusals(manifest, PREPARER, registry)
    if require_approval:
        if manifest.get("approved_by") is not None and manifest.get("approved_by") == manifest.get("prepared_by"):
            refusals.append(Refusal(PaymentRefusal.SAME_OFFICER,
                                    f"Refused: officer {manifest.get('prepared_by')} prepared this file and cannot "
                                    "also approve it; four eyes need two officers."))
        else:
            refusals += _entry_refusals(manifest, APPROVER, registry)
    return Verification(tuple(refusals))


def _key_refusals(registry: Registry, officer_id: str, private_key: ed25519.Ed25519PrivateKey,
                  role: str) -> list[Refusal]:
    return _signer_refusals(registry, officer_id, public_key_text(private_key.public_key()), role)


def sign_as_preparer(manifest: dict[str, Any], data: bytes, officer_id: str,
                     private_key: ed25519.Ed25519PrivateKey, registry: Registry) -> dict[str, Any]:
    """The manifest with `prepared_by` and the preparer's signature (no approval); SigningRefused when the
    officer is not a registered preparer with this key or the manifest does not describe `data`."""
    manifest = {**manifest, "prepared_by": officer_id, "approved_by": None, "signature": {}}
    refusals = _content_refusals(data, manifest, None) + _key_refusals(registry, officer_id, private_key, PREPARER)
    if refusals:
        raise SigningRefused(tuple(refusals))
    manifest["signature"] = {PREPARER: _signature_entry(manifest, PREPARER, officer_id, private_key)}
    return manifest


def approve(manifest: dict[str, Any], data: bytes, officer_id: str, private_key: ed25519.Ed25519PrivateKey,
            registry: Registry) -> dict[str, Any]:
    """The manifest with the approver's signature added. Refused (SigningRefused) unless the preparer's part
    verifies, the approver is a registered approver with this key, and is not the preparer. Approving again by
    the same approver returns the same manifest; another approver after one is refused."""
    refusals = list(verify(data, manifest, registry, require_approval=False).refusals)
    if manifest.get("prepared_by") == officer_id:
        refusals.append(Refusal(PaymentRefusal.SAME_OFFICER,
                                f"Refused: officer {officer_id} prepared this file and cannot also approve it; "
                                "four eyes need two officers."))
    refusals += _key_refusals(registry, officer_id, private_key, APPROVER)
    current = manifest.get("approved_by")
    if current is not None and current != officer_id:
        refusals.append(Refusal(PaymentRefusal.ALREADY_APPROVED,
                                f"Refused: the file is already approved by officer {current}."))
    if refusals:
        raise SigningRefused(tuple(refusals))
    approved = {**manifest, "approved_by": officer_id}
    approved["signature"] = {**manifest["signature"],
                             APPROVER: _signature_entry(approved, APPROVER, officer_id, private_key)}
    return approved


def approval_signature(manifest: dict[str, Any], data: bytes, officer_id: str,
                       private_key: ed25519.Ed25519PrivateKey, registry: Registry) -> str:
    """A detached approval: the base64 Ed25519 signature `approve` would add for `officer_id`, made where the
    private key lives (the officer's own machine) and carried to the console, which attaches it with
    `with_approval_signature`. The same checks as `approve` come first: nothing unverified is signed."""
    return approve(manifest, data, officer_id, private_key, registry)["signature"][APPROVER]["signature"]


def with_approval_signature(manifest: dict[str, Any], data: bytes, officer_id: str, signature_b64: str,
                            registry: Registry) -> dict[str, Any]:
    """The manifest with a detached approval (from `approval_signature`) of registered approver `officer_id`
    attached, after `verify` has checked the whole file with it: bytes, totals, the preparer's signature, the
    approver's signature over the signed fields with the key the registry holds for `officer_id`, and four eyes.
    SigningRefused otherwise. Attaching the same approval again returns the same manifest."""
    refusals = []
    current = manifest.get("approved_by")
    if current is not None and current != officer_id:
        refusals.append(Refusal(PaymentRefusal.ALREADY_APPROVED,
                                f"Refused: the file is already approved by officer {current}."))
    officer = registry.get(officer_id)
    if officer is None:
        refusals.append(Refusal(PaymentRefusal.KEY_UNREGISTERED,
                                f"Refused: officer {officer_id} is not in the officer registry."))
    if refusals:
        raise SigningRefused(tuple(refusals))
    approved = {**manifest, "approved_by": officer_id}
    approved["signature"] = {**(manifest.get("signature") or {}),
                             APPROVER: {"officer_id": officer_id, "public_key": officer.public_key,
                                        "signature": signature_b64.strip()}}
    check = verify(data, approved, registry)
    if not check.ok:
        raise SigningRefused(check.refusals)
    return approved
