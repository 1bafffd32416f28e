"""Card signatures verified ahead in a process pool (ingestion.card_signatures) give exactly the verdicts of
contracts.terminal_log.verify_card_signature computed record by record, and a pair not prefetched is verified at
its turn. The world-level check (a hostile world with the pool forced on equals one without) is in
test_ingest_streaming.py."""

from __future__ import annotations

import base64
import datetime as dt
import pickle

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from ingestion_builders import CARD_KEY, CERT, terminal_records

import ingestion.card_signatures as card_signatures
from contracts import terminal_log
from ingestion.card_signatures import CardSignatures

DER = base64.b64encode(CERT.public_bytes(Encoding.DER)).decode("ascii")


def _pairs() -> list[tuple[str, dict]]:
    records = [r for r in terminal_records(1, 12, terminal_log.GENESIS_HASH) if r["type"] == "use"]
    records[3] = dict(records[3], amount=records[3]["amount"] + 1)  # signed for another amount
    records[7] = dict(records[7], card_sig="not base64!")
    return [(DER, r) for r in records] + [("AAAA", records[0])]  # a certificate that does not parse


def test_the_pool_gives_the_rules_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_signatures, "POOL_MIN_PAIRS", 1)
    pairs = _pairs()
    expected = [terminal_log.verify_card_signature(CERT.public_key(), r) if der == DER else False
                for der, r in pairs]
    assert expected.count(False) == 3 and expected.count(True) == 10
    signatures = CardSignatures(workers=2)
    try:
        signatures.prefetch(pairs)
        assert len(signatures._verdicts) == len(pairs)  # verified in the pool, not at their turn
        assert [signatures.verified(der, r) for der, r in pairs] == expected
    finally:
        signatures.close()


def test_a_pair_not_prefetched_is_verified_at_its_turn() -> None:
    signatures = CardSignatures(workers=2)
    pairs = _pairs()
    signatures.prefetch(pairs)  # fewer than POOL_MIN_PAIRS: nothing is verified ahead
    assert signatures._verdicts == {}
    assert not CardSignatures.for_run(card_signatures.POOL_MIN_RUN_BYTES - 1).enabled
    assert CardSignatures.for_run(card_signatures.POOL_MIN_RUN_BYTES).enabled
    assert [signatures.verified(der, r) for der, r in pairs].count(True) == 10
    assert CARD_KEY.public_key().public_numbers() == CERT.public_key().public_numbers()


@pytest.mark.parametrize("revoked", [None, dt.datetime(2026, 11, 30, 9, 15)])
def test_a_certificate_reaches_a_worker_as_it_was(revoked: dt.datetime | None) -> None:
    """Certificates travel to the pool pickled (their own __reduce__): every field must arrive unchanged."""
    cert = card_signatures.Cert(0x1A2B, "ABCD1234efgh", dt.datetime(2026, 11, 2, 8, 0, 5), revoked, "MIIB" + "x" * 40)
    arrived = pickle.loads(pickle.dumps({"ABCD1234efgh": [cert]}))["ABCD1234efgh"][0]
    assert arrived == cert and type(arrived) is card_signatures.Cert
    assert (arrived.serial, arrived.revoked_ts, arrived.der_b64) == (0x1A2B, revoked, "MIIB" + "x" * 40)
