"""The pay / cancel transaction, pending-entry recovery, card status and upload, end to end.

Order of one transaction (docs/reader-agent.md):
 1. settle any pending entry left by a crash (ask the platform; nothing new starts until it is settled);
 2. wait for a card, connect EXCLUSIVE; SELECT JPKI AP, token, auth certificate (local checks), PIN tries;
    one try left → refuse before asking for the PIN;
 3. platform `authorise` (resolves the MyKey ID from the certificate, checks balance, reserves an auth_id);
    unreachable → nothing is spent, the resident is told;
 4. PIN → VERIFY → SELECT key → SIGN the card message (it holds auth_id and mykey_id) → re-SELECT AP →
    disconnect unpowered; any failure voids the reservation;
 5. write-ahead: the signed record is made durable as the pending entry (its seq is now fixed);
 6. platform `commit` with the record; committed → append to the log; refused → ask the status endpoint
    and drop the entry only if it says voided / expired / auth_not_found; no answer → the entry stays and
    step 1 of a later run settles it.
A cap (CardOptions.transaction_cap_s, default 15 s) bounds steps 2-4 from connecting to the card to the
signature; past it the transaction is aborted (reservation voided, card released unpowered).

Never holds the PIN beyond step 4's VERIFY; never touches the signing certificate/key/password or the
券面 APs; never drops a pending entry on anything but an explicit not-committed answer from the platform.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import schemas, terminal_log
from reader_agent.card import JpkiCard, verify_signature
from reader_agent.config import TerminalConfig, load_key
from reader_agent.errors import AgentError, Reason
from reader_agent.pcsc import CardConnection, PcscContext
from reader_agent.pin import PinSource, validate_pin, wipe
from reader_agent.platform_client import PlatformClient
from reader_agent.store import JST, TerminalStore

Say = Callable[[str], None]
TRANSACTION_CAP_S_DEFAULT = 15.0  # card insertion → signature (jpki.md §5); the stand-in platform's auth TTL is 120 s


@dataclass(frozen=True, slots=True)
class CardOptions:
    """reader_filter: substring of the reader name (None = any); card_wait_s / pin_timeout_s / apdu_timeout_s:
    the three timeouts; trace: where masked APDU traces go (None = off); transaction_cap_s: the most one
    transaction may take from connecting to the card to the signature (then it is aborted and voided)."""

    reader_filter: str | None = None
    card_wait_s: float = 30.0
    pin_timeout_s: float = 30.0
    apdu_timeout_s: float = 5.0
    trace: Say | None = None
    transaction_cap_s: float = TRANSACTION_CAP_S_DEFAULT


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the resident is told after a committed transaction (no MyKey ID, no certificate data)."""

    type: str
    auth_id: str
    amount: int
    balance: int
    seq: int


@dataclass(frozen=True, slots=True)
class Recovery:
    """How a pending entry was settled: outcome `committed` (appended) or `not_committed` (dropped); the
    platform's balance after it when the answer carried one."""

    outcome: str
    seq: int
    balance: int | None = None


AUTH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")   # it goes into URL paths: nothing else is accepted
MYKEY_ID = re.compile(schemas.MYKEY_ID)
MUNICIPALITY_CODE = re.compile(schemas.MUNICIPALITY_CODE)
STATES = frozenset({"reserved", "committed", "voided", "expired"})
NOT_COMMITTED = frozenset({"voided", "expired", "unknown"})   # the only answers that let a record go


def now_jst() -> dt.datetime:
    return dt.datetime.now(JST).replace(microsecond=0)


def _unresolved(answer: str) -> AgentError:
    return AgentError(Reason.PENDING_UNRESOLVED, answer=answer)


