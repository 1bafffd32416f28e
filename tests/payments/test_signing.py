"""Four eyes: preparer and approver signatures, verification, and every refusal (payments.signing,
payments.file_steps). Officers hold real Ed25519 keys; files are written to disk and checked from there."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import payfile_builders as b
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.reasons import PaymentRefusal
from contracts.zengin_transfer import write_transfer_file
from payments.file_steps import approve_file, payment_files, prepare_batch, verify_file
from payments.files import manifest_bytes, manifest_name_for, sha256_hex, transfer_file_of
from payments.officers import init_officer_key, load_private_key
from payments.signing import SigningRefused, sign_as_preparer, verify


@pytest.fixture(scope="module")
def officers(tmp_path_factory):
    return b.make_officers(tmp_path_factory.mktemp("officers"))


@pytest.fixture
def prepared(tmp_path, officers) -> Path:
    return prepare_batch(b.small_batch(), tmp_path / "payments", "OFF-SATO", officers.key("OFF-SATO"),
                         officers.registry).path


def manifest_path(path: Path) -> Path:
    return path.with_name(manifest_name_for(path.name))


def codes(verification) -> list[str]:
    return [r.code for r in verification.refusals]


def refusal_codes(call) -> list[str]:
    with pytest.raises(SigningRefused) as refused:
        call()
    assert all(r.sentence.startswith("Refused: ") and r.sentence.endswith(".") for r in refused.value.refusals)
    return [r.code for r in refused.value.refusals]


def test_prepared_then_approved_by_another_officer_verifies(prepared, officers):
    assert codes(verify_file(prepared, officers.registry)) == [PaymentRefusal.SIGNATURE_MISSING]
    assert approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"), officers.registry) is True
    assert verify_file(prepared, officers.registry).ok
    manifest = json.loads(manifest_path(prepared).read_text(encoding="utf-8"))
    assert (manifest["prepared_by"], manifest["approved_by"]) == ("OFF-SATO", "OFF-KATO")
    assert set(manifest["signature"]) == {"preparer", "approver"}
    before = manifest_path(prepared).read_bytes()
    assert approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"), officers.registry) is False
    assert manifest_path(prepared).read_bytes() == before  # Ed25519 is deterministic: a rerun changes nothing


def test_missing_second_signature_is_refused(prepared, officers):
    check = verify_file(prepared, officers.registry)
    assert codes(check) == [PaymentRefusal.SIGNATURE_MISSING]
    assert "second signature" in check.refusals[0].sentence


def test_same_officer_twice_is_refused(tmp_path, officers):
    path = prepare_batch(b.small_batch(), tmp_path, "OFF-ITO", officers.key("OFF-ITO"), officers.registry).path
    assert PaymentRefusal.SAME_OFFICER in refusal_codes(
        lambda: approve_file(path, "OFF-ITO", officers.key("OFF-ITO"), officers.registry))
    # a hand-edited manifest claiming the preparer also approved is refused by verify too
    manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    manifest["approved_by"] = "OFF-ITO"
    manifest["signature"]["approver"] = manifest["signature"]["preparer"]
    assert codes(verify(path.read_bytes(), manifest, officers.registry)) == [PaymentRefusal.SAME_OFFICER]


def test_unregistered_key_is_refused(prepared, officers, tmp_path):
    init_officer_key(tmp_path / "stranger-keys", "OFF-KATO", "Impostor")  # same id, a key nobody registered
    impostor = load_private_key(tmp_path / "stranger-keys", "OFF-KATO")
    assert refusal_codes(lambda: approve_file(prepared, "OFF-KATO", impostor, officers.registry)) == [
        PaymentRefusal.KEY_UNREGISTERED]
    init_officer_key(tmp_path / "stranger-keys", "OFF-NOBODY", "Nobody")
    nobody = load_private_key(tmp_path / "stranger-keys", "OFF-NOBODY")
    assert refusal_codes(lambda: approve_file(prepared, "OFF-NOBODY", nobody, officers.registry)) == [
        PaymentRefusal.KEY_UNREGISTERED]


def test_replayed_preparer_signature_is_not_an_approval(tmp_path, officers):
    """ITO prepares; someone copies ITO's signature into the approver slot under KATO's name."""
    path = prepare_batch(b.small_batch(), tmp_path, "OFF-ITO", officers.key("OFF-ITO"), officers.registry).path
    manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    manifest["approved_by"] = "OFF-KATO"
    manifest["signature"]["approver"] = {**manifest["signature"]["preparer"], "officer_id": "OFF-KATO"}
    assert codes(verify(path.read_bytes(), manifest, officers.registry)) == [PaymentRefusal.KEY_UNREGISTERED]
    # with KATO's registered key but ITO's signature bytes (signed as preparer): the role is signed too
    kato_key = officers.registry.get("OFF-KATO").public_key
    manifest["signature"]["approver"]["public_key"] = kato_key
    assert codes(verify(path.read_bytes(), manifest, officers.registry)) == [PaymentRefusal.SIGNATURE_INVALID]


def test_wrong_role_is_refused(prepared, officers, tmp_path):
    assert refusal_codes(lambda: approve_file(prepared, "OFF-SATO", officers.key("OFF-SATO"), officers.registry)) \
        == [PaymentRefusal.SAME_OFFICER, PaymentRefusal.WRONG_ROLE]
    assert refusal_codes(lambda: prepare_batch(b.small_batch(), tmp_path / "other", "OFF-KATO",
                                               officers.key("OFF-KATO"), officers.registry)) == [
        PaymentRefusal.WRONG_ROLE]
    assert payment_files(tmp_path / "other") == []  # nothing written for a refused preparer


def test_second_approver_after_one_is_refused(prepared, officers):
    approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"), officers.registry)
    assert refusal_codes(lambda: approve_file(prepared, "OFF-ITO", officers.key("OFF-ITO"), officers.registry)) == [
        PaymentRefusal.ALREADY_APPROVED]


def test_tampered_byte_is_refused_before_and_after_approval(prepared, officers):
    data = bytearray(prepared.read_bytes())
    data[120 + 2 + 80 + 5] ^= 0x01  # a digit of the first payout's amount
    prepared.write_bytes(bytes(data))
    assert codes(verify_file(prepared, officers.registry)) == [PaymentRefusal.FILE_TAMPERED]
    assert refusal_codes(lambda: approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"),
                                              officers.registry)) == [PaymentRefusal.FILE_TAMPERED]


def test_edited_manifest_fails_its_signature(prepared, officers):
    approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"), officers.registry)
    manifest = json.loads(manifest_path(prepared).read_text(encoding="utf-8"))
    manifest["payouts"][0]["merchant_id"] = "M99999999"
    assert codes(verify(prepared.read_bytes(), manifest, officers.registry)) == [
        PaymentRefusal.SIGNATURE_INVALID, PaymentRefusal.SIGNATURE_INVALID]


def test_a_new_file_with_a_matching_new_hash_fails_the_signatures(prepared, officers):
    approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"), officers.registry)
    manifest = json.loads(manifest_path(prepared).read_text(encoding="utf-8"))
    forged = prepared.read_bytes().replace(b"0000123456", b"0000923456")
    forged = forged.replace(b"000000128016", b"000000928016")
    manifest.update(file_sha256=sha256_hex(forged), total=928_016)
    manifest["payouts"][0].update(amount_yen=923_456, transfer_yen=923_456)  # consistent: only signatures catch it
    assert codes(verify(forged, manifest, officers.registry)) == [
        PaymentRefusal.SIGNATURE_INVALID, PaymentRefusal.SIGNATURE_INVALID]


def test_file_the_reader_rejects_is_refused_even_if_the_preparer_signed_it(officers):
    """A forged trailer (one yen more) with a manifest made to match and signed: the independent reader says no."""
    batch = b.small_batch()
    bad = write_transfer_file(transfer_file_of(batch), trailer_overrides={"total": 128_017})
    manifest = {"format": "seisan.payment-manifest/1", "file_sha256": sha256_hex(bad), "record_count": 2,
                "total": 128_017, "payout_ids": [p.payout_id for p in batch.payouts]}
    assert refusal_codes(lambda: sign_as_preparer(manifest, bad, "OFF-SATO", officers.key("OFF-SATO"),
                                                  officers.registry)) == [PaymentRefusal.FILE_UNREADABLE]


def test_manifest_count_or_total_not_the_files_is_refused(prepared, officers):
    manifest = json.loads(manifest_path(prepared).read_text(encoding="utf-8"))
    manifest["record_count"] = 3
    assert codes(verify(prepared.read_bytes(), manifest, officers.registry)) == [PaymentRefusal.MANIFEST_MISMATCH]


@pytest.mark.parametrize(("field", "value"), [
    ("transfer_date", "2026-12-03"),
    ("payer", {"client_code": "1234567891", "bank_code": "0001", "branch_code": "004", "account_type": 1,
               "account_number": "7654321"}),
    ("payout_ids", ["PO-20261202-0001", "PO-20261202-0003"]),
])
def test_manifest_date_payer_or_ids_not_the_files_are_refused(prepared, officers, field, value):
    manifest = json.loads(manifest_path(prepared).read_text(encoding="utf-8"))
    manifest[field] = value
    assert codes(verify(prepared.read_bytes(), manifest, officers.registry)) == [PaymentRefusal.MANIFEST_MISMATCH]


def test_missing_manifest_is_refused(prepared, officers):
    manifest_path(prepared).unlink()
    check = verify_file(prepared, officers.registry)
    assert codes(check) == [PaymentRefusal.MANIFEST_MISSING]


def test_non_canonical_signature_text_is_refused(prepared, officers):
    """base64 with changed unused bits decodes to the same bytes: still a changed manifest, so refused."""
    approve_file(prepared, "OFF-KATO", officers.key("OFF-KATO"), officers.registry)
    manifest = json.loads(manifest_path(prepared).read_text(encoding="utf-8"))
    text = manifest["signature"]["approver"]["signature"]
    raw = base64.b64decode(text)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = text.rstrip("=")[-1]
    twin = text[:85] + alphabet[alphabet.index(last) ^ 1] + "=="
    assert base64.b64decode(twin) == raw and twin != text
    manifest["signature"]["approver"]["signature"] = twin
    assert codes(verify(prepared.read_bytes(), manifest, officers.registry)) == [PaymentRefusal.SIGNATURE_INVALID]


@pytest.fixture(scope="module")
def approved_pair(tmp_path_factory, officers) -> tuple[bytes, bytes, str]:
    folder = tmp_path_factory.mktemp("approved")
    path = prepare_batch(b.small_batch(), folder, "OFF-SATO", officers.key("OFF-SATO"), officers.registry).path
    approve_file(path, "OFF-KATO", officers.key("OFF-KATO"), officers.registry)
    assert verify_file(path, officers.registry).ok
    return path.read_bytes(), manifest_path(path).read_bytes(), path.name


def _check_flipped(tmp_path: Path, officers, data: bytes, manifest: bytes, name: str) -> bool:
    path = tmp_path / name
    path.write_bytes(data)
    manifest_path(path).write_bytes(manifest)
    return verify_file(path, officers.registry).ok


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_one_changed_byte_anywhere_in_the_file_fails_verify(tmp_path, officers, approved_pair, position, flip):
    data, manifest, name = approved_pair
    changed = bytearray(data)
    changed[position % len(data)] ^= flip
    assert not _check_flipped(tmp_path, officers, bytes(changed), manifest, name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_one_changed_byte_anywhere_in_the_manifest_fails_verify(tmp_path, officers, approved_pair, position, flip):
    data, manifest, name = approved_pair
    changed = bytearray(manifest)
    index = position % len(manifest)
    changed[index] ^= flip
    # even a change that leaves the same JSON value (whitespace) is refused: seisan writes one spelling only
    assert not _check_flipped(tmp_path, officers, data, bytes(changed), name)


def test_manifest_bytes_are_stable_through_prepare_and_approve(tmp_path, officers):
    """The same batch prepared and approved in two folders gives byte-identical files and manifests."""
    results = []
    for folder in ("one", "two"):
        path = prepare_batch(b.small_batch(), tmp_path / folder, "OFF-SATO", officers.key("OFF-SATO"),
                             officers.registry).path
        approve_file(path, "OFF-KATO", officers.key("OFF-KATO"), officers.registry)
        results.append((path.read_bytes(), manifest_path(path).read_bytes()))
    assert results[0] == results[1]
    assert manifest_bytes(json.loads(results[0][1])) == results[0][1]


def test_two_approvers_at_once_one_wins_the_other_is_refused(prepared, officers):
    import threading

    barrier, outcomes = threading.Barrier(2), {}

    def approve_as(officer_id: str) -> None:
        key = officers.key(officer_id)
        barrier.wait()
        try:
            outcomes[officer_id] = approve_file(prepared, officer_id, key, officers.registry)
        except SigningRefused as refused:
            outcomes[officer_id] = [str(r.code) for r in refused.refusals]

    threads = [threading.Thread(target=approve_as, args=(o,)) for o in ("OFF-KATO", "OFF-ITO")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes.values())) == ["True", "['payment_already_approved']"]
    assert verify_file(prepared, officers.registry).ok
