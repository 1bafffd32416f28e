"""Terminal logs: canonical form, a hand-built chain and seal, every tampering, card signatures."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from contracts.terminal_log import (
    GENESIS_HASH,
    CanonicalFormError,
    canonical_bytes,
    card_message,
    finish_record,
    load_terminal_public_key,
    make_seal,
    record_hash,
    sign_card_message_with_key,
    terminal_public_key_b64,
    verify_card_signature,
    verify_chain,
)

TERMINAL_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


@pytest.fixture(scope="module")
def card_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_canonical_form_by_hand() -> None:
    data = canonical_bytes({"b": 1, "a": "千葉市", "c": [2, {"z": None, "y": "x"}]})
    assert data == '{"a":"千葉市","b":1,"c":[2,{"y":"x","z":null}]}'.encode()
    assert b"\\u" not in data


@pytest.mark.parametrize("value", [1.0, 0.5, True, b"bytes", {1: "x"}])
def test_canonical_form_rejects(value: Any) -> None:
    with pytest.raises(CanonicalFormError):
        canonical_bytes({"amount": value})


def _use(seq: int, prev_hash: str, amount: int) -> dict[str, Any]:
    return {
        "v": 1, "type": "use", "terminal_id": "T00000001", "seq": seq, "ts": f"2026-11-25T10:0{seq}:00+09:00",
        "merchant_id": "M00000001", "municipality_code": "121002", "mykey_id": "ABCD1234efgh",
        "amount": amount, "auth_id": f"A{seq:05d}", "card_cert_serial": "1001", "card_sig": "",
        "prev_hash": prev_hash,
    }


def _chain() -> list[dict[str, Any]]:
    first = _use(1, GENESIS_HASH, 1_000)
    first["hash"] = hashlib.sha256(canonical_bytes(first)).hexdigest()  # by hand: no hash, no term_sig
    second = _use(2, first["hash"], 250)
    second["hash"] = hashlib.sha256(canonical_bytes(second)).hexdigest()
    seal = make_seal("T00000001", 3, "2026-11-25T10:05:00+09:00", 2, second["hash"], TERMINAL_KEY)
    return [first, second, seal]


def _key() -> ed25519.Ed25519PublicKey:
    return load_terminal_public_key(terminal_public_key_b64(TERMINAL_KEY))


def test_hand_built_chain_verifies() -> None:
    records = _chain()
    assert records[1]["hash"] == record_hash(records[1])
    assert records[2]["hash"] == record_hash(records[2])  # the seal hash leaves out term_sig
    assert verify_chain(records, _key()) == []


def test_hash_ignores_hash_and_term_sig_only() -> None:
    record = _chain()[0]
    changed = dict(record, hash="f" * 64, term_sig="x")
    assert record_hash(changed) == record_hash(record)
    assert record_hash(dict(record, ts="2026-11-25T10:01:01+09:00")) != record_hash(record)


def _codes(records: list[dict[str, Any]],
           key: ed25519.Ed25519PublicKey | None = None) -> list[tuple[str, int]]:
    return [(p.code, p.line_number) for p in verify_chain(records, key or _key())]


def test_changed_amount() -> None:
    records = _chain()
    records[1]["amount"] = 2_500
    assert _codes(records) == [("terminal_hash_mismatch", 2)]


def test_broken_prev_hash() -> None:
    records = _chain()
    records[1]["prev_hash"] = "1" * 64
    finish_record(records[1])  # recomputed hash, so only the link is wrong ...
    records[2] = make_seal("T00000001", 3, records[2]["ts"], 2, records[1]["hash"], TERMINAL_KEY)
    assert _codes(records) == [("terminal_chain_broken", 2)]


def test_skipped_seq() -> None:
    records = _chain()
    records[1]["seq"] = 3
    finish_record(records[1])
    records[2] = make_seal("T00000001", 4, records[2]["ts"], 2, records[1]["hash"], TERMINAL_KEY)
    assert _codes(records) == [("terminal_seq_not_consecutive", 2)]


def test_wrong_seal_count() -> None:
    records = _chain()
    records[2] = make_seal("T00000001", 3, records[2]["ts"], 3, records[1]["hash"], TERMINAL_KEY)
    assert _codes(records) == [("terminal_seal_count_mismatch", 3)]


def test_forged_seal_signature() -> None:
    records = _chain()
    records[2] = make_seal("T00000001", 3, records[2]["ts"], 2, records[1]["hash"], OTHER_KEY)
    assert _codes(records) == [("terminal_seal_signature_invalid", 3)]
    assert _codes(_chain(), load_terminal_public_key(terminal_public_key_b64(OTHER_KEY))) == [
        ("terminal_seal_signature_invalid", 3)]


def test_missing_seal_and_unknown_key_and_empty() -> None:
    assert _codes(_chain()[:2]) == [("terminal_seal_missing", 2)]
    assert [(p.code, p.line_number) for p in verify_chain(_chain(), None)] == [("terminal_key_unknown", 3)]
    assert [p.code for p in verify_chain([], _key())] == ["terminal_file_empty"]


def test_seal_not_last() -> None:
    records = _chain()
    extra = _use(4, records[2]["hash"], 10)
    finish_record(extra)
    assert ("terminal_seal_not_last", 3) in _codes(records + [extra])


def test_card_message_fields() -> None:
    use = _chain()[0]
    message = json.loads(card_message(use))
    assert sorted(message) == sorted(["type", "terminal_id", "seq", "ts", "merchant_id", "municipality_code",
                                      "mykey_id", "amount", "auth_id"])
    cancel = dict(use, type="cancel", cancel_of="A00001")
    assert json.loads(card_message(cancel))["cancel_of"] == "A00001"


def test_card_signature(card_key: rsa.RSAPrivateKey) -> None:
    record = _chain()[0]
    record["card_sig"] = sign_card_message_with_key(card_key, record)
    assert verify_card_signature(card_key.public_key(), record)
    changed = copy.deepcopy(record)
    changed["amount"] = 1_001
    assert not verify_card_signature(card_key.public_key(), changed)
    # Fields outside the card message (prev_hash, hash) do not affect the card signature.
    assert verify_card_signature(card_key.public_key(), dict(record, prev_hash="2" * 64))
    assert not verify_card_signature(card_key.public_key(), dict(record, card_sig="not base64!"))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not verify_card_signature(other.public_key(), record)
