"""A PIN is wiped on every way out (issue 7 §5): Ctrl+C while it is typed (pipe or terminal), Ctrl+C while the
card is answering the VERIFY, a wrong or malformed PIN, the card leaving after the VERIFY, the transaction cap,
a timeout or an over-long line, and the good path. Each test looks at the very buffers that held the PIN after
the path has run — the scratch buffer of the reader (lent through `read_pin_from_stdin(scratch=...)`) and the
bytearray handed to the flow — and scans every Python container left in the process for the PIN's digits.
Ctrl+C is a real SIGINT to a child process running the real agent (pin_runner.py); the card stack is the real
one (pcscd → vpcd → virtual card) wherever a card is involved."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import queue
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from conftest import BALANCE_START, MUNICIPALITY, MYKEY, PIN, READER0, REPO_ROOT, run_agent
from pin_runner import VerifySpy, copies_in_containers

from reader_agent.errors import AgentError, Reason
from reader_agent.pin import INPUT_BYTES_MAX, read_pin_line

RUNNER = Path(__file__).with_name("pin_runner.py")


class Child:
    """pin_runner.py as a child process; its stderr lines arrive in a queue so the test can wait for a marker."""

    def __init__(self, argv: list[str], stdin: int) -> None:
        self.process = subprocess.Popen([sys.executable, str(RUNNER), *argv], stdin=stdin, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=REPO_ROOT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def wait_for(self, marker: str, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if marker in self.lines.get(timeout=0.1):
                    return
            except queue.Empty:
                if self.process.poll() is not None:
                    break
        raise AssertionError(f"no {marker!r} from the child; stderr: {''.join(self.stderr)}")

    def ctrl_c(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def report(self) -> dict:
        """The child's JSON report (stdout), once it has exited; stderr stays with the reader thread."""
        out = self.process.stdout.read()
        self.process.wait(30)
        self._reader.join(5)
        self.process.stdout.close()
        self.process.stderr.close()
        return json.loads(out.strip().splitlines()[-1])


