"""The terminal's identity on disk: terminal.json (ids and default endpoints) and its Ed25519 key (mode 0600;
refused while group or others may read it).

`init_terminal` creates both once and returns the terminals-master line (FORMATS.md master/terminals:
`terminal_id, merchant_id, public_key, active_from, active_to`). It never overwrites an existing key: a new
key means a new master row, which head office must register first.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts import schemas, terminal_log
from reader_agent.errors import AgentError, Reason
from reader_agent.state_dir import CONFIG_FILE, FILE_MODE, KEY_FILE, check_key_file, make_dir, secure_state_dir
from reader_agent.store import write_atomic, write_synced

TERMINAL_ID = re.compile(schemas.TERMINAL_ID)
MERCHANT_ID = re.compile(schemas.MERCHANT_ID)
MUNICIPALITY_CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    """terminal_id / merchant_id: as registered in the masters; platform_url / platform_ca: the authorisation
    endpoint and the CA file that vouches for it; upload_target: an inbox directory or an HTTPS URL;
    municipality_code: optional default when the shop accepts one municipality's points only."""

    terminal_id: str
    merchant_id: str
    platform_url: str | None = None
    platform_ca: str | None = None
    upload_target: str | None = None
    municipality_code: str | None = None


def load_config(state_dir: Path) -> TerminalConfig:
    """terminal.json, after the state directory's permissions are checked and set (state_dir.py)."""
    secure_state_dir(state_dir)
    path = state_dir / CONFIG_FILE
    if not path.exists() or not (state_dir / KEY_FILE).exists():
        raise AgentError(Reason.TERMINAL_NOT_INITIALISED)
    return TerminalConfig(**json.loads(path.read_text("utf-8")))


def load_key(state_dir: Path) -> ed25519.Ed25519PrivateKey:
    """The terminal key; refused (KEY_EXPOSED) while group or others may read it."""
    check_key_file(state_dir / KEY_FILE)
    key = serialization.load_pem_private_key((state_dir / KEY_FILE).read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise AgentError(Reason.LOG_CORRUPT, detail=KEY_FILE)
    return key


def init_terminal(state_dir: Path, config: TerminalConfig, active_from: dt.date) -> str:
    """Create the key (0600) and terminal.json; return the terminals master CSV line for this terminal."""
    if not TERMINAL_ID.fullmatch(config.terminal_id) or not MERCHANT_ID.fullmatch(config.merchant_id):
        raise AgentError(Reason.USAGE, detail="terminal_id T+8 digits, merchant_id M+8 digits")
    if config.municipality_code and not MUNICIPALITY_CODE.fullmatch(config.municipality_code):
        raise AgentError(Reason.USAGE, detail="municipality_code is 6 digits")
    key_path = state_dir / KEY_FILE
    if key_path.exists():
        raise AgentError(Reason.TERMINAL_KEY_EXISTS)
    make_dir(state_dir)
    secure_state_dir(state_dir)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_synced(key_path, pem, FILE_MODE, exclusive=True)
    write_atomic(state_dir / CONFIG_FILE, json.dumps(asdict(config), indent=1).encode("utf-8"))
    public_key = terminal_log.terminal_public_key_b64(key)
    return f"{config.terminal_id},{config.merchant_id},{public_key},{active_from.isoformat()},"
