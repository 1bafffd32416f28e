"""Settling a pending entry against the loopback stand-in platform over real HTTPS (no card needed): the entry is
dropped only on an explicit voided / expired / auth_not_found answer from the status endpoint; every other
answer (401, 403, 429, 400, 5xx, an odd body) keeps it and says PENDING_UNRESOLVED."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import MERCHANT, MUNICIPALITY, MYKEY, TERMINAL

from reader_agent.config import load_key
from reader_agent.errors import AgentError, Reason
from reader_agent.flow import settle_pending
from reader_agent.platform_client import Endpoint, PlatformClient
from reader_agent.store import TerminalStore
from reader_harness.standin_platform import AnswerFault, Reservation

JST = dt.timezone(dt.timedelta(hours=9))


def _client(terminal, world) -> PlatformClient:
    return PlatformClient(Endpoint(world.url, str(world.tls.ca_pem), timeout_s=2.0), TERMINAL,
                          load_key(terminal.state_dir))


def _pending_store(terminal, world, state: str | None, auth_id: str = "Aaudit0001") -> TerminalStore:
    """A store whose pending entry is a use of 10 under `auth_id`; the platform holds it in `state`
    (None = the platform never heard of it)."""
    if state is not None:
        world.platform.reservations[auth_id] = Reservation(
            auth_id, "r-" + auth_id, "use", TERMINAL, MERCHANT, MUNICIPALITY, MYKEY, 10, b"",
            dt.datetime.now(JST) + dt.timedelta(seconds=120), state=state)
    store = TerminalStore.open(terminal.state_dir, TERMINAL)
    record = store.next_record({"type": "use", "ts": "2026-11-26T10:00:00+09:00", "merchant_id": MERCHANT,
                                "municipality_code": MUNICIPALITY, "mykey_id": MYKEY, "amount": 10,
                                "auth_id": auth_id, "card_cert_serial": "1", "card_sig": "AA=="})
    store.write_pending(record)
    return store


@pytest.mark.parametrize(("http_status", "body"), [
    (401, {"status": "declined", "reason": "terminal_unknown"}),
    (403, {"status": "declined", "reason": "terminal_unknown"}),
    (429, {"status": "declined", "reason": "rate_limited"}),
    (400, {"status": "declined", "reason": "request_invalid"}),
    (404, {"status": "declined", "reason": "not_found"}),      # a 404 that is not auth_not_found
    (503, {"status": "unavailable"}),
    (200, {"status": "weird"}),
    (200, {"auth_id": "Aaudit0001"}),
])
def test_any_unclear_answer_keeps_the_pending_entry(terminal, world, http_status, body):
    store = _pending_store(terminal, world, "committed")
    world.platform.answer_faults.append(AnswerFault("status", http_status, body, times=5))
    with store, pytest.raises(AgentError) as caught:
        settle_pending(store, _client(terminal, world))
    assert caught.value.code == Reason.PENDING_UNRESOLVED
    with TerminalStore.open(terminal.state_dir, TERMINAL) as again:
        assert again.pending()["auth_id"] == "Aaudit0001" and again.head.seq == 0


@pytest.mark.parametrize(("state", "outcome", "seq_after"), [
    ("committed", "committed", 1), ("voided", "not_committed", 0), ("expired", "not_committed", 0),
    (None, "not_committed", 0), ("reserved", "not_committed", 0)])
def test_clear_answers_settle(terminal, world, state, outcome, seq_after):
    store = _pending_store(terminal, world, state)
    with store:
        recovery = settle_pending(store, _client(terminal, world))
        assert (recovery.outcome, recovery.seq) == (outcome, 1)
        assert store.pending() is None and store.head.seq == seq_after
    if state == "reserved":                                       # voided by the agent, then asked again
        assert world.platform.reservations["Aaudit0001"].state == "voided"


def test_reserved_but_the_void_is_refused_keeps_the_entry(terminal, world):
    store = _pending_store(terminal, world, "reserved")
    world.platform.answer_faults.append(AnswerFault("void", 429, {"status": "declined", "reason": "busy"}))
    with store, pytest.raises(AgentError) as caught:
        settle_pending(store, _client(terminal, world))
    assert caught.value.code == Reason.PENDING_UNRESOLVED and caught.value.params["answer"] == "busy"
    with TerminalStore.open(terminal.state_dir, TERMINAL) as again:
        assert again.pending() is not None


def test_no_platform_keeps_the_entry(terminal, world):
    store = _pending_store(terminal, world, "committed")
    with store, pytest.raises(AgentError) as caught:
        settle_pending(store, None)
    assert caught.value.code == Reason.PENDING_UNRESOLVED and store.pending() is not None
