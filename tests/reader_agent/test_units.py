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

    from simulator.virtual_card.card import CardContent, JpkiCard, RetryCounters

    key = rsa.generate_private_key(65537, 2048)
    directory = tmp_path_factory.mktemp("model")

    def make(**faults):
        from simulator.virtual_card.card import CardFaults
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
