"""Reading the 4-digit auth PIN from the keyboard (or a PIN pad piping into stdin) with a timeout.

The PIN is read byte by byte with os.read into a fixed-size bytearray — never a `str`, never echoed (the
terminal's ECHO flag is switched off while reading from a TTY), never logged. The buffer is allocated once at
its full size and never grown (growing a bytearray may move it and leave a copy of the PIN in freed memory),
and it is zeroed on every way out: a line read, a timeout, a too-long line, Ctrl+C (KeyboardInterrupt) or any
other exception while waiting. The caller gets its own bytearray of exactly the PIN's length and must wipe it
(`wipe`); the flow does so in a `finally` around the VERIFY, and `JpkiCard.verify_pin` wipes it right after
sending. A wrong format is refused here, before anything reaches the card, so a typo cannot burn a try.
(`os.read(fd, 1)` returns one-byte `bytes` objects, which CPython keeps as shared singletons: reading leaves no
per-PIN copy behind.) Hand-written because `getpass` has no timeout and returns an immutable str.
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


def wipe(secret: bytearray) -> None:
    """Overwrite every byte with zero, in place (same length, so the buffer is never reallocated)."""
    secret[:] = bytes(len(secret))


def _read_line(fd: int, timeout_s: float, buffer: bytearray) -> int:
    """Read one line into `buffer` (never grown); return its length. PIN_TIMEOUT when no full line arrives in
    time, PIN_FORMAT when the line is longer than the buffer. The caller wipes the buffer."""
    length = 0
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise AgentError(Reason.PIN_TIMEOUT)
        byte = os.read(fd, 1)
        if not byte or byte in (b"\n", b"\r"):
            return length
        if length == len(buffer):
            raise AgentError(Reason.PIN_FORMAT)
        buffer[length] = byte[0]
        length += 1


def read_pin_line(fd: int, timeout_s: float, scratch: bytearray | None = None) -> bytearray:
    """One line from `fd` as a new bytearray of exactly its length (the caller wipes it). The line is read
    into `scratch` (INPUT_BYTES_MAX bytes, allocated here unless lent by the caller, e.g. a test that checks
    it), which is zeroed whatever happens — Ctrl+C while waiting included."""
    scratch = bytearray(INPUT_BYTES_MAX) if scratch is None else scratch
    try:
        length = _read_line(fd, timeout_s, scratch)
        line = bytearray(length)
        line[:] = memoryview(scratch)[:length]   # same length: copied in place, no intermediate object
        return line
    finally:
        wipe(scratch)


def validate_pin(pin: bytearray) -> bytearray:
    """The PIN itself if it is exactly 4 ASCII digits; otherwise wipes it and raises PIN_FORMAT."""
    if len(pin) != AUTH_PIN_LENGTH or not all(0x30 <= b <= 0x39 for b in pin):
        wipe(pin)
        raise AgentError(Reason.PIN_FORMAT)
    return pin


def _read_validated(fd: int, timeout_s: float, scratch: bytearray | None) -> bytearray:
    pin = read_pin_line(fd, timeout_s, scratch)
    try:
        return validate_pin(pin)
    except BaseException:
        wipe(pin)
        raise


def read_pin_from_stdin(prompt: str, timeout_s: float, out: TextIO | None = None,
                        scratch: bytearray | None = None) -> bytearray:
    """Prompt on `out` (stderr by default), read one line from stdin without echo, validate it. `scratch`:
    see read_pin_line. On any failure nothing of the PIN is left in our buffers and the TTY echo is back on."""
    out = out or sys.stderr
    out.write(prompt)
    out.flush()
    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        return _read_validated(fd, timeout_s, scratch)
    import termios

    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
        out.write("\n")

    try:
        pin = _read_validated(fd, timeout_s, scratch)
    except BaseException:   # our buffers are already wiped; give the echo back
        restore()
        raise
    try:
        restore()
    except BaseException:
        wipe(pin)
        raise
    return pin
