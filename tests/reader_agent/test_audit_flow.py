"""The real agent through pcscd → vpcd → virtual card: the full APDU order and the power-off (seen by the card
itself), status on a locked card, no PIN in the state directory, the transaction cap, Ctrl+C at the PIN
prompt, MUTE cards while waiting, and commit refusals that are checked with the status endpoint."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from conftest import BALANCE_START, MUNICIPALITY, MYKEY, PIN, READER0, run_agent

from reader_agent.errors import AgentError, Reason
from reader_harness.standin_platform import AnswerFault

pytestmark = pytest.mark.pcsc

AID = "00A4040C"   # SELECT by AID, P2=0C (no FCI)
EF = "00A4020C"    # SELECT EF by FID
EXPECTED_HEADERS = [AID, EF, "00B00000", EF, "00B00000"]   # AP; token EF 0006 + read; EF 000A + first read


def _records(state_dir: Path) -> list[dict]:
    path = state_dir / "log" / "current.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _states(world) -> list[str]:
    return sorted(r.state for r in world.platform.reservations.values())


def assert_no_pin_in(state_dir: Path) -> None:
    """The PIN appears in no file of the state directory: not as a token of its own (it may occur by chance
    inside a hash or base64 run) and not as a VERIFY command."""
    alone = re.compile(rb"(?<![0-9A-Za-z+/=])" + PIN.encode() + rb"(?![0-9A-Za-z+/=])")
    verify = bytes.fromhex("0020008004") + PIN.encode()
    files = [p for p in state_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert not alone.search(data) and verify not in data, path


def _lines(text: str, prefix: str) -> list[str]:
    return [line[2:].split(" SW ")[0].strip() for line in text.splitlines() if line.startswith(prefix)]


def test_trace_shows_the_whole_apdu_order_and_the_card_is_powered_off(card_slot, terminal, world, tmp_path):
    events = tmp_path / "card-events.txt"
    card_slot.insert("valid", "--events", str(events))
    run = run_agent(terminal, world, "pay", "--amount", "5", "--trace")
    assert run.code == 0
    sent = _lines(run.trace, "> ")
    aid = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
    assert sent[:5] == [aid, "00 A4 02 0C 02 00 06", "00 B0 00 00 20", "00 A4 02 0C 02 00 0A", "00 B0 00 00 04"]
    reads = sent[5:sent.index("00 A4 02 0C 02 00 18")]
    assert reads and all(r.startswith("00 B0 ") for r in reads)            # the rest of the certificate
    offsets = [int(r[6:11].replace(" ", ""), 16) for r in reads]
    assert offsets[0] == 4 and offsets == sorted(offsets)
    tail = sent[5 + len(reads):]
    assert tail[:3] == ["00 A4 02 0C 02 00 18", "00 20 00 80", "00 A4 02 0C 02 00 18"]  # tries, then re-SELECT
    assert tail[3] == "00 20 00 80 04 ** ** ** **"                           # VERIFY, masked
    assert tail[4] == "00 A4 02 0C 02 00 17"
    assert tail[5].startswith("80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20")
    assert tail[6:] == [aid]                                                 # re-SELECT AP drops the PIN state
    # the card's own record: the same order, then a power-off after the last command
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "power_off" not in events.read_text().split("apdu 00A4040C")[-1]:
        time.sleep(0.05)
    log = events.read_text().splitlines()
    headers = [line[5:] for line in log if line.startswith("apdu ")]
    assert len(headers) == len(sent)
    assert [h for h in headers] == [s.replace(" ", "")[:8] for s in sent]
    last = max(i for i, line in enumerate(log) if line.startswith("apdu "))
    assert "power_off" in log[last + 1:]
    assert_no_pin_in(terminal.state_dir)
    assert PIN not in events.read_text()


def test_status_on_a_locked_card(card_slot, terminal):
    from reader_agent.cli import main

    card_slot.insert("valid", "--locked-sw", "6984", tries=0)
    out = io.StringIO()
    code = main(["--state-dir", str(terminal.state_dir), "status", "--lang", "en"], out=out, err=io.StringIO())
    assert code == 0
    assert "JPKI applet: yes" in out.getvalue() and "Auth-PIN tries left: 0 (locked)" in out.getvalue()
    assert card_slot.tries_on_card() == 0


def test_the_transaction_cap_aborts_and_voids(card_slot, terminal, world):
    from reader_agent.cli import main

    card_slot.insert()
    waits = []

    def slow_resident(prompt: str, timeout_s: float) -> bytearray:
        waits.append(timeout_s)
        time.sleep(1.2)
        return bytearray(PIN.encode())
    err = io.StringIO()
    started = time.monotonic()
    code = main(["--state-dir", str(terminal.state_dir), "--lang", "en", "pay", "--amount", "50", "--reader",
                 READER0, "--transaction-timeout", "1.0", "--platform-url", world.url, "--platform-ca",
                 str(world.tls.ca_pem)], pin_source=slow_resident, out=io.StringIO(), err=err)
    assert code == 1 and err.getvalue().startswith("[transaction_timeout]"), err.getvalue()
    assert time.monotonic() - started < 5
    assert 0 < waits[0] <= 1.0                                      # the PIN wait was clipped to the cap
    assert _states(world) == ["voided"] and card_slot.tries_on_card() == 3   # no PIN reached the card
    assert world.platform.world.balances[(MUNICIPALITY, MYKEY)] == BALANCE_START
    assert not (terminal.state_dir / "log" / "pending.json").exists()
    assert run_agent(terminal, world, "pay", "--amount", "50").code == 0    # the card was released


def test_the_cap_also_bounds_the_card_commands(card_slot, terminal, world):
    card_slot.insert("valid", "--delay-ms", "80")
    run = run_agent(terminal, world, "pay", "--amount", "1", timeout_args=("--transaction-timeout", "0.3"))
    assert run.code == 1 and "[transaction_timeout]" in run.err
    assert world.platform.reservations == {} and run.pin_asked == 0


def test_ctrl_c_at_the_pin_prompt_voids_and_says_what_to_do(card_slot, terminal, world):
    from reader_agent.cli import main

    card_slot.insert()

    def interrupted(prompt: str, timeout_s: float) -> bytearray:
        raise KeyboardInterrupt
    err = io.StringIO()
    code = main(["--state-dir", str(terminal.state_dir), "--lang", "ja", "pay", "--amount", "70", "--reader",
                 READER0, "--platform-url", world.url, "--platform-ca", str(world.tls.ca_pem)],
                pin_source=interrupted, out=io.StringIO(), err=err)
    assert code == 130 and err.getvalue().startswith("[interrupted]") and "recover" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert _states(world) == ["voided"] and _records(terminal.state_dir) == []
    assert not (terminal.state_dir / "log" / "pending.json").exists()


def test_a_mute_card_is_never_accepted_and_the_wait_runs_its_course(card_slot):
    from reader_agent.pcsc import PcscContext

    card_slot.insert("valid", "--mute", wait=False)    # no ATR: vpcd reports the slot EMPTY, never usable
    time.sleep(0.5)
    started = time.monotonic()
    with PcscContext() as pcsc, pytest.raises(AgentError) as caught:
        pcsc.wait_for_card(READER0, 1.0)
    assert caught.value.code == Reason.NO_CARD
    assert time.monotonic() - started >= 0.95


def test_a_change_without_a_usable_card_does_not_end_the_wait(card_slot):
    import threading

    from reader_agent.pcsc import PcscContext

    card_slot.insert("valid", "--mute", wait=False)          # an event in the middle of the wait …
    time.sleep(0.5)
    timer = threading.Timer(0.3, card_slot.remove_all)       # … the mute card leaves: a change, no card
    timer.start()
    started = time.monotonic()
    try:
        with PcscContext() as pcsc, pytest.raises(AgentError) as caught:
            pcsc.wait_for_card(READER0, 1.5)
    finally:
        timer.join()
    assert caught.value.code == Reason.NO_CARD and time.monotonic() - started >= 1.45


def test_a_refused_commit_that_the_platform_did_commit_is_written(card_slot, terminal, world):
    card_slot.insert()
    world.platform.answer_faults.append(AnswerFault("commit", 403, {"status": "declined",
                                                                     "reason": "terminal_unknown"},
                                                    after_processing=True, times=3))
    run = run_agent(terminal, world, "pay", "--amount", "400")
    assert run.code == 0, run.err
    assert "balance ¥4600" in run.out
    [record] = _records(terminal.state_dir)
    assert record["amount"] == 400 and _states(world) == ["committed"]
    assert not (terminal.state_dir / "log" / "pending.json").exists()


def test_a_refused_commit_is_dropped_only_after_the_status_says_so(card_slot, terminal, world):
    card_slot.insert()
    world.platform.answer_faults.append(AnswerFault("commit", 400, {"status": "declined",
                                                                     "reason": "request_invalid"}, times=3))
    run = run_agent(terminal, world, "pay", "--amount", "400")
    assert run.code == 1 and "[platform_declined]" in run.err
    assert _states(world) == ["voided"] and _records(terminal.state_dir) == []
    assert not (terminal.state_dir / "log" / "pending.json").exists()


def test_a_refused_commit_with_an_unclear_status_is_kept(card_slot, terminal, world):
    card_slot.insert()
    world.platform.answer_faults += [
        AnswerFault("commit", 401, {"status": "declined", "reason": "terminal_unknown"}, times=3),
        AnswerFault("status", 401, {"status": "declined", "reason": "terminal_unknown"}, times=3)]
    run = run_agent(terminal, world, "pay", "--amount", "400")
    assert run.code == 1 and "[pending_unresolved]" in run.err and "terminal_unknown" in run.err
    assert (terminal.state_dir / "log" / "pending.json").exists()
    assert _states(world) == ["reserved"]
    world.platform.answer_faults.clear()
    recovered = run_agent(terminal, world, "recover")
    assert recovered.code == 0 and "not_committed (seq 1)" in recovered.out
    assert_no_pin_in(terminal.state_dir)
