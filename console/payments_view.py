"""The Payments pages: the prepared files of a business date with their totals, per-merchant lines and fees, and
the second officer's approval.

How an approval is made here — a detached signature, verified on arrival: the approver's Ed25519 private key
never leaves their machine, so the console cannot sign. The page shows the file's SHA-256, offers the file and
its manifest for download, and the command that signs them locally (`seisan payments sign-approval FILE`, which
runs payments.signing.approval_signature: the same checks as `seisan payments approve`, then prints the
signature). The officer pastes (or uploads) that signature; the console attaches it with
payments.file_steps.attach_approval, which verifies the whole file with it through payments.signing.verify
(bytes, totals, the preparer's signature, the approver's signature with the key the registry holds for the
logged-in officer, four eyes) before writing the manifest. A signature made by anybody else's key, over another
file, or by the preparer is refused with the payments module's own sentences. An officer working on the server
itself can run `seisan payments approve FILE` there instead; the page then shows the approval.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from payments.file_steps import attach_approval, payment_files, read_exports, verify_file
from payments.files import manifest_name_for, read_manifest
from payments.officers import OfficerError, load_registry
from payments.signing import SigningRefused

FILE_NAME_RE = re.compile(r"[0-9A-Za-z_.-]{1,120}\.txt")
SIGNATURE_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class FileSummary:
    """One prepared payment file as the page lists it: name, manifest (dict), handed over?, verification
    sentences (empty: verified with both signatures), and whether only the approval is missing."""

    name: str
    manifest: dict[str, Any]
    exported: bool
    refusals: tuple[str, ...]
    awaiting_approval: bool


def payment_days(out_dir: Path) -> list[dt.date]:
    if not out_dir.is_dir():
        return []
    days = []
    for folder in out_dir.glob("*/payments"):
        try:
            days.append(dt.date.fromisoformat(folder.parent.name))
        except ValueError:
            continue
    return sorted(days, reverse=True)


def _registry(settings):
    try:
        return load_registry(settings.officers_file)
    except OfficerError:
        return None


def summaries(settings, day: dt.date, user) -> list[FileSummary]:
    folder = settings.out_dir / day.isoformat() / "payments"
    exported = read_exports(folder)
    registry = _registry(settings)
    found = []
    for path in payment_files(folder):
        try:
            manifest = read_manifest(path.with_name(manifest_name_for(path.name)))
        except ValueError:
            continue
        if not user.sees(manifest.get("municipality_code")):
            continue
        if registry is None:
            refusals, awaiting = ("no officer registry",), False
        else:
            check = verify_file(path, registry)
            refusals = tuple(r.sentence for r in check.refusals)
            awaiting = manifest.get("approved_by") is None and \
                verify_file(path, registry, require_approval=False).ok
        found.append(FileSummary(path.name, manifest, path.name in exported, refusals, awaiting))
    return found


def _file_of(console, ctx, date: str, name: str) -> tuple[Path, FileSummary]:
    from console.app import NotFound, _date_param, _need_user

    user = _need_user(ctx)
    if user.role == "municipality" or not FILE_NAME_RE.fullmatch(name):
        raise NotFound()
    day = _date_param(date)
    for summary in summaries(console.settings, day, user):
        if summary.name == name:
            return console.settings.out_dir / day.isoformat() / "payments" / name, summary
    raise NotFound()


def add_routes(app: FastAPI, console, ctx_of) -> None:
    from console.app import Forbidden, NotFound, _date_param, _form, _need_user, _page, file_response

    @app.get("/payments", response_class=HTMLResponse)
    def payments(request: Request, date: str | None = None):
        ctx = ctx_of(request)
        user = _need_user(ctx)
        if user.role == "municipality":
            raise NotFound()
        days = payment_days(console.settings.out_dir)
        day = _date_param(date) or (days[0] if days else None)
        listed = summaries(console.settings, day, user) if day else []
        return _page(console, ctx, "payments.html", days=days, day=day, files=listed)

    @app.get("/payments/{date}/{name}", response_class=HTMLResponse)
    def payment_file(request: Request, date: str, name: str, done: str | None = None):
        ctx = ctx_of(request)
        path, summary = _file_of(console, ctx, date, name)
        return _page(console, ctx, "payment.html", f=summary, date=date, path=str(path), error=None,
                     done=done == "approved")

    @app.get("/payments/{date}/{name}/download/{part}")
    def download(request: Request, date: str, name: str, part: str):
        ctx = ctx_of(request)
        path, _ = _file_of(console, ctx, date, name)
        if part not in ("file", "manifest"):
            raise NotFound()
        chosen = path if part == "file" else path.with_name(manifest_name_for(path.name))
        console.audit(ctx, "download", target=f"{date}/payments/{chosen.name}")
        response = file_response(chosen)
        response.headers["Content-Disposition"] = f'attachment; filename="{chosen.name}"'
        return response

    @app.post("/payments/{date}/{name}/approve")
    async def approve(request: Request, date: str, name: str):
        ctx = ctx_of(request)
        user = _need_user(ctx)
        form = await _form(ctx)
        path, summary = _file_of(console, ctx, date, name)
        if not user.may_act:
            raise Forbidden(f"{user.role} may not approve a payment file")
        signature = str(form.get("signature") or "").strip()
        upload = form.get("signature_file")
        if not signature and upload is not None and hasattr(upload, "read"):
            signature = (await upload.read(SIGNATURE_MAX_CHARS + 1)).decode("ascii", "replace").strip()
        registry = _registry(console.settings)
        error = None
        if registry is None:
            error = ctx.t["registry_missing"]
        elif not signature or len(signature) > SIGNATURE_MAX_CHARS:
            error = ctx.t["signature"] + ": ?"
        else:
            try:
                attach_approval(path, user.username, signature, registry)
            except SigningRefused as refused:
                error = " ".join(r.sentence for r in refused.refusals)
        if error is not None:
            console.audit(ctx, "approve", target=f"{date}/payments/{name}", outcome="refused", detail=error)
            return _page(console, ctx, "payment.html", 400, f=summary, date=date, path=str(path), error=error,
                         done=False)
        console.audit(ctx, "approve", target=f"{date}/payments/{name}",
                      detail=f"sha256 {summary.manifest.get('file_sha256')}")
        return RedirectResponse(f"/payments/{date}/{name}?done=approved", status_code=303)
