"""Delivering sealed log files to seisan's inbox: a directory (`inbox/terminal/<T>/<name>`) or HTTPS PUT.

A file leaves the outbox only after the target holds exactly its bytes; on failure it stays and the next
`upload` sends the same bytes again under the same name, so a delivery is never lost and never two different
files. If the target already holds that name: identical bytes = already delivered (fine), different bytes =
`upload_conflict` (stop, never overwrite). Attempts and waits are bounded.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reader_agent.errors import AgentError, Reason
from reader_agent.platform_client import PlatformClient
from reader_agent.store import fsync_dir, write_synced

ATTEMPTS_DEFAULT = 4
BACKOFF_S_DEFAULT = 0.5
BACKOFF_S_MAX = 10.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivered file: its name, SHA-256 and whether the target already had it."""

    name: str
    sha256: str
    already_there: bool


def deliver_to_directory(inbox: Path, terminal_id: str, path: Path) -> Delivery:
    """Copy into inbox/terminal/<T>/ atomically (temp file + fsync + hard link, which never overwrites)."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    folder = inbox / "terminal" / terminal_id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        if target.read_bytes() != data:
            raise AgentError(Reason.UPLOAD_CONFLICT, detail=path.name)
        return Delivery(path.name, digest, True)
    tmp = folder / f".{path.name}.{os.getpid()}.part"
    write_synced(tmp, data, 0o644, exact_mode=False)  # the inbox is the back office's: its umask rules
    try:
        os.link(tmp, target)
    except FileExistsError:
        if target.read_bytes() != data:
            raise AgentError(Reason.UPLOAD_CONFLICT, detail=path.name) from None
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)
    return Delivery(path.name, digest, False)


def deliver_over_https(client: PlatformClient, terminal_id: str, path: Path) -> Delivery:
    """PUT /v1/terminal-logs/<T>/<name>; the server answers stored (201), duplicate (200), conflict (409)."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    status, answer = client.request("PUT", f"/v1/terminal-logs/{terminal_id}/{path.name}", data,
                                    content_type="application/x-ndjson")
    if status == 409:
        raise AgentError(Reason.UPLOAD_CONFLICT, detail=path.name)
    if status not in (200, 201) or answer.get("sha256") != digest:
        raise AgentError(Reason.UPLOAD_FAILED, detail=f"HTTP {status}")
    return Delivery(path.name, digest, status == 200)


def with_retries(send: Callable[[], Delivery], attempts: int = ATTEMPTS_DEFAULT,
                 backoff_s: float = BACKOFF_S_DEFAULT) -> Delivery:
    """Retry `send` on transient failures (unreachable, I/O errors) with capped exponential backoff."""
    last: AgentError | None = None
    for attempt in range(attempts):
        try:
            return send()
        except AgentError as exc:
            if exc.code == Reason.UPLOAD_CONFLICT:
                raise
            last = exc
        except OSError as exc:
            last = AgentError(Reason.UPLOAD_FAILED, detail=type(exc).__name__)
        if attempt < attempts - 1:
            time.sleep(min(BACKOFF_S_MAX, backoff_s * (2 ** attempt)))
    assert last is not None
    raise AgentError(Reason.UPLOAD_FAILED, detail=str(last.params.get("detail", last.code.value)))
