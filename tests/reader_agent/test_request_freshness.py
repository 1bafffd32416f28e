"""Requests to the platform carry a timestamp and a nonce under the terminal's signature (issue 7 §5): the
stand-in platform refuses an exact copy of a request (replay), a request stamped more than 300 s before or after
its clock (stale, future), and one whose timestamp or nonce was changed after signing; a fresh request and a
retry still work. Over real HTTPS against the loopback stand-in platform; no card needed."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time

import pytest
from conftest import MERCHANT, MUNICIPALITY, MYKEY, TERMINAL
from hypothesis import given, settings
from hypothesis import strategies as st

from reader_agent.cli import error_text
from reader_agent.config import load_key
from reader_agent.errors import AgentError, Reason
from reader_agent.flow import settle_pending
from reader_agent.platform_client import (
    HEADER_NONCE,
    HEADER_TIMESTAMP,
    REQUEST_WINDOW_S,
    Endpoint,
    PlatformClient,
    signed_headers,
)
from reader_agent.store import TerminalStore
from reader_harness.standin_platform import AnswerFault, ReplayGuard

WINDOW_S = 300   # docs/reader-agent.md §5, written out here on purpose: the test's own expectation


def _client(terminal, world, offset_s: float = 0.0) -> PlatformClient:
    """The agent's client; `offset_s` sets its clock that far from the real one (a drifting terminal)."""
    return PlatformClient(Endpoint(world.url, str(world.tls.ca_pem), timeout_s=2.0), TERMINAL,
                          load_key(terminal.state_dir), clock=lambda: time.time() + offset_s)


