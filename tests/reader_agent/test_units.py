"""Pure parts, no PC/SC: APDU bytes against domain/jpki.md §1.2, DER length parsing, status words, PIN masking
and validation, the log store's recovery on its own, and the virtual card's applet rules."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts import terminal_log
from reader_agent import apdu
from reader_agent.errors import AgentError, Reason
from reader_agent.pin import validate_pin
from reader_agent.store import TerminalStore


def test_apdus_match_the_jpki_table():
    assert apdu.select_aid().hex() == "00a4040c0ad392f000260100000001"
    assert apdu.select_ef(0x000A).hex() == "00a4020c02000a"
    assert apdu.read_binary(0x0104, 255).hex() == "00b00104ff"
    assert apdu.read_binary(0, 256).hex() == "00b0000000"
    assert apdu.pin_tries_query().hex() == "00200080"
    assert bytes(apdu.verify_pin_apdu(bytearray(b"1234"))).hex() == "002000800431323334"
    info = apdu.sha256_digest_info(bytes(32))
    assert len(info) == 51 and apdu.sign_apdu(info)[:5].hex() == "802a008033" and apdu.sign_apdu(info)[-1] == 0


@pytest.mark.parametrize(("header", "total"), [(b"\x30\x82\x04\xd2", 4 + 1234), (b"\x30\x81\x80\x00", 3 + 128),
                                               (b"\x30\x10\x00\x00", 2 + 16)])
def test_der_length(header, total):
    assert apdu.der_total_length(header) == total


@pytest.mark.parametrize("header", [b"\x31\x82\x01\x00", b"\x30\x80\x00\x00", b"\x30\x82\x10\x00", b"\x30"])
def test_der_length_rejects_other_forms_and_oversize(header):
    with pytest.raises(ValueError):
        apdu.der_total_length(header)


def test_pin_status_words():
    assert apdu.classify_pin_status(0x63C2) == apdu.PinStatus(2, False, False)
    for sw in (0x63C0, 0x6983, 0x6984):
        assert apdu.classify_pin_status(sw).locked
    assert apdu.classify_pin_status(0x9000).verified
    assert apdu.classify_pin_status(0x6A82) is None


def test_trace_masks_only_the_verify_body():
    assert apdu.mask_apdu(bytes.fromhex("002000800431323334")) == "00 20 00 80 04 ** ** ** **"
    assert apdu.mask_apdu(bytes.fromhex("00200080")) == "00 20 00 80"
    assert apdu.mask_apdu(apdu.select_ef(0x18)) == "00 A4 02 0C 02 00 18"


def test_trace_shows_what_read_binary_returns_only_by_length():
    cert_part = bytes.fromhex("3082051f30820407a003020102020400")
    assert apdu.mask_response(apdu.read_binary(0, 16), cert_part, 0x9000) == "(16 bytes) SW 9000"
    assert apdu.mask_response(apdu.select_ef(0x0A), b"", 0x9000) == "SW 9000"
    assert apdu.mask_response(apdu.sign_apdu(bytes(51)), b"\x01\xff", 0x9000) == "01 FF SW 9000"


@pytest.mark.parametrize("typed", [b"123", b"12345", b"12a4", b"", "１２３４".encode()])
def test_pin_format_is_checked_and_wiped(typed):
    pin = bytearray(typed)
    with pytest.raises(AgentError) as caught:
        validate_pin(pin)
    assert caught.value.code == Reason.PIN_FORMAT and set(pin) <= {0}
    assert typed.decode(errors="ignore") not in str(caught.value) or not typed


def _store_with_records(tmp_path, count):
    store = TerminalStore.open(tmp_path, "T00000001")
    for n in range(count):
        record = store.next_record({"type": "use", "ts": "2026-11-26T10:00:00+09:00", "merchant_id": "M00000001",
                                    "municipality_code": "131016", "mykey_id": "MK0000000001", "amount": 10 + n,
                                    "auth_id": f"A{n}", "card_cert_serial": "1", "card_sig": "AA=="})
        store.write_pending(record)
        store.append_pending()
    return store


def test_store_recovers_a_torn_line_and_keeps_seq(tmp_path):
    _store_with_records(tmp_path, 2).close()
    current = tmp_path / "log" / "current.jsonl"
    current.write_bytes(current.read_bytes() + b'{"v":1,"type":"us')
    store = TerminalStore.open(tmp_path, "T00000001")
    assert store.head.seq == 2 and current.read_bytes().endswith(b"\n")
    store.close()


def test_store_detects_a_tampered_record(tmp_path):
    _store_with_records(tmp_path, 2).close()
    current = tmp_path / "log" / "current.jsonl"
    current.write_text(current.read_text().replace('"amount":10', '"amount":99'))
    with pytest.raises(AgentError) as caught:
        TerminalStore.open(tmp_path, "T00000001")
    assert caught.value.code == Reason.LOG_CORRUPT


def test_seal_crash_before_emptying_current_drops_sealed_records(tmp_path):
    store = _store_with_records(tmp_path, 3)
    before = (tmp_path / "log" / "current.jsonl").read_bytes()
    key = ed25519.Ed25519PrivateKey.generate()
    import datetime as dt
    sealed = store.seal(key, dt.datetime(2026, 11, 26, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    store.close()
    (tmp_path / "log" / "current.jsonl").write_bytes(before)       # as if the crash came before emptying it
    store = TerminalStore.open(tmp_path, "T00000001")
    assert store.records_unsealed == 0 and store.head.seq == 4    # 3 records + the seal
    records = [json.loads(t) for _, t in terminal_log.iter_json_lines(sealed.read_bytes())]
    assert sealed.name == "T00000001_20261126_0001.jsonl"
    assert terminal_log.verify_chain(records, key.public_key()) == []
    store.close()


def test_one_agent_per_state_directory(tmp_path):
    first = TerminalStore.open(tmp_path, "T00000001")
    with pytest.raises(AgentError):
        TerminalStore.open(tmp_path, "T00000001")
    first.close()


@pytest.fixture(scope="module")
def card_model(tmp_path_factory):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from reader_harness.virtual_card.card import CardContent, JpkiCard, RetryCounters

    key = rsa.generate_private_key(65537, 2048)
    directory = tmp_path_factory.mktemp("model")

    def make(**faults):
        from reader_harness.virtual_card.card import CardFaults
        content = CardContent(key, b"\x30\x03\x02\x01\x05", b"\x30\x00", key)
        return JpkiCard(content, RetryCounters(directory / "tries.json", reset=True), CardFaults(**faults))
    return make


def test_virtual_card_protects_the_signing_side(card_model):
    card = card_model()
    assert card.process(apdu.select_aid()) == b"\x90\x00"
    assert card.process(apdu.select_ef(0x0001)) == b"\x90\x00"
    assert card.process(apdu.read_binary(0, 4)) == b"\x69\x82"           # signing cert needs the password
    card.process(apdu.select_ef(apdu.EF_AUTH_KEY))
    assert card.process(apdu.sign_apdu(apdu.sha256_digest_info(bytes(32)))) == b"\x69\x82"  # no PIN yet
    assert card.process(bytes.fromhex("00a4040c0ad39210003100010104 08".replace(" ", ""))) == b"\x6a\x82"


def test_virtual_card_counter_persists_and_reselect_logs_out(card_model):
    card = card_model()
    card.process(apdu.select_aid())
    card.process(apdu.select_ef(apdu.EF_AUTH_PIN))
    assert card.process(bytes(apdu.verify_pin_apdu(bytearray(b"9999")))) == b"\x63\xc2"
    card.power(False)
    card.process(apdu.select_aid())
    card.process(apdu.select_ef(apdu.EF_AUTH_PIN))
    assert card.process(apdu.pin_tries_query()) == b"\x63\xc2"          # survives power off
    assert card.process(bytes(apdu.verify_pin_apdu(bytearray(b"1234")))) == b"\x90\x00"
    assert card.process(apdu.pin_tries_query()) == b"\x90\x00"
    card.process(apdu.select_aid())
    card.process(apdu.select_ef(apdu.EF_AUTH_PIN))
    assert card.process(apdu.pin_tries_query()) == b"\x63\xc3"          # re-SELECT dropped the verification


# --- audit 4: short writes, answer validation, messages, exits ----------------------------------------------
def _one_record(store, amount=10, auth_id="Ashort"):
    record = store.next_record({"type": "use", "ts": "2026-11-26T10:00:00+09:00", "merchant_id": "M00000001",
                                "municipality_code": "131016", "mykey_id": "MK0000000001", "amount": amount,
                                "auth_id": auth_id, "card_cert_serial": "1", "card_sig": "AA=="})
    store.write_pending(record)
    return record


def _half_once(monkeypatch):
    """os.write in the store writes only half of the first buffer it is given (a legal short write)."""
    from reader_agent import store as store_module

    real, calls = store_module.os.write, []

    def short_write(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real(fd, bytes(data[:len(data) // 2]))
        return real(fd, data)
    monkeypatch.setattr(store_module.os, "write", short_write)
    return calls


def test_append_survives_a_short_write(tmp_path, monkeypatch):
    store = _store_with_records(tmp_path, 1)
    record = _one_record(store, 11)
    calls = _half_once(monkeypatch)
    store.append_pending()
    monkeypatch.undo()
    store.close()
    line = terminal_log.dump_line(record)
    assert calls[0] == len(line) and len(calls) == 2                  # the rest was written on a second call
    with TerminalStore.open(tmp_path, "T00000001") as again:
        assert again.pending() is None and again.head.seq == 2 and again.head.hash == record["hash"]
    assert (tmp_path / "log" / "current.jsonl").read_bytes().endswith(line)


def test_write_synced_survives_a_short_write(tmp_path, monkeypatch):
    from reader_agent.store import write_synced

    data = bytes(range(256)) * 7
    _half_once(monkeypatch)
    write_synced(tmp_path / "f", data)
    monkeypatch.undo()
    assert (tmp_path / "f").read_bytes() == data


def test_a_failed_append_keeps_pending_and_cuts_the_partial_line(tmp_path, monkeypatch):
    import errno
    import os as real_os

    from reader_agent import store as store_module

    store = _store_with_records(tmp_path, 1)
    before = (tmp_path / "log" / "current.jsonl").read_bytes()
    _one_record(store, 12)
    real, calls = real_os.write, []

    def full_disk(fd, data):
        calls.append(1)
        if len(calls) == 1:
            return real(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(store_module.os, "write", full_disk)
    with pytest.raises(AgentError) as caught:
        store.append_pending()
    monkeypatch.undo()
    store.close()
    assert caught.value.code == Reason.LOG_CORRUPT and "ENOSPC" in caught.value.params["detail"]
    assert (tmp_path / "log" / "current.jsonl").read_bytes() == before
    with TerminalStore.open(tmp_path, "T00000001") as again:
        assert again.pending()["seq"] == 2 and again.head.seq == 1       # seq 2 is neither lost nor reused


def test_locked_state_directory_has_its_own_code(tmp_path):
    from reader_agent.cli import error_text

    first = TerminalStore.open(tmp_path, "T00000001")
    with pytest.raises(AgentError) as caught:
        TerminalStore.open(tmp_path, "T00000001")
    first.close()
    assert caught.value.code == Reason.AGENT_RUNNING
    assert "Another seisan-reader is running on this terminal" in error_text(caught.value, "en")
    assert "別の seisan-reader が動作中" in error_text(caught.value, "ja")


def test_too_many_unsealed_records_tells_staff_to_upload(tmp_path, monkeypatch):
    from reader_agent import store as store_module
    from reader_agent.cli import error_text

    store = _store_with_records(tmp_path, 2)
    monkeypatch.setattr(store_module, "RECORDS_PER_FILE_MAX", 2)
    with pytest.raises(AgentError) as caught:
        store.check_room()
    store.close()
    assert caught.value.code == Reason.LOG_FULL
    assert "seisan-reader upload" in error_text(caught.value, "en")
    assert "seisan-reader upload" in error_text(caught.value, "ja")


_GOOD = {"status": "reserved", "auth_id": "A9af94b90921be286", "mykey_id": "MK0000000001", "type": "use",
         "municipality_code": "131016", "amount": 1200, "expires_at": "2026-11-26T10:17:03+09:00", "balance": 3800}


@pytest.mark.parametrize(("change", "field"), [
    ({"auth_id": None}, "auth_id"), ({"auth_id": "A/../x"}, "auth_id"), ({"status": "committed"}, "status"),
    ({"amount": "1200"}, "amount"), ({"amount": 1199}, "amount"), ({"amount": True}, "amount"),
    ({"municipality_code": None}, "municipality_code"), ({"municipality_code": "99999"}, "municipality_code"),
    ({"mykey_id": 5}, "mykey_id"), ({"type": "cancel"}, "type")])
def test_malformed_reservations_are_coded_errors(change, field):
    from reader_agent.flow import Request, parse_reservation

    answer = {k: v for k, v in {**_GOOD, **change}.items() if v is not None}
    with pytest.raises(AgentError) as caught:
        parse_reservation(answer, Request("use", 1200))
    assert caught.value.code == Reason.PLATFORM_ANSWER_INVALID and caught.value.params["field"] == field


def test_a_good_reservation_parses():
    from reader_agent.flow import Request, Reservation, parse_reservation

    assert parse_reservation(_GOOD, Request("use", 1200)) == Reservation("A9af94b90921be286", 1200, "131016",
                                                                         "MK0000000001")
    assert parse_reservation({**_GOOD, "type": "cancel", "amount": 300}, Request("cancel", None, "Ax")).amount == 300


@pytest.mark.parametrize("key", ["decline.card_not_registered", "decline.not_designated",
                                 "decline.insufficient_balance", "usage", "log_full", "agent_running",
                                 "transaction_timeout", "system_error", "interrupted", "pending_unresolved"])
def test_messages_say_what_to_do_in_both_languages(key):
    from reader_agent import messages

    ja, en = messages.text(key, "ja", balance=5, detail="x", records=1), messages.text(key, "en", balance=5,
                                                                                      detail="x", records=1)
    assert ja != en and "{" not in ja + en
    assert len([s for s in en.split(". ") if s.strip()]) >= 2           # the fact, then what to do
    assert ja.count("。") + ja.count("ください") >= 2


def _init(state):
    import io

    from reader_agent.cli import main
    return main(["--state-dir", str(state), "init-terminal", "--terminal-id", "T00000001", "--merchant-id",
                 "M00000001"], out=io.StringIO(), err=io.StringIO())


def test_lang_and_state_dir_may_follow_the_command(tmp_path):
    import io

    from reader_agent.cli import main
    state = tmp_path / "s"
    assert main(["init-terminal", "--state-dir", str(state), "--lang", "en", "--terminal-id", "T00000001",
                 "--merchant-id", "M00000001"], out=(out := io.StringIO()), err=io.StringIO()) == 0
    assert out.getvalue().startswith("Terminal key created") and (state / "terminal_key.pem").exists()
    err = io.StringIO()
    assert main(["--lang", "ja", "pay", "--state-dir", str(state), "--lang", "en", "--amount", "5"],
                out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("[usage] Wrong usage: --platform-url is needed.")


@pytest.mark.parametrize(("exc", "code", "status", "ja"), [
    (KeyboardInterrupt(), "interrupted", 130, "中断"), (OSError(28, "No space left on device"), "system_error", 1,
                                                       "ディスクの空き容量"),
    (KeyError("auth_id"), "internal_error", 1, "本部")])
def test_unexpected_exceptions_become_coded_messages(tmp_path, monkeypatch, exc, code, status, ja):
    import io

    from reader_agent import cli

    assert _init(tmp_path / "s") == 0

    def boom(*args, **kwargs):
        raise exc
    monkeypatch.setattr(cli, "settle_pending", boom)
    for lang, expected in (("en", "recover"), ("ja", ja)):
        err = io.StringIO()
        assert cli.main(["--state-dir", str(tmp_path / "s"), "--lang", lang, "recover"], out=io.StringIO(),
                        err=err) == status
        assert err.getvalue().startswith(f"[{code}] ") and expected in err.getvalue()
        assert "Traceback" not in err.getvalue()
    if code == "system_error":
        assert "ENOSPC" in err.getvalue()


class _PulledCardScard:
    """Stand-in for pyscard's scard module after a pull: transmit 'succeeds' with no bytes, and SCardStatus
    reports the card absent on the second poll (as pcscd does once its presence poll has run)."""

    SCARD_UNPOWER_CARD = 2

    def __init__(self, present_polls: int) -> None:
        self.polls, self.present_polls = 0, present_polls

    def SCardTransmit(self, hcard, protocol, command):  # noqa: N802 - pyscard naming
        return 0, []

    def SCardStatus(self, hcard):  # noqa: N802
        self.polls += 1
        present = self.polls <= self.present_polls
        return 0, "Virtual PCD 00 00", (0x0004 | 0x0020) if present else 0x0002, 2, []


def test_empty_response_from_a_pulled_card_is_card_removed():
    from reader_agent.pcsc import CardConnection

    connection = CardConnection(_PulledCardScard(present_polls=1), 1, 2, 1.0, None)
    with pytest.raises(AgentError) as caught:
        connection.transmit(apdu.select_ef(0x17))
    assert caught.value.code == Reason.CARD_REMOVED


def test_empty_response_with_the_card_still_there_is_card_error(monkeypatch):
    from reader_agent import pcsc

    monkeypatch.setattr(pcsc, "REMOVAL_CHECK_S", 0.2)
    connection = pcsc.CardConnection(_PulledCardScard(present_polls=10_000), 1, 2, 1.0, None)
    with pytest.raises(AgentError) as caught:
        connection.transmit(apdu.select_ef(0x17))
    assert caught.value.code == Reason.CARD_ERROR and caught.value.params["sw"] == "short response"


def test_the_transaction_cap_stops_the_next_apdu():
    import time

    from reader_agent.pcsc import CardConnection

    connection = CardConnection(_PulledCardScard(present_polls=0), 1, 2, 1.0, None)
    connection.deadline = time.monotonic() - 0.01
    with pytest.raises(AgentError) as caught:
        connection.transmit(apdu.select_aid())
    assert caught.value.code == Reason.TRANSACTION_TIMEOUT


class _WaitScard:
    """Stand-in for pyscard's scard during wait_for_card: the reader is empty, then a MUTE card shows up
    (a change without a usable card), then nothing happens until the timeout."""

    SCARD_STATE_UNAWARE, SCARD_STATE_CHANGED, SCARD_STATE_EMPTY = 0x0, 0x2, 0x10
    SCARD_STATE_PRESENT, SCARD_STATE_MUTE = 0x20, 0x200

    def __init__(self) -> None:
        self.calls: list[int] = []

    def SCardListReaders(self, context, groups):  # noqa: N802 - pyscard naming
        return 0, ["Virtual PCD 00 00"]

    def SCardGetStatusChange(self, context, timeout_ms, states):  # noqa: N802
        import time

        self.calls.append(timeout_ms)
        if len(self.calls) == 1:
            return 0, [("Virtual PCD 00 00", self.SCARD_STATE_EMPTY | self.SCARD_STATE_CHANGED, [])]
        if len(self.calls) == 2:
            return 0, [("Virtual PCD 00 00", self.SCARD_STATE_PRESENT | self.SCARD_STATE_MUTE | 0x2, [1])]
        time.sleep(timeout_ms / 1000)
        return 0x8010000A, states


def test_wait_for_card_never_takes_a_mute_card_and_waits_out_its_timeout():
    import time

    from reader_agent.pcsc import PcscContext

    context = PcscContext.__new__(PcscContext)
    context._scard, context.handle = _WaitScard(), 1
    started = time.monotonic()
    with pytest.raises(AgentError) as caught:
        context.wait_for_card(None, 0.5)
    assert caught.value.code == Reason.NO_CARD
    assert time.monotonic() - started >= 0.45 and len(context._scard.calls) == 3
