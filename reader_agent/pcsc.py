"""PC/SC access through pyscard's `smartcard.scard` layer: readers, waiting for a card, one exclusive
connection, APDUs with a per-command timeout, release with the card unpowered.

The only module that imports pyscard, and only when a card is actually needed (so `init-terminal` and `upload`
run without it). PC/SC errors become `AgentError`s with stable codes. An optional trace prints APDUs with the
VERIFY body masked (apdu.mask_apdu) — it never prints a PIN.

Why the low-level layer: it exposes the PC/SC return codes (removed, reset, sharing violation, timeout) that
the flow must tell apart, and `SCardGetStatusChange` with a timeout for the card wait. pyscard's transmit has
no timeout (jpki.md §5), so each APDU runs in a daemon worker thread that the caller stops waiting for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reader_agent.apdu import mask_apdu, mask_response
from reader_agent.errors import AgentError, Reason

APDU_TIMEOUT_S_DEFAULT = 5.0
CARD_WAIT_S_DEFAULT = 30.0
_HR_REMOVED = (0x80100069, 0x8010000C, 0x80100067, 0x80100017)
_HR_RESET = 0x80100068
_HR_SHARING = 0x8010000B
_HR_TIMEOUT = 0x8010000A
_HR_NO_SERVICE = (0x8010001D, 0x8010001E)
_HR_NO_READERS = 0x8010002E
REMOVAL_CHECK_S = 2.0  # pcscd polls vpcd/CCID card presence about every 0.4 s; allow several polls
_SCARD_PRESENT = 0x0004  # SCardStatus dwState bit (pcsclite.h); pyscard does not export it


def _scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:  # the `reader` extra is not installed
        raise AgentError(Reason.PCSC_UNAVAILABLE, detail="pyscard not installed") from exc
    return scard


def _u32(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def _error_for(hresult: int) -> AgentError:
    code = _u32(hresult)
    if code in _HR_REMOVED:
        return AgentError(Reason.CARD_REMOVED)
    if code == _HR_RESET:
        return AgentError(Reason.CARD_RESET)
    if code == _HR_SHARING:
        return AgentError(Reason.CARD_IN_USE)
    if code in _HR_NO_SERVICE:
        return AgentError(Reason.PCSC_UNAVAILABLE)
    if code == _HR_NO_READERS:
        return AgentError(Reason.NO_READER)
    return AgentError(Reason.CARD_ERROR, sw=f"PC/SC {code:08X}")


@dataclass(frozen=True, slots=True)
class ReaderState:
    """One reader as PC/SC sees it: name, whether a card is in it, and the card's ATR (hex, for display)."""

    name: str
    card_present: bool
    atr_hex: str


class PcscContext:
    """A PC/SC context; use as a context manager so it is always released."""

    def __init__(self) -> None:
        self._scard = _scard()
        hresult, self.handle = self._scard.SCardEstablishContext(self._scard.SCARD_SCOPE_USER)
        if hresult != 0:
            raise _error_for(hresult)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self._scard.SCardReleaseContext(self.handle)

    def readers(self, name_filter: str | None = None) -> list[str]:
        hresult, names = self._scard.SCardListReaders(self.handle, [])
        if _u32(hresult) == _HR_NO_READERS or (hresult == 0 and not names):
            return []
        if hresult != 0:
            raise _error_for(hresult)
        return [n for n in names if name_filter is None or name_filter in n]

    def reader_states(self, name_filter: str | None = None) -> list[ReaderState]:
        names = self.readers(name_filter)
        if not names:
            return []
        s = self._scard
        hresult, states = s.SCardGetStatusChange(self.handle, 0, [(n, s.SCARD_STATE_UNAWARE) for n in names])
        if hresult != 0:
            raise _error_for(hresult)
        return [ReaderState(name, bool(state & s.SCARD_STATE_PRESENT), bytes(atr).hex().upper())
                for name, state, atr in states]

    def wait_for_card(self, name_filter: str | None, timeout_s: float) -> str:
        """The name of a reader holding a usable (present, not MUTE) card, waiting up to `timeout_s`;
        NO_READER / NO_CARD otherwise. A change that brings no usable card (a card removed, a MUTE card, an
        unrelated reader event) does not end the wait early: it waits out the rest of the timeout."""
        s = self._scard
        names = self.readers(name_filter)
        if not names:
            raise AgentError(Reason.NO_READER)
        deadline = time.monotonic() + timeout_s
        hresult, states = s.SCardGetStatusChange(self.handle, 0, [(n, s.SCARD_STATE_UNAWARE) for n in names])
        while True:
            if hresult != 0:
                raise _error_for(hresult)
            for name, state, _atr in states:
                if state & s.SCARD_STATE_PRESENT and not state & s.SCARD_STATE_MUTE:
                    return name
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise AgentError(Reason.NO_CARD)
            hresult, states = s.SCardGetStatusChange(self.handle, remaining_ms,
                                                     [(n, st & ~s.SCARD_STATE_CHANGED) for n, st, _ in states])
            if _u32(hresult) == _HR_TIMEOUT:
                raise AgentError(Reason.NO_CARD)

    def connect_exclusive(self, reader: str, apdu_timeout_s: float = APDU_TIMEOUT_S_DEFAULT,
                          trace: Callable[[str], None] | None = None) -> CardConnection:
        s = self._scard
        hresult, hcard, _protocol = s.SCardConnect(self.handle, reader, s.SCARD_SHARE_EXCLUSIVE,
                                                   s.SCARD_PROTOCOL_T0 | s.SCARD_PROTOCOL_T1)
        if hresult != 0:
            raise _error_for(hresult)
        return CardConnection(s, hcard, _protocol, apdu_timeout_s, trace)


