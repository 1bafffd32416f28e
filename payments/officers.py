"""Officers who sign payment files: the registry (who may prepare, who may approve, with which Ed25519 public
key) and each officer's private key.

The registry is a TOML file whose path the caller passes in (seisan.config `[payments] officers_file`):

    [[officers]]
    id = "OFF-SATO"
    name = "Sato Hanako"
    roles = ["preparer"]            # preparer, approver, or both
    public_key = "ed25519:<base64 of the 32 raw bytes>"

`init_officer_key` writes a new private key (PKCS#8 PEM, mode 0600, in a 0700 folder) and returns the block to
paste into the registry. A private key never lives in a git work tree (a `.git` in the folder or any parent
refuses it): a key committed by mistake is a key everyone with the repository holds.
This module must never print, log or return a private key's bytes.
"""

from __future__ import annotations

import base64
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ROLES = ("preparer", "approver")
OFFICER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
PUBLIC_KEY_PREFIX = "ed25519:"
KEY_SUFFIX = ".ed25519.pem"
REGISTRY_KEYS = frozenset({"id", "name", "roles", "public_key"})


class OfficerError(ValueError):
    """A registry or key that cannot be used; the message is one sentence saying which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Officer:
    """One registered officer: `officer_id`, display `name`, `roles` (a subset of preparer/approver) and
    `public_key` (the registry's `ed25519:<base64>` text)."""

    officer_id: str
    name: str
    roles: frozenset[str]
    public_key: str

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class Registry:
    """The officer registry: officers by id (a public key belongs to one officer only)."""

    officers: dict[str, Officer]

    def get(self, officer_id: str) -> Officer | None:
        return self.officers.get(officer_id)

    def by_public_key(self, public_key: str) -> Officer | None:
        return next((o for o in self.officers.values() if o.public_key == public_key), None)


def public_key_text(key: ed25519.Ed25519PublicKey) -> str:
    """`ed25519:<base64 of the 32 raw bytes>`: how the registry and the manifest write a public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> ed25519.Ed25519PublicKey:
    """Parse `ed25519:<base64>`; OfficerError when it is not 32 bytes of base64 after the prefix."""
    if not isinstance(text, str) or not text.startswith(PUBLIC_KEY_PREFIX):
        raise OfficerError(f"public key {text!r} does not start with {PUBLIC_KEY_PREFIX!r}")
    try:
        raw = base64.b64decode(text[len(PUBLIC_KEY_PREFIX):], validate=True)
    except ValueError:
        raise OfficerError("public key is not valid base64") from None
    if len(raw) != 32:
        raise OfficerError(f"public key holds {len(raw)} bytes, an Ed25519 key holds 32")
    if base64.b64encode(raw).decode("ascii") != text[len(PUBLIC_KEY_PREFIX):]:
        # Two spellings of one key would let one key pass for two officers.
        raise OfficerError("public key is not in canonical base64")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def _officer_of(entry: object, number: int, path: Path) -> Officer:
    where = f"{path}: officer #{number}"
    if not isinstance(entry, dict):
        raise OfficerError(f"{where} is not a table; write [[officers]] with id, name, roles, public_key")
    missing, extra = REGISTRY_KEYS - entry.keys(), entry.keys() - REGISTRY_KEYS
    if missing or extra:
        raise OfficerError(f"{where} needs exactly id, name, roles, public_key (missing {sorted(missing)}, "
                           f"unknown {sorted(extra)})")
    officer_id, name, roles = entry["id"], entry["name"], entry["roles"]
    if not isinstance(officer_id, str) or not OFFICER_ID_RE.fullmatch(officer_id):
        raise OfficerError(f"{where}: id {officer_id!r} is not 1 to 32 letters, digits, '.', '_' or '-'")
    if not isinstance(name, str) or not name.strip():
        raise OfficerError(f"{where} ({officer_id}): name is empty")
    if (not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles)
            or not set(roles) <= set(ROLES)):
        raise OfficerError(f"{where} ({officer_id}): roles {roles!r} must be a non-empty list of {list(ROLES)}")
    try:
        load_public_key(entry["public_key"])
    except OfficerError as error:
        raise OfficerError(f"{where} ({officer_id}): {error}") from None
    return Officer(officer_id, name.strip(), frozenset(roles), entry["public_key"])


def parse_registry(text: str, path: Path) -> Registry:
    """The registry from TOML text; OfficerError naming the file and the officer for the first problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OfficerError(f"{path} is not valid TOML ({error})") from None
    if set(document) - {"officers"}:
        raise OfficerError(f"{path}: unknown top-level keys {sorted(set(document) - {'officers'})}; "
                           "only [[officers]] tables belong here")
    entries = document.get("officers", [])
    if not isinstance(entries, list):
        raise OfficerError(f"{path}: officers must be [[officers]] tables")
    officers: dict[str, Officer] = {}
    keys: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        officer = _officer_of(entry, number, path)
        if officer.officer_id in officers:
            raise OfficerError(f"{path}: officer id {officer.officer_id} is registered twice")
        if officer.public_key in keys:
            # One key for two officers would let one person sign as both: four eyes would be two.
            raise OfficerError(f"{path}: officers {keys[officer.public_key]} and {officer.officer_id} share one "
                               "public key; every officer needs a key of their own")
        officers[officer.officer_id] = officer
        keys[officer.public_key] = officer.officer_id
    return Registry(officers)


def load_registry(path: Path) -> Registry:
    """Read and parse the registry file; OfficerError when it is absent or wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OfficerError(f"there is no officer registry at {path}; create it with the blocks "
                           "`seisan officer init` prints") from None
    except UnicodeDecodeError:
        raise OfficerError(f"{path} is not UTF-8 text") from None
    return parse_registry(text, path)


def enclosing_git_work_tree(folder: Path) -> Path | None:
    """The first of `folder` and its parents that holds `.git` (a repository or a worktree's `.git` file)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def key_path(key_dir: Path, officer_id: str) -> Path:
    if not OFFICER_ID_RE.fullmatch(officer_id):
        raise OfficerError(f"officer id {officer_id!r} is not 1 to 32 letters, digits, '.', '_' or '-'")
    return key_dir / f"{officer_id}{KEY_SUFFIX}"


def refuse_key_dir_in_repository(key_dir: Path, repository_root: Path | None = None) -> None:
    """OfficerError when `key_dir` lies inside a git work tree or inside `repository_root`."""
    resolved = key_dir.expanduser().resolve()
    inside = enclosing_git_work_tree(resolved)
    if repository_root is not None and resolved.is_relative_to(repository_root.resolve()):
        inside = repository_root.resolve()
    if inside is not None:
        raise OfficerError(f"refusing to keep a private key in {resolved}: it is inside the git work tree "
                           f"{inside}; choose a key folder outside any repository (--key-dir)")


def init_officer_key(key_dir: Path, officer_id: str, name: str, *,
                     repository_root: Path | None = None) -> tuple[Path, str]:
    """Create officer `officer_id`'s private key in `key_dir` (0600 file, 0700 folder; never overwrites one)
    and return (its path, the registry block to paste, with roles left for the administrator to choose)."""
    if not name.strip() or "\n" in name or '"' in name or "\\" in name:
        raise OfficerError("the officer's name must be one line without quotes or backslashes")
    refuse_key_dir_in_repository(key_dir, repository_root)
    path = key_path(key_dir.expanduser().resolve(), officer_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    private_key = ed25519.Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OfficerError(f"officer {officer_id} already has a key at {path}; it is never overwritten "
                           "(move it away first if you really mean to replace it)") from None
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask: only the officer reads it
        os.write(descriptor, pem)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    line = public_key_text(private_key.public_key())
    block = (f'[[officers]]\nid = "{officer_id}"\nname = "{name.strip()}"\n'
             f'roles = ["preparer"]  # or ["approver"], or both\npublic_key = "{line}"\n')
    return path, block


def load_private_key(key_dir: Path, officer_id: str) -> ed25519.Ed25519PrivateKey:
    """Officer `officer_id`'s private key; OfficerError when absent, readable by others, or not Ed25519."""
    path = key_path(key_dir.expanduser().resolve(), officer_id)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise OfficerError(f"officer {officer_id} has no key at {path}; run `seisan officer init --id "
                           f"{officer_id} --name NAME` first") from None
    if stat.S_IMODE(mode) & 0o077:
        raise OfficerError(f"the key {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
                           f"run `chmod 600 {path}`")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise OfficerError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise OfficerError(f"{path} is not an Ed25519 key")
    return key