def _platform_state(call: Callable[[], dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Ask the platform for an authorisation's state: (state, answer). `unknown` only for an explicit
    404 auth_not_found; any other refusal, an unreachable platform or an odd answer → PENDING_UNRESOLVED."""
    try:
        answer = call()
    except AgentError as exc:
        reason = str(exc.params.get("reason", ""))
        if exc.code == Reason.PLATFORM_DECLINED and reason == "auth_not_found" and exc.params.get(
                "http_status") == 404:
            return "unknown", {}
        raise _unresolved(reason or exc.code.value) from exc
    state = answer.get("status")
    if state not in STATES:
        raise _unresolved(f"status {str(state)[:20]!r}")
    return str(state), answer


def settle_pending(store: TerminalStore, platform: PlatformClient | None) -> Recovery | None:
    """Settle a pending entry with the status endpoint's word: committed → appended; voided / expired /
    auth_not_found → dropped; still reserved → voided, then asked again. Anything else (no platform, 401, 403,
    429, 400, 5xx, an odd answer) keeps the entry and raises PENDING_UNRESOLVED."""
    pending = store.pending()
    if pending is None:
        return None
    if platform is None:
        raise _unresolved("no platform URL")
    auth_id = str(pending["auth_id"])
    state, answer = _platform_state(lambda: platform.status(auth_id))
    if state == "reserved":
        _platform_state(lambda: platform.void(auth_id))
        state, answer = _platform_state(lambda: platform.status(auth_id))
    balance = answer.get("balance")
    balance = balance if type(balance) is int else None
    if state == "committed":
        store.append_pending()
        return Recovery("committed", pending["seq"], balance)
    if state in NOT_COMMITTED:
        store.discard_pending()
        return Recovery("not_committed", pending["seq"], balance)
    raise _unresolved(state)  # still reserved after a void


def _authorise_payload(config: TerminalConfig, kind: str, amount: int, cancel_of: str | None,
                       municipality_code: str | None, cert_der: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "request_id": base64.b32encode(os.urandom(15)).decode().lower(),
        "type": kind, "terminal_id": config.terminal_id, "merchant_id": config.merchant_id, "amount": amount,
        "card_cert": base64.b64encode(cert_der).decode("ascii"),
    }
    if municipality_code or config.municipality_code:
        payload["municipality_code"] = municipality_code or config.municipality_code
    if cancel_of:
        payload["cancel_of"] = cancel_of
    return payload


def _void_quietly(platform: PlatformClient, auth_id: str) -> None:
    try:
        platform.void(auth_id)
    except AgentError:
        pass  # the reservation expires on its own; nothing was spent


@dataclass(frozen=True, slots=True)
class Request:
    """One transaction asked for at the till: kind `use`/`cancel`, amount in yen (None for a full cancel),
    the use being cancelled, and an optional municipality when the shop must choose."""

    kind: str
    amount: int | None
    cancel_of: str | None = None
    municipality_code: str | None = None


@dataclass(frozen=True, slots=True)
class Reservation:
    """The fields of the platform's `reserved` answer that the record is built from, checked."""

    auth_id: str
    amount: int
    municipality_code: str
    mykey_id: str


def _answer_invalid(field: str) -> AgentError:
    return AgentError(Reason.PLATFORM_ANSWER_INVALID, field=field)


def _auth_id(answer: dict[str, Any]) -> str:
    auth_id = answer.get("auth_id")
    if not isinstance(auth_id, str) or not AUTH_ID.fullmatch(auth_id):
        raise _answer_invalid("auth_id")
    return auth_id


def parse_reservation(answer: dict[str, Any], request: Request) -> Reservation:
    """Check the authorise answer against the protocol and the request; PLATFORM_ANSWER_INVALID naming the
    first bad field otherwise (never a KeyError)."""
    auth_id = _auth_id(answer)
    if answer.get("status") != "reserved":
        raise _answer_invalid("status")
    if answer.get("type") not in (None, request.kind):
        raise _answer_invalid("type")
    amount = answer.get("amount")
    if type(amount) is not int or amount <= 0 or (request.amount is not None and amount != request.amount):
        raise _answer_invalid("amount")
    code = answer.get("municipality_code")
    if not isinstance(code, str) or not MUNICIPALITY_CODE.fullmatch(code) or (
            request.municipality_code not in (None, code)):
        raise _answer_invalid("municipality_code")
    mykey_id = answer.get("mykey_id")
    if not isinstance(mykey_id, str) or not MYKEY_ID.fullmatch(mykey_id):
        raise _answer_invalid("mykey_id")
    return Reservation(auth_id, amount, code, mykey_id)


def _check_deadline(deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise AgentError(Reason.TRANSACTION_TIMEOUT)


def _card_steps(connection: CardConnection, platform: PlatformClient, store: TerminalStore,
                config: TerminalConfig, request: Request, pin_source: PinSource, options: CardOptions,
                say: Say, lang_text: Callable[..., str]) -> dict[str, Any]:
    """Steps 2-4 on an exclusive connection: returns the signed record (not yet durable). Once the platform
    has reserved, any exception at all (a coded error, Ctrl+C at the PIN prompt, a full disk, the cap)
    voids the reservation before it propagates."""
    deadline = time.monotonic() + options.transaction_cap_s
    connection.deadline = deadline
    card = JpkiCard(connection.transmit)
    card.select_applet()
    card.check_token()
    identity = card.read_auth_certificate(dt.datetime.now(dt.UTC))
    tries = card.pin_tries_left()
    if tries == 1:
        raise AgentError(Reason.PIN_LAST_TRY)
    answer = platform.authorise(_authorise_payload(config, request.kind, request.amount or 0,
                                                   request.cancel_of, request.municipality_code,
                                                   identity.cert_der))
    auth_id = _auth_id(answer)
    try:
        reservation = parse_reservation(answer, request)
        _check_deadline(deadline)
        say(lang_text("amount" if request.kind == "use" else "cancel_amount", amount=reservation.amount))
        if tries is not None:
            say(lang_text("tries_left", tries_left=tries))
        pin_wait_s = min(options.pin_timeout_s, max(0.0, deadline - time.monotonic()))
        pin = bytearray()
        try:
            pin = pin_source(lang_text("pin_prompt"), pin_wait_s)
            validate_pin(pin)
            _check_deadline(deadline)
            card.verify_pin(pin)
        finally:  # whatever happened — a timeout, Ctrl+C, an error in VERIFY — no PIN outlives this block
            wipe(pin)
        fields: dict[str, Any] = {
            "type": request.kind, "ts": now_jst().isoformat(), "merchant_id": config.merchant_id,
            "municipality_code": reservation.municipality_code, "mykey_id": reservation.mykey_id,
            "amount": reservation.amount, "auth_id": auth_id,
        }
        if request.kind == "cancel":
            fields["cancel_of"] = request.cancel_of
        record = store.next_record(fields)
        signature = card.sign_sha256(terminal_log.card_message_digest(record))
        card.logout()
        if not verify_signature(identity.public_key, signature, terminal_log.card_message(record)):
            raise AgentError(Reason.SIGNATURE_INVALID)
    except BaseException:
        _void_quietly(platform, auth_id)
        raise
    record["card_cert_serial"] = identity.serial_hex
    record["card_sig"] = base64.b64encode(signature).decode("ascii")
    return record


def run_transaction(state_dir: Path, config: TerminalConfig, platform: PlatformClient, request: Request,
                    pin_source: PinSource, options: CardOptions, say: Say,
                    lang_text: Callable[..., str]) -> Receipt:
    """The whole pay or cancel; raises AgentError (nothing spent unless a Receipt is returned, except
    PLATFORM_UNCERTAIN, where a later `settle_pending` tells)."""
    with TerminalStore.open(state_dir, config.terminal_id) as store:
        recovered = settle_pending(store, platform)
        if recovered:
            say(lang_text("recovered", outcome=recovered.outcome, seq=recovered.seq))
        store.check_room()
        with PcscContext() as pcsc:
            say(lang_text("wait_card"))
            reader = pcsc.wait_for_card(options.reader_filter, options.card_wait_s)
            connection = pcsc.connect_exclusive(reader, options.apdu_timeout_s, options.trace)
            try:
                record = _card_steps(connection, platform, store, config, request, pin_source, options, say,
                                     lang_text)
            finally:
                connection.close()
        say(lang_text("remove_card"))
        try:
            store.write_pending(record)
        except BaseException:  # nothing durable, nothing committed: give the reservation back
            _void_quietly(platform, record["auth_id"])
            raise
        return _commit(store, platform, record)


def _commit(store: TerminalStore, platform: PlatformClient, record: dict[str, Any]) -> Receipt:
    """Step 6. A refusal is checked with the status endpoint before the record is dropped: the platform
    may have committed it after all (an answer lost, then a retry refused)."""
    try:
        answer = platform.commit(record["auth_id"], record)
    except AgentError as exc:
        if exc.code != Reason.PLATFORM_DECLINED:
            raise AgentError(Reason.PLATFORM_UNCERTAIN) from exc
        settled = settle_pending(store, platform)   # PENDING_UNRESOLVED (entry kept) unless the answer is clear
        if settled is None or settled.outcome != "committed":
            raise
        return Receipt(record["type"], record["auth_id"], record["amount"], settled.balance or 0, record["seq"])
    balance = answer.get("balance")
    written = store.append_pending()
    return Receipt(written["type"], written["auth_id"], written["amount"],
                   balance if type(balance) is int else 0, written["seq"])


@dataclass(frozen=True, slots=True)
class CardStatus:
    """`status` output: readers, and for the first reader with a card: JPKI found and auth-PIN tries left."""

    readers: tuple[str, ...]
    card_reader: str | None
    jpki: bool | None
    tries_left: int | None
    locked: bool


def card_status(options: CardOptions) -> CardStatus:
    """Look without asking for a PIN: SELECT AP, token, PIN-tries query only (never a VERIFY with data)."""
    with PcscContext() as pcsc:
        states = pcsc.reader_states(options.reader_filter)
        readers = tuple(s.name for s in states)
        with_card = next((s.name for s in states if s.card_present), None)
        if with_card is None:
            return CardStatus(readers, None, None, None, False)
        connection = pcsc.connect_exclusive(with_card, options.apdu_timeout_s, options.trace)
        try:
            card = JpkiCard(connection.transmit)
            try:
                card.select_applet()
                card.check_token()
            except AgentError as exc:
                if exc.code in (Reason.NOT_JPKI, Reason.TOKEN_UNSUPPORTED):
                    return CardStatus(readers, with_card, False, None, False)
                raise
            try:
                tries = card.pin_tries_left()
            except AgentError as exc:
                if exc.code == Reason.PIN_LOCKED:
                    return CardStatus(readers, with_card, True, 0, True)
                raise
            card.logout()
            return CardStatus(readers, with_card, True, tries, False)
        finally:
            connection.close()


def seal_and_deliver(state_dir: Path, config: TerminalConfig, platform: PlatformClient | None,
                     send: Callable[[Path], Any], say: Say, lang_text: Callable[..., str]) -> list[str]:
    """Seal current.jsonl (if it has records) and deliver every outbox file, oldest first."""
    delivered = []
    with TerminalStore.open(state_dir, config.terminal_id) as store:
        if store.pending() is not None:
            recovered = settle_pending(store, platform)
            if recovered:
                say(lang_text("recovered", outcome=recovered.outcome, seq=recovered.seq))
        store.seal(load_key(state_dir), now_jst())
        for path in store.outbox_files():
            send(path)
            store.mark_sent(path)
            delivered.append(path.name)
            say(lang_text("uploaded", name=path.name))
    return delivered
