"""The vpcd socket side of the virtual card: connect to pcscd's vpcd driver and serve one `JpkiCard`.

Protocol (domain/jpki.md §3.1): every message both ways is a 2-byte big-endian length and a payload. A 1-byte
payload from vpcd is a control byte (00 power off, 01 power on, 02 reset, 04 send ATR — only 04 is answered);
anything longer is a command APDU, answered with response data ‖ SW. An open socket is an inserted card;
closing it removes the card.

Written with the stdlib socket module because the protocol is a dozen lines and the reference `vicc` program
does single `recv` calls; this one reads exactly `length` bytes, sets TCP_NODELAY and TCP_QUICKACK (without
them every APDU costs ≈44 ms through Debian's vpcd, §3.3), and reconnects when pcscd goes away.
It never logs APDU bodies (a VERIFY body is a PIN): the optional event log (`--events FILE`) holds only power
events and the 4-byte header (CLA INS P1 P2) of each command, so tests can check the order and the power-off
independently of the agent's own trace.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from reader_harness.virtual_card.card import JpkiCard

VPCD_PORT_SLOT0 = 0x8C7B  # 35963, slot "Virtual PCD 00 00"
CONNECT_RETRY_S = 0.1
CONNECT_WAIT_S_MAX = 30.0
MESSAGE_BYTES_MAX = 0xFFFF


class PcscdGone(ConnectionError):
    """vpcd closed the socket (pcscd stopped or restarted)."""


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        if hasattr(socket, "TCP_QUICKACK"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise PcscdGone("vpcd closed the connection")
        chunks += chunk
    return bytes(chunks)


def _send_message(sock: socket.socket, payload: bytes) -> None:
    if len(payload) > MESSAGE_BYTES_MAX:
        raise ValueError("vpcd message too long")
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


def connect(host: str, port: int, wait_s: float = CONNECT_WAIT_S_MAX) -> socket.socket:
    """Connect to vpcd (retrying while pcscd starts), with Nagle off."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=5)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(CONNECT_RETRY_S)


_CONTROL_EVENTS = {0x00: "power_off", 0x01: "power_on", 0x02: "reset"}


class EventLog:
    """Appends one line per event to a file (flushed at once); a no-op without a path. Never an APDU body."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def write(self, event: str) -> None:
        if self._path is not None:
            with open(self._path, "a", encoding="ascii") as handle:
                handle.write(event + "\n")


def _carries_pin(payload: bytes) -> bool:
    """A VERIFY (INS 20) with data, i.e. with a PIN — not the tries query."""
    return len(payload) > 5 and payload[1] == 0x20


def serve_connection(sock: socket.socket, card: JpkiCard, events: EventLog | None = None) -> None:
    """Answer vpcd until it hangs up (raises PcscdGone) or the card is pulled (returns)."""
    events = events or EventLog(None)
    while True:
        size = int.from_bytes(_recv_exactly(sock, 2), "big")
        payload = _recv_exactly(sock, size)
        if size == 1:
            control = payload[0]
            if control == 0x04:
                _send_message(sock, card.atr)
            elif control in _CONTROL_EVENTS:
                events.write(_CONTROL_EVENTS[control])
                card.power(control != 0x00)
            continue
        events.write("apdu " + payload[:4].hex().upper())
        response = card.process(payload)
        delay_ms = card.faults.delay_ms + (card.faults.verify_delay_ms if _carries_pin(payload) else 0)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        _send_message(sock, response)
        if card.pulled:
            return


def run(card: JpkiCard, host: str = "127.0.0.1", port: int = VPCD_PORT_SLOT0,
        events: Path | None = None) -> None:
    """Insert the card into the virtual reader and serve it; reconnect if pcscd restarts; stop when pulled."""
    while True:
        sock = connect(host, port)
        try:
            serve_connection(sock, card, EventLog(events))
            return
        except (PcscdGone, ConnectionResetError, BrokenPipeError):
            time.sleep(CONNECT_RETRY_S)
        finally:
            sock.close()
