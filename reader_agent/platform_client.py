"""HTTPS JSON client for the platform's authorisation API and the log upload endpoint (docs/reader-agent.md).

Every request is signed by the terminal's Ed25519 key (headers `X-Seisan-Terminal`, `X-Seisan-Timestamp`,
`X-Seisan-Nonce`, `X-Seisan-Signature` over `METHOD SP PATH LF sha256hex(body) LF timestamp LF nonce`), so the
platform knows which registered terminal asks, and — because the timestamp and a fresh random nonce are under
the signature — can refuse a request captured and sent again (a replay) or one sent too long ago or with a
wrong clock (stale: more than REQUEST_WINDOW_S from the platform's clock). Each attempt, a retry included, is a
new request with its own timestamp and nonce. This module owns that message; the stand-in platform
(reader_harness/standin_platform.py) checks requests with the same functions. TLS is verified
against the CA file given (`--platform-ca`) or the system store; plain HTTP is refused except to loopback.
Connection failures, timeouts, TLS errors and 5xx answers are `platform_unreachable`; a JSON answer with
`status: declined` is `platform_declined` with the platform's reason code.

Written with the stdlib (http.client + ssl) so the agent needs no HTTP library beyond `cryptography`.
It never sends a PIN (it never has one) and never logs request bodies.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import secrets
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from reader_agent.errors import AgentError, Reason

REQUEST_TIMEOUT_S = 5.0
RESPONSE_BYTES_MAX = 1 << 20
PROTOCOL_VERSION = 1
REQUEST_WINDOW_S = 300        # a request's timestamp may differ from the platform's clock by at most this
HEADER_TERMINAL = "X-Seisan-Terminal"
HEADER_TIMESTAMP = "X-Seisan-Timestamp"   # Unix time in whole seconds (UTC), decimal
HEADER_NONCE = "X-Seisan-Nonce"           # 128 random bits, 32 lowercase hex digits, new for every request
HEADER_SIGNATURE = "X-Seisan-Signature"
TIMESTAMP = re.compile(r"[0-9]{1,12}")    # bounded before it is turned into a number
NONCE = re.compile(r"[0-9a-f]{32}")


def request_message(method: str, path: str, body: bytes, timestamp_s: int, nonce: str) -> bytes:
    """What the terminal signs: `METHOD SP PATH LF sha256hex(body) LF timestamp LF nonce`."""
    return f"{method} {path}\n{hashlib.sha256(body).hexdigest()}\n{timestamp_s}\n{nonce}".encode()


def request_signature(key: ed25519.Ed25519PrivateKey, method: str, path: str, body: bytes, timestamp_s: int,
                      nonce: str) -> str:
    """Base64 Ed25519 signature over `request_message`."""
    return base64.b64encode(key.sign(request_message(method, path, body, timestamp_s, nonce))).decode("ascii")


def signed_headers(key: ed25519.Ed25519PrivateKey, terminal_id: str, method: str, path: str, body: bytes,
                   timestamp_s: int) -> dict[str, str]:
    """The four authentication headers of one request, with a fresh nonce."""
    nonce = secrets.token_hex(16)
    return {HEADER_TERMINAL: terminal_id, HEADER_TIMESTAMP: str(timestamp_s), HEADER_NONCE: nonce,
            HEADER_SIGNATURE: request_signature(key, method, path, body, timestamp_s, nonce)}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach the platform: base URL (https://host:port[/prefix]) and CA file (PEM)."""

    url: str
    ca_file: str | None = None
    timeout_s: float = REQUEST_TIMEOUT_S


Clock = Callable[[], float]   # seconds since the epoch, like time.time


class PlatformClient:
    """Signed JSON requests to one platform endpoint."""

    def __init__(self, endpoint: Endpoint, terminal_id: str, key: ed25519.Ed25519PrivateKey,
                 clock: Clock = time.time) -> None:
        parsed = urllib.parse.urlsplit(endpoint.url)
        if parsed.scheme != "https" and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise AgentError(Reason.USAGE, detail="the platform URL must be https://")
        self._parsed, self._endpoint = parsed, endpoint
        self._terminal_id, self._key, self._clock = terminal_id, key, clock

    def _connection(self) -> http.client.HTTPConnection:
        host, port = self._parsed.hostname or "", self._parsed.port
        if self._parsed.scheme == "https":
            context = ssl.create_default_context(cafile=self._endpoint.ca_file)
            return http.client.HTTPSConnection(host, port, timeout=self._endpoint.timeout_s, context=context)
        return http.client.HTTPConnection(host, port, timeout=self._endpoint.timeout_s)

    def request(self, method: str, path: str, body: bytes = b"",
                content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
        """One attempt. Returns (HTTP status, JSON object); raises PLATFORM_UNREACHABLE."""
        full_path = self._parsed.path.rstrip("/") + path
        headers = {"Content-Type": content_type,
                   **signed_headers(self._key, self._terminal_id, method, full_path, body, int(self._clock()))}
        connection = self._connection()
        try:
            connection.request(method, full_path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read(RESPONSE_BYTES_MAX + 1)
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            raise AgentError(Reason.PLATFORM_UNREACHABLE, detail=type(exc).__name__) from exc
        finally:
            connection.close()
        if status >= 500 or len(raw) > RESPONSE_BYTES_MAX:
            raise AgentError(Reason.PLATFORM_UNREACHABLE, detail=f"HTTP {status}")
        try:
            answer = json.loads(raw or b"{}")
        except ValueError as exc:
            raise AgentError(Reason.PLATFORM_UNREACHABLE, detail="not JSON") from exc
        if not isinstance(answer, dict):
            raise AgentError(Reason.PLATFORM_UNREACHABLE, detail="not a JSON object")
        return status, answer

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None,
             attempts: int = 2, backoff_s: float = 0.2) -> dict[str, Any]:
        """A JSON call retried on `platform_unreachable` (every API call is idempotent); declines raise."""
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        for attempt in range(attempts):
            try:
                status, answer = self.request(method, path, body)
                break
            except AgentError:
                if attempt == attempts - 1:
                    raise
                time.sleep(backoff_s * (2 ** attempt))
        if status >= 400 or answer.get("status") == "declined":
            raise AgentError(Reason.PLATFORM_DECLINED, reason=str(answer.get("reason", f"http_{status}"))[:40],
                             balance=answer.get("balance", ""), http_status=status)
        return answer

    # --- the authorisation protocol ----------------------------------------------------------------------
    def authorise(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/v1/authorisations", {"v": PROTOCOL_VERSION, **payload})

    def commit(self, auth_id: str, record: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"/v1/authorisations/{auth_id}/commit", {"v": PROTOCOL_VERSION,
                                                                            "record": record}, attempts=3)

    def void(self, auth_id: str) -> dict[str, Any]:
        return self.call("POST", f"/v1/authorisations/{auth_id}/void", {"v": PROTOCOL_VERSION})

    def status(self, auth_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/authorisations/{auth_id}")
