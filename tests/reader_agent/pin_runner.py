"""Run the real PIN reading (or the whole agent) in a child process that the test interrupts with a real SIGINT
(Ctrl+C), then report what is left of the PIN in this process's memory, as one JSON line on stdout.

Usage:
  python pin_runner.py read                 read_pin_from_stdin alone (stdin a pipe or a pty)
  python pin_runner.py agent <agent argv>   the agent's main(), its PIN read from stdin the real way

The test hooks only keep references so the report can look at those very objects after the run: the scratch
buffer lent to read_pin_from_stdin (its `scratch` parameter), each bytearray the PIN source hands to the flow,
and each VERIFY command list the PC/SC layer gives pyscard (`VerifySpy` passes every call on to the real
SCardTransmit unchanged). Nothing of the card stack or the flow is replaced. Markers on stderr tell the parent when to
press Ctrl+C: "[pin-runner] reading" before the PIN is read, "[pin-runner] pin-read" once it has been.
The report: outcome, the scratch buffer's, every handed-out PIN's and every VERIFY command list's values all
zero, and `copies`: how many
Python containers (lists, tuples, dicts, ...) still hold the PIN's digit values in a row (the APDU list the PC/SC
layer builds is one such container).
"""

from __future__ import annotations

import gc
import json
import sys

from reader_agent.cli import main
from reader_agent.pin import INPUT_BYTES_MAX, read_pin_from_stdin

SCRATCH = bytearray(INPUT_BYTES_MAX)
HANDED_OUT: list[bytearray] = []


class VerifySpy:
    """Wraps pyscard's SCardTransmit: calls the real one with the same arguments and keeps a reference to the
    command list of each VERIFY that carries a PIN (INS 20 with data), so a test can see it was wiped."""

    def __init__(self) -> None:
        from smartcard import scard

        self._scard, self._real, self.verify_lists = scard, scard.SCardTransmit, []

    def __call__(self, hcard, protocol, command):
        if len(command) > 5 and command[1] == 0x20:
            self.verify_lists.append(command)
        return self._real(hcard, protocol, command)

    def __enter__(self) -> VerifySpy:
        self._scard.SCardTransmit = self
        return self

    def __exit__(self, *exc: object) -> None:
        self._scard.SCardTransmit = self._real


def _marker(text: str) -> None:
    print(f"[pin-runner] {text}", file=sys.stderr, flush=True)


def pin_source(prompt: str, timeout_s: float) -> bytearray:
    _marker("reading")
    pin = read_pin_from_stdin(prompt, timeout_s, scratch=SCRATCH)
    HANDED_OUT.append(pin)
    _marker("pin-read")
    return pin


def _holds_in_a_row(values: list, digits: list) -> bool:
    # Compare only values of the digits' own type: any other object's __eq__ may do anything (dbt's version
    # specifiers assert on a foreign type when the whole suite has imported dbt in this process).
    kind = type(digits[0])
    n = len(digits)
    return any(
        all(type(v) is kind and v == d for v, d in zip(values[i:i + n], digits, strict=True))
        for i in range(len(values) - n + 1)
    )


def copies_in_containers(pin: str) -> int:
    """Containers tracked by the garbage collector holding the PIN's digits (as ints or as one-char strings)
    next to each other — what a forgotten `list(apdu)` or a logged tuple would leave behind."""
    gc.collect()
    as_ints, as_chars = [ord(c) for c in pin], list(pin)
    found = 0
    for obj in gc.get_objects():
        if obj is as_ints or obj is as_chars or isinstance(obj, VerifySpy):
            continue
        if isinstance(obj, (list, tuple)) and len(obj) >= len(pin):
            values = list(obj)
            if _holds_in_a_row(values, as_ints) or _holds_in_a_row(values, as_chars):
                found += 1
        elif isinstance(obj, dict) and len(obj) >= len(pin):
            values = list(obj.values())
            if _holds_in_a_row(values, as_ints):
                found += 1
    return found


def report(outcome: str, pin: str, verify_lists: list[list[int]] = ()) -> None:
    print(json.dumps({"outcome": outcome, "scratch_zero": not any(SCRATCH), "scratch_len": len(SCRATCH),
                      "handed_out": len(HANDED_OUT), "handed_out_zero": all(not any(b) for b in HANDED_OUT),
                      "verify_lists": len(verify_lists), "verify_lists_zero": all(not any(c) for c in verify_lists),
                      "copies": copies_in_containers(pin)}), flush=True)


if __name__ == "__main__":
    mode, pin = sys.argv[1], sys.argv[2]
    if mode == "read":
        try:
            pin_source("PIN: ", 30.0)
            outcome = "read"
        except BaseException as exc:  # noqa: BLE001 - the report says what ended the read
            outcome = type(exc).__name__
        report(outcome, pin)
    else:
        with VerifySpy() as spy:
            code = main(sys.argv[3:], pin_source=pin_source)
        report(f"exit {code}", pin, spy.verify_lists)