def _unread_bytes(fd: int) -> int:
    """Bytes written into a pipe (or typed into a terminal) that the reader has not taken yet."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def _until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- the reader alone (no card) -----------------------------------------------------------------------------
def test_ctrl_c_while_typing_into_a_pipe_leaves_nothing():
    read_end, write_end = os.pipe()
    child = Child(["read", PIN], read_end)
    os.close(read_end)
    child.wait_for("reading")
    os.write(write_end, PIN[:2].encode())               # two digits typed, no Enter yet …
    _until(lambda: _unread_bytes(write_end) == 0)      # … and taken into the reader's buffer
    time.sleep(0.2)
    child.ctrl_c()
    result = child.report()
    os.close(write_end)
    assert result["outcome"] == "KeyboardInterrupt"
    assert result["scratch_zero"] and result["scratch_len"] == INPUT_BYTES_MAX and result["copies"] == 0


def test_the_report_does_see_a_pin_that_is_still_there():
    """The check can fail: a PIN read to the end is handed over intact (wiping it is then the flow's job)."""
    read_end, write_end = os.pipe()
    child = Child(["read", PIN], read_end)
    os.close(read_end)
    os.write(write_end, (PIN + "\n").encode())
    result = child.report()
    os.close(write_end)
    assert result["outcome"] == "read" and result["handed_out"] == 1 and not result["handed_out_zero"]
    assert result["scratch_zero"]


def test_ctrl_c_at_a_terminal_prompt_leaves_nothing_and_gives_the_echo_back():
    master, slave = pty.openpty()
    child = Child(["read", PIN], slave)
    child.wait_for("reading")
    _until(lambda: not termios.tcgetattr(slave)[3] & termios.ECHO)   # the PIN is not echoed while typed
    os.write(master, PIN[:3].encode())
    time.sleep(0.2)
    child.ctrl_c()
    result = child.report()
    assert result["outcome"] == "KeyboardInterrupt" and result["scratch_zero"] and result["copies"] == 0
    assert termios.tcgetattr(slave)[3] & termios.ECHO                # echo is back on for the shell
    os.close(master)
    os.close(slave)


@pytest.mark.parametrize(("typed", "timeout_s", "code"), [
    (PIN[:3].encode(), 0.3, Reason.PIN_TIMEOUT),                      # typed, never finished
    (b"1" * (INPUT_BYTES_MAX + 1) + b"\n", 5.0, Reason.PIN_FORMAT),   # longer than the buffer
])
def test_a_timeout_or_an_overlong_line_wipes_the_buffer(typed, timeout_s, code):
    read_end, write_end = os.pipe()
    os.write(write_end, typed)
    scratch = bytearray(INPUT_BYTES_MAX)
    try:
        with pytest.raises(AgentError) as caught:
            read_pin_line(read_end, timeout_s, scratch)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert caught.value.code == code and not any(scratch)


def test_a_good_line_comes_back_whole_and_the_scratch_is_wiped():
    read_end, write_end = os.pipe()
    os.write(write_end, (PIN + "\n").encode())
    scratch = bytearray(INPUT_BYTES_MAX)
    line = read_pin_line(read_end, 5.0, scratch)
    os.close(read_end)
    os.close(write_end)
    assert line == bytearray(PIN.encode()) and not any(scratch)


# --- the whole agent through the real card stack -----------------------------------------------------------------
def _agent_argv(terminal, world, amount: int) -> list[str]:
    return ["--state-dir", str(terminal.state_dir), "--lang", "en", "pay", "--amount", str(amount), "--reader",
            READER0, "--card-wait", "5", "--platform-url", world.url, "--platform-ca", str(world.tls.ca_pem)]


def _states(world) -> list[str]:
    return [r.state for r in world.platform.reservations.values()]


def _events(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.pcsc
def test_ctrl_c_while_typing_at_the_agent_prompt(card_slot, terminal, world, tmp_path):
    events = tmp_path / "card-events"
    card_slot.insert("valid", "--events", str(events))
    read_end, write_end = os.pipe()
    child = Child(["agent", PIN, *_agent_argv(terminal, world, 80)], read_end)
    os.close(read_end)
    child.wait_for("reading")
    os.write(write_end, PIN[:2].encode())
    _until(lambda: _unread_bytes(write_end) == 0)
    time.sleep(0.2)
    child.ctrl_c()
    result = child.report()
    os.close(write_end)
    assert result["outcome"] == "exit 130" and "[interrupted]" in "".join(child.stderr)
    assert result["scratch_zero"] and result["handed_out"] == 0 and result["copies"] == 0
    assert result["verify_lists"] == 0
    assert _states(world) == ["voided"] and card_slot.tries_on_card() == 3
    assert _events(events).count("apdu 00200080") == 1               # the tries query only: no VERIFY
    assert world.platform.world.balances[(MUNICIPALITY, MYKEY)] == BALANCE_START


@pytest.mark.pcsc
def test_ctrl_c_while_the_card_answers_the_verify(card_slot, terminal, world, tmp_path):
    events = tmp_path / "card-events"
    card_slot.insert("valid", "--events", str(events), "--verify-delay-ms", "1500")
    read_end, write_end = os.pipe()
    os.write(write_end, (PIN + "\n").encode())                        # a PIN pad that answers at once
    child = Child(["agent", PIN, *_agent_argv(terminal, world, 90)], read_end)
    os.close(read_end)
    child.wait_for("pin-read")
    _until(lambda: _events(events).count("apdu 00200080") == 2)       # tries query, then the VERIFY: in the card
    time.sleep(0.2)                                                   # the card is still "thinking" (1.5 s)
    child.ctrl_c()
    result = child.report()
    os.close(write_end)
    assert result["outcome"] == "exit 130", child.stderr
    assert result["handed_out"] == 1 and result["handed_out_zero"] and result["scratch_zero"]
    assert result["verify_lists"] == 1 and result["verify_lists_zero"]   # the PC/SC layer's APDU list too
    assert result["copies"] == 0
    assert _states(world) == ["voided"] and not (terminal.state_dir / "log" / "pending.json").exists()
    assert world.platform.world.balances[(MUNICIPALITY, MYKEY)] == BALANCE_START
    _until(lambda: "power_off" in _events(events)[_events(events).index("apdu 00200080", 2):], 10)


@pytest.mark.pcsc
@pytest.mark.parametrize(("knobs", "pin", "code"), [
    ((), PIN, None),                                    # paid: wiped right after the VERIFY
    ((), "1397", "pin_wrong"),                          # the card refuses the VERIFY
    ((), "13a7", "pin_format"),                         # refused before the card
    (("--pull-after-verify",), PIN, "card_removed"),    # an error after the VERIFY
])
def test_every_ending_after_the_pin_is_typed_wipes_it(card_slot, terminal, world, knobs, pin, code):
    card_slot.insert("valid", *knobs)
    with VerifySpy() as spy:
        run = run_agent(terminal, world, "pay", "--amount", "60", pin=pin)
    assert (run.code == 0) if code is None else (run.code == 1 and f"[{code}]" in run.err), run.err
    assert len(run.pins) == 1 and not any(run.pins[0])
    assert len(spy.verify_lists) == (0 if code == "pin_format" else 1)
    assert not any(any(command) for command in spy.verify_lists)
    assert copies_in_containers(pin) == 0


@pytest.mark.pcsc
def test_the_cap_passing_during_entry_wipes_the_pin(card_slot, terminal, world):
    from reader_agent.cli import main

    card_slot.insert()
    handed = []

    def slow_resident(prompt: str, timeout_s: float) -> bytearray:
        handed.append(bytearray(PIN.encode()))
        time.sleep(1.2)
        return handed[-1]
    err = io.StringIO()
    code = main(["--state-dir", str(terminal.state_dir), "--lang", "en", "pay", "--amount", "50", "--reader",
                 READER0, "--transaction-timeout", "1.0", "--platform-url", world.url, "--platform-ca",
                 str(world.tls.ca_pem)], pin_source=slow_resident, out=io.StringIO(), err=err)
    assert code == 1 and err.getvalue().startswith("[transaction_timeout]")
    assert not any(handed[0]) and card_slot.tries_on_card() == 3 and copies_in_containers(PIN) == 0
