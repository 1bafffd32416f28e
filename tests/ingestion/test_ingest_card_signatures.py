"""Card signatures verified ahead in a process pool (ingestion.card_signatures) give exactly the verdicts of
contracts.terminal_log.verify_card_signature computed record by record, and a pair not prefetched is verified at
its turn. The world-level check (a hostile world with the pool forced on equals one without) is in
test_ingest_streaming.py."""

from __future__ import annotations

import base64

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
