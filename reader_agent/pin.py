"""Reading the 4-digit auth PIN from the keyboard (or a PIN pad piping into stdin) with a timeout.

The PIN is read byte by byte with os.read into a bytearray — never a `str`, never echoed (the terminal's ECHO
flag is switched off while reading from a TTY), never logged; the caller hands the bytearray to
`JpkiCard.verify_pin`, which wipes it. A wrong format is refused here, before anything reaches the card, so a
typo cannot burn a try. Hand-written because `getpass` has no timeout and returns an immutable str.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable
from typing import TextIO

from reader_agent.apdu import AUTH_PIN_LENGTH
from reader_agent.errors import AgentError, Reason

PIN_TIMEOUT_S_DEFAULT = 30.0
INPUT_BYTES_MAX = 32

PinSource = Callable[[str, float], bytearray]


def _read_line(fd: int, timeout_s: float) -> bytearray:
    buffer = bytearray()
    deadline = time.monotonic() + timeout_s
    while len(buffer) <= INPUT_BYTES_MAX:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            buffer[:] = b"\x00" * len(buffer)
            raise AgentError(Reason.PIN_TIMEOUT)
        byte = os.read(fd, 1)
        if not byte or byte in (b"\n", b"\r"):
            return buffer
        buffer += byte
    buffer[:] = b"\x00" * len(buffer)
    raise AgentError(Reason.PIN_FORMAT)


def validate_pin(pin: bytearray) -> bytearray:
    """The PIN itself if it is exactly 4 ASCII digits; otherwise wipes it and raises PIN_FORMAT."""
    if len(pin) != AUTH_PIN_LENGTH or not all(0x30 <= b <= 0x39 for b in pin):
        pin[:] = b"\x00" * len(pin)
        raise AgentError(Reason.PIN_FORMAT)
    return pin


def read_pin_from_stdin(prompt: str, timeout_s: float, out: TextIO | None = None) -> bytearray:
    """Prompt on `out` (stderr by default), read one line from stdin without echo, validate it."""
    out = out or sys.stderr
    out.write(prompt)
    out.flush()
    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        return validate_pin(_read_line(fd, timeout_s))
    import termios

    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    try:
        pin = _read_line(fd, timeout_s)
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
        out.write("\n")
    return validate_pin(pin)
