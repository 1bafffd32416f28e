"""Which files under out/ an account may list and download, and a safe way to open one.

Whose a file is, from where it lies (out/ layouts of reports/, payments/ and the monthly reports):
- a path naming one municipality code (a 6-digit path component or file-name token: out/prepaid/<d>/
  prepaid-<d>-<code>.pdf, out/monthly/<YYYY-MM>/<code>/…, out/<D>/payments/<code>_…) is that municipality's;
- out/<D>/statements/<payout_id>.pdf is the municipality of that payout (payments.payouts);
- anything else (the daily reconciliation report, breaks CSV, Data Docs, a whole-country prepaid report, the
  national monthly summary) covers every municipality: for accounts that see every municipality only;
- the audit pack (out/audit-pack/…) holds every municipality's evidence, whatever its files are named: for
  accounts that see every municipality only.
Payment files and their manifests (bank accounts of merchants) are listed for officers only, and Data Docs are
served on the auditor page, not here. A requested path is resolved and must stay inside out/ (no `..`, no
symbolic link out, no hidden file); anything else is "not found", like a file the account may not see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from console.accounts import User
from contracts.codes import is_valid_municipality_code

AUDIT_PACK_DIR = "audit-pack"  # audit.pack.PACK_DIR: out/audit-pack/<YYYY-MM>/ and its zip
CODE_TOKEN = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")
LISTED_SUFFIXES = (".pdf", ".csv", ".html", ".xlsx", ".json", ".txt", ".zip", ".png", ".svg")
FILES_LISTED_MAX = 2000
MEDIA_TYPES = {".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8",
               ".json": "application/json", ".txt": "text/plain; charset=utf-8", ".zip": "application/zip",
               ".png": "image/png", ".svg": "image/svg+xml",
               ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True, slots=True)
class OutFile:
    """A file under out/: its path relative to out/ (POSIX), size, the kind of report, and whose it is (a code,
    or None for every municipality)."""

    relative: str
    size_bytes: int
    kind: str
    municipality_code: str | None


def _kind(parts: tuple[str, ...]) -> str:
    if parts[0] == AUDIT_PACK_DIR:
        return "audit"
    if parts[0] in ("monthly", "prepaid"):
        return parts[0]
    if len(parts) > 1 and parts[1] in ("statements", "payments", "data-docs"):
        return parts[1]
    if parts[0] == "audit" or "audit" in parts[-1]:
        return "audit"
    return "daily"


def owner(relative: Path, payouts: dict[str, str]) -> tuple[str | None, bool]:
    """(municipality code or None, known): whose the file is; known=False when it names several codes or a
    statement of an unknown payout (then only accounts seeing every municipality get it)."""
    parts = relative.parts
    if len(parts) >= 3 and parts[1] == "statements":
        code = payouts.get(relative.stem)
        return code, code is not None
    # a 6-digit token with the municipality check digit (JIS X 0402) is a code; 202611 (a month) is not
    codes = {m for part in parts for m in CODE_TOKEN.findall(part) if is_valid_municipality_code(m)}
    if len(codes) == 1:
        return codes.pop(), True
    return None, not codes


def may_see(user: User, relative: Path, payouts: dict[str, str]) -> bool:
    parts = relative.parts
    if any(p.startswith(".") for p in parts):
        return False
    if len(parts) > 1 and parts[1] == "data-docs":  # every municipality's checks: for all-seeing accounts
        return user.all_municipalities
    if parts[0] == AUDIT_PACK_DIR:  # the whole month's evidence (payment files, raw tables): never a municipality's
        return user.all_municipalities
    if len(parts) > 1 and parts[1] == "payments" and user.role != "officer" and user.role != "auditor":
        return False
    code, known = owner(relative, payouts)
    if not known:
        return False if not user.all_municipalities else True
    return user.sees(code)


def statement_payout_ids(out_dir: Path) -> list[str]:
    if not out_dir.is_dir():
        return []
    return sorted({p.stem for p in out_dir.glob("*/statements/*.pdf")})


def list_files(out_dir: Path, user: User, payouts: dict[str, str]) -> list[OutFile]:
    """The files under out/ the account may see, newest folder first."""
    if not out_dir.is_dir():
        return []
    found = []
    for path in sorted(out_dir.rglob("*"), reverse=True):
        if len(found) >= FILES_LISTED_MAX:
            break
        if not path.is_file() or path.is_symlink() or path.suffix not in LISTED_SUFFIXES:
            continue
        relative = path.relative_to(out_dir)
        if len(relative.parts) > 1 and relative.parts[1] == "data-docs":
            continue  # served, and linked from the daily report and the auditor page, but not listed file by file
        if relative.parts[0] == AUDIT_PACK_DIR and len(relative.parts) > 2:
            continue  # the pack is listed as its zip; its folder's files stay reachable but are not listed
        if may_see(user, relative, payouts):
            code, _ = owner(relative, payouts)
            found.append(OutFile(relative.as_posix(), path.stat().st_size, _kind(relative.parts), code))
    return found


def safe_path(root: Path, requested: str) -> Path | None:
    """`requested` (a relative POSIX path) inside `root`, or None: absolute paths, `..`, hidden parts, and
    anything whose real path leaves `root` (a symbolic link) are refused."""
    if not requested or requested.startswith("/") or "\\" in requested or "\x00" in requested:
        return None
    parts = requested.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    real_root = root.resolve()
    candidate = (real_root / requested).resolve()
    if not candidate.is_relative_to(real_root) or not candidate.is_file():
        return None
    return candidate


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix, "application/octet-stream")