def _send(world, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """One raw HTTPS request with exactly these headers (what an eavesdropper would send again)."""
    context = ssl.create_default_context(cafile=str(world.tls.ca_pem))
    connection = http.client.HTTPSConnection("127.0.0.1", int(world.url.rsplit(":", 1)[1]), timeout=5,
                                             context=context)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def _signed(terminal, method: str, path: str, body: bytes, timestamp_s: int | None = None) -> dict[str, str]:
    return signed_headers(load_key(terminal.state_dir), TERMINAL, method, path, body,
                          int(time.time()) if timestamp_s is None else timestamp_s)


def _authorise_body(card_set, request_id: str, amount: int) -> bytes:
    cert = card_set.files["valid"].cert_der.read_bytes()
    return json.dumps({"v": 1, "request_id": request_id, "type": "use", "terminal_id": TERMINAL,
                       "merchant_id": MERCHANT, "amount": amount,
                       "card_cert": base64.b64encode(cert).decode()}).encode()


def test_the_window_is_what_the_docs_say():
    assert REQUEST_WINDOW_S == WINDOW_S


def test_a_fresh_request_is_answered(terminal, world):
    with pytest.raises(AgentError) as caught:
        _client(terminal, world).status("Anothere")
    # it reached the route: the platform looked the id up (a refused request would be 401)
    assert caught.value.params["reason"] == "auth_not_found" and caught.value.params["http_status"] == 404


def test_an_exact_copy_of_a_payment_request_is_refused_and_changes_nothing(terminal, world, card_set):
    path, body = "/v1/authorisations", _authorise_body(card_set, "req-replay-1", 700)
    headers = _signed(terminal, "POST", path, body)
    status, answer = _send(world, "POST", path, body, headers)
    assert status == 200 and answer["status"] == "reserved" and answer["amount"] == 700
    held = world.platform.available(MUNICIPALITY, MYKEY)
    status, answer = _send(world, "POST", path, body, headers)              # the same bytes again
    assert (status, answer) == (401, {"status": "declined", "reason": "request_replayed"})
    assert len(world.platform.reservations) == 1 and world.platform.available(MUNICIPALITY, MYKEY) == held
    again = _signed(terminal, "POST", path, body)                          # the terminal itself asking again
    status, answer = _send(world, "POST", path, body, again)
    assert status == 200 and answer["auth_id"] in world.platform.reservations   # idempotent by request_id


def test_a_copy_of_a_status_query_is_refused(terminal, world):
    path = "/v1/authorisations/Anothere"
    headers = _signed(terminal, "GET", path, b"")
    assert _send(world, "GET", path, b"", headers)[0] == 404
    assert _send(world, "GET", path, b"", headers) == (401, {"status": "declined", "reason": "request_replayed"})


@pytest.mark.parametrize("offset_s", [-302, -3600, -86400 * 365, 302, 3600, 86400 * 365])
def test_stale_and_future_requests_are_refused(terminal, world, offset_s):
    remembered = world.platform.replay_guard.remembered()
    with pytest.raises(AgentError) as caught:
        _client(terminal, world, offset_s).status("Anothere")
    assert caught.value.code == Reason.PLATFORM_DECLINED
    assert (caught.value.params["reason"], caught.value.params["http_status"]) == ("request_stale", 401)
    assert world.platform.replay_guard.remembered() == remembered          # a refused nonce is not kept


@pytest.mark.parametrize("offset_s", [-298, -120, 0, 120, 298])
def test_a_clock_within_the_window_is_accepted(terminal, world, offset_s):
    with pytest.raises(AgentError) as caught:
        _client(terminal, world, offset_s).status("Anothere")
    assert caught.value.params["reason"] == "auth_not_found"


@pytest.mark.parametrize("change", ["timestamp", "nonce"])
def test_the_timestamp_and_nonce_are_under_the_signature(terminal, world, change):
    path = "/v1/authorisations/Anothere"
    headers = _signed(terminal, "GET", path, b"")
    if change == "timestamp":
        headers[HEADER_TIMESTAMP] = str(int(headers[HEADER_TIMESTAMP]) - 1)   # still fresh, but not what was signed
    else:
        headers[HEADER_NONCE] = "0" * 32
    assert _send(world, "GET", path, b"", headers) == (401, {"status": "declined", "reason": "terminal_unknown"})


@pytest.mark.parametrize(("header", "value"), [
    (HEADER_TIMESTAMP, None), (HEADER_TIMESTAMP, ""), (HEADER_TIMESTAMP, "12.5"), (HEADER_TIMESTAMP, "-5"),
    (HEADER_TIMESTAMP, "1" * 13), (HEADER_TIMESTAMP, "１７６４８０６４００".encode()), (HEADER_NONCE, None),
    (HEADER_NONCE, "ABCDEF" + "0" * 26), (HEADER_NONCE, "0" * 31), (HEADER_NONCE, "0" * 33)])
def test_a_missing_or_malformed_timestamp_or_nonce_is_invalid(terminal, world, header, value):
    path = "/v1/authorisations/Anothere"
    headers = _signed(terminal, "GET", path, b"")
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    assert _send(world, "GET", path, b"", headers) == (400, {"status": "declined", "reason": "request_invalid"})


def test_a_retry_is_a_new_request_not_a_replay(terminal, world):
    world.platform.answer_faults.append(AnswerFault("status", 503, {"status": "unavailable"}))
    with pytest.raises(AgentError) as caught:   # 503 once, then the retry reaches the route
        _client(terminal, world).status("Anothere")
    assert caught.value.params["reason"] == "auth_not_found"


def test_a_platform_refusing_stale_requests_never_settles_a_pending_entry(terminal, world):
    store = TerminalStore.open(terminal.state_dir, TERMINAL)
    record = store.next_record({"type": "use", "ts": "2026-11-26T10:00:00+09:00", "merchant_id": MERCHANT,
                                "municipality_code": MUNICIPALITY, "mykey_id": MYKEY, "amount": 10,
                                "auth_id": "Astale0001", "card_cert_serial": "1", "card_sig": "AA=="})
    store.write_pending(record)
    world.platform.clock = lambda: time.time() + 3600                       # the terminal is an hour behind
    with store, pytest.raises(AgentError) as caught:
        settle_pending(store, _client(terminal, world))
    assert caught.value.code == Reason.PENDING_UNRESOLVED and caught.value.params["answer"] == "request_stale"
    with TerminalStore.open(terminal.state_dir, TERMINAL) as again:
        assert again.pending()["auth_id"] == "Astale0001"


@pytest.mark.parametrize(("lang", "words"), [("en", "clock"), ("ja", "時計")])
def test_a_stale_refusal_tells_staff_to_fix_the_clock(lang, words):
    error = AgentError(Reason.PLATFORM_DECLINED, reason="request_stale", balance="", http_status=401)
    assert words in error_text(error, lang) and "request_stale" not in error_text(error, lang)


# --- the guard on its own, at the exact boundary and against a reference model ---------------------------------
@pytest.mark.parametrize(("offset_s", "verdict"), [(-301, "request_stale"), (-300, None), (0, None), (300, None),
                                                    (301, "request_stale")])
def test_the_window_boundary(offset_s, verdict):
    now_s = 1_764_806_400
    assert ReplayGuard().admit(TERMINAL, "a" * 32, now_s + offset_s, now_s) == verdict


def test_the_same_nonce_from_another_terminal_is_not_a_replay():
    guard, now_s = ReplayGuard(), 1_764_806_400
    assert guard.admit("T00000001", "b" * 32, now_s, now_s) is None
    assert guard.admit("T00000002", "b" * 32, now_s, now_s) is None
    assert guard.admit("T00000001", "b" * 32, now_s, now_s + 1) == "request_replayed"


_CAPTURED = st.lists(st.tuples(st.sampled_from(["T00000001", "T00000002"]), st.integers(0, 5),
                               st.integers(-900, 2400)), min_size=1, max_size=8, unique_by=lambda r: r[:2])


@settings(max_examples=300, deadline=None)
@given(captured=_CAPTURED, steps=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 400)), max_size=40))
def test_the_guard_matches_the_rule_whatever_the_order_and_timing(captured, steps):
    """Requests are (terminal, nonce, timestamp) triples as signed once and then sent any number of times, at a
    clock that only moves forward. Rule: accepted iff |clock - timestamp| <= 300 and that terminal's nonce was
    never accepted before. The guard forgets old nonces; this model never does — they must agree."""
    guard, accepted, now_s = ReplayGuard(), set(), 0
    for pick, advance_s in steps:
        terminal_id, nonce_id, timestamp_s = captured[pick % len(captured)]
        now_s += advance_s
        nonce = format(nonce_id, "032x")
        if abs(now_s - timestamp_s) > WINDOW_S:
            expected = "request_stale"
        elif (terminal_id, nonce) in accepted:
            expected = "request_replayed"
        else:
            expected = None
            accepted.add((terminal_id, nonce))
        assert guard.admit(terminal_id, nonce, timestamp_s, now_s) == expected
    assert guard.admit("T00000009", "f" * 32, now_s + 10_000, now_s + 10_000) is None
    assert guard.remembered() == 1                                          # everything older was forgotten