class CardConnection:
    """An exclusive connection to one card. `transmit` returns (data, sw); `close` unpowers the card.

    `deadline` (a time.monotonic() value, None = none) caps the whole transaction: an APDU never waits past
    it, and once it has passed every transmit raises TRANSACTION_TIMEOUT."""

    def __init__(self, scard: Any, hcard: Any, protocol: int, apdu_timeout_s: float,
                 trace: Callable[[str], None] | None) -> None:
        self._scard, self._hcard, self._protocol = scard, hcard, protocol
        self._timeout_s = apdu_timeout_s
        self._trace = trace
        self._broken = False
        self.deadline: float | None = None

    def _apdu_wait_s(self) -> tuple[float, bool]:
        """How long this APDU may take, and whether the transaction cap (not the APDU timeout) limits it."""
        if self.deadline is None:
            return self._timeout_s, False
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise AgentError(Reason.TRANSACTION_TIMEOUT)
        return (remaining, True) if remaining < self._timeout_s else (self._timeout_s, False)

    def transmit(self, apdu: bytes | bytearray) -> tuple[bytes, int]:
        if self._broken:
            raise AgentError(Reason.CARD_TIMEOUT)
        wait_s, capped = self._apdu_wait_s()
        if self._trace:
            self._trace("> " + mask_apdu(apdu))
        box: dict[str, Any] = {}
        command = list(apdu)

        def work() -> None:
            box["result"] = self._scard.SCardTransmit(self._hcard, self._protocol, command)

        try:
            worker = threading.Thread(target=work, name="apdu", daemon=True)
            worker.start()
            worker.join(wait_s)
        finally:  # the list may hold PIN digits: overwrite it however the wait ended (Ctrl+C included); were
            # the worker not yet to have copied it, the card gets an all-zero APDU (INS 00: refused, no try used)
            for index in range(len(command)):
                command[index] = 0
        if worker.is_alive():
            self._broken = True
            raise AgentError(Reason.TRANSACTION_TIMEOUT if capped else Reason.CARD_TIMEOUT)
        hresult, response = box["result"]
        if hresult != 0:
            error = _error_for(hresult)
            if error.code == Reason.CARD_ERROR and self._card_gone():  # e.g. comm error / not transacted
                raise AgentError(Reason.CARD_REMOVED)
            raise error
        if len(response) < 2:  # pcscd + vpcd answer "success, no bytes" for a card that was just pulled
            if self._card_gone():
                raise AgentError(Reason.CARD_REMOVED)
            raise AgentError(Reason.CARD_ERROR, sw="short response")
        data, sw = bytes(response[:-2]), (response[-2] << 8) | response[-1]
        if self._trace:
            self._trace("< " + mask_response(apdu, data, sw))
        return data, sw

    def _card_gone(self) -> bool:
        """After a failed exchange: did the card leave the reader? (pcscd notices within a poll interval.)"""
        deadline = time.monotonic() + REMOVAL_CHECK_S
        while time.monotonic() < deadline:
            hresult, _reader, state, _protocol, _atr = self._scard.SCardStatus(self._hcard)
            if _u32(hresult) in _HR_REMOVED or (hresult == 0 and not state & _SCARD_PRESENT):
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Disconnect with SCARD_UNPOWER_CARD so no verified state survives; never raises.

        After an APDU timeout the worker may still hold the handle: disconnect in the background instead.
        """
        if self._hcard is None:
            return
        hcard, self._hcard = self._hcard, None

        def release() -> None:
            try:
                self._scard.SCardDisconnect(hcard, self._scard.SCARD_UNPOWER_CARD)
            except Exception:  # noqa: BLE001 - best effort on a broken reader
                pass

        if self._broken:
            threading.Thread(target=release, name="release", daemon=True).start()
        else:
            release()
