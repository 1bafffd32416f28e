"""The real agent through pcscd → vpcd → virtual card, against the loopback stand-in platform: every card case."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import BALANCE_START, MUNICIPALITY, MYKEY, PIN, READER0, TERMINAL, run_agent
from cryptography import x509

from contracts import terminal_log

pytestmark = pytest.mark.pcsc


def _log_records(state_dir: Path) -> list[dict]:
    path = state_dir / "log" / "current.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _balance(world) -> int:
    return world.platform.world.balances[(MUNICIPALITY, MYKEY)]


def _states(world) -> list[str]:
    return sorted(r.state for r in world.platform.reservations.values())


def test_pay_writes_a_signed_record_and_spends_once(card_slot, terminal, world, card_set):
    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "1200")
    assert run.code == 0, run.err
    assert run.pin_asked == 1
    assert _balance(world) == BALANCE_START - 1200          # 5000 - 1200, hand-computed
    assert "balance ¥3800" in run.out
    [record] = _log_records(terminal.state_dir)
    assert set(record) == terminal_log.USE_FIELDS         # nothing beyond the FORMATS.md fields (no PIN)
    assert (record["seq"], record["prev_hash"], record["amount"]) == (1, terminal_log.GENESIS_HASH, 1200)
    assert (record["mykey_id"], record["municipality_code"], record["terminal_id"]) == (MYKEY, MUNICIPALITY,
                                                                                        TERMINAL)
    cert = x509.load_der_x509_certificate(card_set.files["valid"].cert_der.read_bytes())
    assert record["card_cert_serial"] == format(cert.serial_number, "x")
    assert terminal_log.verify_card_signature(cert.public_key(), record)
    assert record["hash"] == terminal_log.record_hash(record)
    assert card_slot.tries_on_card() == 3
    assert _states(world) == ["committed"]
    assert PIN not in run.out + run.err


def test_second_pay_chains_on_the_first(card_slot, terminal, world):
    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "100").code == 0
    assert run_agent(terminal, world, "pay", "--amount", "250").code == 0
    first, second = _log_records(terminal.state_dir)
    assert second["seq"] == 2 and second["prev_hash"] == first["hash"]
    assert _balance(world) == 5000 - 100 - 250


def test_japanese_is_the_default_language(card_slot, terminal, world):
    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "10", lang="ja")
    assert run.code == 0
    assert "お支払いが完了しました" in run.out and "残高 4990 円" in run.out


def test_wrong_pin_spends_nothing_and_reports_tries(card_slot, terminal, world):
    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "500", pin="0000")
    assert run.code == 1
    assert "[pin_wrong]" in run.err and "2 tries left" in run.err
    assert card_slot.tries_on_card() == 2
    assert _balance(world) == BALANCE_START
    assert _states(world) == ["voided"]
    assert _log_records(terminal.state_dir) == []
    assert not (terminal.state_dir / "log" / "pending.json").exists()


def test_badly_formed_pin_never_reaches_the_card(card_slot, terminal, world):
    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "500", pin="12a4")
    assert "[pin_format]" in run.err
    assert card_slot.tries_on_card() == 3


def test_one_try_left_refuses_to_ask_for_the_pin(card_slot, terminal, world):
    card_slot.insert(tries=1)
    run = run_agent(terminal, world, "pay", "--amount", "500", lang="ja")
    assert run.code == 1 and "[pin_last_try]" in run.err
    assert "市区町村の窓口" in run.err
    assert run.pin_asked == 0
    assert card_slot.tries_on_card() == 1
    assert world.platform.reservations == {}                # refused before asking the platform


@pytest.mark.parametrize("locked_sw", ["63C0", "6983", "6984"])
def test_locked_pin_sends_to_the_municipal_office(card_slot, terminal, world, locked_sw):
    card_slot.insert("valid", "--locked-sw", locked_sw, tries=0)
    run = run_agent(terminal, world, "pay", "--amount", "500", lang="ja")
    assert run.code == 1 and "[pin_locked]" in run.err
    assert "市区町村の窓口" in run.err
    assert run.pin_asked == 0
    assert _balance(world) == BALANCE_START


def test_card_pulled_between_verify_and_sign(card_slot, terminal, world):
    card_slot.insert("valid", "--pull-after-verify")
    run = run_agent(terminal, world, "pay", "--amount", "700")
    assert run.code == 1 and "[card_removed]" in run.err
    assert _balance(world) == BALANCE_START
    assert _states(world) == ["voided"]
    assert _log_records(terminal.state_dir) == []
    card_slot.remove_all()
    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "700").code == 0
    assert [r["seq"] for r in _log_records(terminal.state_dir)] == [1]


def test_no_reader_and_no_card(pcsc_stack, terminal, world):
    run = run_agent(terminal, world, "pay", "--amount", "1", timeout_args=("--card-wait", "0.3"))
    # READER0 is asked for by run_agent; with no card inserted the wait times out
    assert "[no_card]" in run.err
    import io

    from reader_agent.cli import main
    err = io.StringIO()
    code = main(["--state-dir", str(terminal.state_dir), "--lang", "en", "pay", "--amount", "1",
                 "--reader", "No Such Reader", "--card-wait", "0.2", "--platform-url", world.url,
                 "--platform-ca", str(world.tls.ca_pem)], pin_source=lambda p, t: bytearray(b"0000"),
                out=io.StringIO(), err=err)
    assert code == 1 and "[no_reader]" in err.getvalue()
    assert world.platform.reservations == {}


def test_non_jpki_card(card_slot, terminal, world):
    card_slot.insert("valid", "--non-jpki")
    run = run_agent(terminal, world, "pay", "--amount", "1")
    assert "[not_jpki]" in run.err and run.pin_asked == 0


def test_other_token_is_refused(card_slot, terminal, world):
    card_slot.insert("valid", "--token", "JPKIAPGPSETOKEN")
    assert "[token_unsupported]" in run_agent(terminal, world, "pay", "--amount", "1").err


@pytest.mark.parametrize(("kind", "code"), [("expired", "cert_expired"), ("foreign", "cert_foreign")])
def test_expired_or_foreign_certificate(card_slot, terminal, world, kind, code):
    card_slot.insert(kind)
    run = run_agent(terminal, world, "pay", "--amount", "1")
    assert f"[{code}]" in run.err and run.pin_asked == 0
    assert world.platform.reservations == {}


def test_unregistered_card_is_declined_by_the_platform(card_slot, terminal, world):
    card_slot.insert("unregistered")
    run = run_agent(terminal, world, "pay", "--amount", "1")
    assert "[platform_declined]" in run.err and "not registered" in run.err
    assert run.pin_asked == 0


def test_insufficient_balance(card_slot, terminal, world):
    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "5001")
    assert "[platform_declined]" in run.err and "balance ¥5000" in run.err
    assert run.pin_asked == 0 and card_slot.tries_on_card() == 3


def test_slow_card_times_out(card_slot, terminal, world):
    card_slot.insert("valid", "--delay-ms", "400")
    run = run_agent(terminal, world, "pay", "--amount", "1", extra=(), timeout_args=("--apdu-timeout", "0.15"))
    assert run.code == 1 and "[card_timeout]" in run.err
    assert _balance(world) == BALANCE_START and world.platform.reservations == {}


def test_slightly_slow_card_still_works(card_slot, terminal, world):
    card_slot.insert("valid", "--delay-ms", "60")
    run = run_agent(terminal, world, "pay", "--amount", "1", timeout_args=("--apdu-timeout", "1"))
    assert run.code == 0, run.err
    assert _balance(world) == BALANCE_START - 1


def test_platform_unreachable_spends_nothing(card_slot, terminal, world):
    card_slot.insert()
    world.server.stop()
    run = run_agent(terminal, world, "pay", "--amount", "900", lang="ja")
    assert run.code == 1 and "[platform_unreachable]" in run.err
    assert "ポイントは使われていません" in run.err
    assert run.pin_asked == 0 and card_slot.tries_on_card() == 3
    assert _balance(world) == BALANCE_START and world.platform.reservations == {}
    assert _log_records(terminal.state_dir) == []


def test_cancel_returns_the_points(card_slot, terminal, world):
    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "800").code == 0
    [use] = _log_records(terminal.state_dir)
    run = run_agent(terminal, world, "cancel", "--auth-id", use["auth_id"])
    assert run.code == 0, run.err
    use_, cancel = _log_records(terminal.state_dir)
    assert cancel["type"] == "cancel" and cancel["cancel_of"] == use["auth_id"] and cancel["amount"] == 800
    assert set(cancel) == terminal_log.CANCEL_FIELDS
    assert cancel["auth_id"] != use["auth_id"] and cancel["prev_hash"] == use["hash"]
    assert _balance(world) == BALANCE_START
    again = run_agent(terminal, world, "cancel", "--auth-id", use["auth_id"])
    assert "[platform_declined]" in again.err     # nothing left to cancel


def test_trace_masks_the_pin(card_slot, terminal, world):
    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "5", extra=())
    assert run.code == 0
    traced = run_agent(terminal, world, "pay", "--amount", "5", "--trace")
    trace = traced.trace
    assert traced.code == 0
    assert "00 20 00 80 04 ** ** ** **" in trace
    assert PIN.encode().hex(" ").upper() not in trace
    assert "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01" in trace       # SELECT by AID, jpki.md §1.2
    assert "80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20" in trace
    for forbidden in ("00 A4 02 0C 02 00 01", "00 A4 02 0C 02 00 1A", "00 A4 02 0C 02 00 1B", "D3 92 10 00 31"):
        assert forbidden not in trace                                    # signing cert/key/password, 券面 APs


def test_trace_never_shows_the_certificate_or_its_serial(card_slot, terminal, world, card_set):
    from cryptography import x509

    card_slot.insert()
    run = run_agent(terminal, world, "pay", "--amount", "5", "--trace")
    assert run.code == 0
    der = card_set.files["valid"].cert_der.read_bytes()
    serial = x509.load_der_x509_certificate(der).serial_number
    serial_hex = serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex(" ").upper()
    answers = [line for line in run.trace.splitlines() if line.startswith("< ")]
    assert answers and all(serial_hex not in line and der[:8].hex(" ").upper() not in line for line in answers)
    assert "< (4 bytes) SW 9000" in answers                            # the DER header read, by its length only


def test_status_shows_tries_without_a_pin(card_slot, terminal):
    card_slot.insert(tries=2)
    import io

    from reader_agent.cli import main
    out = io.StringIO()
    code = main(["--state-dir", str(terminal.state_dir), "--lang", "en", "status"], out=out, err=io.StringIO())
    assert code == 0
    text = out.getvalue()
    assert READER0 in text and "JPKI applet: yes" in text and "Auth-PIN tries left: 2" in text
    assert card_slot.tries_on_card() == 2


def test_card_signature_is_over_the_card_message(card_slot, terminal, world, card_set):
    card_slot.insert()
    assert run_agent(terminal, world, "pay", "--amount", "42").code == 0
    [record] = _log_records(terminal.state_dir)
    message = terminal_log.card_message(record)
    assert json.loads(message) == {k: record[k] for k in terminal_log.CARD_MESSAGE_FIELDS}
    key = x509.load_der_x509_certificate(card_set.files["valid"].cert_der.read_bytes()).public_key()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    key.verify(base64.b64decode(record["card_sig"]), message, padding.PKCS1v15(), hashes.SHA256())
