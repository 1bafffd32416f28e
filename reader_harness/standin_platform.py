"""A local stand-in for the MyKey platform's terminal API, on loopback HTTPS (docs/reader-agent.md §5).

It answers the reader agent's authorisation protocol (authorise → commit / void, status) and accepts log
uploads (PUT, written into an inbox's terminal/ folder), from a simulated world loaded from inbox files in the
FORMATS.md formats: master/merchants, designations and terminals, platform/mykey_certs_*.csv (which card
certificate belongs to which MyKey ID), platform/balances_*.csv (pooled per municipality, as the platform spends
them). `write_world` builds such an inbox directly for tests. Committed events can be exported as a platform
ledger (`ledger_rows`) so seisan's ingestion sees both sides.

Every request must carry the terminal's signature over its method, path, body, timestamp and nonce
(reader_agent.platform_client owns that message); a request whose timestamp is more than 300 s from
`Platform.clock` is refused as `request_stale`, a nonce seen again within that window as `request_replayed`
(`ReplayGuard`).

Fault knobs for tests: `fail_uploads` (next N uploads answer 503), `stop()` (the platform becomes unreachable),
`answer_faults` (the next calls of a route get a chosen HTTP status and body, before or after the real work —
e.g. a commit that is done but answered 403, or a status query answered 429).
Stdlib only (http.server + ssl) plus `cryptography`; TLS material is generated at start (`make_tls_files`).
Simulation only: it keeps state in memory and must never be exposed beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import heapq
import io
import json
import os
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from contracts import schemas, terminal_log
from contracts.csvio import csv_bytes
from contracts.limits import AMOUNT_MAX_YEN
from reader_agent.platform_client import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TERMINAL,
    HEADER_TIMESTAMP,
    NONCE,
    REQUEST_WINDOW_S,
    TIMESTAMP,
    request_message,
)
from reader_agent.store import FILE_NAME, JST

RESERVATION_TTL_S = 120
BODY_BYTES_MAX = 1 << 22


# --- the world ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CertRegistration:
    """A card certificate registered to a MyKey ID; `revoked` after a `revoked` event."""

    mykey_id: str
    serial_hex: str
    cert_der: bytes
    revoked: bool = False


@dataclass(slots=True)
class World:
    """What the platform knows: merchant status, designations (municipality, merchant, from, to), terminal
    keys, card registrations by certificate DER, balances pooled per (municipality_code, mykey_id)."""

    merchants: dict[str, str] = field(default_factory=dict)
    designations: list[tuple[str, str, dt.date, dt.date | None]] = field(default_factory=list)
    terminals: dict[str, tuple[str, str]] = field(default_factory=dict)
    certs: dict[bytes, CertRegistration] = field(default_factory=dict)
    balances: dict[tuple[str, str], int] = field(default_factory=dict)


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


def _newest(folder: Path, prefix: str, as_of: dt.date) -> Path | None:
    files = sorted(p for p in folder.glob(f"{prefix}_*.csv") if p.stem[-8:] <= as_of.strftime("%Y%m%d"))
    return files[-1] if files else None


def load_world(inbox: Path, as_of: dt.date) -> World:
    """The world as of `as_of` from an inbox: newest master snapshots, cert events in order, newest balances."""
    world = World()
    master, platform = inbox / "master", inbox / "platform"
    if path := _newest(master, "merchants", as_of):
        world.merchants = {r["merchant_id"]: r["status"] for r in _read_csv(path)}
    if path := _newest(master, "designations", as_of):
        world.designations = [(r["municipality_code"], r["merchant_id"], dt.date.fromisoformat(r["valid_from"]),
                               dt.date.fromisoformat(r["valid_to"]) if r["valid_to"] else None)
                              for r in _read_csv(path)]
    if path := _newest(master, "terminals", as_of):
        for r in _read_csv(path):
            if dt.date.fromisoformat(r["active_from"]) <= as_of and (
                    not r["active_to"] or as_of <= dt.date.fromisoformat(r["active_to"])):
                world.terminals[r["terminal_id"]] = (r["merchant_id"], r["public_key"])
    cert_files = sorted(p for p in platform.glob("mykey_certs_*.csv") if p.stem[-8:] <= as_of.strftime("%Y%m%d"))
    for path in cert_files:
        for r in sorted(_read_csv(path), key=lambda r: r["event_ts"]):
            der = base64.b64decode(r["cert_der"])
            if r["event"] == "revoked":
                old = world.certs.get(der)
                if old:
                    world.certs[der] = CertRegistration(old.mykey_id, old.serial_hex, der, True)
            else:
                world.certs[der] = CertRegistration(r["mykey_id"], r["cert_serial"].lower(), der)
    if path := _newest(platform, "balances", as_of):
        for r in _read_csv(path):
            key = (r["municipality_code"], r["mykey_id"])
            world.balances[key] = world.balances.get(key, 0) + int(r["balance"])
    return world


def _merchant_row(merchant_id: str, status: str) -> dict[str, str]:
    return {"merchant_id": merchant_id, "name": f"店舗{merchant_id[-3:]}", "name_kana": "ﾃﾝﾎﾟ",
            "category": "retail", "channel": "store", "bank_code": "0001", "branch_code": "001",
            "account_type": "1", "account_number": "1234567", "account_holder_kana": "ﾃﾝﾎﾟ", "status": status}


def _municipality_row(code: str) -> dict[str, str]:
    return {"municipality_code": code, "name": f"自治体{code}", "name_kana": "ｼﾞﾁﾀｲ", "prefecture": "東京都",
            "settlement_cycle": "monthly", "settlement_day": "end", "min_payout_yen": "0", "fee_bearer": "payer",
            "payer_bank_code": "0001", "payer_branch_code": "001", "payer_account_type": "1",
            "payer_account_number": "7654321", "client_code": "1234567890", "client_name_kana": "ｼﾞﾁﾀｲ"}


def write_world(inbox: Path, date: dt.date, merchants: dict[str, str], designations: list[tuple[str, str]],
                terminals: list[tuple[str, str, str]], certs: list[tuple[str, str, bytes]],
                balances: list[tuple[str, str, str, int]]) -> None:
    """Write an inbox for business date `date` in FORMATS.md formats: merchants {id: status},
    designations [(municipality, merchant)] valid from a year back, terminals [(terminal, merchant, key b64)],
    certs [(mykey_id, serial_hex, DER)] registered, balances [(municipality, program, mykey_id, balance)]."""
    stamp = date.strftime("%Y%m%d")
    (inbox / "master").mkdir(parents=True, exist_ok=True)
    (inbox / "platform").mkdir(parents=True, exist_ok=True)
    since = (date - dt.timedelta(days=365)).isoformat()
    municipalities = sorted({c for c, _ in designations} | {c for c, _, _, _ in balances})
    programs = sorted({(p, c) for c, p, _, _ in balances})
    files = {
        f"master/municipalities_{stamp}.csv": (schemas.MASTER_MUNICIPALITIES, [_municipality_row(c)
                                                                              for c in municipalities]),
        f"master/programs_{stamp}.csv": (schemas.MASTER_PROGRAMS, [
            {"program_code": p, "municipality_code": c, "name": p, "kind": "benefit", "funding": "municipal_budget",
             "expiry": "none"} for p, c in programs]),
        f"master/merchants_{stamp}.csv": (schemas.MASTER_MERCHANTS,
                                          [_merchant_row(m, s) for m, s in merchants.items()]),
        f"master/designations_{stamp}.csv": (schemas.MASTER_DESIGNATIONS, [
            {"municipality_code": c, "merchant_id": m, "valid_from": since} for c, m in designations]),
        f"master/terminals_{stamp}.csv": (schemas.MASTER_TERMINALS, [
            {"terminal_id": t, "merchant_id": m, "public_key": k, "active_from": since} for t, m, k in terminals]),
        f"platform/mykey_certs_{stamp}.csv": (schemas.PLATFORM_MYKEY_CERTS, [
            {"mykey_id": k, "cert_serial": s, "cert_der": base64.b64encode(d).decode(), "event": "registered",
             "event_ts": f"{since}T09:00:00+09:00"} for k, s, d in certs]),
        f"platform/balances_{stamp}.csv": (schemas.PLATFORM_BALANCES, [
            {"municipality_code": c, "program_code": p, "mykey_id": k, "balance": b} for c, p, k, b in balances]),
    }
    for name, (kind, rows) in files.items():
        (inbox / name).write_bytes(csv_bytes(kind.column_names, rows))


# --- request freshness: timestamps and nonces under the terminal's signature --------------------------------
@dataclass(slots=True)
class ReplayGuard:
    """Refuses stale requests (timestamp more than `window_s` from the platform's clock, past or future) and
    replays (a (terminal, nonce) pair already accepted). A nonce is remembered until its own timestamp +
    window — after that a copy of its request is refused as stale anyway — so memory stays bounded by the
    requests of one window. Thread-safe."""

    window_s: int = REQUEST_WINDOW_S
    _until: dict[tuple[str, str], int] = field(default_factory=dict)
    _expiries: list[tuple[int, tuple[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, terminal_id: str, nonce: str, timestamp_s: int, now_s: float) -> str | None:
        """None when the request is fresh and its nonce new (the nonce is then remembered); otherwise the
        decline reason, `request_stale` or `request_replayed`."""
        if abs(now_s - timestamp_s) > self.window_s:
            return "request_stale"
        with self._lock:
            while self._expiries and self._expiries[0][0] < now_s:
                self._until.pop(heapq.heappop(self._expiries)[1], None)
            key = (terminal_id, nonce)
            if key in self._until:
                return "request_replayed"
            self._until[key] = timestamp_s + self.window_s
            heapq.heappush(self._expiries, (timestamp_s + self.window_s, key))
        return None

    def remembered(self) -> int:
        with self._lock:
            return len(self._until)


# --- the authorisation state -------------------------------------------------------------------------------
@dataclass(slots=True)
class AnswerFault:
    """Answer the next `times` calls of `route` (authorise, commit, void, status) with `http_status` and
    `body`; with `after_processing` the platform does the real work first and only the answer is replaced."""

    route: str
    http_status: int
    body: dict[str, Any]
    after_processing: bool = False
    times: int = 1


class Declined(Exception):
    def __init__(self, reason: str, http_status: int = 422, **extra: Any) -> None:
        super().__init__(reason)
        self.reason, self.http_status, self.extra = reason, http_status, extra


@dataclass(slots=True)
class Reservation:
    """One authorisation: reserved → committed | voided | expired."""

    auth_id: str
    request_id: str
    type: str
    terminal_id: str
    merchant_id: str
    municipality_code: str
    mykey_id: str
    amount: int
    cert_der: bytes
    expires_at: dt.datetime
    cancel_of: str | None = None
    state: str = "reserved"
    record: dict[str, Any] | None = None


class Platform:
    """The platform's authorisation logic over a `World`; thread-safe."""

    def __init__(self, world: World, inbox: Path | None = None, today: dt.date | None = None) -> None:
        self.world, self.inbox = world, inbox
        self.today = today or dt.datetime.now(JST).date()
        self.reservations: dict[str, Reservation] = {}
        self.by_request: dict[str, str] = {}
        self.fail_uploads = 0
        self.answer_faults: list[AnswerFault] = []
        self.requests_seen = 0
        self.clock = time.time          # the platform's clock (a test may set it off, like a drifting server)
        self.replay_guard = ReplayGuard()
        self._lock = threading.Lock()

    def available(self, municipality_code: str, mykey_id: str) -> int:
        held = sum(r.amount for r in self.reservations.values()
                   if r.state == "reserved" and r.type == "use" and (r.municipality_code, r.mykey_id)
                   == (municipality_code, mykey_id) and r.expires_at > dt.datetime.now(JST))
        return self.world.balances.get((municipality_code, mykey_id), 0) - held

    def _designated(self, merchant_id: str) -> list[str]:
        return sorted({c for c, m, start, end in self.world.designations
                       if m == merchant_id and start <= self.today and (end is None or self.today <= end)})

    def _holder(self, cert_b64: str) -> CertRegistration:
        try:
            der = base64.b64decode(cert_b64, validate=True)
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise Declined("request_invalid", 400) from None
        registration = self.world.certs.get(der)
        if registration is None:
            raise Declined("card_not_registered")
        if registration.revoked:
            raise Declined("card_revoked")
        if cert.not_valid_after_utc < dt.datetime.now(dt.UTC):
            raise Declined("card_revoked")
        return registration

    def authorise(self, terminal_id: str, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if request.get("request_id") in self.by_request:
                return self._answer(self.reservations[self.by_request[request["request_id"]]])
            kind, amount = request.get("type"), request.get("amount")
            if kind not in ("use", "cancel") or type(amount) is not int or not 0 <= amount <= AMOUNT_MAX_YEN:
                raise Declined("request_invalid", 400)
            merchant_id = request.get("merchant_id")
            if self.world.terminals.get(terminal_id, ("",))[0] != merchant_id:
                raise Declined("terminal_unknown", 403)
            if self.world.merchants.get(merchant_id) != "active":
                raise Declined("merchant_not_active")
            holder = self._holder(str(request.get("card_cert", "")))
            if kind == "use":
                municipality_code = self._choose_municipality(merchant_id, holder.mykey_id, amount,
                                                              request.get("municipality_code"))
                cancel_of = None
            else:
                municipality_code, amount, cancel_of = self._check_cancel(request, holder.mykey_id, amount)
            reservation = Reservation(
                "A" + secrets.token_hex(8), str(request.get("request_id")), kind, terminal_id, merchant_id,
                municipality_code, holder.mykey_id, amount, holder.cert_der,
                dt.datetime.now(JST) + dt.timedelta(seconds=RESERVATION_TTL_S), cancel_of)
            self.reservations[reservation.auth_id] = reservation
            self.by_request[reservation.request_id] = reservation.auth_id
            return self._answer(reservation)

    def _choose_municipality(self, merchant_id: str, mykey_id: str, amount: int, wanted: str | None) -> str:
        designated = [c for c in self._designated(merchant_id) if wanted in (None, c)]
        if not designated:
            raise Declined("not_designated")
        if amount <= 0:
            raise Declined("request_invalid", 400)
        best = max(designated, key=lambda c: (self.available(c, mykey_id), c))
        if self.available(best, mykey_id) < amount:
            raise Declined("insufficient_balance", balance=max(0, self.available(best, mykey_id)))
        return best

    def _check_cancel(self, request: dict[str, Any], mykey_id: str, amount: int) -> tuple[str, int, str]:
        use = self.reservations.get(str(request.get("cancel_of")))
        if use is None or use.type != "use" or use.state != "committed" or use.mykey_id != mykey_id or (
                use.merchant_id != request.get("merchant_id")):
            raise Declined("cancel_invalid")
        cancelled = sum(r.amount for r in self.reservations.values()
                        if r.type == "cancel" and r.cancel_of == use.auth_id and r.state in ("reserved", "committed"))
        remaining = use.amount - cancelled
        amount = amount or remaining
        if not 0 < amount <= remaining:
            raise Declined("cancel_invalid")
        return use.municipality_code, amount, use.auth_id

    def _answer(self, r: Reservation) -> dict[str, Any]:
        return {"status": r.state, "auth_id": r.auth_id, "mykey_id": r.mykey_id, "type": r.type,
                "municipality_code": r.municipality_code, "amount": r.amount,
                "expires_at": r.expires_at.isoformat(timespec="seconds"),
                "balance": self.available(r.municipality_code, r.mykey_id)}

    def _live(self, auth_id: str, terminal_id: str) -> Reservation:
        reservation = self.reservations.get(auth_id)
        if reservation is None or reservation.terminal_id != terminal_id:
            raise Declined("auth_not_found", 404)
        if reservation.state == "reserved" and reservation.expires_at <= dt.datetime.now(JST):
            reservation.state = "expired"
        return reservation

    def commit(self, terminal_id: str, auth_id: str, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            r = self._live(auth_id, terminal_id)
            if r.state == "committed":
                if r.record and r.record.get("hash") == record.get("hash"):
                    return self._answer(r)
                raise Declined("record_mismatch", 409)
            if r.state != "reserved":
                raise Declined("auth_expired" if r.state == "expired" else "auth_voided", 409)
            expected = {"type": r.type, "terminal_id": r.terminal_id, "merchant_id": r.merchant_id,
                        "municipality_code": r.municipality_code, "mykey_id": r.mykey_id, "amount": r.amount,
                        "auth_id": r.auth_id}
            if r.cancel_of:
                expected["cancel_of"] = r.cancel_of
            if any(record.get(k) != v for k, v in expected.items()):
                raise Declined("record_mismatch", 409)
            public_key = x509.load_der_x509_certificate(r.cert_der).public_key()
            if not terminal_log.verify_card_signature(public_key, record):
                raise Declined("signature_invalid")
            key = (r.municipality_code, r.mykey_id)
            sign = -1 if r.type == "use" else 1
            self.world.balances[key] = self.world.balances.get(key, 0) + sign * r.amount
            r.state, r.record = "committed", dict(record)
            return self._answer(r)

    def void(self, terminal_id: str, auth_id: str) -> dict[str, Any]:
        with self._lock:
            r = self._live(auth_id, terminal_id)
            if r.state == "reserved":
                r.state = "voided"
            return self._answer(r)

    def status(self, terminal_id: str, auth_id: str) -> dict[str, Any]:
        with self._lock:
            return self._answer(self._live(auth_id, terminal_id))

    def take_fault(self, route: str) -> AnswerFault | None:
        """The fault armed for `route`, if any (its count is used up)."""
        with self._lock:
            for fault in self.answer_faults:
                if fault.route == route and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def ledger_rows(self) -> list[dict[str, Any]]:
        """Committed uses and cancels as platform ledger rows (FORMATS.md platform/ledger)."""
        rows = []
        for r in self.reservations.values():
            if r.state != "committed" or r.record is None:
                continue
            rows.append({"event_id": "E" + r.auth_id, "event_ts": r.record["ts"],
                         "municipality_code": r.municipality_code, "mykey_id": r.mykey_id, "event_type": r.type,
                         "amount": r.amount, "merchant_id": r.merchant_id, "terminal_id": r.terminal_id,
                         "auth_id": r.auth_id, "cancel_of": "E" + r.cancel_of if r.cancel_of else "",
                         "channel": "terminal"})
        return rows

    def store_upload(self, terminal_id: str, name: str, data: bytes) -> tuple[int, dict[str, Any]]:
        match = FILE_NAME.fullmatch(name)   # the agent's own upload-file name rule
        if self.inbox is None or match is None or match["terminal"] != terminal_id:
            return 400, {"status": "declined", "reason": "request_invalid"}
        with self._lock:
            if self.fail_uploads > 0:
                self.fail_uploads -= 1
                return 503, {"status": "unavailable"}
        digest = hashlib.sha256(data).hexdigest()
        folder = self.inbox / "terminal" / terminal_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.exists():
            same = target.read_bytes() == data
            return (200, {"status": "duplicate", "sha256": digest}) if same else (409, {"status": "conflict"})
        tmp = folder / f".{name}.{secrets.token_hex(4)}"
        tmp.write_bytes(data)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return 409, {"status": "conflict"}
        finally:
            tmp.unlink()
        return 201, {"status": "stored", "sha256": digest}


# --- HTTPS ---------------------------------------------------------------------------------------------------
def _verify_terminal(platform: Platform, terminal_id: str, signature: str, message: bytes) -> bool:
    entry = platform.world.terminals.get(terminal_id)
    if entry is None:
        return False
    try:
        terminal_log.load_terminal_public_key(entry[1]).verify(base64.b64decode(signature), message)
    except Exception:  # noqa: BLE001 - any failure is an unauthenticated request
        return False
    return True


def check_request(platform: Platform, headers: Any, method: str, path: str, body: bytes) -> tuple[int, str] | None:
    """None for a well-formed, correctly signed, fresh, first-seen request; else (HTTP status, decline reason):
    400 request_invalid (timestamp or nonce header missing or malformed), 401 terminal_unknown (unknown terminal
    or a signature that does not cover exactly this method, path, body, timestamp and nonce), 401 request_stale,
    401 request_replayed. The nonce is only remembered once the signature has verified."""
    terminal_id, timestamp = headers.get(HEADER_TERMINAL, ""), headers.get(HEADER_TIMESTAMP, "")
    nonce = headers.get(HEADER_NONCE, "")
    if not TIMESTAMP.fullmatch(timestamp) or not NONCE.fullmatch(nonce):
        return 400, "request_invalid"
    message = request_message(method, path, body, int(timestamp), nonce)
    if not _verify_terminal(platform, terminal_id, headers.get(HEADER_SIGNATURE, ""), message):
        return 401, "terminal_unknown"
    reason = platform.replay_guard.admit(terminal_id, nonce, int(timestamp), platform.clock())
    return (401, reason) if reason else None


class _Handler(BaseHTTPRequestHandler):
    platform: Platform
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: bodies may not be logged
        pass

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > BODY_BYTES_MAX:
            return self._send(413, {"status": "declined", "reason": "request_invalid"})
        body = self.rfile.read(length)
        terminal_id = self.headers.get(HEADER_TERMINAL, "")
        self.platform.requests_seen += 1
        refused = check_request(self.platform, self.headers, method, self.path, body)
        if refused is not None:
            return self._send(refused[0], {"status": "declined", "reason": refused[1]})
        parts = self.path.strip("/").split("/")
        try:
            if method == "PUT" and parts[:2] == ["v1", "terminal-logs"] and len(parts) == 4:
                if parts[2] != terminal_id:
                    return self._send(403, {"status": "declined", "reason": "terminal_unknown"})
                return self._send(*self.platform.store_upload(terminal_id, parts[3], body))
            request = json.loads(body or b"{}")
            fault = self.platform.take_fault(_route_name(method, parts))
            if fault is not None and not fault.after_processing:
                return self._send(fault.http_status, fault.body)
            answer = self._route(method, parts, terminal_id, request)
            if fault is not None:
                return self._send(fault.http_status, fault.body)
            self._send(200, answer)
        except Declined as exc:
            self._send(exc.http_status, {"status": "declined", "reason": exc.reason, **exc.extra})
        except (ValueError, KeyError, TypeError):
            self._send(400, {"status": "declined", "reason": "request_invalid"})

    def _route(self, method: str, parts: list[str], terminal_id: str, request: dict[str, Any]) -> dict[str, Any]:
        p = self.platform
        if method == "POST" and parts == ["v1", "authorisations"]:
            return p.authorise(terminal_id, request)
        if len(parts) == 4 and parts[:2] == ["v1", "authorisations"] and method == "POST":
            if parts[3] == "commit":
                return p.commit(terminal_id, parts[2], request["record"])
            if parts[3] == "void":
                return p.void(terminal_id, parts[2])
        if len(parts) == 3 and parts[:2] == ["v1", "authorisations"] and method == "GET":
            return p.status(terminal_id, parts[2])
        raise Declined("not_found", 404)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")


def _route_name(method: str, parts: list[str]) -> str:
    if method == "POST" and parts == ["v1", "authorisations"]:
        return "authorise"
    if method == "GET" and len(parts) == 3:
        return "status"
    return parts[3] if len(parts) == 4 else "other"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A throw-away CA (give `ca_pem` to the agent as --platform-ca) and the server's cert and key."""

    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1 / localhost, valid one day (P-256, generated now)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SIMULATED platform test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    import ipaddress

    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return files


class PlatformServer:
    """The stand-in platform on https://127.0.0.1:<port>; `start()` serves in a thread, `stop()` makes it
    unreachable."""

    def __init__(self, platform: Platform, tls: TlsFiles, port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"platform": platform})
        self.platform = platform
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_pem, tls.key_pem)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="standin-platform", daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> PlatformServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def terminal_key_b64(key: ed25519.Ed25519PrivateKey) -> str:
    return terminal_log.terminal_public_key_b64(key)


def main(argv: list[str] | None = None) -> int:
    """`python -m reader_harness.standin_platform --inbox DIR --tls-dir DIR [--date YYYY-MM-DD] [--port N]`: serve the
    stand-in platform on 127.0.0.1 until interrupted; prints its URL and the CA file to give the agent."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m reader_harness.standin_platform")
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--tls-dir", type=Path, required=True)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.datetime.now(JST).date())
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    tls = make_tls_files(args.tls_dir)
    server = PlatformServer(Platform(load_world(args.inbox, args.date), args.inbox, args.date), tls, args.port)
    print(f"stand-in platform on {server.url} (CA file: {tls.ca_pem})", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
